"""The store's contract, on SQLite and on PostgreSQL: items, heads, sync tokens, chunks, tokens."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from server_helpers import Server, item, items, new_id, size
from sqlalchemy import select

from msante.sync.server import schema as t
from msante.sync.server.db import migrate, schema_revisions
from msante.sync.server.problems import Conflict, NotFound, Problem, QuotaExceeded
from msante.sync.server.store import token_hash


def test_migrations_build_exactly_the_schema_and_run_twice(any_server: Server) -> None:
    """The Alembic revisions and schema.py agree, and migrating again changes nothing."""
    engine = any_server.store.engine
    migrate(engine)
    with engine.begin() as conn:  # a table of someone else's in a shared database
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS not_ours (x INTEGER)")
    mine = t.metadata.tables
    ours = {"include_name": lambda name, kind, _parent: kind != "table" or name in mine}
    with engine.connect() as conn:  # other tests may share the PostgreSQL database: ours only
        diff = compare_metadata(MigrationContext.configure(conn, opts=ours), t.metadata)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE not_ours")
    assert diff == []
    current, head = schema_revisions(engine)
    assert current == head == "0004"


def test_items_get_increasing_sequence_numbers_and_pull_resumes(any_server: Server) -> None:
    """A pull pages through items oldest first; the token it returns resumes after them."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    pushed = srv.store.items.push(who.account, space, items(*(item(who) for _ in range(5))))
    assert [r.status for r in pushed] == [201] * 5
    assert [r.seq for r in pushed] == [1, 2, 3, 4, 5]
    first = srv.store.items.pull(space, None, 2)
    assert [i.seq for i in first.items] == [1, 2] and first.more
    rest = srv.store.items.pull(space, first.next, 10)
    assert [i.seq for i in rest.items] == [3, 4, 5] and not rest.more
    assert srv.store.items.pull(space, rest.next, 10).items == []


def test_a_retried_item_is_the_same_write_never_a_duplicate(any_server: Server) -> None:
    """The lost-response case: the same revision id and content again is 200, stored once."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    one = item(who)
    first = srv.store.items.push(who.account, space, items(one))[0]
    again = srv.store.items.push(who.account, space, items(one))[0]
    assert (first.status, again.status) == (201, 200)
    assert again.seq == first.seq
    assert len(srv.store.items.pull(space, None, 10).items) == 1


def test_a_reused_revision_id_with_other_content_is_a_conflict(any_server: Server) -> None:
    """Same revision id, different ciphertext: 409 revision-reused, the first one kept."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    one = item(who)
    srv.store.items.push(who.account, space, items(one))
    other = item(who, record=one["record"], revision=one["revision"], seq=one["device_seq"],
                 data=b"other bytes")
    result = srv.store.items.push(who.account, space, items(other))[0]
    assert result.status == 409 and result.type == "urn:msante:problem:revision-reused"
    pulled = srv.store.items.pull(space, None, 10).items
    assert [p.revision for p in pulled] == [one["revision"]]


def test_a_stale_item_is_refused_alone(any_server: Server) -> None:
    """One stale base gets 409 with the head; the items before it are stored."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    first = item(who)
    srv.store.items.push(who.account, space, items(first))
    edit = item(who, record=first["record"], base=first["revision"])
    stale = item(who, record=first["record"], base=None)
    results = srv.store.items.push(who.account, space, items(edit, stale))
    assert [r.status for r in results] == [201, 409]
    assert results[1].type == "urn:msante:problem:stale"
    assert results[1].current == edit["revision"]


def test_a_device_sequence_number_is_used_once(any_server: Server) -> None:
    """Another item at a device sequence number already used: 409 device-chain, alone."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    a = item(who)
    b = item(who, seq=a["device_seq"])
    results = srv.store.items.push(who.account, space, items(a, b, item(who)))
    assert [r.status for r in results] == [201, 409, 201]
    assert results[1].type == "urn:msante:problem:device-chain" and results[1].next_seq == 1


def test_concurrent_edits_of_one_base_store_exactly_one(any_server: Server) -> None:
    """Two devices editing the same head at once: one wins, the other is stale (no fork)."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    first = item(who)
    srv.store.items.push(who.account, space, items(first))
    edits = [item(who, record=first["record"], base=first["revision"]) for _ in range(4)]
    statuses: list[int] = []

    def push(one: dict[str, object]) -> None:
        statuses.append(srv.store.items.push(who.account, space, items(one))[0].status)

    threads = [threading.Thread(target=push, args=(e,)) for e in edits]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [201, 409, 409, 409]


def test_items_over_the_quota_are_refused_alone(tmp_path: object, any_server: Server) -> None:
    """507 for the item that would pass the quota; the account's usage is what was stored."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    store = srv.store.items
    small = item(who, data=b"x" * 600)
    store.limits = type(store.limits)(quota_bytes=2 * size(small) + 100)
    big = item(who, data=b"y" * 5000)
    results = store.push(who.account, space, items(small, big))
    assert [r.status for r in results] == [201, 507]
    del who.hashes[1:]
    assert store.push(who.account, space, items(item(who, data=b"z" * 10)))[0].status == 201


def test_unknown_space_is_not_found(any_server: Server) -> None:
    """Pushing to a space that does not exist is NotFound, never an implicit creation."""
    who = any_server.account()
    with pytest.raises(NotFound):
        any_server.store.items.push(who.account, new_id(), items(item(who)))


