"""Every configuration value is validated when the config is read (issue 8, finding 8).

Values that used to pass and crash later (an interval of P9999Y overflowed the calendar in
the scan, a ``case_url`` with an unknown ``{placeholder}`` raised KeyError while rendering a
digest, ``metrics.listen`` on port 99999 failed when the daemon bound it). Each bad value
here must stop every command at start with exit 2 and one message naming the key, the bad
value (never when it is a secret) and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.core import config as config_module

#: (TOML, key named, bad value as shown, words of the expectation)
BAD: list[tuple[str, str, str, str]] = [
    # durations: parse, zero, too long
    (
        '[policy.intervals]\nvery_high = "P9999Y"',
        "policy.intervals.very_high",
        "P9999Y",
        "at most P10Y",
    ),
    ('[policy]\nfirst_visit_within = "P20Y"', "policy.first_visit_within", "P20Y", "at most P10Y"),
    ('[policy]\nfirst_visit_within = "28 days"', "policy.first_visit_within", "28 days", "ISO 8601 duration"),
    ('[policy]\nreview_interval = "P0D"', "policy.review_interval.very_high", "P0D", "longer than zero"),
    ('[policy]\nreview_interval = "P11Y"', "policy.review_interval.very_high", "P11Y", "at most P10Y"),
    ('[policy]\nnotification_interval = "P0D"', "policy.notification_interval", "P0D", "longer than zero"),
    ('[policy]\nnotification_interval = "P100Y"', "policy.notification_interval", "P100Y", "at most P10Y"),
    (
        '[policy]\nnotification_interval_no_fixed_abode = "P0M"',
        "policy.notification_interval_no_fixed_abode",
        "P0M",
        "longer than zero",
    ),
    ('[policy]\nnotification_after_return = "P99Y"', "policy.notification_after_return", "P99Y", "at most P10Y"),
    # the practice measures (docs/practice.md)
    ('[policy]\npractice_measures = "yes"', "policy.practice_measures", "yes", '"auto" or "on" or "off"'),
    ("[policy]\nplan_interval_warn_multiple = 0.5", "policy.plan_interval_warn_multiple", "0.5", "from 1 to 10"),
    ('[policy]\nlone_visit_lookback = "P3Y"', "policy.lone_visit_lookback", "P3Y", "at most P2Y"),
    ('[policy]\nlone_visit_lookback = "P0D"', "policy.lone_visit_lookback", "P0D", "longer than zero"),
    ("[policy]\npredictable_visits_last = 1", "policy.predictable_visits_last", "1", "from 2 to 10"),
    (
        '[policy]\nsupervisor_review_interval = "3 months"',
        "policy.supervisor_review_interval.very_high",
        "3 months",
        "ISO 8601 duration",
    ),
    ("[policy]\ncaseload_ceiling = 0", "policy.caseload_ceiling", "0", "from 1 to 1000"),
    ("[policy.caseload_weights]\nlow = -1", "policy.caseload_weights.low", "-1", "from 0 to 20"),
    # days and counts
    ("[policy]\ndue_soon_days = 100000", "policy.due_soon_days", "100000", "from 0 to 365"),
    ("[policy]\ndue_soon_days = -1", "policy.due_soon_days", "-1", "from 0 to 365"),
    ("[policy]\nfailed_attempts_flag = 0", "policy.failed_attempts_flag", "0", "from 1 to 100"),
    ("[policy]\nfailed_attempts_flag = 1000", "policy.failed_attempts_flag", "1000", "from 1 to 100"),
    ("[policy]\ndue_soon_days = 7.5", "policy.due_soon_days", "7.5", "whole number"),
    ("[digest]\nescalation_days_overdue = 0", "digest.escalation_days_overdue", "0", "from 1 to 3650"),
    ("[digest]\nescalation_days_overdue = 99999", "digest.escalation_days_overdue", "99999", "from 1 to 3650"),
    ("[digest]\nforce_list_limit = -1", "digest.force_list_limit", "-1", "from 0 to 100000"),
    ("[digest]\nforce_list_limit = 200000", "digest.force_list_limit", "200000", "from 0 to 100000"),
    ("[digest]\nofficer_due_soon_days = 1000", "digest.officer_due_soon_days", "1000", "from 0 to 365"),
    ('[digest]\nall_clear = "yes"', "digest.all_clear", "yes", "true or false"),
    # mail
    ("[mail]\nmax_attempts = 0", "mail.max_attempts", "0", "from 1 to 100"),
    ("[mail]\nmax_attempts = 5000", "mail.max_attempts", "5000", "from 1 to 100"),
    ("[mail]\nretry_base_seconds = 0", "mail.retry_base_seconds", "0", "from 1 to 86400"),
    (
        "[mail]\nretry_base_seconds = 600\nretry_max_seconds = 60",
        "mail.retry_max_seconds",
        "60",
        "at least mail.retry_base_seconds (600)",
    ),
    ("[mail]\nretry_max_seconds = 99999999", "mail.retry_max_seconds", "99999999", "from 1 to 604800"),
    ("[mail]\nkeep_sent_days = 100000", "mail.keep_sent_days", "100000", "from 0 to 3650"),
    ('[mail]\ncase_url = "https://cases.police.example/{ref}/{nope}"', "mail.case_url", "{nope}", "only {ref}"),
    ('[mail]\ncase_url = "https://cases.police.example/{ref"', "mail.case_url", "{ref", "only {ref}"),
    ('[mail]\ncase_url = "https://cases.police.example/{0}/{ref}"', "mail.case_url", "{0}", "only {ref}"),
    ('[mail]\ncase_url = "https://cases.police.example/{ref!r}"', "mail.case_url", "{ref!r}", "only {ref}"),
    ('[mail]\ncase_url = "https://cases.police.example/{ref.upper}"', "mail.case_url", "ref.upper", "only {ref}"),
    ('[mail]\ncase_url = "ftp://cases.police.example/{ref}"', "mail.case_url", "ftp://", "https://"),
    ('[mail]\ncase_url = "https:///{ref}"', "mail.case_url", "https:///", "host"),
    ('[mail]\ncase_url = "https://cases.police.example/a b/{ref}"', "mail.case_url", "a b", "no spaces"),
    ('[mail]\nfrom = "visit-monitor"', "mail.from", "visit-monitor", "an email address"),
    ('[mail]\nfrom = "vm@localhost"', "mail.from", "vm@localhost", "an email address"),
    ('[mail]\nfrom = "Visit Monitor <vm@localhost>"', "mail.from", "Visit Monitor", "an email address"),
    ('[mail]\nfrom = "a b@police.example"', "mail.from", "a b@police.example", "an email address"),
    ('[mail]\nallowed_domains = ["police example"]', "mail.allowed_domains", "police example", "domain names"),
    ("[mail]\nallowed_domains = []", "mail.allowed_domains", "[]", "at least one"),
    ('[mail]\nmaildir = ""', "mail.maildir", "''", "a folder path"),
    ('[mail]\nmaildir = "var/out\\u0000box"', "mail.maildir", "box", "a folder path"),
    ('[mail]\nmarking = "OFFICIAL\\nBcc: x@evil.example"', "mail.marking", "OFFICIAL", "one line"),
    # smtp
    ("[smtp]\nport = 0", "smtp.port", "0", "from 1 to 65535"),
    ("[smtp]\nport = 99999", "smtp.port", "99999", "from 1 to 65535"),
    ("[smtp]\ntimeout = 0", "smtp.timeout", "0", "greater than zero"),
    ("[smtp]\ntimeout = 100000", "smtp.timeout", "100000", "at most 600"),
    ('[smtp]\ntimeout = "30"', "smtp.timeout", "30", "number of seconds"),
    ('[smtp]\nhost = ""', "smtp.host", "''", "host name"),
    ('[smtp]\nhost = "relay .police.example"', "smtp.host", "relay .police.example", "host name"),
    ('[smtp]\nhelo = "my helo"', "smtp.helo", "my helo", "host name"),
    ('[smtp]\nusername = "a\\nb"', "smtp.username", "a\\nb", "one line"),
    # daemon
    ("[daemon]\nheartbeat_seconds = 0", "daemon.heartbeat_seconds", "0", "from 1 to 3600"),
    ("[daemon]\nheartbeat_seconds = 100000", "daemon.heartbeat_seconds", "100000", "from 1 to 3600"),
    (
        "[daemon]\nheartbeat_seconds = 30\nstale_after_seconds = 20",
        "daemon.stale_after_seconds",
        "20",
        "more than daemon.heartbeat_seconds (30)",
    ),
    ("[daemon]\ntick_seconds = 0", "daemon.tick_seconds", "0", "from 1 to 3600"),
    ("[daemon]\nshutdown_timeout_seconds = 999999", "daemon.shutdown_timeout_seconds", "999999", "from 1 to 3600"),
    ("[daemon]\nlate_after_seconds = 0", "daemon.late_after_seconds", "0", "from 1 to 604800"),
    # metrics, logging, timezone, schedule, import, database
    ('[metrics]\nlisten = "127.0.0.1:99999"', "metrics.listen", "127.0.0.1:99999", "port from 0 to 65535"),
    ('[metrics]\nlisten = "127.0.0.1:"', "metrics.listen", "127.0.0.1:", "port from 0 to 65535"),
    ('[metrics]\nlisten = "127.0.0.1"', "metrics.listen", "127.0.0.1", "loopback only"),
    ('[metrics]\nlisten = "0.0.0.0:9465"', "metrics.listen", "0.0.0.0:9465", "loopback only"),
    ('[logging]\nlevel = "LOUD"', "logging.level", "LOUD", '"INFO"'),
    ('timezone = "GMT+1"', "timezone", "GMT+1", "IANA timezone"),
    ('timezone = ""', "timezone", "''", "IANA timezone"),
    ('[schedule]\ndeliver = "61 * * * *"', "schedule.deliver", "61 * * * *", "cron"),
    ('[import]\ndrop_dir = "bad\\u0000dir"', "import.drop_dir", "dir", "a folder path"),
    ('[import]\ndrop_dir = "a-file.txt"', "import.drop_dir", "a-file.txt", "a folder"),
    ('[database]\nurl = "mysql://monitor@db.police.example/register"', "database.url", "mysql://", "postgresql"),
    ('[database]\nurl = "sqlite"', "database.url", "sqlite", "SQLAlchemy URL"),
    (
        '[database]\nurl = "postgresql+psycopg2://monitor@db.police.example/register"',
        "database.url",
        "psycopg2",
        "postgresql://",
    ),
    ("[policy]\nsurprise = 1", "policy.surprise", "", "a known key"),
    # import: how a force's own extract is read (issue 21)
    ('[import]\nencodng = "cp1252"', "import.encodng", "", "did you mean import.encoding?"),
    ('[import]\nencoding = "utf-16"', "import.encoding", "utf-16", "not UTF-16"),
    ('[import]\nencoding = "klingon"', "import.encoding", "klingon", "a text encoding"),
    ('[import]\ndate_formats = ["%m/%d/%Y"]', "import.date_formats", "%m/%d/%Y", "cannot read one text as two dates"),
    ('[import]\ndate_formats = ["%d.%m.%Y", "%m.%d.%Y"]', "import.date_formats", "%d.%m.%Y", "two dates"),
    ('[import]\ndate_formats = ["%d/%m/%y"]', "import.date_formats", "%d/%m/%y", "four-digit years"),
    ('[import]\ndate_formats = ["%d-%m"]', "import.date_formats", "%d-%m", "a year (%Y)"),
    ('[import]\ndate_formats = "%d-%b-%Y"', "import.date_formats", "%d-%b-%Y", "a list of strftime"),
    ('[import]\nworkbook = "Register.csv"', "import.workbook", "Register.csv", "ending in .xlsx"),
    ('[import.files]\noffenders = "in/RSO_*.csv"', "import.files.offenders", "in/RSO_*.csv", "without folders"),
    ("[import.files]\noffenders = []", "import.files.offenders", "[]", "a file name pattern"),
    ("[import.columns.offenders]\nref = 7", "import.columns.offenders.ref", "7", "the force's header"),
    ('[import.columns]\noffenders = "x"', "import.columns.offenders", "x", "a table"),
    ('[import.values.risk_level]\nVH = "very_high"\nvh = "high"', "import.values.risk_level.vh", "vh", "case"),
    ("[import.sheets]\noffenders = 3", "import.sheets.offenders", "3", "a sheet name"),
]


@pytest.mark.parametrize(("toml", "key", "shown", "expected"), BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_every_bad_value_stops_every_command_with_exit_2(
    tmp_path: Path, toml: str, key: str, shown: str, expected: str
) -> None:
    (tmp_path / "a-file.txt").write_text("not a folder\n")
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == key
    result = CliRunner().invoke(cli, ["--config", str(path), "report"])
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "Traceback" not in result.output
    assert len(message.strip().splitlines()) == 1, message
    assert key in message and str(path) in message
    assert shown in message, message
    assert expected in message, message


@pytest.mark.parametrize(
    "toml",
    [
        '[policy.intervals]\nlow = "P10Y"',
        '[policy]\nfirst_visit_within = "P0D"\nnotification_after_return = "P0D"',
        "[policy]\ndue_soon_days = 365\nfailed_attempts_flag = 100",
        '[mail]\ncase_url = "https://cases.police.example/view?ref={ref}&src=monitor"',
        '[mail]\ncase_url = "http://cases.police.example/{ref}"',
        '[mail]\nfrom = "visit.monitor+alerts@monitor.police.example"',
        '[mail]\nfrom = "Visit Monitor <visit-monitor@monitor.police.example>"',
        "[mail]\nretry_base_seconds = 60\nretry_max_seconds = 60",
        '[smtp]\nhost = "10.0.0.25"\nport = 65535\ntimeout = 600\nhelo = "monitor.police.example"',
        '[smtp]\nhost = "::1"',
        '[metrics]\nlisten = "[::1]:9465"',
        '[metrics]\nlisten = "localhost:1"',
        '[metrics]\nlisten = "127.0.0.1:0"',
        '[database]\nurl = "postgres://monitor@db.police.example/register"',
        '[database]\nurl = "postgresql+psycopg://monitor@db.police.example/register"',
        '[database]\nurl = "sqlite+pysqlite:///var/x.db"',
        "[daemon]\nheartbeat_seconds = 10\nstale_after_seconds = 11",
    ],
)
def test_edge_values_are_accepted(tmp_path: Path, toml: str) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(toml + "\n")
    config_module.load(path)


def test_bad_environment_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "oracle://monitor@db.police.example/register")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load()
    assert info.value.key == "$MONITOR_DATABASE_URL"
    assert info.value.source is None
