"""The sync client: the server's `/v1` API (docs/server-api.md) over httpx, errors as SyncError.

Every failure becomes one `msante.errors.SyncError` subclass with a one-line message (the
server's problem detail when it sent one), never a library exception:

    no connection, a timeout, TLS           ServerUnreachable   exit 1
    plain http:// off loopback, bad URL     InsecureServer      exit 2
    401 (login refused, token unknown)      LoginRefused        exit 4
    404 (no msante server there, no space)  ServerNotFound      exit 5
    not JSON, wrong shape, a redirect       BadServerAnswer     exit 6
    409, 429, 503                           ServerBusy          exit 7
    any other problem                       SyncError           exit 1

Plain HTTP is refused except to loopback (127.0.0.0/8, ::1, localhost) unless `insecure`;
redirects are not followed (one could lead to plain HTTP). The bearer token lives in this
object only (never logged, never on disk); it is renewed by one login when it expires.
Binary fields travel as base64url without padding; this module encodes and decodes them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# httpx's own command line (httpx._main) pulls in rich, pygments and click whenever they are
# installed: a fifth of a second, and a UI library the core must not load (STYLE.md, rule 1).
# Marked absent before httpx is first imported, httpx falls back to a stub `main`.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from msante.errors import (
    BadServerAnswer,
    InsecureServer,
    LoginRefused,
    ServerBusy,
    ServerNotFound,
    ServerUnreachable,
    SyncError,
)
from msante.i18n import _
from msante.sync.crypto import Purpose, SigningKey

API = "/v1"
PROBLEM = "application/problem+json"
PENDING = "urn:msante:problem:link-pending"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_ANSWER = 64 * 1024 * 1024  # a pull page (8 MiB) or a chunk (4 MiB), base64, with margin
BINARY_FIELDS = ("prev_hash", "ciphertext_sha256", "envelope", "ciphertext", "sha256")
_DETAIL_MAX = 300
_B64 = re.compile(r"[A-Za-z0-9_-]*")


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: object) -> bytes:
    """Decode base64url without padding; BadServerAnswer on anything else."""
    if not isinstance(text, str) or not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise BadServerAnswer(_("The server sent a binary field that is not base64url text."))
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadServerAnswer(
            _("The server sent a binary field that is not base64url text.")) from None


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, insecure: bool = False) -> str:
    """The server's base URL, normalised; InsecureServer for plain HTTP off loopback (unless
    `insecure`) and for anything that is not an http(s) URL of a host."""
    bad = _("'{url}' is not a server URL such as https://sync.example.org.").format(url=url)
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InsecureServer(bad) from None
    if parsed.scheme not in ("https", "http") or not parsed.host or not (
            parsed.port is None or 0 < parsed.port < 65536):
        raise InsecureServer(bad)
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise InsecureServer(_("Give the server URL without a user name, password, query or "
                               "fragment: {url}").format(url=parsed.copy_with(
                                   username=None, password=None, query=None, fragment=None)))
    if parsed.scheme == "http" and not insecure and not is_loopback(parsed.host):
        raise InsecureServer(_(
            "Refusing plain HTTP to {host}: anyone on the way could watch or change the "
            "traffic. Use https://, or --insecure if you really mean it.").format(
                host=parsed.host))
    return str(parsed).rstrip("/")


@dataclass(frozen=True)
class Health:
    """What `GET /v1/health` said."""

    server: str
    api: str


@dataclass(frozen=True)
class Answer:
    """A response read whole (bounded): status, media type, body."""

    status: int
    media_type: str
    content: bytes


@dataclass(frozen=True)
class PullPage:
    """Items after a sync token, and the token to resume from."""

    items: list[dict[str, Any]]
    next: str
    more: bool


@dataclass(frozen=True)
class RecoveryBundle:
    """An account's recovery bundle as the server keeps it (opaque to the server)."""

    account: str
    device: str
    signer: bytes
    bundle: bytes
    updated: int


