"""Digests: the obligations engine's result, cut per recipient, rendered and queued.

Four kinds (DOMAIN.md, "People"):

* ``officer`` (weekly, ISO week): an offender manager's own overdue and soon-due visits,
  overdue risk reviews and notifications, failed-attempt (warrant) flags, missing people.
* ``team`` (weekly, to the team's supervisors): the team's backlog, its risk mix and age
  bands, a row per officer, the most overdue case, whereabouts unknown, cases whose
  offender manager cannot be mailed, and the change since last week's snapshot.
* ``force`` (monthly, to leads): every team side by side, totals, worst teams, trend.
* ``escalation`` (daily, to supervisors): only very-high-risk visits overdue at all, or
  any visit overdue by more than ``digest.escalation_days_overdue`` days.

Every digest shows the backlog size, its risk mix and how overdue each case is, worst
first (HMICFRS). A recipient with nothing gets no message unless ``digest.all_clear`` is
on; escalation never sends an "all clear" (a daily all-clear trains people to ignore the
one that matters).

The steps are separate so each can be tested and reused: :func:`build_plans` scans once
for the whole force and groups the result into one context dataclass per message;
:func:`render_digest` turns a context into subject, text and HTML; :func:`queue_digests`
builds messages and puts them in the outbox (idempotent per kind, recipient and period);
:func:`preview_digests` writes files and sends nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.core.durations import add_months
from monitor.core.files import private_mkdir, write_private
from monitor.mail.messages import build_message, new_message_id
from monitor.mail.recipients import recipient_problem
from monitor.register.db import reading, transaction
from monitor.register.models import Officer, OutboxMessage
from monitor.reports import render
from monitor.reports.snapshot import backlog_series, team_totals
from monitor.rules.obligations import (
    AGE_BANDS,
    RISK_ORDER,
    Item,
    Obligations,
    Unlocated,
    most_overdue,
    overdue_mix,
    warrant_flagged,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.core.config import Config, Policy

KINDS: tuple[str, ...] = ("officer", "team", "force", "escalation")
ROLE_FOR_KIND: dict[str, str] = {
    "officer": "offender_manager",
    "team": "supervisor",
    "force": "lead",
    "escalation": "supervisor",
}
RISKS: tuple[str, ...] = tuple(sorted(RISK_ORDER, key=RISK_ORDER.__getitem__))
TREND_WEEKS = 8
TREND_MONTHS = 6
#: A week-on-week comparison uses the latest snapshot taken 7 to 7 + this many days ago.
SNAPSHOT_SLACK_DAYS = 3


def period_key(kind: str, as_of: date) -> str:
    """The outbox period: ISO week for officer/team, month for force, day for escalation."""
    if kind in ("officer", "team"):
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "force":
        return f"{as_of.year:04d}-{as_of.month:02d}"
    if kind == "escalation":
        return as_of.isoformat()
    raise ValueError(f"unknown digest kind {kind!r}: expected one of {', '.join(KINDS)}")


def kinds_for(kind: str) -> tuple[str, ...]:
    if kind == "all":
        return KINDS
    if kind not in KINDS:
        raise ValueError(f"unknown digest kind {kind!r}: expected one of {', '.join(KINDS)} or all")
    return (kind,)


# --------------------------------------------------------------------------- contexts


@dataclass(frozen=True)
class Backlog:
    """The summary block every digest opens with: size, risk mix, how overdue, the worst."""

    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    by_age: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    most_overdue_risk: str | None
    due_soon: int
    overdue_risk_reviews: int
    overdue_notifications: int
    whereabouts_unknown: int
    warrant_flags: int

    @classmethod
    def of(
        cls,
        *,
        caseload: int,
        overdue: Sequence[Item],
        due_soon: Sequence[Item],
        reviews: Sequence[Item],
        notifications: Sequence[Item],
        unlocated: Sequence[Unlocated],
        flag: int,
    ) -> Backlog:
        by_risk, by_age, _ = overdue_mix(overdue)
        worst = most_overdue(overdue)
        return cls(
            caseload=caseload,
            overdue_visits=len(overdue),
            by_risk=by_risk,
            by_age=by_age,
            most_overdue_days=worst.days_overdue if worst else None,
            most_overdue_ref=worst.ref if worst else None,
            most_overdue_risk=worst.risk_level if worst else None,
            due_soon=len(due_soon),
            overdue_risk_reviews=len(reviews),
            overdue_notifications=len(notifications),
            whereabouts_unknown=len(unlocated),
            warrant_flags=len(warrant_flagged((*overdue, *due_soon), flag)),
        )


@dataclass(frozen=True)
class Recipient:
    officer_id: str
    name: str
    email: str


@dataclass(frozen=True)
class DigestBase:
    """What every context has: who it is for, which period, and whether it is empty."""

    kind: str
    period: str
    as_of: date
    recipient: Recipient
    marking: str
    include_names: bool
    failed_attempts_flag: int
    due_soon_days: int
    all_clear: bool = False

    @property
    def case_refs(self) -> list[str]:
        return []

    @property
    def is_empty(self) -> bool:
        return not self.case_refs


@dataclass(frozen=True)
class OfficerDigest(DigestBase):
    team: str = ""
    backlog: Backlog | None = None
    overdue_visits: list[Item] = field(default_factory=list)
    due_soon: list[Item] = field(default_factory=list)
    overdue_risk_reviews: list[Item] = field(default_factory=list)
    overdue_notifications: list[Item] = field(default_factory=list)
    warrant_flags: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)

    @property
    def case_refs(self) -> list[str]:
        return _refs(
            self.overdue_visits,
            self.due_soon,
            self.overdue_risk_reviews,
            self.overdue_notifications,
            self.whereabouts_unknown,
        )


@dataclass(frozen=True)
class OfficerRow:
    """One offender manager's line in the team digest."""

    officer_id: str
    name: str
    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    most_overdue_days: int | None
    due_soon: int
    overdue_risk_reviews: int
    overdue_notifications: int
    warrant_flags: int
    mail_problem: str | None


