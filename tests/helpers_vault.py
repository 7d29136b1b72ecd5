"""Helpers for the attack tests of the vault (security, audit chain, crashes, migrations).

Plain functions, no fixtures: the shared fixtures live in conftest.py; the test modules build
their own small fixtures from these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from msante import paths
from msante.api import Vault
from msante.vault import crypto, header, store
from msante.vault.keys import Keys
from tests.conftest import PASSPHRASE

FAST_KDF = {"memory_kib": 16 * 1024, "iterations": 2}
OWNER = {"name": "Camille Martin", "born": "1985-06-02", "sex": "female"}


def fast_params() -> crypto.KdfParams:
    """The cheapest KDF parameters the vault accepts (fresh salt)."""
    return crypto.KdfParams.new(**FAST_KDF)


def make_vault(home: Path, passphrase: str = PASSPHRASE, **owner: str) -> tuple[Vault, str]:
    """A new vault at `home` with the fast KDF; (open vault, recovery key text)."""
    who = OWNER | owner
    return Vault.create(home, passphrase, name=who["name"], born=who["born"], sex=who["sex"],
                        params=fast_params())


def keys_of(home: Path, passphrase: str = PASSPHRASE) -> Keys:
    """The keys of the vault at `home`, unlocked with its passphrase."""
    return store.unlock_with_passphrase(home, passphrase)


def write_secret(path: Path, text: str) -> Path:
    """A 0600 file holding `text` and a newline (a passphrase or recovery key file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return path


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` (relative path → content)."""
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def vault_files(home: Path) -> dict[str, bytes]:
    """The bytes of vault.json and vault.db (and its -wal if there is one)."""
    out = {}
    for p in (paths.header_path(home), paths.db_path(home), home / "vault.db-wal"):
        if p.exists():
            out[p.name] = p.read_bytes()
    return out


def flip_byte(path: Path, offset: int) -> None:
    """Flip the lowest bit of the byte at `offset` (negative: from the end)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def header_json(home: Path) -> dict[str, Any]:
    """vault.json as a dict."""
    return dict(json.loads(paths.header_path(home).read_text("utf-8")))


def write_header_json(home: Path, data: dict[str, Any]) -> None:
    """Overwrite vault.json with `data` (as an attacker would: no MAC, no lock)."""
    paths.header_path(home).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def chain_head(home: Path) -> header.ChainHead | None:
    """The chain head recorded in vault.json."""
    return header.load(home).chain


def audit_count(conn: Any) -> int:
    """How many audit entries the database holds."""
    return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def changes_count(conn: Any) -> int:
    """How many change-log rows the database holds."""
    return int(conn.execute("SELECT count(*) FROM changes").fetchone()[0])


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI child for the vault at `home` (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if k != "MSANTE_PASSPHRASE_FILE"}
    return env | {"MSANTE_HOME": str(home)} | extra


# A child that opens the vault with keys read from stdin ("<vault id> <key hex>"), prints
# "ready", waits for a second line (or the end of stdin), then adds people named
# "<prefix> <n>" in a loop, printing "done <n>" after each commit.
WRITER_SCRIPT = """
import sys
from pathlib import Path
from msante import i18n
from msante.api import Vault
from msante.vault.keys import Keys

i18n.setup("en")
home, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
vault_id, key_hex = sys.stdin.readline().split()
vault = Vault.open(home, Keys(vault_id, bytes.fromhex(key_hex)))
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    vault.people.add(f"{prefix} {n}", "2010-01-01", "male")
    print(f"done {n}", flush=True)
vault.close()
"""


def start_writer(home: Path, keys: Keys, prefix: str, count: int,
                 *, hold: bool = False) -> subprocess.Popen[str]:
    """A writer child (see WRITER_SCRIPT); the key goes through stdin, never argv.

    With `hold`, stdin stays open: the child waits after "ready" until release() is called.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(home), prefix, str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ))
    assert proc.stdin is not None
    proc.stdin.write(f"{keys.vault_id} {keys.vault_key.hex()}\n")
    proc.stdin.flush()
    if not hold:
        release(proc)
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    """Let a held writer go (close its stdin)."""
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.close()
    proc.stdin = None  # so that communicate() does not flush a closed pipe
