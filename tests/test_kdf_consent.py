"""KDF parameters above the cap but within what earlier versions wrote (issue 11 part 8).

An edited header above the cap is never paid for without consent; a legitimate old vault still
opens with consent (a terminal's yes, or MSANTE_ALLOW_COSTLY_KDF=1); above the old bounds is
refused outright; msante itself never writes parameters above the cap.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante import backup
from msante.errors import ConfirmationRequired, ExitCode, UnsupportedError
from msante.unlock import Sources, obtain_keys
from msante.vault import crypto, header, kdfcost, store
from tests.conftest import PASSPHRASE, run_cli
from tests.helpers_vault import header_json, keys_of, make_vault, write_header_json, write_secret

# The cheapest parameters above the cap: 257 MiB × 2 × 1 lane (about 2 s on the test machine).
OLD = {"memory_kib": 257 * 1024, "iterations": 2, "lanes": 1}
ENV = kdfcost.ALLOW_ENV


@pytest.fixture(autouse=True)
def _no_blanket_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


@pytest.fixture
def cheap_argon(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Argon2id replaced by a recording stand-in whose cost does not depend on the params."""
    calls: list[dict[str, Any]] = []
    from cryptography.hazmat.primitives.kdf import argon2

    real = argon2.Argon2id

    def fake(**kw: Any) -> Any:
        calls.append(kw)
        return real(**{**kw, "memory_cost": 16 * 1024, "iterations": 2, "lanes": 1})
    monkeypatch.setattr(argon2, "Argon2id", fake)  # crypto imports it when it derives
    return calls


def forge_old_vault(home: Path, **kdf: int) -> None:
    """Rewrap the vault key as an earlier version did with `--kdf-memory` above today's cap."""
    keys = keys_of(home)
    params = crypto.KdfParams.new(**kdf)
    head = header.load(home)
    kek = crypto.derive_kek(PASSPHRASE, params)
    aad = store._vault_key_aad(head.vault_id, "passphrase", params.to_json())
    header.save(home, dataclasses.replace(head, kdf=params.to_json(),
                                          wrapped_by_passphrase=crypto.wrap_key(
                                              kek, keys.vault_key, aad)))


@pytest.fixture
def old_vault(home: Path, cheap_argon: list[dict[str, Any]]) -> Iterator[Path]:
    """A vault whose header carries parameters above the cap (forged with the cheap stand-in)."""
    vault, _ = make_vault(home)
    vault.close()
    forge_old_vault(home, **OLD)
    cheap_argon.clear()
    yield home


def test_an_edited_header_above_the_cap_is_never_paid_for_without_consent(
        old_vault: Path, cheap_argon: list[dict[str, Any]]) -> None:
    """No consent (no terminal) and a 'no' on the terminal both refuse before Argon2id runs."""
    with pytest.raises(ConfirmationRequired) as refused:
        store.unlock_with_passphrase(old_vault, PASSPHRASE)
    assert ENV in refused.value.message and "msante passwd" in refused.value.message
    asked: list[str] = []
    with pytest.raises(ConfirmationRequired):
        store.unlock_with_passphrase(old_vault, PASSPHRASE, lambda q: asked.append(q) or False)
    assert cheap_argon == []
    assert "257 MiB" in asked[0]


