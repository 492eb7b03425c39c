"""Markdown helpers shared by the generated pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

GENERATED = (
    "*This page is generated from the code (`python -m tools.reference --write`); "
    "a test fails when it and the code differ, so it is complete and current.*"
)


def head(title: str, audience: str, intro: str = "") -> list[str]:
    lines = [f"# {title}", "", audience, "", GENERATED, ""]
    if intro:
        lines += [intro, ""]
    return lines


def cell(text: object) -> str:
    """One table cell: pipes escaped, lines joined."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: object) -> str:
    value = str(text)
    if "`" in value:
        return f"`` {value} ``"
    return f"`{value}`"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def finish(lines: list[str]) -> str:
    text = "\n".join(lines).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
