"""A real, throwaway PostgreSQL for the server's tests: the session fixture `postgresql_url`.

One cluster per test run, started on first use: initdb in a private temporary folder, trust
authentication on a Unix socket in that folder and no TCP at all, then pg_ctl start. Under
pytest-xdist the workers share that cluster (the first one to need it starts it under a file
lock) and each gets its own database; the controller, which outlives every worker, stops the
cluster and removes the folder at the end. One cluster rather than one per worker: initdb is
most of the cost (about 1.1 s of CPU here against 0.05 s for a database), and this machine has
fewer cores than `make test` has workers. A watchdog shell stops the cluster should the owning
pytest die without cleaning up (SIGKILL). PostgreSQL refuses to run as root: as root, the
cluster runs as `postgres` (or `nobody`) through `runuser`. Where PostgreSQL cannot be found or
started the fixture skips with the reason, and fails instead under CI=true.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import pytest

DB_USER = "msante"
PORT = 5432  # only names the socket file: the folder is private and there is no TCP
RUN_USERS = ("postgres", "nobody")
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = "install it with `make pg` (or `apt-get install postgresql`)"
WORKERINPUT_DIR = "msante_pg_dir"
WORKERINPUT_OWNER = "msante_pg_owner"
BASE_KEY = pytest.StashKey[Path]()
SHM, SHM_NEEDED = "/dev/shm", 1 << 30  # a small /dev/shm (Docker's 64 MB) is left alone
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "port": str(PORT),
    "fsync": "off",  # a test database is thrown away: durability only costs time
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
WATCHDOG = """owner=$1 base=$2; shift 2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1; rm -rf "$base"
"""


class PgUnavailable(Exception):
    """PostgreSQL cannot be found or started; the message says why."""


@dataclass(frozen=True)
class Cluster:
    """Where a run's cluster lives, which programs run it, and as whom."""

    base: Path
    bindir: Path
    user: str | None

    @property
    def home(self) -> Path:
        """The cluster's own folder (owned by the user it runs as): data, log and socket."""
        return self.base / "pg"

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.home / "data"

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of one database, over the Unix socket."""
        return f"postgresql+psycopg://{DB_USER}@/{dbname}?host={quote(str(self.home), safe='/')}"

    def command(self, program: str, *args: str) -> list[str]:
        """A command line running one of PostgreSQL's programs as the cluster's user."""
        argv = [str(self.bindir / program), *args]
        return ["runuser", "-u", self.user, "--", *argv] if self.user else argv


def find_bindir() -> Path:
    """The folder of initdb, pg_ctl and postgres: from PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(Path("/").glob(DEBIAN_BINDIRS.lstrip("/")), key=_version, reverse=True)
    for bindir in [*candidates, *versions]:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PgUnavailable(
        "its server programs (initdb, pg_ctl, postgres) are neither on PATH nor in "
        f"{DEBIAN_BINDIRS}"
    )


def _version(bindir: Path) -> tuple[int, ...]:
    """The version in /usr/lib/postgresql/<version>/bin, for sorting."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def run_user() -> str | None:
    """The unprivileged user to run PostgreSQL as when running as root, else None."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise PgUnavailable("the tests run as root and runuser (util-linux) is missing")
    for name in RUN_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise PgUnavailable(
        "the tests run as root, which PostgreSQL refuses, and there is no unprivileged "
        f"user ({', '.join(RUN_USERS)}) to run it as"
    )


