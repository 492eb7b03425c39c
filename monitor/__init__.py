"""visit-monitor: overdue home visits, risk reviews and notifications for public-protection units."""

__version__ = "0.1.0"
