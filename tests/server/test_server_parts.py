"""The small parts on their own: the blob store's paths, the rate limiter's arithmetic."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from msante.sync.server.blobstore import FileBlobStore
from msante.sync.server.limits import RateLimiter
from msante.sync.server.models import b64decode, b64encode
from msante.sync.server.problems import Problem


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "a\\b", "x" * 65, "é", "a\x00"])
def test_no_id_names_a_path_outside_the_store(tmp_path: Path, bad: str) -> None:
    """The store refuses unsafe ids itself, whatever the API let through."""
    store = FileBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError):
        store.stage(bad, "blob", 0, b"x")
    with pytest.raises(ValueError):
        store.read("space", bad, 0)
    with pytest.raises(ValueError):
        store.stage("space", "blob", -1, b"x")


def test_chunks_appear_whole_and_private(tmp_path: Path) -> None:
    """Staged bytes are invisible until committed; folders 0700, no temporary file left."""
    store = FileBlobStore(tmp_path / "blobs")
    handle = store.stage("space", "blob", 3, b"data")
    assert store.read("space", "blob", 3) is None
    store.commit(handle)
    assert store.read("space", "blob", 3) == b"data"
    discarded = store.stage("space", "blob", 4, b"gone")
    store.discard(discarded)
    folder = tmp_path / "blobs" / "space" / "blob"
    assert sorted(p.name for p in folder.iterdir()) == ["3"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "blobs").stat().st_mode) == 0o700


def test_the_bucket_refills_at_its_rate() -> None:
    """Burst, then one request per 1/rate seconds; Retry-After rounds the wait up."""
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(Problem) as caught:
        limiter.take("a")
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "1"
    limiter.take("b")  # buckets are per key
    now[0] = 0.5
    limiter.take("a")
    with pytest.raises(Problem):
        limiter.take("a")


def test_the_limiter_forgets_idle_keys_when_full() -> None:
    """Memory stays bounded: refilled buckets are dropped when the table is full."""
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=1, clock=lambda: now[0], max_keys=10)
    for i in range(10):
        limiter.take(f"k{i}")
    now[0] = 5.0
    limiter.take("new")
    assert len(limiter._buckets) == 1


@pytest.mark.parametrize("text", ["a=", "a+b", "a", "ab/c", " ab"])
def test_base64url_is_strict(text: str) -> None:
    """Padding, the standard alphabet and impossible lengths are refused."""
    with pytest.raises(ValueError):
        b64decode(text)


def test_base64url_round_trips() -> None:
    """Every length decodes to what was encoded."""
    for n in range(0, 40):
        data = bytes(range(n))
        assert b64decode(b64encode(data)) == data


def test_the_package_exports_its_entry_points() -> None:
    """`from msante.sync.server import create_app, Settings, Limits` is the public API."""
    import msante.sync.server as server

    assert sorted(server.__all__) == ["Limits", "Settings", "create_app"]
    assert all(hasattr(server, name) for name in server.__all__)


def test_a_client_gone_mid_body_reaches_no_route() -> None:
    """A cut upload is dropped by the body limit, not turned into a server error."""
    import anyio

    from msante.sync.server.limits import BodyLimit

    called: list[str] = []
    sent: list[object] = []

    async def app(scope: object, receive: object, send: object) -> None:
        called.append("app")

    messages = [{"type": "http.request", "body": b"abc", "more_body": True},
                {"type": "http.disconnect"}]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: object) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [], "path": "/v1/x"}
    anyio.run(BodyLimit(app, 100), scope, receive, send)  # type: ignore[arg-type]
    assert called == [] and sent == []
