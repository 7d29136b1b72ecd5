"""The msante reference sync server (`msante-server`): untrusted, it stores only ciphertext.

    create_app(Settings(...))   the FastAPI application (app.py)
    Settings, Limits            where it keeps its data, and every bound it enforces

See docs/architecture.md, "The reference server", and docs/server-api.md.
"""

from __future__ import annotations

from msante.sync.server.app import create_app
from msante.sync.server.settings import Limits, Settings

__all__ = ["Limits", "Settings", "create_app"]
