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
from msante.errors import UsageError
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
    link: Annotated[str | None, typer.Option("--link", metavar=_("CODE"), help=_(
        "Join your account as a new device with the code 'msante devices link' shows on "
        "another device (a new, empty vault is made if there is none)."))] = None,
    link_file: Annotated[Path | None, typer.Option("--link-file", metavar=_("FILE"), help=_(
        "Read the link code from this file."))] = None,
    recovery_key_file: Annotated[Path | None, typer.Option(help=_(
        "With --link, when the vault is made: write its recovery key to this new file (mode "
        "0600) instead of showing it."))] = None,
    kdf_memory: Annotated[int | None, typer.Option(help=_(
        "With --link, when the vault is made: Argon2id memory in MiB (16 to 256; default "
        "64)."))] = None,
    kdf_iterations: Annotated[int | None, typer.Option(help=_(
        "With --link, when the vault is made: Argon2id iterations (2 to 10; default 3)."))]
    = None,
    json_: JsonOpt = False,
) -> None:
    """Make this device's keys, register your account on the server and log in once.

    The device's private keys stay inside the vault; the server learns only the public
    halves. Run it again after an interruption: it resumes with the same keys.

    With --link CODE (or --link-file), this device joins the account of the device that
    shows the code ('msante devices link' there) instead of making a new account.

    Example: msante sync setup https://sync.example.org
    """
    from msante.sync import setup as sync_setup
    from msante.sync.client import check_url

    url = check_url(server_url, insecure=insecure)
    if link is not None or link_file is not None:
        _setup_link(url, insecure, force, link, link_file, recovery_key_file,
                    (kdf_memory, kdf_iterations), json_)
        return
    if recovery_key_file or kdf_memory or kdf_iterations:
        raise UsageError(_("--recovery-key-file, --kdf-memory and --kdf-iterations go with "
                           "--link."))
    with session.open_vault() as vault:
        state = sync_setup.setup(vault.store, url, insecure=insecure, force=force)
    if json_:
        output.print_json(state)
        return
    output.info(_("This device is set up for sync with {server}.").format(server=state["server"]))
    _print(state)


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
    from msante.sync import setup as sync_setup

    with session.open_vault() as vault:
        state = sync_setup.status(vault.store)
    if json_:
        output.print_json(state)
    else:
        _print(state)


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
