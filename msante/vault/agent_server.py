"""The unlock agent daemon: holds one vault's key in memory and hands it to the same user.

Run only by `agent.start_agent` as `python -m msante.vault.agent_server`. It forks away from
its launcher (so it is nobody's zombie), starts a new session, hardens itself (not dumpable, no
core, memory locked where allowed), reads one JSON line with the key on stdin, binds its 0600
socket and answers "ready <pid>" (or "error: <reason>") on stdout. It serves one connection at a
time and exits, wiping the key, when locked, idle for `timeout` seconds, signalled, or when its
vault or its socket disappears. Python may leave transient copies of the key in freed memory
(JSON text, base64); the long-lived copy is a bytearray that is zeroed on exit.
"""

from __future__ import annotations

import binascii
import ctypes
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from msante import i18n, paths
from msante.errors import MsanteError
from msante.vault.agent import (
    MAX_MESSAGE,
    PROTOCOL_VERSION,
    encode_message,
    peer_allowed,
    peer_uid,
    read_message,
)
from msante.vault.hardening import protect_process

BACKGROUND = "msante.sync.background"
"""The background sync child's module, run by name: the vault layer imports no sync code."""
CHILD_STOP_S = 3.0
CONNECTION_TIMEOUT_S = 5.0
WAKE_S = 2.0
PR_GET_DUMPABLE = 3
MCL_CURRENT, MCL_FUTURE = 1, 2
PT_DENY_ATTACH = 31
_libc = ctypes.CDLL(None, use_errno=True)
_denied_attach = False


class _Stopped(Exception):
    """Raised by the signal handler to leave the serving loop."""


@dataclass
class Agent:
    """One running agent: the key, its vault, its socket and its idle clock."""

    vault_id: str
    key: bytearray
    timeout: float
    home: Path
    socket_path: Path
    inode: tuple[int, int] = (0, 0)
    started: str = field(default_factory=lambda: _now_iso())
    last_used: float = field(default_factory=time.monotonic)
    refused: int = 0
    stopping: bool = False
    sync_every: float = 0.0
    """Seconds between background syncs (0: none), run by the child, never in the agent."""
    child: subprocess.Popen[bytes] | None = None
    child_started: float | None = None

    def idle_remaining(self) -> float:
        """Seconds left before the idle timeout locks the agent."""
        return self.timeout - (time.monotonic() - self.last_used)

    def exit_reason(self) -> str | None:
        """Why the agent must exit now, or None to keep serving."""
        if self.stopping:
            return "locked"
        if self.idle_remaining() <= 0:
            return "idle"
        if not self.vault_present():
            return "vault gone"
        return None if self.owns_socket() else "socket replaced"

    def vault_present(self) -> bool:
        """Whether the vault's directory and header still exist."""
        return paths.header_path(self.home).is_file()

    def owns_socket(self) -> bool:
        """Whether the socket file is still the one this agent bound."""
        try:
            st = os.lstat(self.socket_path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.inode

    def release_socket(self) -> None:
        """Remove the socket file if it is still ours."""
        if self.owns_socket():
            _unlink_quietly(self.socket_path)

    def wipe(self) -> None:
        """Overwrite the key with zeros, in place."""
        self.key[:] = bytes(len(self.key))

    def answer(self, request: object) -> dict[str, Any]:
        """The reply to one decoded request."""
        if not isinstance(request, dict):
            return _error("bad request")
        version = request.get("v")
        if type(version) is not int or version != PROTOCOL_VERSION:
            return _error("unsupported protocol version")
        handler = _OPS.get(str(request.get("op")))
        return handler(self) if handler else _error("unknown operation")

    def op_get_key(self) -> dict[str, Any]:
        """Hand out the key (this counts as use), unless the vault has gone away."""
        reply = self.op_peek_key()
        if reply.get("ok"):
            self.last_used = time.monotonic()
        return reply

    def op_peek_key(self) -> dict[str, Any]:
        """Hand out the key without counting as use (for `msante status`)."""
        if not self.vault_present():
            self.stopping = True
            return _error("vault not found")
        key = binascii.b2a_base64(self.key, newline=False).decode()
        return _ok(vault_id=self.vault_id, key=key)

    def op_status(self) -> dict[str, Any]:
        """Describe the agent (does not count as use: polling must not keep it unlocked)."""
        return _ok(
            vault_id=self.vault_id, pid=os.getpid(), timeout=self.timeout,
            idle_remaining=round(self.idle_remaining(), 1), started=self.started,
            dumpable=_dumpable(), refused=self.refused,
            sync_every=self.sync_every or None,
            sync_pid=self.child.pid if self.child and self.child.poll() is None else None,
        )

    def op_lock(self) -> dict[str, Any]:
        """Wipe the key and remove the socket before answering, then exit."""
        self.stopping = True
        self.wipe()
        self.release_socket()
        return _ok(pid=os.getpid())

    def op_ping(self) -> dict[str, Any]:
        """Answer that the agent is alive (does not count as use)."""
        return _ok()


_OPS = {
    "get_key": Agent.op_get_key,
    "peek_key": Agent.op_peek_key,
    "status": Agent.op_status,
    "lock": Agent.op_lock,
    "ping": Agent.op_ping,
}


def main() -> int:
    """Fork away, harden, take the key from stdin, bind the socket and serve until done."""
    if os.isatty(0):
        print("error: the agent is started by `msante unlock`", file=sys.stderr)
        return 2
    if os.fork():
        os._exit(0)
    os.setsid()
    harden()
    try:
        agent, listener = _start(sys.stdin.buffer.readline(MAX_MESSAGE))
    except (OSError, ValueError, TypeError, KeyError, MsanteError) as exc:
        _announce(f"error: {exc}")
        return 1
    return _run(agent, listener)


def harden() -> None:
    """Refuse core dumps and debuggers; lock memory when the limit allows it."""
    global _denied_attach
    os.umask(0o177)
    protect_process()
    if sys.platform.startswith("linux"):
        if resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] == resource.RLIM_INFINITY:
            _libc.mlockall(MCL_CURRENT | MCL_FUTURE)  # best effort: failure is ignored
    elif sys.platform == "darwin":
        _denied_attach = _libc.ptrace(PT_DENY_ATTACH, 0, None, 0) == 0