def test_a_legitimate_old_vault_opens_with_consent(
        old_vault: Path, cheap_argon: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal's yes (through the shared sources) or the environment variable opens it."""
    yes = Sources(stdin=True, stream=io.StringIO(PASSPHRASE + "\n"), confirm=lambda q: True)
    assert obtain_keys(old_vault, yes).vault_id == header.load(old_vault).vault_id
    monkeypatch.setenv(ENV, "1")
    assert store.unlock_with_passphrase(old_vault, PASSPHRASE).vault_id
    assert [c["memory_cost"] for c in cheap_argon] == [OLD["memory_kib"]] * 2


def test_passwd_after_consent_brings_the_cost_down(
        old_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hint's promise: passwd with the defaults leaves no costly parameters behind."""
    monkeypatch.setenv(ENV, "1")
    from msante.api import Vault
    vault = Vault.open(old_vault, store.unlock_with_passphrase(old_vault, PASSPHRASE))
    store.change_passphrase(vault.store, PASSPHRASE)
    vault.close()
    assert not crypto.KdfParams.from_json(header_json(old_vault)["kdf"]).costly


@pytest.mark.parametrize("edit", [{"memory_kib": 1024 * 1024 + 1024}, {"iterations": 11},
                                  {"lanes": 17}], ids=["memory-1GiB+1MiB", "iter-11", "lanes-17"])
def test_above_the_old_bounds_is_refused_outright(
        old_vault: Path, cheap_argon: list[dict[str, Any]], edit: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither consent nor the environment variable lets a header beyond 1 GiB × 10 × 16 run."""
    data = header_json(old_vault)
    data["kdf"] |= edit
    write_header_json(old_vault, data)
    monkeypatch.setenv(ENV, "1")
    with pytest.raises(UnsupportedError):
        store.unlock_with_passphrase(old_vault, PASSPHRASE, lambda q: True)
    assert cheap_argon == []


@pytest.mark.parametrize("kdf", [{"memory_kib": 512 * 1024}, {"memory_kib": 128 * 1024,
                                                                "iterations": 7}])
def test_msante_never_writes_parameters_above_the_cap(
        old_vault: Path, cheap_argon: list[dict[str, Any]], kdf: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """init, passwd and rotation all wrap through wrap_for_passphrase: it refuses them."""
    monkeypatch.setenv(ENV, "1")
    with pytest.raises(UnsupportedError):
        store.wrap_for_passphrase("v", bytes(32), PASSPHRASE, crypto.KdfParams.new(**kdf))
    with pytest.raises(UnsupportedError):
        store.create(old_vault.parent / "other", PASSPHRASE, crypto.KdfParams.new(**kdf))
    assert cheap_argon == []


def test_a_backup_with_costly_parameters_asks_too(
        old_vault: Path, cheap_argon: list[dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """backup restore reads the backup's own header: the same consent applies."""
    monkeypatch.setenv(ENV, "1")
    from msante.api import Vault
    vault = Vault.open(old_vault, store.unlock_with_passphrase(old_vault, PASSPHRASE))
    backup.create(vault.store, tmp_path / "b.msb")
    vault.close()
    monkeypatch.delenv(ENV)
    cheap_argon.clear()
    with (tmp_path / "b.msb").open("rb") as src:
        env = backup.open_envelope(src)
    with pytest.raises(ConfirmationRequired):
        backup.unlock_backup(env, lambda: PASSPHRASE, None)
    assert cheap_argon == []
    assert backup.unlock_backup(env, lambda: PASSPHRASE, None, lambda q: True).vault_id


def test_the_cli_without_a_terminal_refuses_then_opens_when_allowed(
        home: Path, tmp_path: Path) -> None:
    """Real Argon2id (257 MiB × 2): exit 2 naming the variable and passwd; with it, exit 0."""
    vault, _ = make_vault(home)
    vault.close()
    forge_old_vault(home, **OLD)
    env = {"MSANTE_HOME": str(home),
           "MSANTE_PASSPHRASE_FILE": str(write_secret(tmp_path / "p", PASSPHRASE))}
    refused = run_cli("audit", "verify", env_extra=env)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    assert ENV in refused.stderr and "msante passwd" in refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = run_cli("audit", "verify", env_extra=env | {ENV: "1"})
    assert allowed.returncode == ExitCode.OK, allowed.stderr


@pytest.mark.parametrize(("answer", "code", "derived"), [("y\n", ExitCode.OK, 1),
                                                         ("n\n", ExitCode.USAGE, 0)])
def test_the_cli_on_a_terminal_states_the_cost_and_asks(
        cli: Any, old_vault: Path, cheap_argon: list[dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, answer: str, code: int, derived: int) -> None:
    """On a terminal: the memory and rough time, a [y/N] question; no means nothing is paid."""
    from msante.cli import session

    monkeypatch.setattr(session, "is_terminal", lambda: True)
    result = cli("people", "list", stdin=answer, pfile=write_secret(tmp_path / "p", PASSPHRASE))
    assert result.code == code, result.err
    assert "257 MiB" in result.err and "[y/N]" in result.err and "msante passwd" in result.err
    assert len(cheap_argon) == derived
