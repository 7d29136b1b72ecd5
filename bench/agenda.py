"""The agenda's performance figure, a ratio measured in the same run.

    python bench/agenda.py

`msante agenda due --all` for a vault of 10 people with 5,000 agenda items and 2,000
vaccination records vs `msante status --json`, both with the agent unlocked, wall time of the
whole command (start-up included), median of 7: <= 2x. Exit 1 if the target is missed.
"""

from __future__ import annotations

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

from common import line  # noqa: E402
from documents import Env, cli_vs_status  # noqa: E402

VACCINES = ["Infanrix hexa", "Prevenar 20", "Boostrixtetra", "Revaxis", "Priorix",
            "Gardasil 9", "Bexsero", "Nimenrix", "Vaxigrip", "Comirnaty", "Shingrix"]


def fill(env: Env, people: int, items: int, vaccinations: int) -> None:
    """`people` people sharing `items` appointments and `vaccinations` vaccination records."""
    from msante.api import Vault
    from msante.unlock import Sources, obtain_keys
    from msante.vault import records

    os.environ.update(env.env)
    vault = Vault.open(env.home, obtain_keys(env.home, Sources()))
    everyone = [vault.people.owner()] + [
        vault.people.add(f"Personne {k}", f"{1950 + 7 * k}-0{1 + k % 9}-1{k}", "female"
                         if k % 2 else "male", relation="other") for k in range(1, people)]
    rng, store = random.Random(7), vault.store
    start = dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)
    with store.write() as tx:
        for i in range(items):
            records.insert(tx, "agenda_items", {
                "person": everyone[i % people].id, "title": f"Rendez-vous {i}",
                "starts_at": (start + dt.timedelta(hours=7 * i)).isoformat(),
                "tz": "Europe/Paris", "duration_min": 30, "reminders": "[1440]"},
                device=store.device)
        for i in range(vaccinations):
            who = everyone[i % people]
            day = who.born + dt.timedelta(days=rng.randrange(0, 365 * 30))
            vault.profile.add_in(tx, who, "vaccinations", {
                "vaccine": VACCINES[i % len(VACCINES)],
                "date": min(day, dt.date(2026, 1, 1)).isoformat()})
        store.log(tx, "bench.fill")
    vault.close()


def main() -> int:
    """Run the figure; exit 1 if it misses its target."""
    with tempfile.TemporaryDirectory() as d:
        env = Env(Path(d))
        env.init()
        fill(env, 10, 5_000, 2_000)
        r = cli_vs_status(env, "agenda", "due", "--all", "--json")
        ok = line("agenda due --all (10 people, 5,000 items, 2,000 vaccines) / status", r,
                  "<= 2", r <= 2)
    print(json.dumps({"all_met": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
