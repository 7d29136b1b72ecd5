"""The `postgresql_url` fixture: a real database, one per xdist worker, nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import pg_cluster

ROOT = Path(__file__).resolve().parents[2]

# Run by a child pytest with two xdist workers, each running it once (--dist each).
RECORDING_TEST = '''
import json, os, pathlib
from urllib.parse import parse_qs, urlsplit
import psycopg  # lighter than SQLAlchemy, which the in-process test covers

def test_record(postgresql_url):
    url = urlsplit(postgresql_url)
    with psycopg.connect(host=parse_qs(url.query)["host"][0], user=url.username,
                         dbname=url.path.lstrip("/")) as conn:
        dbname, data, backend = conn.execute(
            "SELECT current_database(), current_setting('data_directory'), pg_backend_pid()"
        ).fetchone()
    postmaster = int((pathlib.Path(data) / "postmaster.pid").read_text().split()[0])
    worker = os.environ["PYTEST_XDIST_WORKER"]
    record = {"url": postgresql_url, "dbname": dbname, "data": data,
              "pids": [postmaster, backend]}
    (pathlib.Path(os.environ["RECORDS"]) / (worker + ".json")).write_text(json.dumps(record))
'''


def test_a_fresh_database_one_can_write_and_read(postgresql_url: str) -> None:
    """The server's store runs on this URL: SQLAlchemy + psycopg, DDL, writes, reads."""
    assert postgresql_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgresql_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # fresh and empty
        notes = sa.Table("notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("body", sa.Text, nullable=False))
        with engine.begin() as conn:
            notes.create(conn)
            conn.execute(notes.insert(), [{"body": "écrit"}, {"body": "lu"}])
        with engine.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            bodies = conn.execute(sa.select(notes.c.body).order_by(notes.c.id)).scalars().all()
        with engine.begin() as conn:
            notes.drop(conn)  # the database is this worker's for the whole session
    finally:
        engine.dispose()
    assert bodies == ["écrit", "lu"]
    assert name == pg_cluster.database_name()


def test_each_worker_names_its_own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers share the cluster, never a database: the name comes from the worker id."""
    names = set()
    for worker in ("gw0", "gw1", "gw10"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        names.add(pg_cluster.database_name())
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    names.add(pg_cluster.database_name())
    assert len(names) == 4


@pytest.mark.slow
def test_workers_get_their_own_databases_and_nothing_outlives_the_run(tmp_path: Path) -> None:
    """A child pytest with two workers: two databases of one cluster, all gone at the end."""
    (tmp_path / "test_tiny.py").write_text(RECORDING_TEST)
    records = tmp_path / "records"
    records.mkdir()
    env = dict(os.environ, RECORDS=str(records), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(  # without the suite's other plugins: a third of the time
        [sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-p", "tests.pg_cluster",
         "-p", "no:cacheprovider", "-n", "2", "--dist", "each", "test_tiny.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    if "PostgreSQL is needed here" in done.stdout + done.stderr:
        pg_cluster.unavailable("the child run could not start it")
    assert done.returncode == 0, done.stdout + done.stderr
    seen = [json.loads(path.read_text()) for path in sorted(records.glob("gw*.json"))]
    assert len(seen) == 2
    assert seen[0]["dbname"] != seen[1]["dbname"]
    assert seen[0]["data"] == seen[1]["data"]  # one cluster for the run
    base = Path(seen[0]["data"]).parents[1]
    assert not base.exists()
    assert _alive([pid for record in seen for pid in record["pids"]]) == []
    assert _mentioning(str(base)) == []


@pytest.mark.slow
def test_a_killed_run_leaves_no_cluster_behind() -> None:
    """Should pytest die by SIGKILL, the watchdog stops its cluster and removes the folder."""
    owner = subprocess.Popen(["sleep", "60"])  # stands for the pytest that owns the run
    base = pg_cluster.make_base()
    try:
        try:
            cluster = pg_cluster.cluster_for_run(base, owner.pid)
        except pg_cluster.PgUnavailable as exc:
            pg_cluster.unavailable(str(exc))
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        owner.kill()
        owner.wait()  # a zombie would still answer the watchdog's kill -0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (base.exists() or _mentioning(str(base))):
            time.sleep(0.1)
        assert not base.exists()
        assert _alive([postmaster]) == []
        assert _mentioning(str(base)) == []
    finally:
        owner.kill()
        owner.wait()
        pg_cluster.teardown(base)


def _alive(pids: list[int]) -> list[int]:
    """The pids among these that still run (a zombie awaiting its reaper does not)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def _mentioning(text: str) -> list[Any]:
    """The processes whose command line mentions this text (a postmaster, a watchdog)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:  # gone meanwhile
            continue
    return found


def test_missing_programs_say_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    """Without PostgreSQL the reason names the programs and where they were looked for."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_cluster, "DEBIAN_BINDIRS", str(tmp_path / "*" / "bin"))
    with pytest.raises(pg_cluster.PgUnavailable, match="initdb, pg_ctl, postgres"):
        pg_cluster.find_bindir()


def test_skips_where_postgresql_is_missing_but_fails_in_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer without PostgreSQL gets a skip with the install hint; CI can never skip."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make pg"):
        pg_cluster.unavailable("it is missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        pg_cluster.unavailable("it is missing")


def test_a_failed_start_is_not_retried_by_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first worker's failure is recorded in the run's folder; the others report it at once."""
    def missing() -> Path:
        raise pg_cluster.PgUnavailable("initdb is nowhere")

    monkeypatch.setattr(pg_cluster, "find_bindir", missing)
    base = pg_cluster.make_base()
    try:
        for _worker in range(2):
            with pytest.raises(pg_cluster.PgUnavailable, match="initdb is nowhere"):
                pg_cluster.cluster_for_run(base, os.getpid())
        monkeypatch.undo()  # PostgreSQL is back, but this run already knows it failed
        with pytest.raises(pg_cluster.PgUnavailable, match="initdb is nowhere"):
            pg_cluster.cluster_for_run(base, os.getpid())
        assert not (base / "pg").exists()
    finally:
        pg_cluster.teardown(base)
