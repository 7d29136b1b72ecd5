"""`make demo`: build a demo vault in a temporary home with sample data, and show it.

Every step is a real `msante` command, printed before it runs, so the demo is also a tour.
The home is kept afterwards so that you can go on trying commands in it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

PASSPHRASE = "demo velvet orbit lantern 2026"


def _run(env: dict[str, str], *args: str) -> None:
    print(f"\n$ msante {' '.join(shlex.quote(a) for a in args)}", flush=True)
    subprocess.run([sys.executable, "-m", "msante", *args], env=env, check=True)


def _prepare() -> tuple[Path, dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="msante-demo-"))
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    pfile = root / "passphrase.txt"
    pfile.write_text(PASSPHRASE + "\n")
    pfile.chmod(0o600)
    env = dict(os.environ, MSANTE_HOME=str(root / "vault"), XDG_RUNTIME_DIR=str(runtime),
               MSANTE_PASSPHRASE_FILE=str(pfile))
    return root, env


def main() -> int:
    """Run the tour."""
    root, env = _prepare()
    print(f"Demo vault in {root / 'vault'} (passphrase file: {env['MSANTE_PASSPHRASE_FILE']})")
    _run(env, "init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex", "female",
         "--recovery-key-file", str(root / "recovery-key.txt"))
    _run(env, "people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male")
    _run(env, "people", "add", "Jeanne Martin", "--born", "2006-03-14", "--sex", "female")
    _run(env, "unlock", "--timeout", "10m")
    env.pop("MSANTE_PASSPHRASE_FILE")
    for args in (["status"], ["people", "list"], ["people", "show", "jeanne martin"],
                 ["backup", "create", "--out", str(root / "backup.msb")],
                 ["audit", "list"], ["audit", "verify"]):
        _run(env, *args)
    print(f"\nThe agent keeps the vault unlocked for 10 minutes. Go on with:\n"
          f"  export MSANTE_HOME={root / 'vault'} XDG_RUNTIME_DIR={root / 'run'}\n"
          f"  .venv/bin/msante --help\n"
          f"(French: .venv/bin/msante --lang fr --help). 'msante lock' locks it now.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
