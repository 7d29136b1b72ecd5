"""Long-lived extraction workers (formats/extract_pool.py): every file gets a result, once;
slow, crashing and memory-hungry files are flagged while the pool carries on; no worker ever
outlives the pool, whatever happens to the caller.

Misbehaviour is injected with `hooked_extract`, an extractor chosen by file name that the
workers import by reference (spawn): "sleep-S-…" sleeps S seconds, "exit-…" exits at once,
"segv-…" segfaults, "hog-…" allocates 2 GiB; any other file goes to the real `extract`."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.errors import EnvironmentProblem
from msante.formats.extract_pool import ExtractionPool, Limits, Ticket
from msante.formats.pdf_in import Extraction, extract
from tests import pdfgen

ROOT = Path(__file__).resolve().parent.parent
LINUX = sys.platform.startswith("linux")
EXPECTED_FLAG = {"truncated": "unreadable", "garbage": "unreadable", "not_pdf": "unreadable",
                 "encrypted": "encrypted", "image_only": "no-text", "flate_bomb": "limits",
                 "page_tree_loop": "limits", "deep_tree": "limits"}


def hooked_extract(path: str, password: str | None, *, max_stream_mib: int) -> Extraction:
    """The real extractor, unless the file name asks to sleep, exit, segfault or allocate."""
    name = Path(path).name
    if name.startswith("sleep-"):
        time.sleep(float(name.split("-")[1]))
    elif name.startswith("exit-"):
        os._exit(3)
    elif name.startswith("segv-"):
        os.kill(os.getpid(), signal.SIGSEGV)
    elif name.startswith("hog-"):
        hog = bytearray(2 << 30)
        return Extraction(text=str(len(hog)))
    return extract(path, password, max_stream_mib=max_stream_mib)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie awaiting its reaper does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def all_gone(pids: list[int], seconds: float = 5.0) -> bool:
    """Whether every process of `pids` has ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def put(folder: Path, name: str, data: bytes | None = None) -> Path:
    """A small valid PDF (or `data`) named `name` under `folder`."""
    path = folder / name
    path.write_bytes(pdfgen.huge_text_pdf(1) if data is None else data)
    return path


def collect(results: Iterator[tuple[Ticket, Extraction]]) -> dict[str, Extraction]:
    """Results by file name, checking that no file comes twice."""
    out: dict[str, Extraction] = {}
    for ticket, extraction in results:
        name = Path(ticket.path).name
        assert name not in out
        out[name] = extraction
    return out


pytestmark = pytest.mark.skipif(not LINUX, reason="the worker limits are tested on Linux")


@pdfgen.needs_font
def test_every_submitted_file_comes_back_once_with_its_flag(tmp_path) -> None:
    """A folder import gets one result per file, good and bad alike, each flagged as the
    documents service expects, and the tickets match what was submitted."""
    files = pdfgen.many(40, bad=8, seed=1)
    with ExtractionPool(workers=2) as pool:
        tickets = [pool.submit(put(tmp_path, name, data)) for name, data, _kind in files]
        got = collect(pool.results())
    assert sorted(t.id for t in tickets) == list(range(1, 41)) and len(got) == 40
    for name, _data, kind in files:
        flags = got[name].flags
        assert flags == ((EXPECTED_FLAG[kind],) if kind in EXPECTED_FLAG else ()), name


def test_map_is_lazy_and_yields_in_completion_order(tmp_path) -> None:
    """`map` keeps at most two files per worker in flight (memory stays flat for thousands
    of paths) and a slow first file does not hold back the quick ones behind it."""
    names = ["sleep-1.5-first.pdf"] + [f"quick-{i}.pdf" for i in range(8)]
    paths = [put(tmp_path, name) for name in names]
    pulled = []

    def source() -> Iterator[Path]:
        for path in paths:
            pulled.append(path)
            yield path

    with ExtractionPool(workers=2, extractor=hooked_extract) as pool:
        order = []
        for ticket, extraction in pool.map(source()):
            assert len(pulled) <= len(order) + 2 * 2 + 1
            order.append(Path(ticket.path).name)
            assert extraction.flags == ()
    assert sorted(order) == sorted(names) and order[-1] == "sleep-1.5-first.pdf"


def test_a_file_over_the_time_limit_is_flagged_and_its_worker_replaced(tmp_path) -> None:
    """A file that takes too long is flagged "limits" with the limit in the reason; its worker
    is killed and a fresh one extracts the next files."""
    with ExtractionPool(workers=1, limits=Limits(seconds=1.0), extractor=hooked_extract) as pool:
        first = pool.pids()
        pool.submit(put(tmp_path, "sleep-60-stuck.pdf"))
        pool.submit(put(tmp_path, "after.pdf"))
        started = time.monotonic()
        got = collect(pool.results())
        assert time.monotonic() - started < 10
        assert pool.pids() != first and all_gone(first)
    stuck = got["sleep-60-stuck.pdf"]
    assert stuck.flags == ("limits",) and stuck.reason == "took more than 1 s"
    assert got["after.pdf"].flags == () and "glycemie" in got["after.pdf"].text


@pytest.mark.parametrize("name,why", [("exit-now.pdf", "exit code 3"),
                                      ("segv-now.pdf", "killed by SIGSEGV")])
def test_a_worker_that_dies_is_flagged_and_replaced(tmp_path, name, why) -> None:
    """A crash of the parser (a segfault in a C extension, an abrupt exit) costs one file,
    flagged "limits" with the cause, not the import."""
    with ExtractionPool(workers=1, extractor=hooked_extract) as pool:
        pool.submit(put(tmp_path, name))
        pool.submit(put(tmp_path, "after.pdf"))
        got = collect(pool.results())
    assert got[name].flags == ("limits",) and why in (got[name].reason or "")
    assert got["after.pdf"].flags == ()