@dataclass(frozen=True)
class Unmailable:
    """An offender manager whose digest cannot be sent, so the supervisor must act."""

    officer_id: str
    reason: str
    caseload: int
    refs: list[str]


@dataclass(frozen=True)
class WeekChange:
    previous_on: date
    previous: int
    current: int

    @property
    def delta(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class TeamDigest(DigestBase):
    team: str = ""
    backlog: Backlog | None = None
    officers: list[OfficerRow] = field(default_factory=list)
    overdue_visits: list[Item] = field(default_factory=list)
    overdue_risk_reviews: list[Item] = field(default_factory=list)
    overdue_notifications: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)
    unmailable: list[Unmailable] = field(default_factory=list)
    change: WeekChange | None = None

    @property
    def case_refs(self) -> list[str]:
        refs = _refs(
            self.overdue_visits, self.overdue_risk_reviews, self.overdue_notifications, self.whereabouts_unknown
        )
        return sorted({*refs, *(r for u in self.unmailable for r in u.refs)})

    @property
    def is_empty(self) -> bool:
        return not self.case_refs and not self.unmailable


@dataclass(frozen=True)
class TeamRow:
    """One team's column in the force digest (also used for the totals row)."""

    team: str
    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    by_age: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    overdue_risk_reviews: int
    overdue_notifications: int
    whereabouts_unknown: int


@dataclass(frozen=True)
class TrendPoint:
    label: str
    on: date | None
    overdue_visits: int | None


