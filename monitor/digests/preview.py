"""Previewing digests: write each message that would be queued to files, and send nothing.

For a person checking templates or a rollout: the same plans and the same rendering as
``queue``, but no outbox row, no disclosure log entry and no network. Each message is
written twice, as ``.eml`` (open in a mail client) and ``.html`` (open in a browser).

A national preview is a few thousand messages and half a gigabyte of files, and after the
one scan every message is rendered and written on its own, so the messages are shared out
among worker processes (one per CPU, at most :data:`MAX_JOBS`; ``--jobs`` chooses). They
are forked after the scan, so each holds the plans without copying them, and each writes
its own files: only file names come back. The database is not used after the scan, and
its pooled connections are closed before the fork, so none is shared with a worker.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.files import private_mkdir, write_private
from monitor.core.gcpause import frozen_gc
from monitor.digests.build import build_plans
from monitor.digests.contexts import kinds_for
from monitor.digests.plans import Plan
from monitor.digests.render import build_digest_message
from monitor.mail.messages import message_pieces
from monitor.register.db import reading
from monitor.reports import case_rows
from monitor.reports.render import load_email_templates

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.core.config import Config

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")
#: Workers at most, whatever the machine: beyond this, writing files is the limit.
MAX_JOBS = 4
#: Fewer messages than this are written in this process: a worker costs more than they do.
MIN_PER_JOB = 100

#: What forked workers read: set just before the pool forks, cleared after.
_SHARED: tuple[list[Plan], Config, Path] | None = None


class PreviewWorkerLost(RuntimeError):
    """A preview worker process ended without finishing (killed, out of memory)."""


def default_jobs() -> int:
    """One worker per CPU this process may run on, at most :data:`MAX_JOBS`."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_JOBS))


def workers_for(jobs: int | None, messages: int) -> int:
    """``jobs`` workers (never more than messages); by default one per CPU, and just this
    process for fewer than :data:`MIN_PER_JOB` messages per worker."""
    if jobs is None:
        return max(1, min(default_jobs(), messages // MIN_PER_JOB))
    return max(1, min(jobs, messages))


def preview_digests(
    engine: Engine, config: Config, kind: str, as_of: date, out_dir: Path, jobs: int | None = None
) -> list[Path]:
    """Write each message that would be queued as ``.eml`` and ``.html`` into ``out_dir``.

    Sends nothing, queues nothing, logs no disclosure: the files stay on this machine.
    Blocked recipients are not previewed (their message would never exist). Paths come
    back in plan order whatever ``jobs`` is (None: :func:`default_jobs`).
    """
    kinds = kinds_for(kind)
    with reading(engine) as session:
        plans = build_plans(session, config, kinds, as_of)
    private_mkdir(out_dir)  # previews are sensitive: 0700 folder, 0600 files
    todo = [plan for plan in plans.plans if plan.problem is None]
    workers = workers_for(jobs, len(todo))
    with frozen_gc(), case_rows.reuse_for_the_run():  # the plans stay alive throughout: see core.gcpause
        if workers == 1:
            return _write(todo, config, out_dir)
        engine.dispose()  # no pooled connection may cross the fork
        load_email_templates()  # compiled once here, shared by every worker
        return _write_in_workers(todo, config, out_dir, workers)


def _write(plans: list[Plan], config: Config, out_dir: Path) -> list[Path]:
    written: list[Path] = []
    for plan in plans:
        ctx = plan.context
        message, rendered = build_digest_message(ctx, config)
        stem = _UNSAFE_FILENAME.sub("_", f"{ctx.kind}-{ctx.recipient.officer_id}-{plan.period}")
        eml = out_dir / f"{stem}.eml"
        html = out_dir / f"{stem}.html"
        # Previews are made again in seconds: atomic, but not synced one by one.
        write_private(eml, message_pieces(message), durable=False)
        write_private(html, rendered.html, durable=False)
        written.extend([eml, html])
    return written


def shares_of(plans: list[Plan], workers: int) -> list[list[int]]:
    """Plan numbers per worker, the work as even as can be.

    Runs of plans made from one template (a team's digest for each of its supervisors) stay
    together, so the tables written for the first reader are reused for the next
    (``case_rows``). Runs go, largest first, to the worker with least to do so far; a run's
    size is its rows (what rendering and writing cost) plus one per message. Dealing them out
    in turn left one of two workers a quarter longer at national size (the force digests).
    """
    runs: list[list[int]] = []
    previous = None
    for n, plan in enumerate(plans):
        ctx = plan.context
        template = (ctx.kind, getattr(ctx, "team", None), ctx.period)
        if template != previous or ctx.kind == "officer":
            runs.append([])
            previous = template
        runs[-1].append(n)
    load = [0] * workers
    shares: list[list[int]] = [[] for _ in range(workers)]
    for run in sorted(runs, key=lambda r: -len(r) * _size(plans[r[0]])):
        least = load.index(min(load))
        shares[least].extend(run)
        load[least] += len(run) * _size(plans[run[0]])
    return shares


def _size(plan: Plan) -> int:
    """Roughly what a plan costs to render and write: its listed rows, plus one."""
    ctx = plan.context
    return 1 + sum(len(v) for f in fields(ctx) if isinstance(v := getattr(ctx, f.name), list | tuple))


def _write_share(numbers: list[int]) -> list[Path]:
    """In a forked worker: write the plans with these numbers."""
    assert _SHARED is not None
    plans, config, out_dir = _SHARED
    return _write([plans[n] for n in numbers], config, out_dir)


def _write_in_workers(plans: list[Plan], config: Config, out_dir: Path, workers: int) -> list[Path]:
    global _SHARED
    _SHARED = (plans, config, out_dir)
    numbers = shares_of(plans, workers)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_write_share, share) for share in numbers]
            try:
                shares = [future.result() for future in futures]
            except BrokenProcessPool:
                raise PreviewWorkerLost(
                    "a preview worker process stopped before it finished (killed or out of memory);"
                    " some files may be missing: run the preview again"
                ) from None
    finally:
        _SHARED = None
    by_plan: dict[int, list[Path]] = {}
    for share, paths in zip(numbers, shares, strict=True):
        for k, n in enumerate(share):
            by_plan[n] = paths[2 * k : 2 * k + 2]
    return [path for n in range(len(plans)) for path in by_plan[n]]  # back into plan order