def test_a_worker_lost_while_idle_is_replaced_and_the_job_goes_on(tmp_path) -> None:
    """A worker killed from outside between two files (the OOM killer, an admin) is noticed;
    the next file goes to a fresh worker instead of a dead pipe."""
    with ExtractionPool(workers=1) as pool:
        pool.submit(put(tmp_path, "first.pdf"))
        collect(pool.results())
        lost = pool.pids()[0]
        os.kill(lost, signal.SIGKILL)
        assert all_gone([lost])
        pool.submit(put(tmp_path, "second.pdf"))
        got = collect(pool.results())
        assert got["second.pdf"].flags == () and pool.pids() != [lost]
    with pytest.raises(ValueError, match="closed"):
        pool.submit(put(tmp_path, "late.pdf"))


def test_the_memory_limit_is_enforced(tmp_path) -> None:
    """A worker cannot take 2 GiB: the allocation fails under its RLIMIT_AS, the file is
    flagged "limits" and the same pool goes on."""
    limits = Limits(memory_mib=256)
    with ExtractionPool(workers=1, limits=limits, extractor=hooked_extract) as pool:
        pool.submit(put(tmp_path, "hog-2g.pdf"))
        pool.submit(put(tmp_path, "after.pdf"))
        got = collect(pool.results())
    assert got["hog-2g.pdf"].flags == ("limits",)
    assert "out of memory (limit 256 MiB)" == got["hog-2g.pdf"].reason
    assert got["after.pdf"].flags == ()


def test_workers_are_hardened(tmp_path) -> None:
    """Workers run with the memory limit, no core dumps (a crash must not write parsed health
    data to disk) and a lower priority than the importer."""
    with ExtractionPool(workers=1, limits=Limits(memory_mib=300)) as pool:
        pool.submit(put(tmp_path, "ready.pdf"))
        collect(pool.results())  # the worker has started, so it has set its limits
        pid = pool.pids()[0]
        limits = Path(f"/proc/{pid}/limits").read_text()
        nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    assert f"Max address space         {300 << 20}" in limits
    assert "Max core file size        0" in limits
    assert nice >= os.nice(0) + 5


def busy_pool(tmp_path: Path) -> ExtractionPool:
    """A pool of two workers, one of them busy for a minute."""
    pool = ExtractionPool(workers=2, extractor=hooked_extract)
    pool.submit(put(tmp_path, "quick.pdf"))
    for _result in pool.results():
        break
    pool.submit(put(tmp_path, "sleep-60-busy.pdf"))
    return pool


@pytest.mark.parametrize("how", ["close", "exception", "interrupt", "garbage"])
def test_no_worker_outlives_the_pool(tmp_path, how) -> None:
    """Workers, even busy ones, end at close, when the consumer raises, on Ctrl-C, or when a
    forgotten pool is collected — quickly, without waiting for the file being extracted."""
    pool = busy_pool(tmp_path)
    pids = pool.pids()
    started = time.monotonic()
    if how == "close":
        pool.close()
    elif how == "garbage":
        del pool
        gc.collect()
    else:
        error = ValueError if how == "exception" else KeyboardInterrupt
        with pytest.raises(error), pool:
            pool.submit(put(tmp_path, "quick-2.pdf"))
            for _ticket, _extraction in pool.results():
                raise error("the consumer failed")
    assert all_gone(pids) and time.monotonic() - started < 8


def test_workers_die_with_a_killed_parent(tmp_path) -> None:
    """If the importer is SIGKILLed mid-import (no cleanup code runs), its busy workers die
    too instead of parsing on as orphans."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(ROOT)!r}]
        from msante.formats.extract_pool import ExtractionPool
        if __name__ == "__main__":
            from pathlib import Path
            from tests.test_extract_pool import busy_pool
            pool = busy_pool(Path({str(tmp_path)!r}))
            print(*pool.pids(), flush=True)
            time.sleep(60)
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None
        pids = [int(pid) for pid in child.stdout.readline().split()]
        started_alive = all(alive(pid) for pid in pids)
        child.kill()
    assert len(pids) == 2 and started_alive and all_gone(pids)


def test_workers_that_cannot_start_raise_instead_of_hanging(tmp_path) -> None:
    """A memory limit too small for Python itself is an environment problem the user must
    see, not a "limits" flag on every file nor an endless respawn loop."""
    with ExtractionPool(workers=1, limits=Limits(memory_mib=16)) as pool:
        started = time.monotonic()
        with pytest.raises(EnvironmentProblem, match="could not start"):
            pool.submit(put(tmp_path, "a.pdf"))
            collect(pool.results())
        assert time.monotonic() - started < 20


def test_the_pool_starts_under_a_host_whose_stderr_has_no_descriptor() -> None:
    """Textual replaces sys.stderr with an object whose fileno() is -1 while the TUI runs;
    multiprocessing's resource tracker passes that number on and every spawn failed ("bad
    value(s) in fds_to_keep"). A fresh interpreter, so that no tracker is running yet."""
    code = textwrap.dedent("""
        import io, sys
        from msante.formats.extract_pool import ExtractionPool

        class NoFd(io.StringIO):
            def fileno(self):
                return -1

        sys.stderr = NoFd()
        with ExtractionPool(workers=1):
            pass
        print("started")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0 and "started" in run.stdout, run.stderr
