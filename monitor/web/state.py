"""What a running web app holds: configuration, the database engines, the scan cache.

Kept apart from the factory so that sessions, access rules and views can reach the
engine through ``current_app`` without importing the module that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine

from monitor.core.clock import today
from monitor.core.config import Config

EXTENSION = "visit_monitor"


@dataclass
class WebState:
    config: Config
    #: The register.
    engine: Engine
    #: Sessions and the access log (``monitor.web.store``): on SQLite a file of its own.
    store: Engine
    #: A fixed "today" (demo and tests); None means today in the configured timezone.
    as_of: date | None = None
    demo: bool = False
    #: Force-wide scans are cached this long (seconds) per register version; 0 = never.
    cache_seconds: float = 6 * 3600.0
    extras: dict[str, Any] = field(default_factory=dict)

    def today(self) -> date:
        return self.as_of or today(self.config.tz)


def state(app: Flask | None = None) -> WebState:
    found: WebState = (app or current_app).extensions[EXTENSION]
    return found
