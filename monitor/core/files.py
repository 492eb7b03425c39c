"""Private files and folders: everything the service writes is 0600 / 0700, whatever the umask.

What this service writes is as sensitive as policing data gets (the register, reports,
digests, rejected rows), and the usual umask 022 would make each of them readable by every
account on the machine. So every call site that creates a file or folder uses these
helpers instead of ``open``/``mkdir``/``write_text``: the mode is given explicitly at
creation and then set with chmod, so neither the umask nor an existing looser file widens
it. Folders that already exist are left as they are (the operator chose them: /tmp, a
mounted share); only the ones created here are made private.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_mkdir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents as 0700; return it. Existing folders are kept."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists() and not current.is_symlink() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by someone else: theirs, not ours
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def private_touch(path: str | os.PathLike[str]) -> Path:
    """Create an empty 0600 file if none exists (e.g. a SQLite register before it is opened)."""
    path = Path(path)
    private_mkdir(path.parent)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    return path


def private_open(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = None, newline: str | None = None
) -> IO[Any]:
    """``open(path, mode)`` for writing, creating the file 0600 (an existing regular file is made 0600).

    ``mode`` is "w", "wb", "a" or "ab". A device or FIFO (``/dev/stdout``) is opened as is.
    """
    if mode not in ("w", "wb", "a", "ab"):
        raise ValueError(f"private_open is for writing: mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, FILE_MODE)
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding=encoding or "utf-8", newline=newline)
    except BaseException:
        os.close(fd)
        raise


def write_private(
    path: str | os.PathLike[str],
    data: str | bytes | Iterable[str] | Iterable[bytes],
    *,
    encoding: str = "utf-8",
    durable: bool = True,
) -> Path:
    """Write ``data`` to ``path`` atomically as a 0600 file; text is written as is (no newline translation).

    A temporary file in the same folder is written, flushed to disk and renamed over
    ``path``, so a reader never sees half a report. A device or FIFO that already exists
    at ``path`` (``/dev/stdout``) is written in place instead. ``durable=False`` skips the
    fsync (still atomic): for files that are cheap to make again, such as 5,000 digest
    previews, where the syncs were an eighth of the run. ``data`` may also be text or
    bytes in pieces (a large report, a message), written as they come.
    """
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            with private_open(path, "wb") as fh:
                _write_all(fh, data, encoding)
            return path
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data, encoding)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _write_all(fh: IO[bytes], data: str | bytes | Iterable[str] | Iterable[bytes], encoding: str) -> None:
    if isinstance(data, bytes):
        fh.write(data)
    elif isinstance(data, str):
        fh.write(data.encode(encoding))
    else:
        for piece in data:
            fh.write(piece if isinstance(piece, bytes) else piece.encode(encoding))
