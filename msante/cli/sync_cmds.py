"""`msante sync`: sync now; set this device up with a sync server; show the sync state and
the conflicts waiting for the person.

The sync modules (and httpx) are imported only when one of these commands runs, so that the
other commands start as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.vault_cmds import JsonOpt
from msante.errors import UsageError
from msante.i18n import N_, _

app = typer.Typer(help=_("Sync this vault with your other devices through a server."))
conflicts_app = typer.Typer()
app.add_typer(conflicts_app, name="conflicts")


@app.callback(invoke_without_command=True)
def sync_now(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Send this device's changes and fetch the other devices', for every person.

    A record changed on two devices keeps both versions: see 'msante sync conflicts'.

    Example: msante sync --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from msante.sync import runner

    with session.open_vault() as vault, _blob_progress() as progress:
        result = runner.run(vault.store, by="cli", progress=progress)
    for line in result.unexpected:
        output.error(line)
    if result.unexpected:
        output.error(_("Check these entries with 'msante devices list'; if you made them, "
                       "'msante devices list --accept'."))
    if json_:
        output.print_json(result.to_json())
        return
    output.fields([
        (_("Sent"), str(result.pushed)),
        (_("Received"), str(result.pulled)),
        (_("Applied"), str(result.applied)),
        (_("Files sent"), str(result.blobs_up)),
        (_("Files received"), str(result.blobs_down)),
    ])
    for device, count in sorted(result.by_device.items()):
        output.echo(_("{n} change(s) from {device}").format(n=count, device=device))
    if result.conflicts:
        output.error(_("{n} record(s) were changed on two devices: see 'msante sync "
                       "conflicts'.").format(n=result.conflicts))


@contextmanager
def _blob_progress() -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar per file transferred, on a terminal (stderr); nothing in pipes."""
    import sys

    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from msante.cli import safe_console

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=safe_console.make(stderr=True),
                  transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(blob: str, done: int, total: int) -> None:
            if blob not in tasks:
                tasks[blob] = bar.add_task(_("File {id}").format(id=blob[:8]), total=total)
            bar.update(tasks[blob], completed=done)

        yield advance


@conflicts_app.callback(invoke_without_command=True)
def conflicts_list(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Records changed on two devices: both versions are kept until you choose.

    Without a subcommand: list them, with what differs and the other device's version.

    Example: msante sync conflicts --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from msante.sync.engine import conflicts

    with session.open_vault() as vault:
        listed = conflicts.listing(vault.store)
    if json_:
        output.print_json(listed)
        return
    if not listed:
        output.echo(_("No conflict: every record is the same on every device."))
        return
    output.table([_("ID"), _("Type"), _("Person"), _("What differs"), _("Other device")],
                 [[str(c["id"]), _type_label(c["type"]), c["person"] or "",
                   ", ".join(c["differs"]) or "—", _side(c["theirs"], c["mine"])]
                  for c in listed])
    output.echo(_("Choose with: msante sync conflicts resolve ID --keep mine|theirs"))


TYPES = {"people": N_("Person"), "profile_entries": N_("Profile entry"),
         "profile_history": N_("Profile history"), "documents": N_("Document"),
         "measurements": N_("Measurement"), "agenda_items": N_("Appointment"),
         "prevention_done": N_("Prevention act")}


def _type_label(table: str) -> str:
    return _(TYPES[table]) if table in TYPES else table


def _side(theirs: dict[str, Any], mine: dict[str, Any]) -> str:
    """The other device's version in words: which device, when, deleted on which side."""
    text = f"{theirs['device']}, {(theirs['at'] or '')[:16]}"
    if theirs["deleted"]:
        return text + " — " + _("deleted there")
    if mine["deleted"]:
        return text + " — " + _("deleted here")
    return text


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(metavar="ID", help=_(
        "The conflict's number (msante sync conflicts)."))],
    keep: Annotated[str, typer.Option("--keep", help=_(
        "Which version to keep: mine (this device's) or theirs (the other device's)."))],
    json_: JsonOpt = False,
) -> None:
    """Keep one version of a record changed on two devices; the others follow at their sync.

    Example: msante sync conflicts resolve 3 --keep theirs
    """
    from msante.errors import UsageError
    from msante.sync import device as devices
    from msante.sync.engine import conflicts

    if keep not in ("mine", "theirs"):
        raise UsageError(_("--keep is mine or theirs."))
    with session.open_vault() as vault:
        dev = devices.load(vault.store.conn)
        if dev is None:
            raise UsageError(_("This vault is not set up for sync: msante sync setup "
                               "SERVER_URL."))
        done = conflicts.resolve(vault.store, dev, conflict_id, keep)
    if json_:
        output.print_json(done)
    else:
        output.info(_("Conflict {id} resolved: the version kept goes to your other devices "
                      "at the next sync.").format(id=conflict_id))


