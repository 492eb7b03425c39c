"""What one delivery run did, and how it is told to a person, a job record and a probe.

Kept apart from the run itself (:mod:`monitor.mail.delivery`) because three readers want
only this: the ``deliver`` and ``digest`` commands print it, the daemon's jobs turn it
into counts and a failure line, and tests assert on it. Every line here carries counts,
outbox ids, officer ids and relay reply codes; never an address, a body or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Detail(NamedTuple):
    outbox_id: int
    recipient: str
    reason: str


@dataclass
class DeliveryReport:
    """What one delivery run did.

    ``sent``/``failed``/``blocked`` count outcomes of this run; ``pending`` is how many
    messages are left waiting in the outbox afterwards (retries, backoff, unknown
    outcomes, released claims, other workers' claims). ``unsent`` counts the messages
    *this run* meant to deliver and could not (a retry, an unknown outcome, or not
    attempted because the relay was unreachable or the run stopped), ``unsent_reason``
    says why in one line. ``stopped`` names a relay/TLS/login problem that stopped the
    run, ``unreachable`` a relay that could not be reached (no attempt was spent),
    ``database_error`` a database failure that stopped it.
    """

    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    sent_details: list[Detail] = field(default_factory=list)
    pending_details: list[Detail] = field(default_factory=list)
    failed_details: list[Detail] = field(default_factory=list)
    blocked_details: list[Detail] = field(default_factory=list)
    stopped: str | None = None
    unreachable: str | None = None
    database_error: str | None = None
    unsent: int = 0
    unsent_reason: str | None = None
    #: Messages taken over from a worker that died while handing them over (resent).
    taken_over: int = 0
    #: Messages another live worker was sending when this run ended.
    elsewhere: int = 0
    #: Stored bodies of finished messages erased this run (mail.keep_sent_days).
    purged: int = 0

    @property
    def ok(self) -> bool:
        """Everything this run meant to deliver was delivered (or refused by the allow-list)."""
        return self.failed == 0 and self.stopped is None and self.database_error is None and self.unsent == 0

    def counts(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "pending": self.pending,
            "failed": self.failed,
            "blocked": self.blocked,
            "unsent": self.unsent,
            "taken_over": self.taken_over,
        }

    def problem(self) -> str | None:
        """One line saying what went wrong and why, for an exit message or a failed job."""
        parts = []
        if self.failed:
            parts.append(f"{self.failed} message(s) failed permanently (see `visit-monitor outbox list`)")
        if self.stopped:
            parts.append(f"delivery stopped: {self.stopped} ({self.unsent} message(s) not delivered)")
        elif self.database_error:
            parts.append(f"{self.database_error} ({self.unsent} message(s) not delivered; the next run carries on)")
        elif self.unsent:
            parts.append(f"{self.unsent} message(s) not delivered: {self.unsent_reason or 'see the outbox'}")
        return "; ".join(parts) or None

    def summary_lines(self) -> list[str]:
        """Human summary for the CLI: counts, then one line per problem."""
        lines = [f"sent {self.sent}, pending {self.pending}, failed {self.failed}, blocked {self.blocked}"]
        if self.taken_over:
            lines.append(
                f"took over {self.taken_over} message(s) from a worker that stopped while sending "
                "(sent again with the same Message-ID)"
            )
        if self.elsewhere:
            lines.append(f"{self.elsewhere} message(s) being sent by another worker")
        if self.stopped:
            lines.append(f"STOPPED: {self.stopped}")
        if self.database_error:
            lines.append(f"STOPPED: {self.database_error}")
        if self.unreachable:
            lines.append(
                f"NOT SENT: {self.unreachable}; {self.unsent} message(s) wait for the next run (no attempt used)"
            )
        for label, details in (
            ("failed", self.failed_details),
            ("blocked", self.blocked_details),
            ("retry", self.pending_details),
        ):
            lines.extend(f"  {label}: outbox {d.outbox_id} to {d.recipient}: {d.reason}" for d in details)
        return lines
