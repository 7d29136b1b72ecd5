"""Fixtures shared by the sync tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import setup
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, second_device


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (the `vault` fixture, set up with a live server) and device B (a second
    vault of the same account, no owner: it arrives by sync), and the server's app."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            b.close()