def peer_may_connect(conn: socket.socket) -> bool:
    """Whether the peer of `conn` runs as our own user."""
    try:
        return peer_allowed(peer_uid(conn), os.getuid())
    except OSError:
        return False


def _start(line: bytes) -> tuple[Agent, socket.socket]:
    """Build the agent from the launcher's JSON line and bind its socket."""
    config = json.loads(line)
    if not isinstance(config, dict):
        raise ValueError("bad start request")
    i18n.setup(str(config.get("lang", "")))
    timeout, every = float(config["timeout"]), float(config.get("sync_every") or 0)
    if not timeout > 0 or not every >= 0:
        raise ValueError("bad timeout")
    agent = Agent(
        vault_id=str(config["vault_id"]),
        key=bytearray(binascii.a2b_base64(config["key"], strict_mode=True)),
        timeout=timeout, home=Path(config["home"]), socket_path=Path(config["socket"]),
        sync_every=every,
    )
    del config
    _lock_key_memory(agent.key)
    listener, agent.inode = bind_socket(agent.socket_path)
    return agent, listener


def bind_socket(path: Path) -> tuple[socket.socket, tuple[int, int]]:
    """Listen on `path` (0600): bind a temporary name, then rename it over any stale socket."""
    paths.check_private_dir(path.parent)
    tmp = path.parent / f".agent-{os.getpid()}.tmp"
    _unlink_quietly(tmp)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(os.fspath(tmp))
        os.chmod(tmp, 0o600)
        listener.listen(16)
        st = os.lstat(tmp)
        os.rename(tmp, path)
    except OSError:
        listener.close()
        _unlink_quietly(tmp)
        raise
    return listener, (st.st_dev, st.st_ino)


def _run(agent: Agent, listener: socket.socket) -> int:
    """Say ready, serve until the agent must exit, then wipe the key and remove the socket."""
    _catch_signals(_on_signal)
    try:
        _detach_stdio(f"ready {os.getpid()}")
        _serve(agent, listener)
    except _Stopped:
        pass
    finally:
        _catch_signals(signal.SIG_IGN)
        agent.wipe()
        listener.close()
        agent.release_socket()
        stop_child(agent)
    return 0


