"""The `/v1/log`, `/v1/chains` and `/v1/spaces/{space}/events` endpoints.

`GET /v1/log/key` and `GET /v1/log/checkpoint` need no token (anyone may pin the key and
compare checkpoints); proofs and entries need one. A chain is written only by its own account
(`account:<id>`) or by an owner or manager of its space (`space:<id>`); an account chain is
read by its account and by the members of a space it shares, a space chain by its members.
Anything else is the 404 of a chain that does not exist: nothing to enumerate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import Engine

from msante.sync.server.app import API_VERSION
from msante.sync.server.chains import ChainId, ChainStore
from msante.sync.server.logevents import EventStore
from msante.sync.server.logkey import open_log_key
from msante.sync.server.logmodels import (
    CHAIN_PATTERN,
    ChainAppended,
    ChainEntryIn,
    ChainPage,
    ConsistencyProof,
    EventAppended,
    EventIn,
    EventPage,
    InclusionProof,
    LogEntries,
    LogEntry,
    LogKey,
    SignedCheckpoint,
)
from msante.sync.server.logstore import LogStore
from msante.sync.server.problems import NotFound, TooLarge
from msante.sync.server.routes import ERRORS, Space, St, Who, by_address
from msante.sync.server.settings import Settings

MAX_INDEX = 2**63 - 1


@dataclass(frozen=True)
class LogServices:
    """The log, the chains and the space events over one engine."""

    log: LogStore
    chains: ChainStore
    events: EventStore


def log_services(settings: Settings, engine: Engine) -> LogServices:
    """Open the log (its key made at the first start) and the stores that append to it."""
    log = LogStore(engine, settings.log_id, open_log_key(settings, engine))
    return LogServices(log, ChainStore(engine, log, settings.limits),
                       EventStore(engine, log, settings.limits))


router = APIRouter(prefix=f"/{API_VERSION}", responses=ERRORS)
Public = [Depends(by_address)]
Index = Annotated[int, Query(ge=0, le=MAX_INDEX)]
ChainText = Annotated[str, Path(pattern=CHAIN_PATTERN,
                                description="account:<account id> or space:<space id>")]
Since = Annotated[int, Query(ge=0, le=MAX_INDEX, description="the first seq wanted")]
Limit = Annotated[int, Query(ge=1, le=10_000)]


@router.get("/log/key", dependencies=Public)
def log_key(st: St) -> LogKey:
    """The log's origin and note verifier key (pin it; `msante-server status` shows it too)."""
    log = st.log.log
    return LogKey(origin=log.origin, key=log.signer.verifier().vkey())


@router.get("/log/checkpoint", dependencies=Public)
def checkpoint(st: St) -> SignedCheckpoint:
    """The log's current checkpoint, signed (C2SP signed note)."""
    return SignedCheckpoint(note=st.log.log.checkpoint()[1])


@router.get("/log/proof/inclusion")
def inclusion(st: St, _who: Who, index: Index, size: Index) -> InclusionProof:
    """The audit path of leaf `index` in the tree of `size` leaves (size <= the log's)."""
    return InclusionProof(index=index, size=size, proof=st.log.log.inclusion(index, size))


@router.get("/log/proof/consistency")
def consistency(st: St, _who: Who, old: Index, new: Index) -> ConsistencyProof:
    """The proof that the tree of `old` leaves is a prefix of the tree of `new` leaves."""
    return ConsistencyProof(old=old, new=new, proof=st.log.log.consistency(old, new))


@router.get("/log/entries")
def entries(st: St, _who: Who, start: Index, end: Index) -> LogEntries:
    """The leaves [start, end), a bounded page (Limits.max_log_entries)."""
    found = st.log.log.entries(start, end, st.settings.limits.max_log_entries)
    return LogEntries(entries=[LogEntry(index=i, data=d) for i, d in found])


def _chain(chain: ChainText, st: St, who: Who, write: bool) -> ChainId:
    """The chain, when the caller may touch it that way (404 otherwise)."""
    found = ChainId.parse(chain)
    if found.kind == "account":
        allowed = found.owner == who.account if write else \
            st.log.chains.may_read_account(who.account, found.owner)
    elif write:
        allowed = st.log.chains.may_write_space(who.account, found.owner)
    else:
        allowed = st.store.spaces.is_member(who.account, found.owner)
    if not allowed:
        raise NotFound("No such chain.")
    return found


def writable(chain: ChainText, st: St, who: Who) -> ChainId:
    """A chain the caller may append to."""
    return _chain(chain, st, who, write=True)


def readable(chain: ChainText, st: St, who: Who) -> ChainId:
    """A chain the caller may read."""
    return _chain(chain, st, who, write=False)


@router.post("/chains/{chain}/entries", status_code=201,
             responses={200: {"description": "the same entry was already there (a retry)"}})
def append_entry(chain: Annotated[ChainId, Depends(writable)], body: ChainEntryIn, st: St,
                 who: Who, response: Response) -> ChainAppended:
    """Append a signed entry to a chain and commit it to the log (409: never a fork)."""
    limit = st.settings.limits.max_chain_entry_bytes
    if len(body.entry) > limit:
        raise TooLarge("The chain entry is too large.", limit)
    status, result = st.log.chains.append(who, chain, body)
    response.status_code = status
    return result


@router.get("/chains/{chain}/entries")
def chain_entries(chain: Annotated[ChainId, Depends(readable)], st: St, since: Since = 0,
                  limit: Limit = 100) -> ChainPage:
    """A chain's entries from seq `since`, oldest first, each with its log leaf index."""
    return st.log.chains.entries(chain, since, min(limit, st.settings.limits.max_chain_page))


@router.post("/spaces/{space}/events", status_code=201,
             responses={200: {"description": "the same commitment was already logged"}})
def post_event(space: Space, body: EventIn, st: St, who: Who,
               response: Response) -> EventAppended:
    """Log a space event as an HMAC-indexed commitment (opaque to the server)."""
    limit = st.settings.limits.max_commitment_bytes
    if len(body.commitment) > limit:
        raise TooLarge("The commitment is too large.", limit)
    status, result = st.log.events.append(who, space, body)
    response.status_code = status
    return result


@router.get("/spaces/{space}/events")
def space_events(space: Space, st: St, since: Since = 0, limit: Limit = 100) -> EventPage:
    """A space's event commitments from seq `since`, oldest first."""
    return st.log.events.events(space, since, min(limit, st.settings.limits.max_chain_page))
