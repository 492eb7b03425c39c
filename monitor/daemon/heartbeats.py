"""Heartbeats: how one process tells the others (and ``health``) that it is alive.

Each process upserts its own ``heartbeats`` row every ``daemon.heartbeat_seconds`` and
marks it stopped on a clean exit. A ``running`` job_runs row whose worker's heartbeat is
not fresh may be taken over (:mod:`monitor.daemon.runs`); ``health`` and the metrics
count the fresh ones. Worker ids are ``host:pid:nonce`` (:mod:`monitor.core.workers`), so
on the same host a killed worker is known dead at once (:func:`worker_alive`). Its own
module because those three readers need the freshness rule and nothing else of the daemon.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from monitor import __version__
from monitor.core.clock import now_utc
from monitor.core.workers import make_worker_id, worker_is_gone
from monitor.register.db import transaction
from monitor.register.models import Heartbeat


def beat(engine: Engine, worker: str, *, started_at: datetime, stopped: bool = False) -> None:
    """Upsert this process's heartbeat (only this process writes its row, so no race)."""
    now = now_utc()
    host, pid, _ = worker.rsplit(":", 2)
    with transaction(engine) as session:
        row = session.get(Heartbeat, worker)
        if row is None:
            row = Heartbeat(worker=worker, host=host, pid=int(pid), started_at=started_at, version=__version__)
            session.add(row)
        row.beat_at = now
        row.stopped_at = now if stopped else None


__all__ = ["beat", "heartbeat_is_fresh", "make_worker_id", "worker_alive"]


def heartbeat_is_fresh(row: Heartbeat | None, now: datetime, stale_after_seconds: int) -> bool:
    """A heartbeat counts when it is not stopped and beat within ``stale_after_seconds``."""
    return row is not None and row.stopped_at is None and row.beat_at >= now - timedelta(seconds=stale_after_seconds)


def worker_alive(worker: str, row: Heartbeat | None, now: datetime, stale_after_seconds: int) -> bool:
    """A claim's worker is alive: fresh heartbeat, and (on this host) its process still exists.

    The process check lets a replica on the same host take a killed worker's run over at
    the next tick instead of waiting ``stale_after_seconds`` for the heartbeat to age.
    """
    return heartbeat_is_fresh(row, now, stale_after_seconds) and not worker_is_gone(worker)
