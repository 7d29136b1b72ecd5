"""`msante sync`: set this device up with a sync server, and show the sync state.

The sync modules (and httpx) are imported only when one of these commands runs, so that the
other commands start as fast as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.vault_cmds import JsonOpt
from msante.i18n import _

app = typer.Typer(help=_("Sync this vault with your other devices through a server."),
                  no_args_is_help=True)


@app.command("setup")
def setup(
    server_url: Annotated[str, typer.Argument(metavar=_("SERVER_URL"), help=_(
        "The server's address, e.g. https://sync.example.org."))],
    insecure: Annotated[bool, typer.Option("--insecure", help=_(
        "Allow plain http:// to a host that is not this machine (anyone on the way can "
        "watch the traffic)."))] = False,
    force: Annotated[bool, typer.Option("--force", help=_(
        "Set up again with a new account, forgetting this vault's current one."))] = False,
    recover: Annotated[bool, typer.Option("--recover", help=_(
        "Every device lost: bring your account back into a new vault with your recovery "
        "key."))] = False,
    recovery_key_file: Annotated[Path | None, typer.Option(help=_(
        "Read the recovery key from this file instead of asking (with --recover, or when "
        "the vault does not know its recovery key's public key yet)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Make this device's keys, register your account on the server and log in once.

    The device's private keys stay inside the vault; the server learns only the public
    halves. Run it again after an interruption: it resumes with the same keys.

    Example: msante sync setup https://sync.example.org
    """
    from msante.sync import setup as sync_setup
    from msante.sync.client import check_url

    url = check_url(server_url, insecure=insecure)
    if recover:
        from msante.cli.recover_cmd import recover_account

        recover_account(url, insecure, recovery_key_file, json_)
        return
    from msante.sync import recovery

    with session.open_vault() as vault:
        _learn_recovery_key(vault.store, recovery_key_file)
        if force or not _only_recovery_missing(vault.store, url):
            sync_setup.setup(vault.store, url, insecure=insecure, force=force)
        problem = recovery.after_setup(vault.store, insecure=insecure)
        state = sync_setup.status(vault.store)
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
        "use --recovery-key-file FILE (no terminal to ask).")))


@app.command("status")
def status(json_: JsonOpt = False) -> None:
    """Show the server, the account, this device's fingerprint and the changes not yet sent.

    Example: msante sync status --json
    """
    from msante.sync import setup as sync_setup

    with session.open_vault() as vault:
        state = sync_setup.status(vault.store)
    if json_:
        output.print_json(state)
    else:
        _print(state)


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
    ])
