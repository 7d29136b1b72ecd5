"""`/v1/accounts/{account}/devices` (add, revoke another device), `GET /v1/spaces` and the
key wraps `/v1/spaces/{space}/wraps/…`.

Only a token of the account touches its devices; any other account gets the 404 of an account
that does not exist (nothing to enumerate).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from msante.sync.server import auth
from msante.sync.server.app import API_VERSION
from msante.sync.server.devices import not_self
from msante.sync.server.keymodels import (
    DeviceAdded,
    DeviceRevoked,
    NewDevice,
    SpaceRole,
    Spaces,
    WrapIn,
    WrapOut,
    Wraps,
    WrapStored,
)
from msante.sync.server.models import ID_PATTERN
from msante.sync.server.problems import NotFound, Problem, TooLarge
from msante.sync.server.routes import ERRORS, DeviceId, Space, St, Who

router = APIRouter(prefix=f"/{API_VERSION}", responses=ERRORS)
AccountId = Annotated[str, Path(pattern=ID_PATTERN)]
Version = Annotated[int, Path(ge=0, le=2**31 - 1, description="the space's key version")]


def own_account(account: AccountId, who: Who) -> str:
    """The path's account, when it is the caller's (404 otherwise)."""
    if account != who.account:
        raise NotFound("No such account.")
    return account


Own = Annotated[str, Depends(own_account)]


@router.post("/accounts/{account}/devices", status_code=201,
             responses={200: {"description": "the same device with the same keys was there"},
                        409: {"description": "device-exists, device-revoked, device-limit"}})
def add_device(account: Own, body: NewDevice, st: St, response: Response) -> DeviceAdded:
    """Register another device of the caller's account, so that it can log in."""
    if not auth.valid_signing_key(body.signing_key):
        raise Problem(422, "invalid", "signing_key is not a public signing key.")
    if not st.store.devices.add(account, body.device, body.signing_key, body.bundle):
        response.status_code = 200
    return DeviceAdded(account=account, device=body.device)


@router.delete("/accounts/{account}/devices/{device}")
def remove_device(account: Own, device: DeviceId, st: St, who: Who) -> DeviceRevoked:
    """Revoke another device of the caller's account: its tokens stop at once."""
    not_self(device, who.device)
    at = st.store.devices.revoke(account, device)
    return DeviceRevoked(account=account, device=device, revoked=at)


@router.get("/spaces")
def list_spaces(st: St, who: Who,
                after: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Spaces:
    """The caller's account's spaces and its role in each, by space id (paged)."""
    rows, more = st.store.devices.spaces(who.account, after,
                                         min(limit, st.settings.limits.max_spaces_page))
    return Spaces(spaces=[SpaceRole(space=s, role=r) for s, r in rows], more=more)


@router.put("/spaces/{space}/wraps/{version}/{device}", status_code=201,
            responses={200: {"description": "the same bytes were already stored"},
                       409: {"description": "wrap-differs"}})
def put_wrap(space: Space, version: Version, device: DeviceId, body: WrapIn, st: St, who: Who,
             response: Response) -> WrapStored:
    """Store the space's scope keys of `version` sealed for `device` (its key id, base64url):
    owners and managers only; immutable."""
    limit = st.settings.limits.max_wrap_bytes
    if len(body.sealed) > limit:
        raise TooLarge("The wrap is too large.", limit)
    if not st.store.wraps.put(who, space, version, device, body.sealed):
        response.status_code = 200
    return WrapStored(space=space, version=version, device=device)


@router.get("/spaces/{space}/wraps/{device}")
def get_wraps(space: Space, device: DeviceId, st: St,
              since: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> Wraps:
    """The wraps for `device` (its key id) in the space, oldest key version first (paged)."""
    rows, more = st.store.wraps.list(space, device, since,
                                     min(limit, st.settings.limits.max_chain_page))
    return Wraps(wraps=[WrapOut(version=v, sealed=s) for v, s in rows], more=more)
