"""The scheduled jobs: a registry of name -> ``job(engine, config, scheduled_for) -> counts``.

Each job is a thin wrapper over the function the CLI calls on demand (digest, deliver,
snapshot, import); a test swaps in fakes by passing its own registry to the runner.
``health`` does not import this module (it reads :mod:`monitor.daemon.timetable`), so a
probe does not load the digest and mail stages. A job returns a small dict of counts for
``job_runs.counts`` (never personal data) and raises
:class:`~monitor.daemon.failures.JobFailed` (with its counts) when it ran but the outcome
must show as failed.

Import drop folder: each **subfolder** of ``import.drop_dir`` is one extract (its
offenders.csv / visits.csv / officers.csv, or the force's own file names and workbook as
``[import]`` maps them), imported in name order. Loose CSV and workbook files
directly in the drop folder are not imported (three loose files cannot be told from half
a delivery): the log says so. Deliver an extract by writing it under a name starting
with "." or ending in ".partial"/".tmp" and renaming it when complete. Afterwards the
folder moves, whole, to ``processed/YYYY-MM-DD/<timestamp>-<name>/`` with a rejects.csv
report, or on a failed import to ``failed/YYYY-MM-DD/<timestamp>-<name>/`` with an
error.txt. Input is never deleted.

The drop folder is written by another system, so it is not trusted: an extract that is a
symlink, holds a symlink, a FIFO or a device, or resolves outside the drop folder is
refused without being read and filed as ``failed/YYYY-MM-DD/<timestamp>-<name>/<name>``
beside an error.txt (the job fails, so ``health`` shows it). A ``processed`` or ``failed``
folder that is a symlink stops the job. Everything written here is private (0700/0600).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from monitor.core.clock import now_utc, today
from monitor.core.files import private_mkdir, write_private
from monitor.core.import_settings import ImportSettings
from monitor.daemon.failures import JobFailed, safe_error
from monitor.daemon.timetable import scheduled_date
from monitor.digests.queue import queue_digests
from monitor.extract.records import WORKBOOK_SUFFIXES
from monitor.mail.delivery import DeliveryReport, deliver_pending
from monitor.register.importer import holds_files, import_directory
from monitor.reports.snapshot import take_snapshot

if TYPE_CHECKING:
    from monitor.core.config import Config

log = logging.getLogger("monitor.daemon.jobs")

JobFunc = Callable[[Engine, "Config", datetime], dict[str, Any]]

RESERVED_DIRS = ("processed", "failed")


def deliver_job(engine: Engine, config: Config, scheduled_for: datetime) -> dict[str, Any]:
    """Send what is pending in the outbox (retries respect their backoff).

    Fails (so ``health`` and the metrics show it) when anything it tried could not be
    delivered: dead letters, a relay that cannot be reached (no attempt is spent: the
    next run tries again), a TLS/login stop, a database failure.
    """
    report = deliver_pending(engine, config, respect_backoff=True)
    counts: dict[str, Any] = dict(report.counts())
    if problem := report.problem():
        raise JobFailed(problem, counts)
    return counts


def _digest_delivery_problem(report: DeliveryReport) -> str | None:
    """What makes a digest job fail on the delivery side: dead letters, a stop, the database.

    Mail merely left waiting (relay down, a 4xx) does not fail the digest job, whose next
    run is a week away: the ``deliver`` job, every few minutes, retries it and fails
    (visible in ``health``) for as long as it cannot be delivered.
    """
    problems = []
    if report.failed:
        problems.append(f"{report.failed} message(s) failed permanently (see `visit-monitor outbox list`)")
    if report.stopped:
        problems.append(f"delivery stopped early: {report.stopped}")
    if report.database_error:
        problems.append(report.database_error)
    return "; ".join(problems) or None


def digest_job(kind: str) -> JobFunc:
    """A job that queues ``kind`` digests for the scheduled date, then delivers them.

    Delivering straight away means Monday's digests go at 07:00, not at the next
    ``deliver`` tick; the outbox's unique (kind, recipient, period) key and its claim
    make this safe with any number of replicas. ``unrouted`` counts digests that went to
    the force lead(s) because their own recipient could not be mailed; a digest nobody
    could receive (``unroutable``) fails the job.
    """

    def job(engine: Engine, config: Config, scheduled_for: datetime) -> dict[str, Any]:
        run = queue_digests(engine, config, kind, scheduled_date(scheduled_for, config))
        counts: dict[str, Any] = {
            "queued": run.queued,
            "already_queued": run.already_queued,
            "skipped_empty": run.skipped_empty,
            "recipients_blocked": len(run.blocked),
            "unrouted": len(run.unrouted) + len(run.unroutable),
            "unroutable": len(run.unroutable),
            "build_errors": len(run.errors),
        }
        report = deliver_pending(engine, config, respect_backoff=True)
        counts.update(report.counts())
        problems = [f"{counts['build_errors']} digest(s) could not be built"] if counts["build_errors"] else []
        if run.unroutable:
            problems.append(
                f"{len(run.unroutable)} digest(s) could not be routed to anyone: "
                + "; ".join(f"{k} digest for {scope} ({reason})" for k, scope, reason in run.unroutable)
            )
        if problem := _digest_delivery_problem(report):
            problems.append(problem)
        if problems:
            raise JobFailed("; ".join(problems), counts)
        return counts

    job.__name__ = f"{kind}_digest_job"
    job.__doc__ = f"Queue and deliver the {kind} digests for the scheduled date."
    return job


def snapshot_job(engine: Engine, config: Config, scheduled_for: datetime) -> dict[str, Any]:
    """Record today's backlog (London date) for trends and the metrics endpoint."""
    return {"rows": int(take_snapshot(engine, config, today(config.tz)))}