@dataclass(frozen=True)
class ForceDigest(DigestBase):
    backlog: Backlog | None = None
    teams: list[TeamRow] = field(default_factory=list)
    totals: TeamRow | None = None
    worst_by_count: list[TeamRow] = field(default_factory=list)
    worst_by_age: list[TeamRow] = field(default_factory=list)
    weekly_trend: list[TrendPoint] = field(default_factory=list)
    monthly_trend: list[TrendPoint] = field(default_factory=list)
    overdue_visits: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)
    unmailable: list[Unmailable] = field(default_factory=list)

    @property
    def case_refs(self) -> list[str]:
        return _refs(self.overdue_visits, self.whereabouts_unknown)

    @property
    def is_empty(self) -> bool:
        b = self.backlog
        return b is None or not (
            b.overdue_visits or b.overdue_risk_reviews or b.overdue_notifications or b.whereabouts_unknown
        )


@dataclass(frozen=True)
class Escalated:
    item: Item
    reason: str


@dataclass(frozen=True)
class EscalationDigest(DigestBase):
    team: str = ""
    threshold_days: int = 28
    backlog: Backlog | None = None
    cases: list[Escalated] = field(default_factory=list)

    @property
    def case_refs(self) -> list[str]:
        return sorted({c.item.ref for c in self.cases})


DigestContext = OfficerDigest | TeamDigest | ForceDigest | EscalationDigest


def _refs(*groups: Iterable[Item | Unlocated]) -> list[str]:
    return sorted({x.ref for group in groups for x in group})


# --------------------------------------------------------------------------- planning


@dataclass
class Plan:
    """One message to be: its context, recipient row, and why it may not be sent (if so)."""

    context: DigestContext
    officer: Officer | None
    problem: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.context.kind, self.context.recipient.officer_id, self.context.period)


@dataclass
class Plans:
    plans: list[Plan] = field(default_factory=list)
    skipped_empty: int = 0
    no_recipient: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, scope, reason)


def scan_policy(config: Config) -> Policy:
    """The policy to scan with: the due-soon window wide enough for the officer digest."""
    wide = max(config.policy.due_soon_days, config.digest.officer_due_soon_days)
    return dataclasses.replace(config.policy, due_soon_days=wide)


def _recipient(officer: Officer | None, officer_id: str) -> Recipient:
    if officer is None:
        return Recipient(officer_id=officer_id, name=officer_id, email="")
    return Recipient(officer_id=officer.officer_id, name=officer.name or officer.officer_id, email=officer.email)


def build_plans(
    session: Session,
    config: Config,
    kinds: Sequence[str],
    as_of: date,
    *,
    obligations: Obligations | None = None,
) -> Plans:
    """Scan once for the whole force and cut the result into one context per message."""
    if obligations is None:
        from monitor.rules.scan import scan

        obligations = scan(session, scan_policy(config), as_of)
    officers = {o.officer_id: o for o in session.scalars(select(Officer))}
    builder = _Builder(config, as_of, obligations, officers, obligations.caseload)
    out = Plans()
    for kind in kinds:
        if kind == "officer":
            builder.officer_plans(out)
        elif kind == "team":
            builder.team_plans(out, _week_change(session, as_of))
        elif kind == "force":
            builder.force_plans(out, *_trends(session, as_of, obligations.summary.overdue_visits))
        elif kind == "escalation":
            builder.escalation_plans(out)
        else:
            raise ValueError(f"unknown digest kind {kind!r}")
    return out


def _week_change(session: Session, as_of: date) -> dict[str, tuple[date, int]]:
    """Per team: the latest snapshot 7 to 7 + slack days before ``as_of`` and its figure."""
    end = as_of - timedelta(days=7)
    totals = team_totals(session, start=end - timedelta(days=SNAPSHOT_SLACK_DAYS), end=end)
    out: dict[str, tuple[date, int]] = {}
    for day in sorted(totals):
        for team, n in totals[day].items():
            out[team] = (day, n)  # later days overwrite earlier ones
    return out


