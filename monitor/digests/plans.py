"""What a digest run will queue: one plan per message, and what could not be planned.

Why a module of its own: ``build`` makes these from one scan, ``queue`` writes them to the
outbox and ``preview`` to files, and the daemon's job counts read them; none of those needs
the builder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.digests.contexts import DigestContext
from monitor.digests.routing import Unroutable, routed_period
from monitor.register.models import Officer


@dataclass
class Plan:
    """One message to be: its context, recipient row, and why it may not be sent (if so)."""

    context: DigestContext
    officer: Officer | None
    problem: str | None
    #: The team a re-routed digest is for ("" when it goes to its own recipient).
    scope: str = ""

    @property
    def period(self) -> str:
        """The outbox period: the context's, plus the team for a digest re-routed to a lead."""
        return routed_period(self.context.period, self.scope)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.context.kind, self.context.recipient.officer_id, self.period)


@dataclass
class Plans:
    plans: list[Plan] = field(default_factory=list)
    skipped_empty: int = 0
    no_recipient: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, scope, reason)
    unrouted: list[tuple[str, str, list[str], str]] = field(default_factory=list)  # (kind, scope, leads, reason)
    unroutable: list[Unroutable] = field(default_factory=list)
