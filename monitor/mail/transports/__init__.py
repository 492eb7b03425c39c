"""Interchangeable ways to hand a message over, behind one interface (:mod:`.base`).

``[mail] transport`` picks one: ``smtp`` (:mod:`.smtp`, the force's relay, by password or
OAuth 2.0), ``graph`` (:mod:`.graph`, Microsoft Graph sendMail) or ``maildir``
(:mod:`.maildir`, .eml files for demos and air gaps). :mod:`.tokens` gets the OAuth 2.0
tokens the first two may need. Adding a transport means a module
here and one line in :func:`make_transport`; delivery does not change.
"""

from __future__ import annotations

from monitor.core.config import Config
from monitor.mail.transports.base import Transport
from monitor.mail.transports.graph import GraphTransport
from monitor.mail.transports.maildir import MaildirTransport
from monitor.mail.transports.smtp import SmtpTransport


def make_transport(config: Config) -> Transport:
    """The transport ``[mail] transport`` names, constructed without any I/O."""
    if config.mail.transport == "smtp":
        return SmtpTransport(config)
    if config.mail.transport == "graph":
        return GraphTransport(config)
    return MaildirTransport(config.mail.maildir)
