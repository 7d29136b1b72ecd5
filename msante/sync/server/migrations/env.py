"""Alembic's entry point: migrations always run on the connection `db.migrate` passes in."""

from __future__ import annotations

from alembic import context

from msante.sync.server.schema import metadata


def run() -> None:
    """Run the migrations inside the caller's connection."""
    conn = context.config.attributes["connection"]
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
