"""The systemd notify protocol, without a client library: READY, RELOADING, STOPPING, WATCHDOG.

``visit-monitor run`` under ``Type=notify`` (config/visit-monitor.service) reports its
state over ``$NOTIFY_SOCKET`` and pings the watchdog at half of ``WatchdogSec``. Outside
systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so the daemon loop calls these
unconditionally. Kept apart from the loop because it is a wire protocol with its own test.
"""

from __future__ import annotations

import logging
import os
import socket

# The logger name the daemon's messages have always carried (operators filter on it).
log = logging.getLogger("monitor.daemon.schedule")


def sd_notify(state: str) -> bool:
    """Send ``state`` to systemd over $NOTIFY_SOCKET (a unix datagram socket); False if none.

    The protocol is one datagram of newline-separated KEY=VALUE lines; a leading "@" in
    the path means the Linux abstract namespace.
    """
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify failed: %s", type(exc).__name__)
        return False


def watchdog_interval() -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), if this process is watched."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000
