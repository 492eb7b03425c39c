"""The typed settings a loaded configuration is made of (what the rest of the service reads).

Kept apart from ``config``, which reads, merges and checks the file: these frozen
dataclasses are the contract every other module depends on, while the loading rules
change whenever a key is added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.core.clock import zone_info
from monitor.core.docs_settings import DocsSettings
from monitor.core.durations import Duration
from monitor.core.import_settings import ImportSettings
from monitor.core.mail_auth import GraphSettings, OAuthSettings
from monitor.core.plan_settings import PlanSettings
from monitor.core.practice_settings import PracticePolicy
from monitor.core.web_settings import WebSettings

RISK_LEVELS: tuple[str, ...] = ("very_high", "high", "medium", "low")
JOB_NAMES: tuple[str, ...] = (
    "officer_digest",
    "team_digest",
    "force_report",
    "escalation",
    "snapshot",
    "deliver",
    "import",
)


@dataclass(frozen=True)
class Policy:
    intervals: dict[str, Duration]
    first_visit_within: Duration
    review_interval: dict[str, Duration]
    notification_interval: Duration
    notification_interval_no_fixed_abode: Duration
    notification_after_return: Duration
    due_soon_days: int
    failed_attempts_flag: int
    include_names: bool
    #: The practice-quality keys (plan intervals, paired and varied visits, supervisor
    #: reviews, caseloads): monitor.core.practice_settings.
    practice: PracticePolicy = field(default_factory=PracticePolicy.default)


@dataclass(frozen=True)
class DigestSettings:
    all_clear: bool
    escalation_days_overdue: int
    officer_due_soon_days: int
    #: Cases the force digest lists per list (worst first); the rest are counted (docs/guide/force-lead.md).
    force_list_limit: int = 500


@dataclass(frozen=True)
class MailSettings:
    transport: str
    maildir: Path
    sender: str
    marking: str
    allowed_domains: tuple[str, ...]
    case_url: str
    max_attempts: int
    retry_base_seconds: int
    retry_max_seconds: int
    keep_sent_days: int


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    ca_file: str
    timeout: float
    helo: str
    #: "password" or "oauth2" (XOAUTH2 with a token from ``oauth``; see monitor.core.mail_auth).
    auth: str
    oauth: OAuthSettings

    @property
    def password(self) -> str:
        """Read on use, from the environment only, so it is never held in config dumps."""
        return os.environ.get("MONITOR_SMTP_PASSWORD", "")


@dataclass(frozen=True)
class DaemonSettings:
    heartbeat_seconds: int
    stale_after_seconds: int
    shutdown_timeout_seconds: int
    late_after_seconds: int
    tick_seconds: int = 5


@dataclass(frozen=True)
class Config:
    timezone: str
    database_url: str
    policy: Policy
    digest: DigestSettings
    mail: MailSettings
    smtp: SmtpSettings
    schedule: dict[str, str]
    import_drop_dir: Path | None
    daemon: DaemonSettings
    metrics_listen: str
    log_format: str
    log_level: str
    graph: GraphSettings
    web: WebSettings
    #: The planner's assumptions (``[plan]``, see monitor.core.plan_settings).
    plan: PlanSettings = field(default_factory=PlanSettings)
    source: str | None = None
    #: A full extract leaving out more than this share of the register is refused.
    import_max_missing_percent: float = 5.0
    #: How a force's own extract is read (``[import]``: columns, values, encoding, files, ...).
    import_settings: ImportSettings = field(default_factory=ImportSettings)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Where database_url came from, for error messages: "$MONITOR_DATABASE_URL" or
    #: "database.url in FILE" (so a bad environment variable is never blamed on the file).
    database_origin: str = "database.url"
    #: Where readers find the guide ([docs]): digests and the web app link to it.
    docs: DocsSettings = field(default_factory=DocsSettings)

    def guide_url(self, role: str) -> str | None:
        """The guide page for a reader in ``role``, or None when no guide address is known."""
        return self.docs.guide_for(role, self.web.base_url)

    @property
    def tz(self) -> ZoneInfo:
        return zone_info(self.timezone)
