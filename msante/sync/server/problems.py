"""RFC 9457 problem details: the one shape of every error the server sends.

Each problem has a stable `type` (`urn:msante:problem:<slug>`, listed in docs/server-api.md),
a short `title`, the HTTP `status` and a `detail` in English (the API is read by programs; the
client translates). No stack trace, no exception text from a library ever reaches a client.
"""

from __future__ import annotations

from typing import Any

MEDIA_TYPE = "application/problem+json"
PREFIX = "urn:msante:problem:"

TITLES: dict[str, str] = {
    "bad-request": "Bad request",
    "invalid": "Invalid request",
    "unauthorized": "Not logged in",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "conflict": "Conflict",
    "stale": "Stale base revision",
    "revision-reused": "Revision id reused with other content",
    "device-seq-taken": "Device sequence number already used",
    "device-chain": "Item does not continue its device's chain",
    "head-mismatch": "Chain head does not name the device's stored item",
    "head-behind": "Chain head older than the one stored",
    "chunk-differs": "Chunk already stored with other content",
    "chain-seq-taken": "Chain sequence number already used by another entry",
    "chain-prev": "Chain entry does not follow the chain's head",
    "chain-gap": "Chain entry past the chain's next sequence number",
    "event-index-reused": "Event index already used with another commitment",
    "log-range": "Outside the log",
    "device-exists": "Device id already registered with other keys",
    "device-revoked": "Device id revoked",
    "device-limit": "Too many devices",
    "link-taken": "Rendezvous id already taken",
    "link-limit": "Too many open rendezvous",
    "link-used": "Rendezvous message already sent",
    "link-pending": "No message at this rendezvous yet",
    "link-not-joined": "No device has joined this rendezvous yet",
    "wrap-differs": "Key wrap already stored with other content",
    "recovery-lookup-taken": "Recovery lookup already used by another account",
    "recovery-device": "Recovery device is not an active device of the account",
    "recovery-limit": "Too many recovery bundles",
    "too-large": "Request too large",
    "rate-limited": "Too many requests",
    "quota": "Storage quota exceeded",
    "internal": "Internal server error",
    "unavailable": "Service unavailable",
}


class Problem(Exception):
    """An error answered as problem+json; `slug` names its type."""

    def __init__(self, status: int, slug: str, detail: str,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON object sent to the client."""
        return problem_body(self.status, self.slug, self.detail, instance, **self.extra)


def problem_body(status: int, slug: str, detail: str, instance: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    """A problem details object (RFC 9457) for `slug`."""
    body: dict[str, Any] = {"type": PREFIX + slug, "title": TITLES.get(slug, slug),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


class NotFound(Problem):
    """404: no such thing, or one the caller may not see (the same answer: no enumeration)."""

    def __init__(self, detail: str = "No such resource.") -> None:
        super().__init__(404, "not-found", detail)


class Unauthorized(Problem):
    """401: no valid bearer token, or a failed login."""

    def __init__(self, detail: str = "Log in first.") -> None:
        super().__init__(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})


class Conflict(Problem):
    """409 with a more precise slug."""

    def __init__(self, detail: str, slug: str = "conflict", **extra: Any) -> None:
        super().__init__(409, slug, detail, **extra)


class QuotaExceeded(Problem):
    """507: the account's storage quota would be exceeded."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(507, "quota", "This would exceed the account's storage quota.",
                         used=used, quota=quota)


class TooLarge(Problem):
    """413: a body, chunk or batch over its bound."""

    def __init__(self, detail: str, limit: int) -> None:
        super().__init__(413, "too-large", detail, limit=limit)
