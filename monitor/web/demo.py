"""``visit-monitor web --demo``: the app on the synthetic demo register, with a local sign-in.

A newcomer can click around without an identity provider: the sign-in page lists demo
users (the leads, a supervisor and an offender manager per team, the inactive officers
and a stranger) and signing in as one asserts that user's email, which then goes
through exactly the same identity rule as a real ID token (an inactive officer or a
stranger gets the 403 page).

The local sign-in exists only in an app built with ``demo=True``; the command builds
one only on a loopback address and only on its own SQLite file holding nothing but the
demo register (:func:`check_demo_database`), so it cannot become a way into real data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from flask import Blueprint, request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from monitor.core.config import Config
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.importer import import_directory
from monitor.register.models import Offender, Officer
from monitor.reports.snapshot import take_snapshot
from monitor.web.access import Refusal, officer_for_email, rule
from monitor.web.auth import complete_sign_in, refuse_sign_in
from monitor.web.state import state

bp = Blueprint("demo", __name__)
STRANGER = "someone.else@elsewhere.example"


class NotDemoDatabase(Exception):
    """The database holds something other than the demo register."""


@dataclass(frozen=True)
class DemoUser:
    email: str
    label: str
    expect: str


def _seed_column(name: str, column: str) -> set[str]:
    text = resources.files("monitor.seeds").joinpath(name).read_text(encoding="utf-8-sig")
    return {row[column] for row in csv.DictReader(io.StringIO(text))}


def check_demo_database(engine: Engine) -> None:
    """Refuse a database holding any case or officer that is not in the packaged demo register."""
    refs, officers = _seed_column("offenders.csv", "ref"), _seed_column("officers.csv", "officer_id")
    with reading(engine) as db:
        found_refs = set(db.scalars(select(Offender.ref)))
        found_officers = set(db.scalars(select(Officer.officer_id)))
    if found_refs - refs or found_officers - officers:
        raise NotDemoDatabase("this database holds records that are not in the demo register")


def demo_users(db: Session) -> list[DemoUser]:
    officers = list(db.scalars(select(Officer).order_by(Officer.officer_id)))
    users: list[DemoUser] = []
    seen_teams: dict[tuple[str, str], bool] = {}
    for o in officers:
        if not o.active:
            users.append(DemoUser(o.email, f"{o.officer_id} (inactive {o.role.replace('_', ' ')})", "refused"))
        elif o.role == "lead":
            users.append(DemoUser(o.email, f"{o.officer_id}, force lead", "the whole force"))
        elif (o.team, o.role) not in seen_teams:
            seen_teams[(o.team, o.role)] = True
            what = "supervisor" if o.role == "supervisor" else "offender manager"
            scope = f"team {o.team}" if o.role == "supervisor" else "own cases"
            users.append(DemoUser(o.email, f"{o.officer_id}, {what}, {o.team}", scope))
    users.append(DemoUser(STRANGER, "A stranger (not in the register)", "refused"))
    order = {"the whole force": 0, "refused": 3}
    return sorted(users, key=lambda u: (order.get(u.expect, 1 if u.expect.startswith("team") else 2), u.label))


@bp.post("/demo/sign-in")
@rule("public")
def demo_sign_in() -> Response:
    email = request.form.get("email", "")
    with reading(state().engine) as db:
        found = officer_for_email(db, email)
        if isinstance(found, Refusal):
            return refuse_sign_in("demo:not-signed-in", found.reason)
        officer_id, address = found.officer_id, found.email
    return complete_sign_in(officer_id, f"demo:{officer_id}", address)


#: Weekly snapshots taken for the demo so the trend chart has a history to show.
DEMO_TREND_WEEKS = 8


def prepare_demo_database(config: Config, as_of: date) -> Engine:
    """Create or reuse the demo SQLite file, import the packaged demo register, take snapshots."""
    engine = make_engine(config.database_url)
    upgrade(engine)
    check_demo_database(engine)
    with resources.as_file(resources.files("monitor.seeds")) as seeds:
        import_directory(engine, config, Path(seeds))
    check_demo_database(engine)
    for weeks in range(DEMO_TREND_WEEKS, -1, -1):
        take_snapshot(engine, config, as_of - timedelta(days=7 * weeks))
    return engine
