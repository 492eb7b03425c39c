"""Every configuration key's default, in one table: what runs when no file sets it.

The defaults live in code, so the CLI works in any folder with no config file at all;
``config/monitor.toml`` documents every key with the same values (tests/core/test_config.py
keeps the two in step) and the reference page is made from this table
(``tools/reference/config_page.py``). Each section with rules of its own keeps its defaults
beside its parser (``import_settings``, ``practice_settings``, ``web_settings``,
``docs_settings``, ``plan_settings``); they are gathered here. Reading and checking a file:
:mod:`monitor.core.config`.
"""

from __future__ import annotations

from typing import Any

from monitor.core.docs_settings import DOCS_DEFAULTS
from monitor.core.import_settings import IMPORT_DEFAULTS
from monitor.core.plan_settings import PLAN_DEFAULTS
from monitor.core.practice_settings import PRACTICE_DEFAULTS
from monitor.core.web_settings import WEB_DEFAULTS

DEFAULTS: dict[str, Any] = {
    "timezone": "Europe/London",
    "database": {"url": "sqlite:///var/monitor.db"},
    "policy": {
        "intervals": {"very_high": "P1M", "high": "P3M", "medium": "P6M", "low": "P12M"},
        "first_visit_within": "P28D",
        "review_interval": {
            "very_high": "P12M",
            "high": "P12M",
            "medium": "P12M",
            "low": "P12M",
        },
        "notification_interval": "P1Y",
        "notification_interval_no_fixed_abode": "P7D",
        "notification_after_return": "P3D",
        "due_soon_days": 14,
        "failed_attempts_flag": 2,
        "include_names": False,
        **PRACTICE_DEFAULTS,
    },
    "digest": {
        "all_clear": False,
        "escalation_days_overdue": 28,
        "officer_due_soon_days": 14,
        "force_list_limit": 500,
    },
    "mail": {
        "transport": "maildir",
        "maildir": "var/outbox",
        "from": "visit-monitor@monitor.police.example",
        "marking": "OFFICIAL-SENSITIVE",
        "allowed_domains": ["police.example"],
        "case_url": "",
        "max_attempts": 8,
        "retry_base_seconds": 60,
        "retry_max_seconds": 3600,
        "keep_sent_days": 30,
    },
    "smtp": {
        "host": "localhost",
        "port": 587,
        "security": "starttls",
        "username": "",
        "ca_file": "",
        "timeout": 30,
        "helo": "",
        "auth": "password",
        "tenant_id": "",
        "client_id": "",
        "authority": "",
        "certificate_file": "",
        "private_key_file": "",
    },
    "graph": {"base_url": "https://graph.microsoft.com/v1.0", "mailbox": ""},
    "schedule": {
        "officer_digest": "0 7 * * mon",
        "team_digest": "0 7 * * mon",
        "force_report": "0 8 1 * *",
        "escalation": "30 7 * * *",
        "snapshot": "0 6 * * *",
        "deliver": "*/5 * * * *",
        "import": "0 5 * * *",
    },
    "import": IMPORT_DEFAULTS,
    "daemon": {
        "heartbeat_seconds": 15,
        "stale_after_seconds": 45,
        "shutdown_timeout_seconds": 60,
        "late_after_seconds": 900,
        "tick_seconds": 5,
    },
    "metrics": {"listen": ""},
    "logging": {"format": "text", "level": "INFO"},
    "web": WEB_DEFAULTS,
    "docs": DOCS_DEFAULTS,
    "plan": PLAN_DEFAULTS,
}
