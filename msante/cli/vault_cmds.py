"""Vault commands: init, passwd, recover, unlock, lock, status, close."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from msante.cli import output, session
from msante.errors import LockedError, UsageError
from msante.i18n import _

JsonOpt = Annotated[bool, typer.Option("--json", help=_("Print JSON for scripts."))]


def _new_passphrase(file: Path | None, personal: tuple[str, ...], *,
                    from_sources: bool = False) -> str:
    """A new passphrase: from `file`, else (at init) the usual sources, else two prompts.

    passwd and recover never take the new passphrase from the sources that gave the current
    one: the same file or stdin line would silently "change" it to itself.
    """
    from msante.unlock import passphrase, read_passphrase_file
    from msante.vault.passphrase import check_strength

    src = session.sources()
    text = read_passphrase_file(file, src.warn) if file else None
    if text is None and from_sources:
        text = passphrase(src)
    if text is None:
        text = _prompt_twice(src)
    check_strength(text, personal)
    return text


def _prompt_twice(src: Any) -> str:
    from msante.vault.passphrase import normalize

    if src.prompt is None:
        raise LockedError(_("No terminal to ask for the new passphrase: use "
                            "--new-passphrase-file (or, for init, --passphrase-stdin or "
                            "MSANTE_PASSPHRASE_FILE)."))
    first = normalize(src.prompt(_("New passphrase: ")))
    if normalize(src.prompt(_("Repeat the new passphrase: "))) != first:
        raise UsageError(_("The two passphrases differ. Nothing was changed."))
    return first


def _kdf(memory_mib: int | None, iterations: int | None) -> Any:
    from msante.vault import crypto

    return crypto.KdfParams.new(memory_kib=(memory_mib or 64) * 1024, iterations=iterations or 3)


def _write_new_secret_file(path: Path, text: str) -> None:
    from msante.vault.fsutil import new_private_file

    with new_private_file(path) as f:
        f.write((text + "\n").encode())


def init(
    name: Annotated[str, typer.Option(help=_("The owner's name."))],
    born: Annotated[str, typer.Option(help=_(
        "The owner's birth date: 1985-06-02 or 02/06/1985."))],
    sex: Annotated[str, typer.Option(help=_(
        "female, male or other (F, M; femme, homme, autre)."))],
    recovery_key_file: Annotated[Path | None, typer.Option(
        help=_("Write the recovery key to this new file (mode 0600) instead of showing it.")),
    ] = None,
    kdf_memory: Annotated[int | None, typer.Option(
        help=_("Argon2id memory in MiB (16 to 256; default 64; memory × iterations at most "
               "768)."))] = None,
    kdf_iterations: Annotated[int | None, typer.Option(
        help=_("Argon2id iterations (2 to 10; default 3)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Create the encrypted vault with the owner's profile.

    Example: msante init --name "Camille Martin" --born 1985-06-02 --sex female
    """
    from msante.api import Vault
    from msante.people import validate

    name, day, sex = validate(name, born, sex)
    if recovery_key_file:
        from msante.vault.fsutil import check_new_file

        check_new_file(recovery_key_file)
    typed, born = born, day.isoformat()
    text = _new_passphrase(None, (name, typed, born, born.replace("-", "")), from_sources=True)
    vault, recovery = Vault.create(session.home(), text, name=name, born=born, sex=sex,
                                   params=_kdf(kdf_memory, kdf_iterations))
    vault.close()
    _announce_created(recovery, recovery_key_file, json_)


def _announce_created(recovery: str, file: Path | None, json_: bool) -> None:
    if file:
        _write_new_secret_file(file, recovery)
    if json_:
        output.print_json({"path": str(session.home()), "recovery_key_file": str(file) if file
                           else None, "recovery_key": None if file else recovery})
        return
    output.info(_("Vault created in {path}.").format(path=session.home()))
    _show_recovery(recovery, file)


def _show_recovery(recovery: str, file: Path | None) -> None:
    if file:
        output.info(_("Recovery key written to {path}. Keep it somewhere safe, away from this "
                      "computer.").format(path=file))
        return
    output.info(_("Your recovery key (shown only this once):"))
    output.echo(f"\n    {recovery}\n")
    output.info(_("Write it down and keep it safe: it is the only way back in if you forget "
                  "your passphrase."))