@app.command("setup")
def setup(
    server_url: Annotated[str, typer.Argument(metavar=_("SERVER_URL"), help=_(
        "The server's address, e.g. https://sync.example.org."))],
    insecure: Annotated[bool, typer.Option("--insecure", help=_(
        "Allow plain http:// to a host that is not this machine (anyone on the way can "
        "watch the traffic)."))] = False,
    force: Annotated[bool, typer.Option("--force", help=_(
        "Set up again with a new account, forgetting this vault's current one."))] = False,
    link: Annotated[str | None, typer.Option("--link", metavar=_("CODE"), help=_(
        "Join your account as a new device with the code 'msante devices link' shows on "
        "another device (a new, empty vault is made if there is none)."))] = None,
    link_file: Annotated[Path | None, typer.Option("--link-file", metavar=_("FILE"), help=_(
        "Read the link code from this file."))] = None,
    recovery_key_file: Annotated[Path | None, typer.Option(help=_(
        "With --link or --recover, when the vault is made: write its recovery key to this new "
        "file (mode 0600) instead of showing it."))] = None,
    kdf_memory: Annotated[int | None, typer.Option(help=_(
        "With --link or --recover, when the vault is made: Argon2id memory in MiB (16 to 256; "
        "default 64)."))] = None,
    kdf_iterations: Annotated[int | None, typer.Option(help=_(
        "With --link or --recover, when the vault is made: Argon2id iterations (2 to 10; "
        "default 3)."))] = None,
    recover: Annotated[bool, typer.Option("--recover", help=_(
        "Every device lost: bring your account back into a new vault with your recovery "
        "key."))] = False,
    read_recovery_key: Annotated[Path | None, typer.Option(
        "--recovery-key-from-file", metavar=_("FILE"), help=_(
        "Read your recovery key from this file instead of asking: with --recover, or once "
        "for a vault that does not know its recovery key's public key yet."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Make this device's keys, register your account on the server and log in once.

    The device's private keys stay inside the vault; the server learns only the public
    halves. Run it again after an interruption: it resumes with the same keys.

    With --link CODE (or --link-file), this device joins the account of the device that
    shows the code ('msante devices link' there) instead of making a new account. With
    --recover, every device lost, your recovery key brings your account back.

    Example: msante sync setup https://sync.example.org
    """
    from msante.sync import engine
    from msante.sync import setup as sync_setup
    from msante.sync.client import check_url

    url = check_url(server_url, insecure=insecure)
    if link is not None or link_file is not None:
        _setup_link(url, insecure, force, link, link_file, recovery_key_file,
                    (kdf_memory, kdf_iterations), json_)
        return
    if recover:
        from msante.cli.recover_cmd import recover_account
        from msante.cli.vault_cmds import _kdf

        if force:
            raise UsageError(_("--recover goes without --force."))
        recover_account(url, insecure, read_recovery_key, recovery_key_file,
                        _kdf(kdf_memory, kdf_iterations), json_)
        return
    if recovery_key_file or kdf_memory or kdf_iterations:
        raise UsageError(_("--recovery-key-file, --kdf-memory and --kdf-iterations go with "
                           "--link or --recover."))
    from msante.sync import recovery

    with session.open_vault() as vault:
        _learn_recovery_key(vault.store, read_recovery_key)
        if force or not _only_recovery_missing(vault.store, url):
            sync_setup.setup(vault.store, url, insecure=insecure, force=force)
        problem = recovery.after_setup(vault.store, insecure=insecure)
        state = sync_setup.status(vault.store) | engine.status(vault.store)
    if problem is not None:
        output.error(problem)
    if json_:
        output.print_json(state)
        return
    output.info(_("This device is set up for sync with {server}.").format(server=state["server"]))
    _print(state)


def _only_recovery_missing(store: Any, url: str) -> bool:
    """Set up with this server already, but the account's recovery not yet protected."""
    from msante.sync import device, recovery

    dev = device.load(store.conn)
    return dev is not None and dev.ready and dev.server == url and not recovery.protected(store)


def _learn_recovery_key(store: Any, file: Path | None) -> None:
    """A vault older than the recovery bundle: the recovery key once, to derive its key."""
    from msante.sync import recover, recovery

    if file is None and not recover.recovery_key_needed(store):
        return
    recovery.learn(store, session.secret(file, _("Recovery key: "), _(
        "This vault needs its recovery key once, to protect the account's recovery bundle: "
        "use --recovery-key-from-file FILE (no terminal to ask).")))


def _setup_link(url: str, insecure: bool, force: bool, link: str | None,
                link_file: Path | None, recovery_key_file: Path | None,
                kdf: tuple[int | None, int | None], json_: bool) -> None:
    """`sync setup --link`: the new device's side (msante/cli/devices_cmds.py)."""
    from msante.cli.devices_cmds import link_setup
    from msante.cli.vault_cmds import _kdf

    if force or (link is not None and link_file is not None):
        raise UsageError(_("--link and --link-file go alone: not together, nor with --force."))
    link_setup(url, insecure, link, link_file, recovery_key_file, _kdf(*kdf), json_)


@app.command("status")
def status(json_: JsonOpt = False) -> None:
    """Show the server, the account, this device's fingerprint and the changes not yet sent.

    Example: msante sync status --json
    """
    from msante.sync import engine, lastrun
    from msante.sync import setup as sync_setup
    from msante.vault import agent

    with session.open_vault() as vault:
        state = sync_setup.status(vault.store) | engine.status(vault.store) | {
            "last_attempt": lastrun.last(vault.store),
            "background": lastrun.background(vault.path, agent.status(vault.path))}
    if json_:
        output.print_json(state)
    else:
        _print(state)
        _print_attempt(state)


@app.command("verify")
def verify(json_: JsonOpt = False) -> None:
    """Check that the server's log was not rewritten, and walk your chains through it.

    Checks the log's signed checkpoint against the key pinned the first time and the last
    checkpoint seen (a consistency proof), then proves every entry of this account's chain,
    of your spaces' chains and of their event sequences in the log. Any inconsistency is
    exit 6 with what the server did.

    Example: msante sync verify --json
    """
    from msante.sync import verify as sync_verify

    with session.open_vault() as vault:
        report = sync_verify.verify_vault(vault.store)
    if json_:
        output.print_json(report)
        return
    log = report["log"]
    output.info(_("The server's log is consistent: {size} entries, {proofs} proofs checked.")
                .format(size=log["size"], proofs=report["proofs"]))
    rows = [(_("Server"), report["server"]), (_("Log key"), log["key"]),
            (_("Log size"), _("{size} (was {old})").format(
                size=log["size"], old=log["previous_size"]) if log["previous_size"] is not None
             else _("{size} (key pinned now)").format(size=log["size"]))]
    rows += [(c["chain"], _("{entries} entries, {proven} proven now, {gossip} checkpoints "
                            "compared").format(**c)) for c in report["chains"]]
    rows += [(_("events of {space}").format(space=e["space"]),
              _("{events} events, {proven} proven now").format(**e)) for e in report["events"]]
    output.fields(rows)


def _print_attempt(state: dict[str, Any]) -> None:
    """The last attempt's error, and background sync, when there is something to say."""
    from msante.cli.vault_cmds import print_background

    last = state.get("last_attempt")
    if last and last.get("error"):
        output.error(_("The last sync failed: {error}").format(error=last["error"]))
    print_background(state["background"])


def _print(state: dict[str, Any]) -> None:
    """The sync state as label / value lines."""
    if state["server"] is None:
        output.echo(_("This vault is not set up for sync: msante sync setup SERVER_URL."))
        output.echo(_("Changes not yet sent: {n}").format(n=state["pending_changes"]))
        return
    if not state["configured"]:
        output.error(_("The setup did not finish: run 'msante sync setup {server}' again.")
                     .format(server=state["server"]))
    output.fields([
        (_("Server"), state["server"] + (_(" (insecure)") if state["insecure"] else "")),
        (_("Account"), state["account"]),
        (_("Device"), state["device"]),
        (_("Fingerprint"), state["fingerprint"]),
        (_("Last sync"), state["last_sync"] or _("never")),
        (_("Changes not yet sent"), str(state["pending_changes"])),
        *([(_("Conflicts"), str(state["conflicts"]))] if "conflicts" in state else []),
        *[(_("Key version of {space}").format(space=s["space"][:8]), str(s["key_version"]))
          for s in state.get("spaces", [])],
    ])
