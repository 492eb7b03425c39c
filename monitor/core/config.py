"""Configuration: documented defaults, a TOML file on top, validated at start.

The defaults live in code (:mod:`monitor.core.defaults`, named here too as ``DEFAULTS``), so
the CLI works in any folder with no config file at all; ``config/monitor.toml`` documents
every key with the same values (a test keeps the two in step). A bad file fails at start
with the key, the bad value and what was expected, because a monitor that silently runs
with a wrong interval is worse than one that refuses to start.

Lookup order for the file: ``--config FILE``, then ``$MONITOR_CONFIG``, then
``config/monitor.toml`` in the working directory if it exists, else defaults only.
``$MONITOR_DATABASE_URL`` overrides ``[database] url``; ``$MONITOR_SMTP_PASSWORD`` is
the only place the relay password comes from (never the file, never a log). Every value is
checked here (ranges, placeholders, addresses, paths: see :mod:`monitor.core.checks`), and
an error never shows a secret: a password key in the file and any unknown key are named
without their value, and URL credentials are masked. The result is a ``settings.Config``.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.core import checks
from monitor.core.clock import zone_info
from monitor.core.cron import cron_trigger
from monitor.core.defaults import DEFAULTS
from monitor.core.docs_settings import DocsSettingError
from monitor.core.docs_settings import parse as parse_docs
from monitor.core.durations import Duration
from monitor.core.import_settings import FREE_TABLES
from monitor.core.import_settings import parse as parse_import
from monitor.core.mail_auth import Invalid
from monitor.core.mail_auth import parse as parse_mail_auth
from monitor.core.plan_settings import parse as parse_plan
from monitor.core.practice_settings import PER_RISK_SHORTHAND
from monitor.core.practice_settings import parse as parse_practice
from monitor.core.redact import MASK, redact, register_secret, url_password

# The settings types live in ``settings``; they are named here too, where callers have
# always imported them from.
from monitor.core.settings import (
    JOB_NAMES,
    RISK_LEVELS,
    Config,
    DaemonSettings,
    DigestSettings,
    MailSettings,
    Policy,
    SmtpSettings,
)
from monitor.core.web_settings import SettingError
from monitor.core.web_settings import parse as parse_web


class ConfigError(Exception):
    """A configuration problem: names the key, the bad value and what was expected.

    With ``secret`` (a password key, an unknown key) the value is neither shown nor kept;
    otherwise it is shown with any URL credentials or known secret masked.
    """

    def __init__(
        self, key: str, value: object, expected: str, source: str | None = None, *, secret: bool = False
    ) -> None:
        self.key, self.expected, self.source = key, expected, source
        self.value = MASK if secret else value
        where = f"{source}: " if source else ""
        shown = " (value not shown)" if secret else f" = {redact(repr(value))}"
        super().__init__(f"{where}{key}{shown}: expected {expected}")


def _merge(base: dict[str, Any], override: Mapping[str, Any], prefix: str, source: str | None) -> None:
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in base:  # perhaps a password typed into the file: never echo the value
            expected = checks.unknown_key_expectation(dotted, dotted_keys(DEFAULTS))
            raise ConfigError(dotted, value, expected, source, secret=True)
        if dotted in FREE_TABLES:  # keys of the force's own (file roles, fields, codes): see import_settings
            if not isinstance(value, Mapping):
                raise ConfigError(dotted, value, "a table", source)
            base[key] = copy.deepcopy(dict(value))
        elif isinstance(base[key], dict) and not _per_risk_scalar(dotted, value):
            if not isinstance(value, Mapping):
                raise ConfigError(dotted, value, "a table", source)
            _merge(base[key], value, f"{dotted}.", source)
        else:
            base[key] = value


def dotted_keys(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every key of ``table`` as ``section.key`` (tables inside tables included)."""
    keys: list[str] = []
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        keys.append(dotted)
        if isinstance(value, Mapping):
            keys.extend(dotted_keys(value, f"{dotted}."))
    return keys