def passwd(
    new_passphrase_file: Annotated[Path | None, typer.Option(
        help=_("Read the new passphrase from this file instead of asking."))] = None,
    kdf_memory: Annotated[int | None, typer.Option(help=_("Argon2id memory in MiB."))] = None,
    kdf_iterations: Annotated[int | None, typer.Option(help=_("Argon2id iterations."))] = None,
    rotate_keys: Annotated[bool, typer.Option(
        "--rotate-keys", help=_("Also draw a new vault key and a new recovery key, so that old "
                                "passphrases, old backups and the old recovery key no longer "
                                "open this vault."))] = False,
    recovery_key_file: Annotated[Path | None, typer.Option(
        help=_("With --rotate-keys: write the new recovery key to this new file (mode 0600) "
               "instead of showing it."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Change the passphrase (the current one is always checked again).

    Example: msante passwd --rotate-keys
    """
    from msante.api import Vault
    from msante.vault.store import change_passphrase

    if recovery_key_file and not rotate_keys:
        raise UsageError(_("--recovery-key-file goes with --rotate-keys."))
    if recovery_key_file is not None:
        from msante.vault.fsutil import check_new_file

        check_new_file(recovery_key_file)
    keys = session.keys(agent_ok=False)
    new = _new_passphrase(new_passphrase_file, ())
    if rotate_keys:
        _rotate(keys, new, _kdf(kdf_memory, kdf_iterations), recovery_key_file, json_)
        return
    with Vault.open(session.home(), keys) as vault:
        change_passphrase(vault.store, new, _kdf(kdf_memory, kdf_iterations))
    if json_:
        output.print_json({"rotated": False})
    else:
        output.info(_("Passphrase changed."))


def _rotate(keys: Any, new: str, params: Any, file: Path | None, json_: bool) -> None:
    from msante.api import Vault
    from msante.vault import agent, rotation

    agent.stop_agent(session.home())  # it holds the old key
    with Vault.open(session.home(), keys) as vault:
        recovery = rotation.rotate(vault.store, new, params)
    if file:
        _write_new_secret_file(file, recovery)
    if json_:
        output.print_json({"rotated": True, "recovery_key_file": str(file) if file else None,
                           "recovery_key": None if file else recovery})
        return
    output.info(_("Passphrase changed and keys rotated: old backups, old passphrases and the "
                  "old recovery key no longer open this vault. Unlock again if needed."))
    _show_recovery(recovery, file)


def recover(
    recovery_key_file: Annotated[Path | None, typer.Option(
        help=_("Read the recovery key from this file instead of asking."))] = None,
    new_passphrase_file: Annotated[Path | None, typer.Option(
        help=_("Read the new passphrase from this file instead of asking."))] = None,
) -> None:
    """Set a new passphrase with the recovery key.

    Example: msante recover --recovery-key-file ~/recovery.txt
    """
    from msante.api import Vault
    from msante.vault.store import change_passphrase, unlock_with_recovery

    text = session.secret(recovery_key_file, _("Recovery key: "),
                          _("No terminal to ask for the recovery key: use --recovery-key-file."))
    keys = unlock_with_recovery(session.home(), text)
    new = _new_passphrase(new_passphrase_file, ())
    with Vault.open(session.home(), keys) as vault:
        change_passphrase(vault.store, new, via="recovery")
    output.info(_("New passphrase set with the recovery key."))


def unlock(
    timeout: Annotated[str, typer.Option(help=_("Lock again after this idle time "
                                                "(e.g. 15m, 1h)."))] = "15m",
    sync: Annotated[str | None, typer.Option("--sync", metavar=_("INTERVAL"), help=_(
        "Also sync with the server at this interval while unlocked (1 minute to 1 day, "
        "e.g. 5m); this does not keep the vault unlocked."))] = None,
) -> None:
    """Unlock the vault for the next commands (an agent keeps the key in memory).

    Example: msante unlock --timeout 30m --sync 5m
    """
    from msante.vault import agent

    seconds = agent.parse_duration(timeout)
    every = _sync_interval(sync) if sync is not None else 0
    keys = session.keys(agent_ok=False)
    if every:
        _require_sync_setup(keys)
    agent.start_agent(session.home(), keys.vault_id, keys.vault_key, seconds, sync_every=every)
    output.info(_("Vault unlocked; it locks itself after {t} without use.").format(t=timeout))
    if every:
        output.info(_("Background sync every {t} while it stays unlocked.").format(t=sync))


def _sync_interval(text: str) -> int:
    """The --sync interval in seconds (1 minute to 1 day)."""
    from msante import durations

    return durations.seconds(text, _("sync interval"), low=durations.MINUTE,
                             high=durations.DAY)


def _require_sync_setup(keys: Any) -> None:
    """Refuse --sync on a vault that has no sync identity (saying how to set one up)."""
    from msante.api import Vault
    from msante.sync import device
    from msante.sync.runner import not_set_up

    with Vault.open(session.home(), keys) as vault:
        dev = device.load(vault.store.conn)
    if dev is None or not dev.ready:
        raise not_set_up()


def lock() -> None:
    """Lock the vault now (the agent forgets the key).

    Example: msante lock
    """
    from msante.vault import agent

    if agent.stop_agent(session.home()):
        output.info(_("Vault locked."))
    else:
        output.info(_("The vault was not unlocked."))


def status(json_: JsonOpt = False) -> None:
    """Show whether the vault is locked, where it is, and what it holds. Never asks.

    Example: msante status --json
    """
    from msante.api import header_status

    base = session.home()
    data: dict[str, Any] = {"path": str(base), **header_status(base)}
    data |= _unlocked_status(base)
    if json_:
        output.print_json(data)
    else:
        _print_status(data)


def _unlocked_status(base: Path) -> dict[str, Any]:
    from msante.api import Vault
    from msante.unlock import keys_from_agent
    from msante.vault import agent

    warnings: list[str] = []
    keys = keys_from_agent(base, touch=False, warn=warnings.append)
    if keys is None:
        return {"locked": True} | ({"warning": warnings[0]} if warnings else {})
    from msante.sync.lastrun import background

    info = agent.status(base) or {}
    with Vault.open(base, keys) as vault:
        return {"locked": False, "idle_remaining": info.get("idle_remaining"),
                "schema_version": vault.schema_version(), "people": vault.counts(),
                "background_sync": background(base, info or None)}


def _print_status(data: dict[str, Any]) -> None:
    if data["locked"]:
        state = _("locked")
    else:
        state = _("unlocked, locks itself in {m} min").format(
            m=max(1, round((data.get("idle_remaining") or 0) / 60)))
    output.echo(_("Vault: {path} ({state})").format(path=data["path"], state=state))
    output.echo(_("Format version: {v}").format(v=data["format_version"]))
    if data["locked"]:
        if data.get("warning"):
            output.error(data["warning"])
        output.echo(_("Unlock with 'msante unlock' to see what it holds."))
        return
    from msante.people import RELATION_LABELS

    output.table([_("Person"), _("Relation"), _("Documents"), _("Activity entries")], [
        [p["name"], _(RELATION_LABELS[p["relation"]]), str(p["documents"]), str(p["activity"])]
        for p in data["people"]])
    print_background(data["background_sync"])


def _when(iso: str) -> str:
    """A stored UTC time as local `YYYY-MM-DD HH:MM`."""
    import datetime as dt

    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def print_background(state: dict[str, Any]) -> None:
    """The background sync line, when the agent runs one."""
    if not state["on"]:
        return
    every = max(1, round(state["every"] / 60))
    if state["last_run"] is None:
        last = _("not run yet")
    elif state["error"]:
        last = _("last run {at}: failed: {error}").format(at=_when(state["last_run"]),
                                                          error=state["error"])
    else:
        last = _("last run {at}").format(at=_when(state["last_run"]))
    output.echo(_("Background sync: every {m} min, {last}").format(m=every, last=last))


def close(
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
    backup: Annotated[Path | None, typer.Option(
        help=_("Write a backup to this file before wiping."))] = None,
) -> None:
    """Close your space: wipe the vault for good (keys first), after confirmation.

    Example: msante close --backup ~/msante-final.msb
    """
    from msante.vault import agent
    from msante.vault.store import wipe

    if not yes and not output.is_terminal():
        output.confirm("", yes=False)  # refuses: nothing is written, not even a backup
    with session.open_vault() as vault:
        if backup is None and not yes and output.is_terminal():
            backup = _offer_backup()
        if backup is not None:
            from msante.cli.backup_cmds import write_backup

            write_backup(vault, backup)
    output.confirm(_("Wipe the vault in {path} for good?").format(path=session.home()), yes=yes)
    agent.stop_agent(session.home())
    wipe(session.home())
    output.info(_("The vault was wiped."))


def _offer_backup() -> Path | None:
    from rich.prompt import Prompt

    answer = Prompt.ask(_("Make a backup first? Give a file name, or leave empty to skip"),
                        default="")
    return Path(answer).expanduser() if answer.strip() else None
