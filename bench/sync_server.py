"""Server load: simulated devices pushing and pulling small items, against `msante-server run`
over SQLite and over PostgreSQL, and against a bare FastAPI endpoint (the baseline), same run.

    python bench/sync_server.py [--clients 200] [--seconds 60] [--quick] [--no-postgresql]

Everything listens on 127.0.0.1 only, on free ports. Each server is a subprocess served the
same way (uvicorn, one process, its access log on): `msante-server run` over SQLite in a
temporary data folder, over a throwaway PostgreSQL cluster (tests/pg_cluster.py's functions,
with fsync, full-page writes and synchronous commit back on), and the baseline, an `async def`
endpoint that reads the body and returns a constant. The load generator is this process
(bench/sync_load.py: asyncio, one httpx.AsyncClient and connection per client, each client one
account, device and space, logged in by signing the challenge like a device). It shares the
machine's cores with the servers, so the baseline is driven by the same generator with the
same requests (same bodies, twin routes), and the three targets take turns (up to 4 each, of
at least 5 s) so that the machine's other load falls on each alike. The CPU columns (% of one
core) say who was busy; CPU ms per request (server + database) is the figure least moved by
other load.

Every client enrols (untimed), then pushes 1-3 items and pulls its space, again and again;
requests completed in each turn's window are counted, after a warm-up that lasts until every
client could finish one request. Then each client pulls its whole space back: every
acknowledged item exactly once, unaltered, sequence numbers without gaps. Targets: PostgreSQL
throughput >= 0.3 x the bare endpoint's, zero errors, zero lost or duplicated items. Exit 1 if
one is missed (or PostgreSQL cannot be started without --no-postgresql).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import line  # noqa: E402
from sync_load import Check, Sim, Stats, check, enrol, expect, work  # noqa: E402

HOST = "127.0.0.1"
RATIO_TARGET = 0.3
DEFAULTS, QUICK = (200, 60.0), (20, 10.0)
TIMEOUT = 60.0
KEEPALIVE = 2.0  # under uvicorn's 5 s: the client drops an idle connection before the server does
SLICE, ROUNDS = 5.0, 4  # the targets take turns (4 at most, 5 s at least): other load is shared
WARM = (0.5, 30.0)  # a turn's warm-up: at least, and at most while waiting for every client
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """One server under load: how to start it, and what it measured."""

    name: str
    argv: list[str]
    health: str
    log: Path
    port: int = 0
    db_pid: int | None = None
    pid: int = 0
    stats: Stats = field(default_factory=Stats)
    check: Check | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    rss_mib: float = 0.0

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def bare(self) -> bool:
        """Whether it is the baseline."""
        return self.health.startswith("/bare")

    @property
    def rate(self) -> float:
        """Requests per second over the measured slices."""
        return len(self.stats.latencies) / self.stats.measured if self.stats.measured else 0.0

    def percentile(self, p: int) -> float:
        """The p-th percentile latency in milliseconds."""
        lat = self.stats.latencies
        return statistics.quantiles(lat, n=100)[p - 1] * 1000 if len(lat) > 1 else 0.0

    @property
    def cost_ms(self) -> float:
        """Server and database CPU milliseconds per request (the machine's other load aside)."""
        count = len(self.stats.latencies)
        spent = self.cpu.get("server", 0.0) + self.cpu.get("database", 0.0)
        return spent / count * 1000 if count else 0.0

    def sample(self) -> dict[str, float]:
        """CPU seconds so far: the server, this process (the generator), the database."""
        got = {"server": cpu_seconds(self.pid), "generator": time.process_time()}
        if self.db_pid is not None:
            got["database"] = family_cpu(self.db_pid)
        return got


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 first); [] if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()


def family_cpu(pid: int) -> float:
    """CPU seconds of `pid`, of its children (PostgreSQL's backends) and of those it reaped."""
    own = _stat(pid)
    if not own:
        return 0.0
    ticks = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (f := _stat(int(entry.name))) and f[1] == str(pid):
            ticks += int(f[11]) + int(f[12])
    return ticks / TICK


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    f = _stat(pid)
    return (int(f[11]) + int(f[12])) / TICK if f else 0.0


