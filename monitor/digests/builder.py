"""Cutting one force-wide scan into one context per message: the digests of each kind.

:class:`Builder` groups every list of the scan once by offender manager, team, and (team,
offender manager), keeping contract order (worst first), and fills each kind's contexts from
those groups: a national register has thousands of officers, so N digests cost one pass
over the items, not N. Each :class:`Plan` also says whether its recipient may be mailed
(``recipient_problem``), so queueing and previewing decide alike without rendering first.
A team, escalation or force digest no recipient of its own may receive goes to the force
lead(s) or, failing that, is recorded as unroutable (:mod:`monitor.digests.routing`).
The run around it (one scan, one plan, the kinds asked for) is :mod:`monitor.digests.build`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.digests.contexts import (
    Backlog,
    DigestContext,
    Escalated,
    EscalationDigest,
    ForceDigest,
    OfficerDigest,
    OfficerRow,
    Recipient,
    SupervisorGap,
    TeamDigest,
    TeamRow,
    TrendPoint,
    Unmailable,
    WeekChange,
    period_key,
    refs_of,
)
from monitor.digests.planned import Planning
from monitor.digests.plans import Plan, Plans
from monitor.digests.practice import TeamPractice, force_practice, officer_practice, team_practice
from monitor.digests.routing import Unroutable, mailable_leads, rerouted, supervisor_gap
from monitor.digests.scopes import Scope, group, scopes_of
from monitor.mail.recipients import ROLE_FOR_KIND, recipient_problem
from monitor.register.models import Officer
from monitor.reports.governance import Governance
from monitor.rules.obligations import Obligations
from monitor.rules.tallies import warrant_flagged

if TYPE_CHECKING:
    from monitor.core.config import Config


def _recipient(officer: Officer | None, officer_id: str) -> Recipient:
    if officer is None:
        return Recipient(officer_id=officer_id, name=officer_id, email="")
    return Recipient(officer_id=officer.officer_id, name=officer.name or officer.officer_id, email=officer.email)


class Builder:
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
        lists: dict[str, Sequence[Any]] = {
            "overdue": obligations.overdue_visits,
            "due_soon": [i for i in obligations.due_soon if -i.days_overdue <= config.policy.due_soon_days],
            "due_soon_officer": [
                i for i in obligations.due_soon if -i.days_overdue <= config.digest.officer_due_soon_days
            ],
            "reviews": obligations.overdue_risk_reviews,
            "notifications": obligations.overdue_notifications,
            "unlocated": obligations.whereabouts_unknown,
            "absent": obligations.not_in_extract,
            "reactive_high": obligations.reactive_high_risk,
            # The practice measures' lists (empty when they are off).
            "lone": obligations.lone_visits,
            "predictable": obligations.predictable_visits,
            "supervision": obligations.overdue_supervisor_reviews,
            "long_plans": obligations.long_plan_intervals,
        }
        self.groups = {name: group(items) for name, items in lists.items()}
        self.caseload: Counter[Scope] = Counter()
        for (team, _risk, om), n in caseload.items():
            for each in scopes_of(team, om):
                self.caseload[each] += n
        self.team_oms: dict[str, set[str]] = defaultdict(set)
        for key in [*self.caseload, *(k for g in self.groups.values() for k in g)]:
            if len(key) == 3:
                self.team_oms[key[1]].add(key[2])
        self.teams = sorted(
            {team for (team, _r, _o) in caseload}
            | {scope[1] for g in self.groups.values() for scope in g if scope and scope[0] == "team"}
        )
        self._problems: dict[tuple[str, str], str | None] = {}
        #: The run's plan and forecast (monitor.digests.planned), when a kind shows them.
        self.planning: Planning | None = None
        self.supervisors: dict[str, list[Officer]] = defaultdict(list)
        for officer in self._active("supervisor"):
            self.supervisors[officer.team].append(officer)
        self.gaps = {t: gap for t in self.teams if (gap := supervisor_gap(t, self.supervisors.get(t, []), config))}

    # -- helpers
    def get(self, name: str, scope: Scope) -> list[Any]:
        return self.groups[name].get(scope, [])

    def problem(self, officer_id: str, role: str) -> str | None:
        """``recipient_problem`` for a directory officer, asked once per (officer, role) per run."""
        key = (officer_id, role)
        if key not in self._problems:
            self._problems[key] = recipient_problem(self.officers.get(officer_id), role, self.config)
        return self._problems[key]

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

    def _backlog(self, scope: Scope, due_soon: str = "due_soon") -> Backlog:
        return Backlog.of(
            caseload=self.caseload[scope],
            overdue=self.get("overdue", scope),
            due_soon=self.get(due_soon, scope),
            reviews=len(self.get("reviews", scope)),
            notifications=len(self.get("notifications", scope)),
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
        scopes: list[Scope]
        if team is None:
            scopes = [s for s in self.caseload if s and s[0] == "om"]
        else:
            scopes = [
                ("team_om", team, om) for om in self.team_oms.get(team, ()) if ("team_om", team, om) in self.caseload
            ]
        out = []
        for scope in sorted(scopes):
            om = scope[-1]
            reason = self.problem(om, "offender_manager")
            if reason is None:
                continue
            names = ("overdue", "due_soon_officer", "reviews", "notifications", "unlocated")
            refs = refs_of(*(self.get(name, scope) for name in names))
            out.append(Unmailable(officer_id=om, reason=reason, caseload=self.caseload[scope], refs=refs))
        return out

    # -- kinds
    def officer_plans(self, out: Plans) -> None:
        ids = {scope[1] for g in self.groups.values() for scope in g if scope and scope[0] == "om"}
        ids -= {om for om in ids if not self._officer_has_work(om)}
        ids |= {o.officer_id for o in self._active("offender_manager")}  # counted as skipped when empty
        for om in sorted(ids):
            officer = self.officers.get(om)
            scope: Scope = ("om", om)
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
                week=self.planning.officer_week(om) if self.planning is not None else None,
            )
            self._add(out, context, officer)

    def _officer_has_work(self, om: str) -> bool:
        names = ("overdue", "due_soon_officer", "reviews", "notifications", "unlocated")
        return any(self.get(name, ("om", om)) for name in names)

    def _team_data(self, team: str) -> dict[str, Any]:
        scope: Scope = ("team", team)
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
                    mail_problem=self.problem(om, "offender_manager"),
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
            "not_in_extract": self.get("absent", scope),
            "reactive_high_risk": self.get("reactive_high", scope),
            "unmailable": self._unmailable(team),
            "practice": self._team_practice(team),
            "plan": self.planning.team_plan(team) if self.planning is not None else None,
        }

    def _team_practice(self, team: str) -> TeamPractice | None:
        p = self.ob.practice
        if p is None:
            return None
        oms = sorted(self.team_oms.get(team, ()))
        officers = [officer_practice(p, om, self.caseload[("om", om)]) for om in oms]
        names = ("lone", "predictable", "supervision", "long_plans")
        return team_practice(p, officers, team, {name: self.get(name, ("team", team)) for name in names})

    def team_plans(self, out: Plans, previous: dict[str, tuple[date, int]]) -> None:
        for team in sorted(set(self.teams) | set(self.supervisors)):
            data = self._team_data(team)
            backlog: Backlog = data["backlog"]
            change = None
            if team in previous:
                on, figure = previous[team]
                change = WeekChange(previous_on=on, previous=figure, current=backlog.overdue_visits)
            template = TeamDigest(**self._common("team", Recipient("", "", "")), change=change, **data)
            self._fan_out(out, template, self.supervisors.get(team, []), team, self.gaps.get(team))

    def _fan_out(
        self, out: Plans, template: DigestContext, recipients: list[Officer], scope: str, gap: str | None
    ) -> None:
        """One context per recipient; a non-empty digest none of them can receive goes to the leads."""
        for officer in recipients:
            self._add(out, dataclasses.replace(template, recipient=_recipient(officer, officer.officer_id)), officer)
        if gap is None or template.is_empty:
            return
        out.no_recipient.append((template.kind, scope, gap))
        leads = mailable_leads(self._active("lead"), self.config) if template.kind != "force" else []
        if not leads:
            why = f"{gap}; no mailable force lead to send it to" if template.kind != "force" else gap
            out.unroutable.append(Unroutable(template.kind, scope, why, template.case_refs))
            return
        for lead in leads:
            out.plans.append(Plan(context=rerouted(template, lead, gap), officer=lead, problem=None, scope=scope))
        out.unrouted.append((template.kind, scope, [lead.officer_id for lead in leads], gap))

    def force_plans(
        self, out: Plans, weekly: list[TrendPoint], monthly: list[TrendPoint], view: Governance | None = None
    ) -> None:
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
        limit = self.config.digest.force_list_limit
        template = ForceDigest(
            **self._common("force", Recipient("", "", "")),
            backlog=backlog,
            teams=rows,
            totals=_team_row("All teams", backlog),
            worst_by_count=worst_by_count,
            worst_by_age=worst_by_age,
            weekly_trend=weekly,
            monthly_trend=monthly,
            # The force-wide lists are capped (worst first) so the message can be delivered:
            # listing every case made it 9 MB at 100,000 people and 27 MB at 300,000, over
            # Graph sendMail's 4 MB and Exchange Online's default 25 MB. Each case is still in
            # its team's digest, on the force page and in `report`; the backlog counts them all.
            overdue_visits=self.ob.overdue_visits[:limit],
            whereabouts_unknown=self.ob.whereabouts_unknown[:limit],
            unmailable=self._unmailable(None),
            supervisor_gaps=[SupervisorGap(team, self.gaps[team]) for team in sorted(self.gaps)],
            governance=view,
            practice=force_practice(self.ob) if self.ob.practice is not None else None,
            forecast=self.planning.force_forecast() if self.planning is not None else None,
        )
        leads = self._active("lead")
        gap = None if mailable_leads(leads, self.config) else "no mailable force lead in the directory"
        self._fan_out(out, template, leads, "force", gap)

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
        for team in sorted(by_team):
            template = EscalationDigest(
                **self._common("escalation", Recipient("", "", "")),
                team=team,
                threshold_days=limit,
                backlog=self._backlog(("team", team)),
                cases=by_team[team],
            )
            self._fan_out(out, template, self.supervisors.get(team, []), team, self.gaps.get(team))


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
