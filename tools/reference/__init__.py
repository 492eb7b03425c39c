"""The reference pages of the docs site, generated from the code so they cannot drift.

``python -m tools.reference --write`` (from the repository root) writes them under
``docs/reference/``; ``--check`` says which committed page differs from what the code
gives now. ``tests/project/test_docs.py`` fails on any difference and on any command, option,
configuration key, input column, report key, metric or exit code the code has and a page
lacks; ``tools/mkdocs_hooks.py`` makes ``mkdocs build --strict`` fail the same way.

Each page is built from the code that is the truth of it: the click group (commands and
options), the built-in defaults and ``config/monitor.toml``'s comments (configuration),
``monitor.register.specs.SPECS`` and its parsers (the input format), the report's result
types (JSON and CSV keys), the metrics collector's families, the exit-code constants.
What a value *means* cannot be read from code: those words are here, beside the
generator, and a key without them is reported (``missing_words``) instead of being left
out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def pages() -> dict[str, Callable[[], str]]:
    """Each generated page (path under docs/) and the function that writes it."""
    from tools.reference import cli_page, config_page, input_page, metrics_page, reports_page

    return {
        "reference/cli.md": cli_page.page,
        "reference/configuration.md": config_page.page,
        "reference/input-format.md": input_page.page,
        "reference/reports.md": reports_page.page,
        "reference/metrics.md": metrics_page.page,
    }


def generate() -> dict[str, str]:
    return {path: make() for path, make in pages().items()}


def stale(docs: Path = DOCS) -> list[str]:
    """Pages whose committed text differs from what the code gives now."""
    out = []
    for path, text in generate().items():
        target = docs / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def missing_words() -> list[str]:
    """Things the code has that the generator has no words for (each named)."""
    from tools.reference import cli_page, config_page, input_page, reports_page

    return [
        *cli_page.missing_words(),
        *config_page.missing_words(),
        *input_page.missing_words(),
        *reports_page.missing_words(),
    ]