def peak_rss_mib(pid: int) -> float:
    """The peak resident set size of a live process (VmHWM), in MiB."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child_env() -> dict[str, str]:
    """This tree's code first on the path; no server settings from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSANTE_SERVER_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def serving(targets: list[Target]) -> Iterator[None]:
    """Start every server at once, wait until each answers its health route, stop them all."""
    procs = []
    try:
        for t in targets:
            t.port = free_port()
            with t.log.open("wb") as out:
                procs.append(subprocess.Popen([*t.argv, "--port", str(t.port)], stdout=out,
                                              stderr=subprocess.STDOUT, env=child_env()))
            t.pid = procs[-1].pid
        for t, proc in zip(targets, procs, strict=True):
            _wait_ready(t, proc)
        yield
        for t in targets:
            t.rss_mib = peak_rss_mib(t.pid)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(t: Target, proc: subprocess.Popen[bytes]) -> None:
    """Wait (60 s at most) until the server answers 200 on its health route."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = t.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{t.name} did not start: " + " | ".join(tail))
        try:
            if httpx.get(t.url + t.health, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def server_argv(data: Path, db: str) -> list[str]:
    """`msante-server run` on 127.0.0.1 (the venv's script, else the module); --port added."""
    script = Path(sys.executable).with_name("msante-server")
    prefix = [str(script)] if script.exists() else [
        sys.executable, "-c", "from msante.sync.server.cli import run; run()"]
    return [*prefix, "run", "--data", str(data), "--host", HOST,
            *(["--db", db] if db else [])]


def serve_bare(port: int) -> None:
    """The baseline: FastAPI returning a constant, served like msante-server (uvicorn, info)."""
    import uvicorn

    app = FastAPI()
    constant = {"ok": True}

    @app.get("/bare/health")
    async def health() -> dict[str, bool]:
        return constant

    @app.post("/bare/{space}/items")
    async def push(space: str, request: Request) -> dict[str, bool]:
        await request.body()
        return constant

    @app.get("/bare/{space}/items")
    async def pull(space: str) -> dict[str, bool]:
        return constant

    uvicorn.run(app, host=HOST, port=port, log_level="info")


async def drive(targets: list[Target], clients: int, seconds: float) -> None:
    """Enrol the clients, then load each target in turn, slice after slice, and check."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1,
                          keepalive_expiry=KEEPALIVE)
    sims = {t.name: [Sim(httpx.AsyncClient(base_url=t.url, timeout=TIMEOUT, limits=limits),
                         random.Random(n), t.bare) for n in range(clients)] for t in targets}
    try:
        await asyncio.gather(*(_enrol(t, sims[t.name]) for t in targets))
        rounds = max(1, min(ROUNDS, round(seconds / SLICE)))
        for _ in range(rounds):
            for t in targets:
                await _slice(t, sims[t.name], seconds / rounds)
        for t in targets:
            if not t.bare:
                t.check = Check()
                await asyncio.gather(*(check(s, t.stats, t.check) for s in sims[t.name]))
    finally:
        await asyncio.gather(*(s.http.aclose() for group in sims.values() for s in group))


async def _enrol(t: Target, sims: list[Sim]) -> None:
    """Register and log in every client (the baseline: open each connection)."""
    if t.bare:
        await asyncio.gather(*(s.http.get(t.health) for s in sims))
        return
    server_id = expect(await sims[0].http.get(t.health), 200)["server"]
    await asyncio.gather(*(enrol(s, t.stats, server_id) for s in sims))
    t.stats.throttled = 0  # the enrolment's 429s (one address for every client) are not load


async def _slice(t: Target, sims: list[Sim], seconds: float) -> None:
    """Load one target: a warm-up until every client could finish a request, then a window of
    `seconds` with CPU sampled at its edges, then the requests in flight finish (not counted)."""
    stats = t.stats
    stats.stop_at, stats.window = math.inf, (math.inf, math.inf)
    first, warm_from = stats.completed, time.perf_counter()
    tasks = [asyncio.create_task(work(s, stats)) for s in sims]
    await asyncio.sleep(WARM[0])
    while stats.completed - first < len(sims) and time.perf_counter() - warm_from < WARM[1]:
        await asyncio.sleep(0.05)
    before, begin = t.sample(), time.perf_counter()
    stats.window = (begin, begin + seconds)
    stats.stop_at = begin + seconds
    await asyncio.sleep(seconds)
    after = t.sample()
    stats.measured += time.perf_counter() - begin
    await asyncio.gather(*tasks)
    for key, value in after.items():
        t.cpu[key] = t.cpu.get(key, 0.0) + value - before[key]


@contextmanager
def postgresql(base: Path) -> Iterator[tuple[str, int, Path]]:
    """A throwaway cluster (tests/pg_cluster.py), durable settings back on: its URL, the
    postmaster's pid and the cluster's folder (its socket)."""
    from tests.pg_cluster import (
        Cluster,
        create_database,
        find_bindir,
        run_user,
        start,
        start_watchdog,
        teardown,
    )

    base.mkdir(mode=0o711)
    base.chmod(0o711)  # the cluster's user must reach its own folder inside
    try:
        cluster = Cluster(base, find_bindir(), run_user())
        start(cluster)
        start_watchdog(cluster, os.getpid())
        _durable(cluster.home)
        create_database(cluster, "bench")
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield cluster.url("bench"), pid, cluster.home
    finally:
        teardown(base)


def _durable(home: Path) -> None:
    """Undo the test cluster's shortcuts: fsync, full-page writes, synchronous commit."""
    import psycopg

    from tests.pg_cluster import DB_USER, PORT

    with psycopg.connect(host=str(home), port=PORT, user=DB_USER, dbname="postgres",
                         autocommit=True) as conn:
        for name in ("fsync", "full_page_writes", "synchronous_commit"):
            conn.execute(f"ALTER SYSTEM SET {name} = on")
        conn.execute("SELECT pg_reload_conf()")


def _sessions(home: Path) -> int:
    """How many sessions the bench database has seen (PostgreSQL 14 and later; else -1)."""
    import psycopg

    from tests.pg_cluster import DB_USER, PORT

    with psycopg.connect(host=str(home), port=PORT, user=DB_USER, dbname="bench") as conn:
        if conn.info.server_version < 140000:
            return -1
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = 'bench'"
                           ).fetchone()
    return int(row[0]) if row else -1


