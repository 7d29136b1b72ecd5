"""Alembic migrations of the server's schema (run programmatically by `db.migrate`)."""
