"""The register: SQLAlchemy models, the database and its Alembic migrations, and the CSV
importer that fills it. May use monitor.core only.
"""
