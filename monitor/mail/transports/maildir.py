"""A transport that writes each message to a folder instead of sending it.

For demos (``visit-monitor demo`` shows the digests as .eml files) and for air-gapped
sites that move the files on by other means. It has no session to open; a folder it
cannot write to is treated like a relay that is down (:class:`Unreachable`): nothing was
handed over, so no attempt is spent and the run stops until the folder is fixed.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from monitor.core.files import private_mkdir
from monitor.mail.transports.base import Outgoing, Transport, Unreachable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MaildirTransport(Transport):
    """Writes each message as ``<outbox id>-<Message-ID>.eml``.

    The write is atomic (temp file, fsync, rename), so a reader never sees half a
    message; files are 0600 and the folder 0700 because these are sensitive messages.
    """

    name = "maildir"

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: Outgoing) -> str:
        safe_id = _UNSAFE.sub("_", message.message_id.strip("<>"))[:120]
        name = f"{message.outbox_id:08d}-{safe_id}.eml"
        try:
            private_mkdir(self.directory)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(message.content)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.directory / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise Unreachable(f"cannot write to {self.directory}: {exc.strerror or exc}") from None
        return f"stored {name}"
