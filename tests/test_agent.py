"""The unlock agent: key hand-out, locking, hardening, isolation and protocol robustness."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from msante import paths
from msante.errors import EnvironmentProblem, UsageError
from msante.vault import agent

KEY = bytes(range(32))
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
root_only = pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
_started: list[int] = []


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A dummy vault and a private runtime dir; every agent started here is gone afterwards."""
    base = tmp_path / "vault"
    base.mkdir()
    (base / "vault.json").write_text("{}")
    run = Path(tempfile.mkdtemp(prefix="ms", dir="/tmp"))  # short: AF_UNIX paths ≤ 108 bytes
    outer_runtime = os.environ.get("XDG_RUNTIME_DIR")
    monkeypatch.setenv("MSANTE_HOME", str(base))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    yield base
    _cleanup(base, run)
    if outer_runtime is not None:  # later teardowns (conftest) must not recreate `run`
        monkeypatch.setenv("XDG_RUNTIME_DIR", outer_runtime)


def _cleanup(base: Path, run: Path) -> None:
    """Stop the agent, kill any straggler we started, remove the runtime dir."""
    for directory in (run, run / "msante"):
        if directory.exists():
            directory.chmod(0o700)
    try:
        agent.stop_agent(base)
    except EnvironmentProblem:
        pass
    while _started:
        pid = _started.pop()
        if _alive(pid) and b"agent_server" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(run, ignore_errors=True)


def _start(base: Path, key: bytes = KEY, timeout: float = 60.0) -> int:
    """Start an agent and remember its pid for teardown."""
    pid = agent.start_agent(base, "vault-1", key, timeout)
    _started.append(pid)
    return pid


def _alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for `pid` to exit; True if it did within `timeout`."""
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _raw(base: Path, data: bytes) -> bytes:
    """Send raw bytes to the agent and return whatever it answers before closing."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(paths.agent_socket(base)))
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(1 << 20)
        except (BrokenPipeError, ConnectionResetError):
            return b""


def test_get_key_returns_the_exact_key(home: Path) -> None:
    """The whole point of the agent: later commands get the key without a passphrase."""
    _start(home)
    assert agent.get_key(home) == ("vault-1", KEY)


def test_status_reports_its_fields(home: Path) -> None:
    """`msante status` shows these fields; `dumpable` proves the hardening ran."""
    pid = _start(home, timeout=60)
    reply = agent.status(home)
    assert reply is not None
    assert (reply["vault_id"], reply["pid"], reply["timeout"]) == ("vault-1", pid, 60)
    assert 0 < reply["idle_remaining"] <= 60
    started = datetime.fromisoformat(reply["started"])
    assert abs((datetime.now(UTC) - started).total_seconds()) < 10
    assert reply["dumpable"] is False
    assert reply["refused"] == 0


def test_stop_wipes_and_removes_the_socket(home: Path) -> None:
    """`msante lock` must end the agent at once, leaving nothing to connect to."""
    pid = _start(home)
    assert agent.stop_agent(home) is True
    assert agent.get_key(home) is None
    assert not paths.agent_socket(home).exists()
    assert _wait_gone(pid, 1)
    assert agent.stop_agent(home) is False


def test_idle_timeout_locks(home: Path) -> None:
    """An agent nobody uses must not keep the key in memory forever."""
    pid = _start(home, timeout=1)
    assert _wait_gone(pid, 3)
    assert agent.get_key(home) is None
    assert not paths.agent_socket(home).exists()


def test_use_extends_the_idle_timeout(home: Path) -> None:
    """The timeout counts from the last use, so an active session is not interrupted."""
    _start(home, timeout=2)
    time.sleep(1.2)
    assert agent.get_key(home) is not None
    time.sleep(1.3)
    assert agent.get_key(home) is not None


def test_status_and_peek_do_not_extend_the_idle_timeout(home: Path) -> None:
    """docs/cli.md once said asking for the status restarts the idle timer; it must not (nor
    `status`'s peek at the key), or a script polling `msante status` would keep a forgotten
    agent, and the key, alive for ever."""
    pid = _start(home, timeout=2)
    end = time.monotonic() + 4
    while time.monotonic() < end and _alive(pid):
        agent.status(home)
        agent.get_key(home, touch=False)
        time.sleep(0.2)
    assert _wait_gone(pid, 2)


