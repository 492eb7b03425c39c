"""Previewing digests: write each message that would be queued to files, and send nothing.

For a person checking templates or a rollout: the same plans and the same rendering as
``queue``, but no outbox row, no disclosure log entry and no network. Each message is
written twice, as ``.eml`` (open in a mail client) and ``.html`` (open in a browser).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core.files import private_mkdir, write_private
from monitor.digests.build import build_plans
from monitor.digests.contexts import kinds_for
from monitor.digests.render import build_digest_message
from monitor.mail.messages import message_bytes
from monitor.register.db import reading

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.core.config import Config

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")


def preview_digests(engine: Engine, config: Config, kind: str, as_of: date, out_dir: Path) -> list[Path]:
    """Write each message that would be queued as ``.eml`` and ``.html`` into ``out_dir``.

    Sends nothing, queues nothing, logs no disclosure: the files stay on this machine.
    Blocked recipients are not previewed (their message would never exist).
    """
    kinds = kinds_for(kind)
    with reading(engine) as session:
        plans = build_plans(session, config, kinds, as_of)
    private_mkdir(out_dir)  # previews are sensitive: 0700 folder, 0600 files
    written: list[Path] = []
    for plan in plans.plans:
        if plan.problem is not None:
            continue
        ctx = plan.context
        message, rendered = build_digest_message(ctx, config)
        stem = _UNSAFE_FILENAME.sub("_", f"{ctx.kind}-{ctx.recipient.officer_id}-{plan.period}")
        eml = out_dir / f"{stem}.eml"
        html = out_dir / f"{stem}.html"
        # Previews are made again in seconds: atomic, but not synced one by one.
        write_private(eml, message_bytes(message), durable=False)
        write_private(html, rendered.html, durable=False)
        written.extend([eml, html])
    return written
