"""`msante devices`: the devices of your sync account — list them, link a new one, revoke one;
and `sync setup --link` (the new device's side of a link).

The sync modules (and httpx) are imported only when one of these commands runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.vault_cmds import JsonOpt
from msante.errors import ConfirmationRequired, ExitCode
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.sync.client import Client
    from msante.sync.device import Device
    from msante.sync.link import Candidate, LinkCode

app = typer.Typer(help=_("The devices of your sync account: list, link a new one, revoke one."),
                  no_args_is_help=True)

YesOpt = Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))]


@contextmanager
def _synced() -> Iterator[tuple[Vault, Client, Device]]:
    """The unlocked vault, its sync identity and a client logged in as this device."""
    from msante.sync import linking
    from msante.sync.client import Client

    with session.open_vault() as vault:
        dev = linking.ready_device(vault.store)
        with Client(dev.server, insecure=dev.insecure) as client:
            linking.login(client, dev)
            yield vault, client, dev


def _warn(unexpected: Any, state: Any) -> None:
    """One line per account-chain entry this device did not expect."""
    from msante.sync import linking

    for entry in unexpected:
        output.error(_("Warning: the account has an entry this device did not make or "
                       "accept: {entry}. If no device of yours did this, revoke that device "
                       "and tell the server's operator.").format(
                           entry=linking.describe(entry, state)))


@app.command("list")
def list_(
    accept: Annotated[bool, typer.Option("--accept", help=_(
        "Accept the account's entries this device did not expect (after checking them): "
        "they are no longer warned about."))] = False,
    json_: JsonOpt = False,
) -> None:
    """List the account's devices, from its signed chain, with their fingerprints.

    Every entry this device did not make (a device linked or revoked elsewhere, or one the
    server added) gets a warning, until you accept it with --accept.

    Example: msante devices list
    """
    from msante.sync import linking

    with _synced() as (vault, client, dev):
        state, unexpected = linking.server_account(vault.store, client, dev)
        _warn(unexpected, state)
        rows = linking.device_rows(state, dev, unexpected)
        if accept and unexpected:
            linking.accept(vault.store, unexpected)
            output.info(_("Accepted: {n} entries.").format(n=len(unexpected)))
            rows = linking.device_rows(state, dev)
    if json_:
        output.print_json(rows)
        return
    output.table([_("Name"), _("Fingerprint"), _("Added"), _("State")], [
        [r["name"], r["fingerprint"], _("entry {n}").format(n=r["added_seq"]),
         _state(r)] for r in rows])


def _state(row: dict[str, Any]) -> str:
    """A device's state in words."""
    if row["removed_seq"] is not None:
        text = _("revoked (entry {n})").format(n=row["removed_seq"])
    elif row["this_device"]:
        text = _("this device")
    else:
        text = _("active")
    return text if row["expected"] else text + " " + _("(unexpected)")


@app.command("link")
def link(
    name: Annotated[str | None, typer.Option(help=_(
        "Only accept a new device with this name (the other machine's name)."))] = None,
    yes: YesOpt = False,
    json_: Annotated[bool, typer.Option("--json", help=_(
        "Print JSON for scripts: the code as a first line (at once), the result as a "
        "second."))] = False,
) -> None:
    """Link a new device: show a one-time code, wait for the device, check it, add it.

    On the new device run 'msante sync setup SERVER_URL --link CODE' with the code shown
    here (valid 10 minutes), then compare the fingerprints both screens show.

    Example: msante devices link
    """
    from msante.sync import linking

    if not yes and not output.is_terminal():
        raise ConfirmationRequired(_("No terminal to compare the fingerprints on: confirm "
                                     "with --yes."))
    with _synced() as (vault, client, dev):
        offer = linking.open_offer(vault.store, client, dev)
        _show_code(offer.code, json_)
        candidate = _wait(_("Waiting for the new device…"),
                          lambda: linking.wait_join(client, offer))
        _check_candidate(candidate, name, yes)
        result = linking.complete(vault.store, client, dev, offer, candidate)
    if json_:
        output.print_json_line(result)
        return
    output.info(_("Linked “{name}” ({fingerprint}). It now holds the keys of {n} spaces; run "
                  "'msante sync' on it.").format(name=result["name"],
                                                 fingerprint=result["fingerprint"],
                                                 n=len(result["spaces"])))


