"""Shared fixtures: every test runs in a private MSANTE_HOME and runtime dir, in English."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante import i18n

pytest_plugins = ["tests.pg_cluster"]  # the `postgresql_url` fixture: a real PostgreSQL

PASSPHRASE = "velvet orbit lantern mosaic 7"
FAST_KDF = {"memory_kib": 16384, "iterations": 2}
CLI_ENV_DROP = ("MSANTE_PASSPHRASE_FILE", "LANGUAGE", "LC_ALL", "LC_MESSAGES")


@pytest.fixture(autouse=True)
def private_env(tmp_path_factory: pytest.TempPathFactory,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private home and runtime dir; English; no passphrase file from the outside."""
    base = tmp_path_factory.mktemp("env")
    home = base / "home"
    runtime = base / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("MSANTE_HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("LANG", "C.UTF-8")
    for var in CLI_ENV_DROP:
        monkeypatch.delenv(var, raising=False)
    i18n.setup("en")
    yield home
    _stop_agent(home)
    i18n.setup("en")


def _stop_agent(home: Path) -> None:
    try:
        from msante.vault import agent

        agent.stop_agent(home)
    except Exception:  # the test may have removed the runtime dir or the vault
        pass


@pytest.fixture
def home(private_env: Path) -> Path:
    """The MSANTE_HOME of this test."""
    return private_env


@pytest.fixture(scope="session")
def vault_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """Speed only: the `vault` fixture's vault, made once per process (worker), and its keys."""
    from msante.api import Vault
    from msante.vault import crypto

    base = tmp_path_factory.mktemp("vault-template") / "home"
    v, _recovery = Vault.create(base, PASSPHRASE, name="Camille Martin", born="1985-06-02",
                                sex="female", params=crypto.KdfParams.new(**FAST_KDF))
    keys = v.store.keys
    v.close()
    return base, keys


@pytest.fixture
def vault(home: Path, vault_template: tuple[Path, Any]) -> Iterator[object]:
    """A fresh vault (owner Camille Martin) with the cheapest allowed KDF, closed afterwards.

    A copy of a vault made once per process, opened with its keys: what Vault.create made
    (same passphrase, KDF, owner, audit chain), without its migrations and KDF each time."""
    import shutil

    from msante.api import Vault

    template, keys = vault_template
    shutil.copytree(template, home)
    v = Vault.open(home, keys)
    yield v
    v.close()


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    """A private file holding PASSPHRASE."""
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


def run_cli(*args: str, input: str | None = None,
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m msante ARGS` in a subprocess with the test's environment."""
    env = dict(os.environ) | (env_extra or {})
    return subprocess.run([sys.executable, "-m", "msante", *args], input=input, env=env,
                          capture_output=True, text=True, timeout=120)


def init_cli(passphrase_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`msante init` for Camille Martin with the fast KDF, through the passphrase file."""
    return run_cli("init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex", "female",
                   "--kdf-memory", "16", "--kdf-iterations", "2", *extra,
                   env_extra={"MSANTE_PASSPHRASE_FILE": str(passphrase_file)})


INIT = ["init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex", "female",
        "--kdf-memory", "16", "--kdf-iterations", "2"]


class Result:
    """What an in-process CLI run returned."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> object:
        return json.loads(self.out)

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run msante in-process; `stdin` feeds --passphrase-stdin, `pfile` sets the file source."""
    from msante.cli.main import main

    def run(*args: str, stdin: str = "", pfile: Path | None = None) -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        if pfile is not None:
            monkeypatch.setenv("MSANTE_PASSPHRASE_FILE", str(pfile))
        else:
            monkeypatch.delenv("MSANTE_PASSPHRASE_FILE", raising=False)
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(int(code), captured.out, captured.err)
    return run


@pytest.fixture
def made(cli, passphrase_file: Path) -> Path:
    """A vault created through the CLI (recovery key in `rk` beside the passphrase file)."""
    r = cli(*INIT, "--recovery-key-file", str(passphrase_file.parent / "rk"),
            pfile=passphrase_file)
    assert r.code == 0, r.err
    return passphrase_file


class Handover:
    """Jeanne Martin, born 2004-02-29: her records are made while she is still a minor
    (`while_minor`), then handed over into her own new vault (`to_own_vault`)."""

    NAME, BORN = "Jeanne Martin", "2004-02-29"

    def __init__(self, cli, made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cli, self.made, self.tmp, self.monkeypatch = cli, made, tmp_path, monkeypatch
        assert cli("people", "add", self.NAME, "--born", self.BORN, "--sex", "female",
                   pfile=made).code == 0

    def while_minor(self) -> contextlib.AbstractContextManager[None]:
        """Her profile is writable inside this block (she is of age today)."""
        from msante import people as people_module

        @contextlib.contextmanager
        def minor() -> Iterator[None]:
            with self.monkeypatch.context() as m:
                m.setattr(people_module.Person, "read_only", lambda self, today=None: False)
                yield
        return minor()

    def to_own_vault(self) -> dict:
        """Hand her space over, create her vault, merge the archive; what the merge said."""
        out = self.tmp / "j.msh"
        r = self.cli("people", "handover", self.NAME, "--out", out, "--json", pfile=self.made)
        assert r.code == 0, r.err
        (self.tmp / "code").write_text(r.json()["code"])
        os.environ["MSANTE_HOME"] = str(self.tmp / "jeanne-home")
        assert self.cli("init", "--name", self.NAME, "--born", self.BORN, "--sex", "female",
                        "--kdf-memory", "16", "--kdf-iterations", "2", pfile=self.made).code == 0
        m = self.cli("backup", "restore", out, "--merge", "--code-file", self.tmp / "code",
                     "--json", pfile=self.made)
        assert m.code == 0, m.err
        return m.json()


@pytest.fixture
def handover(cli, made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Handover:
    """A grown-up child in the owner's vault, ready to be handed over."""
    return Handover(cli, made, tmp_path, monkeypatch)


@pytest.fixture
def measures(vault: Any) -> Any:
    """The measurements service of the test vault."""
    from msante.measures.service import Measures

    assert isinstance(vault.measures, Measures)
    return vault.measures


@pytest.fixture
def owner(vault: Any) -> Any:
    """The vault's owner, Camille Martin."""
    return vault.people.owner()
