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


def _group(module: str) -> str:
    """The package a module is checked with (the server's modules, which all load FastAPI,
    apart from the rest of msante.sync)."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:3] == ["msante", "sync", "server"] else ".".join(parts[:2])


GROUPS = {g: [m for m in CORE if _group(m) == g] for g in sorted({_group(m) for m in CORE})}
# one fresh interpreter per package: its modules imported one after the other, the UI
# libraries looked for after each, so the first module that loads one is the one named
CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    bad = [m for m in ('typer', 'textual', 'rich') if m in sys.modules]
    if bad:
        print(name, ','.join(bad))
        break
"""


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_core_module_imports_no_ui_library(group: str) -> None:
    """Importing the core's modules in a fresh interpreter loads neither typer, textual nor
    rich (each package in its own interpreter, each module checked as it is imported)."""
    out = subprocess.run([sys.executable, "-c", CHECK, *GROUPS[group]], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "", f"{out.stdout.strip()} (module, what it pulls in)"


def test_the_list_of_core_modules_is_not_empty() -> None:
    """Guards the parametrisation above against silently testing nothing."""
    assert "msante.vault.store" in CORE and "msante.api" in CORE
    assert sum(map(len, GROUPS.values())) == len(CORE) and len(GROUPS) > 5


def test_a_module_that_loads_a_ui_library_is_named(tmp_path) -> None:
    """The grouped check names the module that loads a UI library, not only its package."""
    (tmp_path / "clean_mod.py").write_text("import json\n")
    (tmp_path / "dirty_mod.py").write_text("import rich\n")
    out = subprocess.run([sys.executable, "-c", CHECK, "clean_mod", "dirty_mod"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.split() == ["dirty_mod", "rich"]
