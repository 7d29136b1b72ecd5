"""A clean, non-editable install of msante in a temporary folder, to time start-up honestly.

The development venv starts Python about twice as slowly as a clean one (the editable
install's `.pth` hook, setuptools' distutils shim), which flattered every ratio against
`python -c pass`. This builds what `pip install msante` would give, without the network:

- a new venv without pip (so no `.pth` file at all);
- the runtime dependencies of msante (its requirements and theirs, markers evaluated, no
  extras), each checked against the requirement and linked (or copied) file by file from the
  running environment's installed distributions, as listed in their RECORD;
- the msante package copied from this source tree (not linked to it) and its console script
  written as pip writes it; everything byte-compiled, as pip does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

SOURCE = Path(__file__).resolve().parent.parent
SCRIPT = """#!{python}
import re
import sys
from msante.cli.main import run
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(run())
"""


def project_requirements() -> list[Requirement]:
    """The [project] dependencies of pyproject.toml (the source of truth, not an old install)."""
    import tomllib

    data = tomllib.loads((SOURCE / "pyproject.toml").read_text())
    return [Requirement(r) for r in data["project"]["dependencies"]]


def closure(requirements: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions those requirements need, checked against them."""
    env, seen, found = default_environment(), set[str](), []
    todo = list(requirements)
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate(env | {"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(req.name)
        if Version(dist.version) not in req.specifier:
            sys.exit(f"bench: {req.name} {dist.version} is installed but msante asks {req}; "
                     "reinstall the development venv (make) first")
        found.append(dist)
        todo += [Requirement(r) for r in dist.requires or []]
    return found


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def build(root: Path) -> Path:
    """Make the clean install under `root`; return its python."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for dist in closure(project_requirements()):
        for file in dist.files or []:
            src = Path(str(dist.locate_file(file)))
            if ".." not in file.parts and "__pycache__" not in file.parts and src.is_file():
                _place(src, site / file)
    shutil.copytree(SOURCE / "msante", site / "msante",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    script = venv / "bin" / "msante"
    script.write_text(SCRIPT.format(python=python))
    script.chmod(0o755)
    subprocess.run([str(python), "-m", "compileall", "-q", str(site)], check=True,
                   stdout=subprocess.DEVNULL)
    assert not list(site.glob("*.pth")), "a clean install has no .pth hook"
    return python
