"""`msante sync setup SERVER_URL --recover`: the account back into a new vault with the
recovery key (msante/sync/recover.py does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msante.cli import output, session
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault


def recover_account(url: str, insecure: bool, key_file: Path | None, json_: bool) -> None:
    """Check the key against the server, make the vault if there is none, recover into it."""
    from msante.api import Vault
    from msante.sync import recover
    from msante.vault.store import vault_exists

    text = session.secret(key_file, _("Recovery key: "), _(
        "No terminal to ask for the recovery key: use --recovery-key-file FILE."))
    recover.check_key(url, text, insecure=insecure)  # nothing is made before this passes
    new_key = None
    if vault_exists(session.home()):
        vault = Vault.open(session.home(), session.keys())
    else:
        vault, new_key = _new_vault()
    try:
        state = recover.recover(vault.store, url, text, insecure=insecure)
    finally:
        vault.close()
    if json_:
        output.print_json(state | {"recovery_key": new_key})
        return
    output.info(_("Account {account} recovered onto this device; run 'msante sync' to bring "
                  "its records back.").format(account=state["account"]))
    if new_key is not None:
        output.info(_("This new vault has a NEW recovery key; the old one no longer "
                      "recovers the account."))
        output.echo(f"\n    {new_key}\n")
        output.info(_("Write it down and keep it safe: it is the only way back in if you "
                      "forget your passphrase or lose every device."))


def _new_vault() -> tuple[Vault, str]:
    """An empty vault (no owner yet: the recovered account brings the people)."""
    from msante.api import Vault
    from msante.cli.vault_cmds import _new_passphrase
    from msante.vault import header
    from msante.vault.store import create, record_header_keys

    made = create(session.home(), _new_passphrase(None, (), from_sources=True))
    with made.store.write() as tx:
        made.store.log(tx, "vault.create")
        record_header_keys(tx, header.load(session.home()))
    return Vault(made.store), made.recovery_key
