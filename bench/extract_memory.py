"""Bench of the extraction workers' memory: a ~500 MB PDF through ExtractionPool.

    python bench/extract_memory.py [--size-mib 500] [--workers N] [--keep]

The PDF (pages of one raw 4 MiB greyscale image and a line of text, like a big scan) is
streamed to a temporary folder by a child process, so the generator costs this process nothing.
Then the parent submits it to a pool (default size, as the importer uses) and hashes it
(SHA-256, 1 MiB reads, as the importer does) while a worker extracts it. A sampler thread polls
the RSS of the parent and of every worker every 20 ms; at the end each worker's VmHWM (its peak
RSS) and PSS (shared library pages split between the processes that map them) are read.

Figures: peak of the summed RSS of all processes; sum of the workers' peaks (an upper bound);
their PSS. Targets (issue 3: the whole import < 300 MiB, of which ~60 MiB for hashing and
encrypting in the parent): workers' summed peak RSS < 200 MiB, and all processes < 300 MiB.
Exit 1 if one is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from msante.formats.extract_pool import ExtractionPool  # noqa: E402

MIB = 1 << 20
WORKERS_TARGET_MIB = 200.0
TOTAL_TARGET_MIB = 300.0


def _status_kib(pid: int | str, field: str) -> int:
    """A field of /proc/<pid>/status in KiB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    """The proportional set size of a process in KiB (0 when unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Polls the summed RSS of this process and the pool's workers; keeps the peak."""

    def __init__(self, pool: ExtractionPool) -> None:
        super().__init__(daemon=True)
        self.pool = pool
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        """Sample every 20 ms until stopped."""
        while not self.stop.wait(0.02):
            pids = ["self", *self.pool.pids()]
            self.peak_kib = max(self.peak_kib, sum(_status_kib(pid, "VmRSS") for pid in pids))


def _generate(path: Path, mib: int) -> None:
    """Write the big PDF from a child process (streamed: the child stays small)."""
    code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from tests.pdfgen import write_large_pdf; "
            "write_large_pdf(Path(sys.argv[2]), int(sys.argv[3]))")
    subprocess.run([sys.executable, "-c", code, str(ROOT), str(path), str(mib)], check=True)


def _sha256(path: Path) -> str:
    """The file's SHA-256, read 1 MiB at a time (what the importer does meanwhile)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def _run(path: Path, workers: int | None) -> dict[str, float]:
    """Extract `path` through a pool while hashing it; the figures in MiB and seconds."""
    started = time.perf_counter()
    with ExtractionPool(workers=workers) as pool:
        sampler = Sampler(pool)
        sampler.start()
        pool.submit(path)
        _sha256(path)
        (_ticket, result), = list(pool.results())
        elapsed = time.perf_counter() - started
        pids = pool.pids()
        hwm = sum(_status_kib(pid, "VmHWM") for pid in pids) / 1024
        pss = sum(_pss_kib(pid) for pid in pids) / 1024
        sampler.stop.set()
        sampler.join()
    assert result.pages and not result.flags, result
    return {"workers": len(pids), "pages": result.pages, "seconds": elapsed,
            "workers_hwm": hwm, "workers_pss": pss,
            "parent_hwm": _status_kib("self", "VmHWM") / 1024,
            "all_peak": sampler.peak_kib / 1024}


def _report(size: float, figures: dict[str, float]) -> bool:
    """Print the figures against the targets; whether both are met."""
    workers_ok = figures["workers_hwm"] < WORKERS_TARGET_MIB
    total = max(figures["all_peak"], figures["workers_hwm"] + figures["parent_hwm"])
    total_ok = total < TOTAL_TARGET_MIB
    print(f"PDF {size:.0f} MiB, {figures['pages']:.0f} pages, {figures['workers']:.0f} workers: "
          f"extracted and hashed in {figures['seconds']:.2f} s")
    print(f"workers: peak RSS summed {figures['workers_hwm']:.0f} MiB "
          f"(PSS at the end {figures['workers_pss']:.0f} MiB), target < "
          f"{WORKERS_TARGET_MIB:.0f} MiB: {'ok' if workers_ok else 'MISSED'}")
    print(f"all processes: parent peak {figures['parent_hwm']:.0f} MiB, whole import at most "
          f"{total:.0f} MiB (sampled peak {figures['all_peak']:.0f} MiB), target < "
          f"{TOTAL_TARGET_MIB:.0f} MiB: {'ok' if total_ok else 'MISSED'}")
    return workers_ok and total_ok


def main() -> int:
    """Generate, extract, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated PDF")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="msante-bench-"))
    path = folder / "large.pdf"
    try:
        _generate(path, args.size_mib)
        ok = _report(path.stat().st_size / MIB, _run(path, args.workers))
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            folder.rmdir()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
