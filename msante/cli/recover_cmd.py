"""`msante sync setup SERVER_URL --recover`: the account back into a new vault with the
recovery key (msante/sync/recover.py does the work), then the first sync."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from msante.cli import output, session
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault


def recover_account(url: str, insecure: bool, key_file: Path | None,
                    recovery_key_file: Path | None, kdf: Any, json_: bool) -> None:
    """Check the key against the server, make the vault if there is none, recover into it,
    sync once."""
    from msante.api import Vault
    from msante.cli.devices_cmds import _create_vault
    from msante.sync import recover
    from msante.vault.store import vault_exists

    text = session.secret(key_file, _("Recovery key: "), _(
        "No terminal to ask for the recovery key: use --recovery-key-from-file FILE."))
    if recovery_key_file is not None:
        from msante.vault.fsutil import check_new_file

        check_new_file(recovery_key_file)
    recover.check_key(url, text, insecure=insecure)  # nothing is made before this passes
    new_key = None
    if vault_exists(session.home()):
        vault = Vault.open(session.home(), session.keys())
    else:
        vault, new_key = _create_vault(recovery_key_file, kdf, json_)
    try:
        state = recover.recover(vault.store, url, text, insecure=insecure)
        state |= _first_sync(vault)
    finally:
        vault.close()
    _report(state, new_key, recovery_key_file, json_)


def _first_sync(vault: Vault) -> dict[str, Any]:
    """`msante sync` once: the records come back; the device's space is then the owner's."""
    from msante.errors import MsanteError
    from msante.sync import engine, linking, setup

    try:
        result = engine.run(vault.store)
    except MsanteError:
        output.error(_("The account is recovered onto this device, but the first sync did "
                       "not finish: run 'msante sync'."))
        raise
    linking.settle_owner_space(vault.store)
    return (setup.status(vault.store) | engine.status(vault.store)
            | {"first_sync": result.to_json()})


def _report(state: dict[str, Any], new_key: str | None, recovery_key_file: Path | None,
            json_: bool) -> None:
    if json_:
        output.print_json(state | {
            "recovery_key": new_key if recovery_key_file is None else None,
            "recovery_key_file": str(recovery_key_file) if recovery_key_file else None})
        return
    output.info(_("Account {account} recovered onto this device.").format(
        account=state["account"]))
    output.info(_("First sync: {n} changes received.").format(
        n=state["first_sync"]["pulled"]))
    if new_key is not None:
        output.info(_("This new vault has a NEW recovery key (above); the old one no longer "
                      "recovers the account."))
