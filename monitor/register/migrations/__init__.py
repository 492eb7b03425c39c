"""Alembic migrations, shipped in the package (script_location ``monitor.register:migrations``)."""