class Client:
    """One server's API; use as a context manager (the connection pool is closed after)."""

    def __init__(self, url: str, *, insecure: bool = False,
                 transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = TIMEOUT) -> None:
        self.url = check_url(url, insecure=insecure)
        # http:// (loopback, or --insecure) never speaks TLS: no CA bundle to load.
        self._http = httpx.Client(base_url=self.url + API, timeout=timeout,
                                  follow_redirects=False, transport=transport,
                                  verify=self.url.startswith("https://"),
                                  headers={"Accept": "application/json"})
        self._token: str | None = None
        self._login: tuple[str, str, SigningKey, str] | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # -- the endpoints ------------------------------------------------------------------

    def health(self) -> Health:
        """Is it an msante server, and which one (its id, which login signatures name)."""
        answer = self._send("GET", "/health")
        if answer.status == 404:  # an other web server, or a wrong path
            raise ServerNotFound(_("No msante server answers at {url}: check the address.")
                                 .format(url=self.url))
        body = _parse(self, answer)
        if body.get("status") != "ok":
            raise self._nonsense(_("its health check did not say ok"))
        return Health(server=_text(body, "server"), api=_text(body, "api"))

    def put_recovery(self, account: str, lookup: str, device: str, signer: bytes,
                     bundle: bytes, replaces: str | None = None) -> bool:
        """Store or replace the account's recovery bundle under `lookup` (deleting the one
        under `replaces`); True if that lookup had none."""
        response = self._authed("PUT", f"/accounts/{account}/recovery", json={
            "lookup": lookup, "device": device, "signer": b64(signer), "bundle": b64(bundle),
            "replaces": replaces})
        _text(_parse(self, response), "account")
        return response.status == 201

    def recovery_bundles(self, account: str) -> list[RecoveryBundle]:
        """The account's recovery bundles, one per recovery key (token of the account)."""
        body = self._json_authed("GET", f"/accounts/{account}/recovery")
        return [_recovery(b) for b in _list(body, "bundles")]

    def find_recovery(self, lookup: str) -> RecoveryBundle:
        """A recovery bundle by its lookup (no token); ServerNotFound when there is none."""
        return _recovery(self._json("GET", f"/recovery/{lookup}"))

    def register(self, account: str, device: str, signing_key: bytes, bundle: bytes) -> None:
        """Register `account` with its first device's public signing key and key bundle."""
        self._json("POST", "/accounts", json={
            "account": account, "device": device, "signing_key": b64(signing_key),
            "bundle": b64(bundle)})

    def login(self, account: str, device: str, key: SigningKey, server_id: str) -> None:
        """Sign a fresh challenge (purpose `login`) and keep the token (in memory only)."""
        got = self._json("POST", "/login/challenge", json={"account": account, "device": device})
        challenge = _text(got, "challenge")
        signature = key.sign(Purpose.LOGIN, {"server": server_id, "account": account,
                                             "challenge": challenge})
        try:
            token = self._json("POST", "/login", json={
                "account": account, "device": device, "challenge": challenge,
                "signature": b64(signature)})
        except LoginRefused as exc:
            raise LoginRefused(_("The server refused this device's login: {detail}").format(
                detail=exc.message)) from None
        self._token = _text(token, "token")
        self._login = (account, device, key, server_id)

    def create_space(self, space: str) -> bool:
        """Create a space owned by this account; False when it already was this account's."""
        response = self._authed("POST", "/spaces", json={"space": space})
        _text(_parse(self, response), "space")
        return response.status == 201

    def append_chain(self, chain: str, seq: int, prev: bytes, digest: bytes,
                     entry: bytes) -> int:
        """Append a signed chain entry (the same one again is a retry); its log leaf index."""
        body = _parse(self, self._authed("POST", f"/chains/{chain}/entries", json={
            "seq": seq, "prev": b64(prev), "hash": b64(digest), "entry": b64(entry)}))
        index = body.get("leaf_index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise self._nonsense(_("its answer to a chain entry has no leaf index"))
        return index

    def push(self, space: str, items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Push items (binary fields as bytes); one result per item, in order."""
        body = {"items": [_encode(item) for item in items]}
        results = _list(_parse(self, self._authed("POST", f"/spaces/{space}/items",
                                                   json=body)), "results")
        if len(results) != len(items):
            raise self._nonsense(_("it answered a push with the wrong number of results"))
        return results

    def pull_page(self, space: str, since: str | None = None, limit: int = 500) -> PullPage:
        """One page of items after the sync token `since` (binary fields as bytes)."""
        params: dict[str, str | int] = {"limit": limit} | ({"since": since} if since else {})
        body = _parse(self, self._authed("GET", f"/spaces/{space}/items", params=params))
        items = [_decode(item) for item in _list(body, "items")]
        return PullPage(items, _text(body, "next"), bool(body.get("more")))

    def pull(self, space: str, since: str | None = None) -> Iterator[PullPage]:
        """Every page after `since`, following `next` until the server says no more."""
        while True:
            page = self.pull_page(space, since)
            yield page
            if not page.more:
                return
            if page.next == since:
                raise self._nonsense(_("its sync token did not move"))
            since = page.next

    def put_chunk(self, space: str, blob: str, index: int, data: bytes) -> bool:
        """Upload one encrypted chunk; False when the same bytes were already there."""
        response = self._authed("PUT", f"/spaces/{space}/blobs/{blob}/chunks/{index}",
                                content=data,
                                headers={"Content-Type": "application/octet-stream"})
        _parse(self, response)
        return response.status == 201

    def get_chunk(self, space: str, blob: str, index: int) -> bytes:
        """Download one encrypted chunk."""
        response = self._authed("GET", f"/spaces/{space}/blobs/{blob}/chunks/{index}")
        self._raise_for(response)
        return response.content

    def blob_info(self, space: str, blob: str) -> list[dict[str, Any]]:
        """The chunks a blob has on the server (index, size, sha256), to resume an upload."""
        body = _parse(self, self._authed("GET", f"/spaces/{space}/blobs/{blob}"))
        return [_decode(chunk) for chunk in _list(body, "chunks")]

    def spaces(self) -> list[dict[str, str]]:
        """This account's spaces on the server, each `{"space", "role"}`, by space id."""
        found: list[dict[str, str]] = []
        params: dict[str, str] = {}
        while True:
            body = _parse(self, self._authed("GET", "/spaces", params=params))
            page = _list(body, "spaces")
            found += [{"space": _text(s, "space"), "role": _text(s, "role")} for s in page]
            if not body.get("more") or not page:
                return found
            params = {"after": found[-1]["space"]}

    def add_device(self, account: str, device: str, signing_key: bytes,
                   bundle: bytes) -> bool:
        """Register another device of this account; False when it was already there."""
        response = self._authed("POST", f"/accounts/{account}/devices", json={
            "device": device, "signing_key": b64(signing_key), "bundle": b64(bundle)})
        _text(_parse(self, response), "device")
        return response.status == 201

    def remove_device(self, account: str, device: str) -> int:
        """Revoke another device of this account (its tokens stop at once); when, in Unix
        seconds."""
        body = _parse(self, self._authed("DELETE", f"/accounts/{account}/devices/{device}"))
        return _int(body, "revoked")

    def put_wrap(self, space: str, version: int, device: str, sealed: bytes) -> bool:
        """Store the space's scope keys of `version` sealed for `device` (its key id in
        base64url); False when the same bytes were already there."""
        response = self._authed("PUT", f"/spaces/{space}/wraps/{version}/{device}",
                                json={"sealed": b64(sealed)})
        _parse(self, response)
        return response.status == 201

    def wraps(self, space: str, device: str) -> list[tuple[int, bytes]]:
        """Every wrap for `device` (its key id) in the space: (key version, sealed bytes),
        oldest version first."""
        found: list[tuple[int, bytes]] = []
        since = 0
        while True:
            body = _parse(self, self._authed("GET", f"/spaces/{space}/wraps/{device}",
                                             params={"since": since}))
            page = _list(body, "wraps")
            found += [(_int(w, "version"), unb64(w.get("sealed"))) for w in page]
            if not body.get("more") or not page:
                return found
            if found[-1][0] < since:
                raise self._nonsense(_("its list of key wraps went backwards"))
            since = found[-1][0] + 1

    def open_link(self, rendezvous: str, account: str) -> int:
        """Open a rendezvous for this account (a retry is harmless); when it ends, in Unix
        seconds."""
        body = _parse(self, self._authed("POST", "/link", json={
            "rendezvous": rendezvous, "account": account}))
        return _int(body, "expires")

    def link_account(self, rendezvous: str) -> str:
        """Which account a live rendezvous is for (no token needed)."""
        return _text(self._json("GET", f"/link/{rendezvous}"), "account")

    def put_join(self, rendezvous: str, message: bytes) -> bool:
        """Leave the new device's message (no token); False when it already was there."""
        response = self._send("PUT", f"/link/{rendezvous}/join", json={"message": b64(message)})
        _parse(self, response)
        return response.status == 201

    def get_join(self, rendezvous: str) -> bytes | None:
        """The new device's message, or None while it has not come."""
        return self._message(self._authed("GET", f"/link/{rendezvous}/join"))

    def put_reply(self, rendezvous: str, message: bytes) -> bool:
        """Leave the reply for the new device; False when it already was there."""
        response = self._authed("PUT", f"/link/{rendezvous}/reply",
                                json={"message": b64(message)})
        _parse(self, response)
        return response.status == 201

    def get_reply(self, rendezvous: str) -> bytes | None:
        """The reply (no token), or None while it has not come; the server then deletes the
        rendezvous: it can be read once."""
        return self._message(self._send("GET", f"/link/{rendezvous}/reply"))

    def _message(self, response: Answer) -> bytes | None:
        """A rendezvous message, or None for 404 link-pending."""
        if response.status == 404 and _problem_type(response) == PENDING:
            return None
        return unb64(_parse(self, response).get("message"))

    # heads (engine helper) -----------------------------------------------------------

    def put_head(self, space: str, device: str, seq: int, item: bytes, head: bytes) -> bool:
        """Put this device's signed chain head in `space`; False when it replaced an older one."""
        response = self._authed("PUT", f"/spaces/{space}/heads/{device}", json={
            "seq": seq, "item": b64(item), "head": b64(head)})
        _parse(self, response)
        return response.status == 201

    def heads(self, space: str) -> list[bytes]:
        """Every device's newest signed chain head in `space` (their bytes), every page."""
        out: list[bytes] = []
        after: str | None = None
        for _page in range(10_000):
            params: dict[str, str | int] = {"limit": 500} | ({"after": after} if after else {})
            body = _parse(self, self._authed("GET", f"/spaces/{space}/heads", params=params))
            heads = _list(body, "heads")
            out += [unb64(head.get("head")) for head in heads]
            if not body.get("more") or not heads:
                return out
            if _text(heads[-1], "device") == after:
                raise self._nonsense(_("its list of chain heads did not move"))
            after = _text(heads[-1], "device")
        raise self._nonsense(_("its list of chain heads never ends"))

    # -- transport ----------------------------------------------------------------------

    def _authed(self, method: str, path: str, **kw: Any) -> Answer:
        """A request with the bearer token; one new login if the token has expired."""
        if self._token is None:
            raise SyncError(_("Not logged in to the server."))
        response = self._send(method, path, auth=True, **kw)
        if response.status == 401 and self._login is not None:
            self.login(*self._login)
            response = self._send(method, path, auth=True, **kw)
        return response

    def _json_authed(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        return _parse(self, self._authed(method, path, **kw))

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        return _parse(self, self._send(method, path, **kw))

    def _send(self, method: str, path: str, *, auth: bool = False,
              headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        """Send one request and read the answer (bounded); network errors as SyncError."""
        headers = dict(headers or {})
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._http.stream(method, path, headers=headers, **kw) as response:
                return Answer(response.status_code, _media_type(response.headers),
                              _read_bounded(self, response))
        except httpx.TimeoutException:
            raise ServerUnreachable(_("{url} did not answer in time: try again later.").format(
                url=self.url)) from None
        except (httpx.RemoteProtocolError, httpx.DecodingError):
            raise self._nonsense(_("its answer is not valid HTTP")) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ServerUnreachable(_("Cannot reach {url}: {reason}").format(
                url=self.url, reason=_reason(exc))) from None

    def _raise_for(self, response: Answer) -> None:
        """Turn a non-2xx answer into its SyncError."""
        if 200 <= response.status < 300:
            return
        if 300 <= response.status < 400:
            raise self._nonsense(_("it redirects elsewhere (HTTP {status})").format(
                status=response.status))
        detail = _problem_detail(response)
        if detail is None:
            raise self._nonsense(_("HTTP {status} without a problem report").format(
                status=response.status))
        raise _problem_error(response.status, detail)

    def _nonsense(self, why: str) -> BadServerAnswer:
        return BadServerAnswer(_("The server at {url} answered something that is not the "
                                 "msante API ({why}): check the address.").format(
                                     url=self.url, why=why))

    # the log (verify helper) -------------------------------------------------------------

    def log_key(self) -> LogKeyInfo:
        """The log's origin and note verifier key (no token needed: anyone may pin it)."""
        body = self._json("GET", "/log/key")
        return LogKeyInfo(origin=_text(body, "origin"), key=_text(body, "key"))

    def log_checkpoint(self) -> str:
        """The log's current checkpoint, a signed note (checked by msante.sync.logcheck)."""
        return _text(self._json("GET", "/log/checkpoint"), "note")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf `index` in the tree of `size` leaves."""
        body = _parse(self, self._authed("GET", "/log/proof/inclusion",
                                         params={"index": index, "size": size}))
        if (_int(body, "index"), _int(body, "size")) != (index, size):
            raise self._nonsense(_("it sent a proof for another leaf"))
        return _hashes(body, "proof")

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """The proof that the tree of `old` leaves is a prefix of the tree of `new` leaves."""
        body = _parse(self, self._authed("GET", "/log/proof/consistency",
                                         params={"old": old, "new": new}))
        if (_int(body, "old"), _int(body, "new")) != (old, new):
            raise self._nonsense(_("it sent a proof between other sizes"))
        return _hashes(body, "proof")

    def log_entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """The leaves [start, end) with their indexes (one bounded page)."""
        body = _parse(self, self._authed("GET", "/log/entries",
                                         params={"start": start, "end": end}))
        return [(_int(e, "index"), unb64(e.get("data"))) for e in _list(body, "entries")]

    def chain_page(self, chain: str, since: int = 0, limit: int = 500) -> LogPage:
        """One page of a chain's entries from seq `since`, each with its leaf index."""
        body = _parse(self, self._authed("GET", f"/chains/{chain}/entries",
                                         params={"since": since, "limit": limit}))
        records = [ChainRecord(seq=_int(e, "seq"), prev=unb64(e.get("prev")),
                               hash=unb64(e.get("hash")), entry=unb64(e.get("entry")),
                               leaf_index=_int(e, "leaf_index"))
                   for e in _list(body, "entries")]
        return LogPage(records, _int(body, "next"), body.get("more") is True)

    def event_page(self, space: str, since: int = 0, limit: int = 500) -> LogPage:
        """One page of a space's event commitments from seq `since`."""
        body = _parse(self, self._authed("GET", f"/spaces/{space}/events",
                                         params={"since": since, "limit": limit}))
        records = [EventRecord(seq=_int(e, "seq"), index=unb64(e.get("index")),
                               commitment=unb64(e.get("commitment")),
                               leaf_index=_int(e, "leaf_index"))
                   for e in _list(body, "events")]
        return LogPage(records, _int(body, "next"), body.get("more") is True)

    def chain_records(self, chain: str) -> list[ChainRecord]:
        """Every entry of a chain, following the pages (a `next` that does not move is an
        answer that is not the API)."""
        return [r for r in self._all_pages(lambda since: self.chain_page(chain, since))
                if isinstance(r, ChainRecord)]

    def event_records(self, space: str) -> list[EventRecord]:
        """Every event commitment of a space, following the pages."""
        return [r for r in self._all_pages(lambda since: self.event_page(space, since))
                if isinstance(r, EventRecord)]

    def _all_pages(self, page: Callable[[int], LogPage]) -> list[ChainRecord | EventRecord]:
        """The records of every page from seq 0."""
        found: list[ChainRecord | EventRecord] = []
        since = 0
        while True:
            got = page(since)
            found += got.records
            if not got.more:
                return found
            if got.next <= since or not got.records:
                raise self._nonsense(_("its page token did not move"))
            since = got.next


def _media_type(headers: httpx.Headers) -> str:
    return str(headers.get("Content-Type", "")).split(";")[0].strip().lower()


def _read_bounded(client: Client, response: httpx.Response) -> bytes:
    """Read the body, refusing one over MAX_ANSWER bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER:
        raise client._nonsense(_("an answer too large"))
    data = bytearray()
    for part in response.iter_bytes():
        data += part
        if len(data) > MAX_ANSWER:
            raise client._nonsense(_("an answer too large"))
    return bytes(data)


def _parse(client: Client, response: Answer) -> dict[str, Any]:
    """The JSON object of a 2xx answer (the error of any other)."""
    client._raise_for(response)
    if response.media_type != "application/json":
        raise client._nonsense(_("not JSON"))
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise client._nonsense(_("not JSON")) from None
    if not isinstance(body, dict):
        raise client._nonsense(_("not a JSON object"))
    return body


def _problem_detail(response: Answer) -> str | None:
    """The detail of an RFC 9457 problem answer, on one bounded line; None if it is not one."""
    if response.media_type != PROBLEM:
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return None
    detail = " ".join(body["detail"].split())
    return detail[:_DETAIL_MAX] + ("…" if len(detail) > _DETAIL_MAX else "")


def _problem_type(response: Answer) -> str | None:
    """The `type` of an RFC 9457 problem answer; None if it is not one."""
    if response.media_type != PROBLEM:
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    found = body.get("type") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def _problem_error(status: int, detail: str) -> SyncError:
    """The SyncError for a problem of this status."""
    if status == 401:
        return LoginRefused(detail)
    if status == 404:
        return ServerNotFound(_("The server has no such thing: {detail}").format(detail=detail))
    if status in (409, 429, 503):
        return ServerBusy(_("The server asks to wait or refused a stale write: {detail}")
                          .format(detail=detail))
    return SyncError(_("The server refused the request (HTTP {status}): {detail}").format(
        status=status, detail=detail))


def _reason(exc: Exception) -> str:
    """A short reason for a network failure (the library's text, on one line)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:_DETAIL_MAX]


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadServerAnswer(_("The server's answer lacks '{key}'.").format(key=key))
    return value


def _recovery(body: Mapping[str, Any]) -> RecoveryBundle:
    return RecoveryBundle(_text(body, "account"), _text(body, "device"),
                          unb64(body.get("signer")), unb64(body.get("bundle")),
                          _int(body, "updated"))


def _list(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadServerAnswer(_("The server's answer lacks '{key}'.").format(key=key))
    return value


def _encode(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item for the wire: bytes as base64url."""
    return {k: b64(bytes(v)) if isinstance(v, bytes | bytearray) else v
            for k, v in item.items()}


def _decode(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item from the wire: the binary fields as bytes."""
    return {k: unb64(v) if k in BINARY_FIELDS and v is not None else v
            for k, v in item.items()}


# the log (verify helper): answers of the log endpoints and their readers -------------------


@dataclass(frozen=True)
class LogKeyInfo:
    """What `GET /v1/log/key` said: the log's origin and note verifier key."""

    origin: str
    key: str


@dataclass(frozen=True)
class ChainRecord:
    """A chain entry as the server keeps it: its seq, links, signed bytes and log leaf."""

    seq: int
    prev: bytes
    hash: bytes
    entry: bytes
    leaf_index: int


@dataclass(frozen=True)
class EventRecord:
    """A space event commitment as the server keeps it, with its log leaf."""

    seq: int
    index: bytes
    commitment: bytes
    leaf_index: int


@dataclass(frozen=True)
class LogPage:
    """A page of chain entries or events and the seq to ask for next."""

    records: list[ChainRecord] | list[EventRecord]
    next: int
    more: bool


def _int(body: Mapping[str, Any], key: str) -> int:
    """A non-negative integer field; BadServerAnswer otherwise."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadServerAnswer(_("The server's answer lacks '{key}'.").format(key=key))
    return value


def _hashes(body: Mapping[str, Any], key: str) -> list[bytes]:
    """A list of base64url hashes (a proof); BadServerAnswer otherwise."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) > 128:
        raise BadServerAnswer(_("The server's answer lacks '{key}'.").format(key=key))
    return [unb64(v) for v in value]
