"""Config: documented defaults equal the built-in ones; bad values name key, value, expectation."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.core.durations import Duration

REPO = Path(__file__).resolve().parents[2]


def test_documented_file_equals_built_in_defaults() -> None:
    with open(REPO / "config" / "monitor.toml", "rb") as fh:
        assert tomllib.load(fh) == config_module.DEFAULTS


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    cfg = config_module.load()
    assert cfg.source is None
    assert cfg.timezone == "Europe/London"
    assert cfg.database_url == "sqlite:///var/monitor.db"
    assert cfg.policy.intervals["very_high"] == Duration(months=1)
    assert cfg.policy.intervals["low"] == Duration(months=12)
    assert cfg.policy.first_visit_within == Duration(days=28)
    assert cfg.policy.include_names is False
    assert cfg.mail.marking == "OFFICIAL-SENSITIVE"
    assert cfg.schedule["officer_digest"] == "0 7 * * mon"


def test_shipped_schedules_parse_and_loading_them_does_not_import_apscheduler(tmp_path: Path) -> None:
    """The shipped schedules are not parsed again when a config keeps them (config.py:
    _SHIPPED_SCHEDULES), so they must parse; a changed one still is parsed."""
    import os
    import subprocess
    import sys

    from monitor.core.cron import cron_trigger

    for expr in config_module.DEFAULTS["schedule"].values():
        cron_trigger(expr, "UTC")
    probe = "import sys; from monitor.core import config; config.load(); print('apscheduler' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120, cwd=tmp_path, env=env
    )
    assert done.stdout.strip() == "False"


def test_cwd_config_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "monitor.toml").write_text("[policy]\ndue_soon_days = 7\n")
    assert config_module.load().policy.due_soon_days == 7


def test_env_config_and_database_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[mail]\nmarking = "OFFICIAL"\n')
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    assert config_module.load().mail.marking == "OFFICIAL"
    assert config_module.load().database_url == "sqlite:///x.db"
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert config_module.load().database_url == "postgresql://postgres@127.0.0.1/test"


def test_review_interval_single_string_applies_to_all_levels() -> None:
    cfg = config_module.load(overrides={"policy": {"review_interval": "P6M"}})
    assert set(cfg.policy.review_interval.values()) == {Duration(months=6)}


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ('timezone = "Mars/Olympus"', "timezone", "IANA timezone"),
        (
            '[policy]\nintervals = { very_high = "monthly", high = "P3M", medium = "P6M", low = "P12M" }',
            "policy.intervals.very_high",
            "ISO 8601 duration",
        ),
        ('[policy]\nintervals = "P3M"', "policy.intervals", "a table"),
        (
            '[policy]\nfirst_visit_within = "P0D"\nintervals = { very_high = "P0D", high = "P3M", medium = "P6M", '
            'low = "P12M" }',
            "policy.intervals.very_high",
            "longer than zero",
        ),
        ("[policy]\ndue_soon_days = -1", "policy.due_soon_days", "whole number from 0 to 365"),
        ('[policy]\ninclude_names = "yes"', "policy.include_names", "true or false"),
        ('[mail]\ntransport = "pigeon"', "mail.transport", '"smtp" or "maildir"'),
        ('[mail]\nallowed_domains = "police.example"', "mail.allowed_domains", "list of domain names"),
        ('[mail]\nmarking = ""', "mail.marking", "protective marking"),
        ('[mail]\ncase_url = "https://cases.example/"', "mail.case_url", "{ref}"),
        ('[smtp]\nsecurity = "ssl"', "smtp.security", '"starttls" or "tls" or "none"'),
        ("[smtp]\nport = 70000", "smtp.port", "1 to 65535"),
        ('[smtp]\nca_file = "/nonexistent/ca.pem"', "smtp.ca_file", "readable PEM"),
        (
            '[mail]\ntransport = "smtp"\n[smtp]\nhost = "relay.police.example"\nsecurity = "none"',
            "smtp.security",
            "loopback",
        ),
        ('[schedule]\nofficer_digest = "0 7 * *"', "schedule.officer_digest", "5-field cron"),
        ('[schedule]\nteam_digest = "0 25 * * mon"', "schedule.team_digest", "valid 5-field cron"),
        ('[metrics]\nlisten = "0.0.0.0:9465"', "metrics.listen", "loopback only"),
        ('[logging]\nformat = "xml"', "logging.format", '"text" or "json"'),
        ("[policy]\nsurprise = 1", "policy.surprise", "a known key"),
        ("[policy]\n[policy.intervals]\nvery_high = 3", "policy.intervals.very_high", "ISO 8601 duration"),
    ],
)
def test_bad_values_name_key_value_and_expectation(tmp_path: Path, toml: str, key: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == key
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_partial_table_keeps_other_defaults() -> None:
    cfg = config_module.load(overrides={"policy": {"intervals": {"high": "P2M"}}})
    assert cfg.policy.intervals["high"] == Duration(months=2)
    assert cfg.policy.intervals["very_high"] == Duration(months=1)


def test_off_disables_a_job() -> None:
    cfg = config_module.load(overrides={"schedule": {"import": "OFF"}})
    assert cfg.schedule["import"] == "off"


def test_password_never_comes_from_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[smtp]\npassword = "hunter2"\n')
    with pytest.raises(config_module.ConfigError, match=r"smtp\.password"):
        config_module.load(path)
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "from-env")
    assert config_module.load().smtp.password == "from-env"
    assert "from-env" not in repr(config_module.load())


def test_cli_bad_config_exits_2_with_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[policy]\ndue_soon_days = "soon"\n')
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "db", "current"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "policy.due_soon_days" in proc.stderr
    assert "'soon'" in proc.stderr
    assert "whole number" in proc.stderr


def test_cli_help_lists_every_contract_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for name in ("db", "import", "report", "digest", "deliver", "run", "health", "demo"):
        assert name in result.output


@pytest.mark.parametrize(
    ("toml", "key", "guess"),
    [
        ("[policy]\ndue_son_days = 3", "policy.due_son_days", "policy.due_soon_days"),
        ('[schedule]\nofficer_digests = "off"', "schedule.officer_digests", "schedule.officer_digest"),
        ('[smtp]\nHost = "relay.police.example"', "smtp.Host", "smtp.host"),
        ('[mail]\nhost = "relay.police.example"', "mail.host", "smtp.host"),  # the right key, the wrong table
        ("due_soon_days = 3", "due_soon_days", "policy.due_soon_days"),
        ("[polcy]\ndue_soon_days = 3", "polcy", "policy"),
    ],
)
def test_a_mistyped_key_is_answered_with_the_closest_known_one(tmp_path: Path, toml: str, key: str, guess: str) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(toml + "\n")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == key
    assert f"did you mean {guess}?" in str(info.value)
    assert "visit-monitor config example" in str(info.value)  # works for a wheel install too


def test_an_unknown_key_with_nothing_close_offers_no_guess(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[policy]\nsurprise = 1\n")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert "did you mean" not in str(info.value) and "a known key" in str(info.value)
