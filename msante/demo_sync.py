"""The sync part of `make demo`: a server on loopback, two devices of the demo person.

Starts `msante-server run` on a free port of 127.0.0.1 with its data in the demo's temporary
home, sets up the demo vault (the laptop) for sync, links a second device (the phone: its own
MSANTE_HOME, passphrase and keys), edits on one and shows the change on the other, makes both
change one entry (a conflict), resolves it, checks the server's log with `sync verify`, and
stops the server. Every step is a real command, printed before it runs.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PHONE_PASSPHRASE = "demo copper harbour meadow 2026"


def _show(label: str, args: list[str]) -> None:
    print(f"\n[{label}] $ msante {' '.join(shlex.quote(a) for a in args)}", flush=True)


def run(env: dict[str, str], label: str, *args: str, capture: bool = False) -> str:
    """Run one `msante` command as `label` (the device), printed first; its stdout if asked."""
    _show(label, list(args))
    done = subprocess.run([sys.executable, "-m", "msante", *args], env=env, check=True,
                          stdout=subprocess.PIPE if capture else None, text=True)
    if capture:
        print(done.stdout, end="", flush=True)
    return done.stdout or ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(root: Path) -> Iterator[str]:
    """`msante-server run` on 127.0.0.1 (its data in the demo's home); stopped afterwards."""
    port = _free_port()
    data = root / "server"
    args = ["run", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)]
    print(f"\n$ msante-server {' '.join(args)} &", flush=True)
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", "from msante.sync.server.cli import run; "
                             "run()", *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        print(f"\nServer stopped (its log: {root / 'server.log'}).", flush=True)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("msante-server stopped at start: see server.log")
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("msante-server did not answer within 30 s")


def phone_env(root: Path, laptop: dict[str, str]) -> dict[str, str]:
    """The second device: its own home, runtime folder and passphrase."""
    runtime = root / "run-phone"
    runtime.mkdir(mode=0o700, exist_ok=True)
    pfile = root / "passphrase-phone.txt"
    pfile.write_text(PHONE_PASSPHRASE + "\n")
    pfile.chmod(0o600)
    env = dict(laptop, MSANTE_HOME=str(root / "phone"), XDG_RUNTIME_DIR=str(runtime),
               MSANTE_PASSPHRASE_FILE=str(pfile))
    return env


def link(laptop: dict[str, str], phone: dict[str, str], root: Path, url: str) -> None:
    """`devices link --json --yes` on the laptop, `sync setup --link-file` on the phone."""
    _show("laptop", ["devices", "link", "--json", "--yes"])
    proc = subprocess.Popen([sys.executable, "-m", "msante", "devices", "link", "--json",
                             "--yes"], env=laptop, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    code = json.loads(proc.stdout.readline())["code"]
    print(json.dumps({"code": code}), flush=True)
    code_file = root / "link-code.txt"
    fd = os.open(code_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(code + "\n")
    run(phone, "phone", "sync", "setup", url, "--link-file", str(code_file),
        "--recovery-key-file", str(root / "recovery-key-phone.txt"))
    print(proc.stdout.read(), end="", flush=True)
    if proc.wait(60) != 0:
        raise RuntimeError("devices link failed")


def _entry_id(env: dict[str, str], section: str) -> str:
    """The id of the first entry of a profile section (read quietly)."""
    done = subprocess.run([sys.executable, "-m", "msante", "profile", "show", "--json",
                           "--section", section], env=env, check=True, capture_output=True,
                          text=True)
    return str(json.loads(done.stdout)[0]["id"])


def _conflict_id(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "msante", "sync", "conflicts", "--json"],
                          env=env, check=True, capture_output=True, text=True)
    return str(json.loads(done.stdout)[0]["id"])


def tour(root: Path, laptop: dict[str, str]) -> None:
    """The whole sync tour (the laptop's agent is unlocked)."""
    phone = phone_env(root, laptop)
    with server(root) as url:
        run(laptop, "laptop", "sync", "setup", url)
        run(laptop, "laptop", "sync")
        link(laptop, phone, root, url)
        run(phone, "phone", "people", "list")
        # the phone made its own recovery device at its first sync: the laptop did not, so it
        # warns until the person accepts it (any account-chain entry another device makes)
        run(laptop, "laptop", "devices", "list")
        run(laptop, "laptop", "devices", "list", "--accept")
        run(laptop, "laptop", "profile", "add", "allergies", "substance=Arachide",
            "reaction=urticaire", "severity=moderate")
        run(laptop, "laptop", "sync")
        run(phone, "phone", "sync")
        run(phone, "phone", "profile", "show", "--section", "allergies")
        treatment = _entry_id(laptop, "treatments")
        run(laptop, "laptop", "profile", "edit", treatment, "dose=88 µg")
        run(phone, "phone", "profile", "edit", treatment, "dose=100 µg")
        run(laptop, "laptop", "sync")
        run(phone, "phone", "sync")
        run(phone, "phone", "sync", "conflicts")
        run(phone, "phone", "sync", "conflicts", "resolve", _conflict_id(phone), "--keep",
            "mine")
        run(phone, "phone", "sync")
        run(laptop, "laptop", "sync")
        run(laptop, "laptop", "profile", "show", "--section", "treatments")
        run(laptop, "laptop", "sync", "verify")
        run(phone, "phone", "sync", "verify")
        run(phone, "phone", "audit", "list", "--limit", "8")
