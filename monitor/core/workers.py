"""Who is doing a piece of work, and whether that process is still there.

A claim on shared work (a scheduled job run, an outbox message being handed to the relay)
records the claimer as ``host:pid:nonce`` (host: the host name and, on Linux, the pid
namespace, so two containers sharing a host name are never taken for one host). The nonce makes every process (and every
delivery run) distinct even when a pid is reused. Another process on the *same host* can
then tell at once that the claimer has died (its pid no longer exists, or is a zombie)
and take the work over without waiting for a lease or heartbeat to go stale; a claimer on
another host can only be judged by its lease or heartbeat. Both the mail stage (outbox
claims) and the daemon (job runs) use this, so it sits in the foundations.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
from pathlib import Path


@functools.cache
def host_identity() -> str:
    """This host as a worker id names it: the host name, plus the pid namespace on Linux.

    Two containers can share a host name (host networking) while each has its own pids;
    a pid is only meaningful inside its namespace, so the namespace is part of "same host".
    """
    name = socket.gethostname()
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # e.g. "pid:[4026531836]"
    except OSError:
        return name
    inode = namespace.partition("[")[2].rstrip("]")
    return f"{name}#{inode}" if inode.isdigit() else name


def make_worker_id() -> str:
    """``host:pid:nonce`` for this process (a new nonce each call); host as :func:`host_identity`."""
    return f"{host_identity()}:{os.getpid()}:{secrets.token_hex(3)}"


def parse_worker_id(worker: str) -> tuple[str, int] | None:
    """(host, pid) of a worker id, or None when it is not of the form ``host:pid:nonce``."""
    parts = worker.rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def _pid_is_gone(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    # A killed child not yet reaped by its parent still has a pid: it is a zombie.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()
    return bool(state) and state[0] in ("Z", "X")


def worker_is_gone(worker: str) -> bool:
    """True only when ``worker`` ran on this host and its process no longer exists.

    False when it cannot be told (another host, an id of another form): the caller then
    falls back to the claim's lease or the worker's heartbeat.
    """
    parsed = parse_worker_id(worker)
    if parsed is None:
        return False
    host, pid = parsed
    if host != host_identity():
        return False
    if pid == os.getpid():
        return False
    return _pid_is_gone(pid)