def _trends(session: Session, as_of: date, current: int) -> tuple[list[TrendPoint], list[TrendPoint]]:
    """Weekly points for the last weeks and month-end points for the last months."""
    first_month = add_months(date(as_of.year, as_of.month, 1), -(TREND_MONTHS - 1))
    series = dict(backlog_series(session, end=as_of, days=(as_of - first_month).days + 1))
    days = sorted(series)

    def latest_between(start: date, end: date) -> tuple[date | None, int | None]:
        found = [d for d in days if start <= d <= end]
        return (found[-1], series[found[-1]]) if found else (None, None)

    weekly: list[TrendPoint] = []
    for k in range(TREND_WEEKS - 1, -1, -1):
        end = as_of - timedelta(days=7 * k)
        if k == 0:
            weekly.append(TrendPoint("now", as_of, current))
            continue
        on, value = latest_between(end - timedelta(days=6), end)
        weekly.append(TrendPoint(f"{k} week{'s' if k > 1 else ''} ago", on, value))
    monthly: list[TrendPoint] = []
    for k in range(TREND_MONTHS - 1, -1, -1):
        start = add_months(date(as_of.year, as_of.month, 1), -k)
        end = min(add_months(start, 1) - timedelta(days=1), as_of)
        on, value = latest_between(start, end)
        monthly.append(TrendPoint(start.strftime("%b %Y"), on, value))
    return weekly, monthly


_Scope = tuple[str, ...]  # () = whole force, ("om", id), ("team", code), ("team_om", code, id)


