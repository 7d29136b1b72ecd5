"""Claims of docs/security.md that no other test attacked (issue 11 part 8, one test each)."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from msante.errors import ExitCode, UsageError
from msante.formats import ics
from msante.vault import crypto
from msante.vault.blobs import BlobStore
from tests.helpers_vault import header_json, keys_of

MIB = 1 << 20


def test_status_without_a_key_never_shows_the_kdf_salt(cli: Any, made: Path, home: Path) -> None:
    """'msante status prints, without a key, … KDF parameters (not the salt)'."""
    salt = header_json(home)["kdf"]["salt"]
    result = cli("status", "--json")
    assert result.code == ExitCode.OK, result.err
    assert salt not in result.out + result.err
    assert result.json()["kdf"]["memory_kib"] == 16 * 1024  # type: ignore[index]


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 7])
def test_a_blob_size_tells_the_plaintext_size_plus_16_plus_16_per_mib(
        tmp_path: Path, size: int) -> None:
    """'each one's size (plaintext size + 16 + 16 per MiB)': nothing else leaks by size."""
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put("0123456789abcdef", crypto.random_key(), b"aad", io.BytesIO(b"x" * size))
    segments = max(1, math.ceil(size / MIB))
    assert blobs.path("0123456789abcdef").stat().st_size == size + 16 + 16 * segments