def _per_risk_scalar(dotted: str, value: object) -> bool:
    """``review_interval = "P12M"`` is allowed as shorthand for every risk level (and
    ``supervisor_review_interval``)."""
    return (dotted == "policy.review_interval" or dotted in PER_RISK_SHORTHAND) and isinstance(value, str)


def _duration(raw: Mapping[str, Any], key: str, source: str | None, positive: bool = True) -> Duration:
    value = raw[key.rsplit(".", 1)[-1]]
    try:
        duration = Duration.parse(value)
    except (ValueError, TypeError):
        raise ConfigError(key, value, "an ISO 8601 duration such as P1M, P28D or P1Y", source) from None
    if problem := checks.duration_problem(duration, positive=positive):
        raise ConfigError(key, value, problem, source)
    return duration


def _per_risk(raw: Mapping[str, Any], key: str, source: str | None) -> dict[str, Duration]:
    value = raw[key.rsplit(".", 1)[-1]]
    if isinstance(value, str):
        value = dict.fromkeys(RISK_LEVELS, value)
    missing = [r for r in RISK_LEVELS if r not in value]
    if missing:
        raise ConfigError(key, value, f"a duration for each of {', '.join(RISK_LEVELS)}", source)
    return {r: _duration(value, f"{key}.{r}", source) for r in RISK_LEVELS}


def _int(raw: Mapping[str, Any], key: str, source: str | None, minimum: int = 0, maximum: int = 3650) -> int:
    value = raw[key.rsplit(".", 1)[-1]]
    if problem := checks.whole_number_problem(value, minimum, maximum):
        raise ConfigError(key, value, problem, source)
    return int(value)


def _check(key: str, value: object, problem: str | None, source: str | None) -> None:
    if problem:
        raise ConfigError(key, value, problem, source)


def _bool(raw: Mapping[str, Any], key: str, source: str | None) -> bool:
    value = raw[key.rsplit(".", 1)[-1]]
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false", source)
    return value


def _str(raw: Mapping[str, Any], key: str, source: str | None, choices: tuple[str, ...] = ()) -> str:
    value = raw[key.rsplit(".", 1)[-1]]
    if not isinstance(value, str) or (choices and value not in choices):
        expected = " or ".join(f'"{c}"' for c in choices) if choices else "a string"
        raise ConfigError(key, value, expected, source)
    return value