def test_second_start_replaces_the_first(home: Path) -> None:
    """One agent per vault: unlocking again must not leave an old key holder behind."""
    first = _start(home)
    second = _start(home, key=b"\x01" * 32)
    assert first != second
    assert not _alive(first)
    assert os.listdir(paths.runtime_dir()) == [paths.agent_socket(home).name]
    assert agent.get_key(home) == ("vault-1", b"\x01" * 32)


@linux_only
def test_secrets_stay_out_of_argv_and_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argv and environ are readable by other tools; the key and passphrase must not be there."""
    monkeypatch.setenv("MSANTE_PASSPHRASE_FILE", "/secret/passphrase-file")
    monkeypatch.setenv("MY_SECRET", "hunter2-value")
    key = os.urandom(32)
    pid = _start(home, key=key)
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    if os.getuid() != 0:
        with pytest.raises(PermissionError):  # not dumpable: environ is closed to its user
            Path(f"/proc/{pid}/environ").read_bytes()
        environ = b""
    else:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"XDG_RUNTIME_DIR=" in environ  # we really read it
    for secret in (key, base64.b64encode(key), key.hex().encode(), b"hunter2", b"passphrase-file"):
        assert secret not in cmdline and secret not in environ


@linux_only
def test_no_core_dumps(home: Path) -> None:
    """A core file would write the key to disk."""
    pid = _start(home)
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    core = next(line for line in limits if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"]


@linux_only
def test_daemon_is_detached(home: Path) -> None:
    """Its own session and no inherited descriptors: it survives the terminal, leaks nothing."""
    pid = _start(home)
    assert os.getsid(pid) == pid
    if os.getuid() != 0:
        pytest.skip("the fds of a non-dumpable process are readable by root only")
    fds = sorted(os.listdir(f"/proc/{pid}/fd"), key=int)
    targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
    assert targets[:3] == ["/dev/null"] * 3
    assert len(targets) == 4 and targets[3].startswith("socket:")


def test_socket_and_runtime_dir_are_private(home: Path) -> None:
    """Only the owner may reach the socket, even where peer credentials are not checked."""
    _start(home)
    assert paths.agent_socket(home).stat().st_mode & 0o777 == 0o600
    assert paths.runtime_dir().stat().st_mode & 0o777 == 0o700


def test_unsafe_runtime_dir_is_refused(home: Path, tmp_path: Path) -> None:
    """A socket in a directory others can write to could be swapped for a fake agent."""
    paths.runtime_dir().chmod(0o755)
    with pytest.raises(EnvironmentProblem):
        agent.start_agent(home, "vault-1", KEY, 60)
    with pytest.raises(EnvironmentProblem):
        agent.get_key(home)  # a socket found there is not trusted either
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    paths.check_private_dir(shared)
    shared.chmod(0o755)
    with pytest.raises(EnvironmentProblem):
        paths.check_private_dir(shared)


@root_only
def test_runtime_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    """A directory owned by someone else is theirs to tamper with."""
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    os.chown(other, 65534, 65534)
    with pytest.raises(EnvironmentProblem):
        paths.check_private_dir(other)


def test_peer_allowed_only_for_the_same_user() -> None:
    """The rule the daemon applies to every connection."""
    assert agent.peer_allowed(1000, 1000)
    assert not agent.peer_allowed(1001, 1000)
    assert not agent.peer_allowed(0, 1000)  # not even root gets the key handed over


def test_peer_uid_reads_the_credentials() -> None:
    """peer_uid must report the real peer, here ourselves."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert agent.peer_uid(left) == os.getuid()