class _Builder:
    """Groups one force-wide scan by officer and team; never rescans.

    Every list of the scan is grouped once by offender manager, team, and (team, officer),
    keeping contract order (worst first), so building N digests costs one pass over the
    items, not N passes: a national register has thousands of officers.
    """

    def __init__(
        self,
        config: Config,
        as_of: date,
        obligations: Obligations,
        officers: dict[str, Officer],
        caseload: dict[tuple[str, str, str], int],
    ) -> None:
        self.config = config
        self.as_of = as_of
        self.ob = obligations
        self.officers = officers
        self.flag = config.policy.failed_attempts_flag
        self.include_names = config.policy.include_names
        lists: dict[str, Sequence[Item | Unlocated]] = {
            "overdue": obligations.overdue_visits,
            "due_soon": [i for i in obligations.due_soon if -i.days_overdue <= config.policy.due_soon_days],
            "due_soon_officer": [
                i for i in obligations.due_soon if -i.days_overdue <= config.digest.officer_due_soon_days
            ],
            "reviews": obligations.overdue_risk_reviews,
            "notifications": obligations.overdue_notifications,
            "unlocated": obligations.whereabouts_unknown,
        }
        self.groups: dict[str, dict[_Scope, list[Any]]] = {}
        for name, items in lists.items():
            grouped: dict[_Scope, list[Any]] = defaultdict(list)
            for x in items:
                grouped[()].append(x)
                grouped[("om", x.offender_manager)].append(x)
                grouped[("team", x.team)].append(x)
                grouped[("team_om", x.team, x.offender_manager)].append(x)
            self.groups[name] = grouped
        self.caseload: Counter[_Scope] = Counter()
        for (team, _risk, om), n in caseload.items():
            scopes: tuple[_Scope, ...] = ((), ("om", om), ("team", team), ("team_om", team, om))
            for each in scopes:
                self.caseload[each] += n
        self.team_oms: dict[str, set[str]] = defaultdict(set)
        for key in [*self.caseload, *(k for g in self.groups.values() for k in g)]:
            if len(key) == 3:
                self.team_oms[key[1]].add(key[2])
        self.teams = sorted(
            {team for (team, _r, _o) in caseload}
            | {scope[1] for g in self.groups.values() for scope in g if scope and scope[0] == "team"}
        )

    # -- helpers
    def get(self, name: str, scope: _Scope) -> list[Any]:
        return self.groups[name].get(scope, [])

    def _common(self, kind: str, recipient: Recipient) -> dict[str, Any]:
        due_soon_days = (
            self.config.digest.officer_due_soon_days if kind == "officer" else self.config.policy.due_soon_days
        )
        return {
            "due_soon_days": due_soon_days,
            "kind": kind,
            "period": period_key(kind, self.as_of),
            "as_of": self.as_of,
            "recipient": recipient,
            "marking": self.config.mail.marking,
            "include_names": self.include_names,
            "failed_attempts_flag": self.flag,
        }

    def _backlog(self, scope: _Scope, due_soon: str = "due_soon") -> Backlog:
        return Backlog.of(
            caseload=self.caseload[scope],
            overdue=self.get("overdue", scope),
            due_soon=self.get(due_soon, scope),
            reviews=self.get("reviews", scope),
            notifications=self.get("notifications", scope),
            unlocated=self.get("unlocated", scope),
            flag=self.flag,
        )

    def _add(self, out: Plans, context: DigestContext, officer: Officer | None) -> None:
        if context.is_empty:
            if not self.config.digest.all_clear or context.kind == "escalation":
                out.skipped_empty += 1
                return
            context = dataclasses.replace(context, all_clear=True)
        problem = recipient_problem(officer, ROLE_FOR_KIND[context.kind], self.config)
        out.plans.append(Plan(context=context, officer=officer, problem=problem))

    def _active(self, role: str, team: str | None = None) -> list[Officer]:
        return sorted(
            (o for o in self.officers.values() if o.active and o.role == role and (team is None or o.team == team)),
            key=lambda o: o.officer_id,
        )

    def _unmailable(self, team: str | None) -> list[Unmailable]:
        """Offender managers holding cases (in ``team``, or anywhere) who cannot be mailed."""
        if team is None:
            scopes = [s for s in self.caseload if s and s[0] == "om"]
        else:
            scopes = [s for s in self.caseload if s and s[0] == "team_om" and s[1] == team]
        out = []
        for scope in sorted(scopes):
            om = scope[-1]
            reason = recipient_problem(self.officers.get(om), "offender_manager", self.config)
            if reason is None:
                continue
            names = ("overdue", "due_soon_officer", "reviews", "notifications", "unlocated")
            refs = _refs(*(self.get(name, scope) for name in names))
            out.append(Unmailable(officer_id=om, reason=reason, caseload=self.caseload[scope], refs=refs))
        return out

    # -- kinds
    def officer_plans(self, out: Plans) -> None:
        ids = {scope[1] for g in self.groups.values() for scope in g if scope and scope[0] == "om"}
        ids -= {om for om in ids if not self._officer_has_work(om)}
        ids |= {o.officer_id for o in self._active("offender_manager")}  # counted as skipped when empty
        for om in sorted(ids):
            officer = self.officers.get(om)
            scope: _Scope = ("om", om)
            overdue = self.get("overdue", scope)
            due_soon = self.get("due_soon_officer", scope)
            context = OfficerDigest(
                **self._common("officer", _recipient(officer, om)),
                team=officer.team if officer is not None else "",
                backlog=self._backlog(scope, due_soon="due_soon_officer"),
                overdue_visits=overdue,
                due_soon=due_soon,
                overdue_risk_reviews=self.get("reviews", scope),
                overdue_notifications=self.get("notifications", scope),
                warrant_flags=warrant_flagged((*overdue, *due_soon), self.flag),
                whereabouts_unknown=self.get("unlocated", scope),
            )
            self._add(out, context, officer)

    def _officer_has_work(self, om: str) -> bool:
        names = ("overdue", "due_soon_officer", "reviews", "notifications", "unlocated")
        return any(self.get(name, ("om", om)) for name in names)

    def _team_data(self, team: str) -> dict[str, Any]:
        scope: _Scope = ("team", team)
        rows = []
        for om in sorted(self.team_oms.get(team, ())):
            b = self._backlog(("team_om", team, om))
            officer = self.officers.get(om)
            rows.append(
                OfficerRow(
                    officer_id=om,
                    name=officer.name if officer is not None else "(not in directory)",
                    caseload=b.caseload,
                    overdue_visits=b.overdue_visits,
                    by_risk=b.by_risk,
                    most_overdue_days=b.most_overdue_days,
                    due_soon=b.due_soon,
                    overdue_risk_reviews=b.overdue_risk_reviews,
                    overdue_notifications=b.overdue_notifications,
                    warrant_flags=b.warrant_flags,
                    mail_problem=recipient_problem(officer, "offender_manager", self.config),
                )
            )
        rows.sort(key=lambda r: (-r.overdue_visits, -(r.most_overdue_days or 0), r.officer_id))
        return {
            "team": team,
            "backlog": self._backlog(scope),
            "officers": rows,
            "overdue_visits": self.get("overdue", scope),
            "overdue_risk_reviews": self.get("reviews", scope),
            "overdue_notifications": self.get("notifications", scope),
            "whereabouts_unknown": self.get("unlocated", scope),
            "unmailable": self._unmailable(team),
        }

    def team_plans(self, out: Plans, previous: dict[str, tuple[date, int]]) -> None:
        supervisors_by_team: dict[str, list[Officer]] = defaultdict(list)
        for officer in self._active("supervisor"):
            supervisors_by_team[officer.team].append(officer)
        for team in sorted(set(self.teams) | set(supervisors_by_team)):
            data = self._team_data(team)
            backlog: Backlog = data["backlog"]
            change = None
            if team in previous:
                on, figure = previous[team]
                change = WeekChange(previous_on=on, previous=figure, current=backlog.overdue_visits)
            template = TeamDigest(**self._common("team", Recipient("", "", "")), change=change, **data)
            self._fan_out(out, template, supervisors_by_team.get(team, []), ("team", team, NO_SUPERVISOR))

    def _fan_out(
        self, out: Plans, template: DigestContext, recipients: list[Officer], missing: tuple[str, str, str]
    ) -> None:
        """One context per recipient; a non-empty digest nobody can receive is reported."""
        if not recipients:
            if not template.is_empty:
                out.no_recipient.append(missing)
            return
        for officer in recipients:
            self._add(out, dataclasses.replace(template, recipient=_recipient(officer, officer.officer_id)), officer)

    def force_plans(self, out: Plans, weekly: list[TrendPoint], monthly: list[TrendPoint]) -> None:
        rows = [_team_row(team, self._backlog(("team", team))) for team in self.teams]
        backlog = self._backlog(())
        worst_by_count = sorted(
            (r for r in rows if r.overdue_visits),
            key=lambda r: (-r.overdue_visits, -(r.most_overdue_days or 0), r.team),
        )[:3]
        worst_by_age = sorted(
            (r for r in rows if r.most_overdue_days is not None),
            key=lambda r: (-(r.most_overdue_days or 0), -r.overdue_visits, r.team),
        )[:3]
        template = ForceDigest(
            **self._common("force", Recipient("", "", "")),
            backlog=backlog,
            teams=rows,
            totals=_team_row("All teams", backlog),
            worst_by_count=worst_by_count,
            worst_by_age=worst_by_age,
            weekly_trend=weekly,
            monthly_trend=monthly,
            overdue_visits=list(self.ob.overdue_visits),
            whereabouts_unknown=list(self.ob.whereabouts_unknown),
            unmailable=self._unmailable(None),
        )
        self._fan_out(out, template, self._active("lead"), ("force", "force", "no active lead in the directory"))

    def escalation_plans(self, out: Plans) -> None:
        limit = self.config.digest.escalation_days_overdue
        by_team: dict[str, list[Escalated]] = defaultdict(list)
        for item in self.ob.overdue_visits:
            if item.risk_level == "very_high":
                reason = "very high risk"
            elif item.days_overdue > limit:
                reason = f"over {limit} days overdue"
            else:
                continue
            by_team[item.team].append(Escalated(item=item, reason=reason))
        supervisors_by_team: dict[str, list[Officer]] = defaultdict(list)
        for officer in self._active("supervisor"):
            supervisors_by_team[officer.team].append(officer)
        for team in sorted(by_team):
            template = EscalationDigest(
                **self._common("escalation", Recipient("", "", "")),
                team=team,
                threshold_days=limit,
                backlog=self._backlog(("team", team)),
                cases=by_team[team],
            )
            self._fan_out(out, template, supervisors_by_team.get(team, []), ("escalation", team, NO_SUPERVISOR))


