"""`PUT`/`GET /v1/accounts/{account}/recovery` and `GET /v1/recovery/{lookup}`, on both
databases: stored, replaced, found by its lookup without a token, charged to the quota."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from server_helpers import Account, Server, make_server, new_id

from msante.sync.server.models import b64encode
from msante.sync.server.problems import MEDIA_TYPE
from msante.sync.server.settings import Limits


def _lookup() -> str:
    return b64encode(secrets.token_bytes(32))


def _put(server: Server, who: Account, lookup: str, bundle: bytes,
         device: str | None = None, account: str | None = None,
         replaces: str | None = None) -> Any:
    return server.client.put(f"/v1/accounts/{account or who.account}/recovery", json={
        "lookup": lookup, "device": device or who.device, "replaces": replaces,
        "signer": b64encode(bytes(32)), "bundle": b64encode(bundle)}, headers=who.auth)


def _used(server: Server, who: Account) -> int:
    from sqlalchemy import select

    from msante.sync.server import schema as t
    with server.store.engine.connect() as conn:
        return int(conn.scalar(select(t.accounts.c.used_bytes).where(
            t.accounts.c.account_id == who.account)) or 0)


def test_stored_replaced_and_found_by_lookup(any_server: Server) -> None:
    """201 then 200 (replaced); the token's GET and the lookup's GET give the newest."""
    who, lookup = any_server.account(), _lookup()
    first = _put(any_server, who, lookup, b"first bundle")
    assert first.status_code == 201
    assert _used(any_server, who) == len(b"first bundle")
    again = _put(any_server, who, lookup, b"the second, longer bundle")
    assert again.status_code == 200
    assert _used(any_server, who) == len(b"the second, longer bundle")
    mine = any_server.client.get(f"/v1/accounts/{who.account}/recovery", headers=who.auth)
    found = any_server.client.get(f"/v1/recovery/{lookup}")
    assert mine.status_code == found.status_code == 200
    assert mine.json() == {"bundles": [found.json()]}
    assert found.json()["account"] == who.account and found.json()["device"] == who.device
    assert found.json()["bundle"] == b64encode(b"the second, longer bundle")


def test_unknown_lookups_and_other_accounts_get_the_same_404(any_server: Server) -> None:
    """No bundle, another account's path, an unknown lookup: the same 404 problem."""
    who, other = any_server.account(), any_server.account()
    nothing = any_server.client.get(f"/v1/accounts/{who.account}/recovery", headers=who.auth)
    assert nothing.status_code == 200 and nothing.json() == {"bundles": []}
    _put(any_server, other, _lookup(), b"theirs")
    theirs = any_server.client.get(f"/v1/accounts/{other.account}/recovery", headers=who.auth)
    unknown = any_server.client.get(f"/v1/recovery/{_lookup()}")
    for answer in (theirs, unknown):
        assert answer.status_code == 404 and answer.headers["content-type"] == MEDIA_TYPE
    assert _put(any_server, who, _lookup(), b"x", account=other.account).status_code == 404
    assert any_server.client.get("/v1/recovery/short").status_code == 422


def test_a_lookup_is_one_accounts_and_the_device_must_be_active(any_server: Server) -> None:
    """Another account's lookup is 409; a device the account lacks (or revoked) is 422."""
    who, other, lookup = any_server.account(), any_server.account(), _lookup()
    assert _put(any_server, other, lookup, b"theirs").status_code == 201
    taken = _put(any_server, who, lookup, b"mine")
    assert taken.status_code == 409
    assert taken.json()["type"] == "urn:msante:problem:recovery-lookup-taken"
    stranger = _put(any_server, who, _lookup(), b"mine", device=new_id())
    assert stranger.status_code == 422
    assert stranger.json()["type"] == "urn:msante:problem:recovery-device"
    assert any_server.client.get(f"/v1/recovery/{lookup}").json()["bundle"] == \
        b64encode(b"theirs")


def test_size_and_quota_are_bounded(tmp_path: Path) -> None:
    """Past max_recovery_bytes: 413; past the quota: 507 and the old bundle stays."""
    from sqlalchemy import update

    from msante.sync.server import schema as t
    limits = Limits(max_recovery_bytes=200, quota_bytes=150)
    with make_server(tmp_path / "data", limits=limits) as server:
        who, lookup = server.account(), _lookup()
        assert _put(server, who, lookup, bytes(201)).status_code == 413
        assert _put(server, who, lookup, bytes(100)).status_code == 201
        with server.store.engine.begin() as conn:  # items fill the rest of the quota
            conn.execute(update(t.accounts).values(used_bytes=140))
        assert _put(server, who, lookup, b"\1" * 100).status_code == 200  # same size
        full = _put(server, who, lookup, bytes(120))
        assert full.status_code == 507
        assert server.client.get(f"/v1/recovery/{lookup}").json()["bundle"] == \
            b64encode(b"\1" * 100)
        assert _used(server, who) == 140


def test_one_bundle_per_recovery_key_and_an_older_one_replaced(any_server: Server) -> None:
    """Two vaults of one account keep a bundle each; `replaces` deletes an older key's
    bundle in the same write (another account's is untouched); the quota follows."""
    who, other = any_server.account(), any_server.account()
    first, second, third, theirs = _lookup(), _lookup(), _lookup(), _lookup()
    assert _put(any_server, who, first, b"vault one").status_code == 201
    assert _put(any_server, who, second, b"vault two").status_code == 201
    assert _put(any_server, other, theirs, b"other account").status_code == 201
    listed = any_server.client.get(f"/v1/accounts/{who.account}/recovery", headers=who.auth)
    assert sorted(b["bundle"] for b in listed.json()["bundles"]) == sorted(
        [b64encode(b"vault one"), b64encode(b"vault two")])
    moved = _put(any_server, who, third, b"vault one, new key", replaces=first)
    assert moved.status_code == 201
    assert any_server.client.get(f"/v1/recovery/{first}").status_code == 404
    assert _used(any_server, who) == len(b"vault two") + len(b"vault one, new key")
    assert _put(any_server, who, _lookup(), b"x", replaces=theirs).status_code == 201
    assert any_server.client.get(f"/v1/recovery/{theirs}").status_code == 200


def test_an_account_has_a_bounded_number_of_bundles(tmp_path: Path) -> None:
    """Past max_recovery_bundles: 409 recovery-limit; replacing one still works."""
    with make_server(tmp_path / "data", limits=Limits(max_recovery_bundles=2)) as server:
        who, lookups = server.account(), [_lookup() for _ in range(3)]
        assert _put(server, who, lookups[0], b"a").status_code == 201
        assert _put(server, who, lookups[1], b"b").status_code == 201
        full = _put(server, who, lookups[2], b"c")
        assert full.status_code == 409
        assert full.json()["type"] == "urn:msante:problem:recovery-limit"
        assert _put(server, who, lookups[2], b"c", replaces=lookups[0]).status_code == 201
        assert _put(server, who, lookups[1], b"b again").status_code == 200