def _show_code(code: LinkCode, json_: bool) -> None:
    """The code as words, text and a QR (or as the first JSON line, flushed)."""
    from msante.sync import linking

    if json_:
        output.print_json_line({"code": code.words(), "text": code.text(),
                                "qr_text": code.qr_text(), "expires": linking.expires_at(code)})
        return
    output.echo(_("On the new device, run: msante sync setup SERVER_URL --link CODE"))
    output.echo(_("Code (valid 10 minutes):"))
    output.echo(f"\n    {code.words()}\n\n    {code.text()}\n")
    output.echo(_qr(code.qr_text()))
    sys.stdout.flush()


def _qr(text: str) -> str:
    """A QR code of `text` drawn with half blocks, for a terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make_qr(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def _wait(label: str, work: Any) -> Any:
    """Run `work` under a spinner on a terminal; Ctrl-C cancels cleanly."""
    spinner: Any = nullcontext()
    if sys.stderr.isatty():
        from msante.cli import safe_console

        spinner = safe_console.make(stderr=True).status(label)
    try:
        with spinner:
            return work()
    except KeyboardInterrupt:
        output.error(_("Cancelled: no device was linked (the code stops working by itself)."))
        raise typer.Exit(ExitCode.ERROR) from None


def _check_candidate(candidate: Candidate, name: str | None, yes: bool) -> None:
    """Show the candidate's fingerprint; the person confirms it matches (or --yes)."""
    if name is not None and candidate.name != name:
        raise ConfirmationRequired(_("The device that answered is “{got}”, not “{name}”: not "
                                     "added.").format(got=candidate.name, name=name))
    output.info(_("New device: “{name}”").format(name=candidate.name))
    output.info(_("Its fingerprint: {fingerprint}").format(fingerprint=candidate.fingerprint()))
    if yes:
        return
    if not output.ask_yes_no(_("Does the new device show exactly these six words?")):
        raise ConfirmationRequired(_("Not confirmed: the device was not added. Run 'msante "
                                     "devices link' again for a new code."))


