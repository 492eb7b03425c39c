"""The report's sections: one vocabulary for ``report --section`` and the CSV's ``section``
column, each naming a list of the JSON report.

A module of its own, importing nothing, so the command line reads it without loading any
format (``--help`` stays quick) and the CSV writer without importing the report chooser.
"""

from __future__ import annotations

#: ``report --section`` values (the CSV's ``section`` column), each with the report list
#: (JSON key, ``Obligations`` attribute) it names, in the contract's order.
SECTION_LISTS: dict[str, str] = {
    "overdue_visit": "overdue_visits",
    "due_soon": "due_soon",
    "overdue_risk_review": "overdue_risk_reviews",
    "overdue_notification": "overdue_notifications",
    "whereabouts_unknown": "whereabouts_unknown",
    "not_in_extract": "not_in_extract",
    "reactive_high_risk": "reactive_high_risk",
    # The practice measures (docs/practice.md): in the JSON and CSV only when they are on.
    "lone_visit": "lone_visits",
    "predictable_visit": "predictable_visits",
    "overdue_supervisor_review": "overdue_supervisor_reviews",
    "long_plan_interval": "long_plan_intervals",
}
#: The formats ``--section`` applies to: for scripts. The table and the HTML file are
#: read by people as a whole, with every heading ("none" included) meaning what it says.
SECTION_FORMATS: tuple[str, ...] = ("json", "csv")