def tend_child(agent: Agent) -> None:
    """Keep the background sync child running: start it, or again an interval after it
    ended on its own (a crash never reaches the agent)."""
    if not agent.sync_every or (agent.child is not None and agent.child.poll() is None):
        return
    if agent.child is not None:  # ended (poll() reaped it)
        _close_pipe(agent.child)
        agent.child = None
    started = agent.child_started
    if started is None or time.monotonic() - started >= agent.sync_every:
        agent.child, agent.child_started = start_child(agent), time.monotonic()


def start_child(agent: Agent) -> subprocess.Popen[bytes] | None:
    """The child process that syncs in the background (None if it cannot start).

    A process of its own, not a thread here: the agent stays a small server that holds the
    key and nothing else (no network, no vault, no parser of server answers in the process
    that holds the key all along), and the child asks for the key without counting as use."""
    config = encode_message({"home": str(agent.home), "every": agent.sync_every,
                             "lang": i18n.current(), "agent": os.getpid()})
    try:
        proc = subprocess.Popen([sys.executable, "-m", BACKGROUND], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                close_fds=True, cwd="/")
    except OSError:
        return None
    try:
        assert proc.stdin is not None
        proc.stdin.write(config)
        proc.stdin.flush()  # the pipe stays open: its end tells the child the agent is gone
    except OSError:
        pass
    return proc


def stop_child(agent: Agent) -> None:
    """End the child (at once, even in the middle of a sync) and wait for it."""
    proc, agent.child = agent.child, None
    if proc is None:
        return
    _close_pipe(proc)
    proc.terminate()
    try:
        proc.wait(CHILD_STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _close_pipe(proc: subprocess.Popen[bytes]) -> None:
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass


def _serve(agent: Agent, listener: socket.socket) -> None:
    """Accept connections one at a time, waking at least every WAKE_S to check the exit rules."""
    while agent.exit_reason() is None:
        tend_child(agent)
        listener.settimeout(max(0.01, min(WAKE_S, agent.idle_remaining())))
        try:
            conn, _addr = listener.accept()
        except TimeoutError:
            continue
        with conn:
            _handle(agent, conn)


def _handle(agent: Agent, conn: socket.socket) -> None:
    """Answer one connection; refuse other users silently, and never let a client kill us."""
    if not peer_may_connect(conn):
        agent.refused += 1
        return
    try:
        reply = agent.answer(read_message(conn, CONNECTION_TIMEOUT_S))
    except ValueError:
        reply = _error("bad request")
    except OSError:
        return
    try:
        conn.settimeout(CONNECTION_TIMEOUT_S)
        conn.sendall(encode_message(reply))
    except OSError:
        pass


def _lock_key_memory(key: bytearray) -> None:
    """Keep the key's page out of swap (best effort; mlockall may already cover it)."""
    if not key or not sys.platform.startswith(("linux", "darwin")):
        return
    buffer = (ctypes.c_char * len(key)).from_buffer(key)
    _libc.mlock(ctypes.c_void_p(ctypes.addressof(buffer)), ctypes.c_size_t(len(key)))


def _now_iso() -> str:
    """The current time in UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumpable() -> bool:
    """Whether this process could be dumped or debugged by its user."""
    if sys.platform.startswith("linux"):
        return bool(_libc.prctl(PR_GET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0),
                                ctypes.c_ulong(0), ctypes.c_ulong(0)))
    return not _denied_attach


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Leave the serving loop on SIGTERM, SIGINT or SIGHUP."""
    raise _Stopped


def _catch_signals(handler: signal.Handlers | Callable[[int, FrameType | None], None]) -> None:
    """Set the handler of SIGTERM, SIGINT and SIGHUP."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, handler)


def _announce(line: str, fd: int = 1) -> None:
    """Tell the launcher how the start went."""
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode())
    except OSError:
        pass


def _detach_stdio(last_line: str) -> None:
    """Point stdin and stdout at /dev/null, then send `last_line` down the launcher's pipe."""
    pipe = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    _announce(last_line, pipe)
    os.close(pipe)


def _unlink_quietly(path: Path) -> None:
    """Remove `path` if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _ok(**fields: Any) -> dict[str, Any]:
    """A successful reply."""
    return {"v": PROTOCOL_VERSION, "ok": True, **fields}


def _error(message: str) -> dict[str, Any]:
    """A failed reply."""
    return {"v": PROTOCOL_VERSION, "ok": False, "error": message}


if __name__ == "__main__":
    raise SystemExit(main())