def test_commands_harden_themselves_before_obtaining_the_key(
        cli: Any, made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'Before obtaining it they harden themselves the same way' (session.keys)."""
    from msante.cli import session
    from msante.vault import hardening

    order: list[str] = []
    real_obtain = session.obtain_keys
    monkeypatch.setattr(hardening, "protect_process", lambda: order.append("harden"))
    monkeypatch.setattr(session, "obtain_keys",
                        lambda *a, **k: order.append("key") or real_obtain(*a, **k))
    assert cli("doc", "list", pfile=made).code == ExitCode.OK
    assert order[:2] == ["harden", "key"]


@pytest.mark.skipif(sys.platform != "linux", reason="prctl(PR_GET_DUMPABLE)")
def test_hardening_sets_no_core_and_not_dumpable() -> None:
    """'RLIMIT_CORE = 0 and, on Linux, PR_SET_DUMPABLE = 0', read back from the process."""
    code = ("import ctypes, resource\n"
            "from msante.vault.hardening import protect_process\n"
            "protect_process()\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "print(resource.getrlimit(resource.RLIMIT_CORE), libc.prctl(3, 0, 0, 0, 0))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["(0,", "0)", "0"]


@pytest.mark.parametrize("command", [["unlock", "--timeout", "1m"], ["passwd"]])
def test_unlock_and_passwd_never_take_the_key_from_the_agent(
        cli: Any, made: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
        command: list[str]) -> None:
    """'unlock and passwd never take the key from the agent: they check the passphrase'.
    An agent that would hand out the key serves `doc list`, never these two."""
    from msante import unlock

    asked: list[Path] = []
    keys = keys_of(home)

    def agent(base: Path, **kw: Any) -> Any:
        asked.append(base)
        return keys
    monkeypatch.setattr(unlock, "keys_from_agent", agent)
    assert cli("doc", "list").code == ExitCode.OK and asked  # the control: the agent serves
    asked.clear()
    result = cli(*command)
    assert result.code == ExitCode.LOCKED, result.err
    assert asked == []


def test_a_calendar_above_20_mb_is_refused_before_parsing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """'An imported .ics file … at most 20 MB': refused before the parser sees it."""
    parsed: list[bytes] = []
    monkeypatch.setattr(ics, "decode", lambda data: parsed.append(data) or "")
    with pytest.raises(UsageError):
        ics.read(b" " * (20 * MIB + 1), "Europe/Paris")
    assert parsed == []


def test_close_overwrites_the_header_and_database_in_place_before_removing_them(
        home: Path, tmp_path: Path) -> None:
    """'msante close overwrites vault.json … and then vault.db, -wal, -shm with random bytes':
    a hard link made beforehand sees the same inode, so it shows what was left on it."""
    from msante.vault import store
    from tests.helpers_vault import make_vault

    vault, _ = make_vault(home)
    vault.close()
    links = {}
    for name in ("vault.json", "vault.db"):
        links[name] = tmp_path / f"link-{name}"
        links[name].hardlink_to(home / name)
    before = {name: link.read_bytes() for name, link in links.items()}
    store.wipe(home)
    assert not home.exists()
    for name, link in links.items():
        after = link.read_bytes()
        assert len(after) == len(before[name]) and after != before[name], name
        assert b"wrapped" not in after and b"SQLite" not in after[:16], name


def test_archive_members_are_regular_files_with_mode_0600(home: Path, tmp_path: Path) -> None:
    """docs/formats.md: 'members are regular files with mode 0600' (read back decrypted)."""
    import base64

    from msante import backup
    from msante.formats import archive
    from tests.helpers_vault import make_vault

    vault, _ = make_vault(home)
    backup.create(vault.store, tmp_path / "b.msb")
    keys = vault.store.keys
    vault.close()
    with (tmp_path / "b.msb").open("rb") as src:
        env = backup.open_envelope(src)
        key = crypto.unwrap_key(
            keys.derive("backup-wrap"), base64.b64decode(env.data["archive_key"]),
            backup._archive_key_aad(keys.vault_id, env.data["archive_id"]))
        with archive.reader(src, env, key) as tar:
            members = [(m.name, m.isfile(), m.mode) for m in tar]
    assert members and all(isfile and mode == 0o600 for _, isfile, mode in members), members


def test_agenda_audit_entries_never_hold_the_title_the_place_or_the_person_met(
        cli: Any, made: Path) -> None:
    """'audit entries name the record, never the title or the place' (add, edit, remove)."""
    secret = ("Psychiatre Quintessence", "Clinique Zéphyrine", "Dr Ombrelune")
    r = cli("agenda", "add", secret[0], "--at", "2030-12-03 14:30", "--where", secret[1],
            "--with", secret[2], "--json", pfile=made)
    assert r.code == ExitCode.OK, r.err
    item = str(r.json()["id"])  # type: ignore[index]
    assert cli("agenda", "edit", item, "--where", secret[1] + " bis", pfile=made).code == 0
    assert cli("agenda", "remove", item, pfile=made).code == 0
    history = cli("audit", "list", "--json", pfile=made)
    assert history.code == ExitCode.OK
    actions = [str(e["action"]) for e in history.json()]  # type: ignore[union-attr,index]
    assert sum(a.startswith("agenda.") or a.startswith("appointment.") for a in actions) >= 3
    assert not any(word in history.out for word in secret)


def test_recover_refuses_a_weak_new_passphrase_and_changes_nothing(
        cli: Any, made: Path, home: Path, tmp_path: Path) -> None:
    """'New passphrases are checked (check_strength) at init, passwd and recover'."""
    weak = tmp_path / "weak"
    weak.write_text("motdepasse123456\n")
    before = (home / "vault.json").read_bytes()
    result = cli("recover", "--recovery-key-file", str(made.parent / "rk"),
                 "--new-passphrase-file", str(weak))
    assert result.code == ExitCode.USAGE, result.err
    assert (home / "vault.json").read_bytes() == before


@pytest.mark.parametrize(("section", "data", "edit"), [
    ("trusted-person", {"name": "Paul Quenouille", "relation": "frère"}, {"relation": "ami"}),
    ("lifestyle", {"topic": "activity", "text": "Marche Quenouille"}, {"text": "Nage Quenouille"}),
])
def test_removing_a_trusted_person_or_a_habit_erases_it_and_its_earlier_versions(
        vault: Any, section: str, data: dict[str, str], edit: dict[str, str]) -> None:
    """'Removing a trusted person or a habit erases the content and its earlier versions'."""
    owner = vault.people.owner()
    entry = vault.profile.add(owner, section, data)
    vault.profile.edit(entry.id, edit, revision=entry.revision)
    vault.profile.remove(entry.id)
    conn = vault.store.conn
    rows = conn.execute("SELECT data FROM profile_entries WHERE id = ?", (entry.id,)).fetchall()
    rows += conn.execute("SELECT data FROM profile_history WHERE entry = ?",
                         (entry.id,)).fetchall()
    assert rows and not any("Quenouille" in str(r[0]) or "frère" in str(r[0]) for r in rows)


def test_after_plain_passwd_an_old_header_and_the_old_passphrase_still_open_the_vault(
        home: Path) -> None:
    """The limit the passwd/rotation table states: plain passwd leaves the vault key as it was,
    so an old vault.json (or backup) plus the old passphrase opens the current vault."""
    from msante.api import Vault
    from msante.vault import header, store
    from tests.conftest import PASSPHRASE
    from tests.helpers_vault import make_vault

    vault, _ = make_vault(home)
    old_header = (home / "vault.json").read_bytes()
    store.change_passphrase(vault.store, "quiet meadow copper violin 19")
    vault.people.add("Added Later", "2015-01-01", "male")
    vault.close()
    keys = store.keys_from_passphrase(header.parse(old_header), PASSPHRASE)
    with Vault.open(home, keys) as current:
        assert "Added Later" in {p.name for p in current.people.list()}


def test_the_agent_socket_is_named_by_the_vaults_real_path(home: Path, tmp_path: Path) -> None:
    """'agent-<first 24 hex digits of SHA-256(real path of the vault)>.sock', one per vault:
    a symlink to the vault finds the same socket, another vault another one."""
    import hashlib

    from msante import paths

    home.mkdir(parents=True, exist_ok=True)
    link = tmp_path / "link"
    link.symlink_to(home)
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:24]
    assert paths.agent_socket(home).name == f"agent-{digest}.sock"
    assert paths.agent_socket(link) == paths.agent_socket(home)
    assert paths.agent_socket(tmp_path / "other") != paths.agent_socket(home)