def _connect_as(uid: int, path: Path) -> str:
    """From a forked child running as `uid`, ask the agent for the key; what happened."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = _child_asks(path)
        finally:
            os._exit(code)
    _pid, wait_status = os.waitpid(child, 0)
    outcomes = {10: "denied", 20: "refused", 30: "answered"}
    return outcomes.get(os.waitstatus_to_exitcode(wait_status), "error")


def _child_asks(path: Path) -> int:
    """The forked child's attempt: 10 denied by permissions, 20 closed unanswered, 30 answered."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        try:
            sock.connect(str(path))
        except PermissionError:
            return 10
        try:
            sock.sendall(b'{"v": 1, "op": "get_key"}\n')
            return 20 if sock.recv(65536) == b"" else 30
        except (ConnectionResetError, BrokenPipeError):
            return 20


@root_only
def test_other_user_cannot_reach_the_socket(home: Path) -> None:
    """The 0700 runtime dir alone keeps other users away."""
    _start(home)
    assert _connect_as(65534, paths.agent_socket(home)) == "denied"


@root_only
def test_other_user_is_refused_by_peer_credentials(home: Path) -> None:
    """Even with the permissions opened by mistake, the uid check refuses other users."""
    _start(home)
    sock = paths.agent_socket(home)
    run = Path(os.environ["XDG_RUNTIME_DIR"])
    try:
        run.chmod(0o711)
        sock.parent.chmod(0o711)
        sock.chmod(0o666)
        outcome = _connect_as(65534, sock)
    finally:
        run.chmod(0o700)
        sock.parent.chmod(0o700)
        sock.chmod(0o600)
    assert outcome == "refused"
    status = agent.status(home)
    assert status is not None and status["refused"] == 1


def test_unsupported_protocol_version_is_answered(home: Path) -> None:
    """A newer client must get a clear error, not the key in an unknown format."""
    _start(home)
    reply = json.loads(_raw(home, b'{"v": 2, "op": "get_key"}\n'))
    assert reply == {"v": 1, "ok": False, "error": "unsupported protocol version"}


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not json\n",
        b"\xff\xfe\n",
        b"[1, 2]\n",
        b'{"v": true, "op": "get_key"}\n',
        b'{"v": 1, "op": "dance"}\n',
        b"[" * 50_000 + b"\n",
        b"x" * 70_000,
    ],
    ids=["empty", "text", "binary", "list", "bool-v", "op", "deep", "huge"],
)
def test_garbage_does_not_kill_the_agent(home: Path, garbage: bytes) -> None:
    """Any local process may send anything; the agent must survive and keep its key private."""
    _start(home)
    answer = _raw(home, garbage)
    if answer:
        reply = json.loads(answer)
        assert reply["ok"] is False and "key" not in reply
    assert agent.get_key(home) == ("vault-1", KEY)


def test_stale_socket_is_harmless(home: Path) -> None:
    """After a crash the socket file remains: commands must fall back, unlock must still work."""
    sock_path = paths.agent_socket(home)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(sock_path))
    assert sock_path.exists()
    assert agent.get_key(home) is None
    assert agent.status(home) is None
    _start(home)
    assert agent.get_key(home) == ("vault-1", KEY)


def test_removing_the_vault_stops_the_agent(home: Path) -> None:
    """A deleted vault must not leave its key in memory."""
    pid = _start(home)
    (home / "vault.json").unlink()
    assert _wait_gone(pid, 4)
    assert not paths.agent_socket(home).exists()


def test_key_is_not_handed_out_once_the_vault_is_gone(home: Path) -> None:
    """Between two wake-ups the request itself checks the vault is still there."""
    pid = _start(home)
    (home / "vault.json").unlink()
    assert agent.get_key(home) is None
    assert _wait_gone(pid, 2)


def test_replaced_socket_makes_the_agent_exit_without_deleting_it(home: Path) -> None:
    """If someone else took the socket name, the agent is unreachable and must go quietly."""
    pid = _start(home)
    sock_path = paths.agent_socket(home)
    impostor = sock_path.with_name("impostor")
    impostor.write_text("")
    impostor.replace(sock_path)
    assert _wait_gone(pid, 4)
    assert sock_path.read_text() == ""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_stop_cleanly(home: Path, signum: int) -> None:
    """Shutdown or logout must wipe the key and remove the socket."""
    pid = _start(home)
    os.kill(pid, signum)
    assert _wait_gone(pid, 2)
    assert not paths.agent_socket(home).exists()


