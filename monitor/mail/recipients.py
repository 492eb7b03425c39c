"""Who may receive a digest: the misdirection guard.

Misdirected email is the most common reported data breach, so a recipient must be an
officer in the directory (never an address from anywhere else), active, in the role the
digest is for, and at an address in an allowed domain. The digest step checks before
queueing and delivery checks again at send time with this same function
(:func:`stored_message_problem`, which also checks the stored bytes), so a directory
change between the two (an officer deactivated mid-week) still stops the message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from monitor.mail.messages import addressing_problem
from monitor.register.models import Officer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.core.config import Config
    from monitor.register.models import OutboxMessage

# A plain addr-spec only: no display name, no comments, no quoting, no whitespace.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def address_problem(address: str | None, allowed_domains: tuple[str, ...] | list[str]) -> str | None:
    """Why ``address`` may not be mailed, or None. Domains match exactly or as a subdomain."""
    if not address or not address.strip():
        return "no email address"
    if any(c in address for c in "\r\n\x00"):
        return "email address contains a line break"
    if address != address.strip() or any(c.isspace() for c in address):
        return "email address is not a plain address (contains spaces)"
    if any(c in address for c in '<>()",;:[]\\'):
        return "email address is not a plain address (display name, comment or list)"
    if address.count("@") != 1:
        return "email address must contain exactly one @"
    local, domain = address.split("@")
    if not local or not _LOCAL.match(local) or len(local) > 64:
        return "email address has an invalid local part"
    domain = domain.lower()
    if not _DOMAIN.match(domain) or len(domain) > 253:
        return "email address has an invalid domain"
    for allowed in allowed_domains:
        allowed = allowed.lower().strip(".")
        if domain == allowed or domain.endswith("." + allowed):
            return None
    return f"domain not allowed ({domain})"


#: Which directory role may receive each kind of message (a re-routed digest: ``lead``).
ROLE_FOR_KIND: dict[str, str] = {
    "officer": "offender_manager",
    "team": "supervisor",
    "escalation": "supervisor",
    "force": "lead",
}


def recipient_problem(officer: Officer | None, role: str, config: Config) -> str | None:
    """None when ``officer`` may receive a ``role`` digest, else the reason in words."""
    if officer is None:
        return "not in the officer directory"
    if not officer.active:
        return "inactive"
    if officer.role != role:
        return f"role is {officer.role} not {role}"
    return address_problem(officer.email, config.mail.allowed_domains)


def stored_message_problem(session: Session, message: OutboxMessage, config: Config) -> str | None:
    """Why a queued message may not be sent now, or None: the same rule, again, at send time.

    The recipient must still be allowed (a re-routed digest goes to a lead, whatever its
    kind), at the address it was queued for, and the stored bytes must address exactly them.
    """
    role = "lead" if message.routed_because else ROLE_FOR_KIND.get(message.kind)
    if role is None:
        return f"unknown message kind {message.kind!r}"
    if not message.content:
        return "stored body was erased (mail.keep_sent_days)"
    officer = session.get(Officer, message.recipient)
    problem = recipient_problem(officer, role, config)
    if problem is None and officer is not None and officer.email.lower() != message.email.lower():
        problem = "the officer's address changed since the message was queued"
    return problem or addressing_problem(message.content, message.email)
