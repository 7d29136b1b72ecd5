"""The `/v1` endpoints: each one validates, makes one store call and answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from msante.sync.server import auth
from msante.sync.server.app import API_VERSION, State
from msante.sync.server.models import (
    ID_PATTERN,
    BlobInfo,
    Challenge,
    ChallengeRequest,
    HeadIn,
    Heads,
    HeadStored,
    Health,
    Login,
    NewSpace,
    Pull,
    Push,
    PushResult,
    Register,
    Stored,
    Token,
)
from msante.sync.server.problems import MEDIA_TYPE, Problem, TooLarge, Unauthorized
from msante.sync.server.store import Caller


class ProblemDoc(BaseModel):
    """RFC 9457 problem details (every error)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ProblemDoc, "content": {MEDIA_TYPE: {}}, "description": "a problem"},
    "5XX": {"model": ProblemDoc, "content": {MEDIA_TYPE: {}}, "description": "a problem"},
}
router = APIRouter(prefix=f"/{API_VERSION}", responses=ERRORS)
SpaceId = Annotated[str, Path(pattern=ID_PATTERN)]
BlobId = Annotated[str, Path(pattern=ID_PATTERN)]
DeviceId = Annotated[str, Path(pattern=ID_PATTERN)]


def state(request: Request) -> State:
    """The application's state."""
    found: State = request.app.state.msante
    return found


St = Annotated[State, Depends(state)]


def by_address(request: Request, st: St) -> None:
    """Rate limit before login: by client address."""
    st.limiter.take("ip:" + (request.client.host if request.client else "?"))