@app.command("revoke")
def revoke(
    device: Annotated[str, typer.Argument(metavar=_("DEVICE"), help=_(
        "The device's name, the start of its fingerprint or of its key id."))],
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Revoke a device (lost or stolen): remove it from the account and give every synced
    space new keys it never sees.

    It keeps what it already had; it cannot read anything written after.

    Example: msante devices revoke "old-laptop"
    """
    from msante.sync import linking
    from msante.sync import revoke as revoking

    with _synced() as (vault, client, dev):
        state, unexpected = linking.server_account(vault.store, client, dev)
        _warn(unexpected, state)
        target = revoking.find_device(state, device, dev.signing.verify_key().key_id())
        output.confirm(_("Revoke “{name}” ({fingerprint})?").format(
            name=target.name, fingerprint=target.verify.fingerprint()), yes=yes)
        result = revoking.revoke(vault.store, client, dev, target)
    if json_:
        output.print_json(result)
        return
    output.info(_("Revoked “{name}”: {n} spaces have new keys.").format(
        name=result["name"], n=len(result["spaces"])))
    if not result["server_revoked"]:
        output.error(_("The server knows that device under another id: it is out of the "
                       "account and of every space, but the server still lets it log in "
                       "(it can read only what was written before)."))


# -- sync setup --link: the new device ------------------------------------------------------

def link_setup(url: str, insecure: bool, code_text: str | None, code_file: Path | None,
               recovery_key_file: Path | None, kdf: Any, json_: bool) -> None:
    """`sync setup URL --link CODE`: join the account of the device that shows the code."""
    from msante import paths
    from msante.sync import linking
    from msante.sync.client import Client
    from msante.sync.link import LinkCode

    text = code_text if code_text is not None else session.read_secret_file(Path(str(code_file)))
    code = LinkCode.parse(text)
    if recovery_key_file is not None:
        from msante.vault.fsutil import check_new_file

        check_new_file(recovery_key_file)
    recovery: str | None = None
    with Client(url, insecure=insecure) as client:
        if paths.header_path(session.home()).exists():
            with session.open_vault() as vault:
                linking.new_vault_check(vault.store)
                server_id, account = linking.find_link(client, code)
                state = _join(vault, client, code, server_id, account, insecure)
        else:
            server_id, account = linking.find_link(client, code)
            vault, recovery = _create_vault(recovery_key_file, kdf, json_)
            try:
                state = _join(vault, client, code, server_id, account, insecure)
            finally:
                vault.close()
    _after_link(state, recovery, recovery_key_file, json_)


def _join(vault: Vault, client: Client, code: LinkCode, server_id: str, account: str,
          insecure: bool) -> dict[str, Any]:
    """The new device's side of the link, with its fingerprint shown and a spinner; then
    the first sync, which brings the records."""
    from msante.sync import linking

    def show(fingerprint: str) -> None:
        output.info(_("This device's fingerprint: {fingerprint}").format(
            fingerprint=fingerprint))
        output.info(_("Check that the other device shows the same six words."))

    state = dict(_wait(_("Waiting for the other device…"), lambda: linking.join(
        vault.store, client, code, server_id, account, insecure=insecure, show=show)))
    return state | _first_sync(vault)


def _first_sync(vault: Vault) -> dict[str, Any]:
    """`msante sync` once, right after the link; the device's space is then the owner's."""
    from msante.errors import MsanteError
    from msante.sync import engine, linking, setup

    try:
        result = engine.run(vault.store)
    except MsanteError:
        output.error(_("This device is linked, but the first sync did not finish: run "
                       "'msante sync'."))
        raise
    linking.settle_owner_space(vault.store)
    return (setup.status(vault.store) | engine.status(vault.store)
            | {"first_sync": result.to_json()})


def _create_vault(recovery_key_file: Path | None, kdf: Any,
                  json_: bool) -> tuple[Vault, str]:
    """A new vault with no one in it yet (the people arrive by sync); the recovery key."""
    from msante.api import Vault
    from msante.cli.vault_cmds import _new_passphrase, _show_recovery, _write_new_secret_file
    from msante.vault import header
    from msante.vault.store import create, record_header_keys

    text = _new_passphrase(None, (), from_sources=True)
    made = create(session.home(), text, kdf)
    vault = Vault(made.store)
    with vault.store.write() as tx:
        vault.store.log(tx, "vault.create")
        record_header_keys(tx, header.load(session.home()))
    if recovery_key_file is not None:
        _write_new_secret_file(recovery_key_file, made.recovery_key)
    if not json_:  # the JSON answer carries it
        output.info(_("Vault created in {path}.").format(path=session.home()))
        _show_recovery(made.recovery_key, recovery_key_file)
    return vault, made.recovery_key


def _after_link(state: dict[str, Any], recovery: str | None, recovery_key_file: Path | None,
                json_: bool) -> None:
    """What the new device says once linked."""
    if json_:
        output.print_json(state | {
            "recovery_key": recovery if recovery_key_file is None else None,
            "recovery_key_file": str(recovery_key_file) if recovery_key_file else None})
        return
    output.info(_("This device is linked to your account on {server}, with the keys of {n} "
                  "spaces.").format(server=state["server"], n=len(state["spaces"])))
    output.info(_("First sync: {n} changes received.").format(
        n=state["first_sync"]["pulled"]))
