"""Client of the unlock agent: start it, ask it for the vault key, stop it.

Imported by every command, so it stays on the standard library's cheapest modules; `subprocess`
is imported only by `start_agent`. The client talks through `_socket`, the C type under
`socket.socket`: the `socket` module itself builds enums of every constant at import (a
thirtieth of `msante status`). The daemon itself is `msante.vault.agent_server`.

Protocol (version 1): one JSON line per connection each way. A request is
`{"v": 1, "op": "get_key" | "status" | "lock" | "ping"}`; a reply is `{"v": 1, "ok": true, ...}`
or `{"v": 1, "ok": false, "error": "..."}`.
"""

from __future__ import annotations

import _socket
import binascii
import json
import os
import struct
import sys
import time
from pathlib import Path

from msante import paths
from msante.errors import EnvironmentProblem
from msante.i18n import _, current
from msante.vault.fsutil import process_running

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any

PROTOCOL_VERSION = 1
MAX_MESSAGE = 64 * 1024
CLIENT_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 10.0
STOP_WAIT_S = 1.0
MAX_DURATION_S = 7 * 24 * 3600
SECRET_WORDS = ("PASS", "KEY", "SECRET", "TOKEN")
_XUCRED_SIZE = 76  # macOS struct xucred: version, uid, ngroups, 16 groups


def start_agent(base: Path, vault_id: str, key: bytes, timeout_s: float, *,
                sync_every: float = 0) -> int:
    """Start the agent holding `key` for the vault at `base`, replacing any; return its pid.

    With `sync_every` (seconds), the agent starts a child process that syncs the vault at
    that interval (msante.sync.background) and stops it when it exits."""
    import subprocess

    base = base.resolve()
    sock = paths.agent_socket(base)
    stop_agent(base)
    payload = encode_message(
        {"home": str(base), "socket": str(sock), "vault_id": vault_id,
         "key": binascii.b2a_base64(key, newline=False).decode(),
         "timeout": float(timeout_s), "lang": current(), "sync_every": float(sync_every)}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "msante.vault.agent_server"], start_new_session=True,
        close_fds=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd="/", env=agent_env(),
    )
    try:
        return _handshake(proc, payload)
    finally:
        _reap(proc)


def get_key(base: Path, *, touch: bool = True) -> tuple[str, bytes] | None:
    """The vault id and key held by the agent of `base`, or None when no agent answers.

    With `touch` False the request does not count as use (the idle clock keeps running).
    """
    reply = _exchange(paths.agent_socket(base), "get_key" if touch else "peek_key")
    if reply is None:
        return None
    vault_id, key = reply.get("vault_id"), reply.get("key")
    if not isinstance(vault_id, str) or not isinstance(key, str):
        return None
    try:
        return vault_id, binascii.a2b_base64(key, strict_mode=True)
    except ValueError:  # binascii.Error included
        return None


def status(base: Path) -> dict[str, Any] | None:
    """The agent's status reply (vault_id, pid, timeout, idle_remaining, started…), or None."""
    return _exchange(paths.agent_socket(base), "status")


def stop_agent(base: Path) -> bool:
    """Tell the agent of `base` to wipe its key and exit; True if one was running."""
    reply = _exchange(paths.agent_socket(base), "lock")
    if reply is None:
        return False
    pid = reply.get("pid")
    if isinstance(pid, int):
        _wait_exit(pid, STOP_WAIT_S)
    return True


def parse_duration(text: str, *, max_days: int = MAX_DURATION_S // 86400) -> int:
    """Seconds in a typed duration ("15m", "1h", "2h30m", "90s", "45": see msante.durations);
    UsageError if unreadable or not between 1 second and `max_days` (7 by default: the
    agent's idle timeout)."""
    from msante import durations

    return durations.seconds(text, _("timeout"), low=1, high=max_days * durations.DAY,
                             bare_seconds=True)


def peer_allowed(peer_uid: int, my_uid: int) -> bool:
    """Whether a peer running as `peer_uid` may talk to an agent running as `my_uid`."""
    return peer_uid == my_uid


def peer_uid(sock: _socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (OSError if unknown)."""
    if hasattr(_socket, "SO_PEERCRED"):
        ucred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("i2I"))
        return int(struct.unpack("i2I", ucred)[1])
    if sys.platform == "darwin":
        option = getattr(_socket, "LOCAL_PEERCRED", 1)
        xucred = sock.getsockopt(0, option, _XUCRED_SIZE)  # SOL_LOCAL
        version, uid = struct.unpack_from("=2I", xucred)
        if version == 0:  # XUCRED_VERSION
            return int(uid)
    raise OSError(_("Peer credentials are not available on this system."))


def agent_env() -> dict[str, str]:
    """The environment for the daemon: ours without any variable that may hold a secret."""
    return {
        name: value
        for name, value in os.environ.items()
        if not any(word in name.upper() for word in SECRET_WORDS)
    }


def encode_message(message: dict[str, Any]) -> bytes:
    """One protocol message as a JSON line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def read_message(sock: _socket.socket, timeout_s: float) -> object:
    """Read one JSON line of at most MAX_MESSAGE bytes within `timeout_s` (ValueError if bad)."""
    deadline = time.monotonic() + timeout_s
    data = bytearray()
    while b"\n" not in data:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ValueError("message too long")
    line = bytes(data).split(b"\n", 1)[0]
    if not line.strip():
        raise ValueError("empty message")
    try:
        return json.loads(line)
    except RecursionError as exc:
        raise ValueError("message nested too deeply") from exc


def _exchange(path: Path, op: str) -> dict[str, Any] | None:
    """Send `op` to the agent at `path`; its successful reply, or None for no usable agent."""
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(CLIENT_TIMEOUT_S)
            sock.connect(os.fspath(path))
            if not peer_allowed(peer_uid(sock), os.getuid()):
                return None
            sock.sendall(encode_message({"v": PROTOCOL_VERSION, "op": op}))
            reply = read_message(sock, CLIENT_TIMEOUT_S)
        finally:
            sock.close()
    except (OSError, ValueError):
        return None
    if isinstance(reply, dict) and reply.get("v") == PROTOCOL_VERSION and reply.get("ok") is True:
        return reply
    return None


def _handshake(proc: subprocess.Popen[bytes], payload: bytes) -> int:
    """Hand the key to the starting daemon and wait for its "ready <pid>" line."""
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    line = _read_until_eof(proc.stdout.fileno(), READY_TIMEOUT_S)
    word, _sep, rest = line.partition(" ")
    if word == "ready" and rest.isdigit():
        return int(rest)
    reason = rest if word == "error:" else _("no answer within {n} s").format(n=READY_TIMEOUT_S)
    raise EnvironmentProblem(_("The unlock agent could not start: {reason}").format(reason=reason))


def _read_until_eof(fd: int, timeout_s: float) -> str:
    """The first line from `fd`, read until the daemon closes it (detached) or `timeout_s`."""
    import select  # already loaded by subprocess

    deadline, data = time.monotonic() + timeout_s, b""
    while len(data) < 4096:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()


def _wait_exit(pid: int, timeout_s: float) -> None:
    """Wait up to `timeout_s` for process `pid` to exit (the agent's key is already wiped)."""
    deadline = time.monotonic() + timeout_s
    while process_running(pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Collect the launcher process, which exits as soon as the daemon has forked away."""
    import subprocess

    if proc.stdout is not None:
        proc.stdout.close()
    try:
        proc.wait(timeout=READY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
