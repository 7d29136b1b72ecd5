"""The vault's performance figures, each a ratio against a baseline measured in the same run.

    python bench/vault.py [--quick] [--startup-only]

1. SQLCipher workload (20k inserts in one transaction + FTS5 queries) vs plain sqlite3 with
   the same pragmas: target <= 1.3x.
2. Blob store put of a 1 GiB file vs a plain copy + fsync: >= 0.5x throughput, peak < 100 MiB
   (bench/blobs.py).
3. `msante status --json` with the agent unlocked vs `python -c pass`, both in a clean
   non-editable install built in a temporary folder (bench/clean_install.py; the development
   venv's own start-up is twice a clean one's): <= 10x, the whole process timed from outside,
   median of 15 interleaved runs; `doc search` and `doc list --json` (empty vault) <= 1.5x it.
   Also printed: `status` (which imports rich for its table), a bare Typer app.
4. `msante passwd` on a vault with 10k blobs vs an empty vault: <= 1.5x.
5. `msante passwd --rotate-keys` vs plain `msante passwd`, both on 10k blobs: <= 2x.
Exit 1 if a target is missed. --quick uses smaller sizes (for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import line, timed  # noqa: E402

PASSPHRASE = "bench passphrase quartz meadow 9"
WORDS = ("glycémie hémoglobine cholestérol créatinine ferritine vitamine protéine "
         "leucocytes plaquettes triglycérides ordonnance radiographie échographie").split()
BARE_TYPER = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def status(json_: bool = typer.Option(False, "--json")) -> None:
    print("{}")
@app.callback()
def main() -> None:
    pass
app()
"""


def _workload(conn: Any, rows: int) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE r (id TEXT PRIMARY KEY, revision INT, person TEXT, body TEXT)")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(body, "
                 "tokenize='unicode61 remove_diacritics 2')")
    conn.execute("BEGIN IMMEDIATE")
    for i in range(rows):
        body = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7, 11)) + f" n{i}"
        conn.execute("INSERT INTO r VALUES (?, 1, 'p', ?)", (f"id-{i:08d}", body))
        conn.execute("INSERT INTO f (rowid, body) VALUES (?, ?)", (i + 1, body))
    conn.execute("COMMIT")
    for term in ("glycemie", "ferritine", "n1999*", '"vitamine proteine"', "plaquettes"):
        conn.execute("SELECT rowid FROM f WHERE f MATCH ? LIMIT 20", (term,)).fetchall()
        conn.execute("SELECT count(*) FROM f WHERE f MATCH ?", (term,)).fetchone()


def sqlcipher_vs_sqlite(rows: int) -> tuple[float, float]:
    """(SQLCipher time, sqlite3 time) of the same workload."""
    import sqlcipher3

    def run(make: Callable[[str], Any]) -> Callable[[], None]:
        def once() -> None:
            with tempfile.TemporaryDirectory() as d:
                conn = make(os.path.join(d, "x.db"))
                _workload(conn, rows)
                conn.close()
        return once

    def cipher(path: str) -> Any:
        conn = sqlcipher3.connect(path, isolation_level=None)
        conn.execute("PRAGMA key = \"x'" + "ab" * 32 + "'\"")
        return conn

    plain = timed(run(lambda p: sqlite3.connect(p, isolation_level=None)), 3)
    return timed(run(cipher), 3), plain


def _env(home: Path, runtime: Path, pfile: Path) -> dict[str, str]:
    env = dict(os.environ, MSANTE_HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
               MSANTE_PASSPHRASE_FILE=str(pfile), LANG="C.UTF-8")
    return env


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "msante", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _make_vault(root: Path, blobs: int) -> dict[str, str]:
    home, runtime = root / "home", root / "run"
    runtime.mkdir(mode=0o700, parents=True)
    pfile = root / "pass"
    pfile.write_text(PASSPHRASE)
    pfile.chmod(0o600)
    env = _env(home, runtime, pfile)
    _cli(env, "init", "--name", "Bench Person", "--born", "1980-01-01", "--sex", "other")
    if blobs:
        _fill_blobs(home, blobs)
    return env


def _fill_blobs(home: Path, count: int) -> None:
    """Store `count` small encrypted blobs, as documents will."""
    import io
    import uuid

    from msante.vault import crypto
    from msante.vault.blobs import BlobStore

    store, key = BlobStore(home / "blobs"), crypto.random_key()
    for i in range(count):
        bid = uuid.uuid4().hex
        store.put(bid, key, crypto.context(purpose="bench", record=bid),
                  io.BytesIO(b"document %d " % i * 50))


STARTUP_RUNS = 15


