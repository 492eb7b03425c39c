"""Server-side sessions: the browser holds an opaque random token, the database holds the rest.

Why not Flask's signed cookie: a signed cookie cannot be ended by the server, so sign-out,
timeouts and a deactivated officer would all wait for the cookie to expire. Here the row
is the session: sign-out deletes it, the idle and absolute timeouts are checked on every
request, and a stolen copy of the table is useless because rows are keyed by the token's
SHA-256, never the token itself.

The cookie is HttpOnly, SameSite=Lax and path /; served over HTTPS it is also Secure and
carries the ``__Host-`` prefix (no Domain, so no sibling host can set or read it). It
has no expiry of its own: the server decides when a session ends. Signing in rotates
the token (no session fixation). Anonymous visitors get no row until something is
stored (the OIDC state, a CSRF token), so a crawler cannot fill the table.

The rows live in the web store (:mod:`monitor.web.store`), so updating one never waits
for an import (on SQLite the register's write lock is the import's while it runs).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, or_, update
from werkzeug.datastructures import CallbackDict

from monitor.core.clock import now_utc
from monitor.register.db import reading, transaction
from monitor.register.models import WebSession
from monitor.web.state import state

COOKIE = "vm_session"
SECURE_COOKIE = "__Host-vm_session"
#: last_seen_at is rewritten at most this often when nothing else changed (fewer writes).
TOUCH_EVERY = timedelta(seconds=30)


def token_id(token: str) -> str:
    """The row key for a browser token (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Flask's ``session``, plus who is signed in and what became of the previous one."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        created_at: datetime | None = None,
        last_seen_at: datetime | None = None,
        officer_id: str | None = None,
        subject: str | None = None,
        email: str | None = None,
        sign_in_id: str | None = None,
        ended_reason: str | None = None,
    ) -> None:
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.token = token
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.officer_id = officer_id
        self.subject = subject
        self.email = email
        #: The provider's id the officer signed in with (None: identity by email).
        self.sign_in_id = sign_in_id
        #: Why the browser's previous session is gone ("idle", "absolute"), for the sign-in page.
        self.ended_reason = ended_reason
        self.modified = False
        self.rotate = False
        self.ended = False

    @property
    def signed_in(self) -> bool:
        return self.officer_id is not None and not self.ended

    def sign_in(self, officer_id: str, subject: str, email: str, sign_in_id: str | None = None) -> None:
        """Bind this browser to an officer under a fresh token; drop anything stored before."""
        self.clear()
        self.officer_id, self.subject, self.email = officer_id, subject, email.lower()
        self.sign_in_id = sign_in_id
        self.rotate = True
        self.modified = True

    def end(self) -> None:
        """Sign out: the row is deleted and the cookie cleared when the response goes."""
        self.ended = True


class DatabaseSessionInterface(SessionInterface):
    def cookie_name(self, app: Flask) -> str:
        return SECURE_COOKIE if state(app).config.web.secure_cookies else COOKIE

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.cookie_name(app))
        if not token or len(token) > 128:
            return ServerSession()
        web = state(app)
        settings = web.config.web
        with reading(web.store) as db:
            row = db.get(WebSession, token_id(token))
            if row is None:
                return ServerSession(ended_reason="gone")
            now = now_utc()
            if now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
                reason = "idle"
            elif now - row.created_at > timedelta(hours=settings.session_absolute_hours):
                reason = "absolute"
            else:
                return ServerSession(
                    dict(row.data or {}),
                    token=token,
                    created_at=row.created_at,
                    last_seen_at=row.last_seen_at,
                    officer_id=row.officer_id,
                    subject=row.subject,
                    email=row.email,
                    sign_in_id=row.sign_in_id,
                )
        with transaction(web.store) as db:
            db.execute(delete(WebSession).where(WebSession.id == token_id(token)))
        return ServerSession(ended_reason=reason)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        web = state(app)
        name = self.cookie_name(app)
        secure = web.config.web.secure_cookies
        now = now_utc()
        if session.ended:
            if session.token:
                with transaction(web.store) as db:
                    db.execute(delete(WebSession).where(WebSession.id == token_id(session.token)))
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
            return
        if session.token is None and not session.modified:
            return  # anonymous and nothing to keep: no row, no cookie
        if session.token is not None and not session.rotate:
            stale = session.last_seen_at is None or now - session.last_seen_at >= TOUCH_EVERY
            if session.modified or stale:
                with transaction(web.store) as db:
                    db.execute(
                        update(WebSession)
                        .where(WebSession.id == token_id(session.token))
                        .values(last_seen_at=now, data=dict(session))
                    )
            return
        old = session.token
        token = secrets.token_urlsafe(32)
        with transaction(web.store) as db:
            if old is not None:
                db.execute(delete(WebSession).where(WebSession.id == token_id(old)))
            if session.rotate:
                purge_expired(db, web.config.web.session_idle_minutes, web.config.web.session_absolute_hours, now)
            db.add(
                WebSession(
                    id=token_id(token),
                    created_at=now,
                    last_seen_at=now,
                    officer_id=session.officer_id,
                    subject=session.subject,
                    email=session.email,
                    sign_in_id=session.sign_in_id,
                    data=dict(session),
                )
            )
        session.token = token
        response.set_cookie(name, token, path="/", secure=secure, httponly=True, samesite="Lax")


def purge_expired(db: Any, idle_minutes: int, absolute_hours: int, now: datetime) -> int:
    """Delete sessions past either timeout (run at each sign-in; cheap on the index)."""
    result = db.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at < now - timedelta(minutes=idle_minutes),
                WebSession.created_at < now - timedelta(hours=absolute_hours),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions_of(db: Any, officer_id: str) -> None:
    """End every session of an officer (used when the register no longer lets them in)."""
    db.execute(delete(WebSession).where(WebSession.officer_id == officer_id))