def build(raw: dict[str, Any], source: str | None = None) -> Config:
    """Validate a merged raw mapping into a Config, raising ConfigError on the first bad key."""
    tz_name = raw["timezone"]
    try:
        zone_info(tz_name)
    except (ValueError, TypeError):
        raise ConfigError("timezone", tz_name, "an IANA timezone name such as Europe/London", source) from None

    env_url = os.environ.get("MONITOR_DATABASE_URL")
    if env_url:  # named as the variable, never blamed on the file
        db_url, db_origin = env_url, "$MONITOR_DATABASE_URL"
        _check(db_origin, db_url, checks.database_url_problem(db_url), None)
    else:
        db_url = _str(raw["database"], "database.url", source)
        db_origin = f"database.url in {source}" if source else "the built-in default database.url"
        _check("database.url", db_url, checks.database_url_problem(db_url), source)
    register_secret(url_password(db_url))

    p = raw["policy"]
    try:
        practice = parse_practice(p)
    except SettingError as exc:
        raise ConfigError(exc.key, exc.value, exc.expected, source) from None
    policy = Policy(
        intervals=_per_risk(p, "policy.intervals", source),
        first_visit_within=_duration(p, "policy.first_visit_within", source, positive=False),
        review_interval=_per_risk(p, "policy.review_interval", source),
        notification_interval=_duration(p, "policy.notification_interval", source),
        notification_interval_no_fixed_abode=_duration(p, "policy.notification_interval_no_fixed_abode", source),
        notification_after_return=_duration(p, "policy.notification_after_return", source, positive=False),
        due_soon_days=_int(p, "policy.due_soon_days", source, maximum=365),
        failed_attempts_flag=_int(p, "policy.failed_attempts_flag", source, minimum=1, maximum=100),
        include_names=_bool(p, "policy.include_names", source),
        practice=practice,
    )

    d = raw["digest"]
    digest = DigestSettings(
        all_clear=_bool(d, "digest.all_clear", source),
        escalation_days_overdue=_int(d, "digest.escalation_days_overdue", source, minimum=1),
        officer_due_soon_days=_int(d, "digest.officer_due_soon_days", source, maximum=365),
        force_list_limit=_int(d, "digest.force_list_limit", source, maximum=100_000),
    )

    m = raw["mail"]
    domains = m["allowed_domains"]
    _check("mail.allowed_domains", domains, checks.domains_problem(domains), source)
    sender = _str(m, "mail.from", source)
    _check("mail.from", sender, checks.address_problem(sender), source)
    marking = _str(m, "mail.marking", source)
    _check("mail.marking", marking, checks.marking_problem(marking), source)
    case_url = _str(m, "mail.case_url", source)
    _check("mail.case_url", case_url, checks.case_url_problem(case_url), source)
    maildir = _str(m, "mail.maildir", source)
    _check("mail.maildir", maildir, checks.folder_problem(maildir), source)
    mail = MailSettings(
        transport=_str(m, "mail.transport", source, ("smtp", "maildir", "graph")),
        maildir=Path(maildir),
        sender=sender,
        marking=marking.strip(),
        allowed_domains=tuple(x.lower() for x in domains),
        case_url=case_url,
        max_attempts=_int(m, "mail.max_attempts", source, minimum=1, maximum=100),
        retry_base_seconds=_int(m, "mail.retry_base_seconds", source, minimum=1, maximum=86_400),
        retry_max_seconds=_int(m, "mail.retry_max_seconds", source, minimum=1, maximum=604_800),
        keep_sent_days=_int(m, "mail.keep_sent_days", source, minimum=0),
    )
    if mail.retry_max_seconds < mail.retry_base_seconds:
        expected = f"a number of seconds at least mail.retry_base_seconds ({mail.retry_base_seconds})"
        raise ConfigError("mail.retry_max_seconds", mail.retry_max_seconds, expected, source)

    s = raw["smtp"]
    try:
        mail_auth = parse_mail_auth(s, raw["graph"], transport=mail.transport, sender=sender)
    except Invalid as exc:
        raise ConfigError(exc.key, exc.value, exc.expected, source) from None
    timeout = s["timeout"]
    _check("smtp.timeout", timeout, checks.seconds_problem(timeout, 600), source)
    port = _int(s, "smtp.port", source, minimum=1, maximum=65535)
    smtp = SmtpSettings(
        host=_str(s, "smtp.host", source),
        port=port,
        security=_str(s, "smtp.security", source, ("starttls", "tls", "none")),
        username=_str(s, "smtp.username", source),
        ca_file=_str(s, "smtp.ca_file", source),
        timeout=float(timeout),
        helo=_str(s, "smtp.helo", source),
        auth=mail_auth.method,
        oauth=mail_auth.oauth,
    )
    _check("smtp.host", smtp.host, checks.host_problem(smtp.host), source)
    _check("smtp.helo", smtp.helo, checks.host_problem(smtp.helo, allow_empty=True), source)
    _check("smtp.username", smtp.username, checks.one_line_problem(smtp.username, "a user name"), source)
    if smtp.ca_file and not Path(smtp.ca_file).is_file():
        raise ConfigError("smtp.ca_file", smtp.ca_file, "a readable PEM file of CA certificates", source)
    if mail.transport == "smtp" and smtp.security == "none" and smtp.host not in ("localhost", "127.0.0.1", "::1"):
        raise ConfigError(
            "smtp.security",
            "none",
            '"starttls" or "tls" (plaintext is allowed only to a loopback host)',
            source,
        )

    schedule = {}
    for job in JOB_NAMES:
        expr = _str(raw["schedule"], f"schedule.{job}", source)
        schedule[job] = _check_cron(f"schedule.{job}", expr, source)

    try:
        import_settings = parse_import(raw["import"])
    except SettingError as exc:
        raise ConfigError(exc.key, exc.value, exc.expected, source) from None
    dm = raw["daemon"]
    daemon = DaemonSettings(
        heartbeat_seconds=_int(dm, "daemon.heartbeat_seconds", source, minimum=1, maximum=3600),
        stale_after_seconds=_int(dm, "daemon.stale_after_seconds", source, minimum=2, maximum=86_400),
        shutdown_timeout_seconds=_int(dm, "daemon.shutdown_timeout_seconds", source, minimum=1, maximum=3600),
        late_after_seconds=_int(dm, "daemon.late_after_seconds", source, minimum=1, maximum=604_800),
        tick_seconds=_int(dm, "daemon.tick_seconds", source, minimum=1, maximum=3600),
    )
    if daemon.stale_after_seconds <= daemon.heartbeat_seconds:
        expected = f"a number of seconds more than daemon.heartbeat_seconds ({daemon.heartbeat_seconds})"
        raise ConfigError("daemon.stale_after_seconds", daemon.stale_after_seconds, expected, source)
    listen = _str(raw["metrics"], "metrics.listen", source)
    if listen:
        _check("metrics.listen", listen, checks.listen_problem(listen), source)
    lg = raw["logging"]
    try:
        web = parse_web(raw["web"])
        plan = parse_plan(raw["plan"])
    except SettingError as exc:
        raise ConfigError(exc.key, exc.value, exc.expected, source) from None
    try:
        docs = parse_docs(raw["docs"])
    except DocsSettingError as exc:
        raise ConfigError(exc.key, exc.value, exc.expected, source) from None
    return Config(
        timezone=tz_name,
        database_url=db_url,
        policy=policy,
        digest=digest,
        mail=mail,
        smtp=smtp,
        schedule=schedule,
        import_drop_dir=Path(import_settings.drop_dir) if import_settings.drop_dir else None,
        daemon=daemon,
        metrics_listen=listen,
        log_format=_str(lg, "logging.format", source, ("text", "json")),
        log_level=_str(lg, "logging.level", source, ("DEBUG", "INFO", "WARNING", "ERROR")),
        graph=mail_auth.graph,
        web=web,
        plan=plan,
        source=source,
        import_max_missing_percent=import_settings.max_missing_percent,
        import_settings=import_settings,
        raw=raw,
        database_origin=db_origin,
        docs=docs,
    )


