"""Paths typed in the TUI: completion of a folder's names, where to start, system errors.

A system error's words (`strerror`) come from the C library in English; they are said in the
user's language here (`échec : /nope (fichier ou dossier introuvable)`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from textual.suggester import Suggester

from msante.i18n import _

MAX_ENTRIES = 2000  # a folder's names read for a completion (a huge folder is cut, not slow)


class PathSuggester(Suggester):
    """Suggest the rest of a file or folder name as the person types a path (→ takes it)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value)


def complete(value: str) -> str | None:
    """`value` with the first name of its folder (folders first) that starts with what follows
    the last `/` (a folder's name ends with `/`); None when nothing does. Hidden names need a
    typed `.`."""
    if not value:
        return None
    folder_text, _sep, start = value.rpartition("/")
    folder = Path(os.path.expanduser(folder_text + "/")) if _sep else Path(".")
    try:
        with os.scandir(folder) as entries:
            # folders first: a path is mostly typed through folders
            names = sorted(((e.name, e.is_dir()) for _n, e in zip(range(MAX_ENTRIES), entries,
                                                                  strict=False)),
                           key=lambda item: (not item[1], item[0]))
    except OSError:
        return None
    for name, is_dir in names:
        if name.startswith(start) and name != start and (start.startswith(".")
                                                         or not name.startswith(".")):
            return value[:len(value) - len(start)] + name + ("/" if is_dir else "")
    return None


def downloads() -> Path | None:
    """The user's downloads folder, when there is one (XDG's, else ~/Downloads)."""
    home = Path.home()
    candidates = [os.environ.get("XDG_DOWNLOAD_DIR", ""), str(home / "Downloads"),
                  str(home / "Téléchargements")]
    for text in candidates:
        if text and Path(os.path.expanduser(text)).is_dir():
            return Path(os.path.expanduser(text))
    return None


def start_folder(last: Path | None) -> Path:
    """Where a file picker starts: the folder of the last import, else the downloads folder,
    else the current folder (when it is not the home), else the home."""
    if last is not None and last.is_dir():
        return last
    cwd = Path.cwd()
    return downloads() or (cwd if cwd != Path.home() else Path.home())


def _reasons() -> dict[int, str]:
    """The common system errors, in the user's language."""
    return {
        errno.ENOENT: _("no such file or folder"),
        errno.EACCES: _("permission denied"),
        errno.EPERM: _("operation not permitted"),
        errno.EEXIST: _("the file already exists"),
        errno.EISDIR: _("it is a folder"),
        errno.ENOTDIR: _("not a folder"),
        errno.ENOSPC: _("no space left on the disk"),
        errno.EROFS: _("the disk is read-only"),
        errno.ENAMETOOLONG: _("the name is too long"),
        errno.EIO: _("input/output error"),
    }


def in_words(text: str) -> str:
    """`text` with a system error's English words (`No such file or directory`, as the core
    quotes `strerror`) in the user's language."""
    for code, said in _reasons().items():
        text = text.replace(os.strerror(code), said)
    return text


def system_error(path: Path, exc: OSError) -> str:
    """`Cannot write /nope: no such file or folder`, in the user's language."""
    said = _reasons().get(exc.errno or 0) or exc.strerror or str(exc)
    return _("Cannot write {path}: {error}").format(path=path, error=said)