def run_all(args: argparse.Namespace, tmp: Path) -> tuple[list[Target], str | None]:
    """The baseline, SQLite and PostgreSQL, interleaved; why PostgreSQL was left out, if so."""
    targets = [Target("bare FastAPI endpoint", [sys.executable, __file__, "--serve-bare"],
                      "/bare/health", tmp / "bare.log"),
               Target("msante-server, SQLite", server_argv(tmp / "sqlite", ""), "/v1/health",
                      tmp / "sqlite.log")]
    with ExitStack() as stack:
        skipped = "--no-postgresql" if args.no_postgresql else None
        if not skipped:
            from tests.pg_cluster import PgUnavailable

            try:
                db, postmaster, home = stack.enter_context(postgresql(tmp / "pg"))
                targets.append(Target("msante-server, PostgreSQL",
                                      server_argv(tmp / "pgdata", db), "/v1/health",
                                      tmp / "pg.log", db_pid=postmaster))
            except PgUnavailable as exc:
                skipped = f"PostgreSQL could not be started: {exc}"
        stack.enter_context(serving(targets))
        asyncio.run(drive(targets, args.clients, args.seconds))
        if not skipped:
            print(f"PostgreSQL sessions opened by the server: {_sessions(home)} (a pool that "
                  "reconnects under load shows here)")
    return targets, skipped