def _clean_env() -> dict[str, str]:
    """The environment without libpq's PG* variables, which would redirect the programs."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _run(cluster: Cluster, program: str, *args: str) -> None:
    """Run one of PostgreSQL's programs; PgUnavailable with its output if it fails."""
    done = subprocess.run(cluster.command(program, *args), cwd=cluster.home, env=_clean_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        log = cluster.home / "log"
        tail = log.read_text(errors="replace") if log.exists() else ""
        output = (done.stdout + done.stderr + tail).strip().splitlines()[-8:]
        raise PgUnavailable(f"{program} failed ({done.returncode}): " + " | ".join(output))


def start(cluster: Cluster) -> None:
    """Make a fresh cluster in the run's folder and start it."""
    shutil.rmtree(cluster.home, ignore_errors=True)  # a start cut short by a dead worker
    cluster.home.mkdir(mode=0o700)
    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(cluster.home, entry.pw_uid, entry.pw_gid)
    _run(cluster, "initdb", "-D", str(cluster.data), "-A", "trust", "-U", DB_USER,
         "-E", "UTF8", "--locale=C", "-N")
    settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{cluster.home}'")
    with (cluster.data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    _run(cluster, "pg_ctl", "start", "-D", str(cluster.data), "-l", str(cluster.home / "log"),
         "-w", "-t", "60")


def start_watchdog(cluster: Cluster, owner: int) -> None:
    """A detached shell that stops the cluster and removes its folder once `owner` is gone."""
    stop = cluster.command("pg_ctl", "stop", "-D", str(cluster.data), "-m", "immediate")
    script = f"sh -c {shlex.quote(WATCHDOG)} sh {owner} {shlex.quote(str(cluster.base))} "
    script += " ".join(shlex.quote(arg) for arg in stop)
    detached = subprocess.run(["sh", "-c", script + " </dev/null >/dev/null 2>&1 & echo $!"],
                              capture_output=True, text=True, check=True)
    (cluster.base / "watchdog.pid").write_text(detached.stdout.strip())


def teardown(base: Path) -> None:
    """Stop the run's cluster if it was started, end its watchdog, remove its folder."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int((base / "watchdog.pid").read_text()), signal.SIGTERM)
    pidfile = base / "pg" / "data" / "postmaster.pid"
    if pidfile.exists():
        try:
            cluster = Cluster(base, find_bindir(), run_user())
            _run(cluster, "pg_ctl", "stop", "-D", str(cluster.data), "-m", "immediate", "-w")
        except PgUnavailable:
            _kill_postmaster(pidfile)
    shutil.rmtree(base, ignore_errors=True)


def _kill_postmaster(pidfile: Path) -> None:
    """Kill the postmaster named in its pid file, if that process is still this cluster's."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().split()[0])
        if str(pidfile.parent).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _locked(base: Path) -> Iterator[None]:
    """Hold the run's lock: one worker at a time starts the cluster."""
    with (base / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cluster_for_run(base: Path, owner: int) -> Cluster:
    """The run's cluster, started by the first caller; later callers wait and reuse it."""
    with _locked(base):
        failed, ready = base / "failed", base / "ready"
        if failed.exists():
            raise PgUnavailable(failed.read_text())
        cluster = Cluster(base, Path(ready.read_text()), run_user()) if ready.exists() else None
        if cluster is None:
            try:
                cluster = Cluster(base, find_bindir(), run_user())
                start(cluster)
            except PgUnavailable as exc:
                failed.write_text(str(exc))
                raise
            start_watchdog(cluster, owner)
            ready.write_text(str(cluster.bindir))
        return cluster


def database_name() -> str:
    """This process's database: one per xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return "test_" + re.sub(r"[^a-z0-9_]", "_", worker.lower())


def create_database(cluster: Cluster, name: str) -> None:
    """A fresh, empty database (a crashed worker's namesake is dropped first)."""
    import psycopg  # only the runs that use PostgreSQL pay for the import

    try:
        with psycopg.connect(host=str(cluster.home), port=PORT, user=DB_USER,
                             dbname="postgres", autocommit=True) as conn:
            force = " WITH (FORCE)" if conn.info.server_version >= 130000 else ""
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"{force}')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise PgUnavailable(f"the database {name} could not be made: {exc}") from exc


def _base_and_owner(config: pytest.Config) -> tuple[Path, int]:
    """The run's folder and the pid that cleans it up: the xdist controller's, or ours."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKERINPUT_DIR in workerinput:
        return Path(workerinput[WORKERINPUT_DIR]), int(workerinput[WORKERINPUT_OWNER])
    return _own_base(config), os.getpid()


def _own_base(config: pytest.Config) -> Path:
    """This process's run folder, made on first use and removed at pytest_unconfigure."""
    if BASE_KEY not in config.stash:
        config.stash[BASE_KEY] = make_base()
    return config.stash[BASE_KEY]


def make_base() -> Path:
    """A new private folder for a run's cluster, in memory where there is room."""
    base = Path(tempfile.mkdtemp(prefix="msante-pg-", dir=_memory_folder()))
    base.chmod(0o711)  # the cluster's user must reach its own folder inside
    return base


def _memory_folder() -> str | None:
    """/dev/shm when it has room (initdb takes half the time in memory), else the default."""
    try:
        shm = os.statvfs(SHM)
    except OSError:
        return None
    roomy = shm.f_bavail * shm.f_frsize >= SHM_NEEDED and os.access(SHM, os.W_OK | os.X_OK)
    return SHM if roomy else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: give every worker the run's folder and the cleaner's pid."""
    node.workerinput[WORKERINPUT_DIR] = str(_own_base(node.config))
    node.workerinput[WORKERINPUT_OWNER] = os.getpid()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The process that made the run's folder stops the cluster and removes the folder."""
    if BASE_KEY in config.stash:
        teardown(config.stash[BASE_KEY])


@pytest.fixture(scope="session")
def postgresql_url(pytestconfig: pytest.Config) -> str:
    """The SQLAlchemy URL (postgresql+psycopg) of a fresh, empty database of this worker's."""
    try:
        cluster = cluster_for_run(*_base_and_owner(pytestconfig))
        name = database_name()
        create_database(cluster, name)
    except PgUnavailable as exc:
        unavailable(str(exc))
    return cluster.url(name)


def unavailable(reason: str) -> NoReturn:
    """Skip the test, saying why and how to install PostgreSQL; fail instead under CI=true."""
    message = f"PostgreSQL is needed here and {reason}; {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(message)
