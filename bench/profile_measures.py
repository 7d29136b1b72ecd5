"""The profile's and measurements' performance figures, as ratios measured in the same run.

    python bench/profile_measures.py [--quick]

1. `msante summary --pdf` for a profile of 1,000 entries and 10,000 measurements vs the same
   command for an empty profile: <= 3x.
2. `msante measure list --json` (its default limit) on 100,000 measurements vs
   `msante status --json`: <= 1.5x.
Both with the agent unlocked, wall time of the whole command (start-up included), median of 7.
Exit 1 if a target is missed. --quick: 20,000 measurements for figure 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import line, timed  # noqa: E402
from documents import Env  # noqa: E402

KINDS = [("weight", "kg", 55.0, 95.0), ("heart-rate", "/min", 50, 110),
         ("glucose", "g/L", 0.7, 1.6), ("temperature", "°C", 36.0, 38.5)]


def fill(env: Env, entries: int, measurements: int) -> None:
    """`entries` profile entries and `measurements` measurements for the owner."""
    from msante.api import Vault
    from msante.unlock import Sources, obtain_keys
    from msante.vault import records

    os.environ.update(env.env)
    vault = Vault.open(env.home, obtain_keys(env.home, Sources()))
    owner, rng, store = vault.people.owner(), random.Random(5), vault.store
    with store.write() as tx:
        for i in range(entries):
            section, values = _entry(i)
            vault.profile.add_in(tx, owner, section, values)
        store.log(tx, "bench.fill")
    start = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    for first in range(0, measurements, 10_000):
        with store.write() as tx:
            for i in range(first, min(measurements, first + 10_000)):
                records.insert(tx, "measurements", _measure(owner.id, rng, start, i),
                               device=store.device)
            store.log(tx, "bench.fill")
    vault.close()


def _entry(i: int) -> tuple[str, dict[str, object]]:
    kind = i % 4
    if kind == 0:
        return "allergies", {"substance": f"Substance n°{i} — œuf", "severity": "moderate"}
    if kind == 1:
        return "treatments", {"medicine": f"Médicament {i}", "dose": "1 cp", "start": "2020"}
    if kind == 2:
        return "conditions", {"condition": f"Antécédent {i}", "onset": "2011-05"}
    return "vaccinations", {"vaccine": f"Vaccin {i}", "date": "2019-03-02", "dose": "1"}


def _measure(person: str, rng: random.Random, start: dt.datetime,
             i: int) -> dict[str, object]:
    kind, unit, low, high = KINDS[i % len(KINDS)]
    at = start + dt.timedelta(hours=i)
    return {"person": person, "kind": kind, "value": round(rng.uniform(low, high), 2),
            "unit": unit, "at": at.isoformat(timespec="microseconds"), "provenance": "typed"}


def ratio(env_a: Env, args_a: tuple[str, ...], env_b: Env, args_b: tuple[str, ...],
          fresh: tuple[Path, ...] = ()) -> float:
    """Median wall time of `msante ARGS_A` in A over `msante ARGS_B` in B, agents unlocked.

    `fresh`: output files removed before each run (the commands never overwrite one).
    """
    quiet = []
    for env in (env_a, env_b):
        env.cli("unlock", "--timeout", "10m")
        quiet.append({k: v for k, v in env.env.items() if k != "MSANTE_PASSPHRASE_FILE"})

    def run(env: Env, args: tuple[str, ...], environ: dict[str, str]) -> None:
        for path in fresh:
            path.unlink(missing_ok=True)
        env.cli(*args, env=environ)

    a = timed(lambda: run(env_a, args_a, quiet[0]), 7)
    b = timed(lambda: run(env_b, args_b, quiet[1]), 7)
    for env in (env_a, env_b):
        env.cli("lock")
    return a / b


def main(argv: list[str] | None = None) -> int:
    """Run both figures; exit 1 if one misses its target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    many = 20_000 if args.quick else 100_000
    ok = []
    with tempfile.TemporaryDirectory() as d:
        full, empty = Env(Path(d) / "full"), Env(Path(d) / "empty")
        full.init()
        empty.init()
        fill(full, 1_000, 10_000)
        pdf_full, pdf_empty = Path(d) / "full.pdf", Path(d) / "empty.pdf"
        r = ratio(full, ("summary", "--pdf", str(pdf_full)),
                  empty, ("summary", "--pdf", str(pdf_empty)), fresh=(pdf_full, pdf_empty))
        ok.append(line("summary --pdf, 1,000 entries + 10,000 measures / empty profile", r,
                       "<= 3", r <= 3))
    with tempfile.TemporaryDirectory() as d:
        env = Env(Path(d))
        env.init()
        fill(env, 0, many)
        r = ratio(env, ("measure", "list", "--json"), env, ("status", "--json"))
        ok.append(line(f"measure list --json ({many:,} measures) / msante status", r, "<= 1.5",
                       r <= 1.5))
    print(json.dumps({"all_met": all(ok)}))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
