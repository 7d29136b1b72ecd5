"""Fixtures of the server tests: a database per test (SQLite, or PostgreSQL when available)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import Server, make_server

from msante.sync.server.settings import Limits


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: SQLite in tmp_path, or the `postgresql_url` fixture (tests/pg_cluster.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    try:
        url: str = request.getfixturevalue("postgresql_url")
    except pytest.FixtureLookupError:
        pytest.skip("needs the postgresql_url fixture (tests/pg_cluster.py)")
    return url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server over SQLite with default limits, driven in-process (httpx ASGI transport)."""
    with make_server(tmp_path / "data") as srv:
        yield srv


@pytest.fixture
def any_server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    """The same, over each database."""
    with make_server(tmp_path / "data", db_url=db_url) as srv:
        yield srv


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    """A server with tiny limits, to reach each of them cheaply."""
    limits = Limits(max_body=4096, max_chunk=1024, max_items_per_batch=3, quota_bytes=3000,
                    rate_per_second=1.0, rate_burst=1000, max_pull=2)
    with make_server(tmp_path / "data", limits=limits) as srv:
        yield srv
