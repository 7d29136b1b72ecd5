"""A stand-in for `msante sync --json` while the engine's command is not in this tree: the same
services (the vault opened through the agent, the device logged in, `engine.sync`), and only
their imports, so that its start-up is what the command's would be. Used by bench/sync.py."""

from __future__ import annotations

import json


def main() -> None:
    """Sync this MSANTE_HOME's vault; print the result as JSON."""
    from msante.cli import session
    from msante.sync import engine, linking
    from msante.sync.client import Client

    with session.open_vault() as vault:
        dev = linking.ready_device(vault.store)
        with Client(dev.server, insecure=dev.insecure) as client:
            linking.login(client, dev)
            result = engine.sync(vault.store, client, dev)
    print(json.dumps(result.to_json()))


if __name__ == "__main__":
    main()
