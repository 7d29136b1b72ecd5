"""The server load bench runs end to end (a smoke test: tiny load, SQLite and the baseline)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_server_bench_runs_and_meets_its_checks() -> None:
    """Three clients for two seconds: zero errors, nothing lost or duplicated, exit 0."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync_server.py"), "--quick", "--clients", "3",
         "--seconds", "2", "--no-postgresql"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row.split("  ")[0]: row for row in done.stdout.splitlines()}
    assert "bare FastAPI endpoint" in rows and "msante-server, SQLite" in rows
    assert "items lost / duplicated / altered / foreign / gaps" in done.stdout
    assert "PostgreSQL not measured: --no-postgresql" in done.stdout