def test_start_failure_reports_the_reason(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon that cannot start must say why instead of leaving the user without an agent."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / ("x" * 120)))  # socket path too long
    with pytest.raises(EnvironmentProblem, match="could not start"):
        agent.start_agent(home, "vault-1", KEY, 60)


def test_child_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passphrase files, keys and tokens in our environment are not passed to the daemon."""
    secret_names = {"MSANTE_PASSPHRASE_FILE", "AWS_SECRET_ACCESS_KEY", "gh_token", "PASSWORD"}
    for name in secret_names:
        monkeypatch.setenv(name, "x")
    env = agent.agent_env()
    assert not secret_names & set(env)
    assert env["XDG_RUNTIME_DIR"] == os.environ["XDG_RUNTIME_DIR"]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("msante.vault.agent_server", "cryptography sqlcipher3 typer rich textual"),
        ("msante.vault.agent", "cryptography sqlcipher3 typer rich textual subprocess socket"),
    ],
)
def test_agent_modules_stay_light(module: str, forbidden: str) -> None:
    """The daemon holds the key with the least code loaded; the client is on every command."""
    script = (
        f"import sys, {module}; "
        f"bad = set({forbidden.split()!r}) & {{m.split('.')[0] for m in sys.modules}}; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_no_agent_is_cheap(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command asks the agent first; with none running that is one failed connect: no
    wait, no retry, no process started (the cost itself is bench/vault.py's, not a unit test's).
    """
    import _socket
    import subprocess

    tries: list[object] = []
    real_socket = _socket.socket  # the client's socket type (agent.py says why)

    class Counting(real_socket):  # type: ignore[misc,valid-type]
        def connect(self, address: object) -> None:
            tries.append(address)
            super().connect(address)

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("asking a missing agent must not wait or start anything")

    monkeypatch.setattr(_socket, "socket", Counting)
    monkeypatch.setattr(time, "sleep", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    assert agent.get_key(home) is None
    assert len(tries) == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h", 3600), ("90s", 90), ("2h30m", 9000), ("45", 45), (" 1H ", 3600),
     ("7d", 604800), ("1d2h3m4s", 93784), ("604800", 604800), ("1h30", 5400), ("1 h", 3600),
     ("2j", 172800), ("1heure", 3600), ("1sem", 604800)],
)
def test_parse_duration_accepts(text: str, seconds: int) -> None:
    """The forms `msante unlock --timeout` documents (the one reader: msante.durations)."""
    assert agent.parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "abc", "m", "-5", "0", "0m", "8d", "604801", "1.5h", "30m1h", "1h1h", "1mo", "30s1h",
     "１５", "9" * 5000],
)
def test_parse_duration_rejects(text: str) -> None:
    """Bad, empty, zero or over-long durations are usage errors, not crashes or silent defaults."""
    with pytest.raises(UsageError):
        agent.parse_duration(text)


def test_without_peer_credentials_the_client_uses_no_agent(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/security.md: 'Elsewhere than Linux and macOS (no peer credentials) the client
    refuses to use an agent': peer_uid raises there, and no key is taken."""
    _start(home)
    assert agent.get_key(home) == ("vault-1", KEY)  # the control: with credentials it answers

    def unavailable(sock: object) -> int:
        raise OSError("Peer credentials are not available on this system.")
    monkeypatch.setattr(agent, "peer_uid", unavailable)
    assert agent.get_key(home) is None


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_agent_locks_its_key_in_memory(home: Path) -> None:
    """'key kept out of swap: mlockall … else mlock of the key's bytes, both best effort':
    where the limit allows a page, the agent has locked memory (VmLck in /proc)."""
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        pytest.skip("RLIMIT_MEMLOCK allows no page here")
    pid = _start(home)
    assert agent.get_key(home) == ("vault-1", KEY)
    status = Path(f"/proc/{pid}/status").read_text() if os.access(
        f"/proc/{pid}/status", os.R_OK) else ""
    locked = [line for line in status.splitlines() if line.startswith("VmLck:")]
    assert locked and int(locked[0].split()[1]) > 0, locked
