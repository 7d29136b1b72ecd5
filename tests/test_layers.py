"""The core is reachable without the user interfaces (STYLE.md, convention 1)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import msante

UI_PACKAGES = ("msante.cli", "msante.tui")
CORE = sorted(
    m.name for m in pkgutil.walk_packages(msante.__path__, "msante.")
    if not m.name.startswith(UI_PACKAGES) and m.name not in ("msante.__main__", "msante.demo")
)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_ui_library(module: str) -> None:
    """Importing a core module in a fresh interpreter loads neither typer, textual nor rich."""
    code = (f"import sys, {module}; bad = [m for m in ('typer', 'textual', 'rich') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"


def test_the_list_of_core_modules_is_not_empty() -> None:
    """Guards the parametrisation above against silently testing nothing."""
    assert "msante.vault.store" in CORE and "msante.api" in CORE