def table(results: list[Target]) -> None:
    """One row per phase: rate, latencies, errors, items, CPU (% of one core), memory."""
    print(f"{'':<28}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'429s':>5}"
          f"{'items':>7}{'CPU% srv':>9}{'db':>5}{'gen':>5}{'CPU ms/req':>11}{'RSS MiB':>8}")
    for r in results:
        cpu = {k: v / r.stats.measured * 100 for k, v in r.cpu.items()}
        print(f"{r.name:<28}{r.rate:7.0f}{r.percentile(50):8.1f}{r.percentile(99):8.1f}"
              f"{sum(r.stats.errors.values()):7d}{r.stats.throttled:5d}"
              f"{r.check.stored if r.check else 0:7d}{cpu['server']:9.0f}"
              f"{cpu.get('database', 0.0):5.0f}{cpu['generator']:5.0f}{r.cost_ms:11.1f}"
              f"{r.rss_mib:8.0f}")
        for what, count in r.stats.errors.most_common(5):
            print(f"    error: {what} x {count}")


def verdict(results: list[Target], skipped: str | None) -> bool:
    """The ratios and the targets; True when every target is met."""
    bare, ok = results[0], True
    for r in results[1:]:
        ratio = r.rate / bare.rate if bare.rate else 0.0
        if "PostgreSQL" in r.name:
            ok = line(f"{r.name}: throughput / bare endpoint", ratio,
                      f">= {RATIO_TARGET}x", ratio >= RATIO_TARGET) and ok
        else:
            print(f"{r.name + ': throughput / bare endpoint':<64} {ratio:8.2f}x  (no target)")
        cost = r.cost_ms / bare.cost_ms if bare.cost_ms else 0.0
        print(f"{r.name + ': CPU per request / bare endpoint':<64} {cost:8.2f}x  (no target)")
    errors = sum(sum(r.stats.errors.values()) for r in results)
    ok = line("errors, every phase", errors, "0", errors == 0, unit="") and ok
    for r in results[1:]:
        assert r.check is not None
        c = r.check
        bad = line(f"{r.name}: items lost / duplicated / altered / foreign / gaps",
                   c.bad, "0", c.bad == 0, unit="")
        if not bad:
            print(f"    lost {c.lost}, duplicated {c.duplicated}, altered {c.altered}, "
                  f"foreign {c.foreign}, spaces with gaps {c.gaps}")
        ok = bad and ok
        ok = line(f"{r.name}: items pushed and pulled back", c.stored, "> 0", c.stored > 0,
                  unit="") and ok
    if skipped:
        print(f"PostgreSQL not measured: {skipped}")
        ok = ok and skipped == "--no-postgresql"
    return ok


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options; --quick sets 20 clients for 10 s unless they are given."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, help=f"simulated clients (default {DEFAULTS[0]})")
    p.add_argument("--seconds", type=float, help=f"measured window (default {DEFAULTS[1]:.0f})")
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK[0]} clients for {QUICK[1]:.0f} s")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite and the baseline only")
    p.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    clients, seconds = QUICK if args.quick else DEFAULTS
    args.clients = args.clients or clients
    args.seconds = args.seconds or seconds
    if not 1 <= args.clients <= 1000 or not 0.5 <= args.seconds <= 600:
        p.error("--clients must be 1 to 1000 and --seconds 0.5 to 600")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the three phases, print the table and the targets; 0 when every one is met."""
    args = parse(argv)
    if args.serve_bare:
        serve_bare(args.port)
        return 0
    print(f"{args.clients} clients for {args.seconds:.0f} s on {HOST}, after a warm-up; the "
          f"load generator is this process (asyncio + httpx, one connection per client) on "
          f"the same {os.cpu_count()} cores as the servers: the bare endpoint is driven by it "
          f"too, CPU columns in % of one core. Load average at the start: "
          f"{os.getloadavg()[0]:.1f}.")
    with tempfile.TemporaryDirectory(prefix="msante-bench-server-") as folder:
        Path(folder).chmod(0o711)  # PostgreSQL's user must reach its cluster's folder inside
        try:
            results, skipped = run_all(args, Path(folder))
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"The bench could not run: {type(exc).__name__}: {exc}")
            return 1
    table(results)
    print("load average (1, 5, 15 min) at the end: " + ", ".join(
        f"{x:.1f}" for x in os.getloadavg()))
    return 0 if verdict(results, skipped) else 1


if __name__ == "__main__":
    raise SystemExit(main())
