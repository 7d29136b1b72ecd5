"""`/v1/accounts/{account}/recovery` and `/v1/recovery/{lookup}`: the recovery bundle.

    PUT /v1/accounts/{account}/recovery   token of the account   store or replace one
    GET /v1/accounts/{account}/recovery   token of the account   the account's bundles
    GET /v1/recovery/{lookup}             no token               one, by its lookup

The route without a token is rate limited by client address; an unknown lookup, like another
account's path, is the 404 of something that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BeforeValidator, Field

from msante.sync.server.app import API_VERSION
from msante.sync.server.devroutes import Own
from msante.sync.server.models import Hash, Id, Strict, _decoder, _out, _schema
from msante.sync.server.problems import TooLarge
from msante.sync.server.recovery import Bundle
from msante.sync.server.routes import ERRORS, St, by_address
from msante.sync.server.settings import Limits

router = APIRouter(prefix=f"/{API_VERSION}", responses=ERRORS)
LOOKUP_PATTERN = r"^[A-Za-z0-9_-]{43}$"
Lookup = Annotated[str, Path(pattern=LOOKUP_PATTERN)]
_MAX = Limits().max_recovery_bytes
Sealed = Annotated[bytes, BeforeValidator(_decoder(_MAX)), _out,
                   _schema(_MAX, "a recovery bundle (opaque)")]


class RecoveryIn(Strict):
    """The account's recovery bundle, its lookup, its recovery device and who sealed it."""

    lookup: str = Field(pattern=LOOKUP_PATTERN, description="base64url of 32 bytes")
    device: Id = Field(description="the account's recovery device")
    signer: Hash = Field(description="key id of the device that signed the bundle")
    bundle: Sealed
    replaces: str | None = Field(default=None, pattern=LOOKUP_PATTERN, description=(
        "the lookup of this account's bundle to delete (an older recovery key's)"))


class RecoveryOut(Strict):
    """A stored recovery bundle."""

    account: str
    device: str
    signer: Hash
    bundle: Sealed
    updated: int = Field(description="when it was last stored, Unix seconds")


class RecoveryList(Strict):
    """The account's recovery bundles, by lookup."""

    bundles: list[RecoveryOut]


def _out_of(found: Bundle) -> RecoveryOut:
    return RecoveryOut(account=found.account, device=found.device, signer=found.signer,
                       bundle=found.bundle, updated=found.updated)


@router.put("/accounts/{account}/recovery", status_code=201,
            responses={200: {"description": "replaced the account's previous bundle"},
                       409: {"description": "recovery-lookup-taken, recovery-limit"},
                       422: {"description": "invalid, recovery-device"}})
def put_recovery(account: Own, body: RecoveryIn, st: St, response: Response) -> RecoveryOut:
    """Store or replace one of the caller's account's recovery bundles."""
    if len(body.bundle) > st.settings.limits.max_recovery_bytes:
        raise TooLarge("The recovery bundle is too large.", st.settings.limits.max_recovery_bytes)
    if not st.store.recovery.put(account, body.lookup, body.device, body.signer, body.bundle,
                                 body.replaces):
        response.status_code = 200
    return _out_of(st.store.recovery.find(body.lookup))


@router.get("/accounts/{account}/recovery")
def get_recovery(account: Own, st: St) -> RecoveryList:
    """The caller's account's recovery bundles."""
    return RecoveryList(bundles=[_out_of(b) for b in st.store.recovery.of_account(account)])


@router.get("/recovery/{lookup}", dependencies=[Depends(by_address)])
def find_recovery(lookup: Lookup, st: St) -> RecoveryOut:
    """A recovery bundle by its lookup (no token: the recovering device has none yet)."""
    return _out_of(st.store.recovery.find(lookup))
