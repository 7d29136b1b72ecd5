"""What `msante status --json` loads when the agent answers (bench/vault.py times it).

Not a timing test: it names the modules that are costly to import and that this command does
not need, so that a change importing one of them at start-up again fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Loaded only by the commands that use them: the rich table (`status` without --json),
# the TUI, PDF reading, Argon2id and AES-GCM (a passphrase, a document), the socket module's
# enums (the agent's client uses _socket), the common-passphrase list.
NOT_NEEDED = ("rich", "textual", "pypdf", "cryptography", "pydantic", "socket",
              "importlib.resources", "secrets", "shlex", "msante.tui",
              "msante.documents.service", "msante.agenda.service", "msante.profile.service")

PROBE = """
import atexit, sys
atexit.register(lambda: print(" ".join(sorted(sys.modules)), file=sys.stderr))
from msante.cli.main import run
sys.argv = ["msante", "status", "--json"]
run()
"""


def _loaded(name: str, modules: set[str]) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_status_json_loads_only_what_it_needs(cli, made: Path) -> None:
    """With the agent holding the keys, status --json imports none of the costly modules."""
    assert cli("unlock", "--timeout", "10m", pfile=made).code == 0
    env = {k: v for k, v in os.environ.items() if k != "MSANTE_PASSPHRASE_FILE"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["locked"] is False  # the agent's path, not the locked one
    modules = set(done.stderr.split())
    assert "msante.vault.store" in modules  # the vault was really opened
    assert [m for m in NOT_NEEDED if _loaded(m, modules)] == []
