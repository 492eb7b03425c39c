"""The docs: the README stays a short front door, the site builds strictly and offline, and the
reference is generated from the code, complete and current.

The reference pages (docs/reference/) are written by ``python -m tools.reference --write``;
these tests fail when a committed page differs from what the code gives now, and, checked
apart from the generator, when a command, option, configuration key, input column, report
key, metric or exit code exists in the code and not in its page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
if str(REPO) not in sys.path:  # tools/ is beside the package, not in it
    sys.path.insert(0, str(REPO))

from tools.reference import cli_page, config_page, metrics_page, missing_words, reports_page, stale  # noqa: E402


def _page(name: str) -> str:
    return (DOCS / "reference" / name).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the reference


def test_reference_pages_are_what_the_code_generates() -> None:
    assert stale() == [], "run: python -m tools.reference --write"


def test_the_generator_has_words_for_everything_in_the_code() -> None:
    assert missing_words() == []


def test_every_command_and_option_is_in_the_reference() -> None:
    text = _page("cli.md")
    commands = cli_page.commands()
    assert {"visit-monitor report", "visit-monitor db upgrade", "visit-monitor systemd-units"} <= {
        c for c, _ in commands
    }
    for full, command in commands:
        section = text.split(f"{{#{full.replace(' ', '-')}}}", 1)
        assert len(section) == 2, f"no section for {full}"
        body = section[1].split("\n## ", 1)[0]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    assert f"`{opt}`" in body, f"{full} {opt}"
            elif isinstance(param, click.Argument):
                assert f"`{param.human_readable_name}`" in body, f"{full} {param.name}"
    from monitor.cli.app import cli

    for param in cli.params:
        for opt in param.opts:
            assert f"`{opt}`" in text, opt


def test_every_exit_code_and_environment_variable_is_in_the_reference() -> None:
    text = _page("cli.md")
    from monitor.cli import errors

    codes = [v for k, v in vars(errors).items() if k.startswith("EXIT_")]
    assert {0, 1, 2, 3} <= set(codes)
    for code in codes:
        assert f"| `{code}` |" in text, code
    for name in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL", "MONITOR_SMTP_PASSWORD", "MONITOR_OIDC_CLIENT_SECRET"):
        assert name in cli_page.environment_variables()
    for name in cli_page.environment_variables():
        assert f"| `{name}` |" in text, name


def test_every_configuration_key_is_in_the_reference() -> None:
    from monitor.core import config as config_module

    text = _page("configuration.md")
    keys = [key for key, _ in config_page.leaves(config_module.DEFAULTS)]
    assert "policy.intervals.very_high" in keys and "docs.site_dir" in keys
    for key in keys:
        assert f"`{key}`" in text, key
    assert "`$MONITOR_DATABASE_URL` overrides it" in text


def test_every_input_column_is_in_the_reference_under_its_file() -> None:
    from monitor.register.specs import SPECS

    text = _page("input-format.md")
    for name, spec in SPECS.items():
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for column in spec.known:
            row = next((line for line in section.splitlines() if line.startswith(f"| `{column}` |")), None)
            assert row is not None, f"{name}: {column}"
            assert ("| yes |" in row) == (column in spec.required), f"{name}: {column}"
    assert "`very_high`, `high`, `medium`, `low`" in text  # allowed values, from the parser


def test_every_report_key_is_in_the_reference() -> None:
    from monitor.reports.export import CSV_COLUMNS, CSV_PERSONAL_COLUMNS

    text = _page("reports.md")
    for list_name, entry in reports_page.json_lists(names=True).items():
        section = text.split(f"### `{list_name}` entries", 1)[1].split("\n### ", 1)[0]
        for key in entry:
            assert f"| `{key}` |" in section, f"{list_name}.{key}"
    summary = text.split("### `summary`", 1)[1].split("\n## ", 1)[0]
    for key in reports_page.summary_keys():
        assert f"| `{key}` |" in summary, key
    for column in (*CSV_COLUMNS, *CSV_PERSONAL_COLUMNS):
        assert f"| `{column}` |" in text, column


def test_every_metric_is_in_the_reference() -> None:
    text = _page("metrics.md")
    names = [name for name, *_ in metrics_page.metrics()]
    assert "visit_monitor_overdue_visits" in names and "visit_monitor_job_runs_total" in names
    for name in names:
        assert f"| `{name}` |" in text, name


def test_the_reference_shows_what_the_checks_accept() -> None:
    """Accepted values come from the code's own checks: a changed range shows up here."""
    assert config_page.accepted("policy.due_soon_days", 14) == "a whole number from 0 to 365"
    assert "`policy.due_soon_days`" in _page("configuration.md")
    assert "a whole number from 0 to 365" in _page("configuration.md")


# ----------------------------------------------------------------------------- the site


def test_site_builds_strictly_and_fetches_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mkdocs")), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "reference" / "cli" / "index.html").is_file()
    remote = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not remote.search(html), f"{page.relative_to(site)} loads something from another host"
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html


def test_each_reader_guide_the_product_links_to_exists() -> None:
    from monitor.core.docs_settings import GUIDES

    for role, page in GUIDES.items():
        assert (DOCS / f"{page.rstrip('/')}.md").is_file(), role


def _markdown_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


@pytest.mark.parametrize("page", _markdown_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_each_page_opens_with_its_title_and_who_it_is_for(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), "the first line is the page's title"
    assert lines[1] == "" and lines[2].strip(), "then one line saying who the page is for"
    assert not lines[2].startswith(("#", "!", "`", "|", "-", "<")), "then one line saying who the page is for"


# ----------------------------------------------------------------------------- the README


def test_readme_is_short_and_links_only_to_files_that_exist() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert "docs/reference/input-format.md" in local and "SECURITY.md" in local
    for link in local:
        assert (REPO / link).exists(), link


def test_readme_input_format_in_brief_names_every_file_and_required_column() -> None:
    from monitor.register.specs import SPECS

    text = (REPO / "README.md").read_text(encoding="utf-8")
    brief = text.split("## The input format in brief", 1)[1].split("\n## ", 1)[0]
    for name, spec in SPECS.items():
        row = next(line for line in brief.splitlines() if line.startswith(f"| `{name}`"))
        required = row.split("|")[2]
        for column in spec.required:
            assert f"`{column}`" in required, f"{name}: {column}"


#: Files a clone does not have, or that do not exist: the docs must never send readers there.
NOWHERE = ("../shared", "DESIGN.md", "DOMAIN.md", "RULES.md")


def test_nothing_points_outside_the_repository_or_at_files_that_do_not_exist() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    untracked = [str(p.relative_to(REPO)) for p in DOCS.rglob("*.md")]
    offenders = []
    for name in sorted(set(tracked) | set(untracked)):
        path = REPO / name
        if (
            path.suffix not in (".py", ".md", ".toml", ".txt", ".html", ".service", ".timer", ".yml", "")
            or not path.is_file()
        ):
            continue
        if name == "tests/project/test_docs.py":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {word}" for word in NOWHERE if word in text]
    assert offenders == []
