"""GET parameters, read strictly: a value that is not one of the expected ones is a 400.

Filters narrow what is already in scope; they never widen it (the case list comes from
the scope's own scan, so ``?officer=`` naming someone in another team finds nothing
either way). An unexpected value is refused with a message naming the parameter and
what it accepts, without echoing what was sent. :func:`check_input` runs before any view
or query: a path key or parameter holding NUL or another control character is refused
there, the same way on SQLite and PostgreSQL (which cannot even compare text with NUL).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from monitor.rules.obligations import RISK_ORDER
from monitor.web.audit import ACTIONS, OUTCOMES, LogQuery

#: status filter -> what the case list then shows.
STATUSES: dict[str, str] = {
    "overdue": "Overdue home visits",
    "due_soon": "Home visits due soon",
    "failed": "Visits with 2+ failed attempts",
    "unknown": "Whereabouts unknown",
    "review": "Overdue risk reviews",
    "notification": "Overdue periodic notifications",
}
#: status filters of the practice measures (docs/practice.md), offered when they are on.
PRACTICE_STATUSES: dict[str, str] = {
    "supervision": "Overdue supervisor reviews",
    "predictable": "Predictable visits",
    "lone": "Lone visits",
    "long_plan": "Plan intervals long for the risk level",
}
#: mappa filter -> the MAPPA levels it keeps ("2+": level 2 or 3).
MAPPA_FILTERS: dict[str, frozenset[int]] = {
    "1": frozenset({1}),
    "2": frozenset({2}),
    "3": frozenset({3}),
    "2+": frozenset({2, 3}),
}
MAX_PAGES = 10_000
#: Longest team code or officer id in the register (the importer refuses longer ones).
MAX_KEY = 64


class BadParameter(ValueError):
    """A GET parameter outside what the page accepts."""

    def __init__(self, name: str, expected: str):
        self.name, self.expected = name, expected
        super().__init__(f"{name}: expected {expected}")


#: Path parts that name something in the register (a team code, an officer id).
REGISTER_KEYS = frozenset({"code", "officer_id"})
#: Longest other path part accepted (the guide's pages under /help).
MAX_PATH = 1000


def usable_key(value: object) -> bool:
    """Could the register hold this team code or officer id? The importer stores only short
    printable keys, so anything else (NUL, controls, line or bidi marks, surrogates, a huge
    value) names nothing: it is refused before a query, which PostgreSQL would fail on NUL."""
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY and value.isprintable()


def check_input(view_args: Mapping[str, Any], args: MultiDict[str, str]) -> str | None:
    """Refuse what no page can use, before any query: the name of a bad path key, or None.

    A path key (team code, officer id) no register can hold is reported by name (the page
    answers 404, as for one that does not exist); a GET parameter whose name or value holds
    a control or invisible character raises :class:`BadParameter` (400), without echoing it.
    """
    for name, value in args.items(multi=True):
        if not name.isprintable() or len(name) > 100:
            raise BadParameter("a parameter name", "a short name without control characters")
        if not value.isprintable():
            raise BadParameter(name, "text without control or invisible characters")
    for name, value in view_args.items():
        if name in REGISTER_KEYS and not usable_key(value):
            return name
        if not (isinstance(value, str) and len(value) <= MAX_PATH and value.isprintable()):
            return name  # any other path part (a page of the guide): printable and not huge
    return None


def one_value(args: MultiDict[str, str], name: str) -> str:
    """The one value of GET parameter ``name`` ("" when absent), trimmed; BadParameter when it
    is given twice or is long (every page's parameters are read through this)."""
    values = args.getlist(name)
    if len(values) > 1:
        raise BadParameter(name, "one value")
    value = values[0].strip() if values else ""
    if len(value) > 100:
        raise BadParameter(name, "a short value")
    return value


@dataclass(frozen=True)
class CaseFilter:
    status: str = "overdue"
    risk: str = ""
    officer: str = ""
    mappa: str = ""

    def params(self) -> dict[str, Any]:
        """The non-default parameters, for links (exports) that keep the same view."""
        out: dict[str, Any] = {}
        if self.status != "overdue":
            out["status"] = self.status
        if self.risk:
            out["risk"] = self.risk
        if self.officer:
            out["officer"] = self.officer
        if self.mappa:
            out["mappa"] = self.mappa
        return out

    def query_string(self) -> str:
        params = self.params()
        return ("?" + urlencode(params)) if params else ""

    def words(self) -> str:
        """For the access log: which view of the scope was shown."""
        return " ".join(f"{k}={v}" for k, v in [("status", self.status), *self.params().items()] if k != "status" or v)


def case_filter(args: MultiDict[str, str], officers: Collection[str], practice: bool = False) -> CaseFilter:
    """Read ``status``, ``risk``, ``officer`` and ``mappa``; ``officers`` are those this scope may
    filter by; ``practice``: the practice measures are on (their statuses are offered)."""
    status = one_value(args, "status") or "overdue"
    statuses = {**STATUSES, **PRACTICE_STATUSES} if practice else STATUSES
    if status not in statuses:
        raise BadParameter("status", "one of " + ", ".join(statuses))
    risk = one_value(args, "risk")
    if risk and risk not in RISK_ORDER:
        raise BadParameter("risk", "one of " + ", ".join(RISK_ORDER))
    officer = one_value(args, "officer")
    if officer and officer not in officers:
        raise BadParameter("officer", "an officer holding cases in this scope")
    mappa = one_value(args, "mappa")
    if mappa and mappa not in MAPPA_FILTERS:
        raise BadParameter("mappa", "a MAPPA level: one of " + ", ".join(MAPPA_FILTERS))
    return CaseFilter(status=status, risk=risk, officer=officer, mappa=mappa)


def _date(args: MultiDict[str, str], name: str) -> date | None:
    value = one_value(args, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(name, "a date as YYYY-MM-DD") from None


def log_query(args: MultiDict[str, str]) -> LogQuery:
    """Filters of the access-log page."""
    officer = one_value(args, "officer")
    action = one_value(args, "action")
    if action and action not in ACTIONS:
        raise BadParameter("action", "one of " + ", ".join(ACTIONS))
    outcome = one_value(args, "outcome")
    if outcome and outcome not in OUTCOMES:
        raise BadParameter("outcome", "one of " + ", ".join(OUTCOMES))
    page_text = one_value(args, "page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGES:
        raise BadParameter("page", f"a page number from 1 to {MAX_PAGES}")
    return LogQuery(
        officer=officer,
        action=action,
        outcome=outcome,
        since=_date(args, "from"),
        until=_date(args, "to"),
        page=int(page_text),
    )