NO_SUPERVISOR = "no active supervisor for the team in the directory"


def _team_row(team: str, b: Backlog) -> TeamRow:
    return TeamRow(
        team=team,
        caseload=b.caseload,
        overdue_visits=b.overdue_visits,
        by_risk=b.by_risk,
        by_age=b.by_age,
        most_overdue_days=b.most_overdue_days,
        most_overdue_ref=b.most_overdue_ref,
        overdue_risk_reviews=b.overdue_risk_reviews,
        overdue_notifications=b.overdue_notifications,
        whereabouts_unknown=b.whereabouts_unknown,
    )


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_names(context: DigestContext) -> tuple[str, str, str]:
    """(subject, text, html) template names; all-clear messages share one set per kind."""
    base = f"email/{context.kind}"
    if context.all_clear:
        base = "email/all_clear"
    return f"{base}_subject.txt", f"{base}.txt", f"{base}.html"


def render_digest(context: DigestContext, config: Config) -> Rendered:
    """Subject, plain text and email-safe HTML (CSS inlined) for one context."""
    variables: dict[str, Any] = {
        "d": context,
        "marking": config.mail.marking,
        "case_url": config.mail.case_url,
        "include_names": config.policy.include_names,
        "risks": RISKS,
        "age_bands": AGE_BANDS,
    }
    subject_name, text_name, html_name = template_names(context)
    return Rendered(
        subject=render.render_subject(subject_name, **variables),
        text=render.render_text(text_name, **variables),
        html=render.inline_css(render.render_html(html_name, **variables)),
    )


