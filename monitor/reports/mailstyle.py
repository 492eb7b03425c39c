"""Inline styles for HTML mail, one per element role: the email templates' only CSS.

Mail clients drop ``<style>`` blocks (and Outlook ignores most of them), so every element
of an HTML digest carries its own ``style`` attribute. Writing them here, once, instead of
inlining a stylesheet into every message with css-inline, matters at national scale: a
weekly run renders about 2,500 messages and 100 MB of HTML, and inlining alone took a
tenth of the time. The templates name a role as ``{{ css.td }}``; the template loader
(:mod:`monitor.reports.render`) writes the style text in place when it loads a template,
so it costs nothing per message, and ``css`` is also a template global holding the same
text, so a template renders the same either way.

The declarations are the ones the previous stylesheet gave each element once inlined
(same colours, spacing and type), combined in cascade order.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from markupsafe import Markup

_TABLE = "border-collapse: collapse;"
_TD = "padding: 5px 4px;border-bottom: 1px solid #d9dce0;vertical-align: top;"
_TH = "background-color: #e4e7eb;color: #111111;font-size: 12px;padding: 5px 4px;border-bottom: 1px solid #8a9099;"

STYLES: dict[str, str] = {
    # page frame
    "body": (
        "margin: 0;padding: 0;background-color: #eceef1;color: #111111;"
        "font-family: Arial, Helvetica, sans-serif;font-size: 15px;line-height: 1.4;-webkit-text-size-adjust: 100%;"
    ),
    "outer": _TABLE + "width: 100%;background-color: #eceef1;",
    "outer_cell": "padding: 12px 6px;",
    "wrap": _TABLE + "width: 100%;max-width: 640px;background-color: #ffffff;border: 1px solid #b9bec5;",
    "marking": (
        "background-color: #1b1b1b;color: #ffffff;font-weight: bold;font-size: 14px;letter-spacing: 1px;"
        "text-align: center;padding: 7px 8px;"
    ),
    "head": "padding: 14px 14px 2px 14px;",
    "title": "font-size: 20px;font-weight: bold;margin: 0;line-height: 1.25;",
    "meta": "color: #3d3d3d;font-size: 13px;margin: 4px 0 0 0;",
    "section": "padding: 4px 14px 6px 14px;",
    "foot": "padding: 12px 14px 12px 14px;font-size: 12px;color: #3d3d3d;border-top: 1px solid #d9dce0;",
    # text blocks
    "h2": "font-size: 16px;font-weight: bold;margin: 16px 0 6px 0;padding: 0 0 3px 0;border-bottom: 2px solid #1b1b1b;",
    "note": "font-size: 13px;color: #3d3d3d;margin: 0 0 6px 0;",
    "none": "font-size: 14px;color: #3d3d3d;margin: 2px 0 6px 0;",
    "rerouted": (
        "background-color: #fff4d6;border-top: 3px solid #8a1010;border-bottom: 3px solid #8a1010;"
        "color: #111111;font-size: 14px;padding: 10px 14px;"
    ),
    "allclear": "font-size: 16px;font-weight: bold;margin: 10px 0;",
    # the summary table (label, value)
    "summary": _TABLE + "width: 100%;font-size: 14px;",
    "summary_th": (
        "text-align: left;font-weight: normal;color: #3d3d3d;padding: 4px 8px 4px 0;vertical-align: top;"
        "width: 45%;border-bottom: 1px solid #e3e5e8;"
    ),
    "summary_td": "padding: 4px 0;vertical-align: top;font-weight: bold;border-bottom: 1px solid #e3e5e8;",
    # case and figure tables
    "cases": _TABLE + "width: 100%;font-size: 13px;",
    "th": "text-align: left;" + _TH + "vertical-align: bottom;",
    "th_num": _TH + "vertical-align: bottom;text-align: right;",
    "td": _TD,
    "td_num": _TD + "text-align: right;",
    "td_late": "font-weight: bold;" + _TD,
    "td_num_late": "font-weight: bold;" + _TD + "text-align: right;",
    "td_ref": "font-weight: bold;white-space: nowrap;" + _TD,
    "td_warrant": "font-weight: bold;color: #8a1010;" + _TD,
    "total": "font-weight: bold;border-top: 2px solid #1b1b1b;",  # appended to a totals row's cells
    # inline text
    "link": "color: #0b4f9c;text-decoration: underline;",
    "late": "font-weight: bold;",
    "soon": "font-weight: normal;",
    "warrant": "font-weight: bold;color: #8a1010;",
    "sub": "font-size: 12px;color: #3d3d3d;font-weight: normal;",
    "nw": "white-space: nowrap;",
    "personal": "font-size: 12px;color: #3d3d3d;",
}

#: The risk cell's style by risk level (words carry the level too: never colour alone).
RISK_CELL: dict[str, str] = {
    "very_high": "font-weight: bold;color: #8a1010;" + _TD,
    "high": "font-weight: bold;" + _TD,
    "medium": _TD,
    "low": _TD,
}


def _compact(declarations: str) -> str:
    """``"padding: 5px 4px;color: #111;"`` as ``"padding:5px 4px;color:#111;"``.

    Why: styles are three quarters of a digest's HTML (every cell carries its own), and a
    national run writes hundreds of megabytes of it; the space after each colon was about a
    tenth of that. Mail clients read both alike. The closing semicolon stays: templates
    append one role's style to another's (``css.td`` then ``css.total``).
    """
    return "".join(
        f"{name.strip()}:{value.strip()};"
        for name, _colon, value in (part.partition(":") for part in declarations.split(";") if part.strip())
    )


STYLES = {name: _compact(text) for name, text in STYLES.items()}
RISK_CELL = {risk: _compact(text) for risk, text in RISK_CELL.items()}


class _Styles:
    """``css.NAME`` in a template: attribute access, safe markup (no escaping per use)."""

    def __init__(self, styles: dict[str, str]) -> None:
        for name, text in styles.items():
            setattr(self, name, Markup(text))  # noqa: S704 - constant CSS written here, never data

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no mail style named {name!r} (see monitor/reports/mailstyle.py)")


css = _Styles(STYLES)
risk_css = MappingProxyType({risk: Markup(text) for risk, text in RISK_CELL.items()})  # noqa: S704 - constant CSS
