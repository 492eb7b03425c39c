"""docs/reference/configuration.md: every key of the configuration, from the built-in
defaults (monitor.core.defaults.DEFAULTS), with each key's words taken from the shipped,
documented config/monitor.toml and its accepted values from the configuration's own
checks (each key is given a bad value and the expectation the check prints is shown)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tools.reference.common import code, finish, head

TOML = Path(__file__).resolve().parents[2] / "config" / "monitor.toml"
#: Keys an environment variable overrides.
ENVIRONMENT: dict[str, str] = {"database.url": "MONITOR_DATABASE_URL"}
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")
_TABLE = re.compile(r"^\[([A-Za-z0-9_.]+)\]\s*$")


def leaves(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from leaves(value, f"{dotted}.")
        else:
            yield dotted, value


def comments() -> tuple[dict[str, str], dict[str, str]]:
    """(key -> its comment, table -> the comment right below its header).

    A comment covers the keys right below it, up to a blank line or the next comment
    (``notification_interval`` and the two keys after it share one).
    """
    by_key: dict[str, str] = {}
    by_table: dict[str, str] = {}
    table = ""
    pending: list[str] = []
    covering = ""
    just_opened = False
    for raw in TOML.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            pending.append(line.lstrip("#").strip())
            continue
        if not line:
            if just_opened and pending:
                by_table[table] = " ".join(pending)
            pending, covering, just_opened = [], "", False
            continue
        if match := _TABLE.match(line):
            table, pending, covering, just_opened = match.group(1), [], "", True
            continue
        if match := _KEY.match(line):
            if pending:
                covering = " ".join(pending)
            dotted = f"{table}.{match.group(1)}" if table else match.group(1)
            by_key[dotted] = covering
        pending, just_opened = [], False
    return by_key, by_table


def _set(raw: dict[str, Any], dotted: str, value: object) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        raw = raw[part]
    raw[parts[-1]] = value


def accepted(dotted: str, default: object) -> str:
    """What the configuration's checks say they expect for ``dotted`` (given bad values)."""
    from monitor.core import config as config_module

    if isinstance(default, bool):
        probes: list[object] = ["not-a-bool"]
    elif isinstance(default, int | float):
        probes = ["not-a-number", -(10**9)]
    elif isinstance(default, list):
        probes = ["not-a-list"]
    else:
        probes = ["zz not valid", "\x00bad\n", 12345]
    found = ""
    for probe in probes:
        raw = copy.deepcopy(config_module.DEFAULTS)
        _set(raw, dotted, probe)
        try:
            config_module.build(raw)
        except config_module.ConfigError as exc:
            if exc.key == dotted:
                found = exc.expected
                if probe != 12345 or not found.startswith("a string"):
                    return found
    return found


def kind(dotted: str, default: object) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "whole number"
    if isinstance(default, float):
        return "number"
    if isinstance(default, list):
        return "list of strings"
    if isinstance(default, str) and re.fullmatch(r"P(\d+[YMWD])+", default):
        return "ISO 8601 duration"
    if dotted.startswith("schedule."):
        return 'cron expression or "off"'
    return "string"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def page() -> str:
    from monitor.core import checks
    from monitor.core import config as config_module

    words, table_words = comments()
    lines = head(
        "Configuration",
        "For operators: every key of the configuration file, with its type, default, what it accepts "
        "and any environment variable that overrides it.",
        "The file is TOML. Which file: `--config FILE`, else `$MONITOR_CONFIG`, else `config/monitor.toml` "
        "in the working directory, else none (the built-in defaults below). `visit-monitor config example` "
        "prints the documented file with every key at its default; `visit-monitor config check` checks the "
        "one in use. A key left out keeps its default; an unknown key or a bad value stops every command "
        "at start with the key, the value and what was expected (exit 2), and a misspelt key is answered "
        "with the closest known one.",
    )
    lines += ["## Secrets never go in the file", ""]
    lines += [
        "A key that looks like a secret (a password, token or client secret) is refused without its value "
        "being printed. Set these in the service's environment instead (for systemd: the environment file "
        "named by the unit, readable by root and the service user only):",
        "",
    ]
    for key, where in checks.SECRET_KEYS.items():
        lines.append(f"- {code(key)}: {where}")
    lines += ["- the Microsoft 365 client secret: `$MONITOR_SMTP_CLIENT_SECRET`", ""]

    current = None
    done: set[str] = set()
    for dotted, default in leaves(config_module.DEFAULTS):
        table = dotted.split(".")[0] if "." in dotted else ""
        if table != current:
            current = table
            lines += [f"## [{table}]" if table else "## Top level", ""]
            if table_words.get(table):
                lines += [table_words[table], ""]
        parent = dotted.rpartition(".")[0]
        if parent.count(".") >= 1:  # a table of values inside a table: policy.intervals.*
            if parent not in done:
                done.add(parent)
                lines += _grouped(parent, config_module.DEFAULTS, words)
            continue
        lines += [f"### {code(dotted)} {{#{dotted}}}", ""]
        if words.get(dotted):
            lines += [words[dotted], ""]
        facts = [f"Type: {kind(dotted, default)}", f"default: {code(_toml(default))}"]
        if expected := accepted(dotted, default):
            facts.append(f"accepted: {expected}")
        if dotted in ENVIRONMENT:
            facts.append(f"environment: `${ENVIRONMENT[dotted]}` overrides it")
        lines += ["; ".join(facts) + ".", ""]
    return finish(lines)


def _grouped(parent: str, defaults: Mapping[str, Any], words: dict[str, str]) -> list[str]:
    """One entry for a table such as ``policy.intervals``, with a line per key inside it."""
    table: Any = defaults
    for part in parent.split("."):
        table = table[part]
    lines = [f"### {code(parent)} {{#{parent}}}", ""]
    if words.get(parent):
        lines += [words[parent], ""]
    first = f"{parent}.{next(iter(table))}"
    expected = accepted(first, table[next(iter(table))])
    shown = ", ".join(f"{k} = {_toml(v)}" for k, v in table.items())
    lines += [f"A table: {code('{ ' + shown + ' }')}; each value accepted: {expected}.", ""]
    lines += [f"- {code(f'{parent}.{key}')}: default {code(_toml(value))}" for key, value in table.items()]
    return [*lines, ""]


def missing_words() -> list[str]:
    from monitor.core import config as config_module

    words, _ = comments()
    gaps = []
    for dotted, _default in leaves(config_module.DEFAULTS):
        if not (words.get(dotted) or words.get(dotted.rpartition(".")[0])):
            gaps.append(f"configuration key {dotted} (no comment above it in config/monitor.toml)")
    return gaps