#: The shipped schedules: they parse (tests/core/test_config.py holds them to APScheduler's
#: parser), so a config that keeps them is not parsed again. Parsing them imported APScheduler
#: in every command, the daemon's or not: a tenth of a second, a sixth of the lean query's
#: whole process in the national planning benchmark.
_SHIPPED_SCHEDULES = frozenset(DEFAULTS["schedule"].values())


def _check_cron(key: str, expr: str, source: str | None) -> str:
    """Validate a 5-field cron expression (or "off") with APScheduler's own parser (the
    shipped schedules are known to pass)."""
    if expr.strip().lower() == "off":
        return "off"
    if len(expr.split()) != 5:
        raise ConfigError(key, expr, 'a 5-field cron expression such as "0 7 * * mon", or "off"', source)
    if expr in _SHIPPED_SCHEDULES:
        return expr
    try:
        cron_trigger(expr, "UTC")  # cron's own day-of-week numbering (0 or 7 = Sunday)
    except ValueError as exc:
        raise ConfigError(key, expr, f'a valid 5-field cron expression, or "off" ({exc})', source) from None
    return expr


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """Which config file applies: explicit, then $MONITOR_CONFIG, then ./config/monitor.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("MONITOR_CONFIG")
    if env:
        return Path(env)
    local = Path("config/monitor.toml")
    return local if local.is_file() else None


def load(path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Load defaults, then the config file (if any), then ``overrides``; validate."""
    raw = copy.deepcopy(DEFAULTS)
    resolved = resolve_path(path)
    source = str(resolved) if resolved else None
    if resolved is not None:
        try:
            with open(resolved, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("--config", str(resolved), "an existing TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("(file)", str(resolved), f"valid TOML ({exc})") from None
        _merge(raw, data, "", source)
    if overrides:
        _merge(raw, overrides, "", source)
    return build(raw, source)
