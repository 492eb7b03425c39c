"""``/ops`` and ``/access-log`` (lead): is the service working, and who looked at what.

``/ops`` shows the last imports and the latest one's rejected rows (file, line, field,
reason: reasons never carry personal data), the daemon's health and each job's next run
(:func:`monitor.daemon.health.check_health`, the same verdict as ``visit-monitor
health``), the outbox by status, and who did not get their digest and why (blocked or
failed deliveries of the last weeks, by officer id). ``/access-log`` is the s.62 log,
newest first, filterable by officer, action, outcome and dates.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, g, request
from sqlalchemy import func, select

from monitor.core.clock import now_utc
from monitor.daemon.health import check_health
from monitor.register.db import reading
from monitor.register.models import Disclosure, ImportReject, ImportRun, OutboxMessage
from monitor.web.access import rule
from monitor.web.audit import ACTIONS, OUTCOMES, search
from monitor.web.filters import log_query
from monitor.web.pages import render
from monitor.web.state import state

bp = Blueprint("ops", __name__)
IMPORTS_SHOWN = 10
REJECTS_SHOWN = 100
UNDELIVERED_DAYS = 35
OUTBOX_STATUSES: tuple[str, ...] = ("pending", "sending", "sent", "failed", "blocked")


@bp.get("/ops")
@rule("lead")
def ops() -> Response:
    web = state()
    health = check_health(web.engine, web.config, require_daemon=True)
    since = now_utc() - timedelta(days=UNDELIVERED_DAYS)
    with reading(web.engine) as db:
        imports = list(db.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(IMPORTS_SHOWN)))
        latest = imports[0] if imports else None
        rejects = (
            list(
                db.scalars(
                    select(ImportReject)
                    .where(ImportReject.import_id == latest.id)
                    .order_by(ImportReject.id)
                    .limit(REJECTS_SHOWN)
                )
            )
            if latest is not None
            else []
        )
        reject_total = (
            db.scalar(select(func.count()).where(ImportReject.import_id == latest.id)) if latest is not None else 0
        )
        counts = dict(db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        outbox = [(s, int(counts.get(s, 0))) for s in sorted(set(OUTBOX_STATUSES) | set(counts))]
        undelivered = list(
            db.scalars(
                select(Disclosure)
                .where(Disclosure.outcome.in_(("blocked", "failed")), Disclosure.at >= since)
                .order_by(Disclosure.at.desc())
                .limit(200)
            )
        )
        g.audit.cases = 0
        return render(
            "web/ops.html",
            title="Operations",
            db=db,
            imports=imports,
            latest=latest,
            rejects=rejects,
            reject_total=reject_total or 0,
            health=health,
            outbox=outbox,
            undelivered=undelivered,
            undelivered_days=UNDELIVERED_DAYS,
            tz=web.config.tz,
        )


@bp.get("/access-log")
@rule("lead")
def access_log() -> Response:
    web = state()
    query = log_query(request.args)
    with reading(web.store) as log_db:
        rows, more = search(log_db, query, web.config.tz)
    with reading(web.engine) as db:
        g.audit.filters = " ".join(f"{k}={v}" for k, v in sorted(request.args.items()))[:255]
        return render(
            "web/access_log.html",
            title="Access log",
            db=db,
            rows=rows,
            more=more,
            query=query,
            actions=ACTIONS,
            outcomes=OUTCOMES,
            tz=web.config.tz,
        )
