"""Alembic environment: runs against the engine the CLI built (see monitor.register.db.upgrade)."""

from alembic import context

from monitor.register.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    from monitor.core import config as monitor_config
    from monitor.register.db import make_engine

    engine = make_engine(monitor_config.load().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
