"""`msante sync setup` and `sync status` against a real server on 127.0.0.1, with two vaults.

Each vault has its own MSANTE_HOME. Failures (no server, a wrong address, plain HTTP off
loopback, a server answering garbage) give their documented exit code and one line, never a
traceback; the device's private keys are nowhere on disk but inside vault.db (SQLCipher).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.api import Vault
from msante.sync import device as devices
from msante.sync.server.settings import Settings
from tests.conftest import INIT
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real server (SQLite) on a free port of 127.0.0.1: its URL and its data folder."""
    data = tmp_path / "srv"
    with live_server(Settings(data_dir=data)) as (url, _app):
        yield url, data


def second_vault(cli, home: Path, pfile: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another vault in its own MSANTE_HOME, which becomes the current one."""
    monkeypatch.setenv("MSANTE_HOME", str(home))
    r = cli(*INIT, "--recovery-key-file", str(home.parent / "rk2"), pfile=pfile)
    assert r.code == 0, r.err
    return home


def one_line_error(r) -> str:
    """The run failed with one line on stderr and no traceback."""
    assert "Traceback" not in r.err and r.out == ""
    assert len(r.err.strip().splitlines()) == 1, r.err
    return str(r.err.strip())


def load_device(home: Path) -> devices.Device:
    """The sync identity kept in the vault at `home`."""
    with Vault.open(home, keys_of(home)) as vault:
        found = devices.load(vault.store.conn)
    assert found is not None
    return found


def test_two_vaults_set_up_with_one_server(cli, made: Path, home: Path, tmp_path: Path,
                                           server: tuple[str, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each vault registers its own account and device; status shows it, keys differ."""
    url, _data = server
    first = cli("sync", "setup", url, "--json", pfile=made)
    assert first.code == 0, first.err
    setup_state = first.json()
    status = cli("sync", "status", "--json", pfile=made)
    assert status.code == 0
    assert {k: v for k, v in status.json().items()
            if k not in ("last_attempt", "background")} == setup_state
    state = status.json()
    assert state["configured"] is True and state["state"] == "ready"
    assert state["server"] == url and state["last_sync"] is None and not state["insecure"]
    assert len(state["fingerprint"].split()) == 6
    assert state["pending_changes"] > 0  # the owner's records, never pushed
    second_vault(cli, tmp_path / "home2", made, monkeypatch)
    other = cli("sync", "setup", url + "/", "--json", pfile=made)
    assert other.code == 0, other.err
    assert other.json()["account"] != state["account"]
    assert other.json()["fingerprint"] != state["fingerprint"]
    assert other.json()["server_id"] == state["server_id"]


def test_status_in_words(cli, made: Path, server: tuple[str, Path]) -> None:
    """The human view names the server, the fingerprint and the pending changes."""
    before = cli("sync", "status", pfile=made)
    assert before.code == 0 and "not set up for sync" in before.out
    assert cli("sync", "setup", server[0], pfile=made).code == 0
    after = cli("sync", "status", pfile=made)
    fingerprint = cli("sync", "status", "--json", pfile=made).json()["fingerprint"]
    assert server[0] in after.out and fingerprint in after.out and "never" in after.out


def test_status_before_setup(cli, made: Path) -> None:
    """A vault that never synced has no identity: status says so and exits 0."""
    r = cli("sync", "status", "--json", pfile=made)
    assert r.code == 0
    assert r.json()["configured"] is False and r.json()["server"] is None
    assert r.json()["pending_changes"] > 0


def test_a_second_setup_is_refused_unless_forced(cli, made: Path,
                                                 server: tuple[str, Path]) -> None:
    """Setting up again would orphan the account: refused (exit 1); --force makes a new one."""
    url = server[0]
    first = cli("sync", "setup", url, "--json", pfile=made).json()
    again = cli("sync", "setup", url, pfile=made)
    assert again.code == 1 and "already set up" in one_line_error(again)
    forced = cli("sync", "setup", url, "--force", "--json", pfile=made)
    assert forced.code == 0, forced.err
    assert forced.json()["account"] != first["account"]
    entries = cli("audit", "list", "--json", pfile=made).json()
    actions = [e["action"] for e in entries]
    assert actions.count("sync.device.create") == 2 and actions.count("sync.device.ready") == 2
    newest = next(e for e in entries if e["action"] == "sync.device.create")
    assert newest["detail"]["replaces"]["account"] == first["account"]
    assert newest["detail"]["fingerprint"] == forced.json()["fingerprint"]
    assert cli("audit", "verify", pfile=made).code == 0


def test_an_interrupted_setup_resumes_with_the_same_keys(cli, made: Path,
                                                         server: tuple[str, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut after registration (before the login): the next run reuses the registered keys."""
    from msante.sync import client as client_module

    url = server[0]

    def cut(*args: object, **kw: object) -> None:
        from msante.errors import ServerUnreachable
        raise ServerUnreachable("cut")
    with monkeypatch.context() as m:
        m.setattr(client_module.Client, "login", cut)
        assert cli("sync", "setup", url, pfile=made).code == 1
    half = cli("sync", "status", "--json", pfile=made).json()
    assert half["configured"] is False and half["state"] == "pending"
    resumed = cli("sync", "setup", url, "--json", pfile=made)
    assert resumed.code == 0, resumed.err
    assert resumed.json()["account"] == half["account"]
    assert resumed.json()["fingerprint"] == half["fingerprint"]


def test_no_server_listening(cli, made: Path) -> None:
    """A server that is down: exit 1, one line naming the address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("sync", "setup", f"http://127.0.0.1:{port}", pfile=made)
    assert r.code == 1 and f"127.0.0.1:{port}" in one_line_error(r)
    assert cli("sync", "status", "--json", pfile=made).json()["server"] is None


def test_a_wrong_address(cli, made: Path, server: tuple[str, Path]) -> None:
    """A web server without the API at that path: exit 5, 'check the address'."""
    r = cli("sync", "setup", server[0] + "/wrong", pfile=made)
    assert r.code == 5 and "check the address" in one_line_error(r)


def test_plain_http_off_loopback_is_refused_before_the_passphrase(cli, made: Path) -> None:
    """Exit 2 without asking for the passphrase or opening a connection."""
    r = cli("sync", "setup", "http://sync.example.invalid:8765")  # a name that never resolves
    assert r.code == 2 and "--insecure" in one_line_error(r)
    bad = cli("sync", "setup", "not a url")
    assert bad.code == 2 and "not a server URL" in one_line_error(bad)


@pytest.fixture
def garbage() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that answers every connection with bytes that are not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"\x00\x01garbage, not HTTP\r\n\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_server_answering_garbage(cli, made: Path, garbage: str) -> None:
    """Not the msante API: exit 6 (the answer cannot be trusted), one line, nothing stored."""
    r = cli("sync", "setup", garbage, pfile=made)
    assert r.code == 6 and "not the msante API" in one_line_error(r)
    assert cli("sync", "status", "--json", pfile=made).json()["server"] is None


def key_forms(dev: devices.Device) -> list[bytes]:
    """The private keys as raw bytes (each 32-byte part), hex and base64, to look for."""
    secrets_ = [dev.signing.private_bytes(), dev.seal.private_bytes()]
    parts = [s[i:i + 32] for s in secrets_ for i in range(1, len(s) - 31, 32)]
    forms = []
    for p in parts:
        forms += [p, p.hex().encode(), base64.b64encode(p)[:40],
                  base64.urlsafe_b64encode(p)[:40]]
    return forms


def test_private_keys_live_only_inside_the_vault(cli, made: Path, home: Path, tmp_path: Path,
                                                 server: tuple[str, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """After setup, no file of the vault folder, the server's data or the test's folder holds
    the device's private keys in any form, and no process was started with them."""
    spawned: list[object] = []
    real_popen = subprocess.Popen.__init__

    def record(self: subprocess.Popen[bytes], args: object, *a: object, **kw: object) -> None:
        spawned.append(args)
        real_popen(self, args, *a, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(subprocess.Popen, "__init__", record)
    assert cli("sync", "setup", server[0], pfile=made).code == 0
    monkeypatch.undo()
    dev = load_device(home)
    forms = key_forms(dev)
    assert len(forms) >= 4 * 4
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    files += [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "vault.db" for p in files) and any(p.suffix == ".db" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(f in data for f in forms), f"a private key is readable in {path}"
    argv = repr(spawned).encode() + b" ".join(os.fsencode(a) for a in sys.argv)
    environ = repr(dict(os.environ)).encode()
    assert not any(f in argv or f in environ for f in forms)


@pytest.mark.parametrize("args", [["status", "--json"], ["--help"], ["sync", "--help"],
                                  ["doc", "list", "--json"]])
def test_other_commands_do_not_load_the_sync(args: list[str], made: Path) -> None:
    """Start-up stays as it was: httpx and msante.sync load only when a sync command runs."""
    code = (f"import sys; from msante.cli.main import main; main({args!r}); "
            "print(sorted(m for m in sys.modules if m == 'httpx' or m.startswith('msante.sync')))")
    env = dict(os.environ, MSANTE_PASSPHRASE_FILE=str(made))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stderr


def test_setup_and_status_as_separate_processes(made: Path, server: tuple[str, Path]) -> None:
    """The installed entry point, twice, as a person runs it: the second process finds what
    the first stored (in French, to see the catalog in use)."""
    from tests.conftest import run_cli

    env = {"MSANTE_PASSPHRASE_FILE": str(made)}
    first = run_cli("--lang", "fr", "sync", "setup", server[0], env_extra=env)
    assert first.returncode == 0, first.stderr
    assert "configuré pour se synchroniser" in first.stderr and "Empreinte" in first.stdout
    again = run_cli("--lang", "fr", "sync", "setup", server[0], env_extra=env)
    assert again.returncode == 1 and "déjà configuré" in again.stderr
    assert "Traceback" not in again.stderr and len(again.stderr.strip().splitlines()) == 1
    status = run_cli("sync", "status", "--json", env_extra=env)
    assert status.returncode == 0 and '"configured": true' in status.stdout
