"""Routing: nothing is unroutable. Who gets a digest whose own recipient cannot be mailed.

A team or escalation digest belongs to the team's active supervisors. When the team has
none that may be mailed (none in the directory, all inactive, a team code typed
differently in officers.csv, every address refused by the allow-list), the digest goes
to the force lead(s) instead, with a banner saying why ("sent to you because T7 has no
active supervisor in the directory"), and is counted as *unrouted*. When there is no
mailable lead either (or the force digest itself has no mailable lead) the digest is
*unroutable*: the run fails loudly and an ``unrouted`` disclosure row records what could
not be sent. Its own module so the rule lives in one place beside the builder that uses
it (:mod:`monitor.digests.builder`).

A re-routed digest keeps its kind and goes to the lead under the outbox key
(kind, lead, ``<period>/<team>``), so each team's digest is queued once per period even
when one lead receives several.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from monitor.digests.contexts import DigestContext, Recipient, SupervisorGap
from monitor.mail.recipients import recipient_problem

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.register.models import Officer

C = TypeVar("C", bound=DigestContext)

__all__ = ["SupervisorGap", "Unroutable", "mailable_leads", "rerouted", "routed_period", "supervisor_gap"]

#: The outbox period column's width (``OutboxMessage.period``).
PERIOD_WIDTH = 32


@dataclass(frozen=True)
class Unroutable:
    """A digest nobody may receive: no mailable recipient and no mailable force lead."""

    kind: str
    scope: str
    reason: str
    case_refs: list[str]


def supervisor_gap(team: str, supervisors: Iterable[Officer], config: Config) -> str | None:
    """Why ``team``'s digests reach none of its own supervisors, or None when one can be mailed.

    ``supervisors`` are the team's *active* supervisors (same team code, role supervisor).
    """
    problems = []
    for officer in supervisors:
        problem = recipient_problem(officer, "supervisor", config)
        if problem is None:
            return None
        problems.append(f"{officer.officer_id}: {problem}")
    if not problems:
        return f"{team} has no active supervisor in the directory"
    return f"{team} has no mailable supervisor ({'; '.join(problems)})"


def mailable_leads(leads: Iterable[Officer], config: Config) -> list[Officer]:
    """The active leads who may be mailed, in officer-id order."""
    return sorted((o for o in leads if recipient_problem(o, "lead", config) is None), key=lambda o: o.officer_id)


def rerouted(template: C, lead: Officer, reason: str) -> C:
    """``template`` addressed to ``lead``, with the banner reason."""
    recipient = Recipient(officer_id=lead.officer_id, name=lead.name or lead.officer_id, email=lead.email)
    return dataclasses.replace(template, recipient=recipient, routed_because=reason)


def routed_period(period: str, scope: str) -> str:
    """The outbox period of a digest re-routed for ``scope`` (a team): ``2026-W48/T7``.

    A scope too long for the column is replaced by a short stable hash of it.
    """
    if not scope:
        return period
    key = f"{period}/{scope}"
    if len(key) <= PERIOD_WIDTH and key.isprintable():
        return key
    return f"{period}/#{hashlib.sha256(scope.encode('utf-8')).hexdigest()[:12]}"