def _unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... so nothing is ever overwritten."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _move(drop: Path, bucket: str, extract: Path, config: Config, *, refused: bool = False) -> Path:
    """File ``extract`` under ``bucket``; a refused one goes inside a new folder of its own.

    Returns the folder to write the report (rejects.csv, error.txt) into, which is never
    the inside of a symlink.
    """
    local = now_utc().astimezone(config.tz)
    day = private_mkdir(drop / bucket / f"{local:%Y-%m-%d}")
    if day.resolve() != drop.resolve() / bucket / day.name:
        raise OSError(errno.ELOOP, f"{bucket}/{day.name} is a symlink: refused", str(day))
    dest = _unused(day / f"{local:%Y%m%dT%H%M%S}-{extract.name}")
    if refused:
        private_mkdir(dest)
        shutil.move(str(extract), str(dest / extract.name))  # moves a symlink itself, never its target
        return dest
    shutil.move(str(extract), str(dest))
    return dest


def refusal(drop: Path, extract: Path) -> str | None:
    """Why ``extract`` must not be read: a symlink, a special file, or a path outside ``drop``."""
    if extract.is_symlink():
        return "it is a symlink"
    if not extract.resolve().is_relative_to(drop.resolve()):
        return "it resolves outside the drop folder"
    for folder, dirs, files in os.walk(extract, followlinks=False):
        for name in (*dirs, *files):
            path = Path(folder) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                return f"it holds a symlink ({path.relative_to(extract)})"
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                return f"it holds something that is not a file or folder ({path.relative_to(extract)})"
    return None


def pending_extracts(drop: Path, settings: ImportSettings | None = None) -> list[Path]:
    """Subfolders of the drop folder that are complete extracts waiting, in name order.

    A folder counts once it holds a file an import would read: ``offenders.csv`` and the
    like, or the force's own names (``[import.files]``, ``[import] workbook``).
    """
    settings = settings or ImportSettings()
    out = []
    for entry in sorted(drop.iterdir()):
        if not entry.is_dir() or entry.name in RESERVED_DIRS:
            continue
        if entry.name.startswith(".") or entry.name.endswith((".partial", ".tmp")):
            continue
        if entry.is_symlink():  # not even listed: import_job refuses and files it
            out.append(entry)
            continue
        if not holds_files(entry, settings):
            log.info("import: folder %s has no extract file yet; left alone", entry.name)
            continue
        out.append(entry)
    return out


