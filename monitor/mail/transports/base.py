"""The one interface every mail transport meets, and the kinds of failure it may report.

Delivery (:mod:`monitor.mail.delivery`) owns everything that is about the outbox: claims,
the recipient re-check, retries with backoff, dead letters and the disclosure log. It
decides what a failure means from its *class* alone, so a transport only has to turn its
own errors (SMTP replies, HTTP statuses, socket errors) into these kinds and never touches
the database. A new transport (Microsoft Graph, SMTP with OAuth2) is a class with
:meth:`Transport.open`, :meth:`Transport.send` and :meth:`Transport.close`.

The life of a transport in one delivery run:

1. constructed from the configuration (no I/O: an empty outbox contacts nobody);
2. :meth:`~Transport.open` once, just before the first message that passed its checks;
3. :meth:`~Transport.send` once per message, each to exactly one recipient;
4. :meth:`~Transport.close` at the end of the run, whatever happened (also when never opened).

Every ``reason`` is stored in the outbox and the disclosure log, so it must hold no
message content and no secret: a reply code and text, an error class, a folder name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Outgoing:
    """What a transport gets of one queued message: the stored bytes and their one recipient.

    ``content`` is the complete RFC 5322 message as queued; it is sent unchanged (same
    Message-ID on every attempt), so a resend after an unknown outcome is recognisable.
    """

    outbox_id: int
    to: str
    message_id: str
    content: bytes


class SendError(Exception):
    """Base of the failure kinds: ``reason`` is safe to store in the outbox and disclosure log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StopBatch(SendError):
    """Stop the whole batch, *without* spending an attempt on any message.

    For problems with the relay or our configuration rather than one message: an
    untrusted certificate, TLS failure, a refused login, a relay refusing our sender,
    plaintext to a remote host. Nothing more is offered this run; the claimed messages go
    back to pending untouched, and nothing is written to the disclosure log.
    """


class TransientFailure(SendError):
    """Temporary, for this message: retry later with backoff (the attempt counts)."""


class Unreachable(TransientFailure):
    """The far end could not be reached at all: nothing of the message was handed over.

    No connection (refused, name not resolved, timed out before the greeting), a 4xx
    greeting, a folder that cannot be written. Temporary, and every other message of the
    run would fail the same way, so delivery stops the run *without spending an attempt*
    on any message and without a disclosure row: an outage never dead-letters mail. May
    be raised by :meth:`Transport.open` or, when a session must be re-established, by
    :meth:`Transport.send` (only before any of the message went).
    """


class PermanentFailure(SendError):
    """Refused for good, for this message (e.g. a 5xx at RCPT or DATA): dead letter at once."""


class UnknownOutcome(SendError):
    """The message may or may not have arrived (connection lost after the payload went).

    Delivery resends the same bytes at the next run (at-least-once).
    """


class Transport(ABC):
    """Opens a session for a batch, sends one message at a time, closes.

    ``send`` returns the far end's acceptance as log-safe text (e.g. ``250 2.0.0 queued``)
    and raises only :class:`SendError` kinds for anything the run should handle; any other
    exception is a bug and aborts the run.
    """

    #: Recorded with every disclosure, e.g. ``smtp``, ``maildir``.
    name: ClassVar[str]

    def open(self) -> None:  # noqa: B027 - a transport without a session keeps the no-op
        """Start the session for this batch; raise :class:`StopBatch` or :class:`Unreachable`."""

    @abstractmethod
    def send(self, message: Outgoing) -> str:
        """Hand over one message to its one recipient; the acceptance as log-safe text."""

    def close(self) -> None:  # noqa: B027 - a transport without a session keeps the no-op
        """End the session. Never raises; safe to call when :meth:`open` never ran or failed."""
