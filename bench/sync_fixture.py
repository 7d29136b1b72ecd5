"""What bench/sync.py syncs and through what: the vault to sync (built with the core API), the
server launcher (msante-server's app and a trivial baseline in one process), the devices' CLI.

The launcher serves `create_app(settings)` (SQLite in a data folder, default limits) and, in
the same process and the same uvicorn, two trivial routes beside it: `PUT /bare/sink` reads
and discards its body, `GET /bare/source/{n}` streams n bytes. They are dispatched before
msante's app (its body limit, 8 MiB, would refuse a 500 MB body). Every request to msante's
app has its body bytes counted both ways (`GET /bare/counters`, `?reset=1` to start again):
the baseline then moves exactly the bytes the sync moved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSPHRASE = "bench passphrase quartz meadow 9"
MiB = 1024 * 1024
PIECE = b"\x5a" * MiB  # what the baseline streams, a MiB at a time

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# -- the server -------------------------------------------------------------------------------

def serve(data: Path, port: int) -> None:
    """msante-server's app over SQLite in `data`, the baseline routes beside it; until killed."""
    import uvicorn

    from msante.sync.server.app import create_app
    from msante.sync.server.settings import Settings

    msante = create_app(Settings(data_dir=data))
    bare = FastAPI()
    counts = {"in": 0, "out": 0, "requests": 0}

    @bare.put("/bare/sink")
    async def sink(request: Request) -> dict[str, int]:
        received = 0
        async for part in request.stream():
            received += len(part)
        return {"received": received}

    @bare.get("/bare/source/{size}")
    async def source(size: int) -> StreamingResponse:
        return StreamingResponse(_pieces(size), media_type="application/octet-stream")

    @bare.get("/bare/counters")
    async def counters(reset: int = 0) -> dict[str, int]:
        now = dict(counts)
        if reset:
            counts.update({"in": 0, "out": 0, "requests": 0})
        return now

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await msante(scope, receive, send)  # its lifespan
            return
        if scope["path"].startswith("/bare/"):
            await bare(scope, receive, send)
            return
        counts["requests"] += 1

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counts["in"] += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))
            await send(message)

        await msante(scope, counted_receive, counted_send)

    uvicorn.run(app, host=HOST, port=port, log_level="info")  # as `msante-server run`


async def _pieces(size: int) -> AsyncIterator[bytes]:
    while size > 0:
        yield PIECE[:size]
        size -= len(PIECE)


def pieces(size: int) -> Any:
    """`size` bytes, a MiB at a time (the baseline upload's body)."""
    while size > 0:
        yield PIECE[:size]
        size -= len(PIECE)


# -- the vault --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """How big the vault is."""

    records: int
    documents: int
    mib: int


def build_vault(home: Path, size: Size, scratch: Path, seed: int = 12) -> dict[str, int]:
    """A vault at `home` (fast KDF: the agent will hold its keys) with its owner and a child,
    `size.records` records (measurements, appointments, allergies; 4 in 5 the owner's) and
    `size.documents` files of random bytes (sizes 0.25 to 1.75 times the mean, `size.mib` in
    all) imported as documents; the counts made."""
    from msante.api import Vault
    from msante.vault import crypto

    rng = random.Random(seed)
    vault, _key = Vault.create(home, PASSPHRASE, name="Bench Owner", born="1980-02-03",
                               sex="female", params=crypto.KdfParams.new(memory_kib=16384,
                                                                           iterations=2))
    try:
        owner = vault.people.list()[0]
        child = vault.people.add("Bench Child", "2015-05-06", "male", "child")
        made = {"people": 2, **_records(vault, [owner, child], size.records, rng)}
        made["documents"] = _documents(vault, owner, child, size, scratch, rng)
    finally:
        vault.close()
    return made


