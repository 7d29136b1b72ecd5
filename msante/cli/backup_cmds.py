"""`msante backup`: encrypted archives of the whole vault, and handover imports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from msante.cli import output, session
from msante.cli.options import ForceOpt, check_out
from msante.cli.vault_cmds import JsonOpt
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.formats.archive import Envelope

app = typer.Typer(help=_("Encrypted backups of the whole vault."), no_args_is_help=True)


def write_backup(vault: Vault, out: Path, *, overwrite: bool = False) -> dict[str, object]:
    """Write a backup with a progress line; return its summary."""
    from msante import backup

    summary = backup.create(vault.store, out, overwrite=overwrite)
    output.info(_("Backup written to {path}.").format(path=out))
    return summary


@app.command("create")
def create(
    out: Annotated[Path, typer.Option("--out", help=_("The archive to write (a new file)."))],
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Write an encrypted archive of the whole vault (opens with the passphrase or recovery key).

    Example: msante backup create --out ~/msante-2026-11-23.msb
    """
    check_out(out, force)
    with session.open_vault() as vault:
        summary = write_backup(vault, out, overwrite=force)
    if json_:
        output.print_json(summary)


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(metavar=_("FILE"), help=_("The archive to restore."))],
    merge: Annotated[bool, typer.Option("--merge", help=_(
        "Import a handover archive into this vault instead of rebuilding a vault."))] = False,
    recovery_key_file: Annotated[Path | None, typer.Option(
        help=_("Open the backup with the recovery key in this file."))] = None,
    code_file: Annotated[Path | None, typer.Option(
        help=_("Read the handover's one-time code from this file."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Rebuild a vault from a backup in an empty MSANTE_HOME, or --merge a handover archive.

    Example: msante backup restore ~/msante-2026-11-23.msb
    """
    from msante import backup

    try:
        src = open(file, "rb")
    except OSError as exc:
        from msante.errors import NotFoundError

        raise NotFoundError(_("Cannot open {path}: {error}").format(
            path=file, error=exc.strerror)) from None
    with src:
        env = backup.open_envelope(src)
        result = _merge(src, env, code_file) if merge else _restore(src, env, recovery_key_file)
    if json_:
        output.print_json(result)


def _restore(src: BinaryIO, env: Envelope, recovery_key_file: Path | None) -> dict[str, object]:
    from msante import backup
    from msante.unlock import passphrase

    def ask() -> str | None:
        srcs = session.sources()
        given = passphrase(srcs)
        if given is None and srcs.prompt is not None:
            given = srcs.prompt(_("The backup's passphrase: "))
        return given

    recovery = session.read_secret_file(recovery_key_file) if recovery_key_file else None
    keys = backup.unlock_backup(env, ask, recovery, session.sources().confirm)
    store = backup.restore(src, env, keys, session.home())
    verdict = store.verify()
    store.close()
    output.info(_("Vault restored in {path}.").format(path=session.home()))
    return {"path": str(session.home()), "audit_ok": verdict.ok, "audit_entries": verdict.count}


def _merge(src: BinaryIO, env: Envelope, code_file: Path | None) -> dict[str, object]:
    from msante.handover import import_space

    code = session.secret(code_file, _("One-time code: "),
                          _("No terminal to ask for the one-time code: use --code-file."))
    with session.open_vault() as vault:
        result = import_space(vault, src, env, code)
    output.info(_("Imported the profile of {name}.").format(name=result["person"]))
    return result