def startup_figures(root: Path) -> dict[str, float]:
    """Median wall times of msante commands and baselines, all in a clean install.

    The vault is unlocked (the agent holds the keys); each round runs every command once, so
    a change of load on the machine weighs on all of them alike.
    """
    from clean_install import build

    python = build(root / "clean")
    env = _make_vault(root, 0)
    _cli(env, "unlock", "--timeout", "10m")
    quiet = {k: v for k, v in env.items()
             if k not in ("MSANTE_PASSPHRASE_FILE", "PYTHONPATH", "PYTHONHOME")}
    (root / "bare.py").write_text(BARE_TYPER)
    msante = str(python.parent / "msante")
    commands = {
        "python": [str(python), "-c", "pass"],
        "dev python": [sys.executable, "-c", "pass"],
        "status": [msante, "status"],
        "status --json": [msante, "status", "--json"],
        "doc search": [msante, "doc", "search", "glycemie ferritine"],
        "doc list --json": [msante, "doc", "list", "--json"],
        "bare typer": [str(python), str(root / "bare.py"), "status", "--json"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _round in range(STARTUP_RUNS):
        for name, cmd in commands.items():
            times[name].append(timed(lambda c=cmd: subprocess.run(  # type: ignore[misc]
                c, env=quiet, check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL), 1))
    _cli(env, "lock")
    return {name: statistics.median(values) for name, values in times.items()}


def startup_lines(t: dict[str, float]) -> list[bool]:
    """Print the start-up figures; whether each target is met."""
    print(f"{'  python -c pass: clean install / development venv':<64} "
          f"{t['python'] * 1000:6.1f} / {t['dev python'] * 1000:.1f} ms")
    ratio = t["status --json"] / t["python"]
    results = [line("msante status --json (unlocked) / python -c pass, clean install", ratio,
                    "<= 10", ratio <= 10)]
    print(f"{'  msante status (a rich table) / python -c pass':<64} "
          f"{t['status'] / t['python']:8.2f}x")
    print(f"{'  a bare Typer app / python -c pass':<64} {t['bare typer'] / t['python']:8.2f}x"
          f"  ({t['bare typer'] / t['status --json']:.0%} of msante status --json)")
    for name in ("doc search", "doc list --json"):
        ratio = t[name] / t["status --json"]
        results.append(line(f"msante {name} (empty vault) / msante status --json", ratio,
                            "<= 1.5", ratio <= 1.5))
    return results


def passwd_big_vs_empty(root: Path, blobs: int) -> tuple[float, float]:
    """(passwd on a vault with `blobs` blobs, passwd on an empty vault) median times."""
    times = []
    for name, count in (("big", blobs), ("empty", 0)):
        env = _make_vault(root / name, count)
        pfile = Path(env["MSANTE_PASSPHRASE_FILE"])
        alt = pfile.with_name("alt")
        alt.write_text(PASSPHRASE + " again")
        alt.chmod(0o600)
        times.append(timed(_passwd_cycle(env, [pfile, alt]), 5))
    return times[0], times[1]


def _passwd_cycle(env: dict[str, str], files: list[Path], *extra: str) -> Callable[[], None]:
    """A passwd run that swaps between two passphrase files each time."""
    def once() -> None:
        env["MSANTE_PASSPHRASE_FILE"] = str(files[0])
        _cli(env, "passwd", "--new-passphrase-file", str(files[1]), *extra)
        files.reverse()
    return once


# -- key rotation (issue 11, part 8) ------------------------------------------------------------

def rotate_vs_passwd(root: Path, blobs: int) -> tuple[float, float]:
    """(passwd --rotate-keys, plain passwd) median times, both on a vault with `blobs` blobs."""
    env = _make_vault(root, blobs)
    pfile = Path(env["MSANTE_PASSPHRASE_FILE"])
    alt = pfile.with_name("alt")
    alt.write_text(PASSPHRASE + " again")
    alt.chmod(0o600)
    files = [pfile, alt]  # shared: each run swaps which one holds the current passphrase
    plain = timed(_passwd_cycle(env, files), 5)
    rotate = timed(_passwd_cycle(env, files, "--rotate-keys"), 5)
    return rotate, plain


def rotation_figures(quick: bool) -> bool:
    """Print key rotation against plain passwd; target <= 2x (both pay two Argon2id)."""
    with tempfile.TemporaryDirectory() as d:
        rotate, plain = rotate_vs_passwd(Path(d), 1_000 if quick else 10_000)
    n = "1k" if quick else "10k"
    print(f"{f'  passwd --rotate-keys, {n} blobs (s)':<64} {rotate:8.2f}s; plain passwd "
          f"{plain:.2f}s")
    return line(f"msante passwd --rotate-keys / plain passwd, {n} blobs", rotate / plain,
                "<= 2", rotate / plain <= 2)


def main(argv: list[str] | None = None) -> int:
    """Run every bench; exit 1 if a target is missed."""
    args = _parse(argv)
    if args.startup_only:
        with tempfile.TemporaryDirectory() as d:
            return 0 if all(startup_lines(startup_figures(Path(d)))) else 1
    results = []
    cipher, plain = sqlcipher_vs_sqlite(5_000 if args.quick else 20_000)
    ratio = cipher / plain
    results.append(line("SQLCipher workload / plain sqlite3", ratio, "<= 1.3", ratio <= 1.3))
    with tempfile.TemporaryDirectory() as d:
        results += startup_lines(startup_figures(Path(d)))
    with tempfile.TemporaryDirectory() as d:
        big, empty = passwd_big_vs_empty(Path(d), 1_000 if args.quick else 10_000)
        n = "1k" if args.quick else "10k"
        results.append(line(f"msante passwd, {n} blobs / empty vault", big / empty, "<= 1.5",
                            big / empty <= 1.5))
    results.append(rotation_figures(args.quick))
    sys.path.insert(0, str(Path(__file__).parent))
    import blobs

    results.append(blobs.main(["--size-mib", "64" if args.quick else "1024"]) == 0)
    return 0 if all(results) else 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--startup-only", action="store_true",
                        help="only the start-up figures (3.)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
