"""Where msante keeps things: every path comes from here; `MSANTE_HOME` overrides the home."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from msante.errors import EnvironmentProblem
from msante.i18n import _


def home() -> Path:
    """The vault's directory: `$MSANTE_HOME`, else the platform's user data dir."""
    env = os.environ.get("MSANTE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("msante", appauthor=False))


def header_path(base: Path) -> Path:
    """The plaintext header `vault.json`."""
    return base / "vault.json"


def db_path(base: Path) -> Path:
    """The SQLCipher database `vault.db`."""
    return base / "vault.db"


def blobs_dir(base: Path) -> Path:
    """The directory of encrypted files."""
    return base / "blobs"


def lock_path(base: Path) -> Path:
    """The file lock taken by whole-vault operations."""
    return base / "vault.lock"


def runtime_dir() -> Path:
    """A private 0700 directory for agent sockets, created and checked (owner, mode)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        root = Path(xdg) / "msante"
    else:
        import tempfile  # imported here only: most commands never need it

        root = Path(tempfile.gettempdir()) / f"msante-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, parents=False, exist_ok=True)
    except FileNotFoundError:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private_dir(root)
    return root


def check_private_dir(path: Path) -> None:
    """Refuse a directory that is a link, not ours, or open to others."""
    st = os.lstat(path)
    import stat

    if not stat.S_ISDIR(st.st_mode):
        raise EnvironmentProblem(_("{path} is not a directory.").format(path=path))
    if st.st_uid != os.getuid():
        raise EnvironmentProblem(_("{path} belongs to another user.").format(path=path))
    if st.st_mode & 0o077:
        raise EnvironmentProblem(
            _("{path} is open to other users (mode {mode:o}).").format(
                path=path, mode=st.st_mode & 0o777
            )
        )


def agent_socket(base: Path) -> Path:
    """The agent's socket for the vault at `base`, named by a hash of its real path."""
    digest = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:24]
    return runtime_dir() / f"agent-{digest}.sock"
