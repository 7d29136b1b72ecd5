"""`/v1/link`: the rendezvous where a new device and an existing one exchange two messages.

    POST /v1/link                      token     open (10 minutes) for the caller's account
    GET  /v1/link/{rendezvous}         no token  which account it is for
    PUT  /v1/link/{rendezvous}/join    no token  the new device's message, once
    GET  /v1/link/{rendezvous}/join    token     that message (404 link-pending while none)
    PUT  /v1/link/{rendezvous}/reply   token     the account's reply, once, after the join
    GET  /v1/link/{rendezvous}/reply   no token  the reply, once: the rendezvous is deleted

The routes without a token are rate limited by client address, like `POST /v1/accounts`.
Unknown and expired rendezvous, and another account's, get the same 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from msante.sync.server.app import API_VERSION
from msante.sync.server.keymodels import (
    RENDEZVOUS_PATTERN,
    JoinIn,
    LinkInfo,
    LinkMessage,
    LinkOpened,
    LinkStored,
    NewLink,
    ReplyIn,
)
from msante.sync.server.problems import Problem, TooLarge
from msante.sync.server.routes import ERRORS, St, Who, by_address

router = APIRouter(prefix=f"/{API_VERSION}", responses=ERRORS)
Public = [Depends(by_address)]
RendezvousId = Annotated[str, Path(pattern=RENDEZVOUS_PATTERN)]
REPLY_PATH = rf"^/{API_VERSION}/link/[A-Za-z0-9_-]{{22,64}}/reply$"
AGAIN: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same message was already there (a retry)"}}


@router.post("/link", status_code=201,
             responses={200: {"description": "already open for this account"},
                        409: {"description": "link-taken, link-limit"}})
def open_link(body: NewLink, st: St, who: Who, response: Response) -> LinkOpened:
    """Open a rendezvous for the caller's account (10 minutes)."""
    if body.account != who.account:
        raise Problem(422, "invalid", "A rendezvous is opened for the caller's own account.")
    created, link = st.store.links.open(who.account, body.rendezvous)
    if not created:
        response.status_code = 200
    return LinkOpened(rendezvous=body.rendezvous, account=link.account, expires=link.expires)


@router.get("/link/{rendezvous}", dependencies=Public)
def link_info(rendezvous: RendezvousId, st: St) -> LinkInfo:
    """Which account a live rendezvous is for (no token: the new device has none yet)."""
    link = st.store.links.find(rendezvous)
    return LinkInfo(account=link.account, expires=link.expires)


@router.put("/link/{rendezvous}/join", status_code=201, dependencies=Public,
            responses=AGAIN | {409: {"description": "link-used"}})
def put_join(rendezvous: RendezvousId, body: JoinIn, st: St, response: Response) -> LinkStored:
    """Leave the new device's message (once)."""
    limit = st.settings.limits.max_join_bytes
    if len(body.message) > limit:
        raise TooLarge("The join message is too large.", limit)
    if not st.store.links.join(rendezvous, body.message):
        response.status_code = 200
    return LinkStored(rendezvous=rendezvous)


@router.get("/link/{rendezvous}/join",
            responses={404: {"description": "not-found, or link-pending while none"}})
def get_join(rendezvous: RendezvousId, st: St, who: Who) -> LinkMessage:
    """The new device's message, for a device of the rendezvous's account."""
    return LinkMessage(message=st.store.links.joined(who.account, rendezvous))


@router.put("/link/{rendezvous}/reply", status_code=201,
            responses=AGAIN | {409: {"description": "link-used, link-not-joined"}})
def put_reply(rendezvous: RendezvousId, body: ReplyIn, st: St, who: Who,
              response: Response) -> LinkStored:
    """Leave the account's reply (once, after the join)."""
    limit = st.settings.limits.max_reply_bytes
    if len(body.message) > limit:
        raise TooLarge("The reply is too large.", limit)
    if not st.store.links.reply(who.account, rendezvous, body.message):
        response.status_code = 200
    return LinkStored(rendezvous=rendezvous)


@router.get("/link/{rendezvous}/reply", dependencies=Public,
            responses={404: {"description": "not-found, or link-pending while none"}})
def get_reply(rendezvous: RendezvousId, st: St) -> LinkMessage:
    """The reply, once: the rendezvous is deleted as it is read."""
    return LinkMessage(message=st.store.links.take_reply(rendezvous))