def import_job(engine: Engine, config: Config, scheduled_for: datetime) -> dict[str, Any]:
    """Import each waiting extract from the drop folder, then file it away (see module doc)."""
    drop = config.import_drop_dir
    counts: dict[str, Any] = {"extracts": 0, "failed": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    if drop is None:
        return counts
    if not drop.is_dir():
        raise JobFailed(f"import.drop_dir {str(drop)!r} is not a folder", counts)
    for bucket in RESERVED_DIRS:
        if (drop / bucket).is_symlink():
            raise JobFailed(f"import.drop_dir: {bucket}/ is a symlink; refused, nothing imported", counts)
    loose = [p.name for p in drop.iterdir() if p.is_file() and p.suffix.lower() in (".csv", *WORKBOOK_SUFFIXES)]
    if loose:
        log.warning(
            "import: %d CSV or workbook file(s) directly in the drop folder are ignored; "
            "put each extract in its own subfolder",
            len(loose),
        )
    errors: list[str] = []
    for extract in pending_extracts(drop, config.import_settings):
        counts["extracts"] += 1
        if reason := refusal(drop, extract):
            counts["failed"] += 1
            errors.append(f"{extract.name}: refused, {reason}")
            _file_refused(drop, extract, reason, config)
            continue
        try:
            result = import_directory(engine, config, extract)
        except Exception as exc:
            counts["failed"] += 1
            error = safe_error(exc)
            errors.append(f"{extract.name}: {error}")
            try:
                dest = _move(drop, "failed", extract, config)
                write_private(
                    _unused(dest / "error.txt"),
                    f"import of extract {extract.name!r} failed at {now_utc().isoformat()}\n{error}\n",
                )
                log.error("import: %s failed; moved to %s", extract.name, dest.relative_to(drop))
            except OSError as move_exc:
                log.error("import: %s failed and could not be moved: %s", extract.name, safe_error(move_exc))
            continue
        for file_counts in result.counts.values():
            for key in ("inserted", "updated", "unchanged", "rejected"):
                counts[key] += int(file_counts.get(key, 0))
        try:
            dest = _move(drop, "processed", extract, config)
            write_private(_unused(dest / "rejects.csv"), result.reject_report_csv())
            log.info(
                "import: %s imported (%d rejected rows); moved to %s",
                extract.name,
                len(result.rejects),
                dest.relative_to(drop),
            )
        except OSError as exc:
            # Imported but not filed: a re-import of the same extract changes nothing.
            counts["failed"] += 1
            errors.append(f"{extract.name}: imported but could not be moved ({safe_error(exc)})")
    if errors:
        raise JobFailed("; ".join(errors), counts)
    return counts


def _file_refused(drop: Path, extract: Path, reason: str, config: Config) -> None:
    """Move a refused extract (unread) under failed/ with an error.txt saying why."""
    try:
        dest = _move(drop, "failed", extract, config, refused=True)
        write_private(
            dest / "error.txt",
            f"extract {extract.name!r} refused at {now_utc().isoformat()} without being read: {reason}\n"
            "Deliver extracts as plain folders of plain files inside the drop folder.\n",
        )
        log.error("import: %s refused (%s); moved to %s", extract.name, reason, dest.relative_to(drop))
    except OSError as exc:
        log.error("import: %s refused (%s) and could not be moved: %s", extract.name, reason, type(exc).__name__)


def default_registry() -> dict[str, JobFunc]:
    """The production jobs, keyed by their ``[schedule]`` names."""
    return {
        "officer_digest": digest_job("officer"),
        "team_digest": digest_job("team"),
        "force_report": digest_job("force"),
        "escalation": digest_job("escalation"),
        "snapshot": snapshot_job,
        "deliver": deliver_job,
        "import": import_job,
    }
