"""The scheduler daemon: job claims, heartbeats, systemd protocol, health and metrics. Calls
digests, mail, reports and the importer; nothing below imports it.
"""