def caller(request: Request, st: St,
           authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The account and device of a valid bearer token (401 otherwise), rate limited."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        by_address(request, st)
        raise Unauthorized()
    who = st.store.accounts.caller(token.strip())
    if who is None:
        by_address(request, st)  # guessing tokens costs the guesser's address its bucket
        raise Unauthorized("The token is unknown or expired: log in again.")
    st.limiter.take("account:" + who.account)
    return who


Who = Annotated[Caller, Depends(caller)]


def member(space: SpaceId, st: St, who: Who) -> str:
    """The space, when the caller may touch it (404 otherwise: no enumeration)."""
    st.store.spaces.check_member(who.account, space)
    return space


Space = Annotated[str, Depends(member)]


@router.get("/health")
def health(st: St) -> Health:
    """Is the server up (its database answers), and which server is it."""
    if not st.store.ping():
        raise Problem(503, "unavailable", "The database does not answer.")
    return Health(status="ok", server=st.server_id, api=API_VERSION)


@router.post("/accounts", status_code=201, dependencies=[Depends(by_address)])
def register(body: Register, st: St) -> dict[str, str]:
    """Register an account with its first device's public keys."""
    if not auth.valid_signing_key(body.signing_key):
        raise Problem(422, "invalid", "signing_key is not a public signing key.")
    st.store.accounts.register(body.account, body.device, body.signing_key, body.bundle)
    return {"account": body.account, "device": body.device}


@router.post("/login/challenge", dependencies=[Depends(by_address)])
def challenge(body: ChallengeRequest, st: St) -> Challenge:
    """A single-use challenge for the device to sign (purpose `login`)."""
    value, expires = st.store.accounts.new_challenge(body.account, body.device)
    return Challenge(challenge=value, expires=expires)


@router.post("/login", dependencies=[Depends(by_address)])
def login(body: Login, st: St) -> Token:
    """Exchange a signed challenge for a short-lived bearer token."""
    accounts = st.store.accounts
    key = accounts.signing_key(body.account, body.device)
    fresh = accounts.take_challenge(body.account, body.device, body.challenge)
    if key is None or not fresh or not auth.login_signature_ok(
            key, st.server_id, body.account, body.challenge, body.signature):
        raise Unauthorized("Login failed: unknown device, used or expired challenge, "
                           "or bad signature.")
    token, expires = accounts.issue_token(body.account, body.device)
    return Token(token=token, expires=expires)


@router.post("/spaces", status_code=201,
             responses={200: {"description": "the space already was the caller's"}})
def create_space(body: NewSpace, st: St, who: Who, response: Response) -> dict[str, str]:
    """Create a space owned by the caller (200 when it already is the caller's)."""
    if not st.store.spaces.create(who.account, body.space):
        response.status_code = 200
    return {"space": body.space}


@router.post("/spaces/{space}/items")
def push(space: Space, body: Push, st: St, who: Who) -> PushResult:
    """Store a batch: each item stored (201), already stored (200) or refused alone."""
    limits = st.settings.limits
    if len(body.items) > limits.max_items_per_batch:
        raise TooLarge("Too many items in one push.", limits.max_items_per_batch)
    for item in body.items:
        if item.device != who.device:
            raise Problem(422, "invalid", "Every item must be written by the device logged in.")
        if len(item.ciphertext) > limits.max_item_bytes:
            raise TooLarge("An item's ciphertext is too large.", limits.max_item_bytes)
    return PushResult(results=st.store.items.push(who.account, space, body.items))


@router.get("/spaces/{space}/items")
def pull(space: Space, st: St, since: Annotated[str | None, Query(max_length=32)] = None,
         limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Pull:
    """Items after the sync token `since` (opaque), oldest first."""
    return st.store.items.pull(space, since, min(limit, st.settings.limits.max_pull))


@router.put("/spaces/{space}/heads/{device}", status_code=201,
            responses={200: {"description": "the device's earlier head was replaced"}})
def put_head(space: Space, device: DeviceId, body: HeadIn, st: St, who: Who,
             response: Response) -> HeadStored:
    """Store the caller's device's signed chain head (never going back)."""
    if device != who.device:
        raise Problem(422, "invalid", "A device puts only its own chain head.")
    if body.space != space:
        raise Problem(422, "invalid", "The head names another space.")
    if not st.store.heads.put(space, device, body):
        response.status_code = 200
    return HeadStored(device=device, seq=body.seq)


@router.get("/spaces/{space}/heads")
def get_heads(space: Space, st: St,
              after: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> Heads:
    """Every device's newest signed chain head in the space, by device id (paged)."""
    return st.store.heads.list(space, after, min(limit, st.settings.limits.max_chain_page))


@router.put("/spaces/{space}/blobs/{blob}/chunks/{index}", status_code=201,
            responses={200: {"description": "the same bytes were already stored"}},
            openapi_extra={"requestBody": {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}, "required": True}})
async def put_chunk(space: Space, blob: BlobId, index: Annotated[int, Path(ge=0, lt=2**31)],
                    request: Request, st: St, who: Who, response: Response) -> Stored:
    """Upload one encrypted chunk (the same bytes again: 200, other bytes: 409)."""
    limits = st.settings.limits
    if index >= limits.max_chunks_per_blob:
        raise TooLarge("The chunk index is over the limit.", limits.max_chunks_per_blob)
    data = await request.body()
    if len(data) > limits.max_chunk:
        raise TooLarge("The chunk is too large.", limits.max_chunk)
    stored = await run_in_threadpool(st.store.chunks.put, who.account, space, blob, index, data)
    response.status_code = 201 if stored.created else 200
    return stored


@router.get("/spaces/{space}/blobs/{blob}/chunks/{index}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def get_chunk(space: Space, blob: BlobId, index: Annotated[int, Path(ge=0, lt=2**31)],
              st: St) -> Response:
    """Download one encrypted chunk."""
    data = st.store.chunks.get(space, blob, index)
    return Response(data, media_type="application/octet-stream")


@router.get("/spaces/{space}/blobs/{blob}")
def blob_info(space: Space, blob: BlobId, st: St) -> BlobInfo:
    """The chunks a blob has (to resume an upload)."""
    return st.store.chunks.info(space, blob)