def _records(vault: Any, people: list[Any], count: int, rng: random.Random) -> dict[str, int]:
    """Measurements (85 %), appointments (10 %), allergies (5 %), in transactions of 500."""
    made = {"measurements": 0, "agenda_items": 0, "profile_entries": 0}
    start = dt.datetime(2015, 1, 1, 8, 0, tzinfo=dt.UTC)
    for first in range(0, count, 500):
        with vault.store.write() as tx:
            for n in range(first, min(count, first + 500)):
                who = people[0] if rng.random() < 0.8 else people[1]
                at = start + dt.timedelta(hours=7 * n)
                kind = rng.random()
                if kind < 0.85:
                    vault.measures.add_in(tx, who, "weight", f"{rng.uniform(40, 95):.1f}",
                                          at=at, note=f"bench {n}")
                    made["measurements"] += 1
                elif kind < 0.95:
                    vault.agenda.add_in(tx, who, f"Consultation {n}", at, tz="Europe/Paris",
                                        location="Cabinet", professional="Dr Bench")
                    made["agenda_items"] += 1
                else:
                    vault.profile.add_in(tx, who, "allergies", {"substance": f"pollen {n}"})
                    made["profile_entries"] += 1
            vault.store.log(tx, "bench.fill", detail={"upto": n})
    return made


def _documents(vault: Any, owner: Any, child: Any, size: Size, scratch: Path,
               rng: random.Random) -> int:
    """Files of random bytes imported for the owner (4 in 5) and the child; how many."""
    from msante.documents.importer import Importer, Options

    mean = size.mib * MiB // max(1, size.documents)
    done = 0
    for person, share in ((owner, size.documents * 4 // 5), (child, None)):
        count = share if share is not None else size.documents - done
        folder = scratch / person.id
        folder.mkdir(parents=True)
        for i in range(count):
            n = int(mean * rng.uniform(0.25, 1.75))
            (folder / f"scan-{i:05d}.bin").write_bytes(os.urandom(n))
        results = list(Importer(vault.documents, Options(person=person)).run([folder]))
        bad = [r for r in results if r.status not in ("imported", "flagged")]
        if bad:
            raise RuntimeError(f"import failed: {bad[0].path}: {bad[0].reason}")
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        done += len(results)
    return done


# -- the devices ------------------------------------------------------------------------------

@dataclass
class Device:
    """One device's home, runtime folder and passphrase file; how to run msante there."""

    root: Path

    @property
    def home(self) -> Path:
        """Its MSANTE_HOME."""
        return self.root / "home"

    @property
    def pfile(self) -> Path:
        """Its passphrase file (0600)."""
        return self.root / "pass"

    def prepare(self) -> None:
        """The folders and the passphrase file."""
        (self.root / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
        self.pfile.write_text(PASSPHRASE)
        self.pfile.chmod(0o600)

    def env(self, passphrase: bool = False) -> dict[str, str]:
        """Its environment: this tree's code (its bytecode cached, as an installation has it),
        English; the passphrase file only if asked (a timed command must go through the
        agent)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSANTE_")
               and k not in ("LANGUAGE", "LC_ALL", "PYTHONDONTWRITEBYTECODE")}
        env |= {"MSANTE_HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.root / "run"),
                "LANG": "C.UTF-8",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                            os.environ.get("PYTHONPATH")]))}
        if passphrase:
            env["MSANTE_PASSPHRASE_FILE"] = str(self.pfile)
        return env

    def msante(self, *args: str, passphrase: bool = False, timeout: float = 600) -> str:
        """Run `msante ARGS` here; its standard output (RuntimeError on failure)."""
        r = subprocess.run([sys.executable, "-m", "msante", *args], env=self.env(passphrase),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"msante {' '.join(args)} exited {r.returncode}: "
                               f"{r.stderr.strip()[-800:]}")
        return r.stdout


def link(first: Device, new: Device, url: str) -> dict[str, Any]:
    """`devices link --json --yes` on `first`, `sync setup URL --link-file` on `new` (which
    makes its vault); the new device's state."""
    proc = subprocess.Popen([sys.executable, "-m", "msante", "devices", "link", "--json",
                             "--yes"], env=first.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        shown = proc.stdout.readline()
        if not shown:
            raise RuntimeError(f"devices link printed no code: {proc.communicate(timeout=60)[1]}")
        code = new.root / "code"
        code.write_text(json.loads(shown)["code"] + "\n")
        state = json.loads(new.msante(
            "sync", "setup", url, "--link-file", str(code), "--json", "--kdf-memory", "16",
            "--kdf-iterations", "2", "--recovery-key-file", str(new.root / "recovery"),
            passphrase=True))
        _out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"devices link exited {proc.returncode}: {err.strip()[-800:]}")
        return dict(state)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def count_blobs(home: Path) -> int:
    """Files in a vault's blob store (partial downloads aside)."""
    root = home / "blobs"
    return sum(1 for p in root.rglob("*") if p.is_file() and ".sync" not in p.parts) \
        if root.exists() else 0

