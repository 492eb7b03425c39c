"""On-demand reports (table, JSON, CSV, HTML), the shared Jinja2 rendering helpers and backlog
snapshots. May use rules, register and core.
"""