def build_digest_message(context: DigestContext, config: Config) -> tuple[EmailMessage, Rendered]:
    rendered = render_digest(context, config)
    message = build_message(
        config,
        to_email=context.recipient.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=new_message_id(config),
    )
    return message, rendered


# --------------------------------------------------------------------------- queueing


@dataclass
class QueuedMessage:
    kind: str
    recipient: str
    period: str
    message_id: str
    case_count: int


@dataclass
class DigestRun:
    """What one ``queue_digests`` call did. ``ok`` is False only when a message could not
    be built; blocked recipients are reported (and logged as disclosures) but are the
    allow-list doing its job, not a failure of the run."""

    as_of: date
    kinds: tuple[str, ...]
    queued: int = 0
    already_queued: int = 0
    skipped_empty: int = 0
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (officer_id, reason)
    blocked_detail: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, officer_id, reason)
    no_recipient: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, scope, reason)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, officer_id, reason)
    messages: list[QueuedMessage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "already_queued": self.already_queued,
            "skipped_empty": self.skipped_empty,
            "blocked": len(self.blocked_detail),
            "no_recipient": len(self.no_recipient),
            "errors": len(self.errors),
        }


def _existing_keys(session: Session, periods: Iterable[str]) -> set[tuple[str, str, str]]:
    stmt = select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.period).where(
        OutboxMessage.period.in_(sorted(set(periods)))
    )
    return {(k, r, p) for k, r, p in session.execute(stmt)}


#: Messages rendered and queued per transaction by queue_digests.
QUEUE_CHUNK = 200


def _record_blocked(session: Session, run: DigestRun, plan: Plan, now: datetime) -> None:
    """A recipient the allow-list refuses: not queued, but logged as a disclosure attempt."""
    from monitor.mail import outbox

    ctx = plan.context
    reason = plan.problem or "blocked"
    outbox.record_disclosure(
        session,
        kind=ctx.kind,
        recipient=ctx.recipient.officer_id,
        email=plan.officer.email if plan.officer is not None else "",
        case_refs=ctx.case_refs,
        message_id="",
        transport="none",
        outcome="blocked",
        relay_reply=reason,
        at=now,
    )
    run.blocked_detail.append((ctx.kind, ctx.recipient.officer_id, reason))
    if (ctx.recipient.officer_id, reason) not in run.blocked:
        run.blocked.append((ctx.recipient.officer_id, reason))