def test_chunks_are_immutable_and_listed_for_resume(any_server: Server) -> None:
    """The same bytes again are accepted; other bytes at one index are a conflict."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    blob = new_id()
    assert srv.store.chunks.put(who.account, space, blob, 0, b"chunk zero").created
    assert not srv.store.chunks.put(who.account, space, blob, 0, b"chunk zero").created
    srv.store.chunks.put(who.account, space, blob, 2, b"chunk two")
    with pytest.raises(Conflict):
        srv.store.chunks.put(who.account, space, blob, 0, b"tampered")
    assert [c.index for c in srv.store.chunks.info(space, blob).chunks] == [0, 2]
    assert srv.store.chunks.get(space, blob, 0) == b"chunk zero"
    with pytest.raises(NotFound):
        srv.store.chunks.get(space, blob, 1)


def test_chunks_count_against_the_quota(any_server: Server) -> None:
    """A chunk that would pass the quota is refused and leaves nothing behind."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    srv.store.chunks.limits = type(srv.store.chunks.limits)(quota_bytes=100)
    blob = new_id()
    srv.store.chunks.put(who.account, space, blob, 0, b"x" * 60)
    with pytest.raises(QuotaExceeded):
        srv.store.chunks.put(who.account, space, blob, 1, b"x" * 41)
    assert srv.store.chunks.blobs.read(space, blob, 1) is None
    assert [c.index for c in srv.store.chunks.info(space, blob).chunks] == [0]
    srv.store.chunks.put(who.account, space, blob, 1, b"x" * 40)  # exactly the quota


def test_tokens_are_stored_hashed_and_expire(any_server: Server) -> None:
    """The database holds only the token's SHA-256; an expired token opens nothing."""
    srv = any_server
    who = srv.account()
    with srv.store.engine.connect() as conn:
        stored = conn.scalars(select(t.tokens.c.token_hash).where(
            t.tokens.c.account_id == who.account)).all()
    assert stored == [token_hash(who.token)] and who.token not in stored
    assert srv.store.accounts.caller(who.token) is not None
    with srv.store.engine.begin() as conn:
        conn.execute(t.tokens.update().values(expires_at=0))
    assert srv.store.accounts.caller(who.token) is None
    assert srv.store.accounts.caller(who.token + "x") is None


def test_a_revoked_device_token_opens_nothing(any_server: Server) -> None:
    """Revoking a device (later, through the account chain) ends its tokens at once."""
    srv = any_server
    who = srv.account()
    with srv.store.engine.begin() as conn:
        conn.execute(t.devices.update().where(t.devices.c.device_id == who.device).values(
            revoked_at=1))
    assert srv.store.accounts.caller(who.token) is None


def test_challenges_are_single_use_and_unknown_devices_leave_no_trace(any_server: Server) -> None:
    """A challenge works once; asking for one for an unknown account stores nothing."""
    srv = any_server
    who = srv.account()
    acc = srv.store.accounts
    challenge, _ = acc.new_challenge(who.account, who.device)
    assert acc.take_challenge(who.account, who.device, challenge)
    assert not acc.take_challenge(who.account, who.device, challenge)
    other, _ = acc.new_challenge(who.account, who.device)
    assert not acc.take_challenge(who.account, new_id(), other)  # another device: used up
    ghost = new_id()
    unknown, _ = acc.new_challenge(ghost, new_id())
    with srv.store.engine.connect() as conn:
        kept = conn.scalars(select(t.challenges.c.challenge).where(
            t.challenges.c.account_id == ghost)).all()
    assert unknown and kept == []


def test_registering_an_account_twice_is_a_conflict(any_server: Server) -> None:
    """Account ids are unique."""
    who = any_server.account()
    with pytest.raises(Conflict):
        any_server.store.accounts.register(who.account, new_id(), b"k", b"b")


def test_spaces_belong_to_their_creator(any_server: Server) -> None:
    """Creating twice is harmless for the owner, a conflict for anyone else; members only."""
    srv = any_server
    owner, other = srv.account(), srv.account()
    space = srv.space(owner)
    assert srv.store.spaces.create(owner.account, space) is False
    with pytest.raises(Conflict):
        srv.store.spaces.create(other.account, space)
    assert srv.store.spaces.is_member(owner.account, space)
    assert not srv.store.spaces.is_member(other.account, space)


def test_a_bad_sync_token_is_a_client_error(any_server: Server) -> None:
    """A token this server never made is 400, not a crash."""
    who = any_server.account()
    space = any_server.space(who)
    for bad in ("abc", "-1", "9" * 40):
        with pytest.raises(Problem) as caught:
            any_server.store.items.pull(space, bad, 10)
        assert caught.value.status == 400


def test_a_pull_page_is_bounded_in_bytes_too(any_server: Server) -> None:
    """Big items come a few at a time (never fewer than one), and the token still resumes."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    store = srv.store.items
    batch = [item(who, data=b"b" * 1000) for _ in range(5)]
    srv.store.items.push(who.account, space, items(*batch))
    store.limits = type(store.limits)(max_pull_bytes=size(batch[0]) * 5 // 2)
    seen, token, pages = [], None, 0
    while True:
        page = store.pull(space, token, 100)
        seen += [i.seq for i in page.items]
        token, pages = page.next, pages + 1
        if not page.more:
            break
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    store.limits = type(store.limits)(max_pull_bytes=10)
    assert [i.seq for i in store.pull(space, None, 100).items] == [1]


def test_the_postgresql_pool_holds_a_connection_per_worker_thread() -> None:
    """One PostgreSQL connection per thread of the routes' pool, kept open: a smaller pool
    opened a session every few requests under load (bench/sync_server.py)."""
    import anyio.to_thread

    from msante.sync.server.db import PG_POOL, make_engine

    async def threads() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(threads) == PG_POOL
    engine = make_engine("postgresql+psycopg://nobody@/nothing?host=/nonexistent")
    assert engine.pool.size() == PG_POOL  # type: ignore[attr-defined]
    assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
