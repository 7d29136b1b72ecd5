"""Bounds on what a client may send: body size (ASGI middleware) and request rate.

The body limit refuses with 413 as soon as the declared `Content-Length` is over the bound, or
as soon as the bytes read pass it (chunked uploads), before the application sees the body. The
rate limit is a token bucket per account (per client address before login), in memory in each
process: a process behind a load balancer limits its own share.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from msante.sync.server.problems import MEDIA_TYPE, Problem, problem_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: 413 problem+json for a request body over `limit` bytes (or over the
    limit of the first pattern of `wider` that the request's path matches)."""

    def __init__(self, app: ASGIApp, limit: int, wider: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.wider = [(re.compile(pattern), bound) for pattern, bound in (wider or {}).items()]

    def bound(self, scope: Scope) -> int:
        """The limit for this request's path."""
        path = str(scope.get("path", ""))
        return next((bound for pattern, bound in self.wider if pattern.match(path)),
                    self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then read the body up to the limit before passing on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.bound(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return
        messages, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away mid-body (a cut upload): nothing to answer
            messages.append(message)
            total += len(message.get("body", b""))
            if total > limit:
                await self._refuse(scope, send, limit)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        """Answer 413 and close the connection (the rest of the body is never read)."""
        body = json.dumps(problem_body(
            413, "too-large", f"The request body is over {limit} bytes.",
            scope.get("path"), limit=limit)).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared body length, or None."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the buffered messages first, then the real ones."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()
    return replay


class RateLimiter:
    """Token buckets by key: `rate` per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of `key`'s bucket; 429 with Retry-After when it is empty."""
        with self._lock:
            at = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), at))
            tokens = min(float(self.burst), tokens + (at - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, at)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise Problem(429, "rate-limited", "Too many requests: slow down.",
                              {"Retry-After": str(wait)}, retry_after=wait)
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_full(at)
            self._buckets[key] = (tokens - 1.0, at)

    def _forget_full(self, at: float) -> None:
        """Drop the buckets that have refilled (they hold no state worth keeping)."""
        full = [k for k, (tok, last) in self._buckets.items()
                if tok + (at - last) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
