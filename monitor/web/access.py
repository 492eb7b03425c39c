"""Who may see what: the viewer, the scope rules, and the inventory of routes and their rules.

Every route declares one rule with :func:`rule` (``public``, ``signed_in``, ``team``,
``officer`` or ``lead``); the app's ``before_request`` hook enforces it before the view
runs, so a view cannot forget a check, and a route without a declared rule is refused
outright (and fails the route inventory test).

Scope comes from the register, read again on every request, so a re-import that
deactivates an officer, moves them to another team or changes their role takes effect
on their next click:

* ``offender_manager``: their own caseload (``/officers/<own id>``);
* ``supervisor``: their team (``/teams/<own team>``, and the officers holding cases in
  it, limited to the team's cases);
* ``lead``: the whole force, plus ``/force``, ``/ops`` and ``/access-log``.

Out of scope answers 404, exactly as an unknown team or officer does, so a page never
tells a user whether something outside their scope exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from monitor.register.models import Offender, Officer

ROLES: tuple[str, ...] = ("offender_manager", "supervisor", "lead")
RULES: tuple[str, ...] = ("public", "signed_in", "team", "officer", "lead")
_VIEW_RULE = "_access_rule"

F = TypeVar("F", bound=Callable[..., Any])


def rule(name: str) -> Callable[[F], F]:
    """Declare the access rule of a view function (checked by the app for its endpoint)."""
    if name not in RULES:
        raise ValueError(f"unknown access rule {name!r}: expected one of {', '.join(RULES)}")

    def mark(view: F) -> F:
        setattr(view, _VIEW_RULE, name)
        return view

    return mark


def declared_rule(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, _VIEW_RULE, None) if view is not None else None


@dataclass(frozen=True)
class Viewer:
    """The signed-in officer as the register describes them on this request."""

    officer_id: str
    role: str
    team: str
    name: str
    subject: str

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


@dataclass(frozen=True)
class Refusal:
    """Why a signed-in identity may not use the app (shown as a plain 403, logged)."""

    reason: str


def officer_for_email(db: Session, email: object) -> Officer | Refusal:
    """The one active officer whose email matches (case-insensitively), or why not."""
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return Refusal("no usable email claim")
    matches = db.scalars(
        select(Officer).where(func.lower(Officer.email) == email.strip().lower(), Officer.active.is_(True))
    ).all()
    if not matches:
        return Refusal("not an active officer in the register")
    if len(matches) > 1:
        return Refusal("more than one active officer has this email")
    if matches[0].role not in ROLES:
        return Refusal("role not allowed")
    return matches[0]


def current_viewer(
    db: Session,
    officer_id: str,
    email: str | None,
    subject: str | None,
    *,
    sign_in_id: str | None = None,
    by_sign_in_id: str | None = None,
) -> Viewer | Refusal:
    """Re-check a session's officer against the register as it is now.

    ``by_sign_in_id`` names the identity claim when officers sign in by their
    ``sign_in_id`` (``[web] identity_claim``): the register's must still be the one the
    session was opened with. Otherwise the email must still be.
    """
    officer = db.get(Officer, officer_id)
    if officer is None or not officer.active:
        return Refusal("not an active officer in the register")
    if by_sign_in_id is not None:
        stored = officer.sign_in_id or ""
        stored = stored if by_sign_in_id == "sub" else stored.strip().lower()
        if sign_in_id is None or not stored or stored != sign_in_id:
            return Refusal("sign-in id changed in the register")
    elif email is None or (officer.email or "").strip().lower() != email.lower():
        return Refusal("email changed in the register")
    if officer.role not in ROLES:
        return Refusal("role not allowed")
    return Viewer(
        officer_id=officer.officer_id,
        role=officer.role,
        team=officer.team,
        name=officer.name or officer.officer_id,
        subject=subject or "",
    )


def team_exists(db: Session, code: str) -> bool:
    return bool(
        db.scalar(select(exists().where(Offender.team == code)))
        or db.scalar(select(exists().where(Officer.team == code)))
    )


def officer_exists(db: Session, officer_id: str) -> bool:
    return db.get(Officer, officer_id) is not None or bool(
        db.scalar(select(exists().where(Offender.offender_manager == officer_id)))
    )


def may_see_team(db: Session, viewer: Viewer, code: str) -> bool:
    if viewer.role == "lead":
        return team_exists(db, code)
    return viewer.role == "supervisor" and code == viewer.team


def may_see_officer(db: Session, viewer: Viewer, officer_id: str) -> bool:
    if viewer.role == "lead":
        return officer_exists(db, officer_id)
    if viewer.role == "offender_manager":
        return officer_id == viewer.officer_id
    if viewer.role != "supervisor":
        return False
    officer = db.get(Officer, officer_id)
    if officer is not None and officer.team == viewer.team:
        return True
    return bool(
        db.scalar(select(exists().where(Offender.team == viewer.team, Offender.offender_manager == officer_id)))
    )


def officer_scan_scope(viewer: Viewer, officer_id: str) -> tuple[str | None, str]:
    """(team, officer) to scan an officer page with: a supervisor sees only their team's cases."""
    return (viewer.team if viewer.role == "supervisor" else None), officer_id


def allowed(db: Session, viewer: Viewer, name: str, args: dict[str, Any]) -> bool:
    """Does ``viewer`` pass rule ``name`` for a request with these URL arguments?"""
    if name in ("public", "signed_in"):
        return True
    if name == "lead":
        return viewer.is_lead
    if name == "team":
        return may_see_team(db, viewer, str(args.get("code", "")))
    if name == "officer":
        return may_see_officer(db, viewer, str(args.get("officer_id", "")))
    return False


def scope_words(name: str, args: dict[str, Any]) -> str:
    """The scope a request asks for, for the access log ("team:T1", "officer:OM-1", "force")."""
    if name == "team":
        return f"team:{args.get('code', '')}"[:100]
    if name == "officer":
        return f"officer:{args.get('officer_id', '')}"[:100]
    if name == "lead":
        return "force"
    return "none"


def home_endpoint(viewer: Viewer) -> tuple[str, dict[str, Any]]:
    """Where ``/`` sends each role: their own scope."""
    if viewer.role == "lead":
        return "force.force", {}
    if viewer.role == "supervisor":
        return "team.team", {"code": viewer.team}
    return "officer.officer", {"officer_id": viewer.officer_id}