def _enqueue(session: Session, run: DigestRun, plan: Plan, message: EmailMessage, now: datetime) -> None:
    from monitor.mail import outbox

    ctx = plan.context
    row = outbox.enqueue(
        session,
        kind=ctx.kind,
        recipient=ctx.recipient.officer_id,
        email=ctx.recipient.email,
        period=ctx.period,
        message=message,
        case_refs=ctx.case_refs,
        now=now,
    )
    if row is None:  # another process queued it since we looked
        run.already_queued += 1
        return
    run.queued += 1
    run.messages.append(
        QueuedMessage(ctx.kind, ctx.recipient.officer_id, ctx.period, str(message["Message-ID"]), len(ctx.case_refs))
    )


def queue_digests(engine: Engine, config: Config, kind: str, as_of: date) -> DigestRun:
    """Compute, render and queue the ``kind`` digests (or ``all``) for ``as_of``.

    One scan for the whole force; messages already queued for their period are skipped
    before rendering; blocked recipients are not queued but logged as ``blocked``
    disclosures. Rendering happens outside any write transaction, QUEUE_CHUNK at a time.
    """
    kinds = kinds_for(kind)
    run = DigestRun(as_of=as_of, kinds=kinds)
    with reading(engine) as session:
        plans = build_plans(session, config, kinds, as_of)
        existing = _existing_keys(session, (period_key(k, as_of) for k in kinds))
    run.skipped_empty = plans.skipped_empty
    run.no_recipient = list(plans.no_recipient)

    to_block = [p for p in plans.plans if p.key not in existing and p.problem is not None]
    to_render = [p for p in plans.plans if p.key not in existing and p.problem is None]
    run.already_queued += len(plans.plans) - len(to_block) - len(to_render)

    now = now_utc()
    if to_block:
        with transaction(engine) as session:
            for plan in to_block:
                _record_blocked(session, run, plan, now)
    # Render and queue in chunks: memory stays bounded at national scale, and the write
    # lock (SQLite) is held only while a chunk is inserted, never while rendering. A crash
    # between chunks is harmless: the (kind, recipient, period) key makes a re-run queue
    # exactly the rest.
    for start in range(0, len(to_render), QUEUE_CHUNK):
        rendered: list[tuple[Plan, EmailMessage]] = []
        for plan in to_render[start : start + QUEUE_CHUNK]:
            try:
                message, _ = build_digest_message(plan.context, config)
            except ValueError as exc:
                run.errors.append((plan.context.kind, plan.context.recipient.officer_id, str(exc)))
                continue
            rendered.append((plan, message))
        with transaction(engine) as session:
            for plan, message in rendered:
                _enqueue(session, run, plan, message, now)
    return run


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")


def preview_digests(engine: Engine, config: Config, kind: str, as_of: date, out_dir: Path) -> list[Path]:
    """Write each message that would be queued as ``.eml`` and ``.html`` into ``out_dir``.

    Sends nothing, queues nothing, logs no disclosure: the files stay on this machine.
    Blocked recipients are not previewed (their message would never exist).
    """
    kinds = kinds_for(kind)
    with reading(engine) as session:
        plans = build_plans(session, config, kinds, as_of)
    private_mkdir(out_dir)  # previews are sensitive: 0700 folder, 0600 files
    written: list[Path] = []
    for plan in plans.plans:
        if plan.problem is not None:
            continue
        ctx = plan.context
        message, rendered = build_digest_message(ctx, config)
        stem = _UNSAFE_FILENAME.sub("_", f"{ctx.kind}-{ctx.recipient.officer_id}-{ctx.period}")
        eml = out_dir / f"{stem}.eml"
        html = out_dir / f"{stem}.html"
        write_private(eml, message.as_bytes())
        write_private(html, rendered.html)
        written.extend([eml, html])
    return written
