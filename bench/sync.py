"""The sync's own figures: a first sync to a new device, and a sync with nothing to do, each as
a ratio against a baseline measured in the same run (issue 12, "Load and performance").

    python bench/sync.py [--quick | --size R,D,MB] [--keep DIR] [--profile]

A server runs in a subprocess on 127.0.0.1 (bench/sync_fixture.py: `create_app(settings)` over
SQLite with the default limits, and two trivial routes in the same process). Device A's vault
is built with the core API: 10,000 records (measurements, appointments, allergies) and 1,000
documents of random bytes, about 500 MB (--quick: 1,000, 50, 20 MB); A is set up for sync, and
a new device B is linked to it (`devices link --json` / `sync setup --link-file`); both are
unlocked (the agent holds the keys: no KDF in what is timed). Then:

1. First sync: `msante sync` on A (the push) then on B (the pull), each a subprocess, timed
   from outside, against streaming the same bytes (the request and response bodies the
   server counted during the two syncs) through a bare httpx upload and download to the same
   server process (median of 3, right after): <= 2x. Peak memory: each syncing process's
   maximum RSS (wait4) < 200 MiB; the server's VmHWM < 300 MiB. B must then hold what A holds.
   A sync that fails is run again (it resumes where it stopped), up to 6 times, every run
   counted in the time; the runs it took are a figure (target: one each side). Printed too:
   requests, bytes, CPU seconds of client and server against the baseline's (the figure the
   machine's other load moves least; no target).
2. A sync with nothing to do, on each device: <= 1.5x `msante status` (both subprocesses,
   interleaved, median of 9 runs; --quick 5); with the requests and CPU time per sync.

Exit 1 if a target is missed. --keep DIR keeps the vaults and the server's data there (the
server is stopped). --profile runs both syncs of figure 1 under cProfile (their times then
mean nothing) and prints where they spent it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import line  # noqa: E402
from sync_fixture import (  # noqa: E402
    HOST,
    Device,
    MiB,
    Size,
    build_vault,
    count_blobs,
    link,
    pieces,
    serve,
)
from sync_server import cpu_seconds, free_port, peak_rss_mib  # noqa: E402

FULL, QUICK = Size(10_000, 1_000, 500), Size(1_000, 50, 20)
FIRST_RATIO, NOOP_RATIO = 2.0, 1.5
CLIENT_MIB, SERVER_MIB = 200, 300
BASELINE_RUNS = 3
NOOP_RUNS, NOOP_RUNS_QUICK = 9, 5
MAX_RUNS = 6


@dataclass
class Run:
    """One subprocess: wall seconds, CPU seconds, peak RSS, its output, exit code, errors."""

    seconds: float
    cpu: float
    rss_mib: float
    out: str
    code: int = 0
    err: str = ""

    def checked(self, what: str) -> Run:
        """Itself, or RuntimeError if it failed."""
        if self.code != 0:
            raise RuntimeError(f"{what} exited {self.code}: {self.err.strip()[-1500:]}")
        return self


@dataclass
class Phase:
    """One side of the first sync: the runs of `msante sync` it took, the server's CPU."""

    runs: list[Run]
    server_cpu: float

    @property
    def seconds(self) -> float:
        """Wall seconds of every run."""
        return sum(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        """Client CPU seconds of every run."""
        return sum(r.cpu for r in self.runs)

    @property
    def rss_mib(self) -> float:
        """The largest peak RSS of a run."""
        return max(r.rss_mib for r in self.runs)

    def result(self) -> dict[str, int]:
        """What the runs that finished printed, added up."""
        total: dict[str, int] = {}
        for r in self.runs:
            if r.code == 0:
                for key, value in result_of(r).items():
                    if isinstance(value, int):  # not the `unexpected` list
                        total[key] = total.get(key, 0) + value
        return total


@dataclass
class Server:
    """The launcher subprocess."""

    proc: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.proc.pid

    def counters(self, reset: bool = False) -> dict[str, int]:
        """Body bytes in and out of msante's app, and requests, since the last reset."""
        got = httpx.get(f"{self.url}/bare/counters", params={"reset": int(reset)}, timeout=30)
        got.raise_for_status()
        return dict(got.json())


@contextmanager
def server(data: Path, log: Path) -> Iterator[Server]:
    """The launcher on a free port of 127.0.0.1, until the block ends."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env = {k: v for k, v in env.items()
           if not k.startswith("MSANTE_SERVER_") and k != "PYTHONDONTWRITEBYTECODE"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(data), "--port",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start: " + " | ".join(
                    log.read_text(errors="replace").strip().splitlines()[-5:]))
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield Server(proc, url)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_child(argv: list[str], env: dict[str, str], out_file: Path) -> Run:
    """Run a subprocess to its end, timed from outside, with its own resource usage (wait4)."""
    err_file = out_file.with_suffix(".err")
    with out_file.open("wb") as out, err_file.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
               out_file.read_text(errors="replace"), os.waitstatus_to_exitcode(status),
               err_file.read_text(errors="replace"))


def sync_phase(dev: Device, srv: Server, name: str, work: Path, profile: bool) -> Phase:
    """`msante sync` on `dev`, run again (it resumes) while it fails, MAX_RUNS times at most:
    a first sync should take one run, and the figures say how many it took."""
    runs: list[Run] = []
    cpu = cpu_seconds(srv.pid)
    for n in range(MAX_RUNS):
        r = run_child(sync_argv(work / f"{name}-{n}.prof" if profile else None), dev.env(),
                      work / f"{name}-{n}.out")
        runs.append(r)
        if r.code == 0:
            return Phase(runs, cpu_seconds(srv.pid) - cpu)
        last = (r.err.strip().splitlines() or [""])[-1]
        print(f"  {name}: msante sync exited {r.code} after {r.seconds:.0f} s: {last}")
    raise RuntimeError(f"{name}: msante sync failed {MAX_RUNS} times")


def sync_argv(profile: Path | None = None) -> list[str]:
    """`msante sync --json`, under cProfile if asked."""
    prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    return [*prefix, "-m", "msante", "sync", "--json"]


def result_of(run: Run) -> dict[str, Any]:
    """What `msante sync --json` printed (RuntimeError if it is not a JSON object)."""
    try:
        found = json.loads(run.out)
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, dict):
        raise RuntimeError(f"msante sync --json printed no JSON object: {run.out[:300]!r}")
    return found


# -- figure 1 -------------------------------------------------------------------------------

def baseline(srv: Server, up: int, down: int) -> tuple[float, float]:
    """Seconds to stream `up` bytes to the sink and `down` bytes from the source, and the CPU
    seconds it took (this process and the server's)."""
    url = srv.url
    with httpx.Client(timeout=600) as http:
        cpu = cpu_seconds(srv.pid) + time.process_time()
        start = time.perf_counter()
        got = http.put(f"{url}/bare/sink", content=pieces(up))
        got.raise_for_status()
        if got.json()["received"] != up:
            raise RuntimeError("the sink did not receive every byte")
        received = 0
        with http.stream("GET", f"{url}/bare/source/{down}") as response:
            response.raise_for_status()
            for part in response.iter_bytes():
                received += len(part)
        if received != down:
            raise RuntimeError("the source did not send every byte")
        seconds = time.perf_counter() - start
        return seconds, cpu_seconds(srv.pid) + time.process_time() - cpu


def counts(dev: Device) -> list[dict[str, Any]]:
    """`msante status --json`'s records per person (their own audit activity aside)."""
    state = json.loads(dev.msante("status", "--json"))
    if state.get("locked", True):
        raise RuntimeError(f"{dev.home} is locked: the agent does not hold its keys")
    return sorted(({k: v for k, v in p.items() if k != "activity"} for p in state["people"]),
                  key=lambda p: str(p["name"]))


def first_sync(a: Device, b: Device, srv: Server, made: dict[str, int], work: Path,
               profile: bool) -> list[bool]:
    """Figure 1: push on A, pull on B, against the baseline; memory; B holds what A holds."""
    srv.counters(reset=True)
    push = sync_phase(a, srv, "push", work, profile)
    pushed = srv.counters()
    pull = sync_phase(b, srv, "pull", work, profile)
    moved = srv.counters()
    server_mib = peak_rss_mib(srv.pid)
    measured = [baseline(srv, moved["in"], moved["out"]) for _ in range(BASELINE_RUNS)]
    times = [t for t, _cpu in measured]
    base, base_cpu = statistics.median(times), statistics.median(c for _t, c in measured)
    sync_cpu = push.cpu + pull.cpu + push.server_cpu + pull.server_cpu
    total = push.seconds + pull.seconds
    print(f"  moved: {moved['in'] / MiB:.1f} MiB up, {moved['out'] / MiB:.1f} MiB down, "
          f"{moved['requests']} requests to msante's API (push {pushed['requests']}, pull "
          f"{moved['requests'] - pushed['requests']}); the push's own: "
          f"{pushed['in'] / MiB:.1f} MiB up, {pushed['out'] / MiB:.1f} MiB down")
    for name, phase in (("push (A)", push), ("pull (B)", pull)):
        print(f"  {name}: {phase.seconds:.1f} s wall in {len(phase.runs)} run(s), client CPU "
              f"{phase.cpu:.1f} s, server CPU {phase.server_cpu:.1f} s, client peak RSS "
              f"{phase.rss_mib:.0f} MiB; {phase.result()}")
    print(f"  baseline (upload + download of the same bytes): "
          f"{', '.join(f'{t:.2f}' for t in times)} s; median {base:.2f} s "
          f"({(moved['in'] + moved['out']) / MiB / base:.0f} MiB/s)")
    print(f"  CPU seconds (client + server), the figure the machine's other load moves least: "
          f"sync {sync_cpu:.1f}, baseline {base_cpu:.2f}: {sync_cpu / base_cpu:.1f}x (no target)")
    ok = [_same_records(a, b, made)]
    if profile:
        print("  (under cProfile: the times below mean nothing)")
        for name, phase in (("push", push), ("pull", pull)):
            print_profile([work / f"{name}-{n}.prof" for n in range(len(phase.runs))], name)
    runs = len(push.runs) + len(pull.runs)
    ok.append(line("first sync: runs of msante sync it took (push + pull)", runs, "2",
                   runs == 2, unit=""))
    ok.append(line("first sync (push + pull) / bare httpx upload + download", total / base,
                   f"<= {FIRST_RATIO}", total / base <= FIRST_RATIO))
    client_mib = max(push.rss_mib, pull.rss_mib)
    ok.append(line("first sync: peak client memory (max RSS of a sync)", client_mib,
                   f"< {CLIENT_MIB} MiB", client_mib < CLIENT_MIB, unit=" MiB"))
    ok.append(line("first sync: peak server memory (VmHWM)", server_mib,
                   f"< {SERVER_MIB} MiB", server_mib < SERVER_MIB, unit=" MiB"))
    return ok


def _same_records(a: Device, b: Device, made: dict[str, int]) -> bool:
    """Whether B now holds every record and every document's file A holds."""
    here, there = counts(a), counts(b)
    blobs = count_blobs(b.home)
    same = here == there and blobs == made["documents"]
    if not same:
        print(f"  A holds {here}\n  B holds {there}\n  B's files: {blobs} of "
              f"{made['documents']}")
    return line("records and files missing on B after the first sync", 0 if same else 1,
                "0", same, unit="")


def print_profile(paths: list[Path], name: str, top: int = 25) -> None:
    """The functions that took the most time of one profiled side (own, then cumulative)."""
    import pstats

    for key in ("tottime", "cumulative"):
        print(f"  -- {name}: top {top} by {key} --")
        stats = pstats.Stats(*(str(p) for p in paths), stream=sys.stdout)
        stats.strip_dirs().sort_stats(key).print_stats(top)


# -- figure 2 -------------------------------------------------------------------------------

def noop_sync(devices: dict[str, Device], srv: Server, runs: int, work: Path) -> list[bool]:
    """Figure 2: `msante sync` with nothing to do vs `msante status`, interleaved, per device;
    also the requests and the server's CPU time per sync."""
    status = [sys.executable, "-m", "msante", "status"]
    times: dict[tuple[str, str], list[float]] = {}
    cost: dict[str, list[tuple[int, float, float]]] = {}
    for n in range(runs):
        for name, dev in devices.items():
            pair = [("status", status), ("sync", sync_argv())]
            for what, argv in pair if n % 2 == 0 else reversed(pair):
                srv.counters(reset=True)
                cpu = cpu_seconds(srv.pid)
                r = run_child(argv, dev.env(), work / f"noop-{name}-{what}.out").checked(what)
                times.setdefault((name, what), []).append(r.seconds)
                if what == "sync":
                    cost.setdefault(name, []).append(
                        (srv.counters()["requests"], cpu_seconds(srv.pid) - cpu, r.cpu))
                    moved = result_of(r)
                    if moved.get("pushed") or moved.get("pulled"):
                        raise RuntimeError(f"a sync with nothing to do moved items: {moved}")
    ok = []
    for name in devices:
        sync, stat = (statistics.median(times[(name, w)]) for w in ("sync", "status"))
        each = ", ".join(f"{t * 1000:.0f}" for t in times[(name, "sync")])
        requests, server_cpu, client_cpu = (statistics.median(c)
                                            for c in zip(*cost[name], strict=True))
        print(f"  device {name}: sync {sync * 1000:.0f} ms, status {stat * 1000:.0f} ms "
              f"(medians of {runs}); each sync: {each} ms; per sync {requests:.0f} requests, "
              f"server CPU {server_cpu * 1000:.0f} ms, client CPU {client_cpu * 1000:.0f} ms")
        ok.append(line(f"sync with nothing to do / msante status, device {name}", sync / stat,
                       f"<= {NOOP_RATIO}", sync / stat <= NOOP_RATIO))
    return ok


# -- the run --------------------------------------------------------------------------------

def bench(args: argparse.Namespace, root: Path) -> bool:
    """Build, link, measure; whether every target is met."""
    size = args.size or (QUICK if args.quick else FULL)
    compileall.compile_dir(ROOT / "msante", quiet=1)  # as installed: no module compiled per run
    a, b = Device(root / "a"), Device(root / "b")
    for dev in (a, b):
        dev.prepare()
    start = time.perf_counter()
    made = build_vault(a.home, size, root / "scratch")
    print(f"vault A built with the core API in {time.perf_counter() - start:.0f} s: {made}; "
          f"{sum(f.stat().st_size for f in (a.home / 'blobs').rglob('*') if f.is_file()) / MiB:.0f}"
          " MiB of encrypted files")
    with server(root / "server", root / "server.log") as srv, unlocked(a, b):
        a.msante("sync", "setup", srv.url, "--json")
        link(a, b, srv.url)
        b.msante("unlock", "--timeout", "120m", passphrase=True)
        print("A set up, B linked (nothing to sync yet); each sync: msante sync --json")
        print("1. first sync of A's vault to the new device B")
        ok = first_sync(a, b, srv, made, root, args.profile)
        print("2. a sync with nothing to do")
        ok += noop_sync({"A": a, "B": b}, srv, NOOP_RUNS_QUICK if args.quick else NOOP_RUNS, root)
    return all(ok)


@contextmanager
def unlocked(first: Device, new: Device) -> Iterator[None]:
    """`first` unlocked for the block (the new device is unlocked once its vault exists);
    both locked again after, whatever happened (their agents stop)."""
    first.msante("unlock", "--timeout", "120m", passphrase=True)
    try:
        yield
    finally:
        for dev in (first, new):
            if dev.home.exists():
                try:
                    dev.msante("lock", timeout=60)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"  could not lock {dev.home}: {exc}")


def _size(text: str) -> Size:
    """`--size R,D,MB`: bounded, so that a typo cannot fill the disk."""
    try:
        records, documents, mib = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("three integers: records,documents,MB") from None
    if not (0 <= records <= 100_000 and 0 <= documents <= 10_000 and 0 <= mib <= 5_000):
        raise argparse.ArgumentTypeError("at most 100000 records, 10000 documents, 5000 MB")
    return Size(records, documents, mib)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options (and the hidden ones of the launcher and the stand-in)."""
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK.records:,} records, {QUICK.documents} documents, "
                        f"{QUICK.mib} MB")
    p.add_argument("--size", metavar="R,D,MB", type=_size,
                   help="another size: records, documents, megabytes of files (e.g. for "
                        "--profile)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the vaults and the server's data in DIR (new or empty)")
    p.add_argument("--profile", action="store_true",
                   help="profile the first sync's two processes (their times then mean "
                        "nothing)")
    p.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the figures; 0 when every target is met."""
    args = parse(argv)
    if args.serve is not None:
        serve(args.serve, args.port)
        return 0
    size = args.size or (QUICK if args.quick else FULL)
    print(f"{size.records:,} records and {size.documents:,} documents ({size.mib} MB) over "
          f"a SQLite msante-server on {HOST}, {os.cpu_count()} cores; load average at the "
          f"start: {os.getloadavg()[0]:.1f}")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            print(f"--keep {args.keep}: the folder is not empty")
            return 2
    with tempfile.TemporaryDirectory(prefix="msante-bench-sync-") as folder:
        root = args.keep.resolve() if args.keep is not None else Path(folder)
        try:
            ok = bench(args, root)
        except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
            print(f"The bench could not run: {type(exc).__name__}: {exc}")
            return 1
    print("load average (1, 5, 15 min) at the end: " + ", ".join(
        f"{x:.1f}" for x in os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
