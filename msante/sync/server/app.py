"""The FastAPI application, built by `create_app(settings)` (no globals: tests make many).

Every error leaves as RFC 9457 problem+json: the server's own problems, FastAPI's 404/405/422,
bodies over the limit (413, from the middleware) and unexpected exceptions (500, logged here,
never sent). The routes are in `routes.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from msante.sync.server.blobstore import FileBlobStore
from msante.sync.server.db import make_engine, migrate
from msante.sync.server.limits import BodyLimit, RateLimiter
from msante.sync.server.problems import MEDIA_TYPE, Problem, problem_body
from msante.sync.server.settings import Settings
from msante.sync.server.store import Store

if TYPE_CHECKING:
    from msante.sync.server.logroutes import LogServices

log = logging.getLogger("msante.server")
API_VERSION = "v1"
SLUGS = {400: "bad-request", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed",
         409: "conflict", 413: "too-large", 422: "invalid", 429: "rate-limited"}


@dataclass
class State:
    """What the routes need: settings, store, rate limiter, this server's id, the log."""

    settings: Settings
    store: Store
    limiter: RateLimiter
    server_id: str
    log: LogServices


def create_app(settings: Settings, *, migrate_schema: bool = True) -> FastAPI:
    """The server for `settings`: schema brought up to date, data folder created 0700."""
    from msante.sync.server.devroutes import router as device_router
    from msante.sync.server.linkroutes import REPLY_PATH
    from msante.sync.server.linkroutes import router as link_router
    from msante.sync.server.logroutes import log_services
    from msante.sync.server.logroutes import router as log_router
    from msante.sync.server.recoveryroutes import router as recovery_router
    from msante.sync.server.routes import router

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate_schema:
        migrate(engine)
    store = Store(engine, FileBlobStore(settings.blobs_dir), settings.limits)
    limits = settings.limits
    app = FastAPI(title="msante reference server", version=API_VERSION,
                  openapi_url=f"/{API_VERSION}/openapi.json", docs_url=None, redoc_url=None)
    app.state.msante = State(settings, store, RateLimiter(limits.rate_per_second,
                                                          limits.rate_burst),
                             store.accounts.server_id(), log_services(settings, engine))
    app.include_router(router)
    app.include_router(log_router)
    app.include_router(device_router)
    app.include_router(recovery_router)
    app.include_router(link_router)
    reply_body = (limits.max_reply_bytes * 4 + 2) // 3 + 1024  # base64url in a JSON object
    app.add_middleware(BodyLimit, limit=limits.max_body,
                       wider={REPLY_PATH: max(reply_body, limits.max_body)})
    _handlers(app)
    return app


def problem_response(status: int, slug: str, detail: str, request: Request,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = problem_body(status, slug, detail, request.url.path, **extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _handlers(app: FastAPI) -> None:
    """Every exception answered as problem+json."""
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_crash)


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    """The server's own problems."""
    return JSONResponse(exc.body(request.url.path), status_code=exc.status,
                        headers=exc.headers or None, media_type=MEDIA_TYPE)


async def _on_http(request: Request, exc: HTTPException) -> JSONResponse:
    """Routing errors (404, 405) and other HTTP errors from the framework."""
    slug = SLUGS.get(exc.status_code, "bad-request" if exc.status_code < 500 else "internal")
    detail = exc.detail if isinstance(exc.detail, str) else "Request refused."
    return problem_response(exc.status_code, slug, detail, request,
                            dict(exc.headers) if exc.headers else None)


async def _on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with where and what, never echoing the input back."""
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
              for e in exc.errors()]
    return problem_response(422, "invalid", "The request is not valid: see errors.", request,
                            errors=errors)


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    """500: logged with its traceback on the server, a plain problem for the client."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal", "The server met an unexpected error.", request)
