"""Options shared by the commands, so that the same thing is asked and read the same way.

- Whose records a listing shows: the owner's by default, `--person NAME` for one person's,
  `--all` for everyone's (`people_for`).
- A period: `--since DATE` and `--until DATE` (included), `--from`/`--to` as hidden aliases.
- A file to write: refused if it exists unless `--force`; its folder checked before the
  passphrase is asked (`check_out`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msante.errors import UsageError
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.people import Person

PersonOpt = Annotated[str | None, typer.Option(help=_(
    "Only this person's (default: the owner's)."))]
AllOpt = Annotated[bool, typer.Option("--all", help=_("Everyone's (default: the owner's)."))]
SinceOpt = Annotated[str | None, typer.Option("--since", help=_(
    "From this date: 2026-12-01 or 01/12/2026."))]
UntilOpt = Annotated[str | None, typer.Option("--until", help=_(
    "Up to this date, included: 2026-12-31 or 31/12/2026."))]
FromAlias = Annotated[str | None, typer.Option("--from", hidden=True)]
ToAlias = Annotated[str | None, typer.Option("--to", hidden=True)]
ForceOpt = Annotated[bool, typer.Option("--force", help=_(
    "Replace the file if it exists."))]


def one_of(main: str | None, alias: str | None, names: str) -> str | None:
    """The value of an option given under its name or its hidden alias (not both)."""
    if main is not None and alias is not None:
        raise UsageError(_("Give {names} once.").format(names=names))
    return main if main is not None else alias


def check_person_choice(person: str | None, all_: bool) -> None:
    """Refuse --person with --all (before the passphrase is asked)."""
    if all_ and person:
        raise UsageError(_("Give --person or --all, not both."))


def people_for(vault: Vault, person: str | None, all_: bool) -> list[Person]:
    """The people a listing covers: everyone (`--all`), the named one, else the owner."""
    check_person_choice(person, all_)
    return vault.people.list() if all_ else [vault.people.get(person)]


def check_in(path: Path) -> None:
    """Refuse a file to read that does not exist, before the vault is opened (exit 5)."""
    from msante.errors import NotFoundError

    if not path.exists():
        raise NotFoundError(_("No file {path}.").format(path=path))


def check_out(path: Path, force: bool) -> None:
    """Refuse a file to write before the vault is opened: one that exists (without --force),
    a folder, or one whose folder does not exist."""
    from msante.errors import AlreadyExistsError
    from msante.vault.fsutil import check_new_file

    try:
        check_new_file(path, overwrite=force)
    except AlreadyExistsError:
        raise AlreadyExistsError(_("{path} already exists: choose a new file, or replace it "
                                   "with --force.").format(path=path)) from None
