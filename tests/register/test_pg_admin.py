"""The PostgreSQL test-database teardown gives up with a clear line instead of hanging CI.

``DROP DATABASE ... WITH (FORCE)`` ends the sessions *connected to* the database, but
waits for a lock held from another database for as long as that is held. Here a session
on the admin database holds one (an ``ALTER DATABASE`` in an open transaction), as a
stuck backend would; the drop must fail within its bound, naming the statement.
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from conftest import PG_ADMIN_URL, _pg_admin


def test_drop_blocked_by_another_session_fails_within_the_bound() -> None:
    name = f"vm_stuck_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    holder = psycopg.connect(PG_ADMIN_URL, autocommit=False)
    try:
        holder.execute(f"COMMENT ON DATABASE \"{name}\" IS 'held'")  # locks it until rollback
        started = time.monotonic()
        with pytest.raises(pytest.fail.Exception) as failed:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=1.5)
        elapsed = time.monotonic() - started
        message = str(failed.value)
        assert elapsed < 15, elapsed
        assert "\n" not in message
        assert message.startswith("PostgreSQL gave up after 1.5 s on 'DROP DATABASE IF EXISTS")
        assert "timeout" in message  # the lock wait or the statement, whichever ran out first
    finally:
        holder.rollback()
        holder.close()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=30)
    with psycopg.connect(PG_ADMIN_URL) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
