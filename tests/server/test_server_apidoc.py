"""docs/server-api.md is generated from the OpenAPI schema and must be current."""

from __future__ import annotations

from pathlib import Path

from msante.sync.server.apidoc import openapi, render

DOC = Path(__file__).parents[2] / "docs" / "server-api.md"


def test_the_checked_in_api_page_is_current() -> None:
    """Regenerate with `python -m msante.sync.server.apidoc > docs/server-api.md`."""
    assert DOC.read_text(encoding="utf-8") == render(openapi()), (
        "docs/server-api.md is stale: run python -m msante.sync.server.apidoc "
        "> docs/server-api.md")


def test_the_page_lists_every_endpoint_and_problem_type() -> None:
    """The summary names each path and each problem type a client may meet."""
    text = DOC.read_text(encoding="utf-8")
    for needle in ("`POST /v1/spaces/{space}/items`", "`GET /v1/health`",
                   "`urn:msante:problem:stale`", "`urn:msante:problem:quota`"):
        assert needle in text
