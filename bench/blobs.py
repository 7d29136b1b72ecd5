"""Bench of the blob store: BlobStore.put against a plain copy of the same file, same run.

    python bench/blobs.py [--size-mib N] [--rounds R]

Both operations read an N MiB file of random data (from the page cache, as it was just
written) and write N MiB to a new file, then fsync it; the copy is a userspace read/write loop
with 1 MiB buffers (no copy_file_range or reflink, which would skip the data path). Each runs
in a child process, which reports its own time and peak RSS; the best of R rounds is kept.
Targets: put throughput >= 0.5 x copy, peak RSS of the put < 100 MiB. Exit 1 if one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MIB = 1 << 20
RATIO_TARGET = 0.5
RSS_TARGET_MIB = 100.0


def _peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def _copy(src: Path, dst: Path) -> None:
    """A plain copy: read and write 1 MiB at a time, then fsync."""
    buffer = memoryview(bytearray(MIB))
    with src.open("rb", buffering=0) as fin, dst.open("wb", buffering=0) as fout:
        while n := fin.readinto(buffer):
            view = buffer[:n]
            while view:
                view = view[fout.write(view) :]
        os.fsync(fout.fileno())


def _put(src: Path, root: Path) -> None:
    """BlobStore.put of the file under a fresh key (encrypt, write, fsync, rename)."""
    from msante.vault import crypto
    from msante.vault.blobs import BlobStore

    blob_id = uuid.uuid4().hex
    with src.open("rb") as fin:
        BlobStore(root).put(blob_id, crypto.random_key(), crypto.context(record=blob_id), fin)


def _child(kind: str, src: Path, target: Path) -> None:
    """Run one operation in this (child) process and print its time and peak RSS as JSON."""
    if kind == "put":
        import msante.vault.blobs  # noqa: F401  (import cost is not part of the throughput)
    start = time.perf_counter()
    if kind == "copy":
        _copy(src, target)
    else:
        _put(src, target)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_mib": _peak_rss_mib()}))


def _run_child(kind: str, src: Path, target: Path) -> dict[str, float]:
    """One measured operation in a fresh child process."""
    argv = [sys.executable, __file__, "--child", kind, str(src), str(target)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _make_source(path: Path, size_mib: int) -> None:
    """N MiB of random data (incompressible, so no layer below can cheat), fsynced."""
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MIB))
        out.flush()
        os.fsync(out.fileno())


def measure(size_mib: int = 1024, rounds: int = 2) -> dict[str, Any]:
    """Time copy and put of an N MiB file; return throughputs, ratio and put's peak RSS."""
    work = Path(tempfile.mkdtemp(prefix="msante-bench-", dir="/tmp"))
    try:
        src = work / "source.bin"
        _make_source(src, size_mib)
        copies, puts = [], []
        for _ in range(rounds):
            copies.append(_run_child("copy", src, work / "copy.bin"))
            (work / "copy.bin").unlink()
            puts.append(_run_child("put", src, work / "blobs"))
            shutil.rmtree(work / "blobs")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    copy_s, put_s = min(c["seconds"] for c in copies), min(p["seconds"] for p in puts)
    return {"size_mib": size_mib, "copy_mib_s": size_mib / copy_s, "put_mib_s": size_mib / put_s,
            "ratio": copy_s / put_s, "put_peak_rss_mib": max(p["peak_rss_mib"] for p in puts)}


def report(result: dict[str, Any]) -> int:
    """Print the figures; return 0 if both targets are met, else 1."""
    ratio_ok = result["ratio"] >= RATIO_TARGET
    rss_ok = result["put_peak_rss_mib"] < RSS_TARGET_MIB
    print(f"blob put bench, {result['size_mib']} MiB of random data")
    print(f"  plain copy + fsync : {result['copy_mib_s']:8.1f} MiB/s")
    print(f"  BlobStore.put      : {result['put_mib_s']:8.1f} MiB/s")
    print(f"  RATIO put/copy     : {result['ratio']:8.2f}  (target >= {RATIO_TARGET}) "
          f"{'ok' if ratio_ok else 'MISSED'}")
    print(f"  put peak RSS       : {result['put_peak_rss_mib']:8.1f} MiB "
          f"(target < {RSS_TARGET_MIB:.0f}) {'ok' if rss_ok else 'MISSED'}")
    return 0 if ratio_ok and rss_ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run the bench (or, with --child, one measured operation); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024, help="file size (default 1024)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, best kept (default 2)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SRC", "TARGET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    return report(measure(args.size_mib, args.rounds))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
