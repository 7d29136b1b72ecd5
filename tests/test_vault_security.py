"""Attacks on the vault's security claims (DESIGN.md: Keys, The vault on disk, Contracts).

Each test plays an attacker (or an unlucky user) against one promise: wrong or swapped keys,
edited KDF parameters, tampered files, leaked plaintext, loose file modes, secrets in argv or
the environment, weak passphrases, passphrase changes and backups that must fail closed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import struct
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante import backup, paths
from msante.api import Vault
from msante.errors import (
    ExitCode,
    IntegrityError,
    UnsupportedError,
    UsageError,
    WrongKeyError,
)
from msante.formats import archive
from msante.text import fold
from msante.vault import crypto, db, files, identity, spaces, store
from tests.conftest import INIT, PASSPHRASE, run_cli
from tests.helpers_vault import (
    fast_params,
    flip_byte,
    header_json,
    keys_of,
    make_vault,
    tree_bytes,
    vault_files,
    write_header_json,
    write_secret,
)

WRONG = "this is not the passphrase 42"
NEW_PASSPHRASE = "quiet meadow copper violin 19"


@pytest.fixture
def made(home: Path) -> Iterator[tuple[Vault, str]]:
    """A vault and its recovery key; closed afterwards."""
    vault, recovery = make_vault(home)
    yield vault, recovery
    vault.close()


@pytest.fixture
def pfile(tmp_path: Path) -> Path:
    """A private file holding the right passphrase."""
    return write_secret(tmp_path / "right.pass", PASSPHRASE)


def _verify_cli(home: Path, passphrase_file: Path) -> Any:
    return run_cli("audit", "verify",
                   env_extra={"MSANTE_HOME": str(home),
                              "MSANTE_PASSPHRASE_FILE": str(passphrase_file)})


def _assert_clean_failure(result: Any, code: ExitCode) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Internal error" not in result.stderr


# --- wrong keys ------------------------------------------------------------------------------

def test_wrong_passphrase_is_refused_and_changes_nothing(
        made: tuple[Vault, str], home: Path, tmp_path: Path) -> None:
    """A wrong passphrase must fail with WrongKeyError (exit 4) and leave every byte alone:
    a failed unlock that rewrote the header or touched the database would be a way to
    corrupt a vault without knowing anything."""
    made[0].close()
    before = tree_bytes(home)
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, WRONG)
    result = _verify_cli(home, write_secret(tmp_path / "wrong.pass", WRONG))
    _assert_clean_failure(result, ExitCode.WRONG_KEY)
    assert "Wrong passphrase" in result.stderr
    assert tree_bytes(home) == before


def test_wrong_recovery_key_is_refused(made: tuple[Vault, str], home: Path) -> None:
    """A well-formed recovery key of another vault must not open this one (WrongKeyError);
    the right one, typed in lower case with spaces, must."""
    _vault, recovery = made
    other_key, _secret = crypto.new_recovery_key()
    with pytest.raises(WrongKeyError):
        store.unlock_with_recovery(home, other_key)
    sloppy = recovery.lower().replace("-", " ")
    assert store.unlock_with_recovery(home, sloppy).vault_key == made[0].store.keys.vault_key


FIXED_SECRET = bytes(range(20))


def test_recovery_key_with_a_typo_is_a_usage_error(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One mistyped character of a recovery key must be caught by its checksum (UsageError,
    exit 2: "check for a typo"), not reported as a wrong key. The recovery key is pinned so
    that the typo is known to break the 16-bit checksum (no 1-in-65536 flake)."""
    text = crypto._recovery_text(FIXED_SECRET)
    monkeypatch.setattr(crypto, "new_recovery_key", lambda: (text, FIXED_SECRET))
    vault, recovery = make_vault(home)
    vault.close()
    assert recovery == text
    first = "1" if text[0] != "1" else "2"
    typo = first + text[1:]
    with pytest.raises(UsageError):
        crypto.parse_recovery_key(typo)  # the pinned typo does break the checksum
    with pytest.raises(UsageError):
        store.unlock_with_recovery(home, typo)
    before = vault_files(home)
    result = run_cli("recover", "--recovery-key-file", str(write_secret(tmp_path / "rk", typo)),
                     "--new-passphrase-file", str(write_secret(tmp_path / "np", NEW_PASSPHRASE)))
    _assert_clean_failure(result, ExitCode.USAGE)
    assert "typo" in result.stderr
    assert vault_files(home) == before
    assert store.unlock_with_recovery(home, text).vault_id == vault.store.keys.vault_id


# --- KDF parameters read from the header ---------------------------------------------------

OUT_OF_BOUNDS = [
    pytest.param({"memory_kib": 8 * 1024}, id="memory-8MiB"),
    pytest.param({"memory_kib": 2 * 1024 * 1024}, id="memory-2GiB"),
    pytest.param({"iterations": 1}, id="iterations-1"),
    pytest.param({"iterations": 11}, id="iterations-11"),
    pytest.param({"lanes": 0}, id="lanes-0"),
    pytest.param({"lanes": 17}, id="lanes-17"),
    pytest.param({"iterations": True}, id="iterations-bool"),
    pytest.param({"memory_kib": "16384"}, id="memory-string"),
    pytest.param({"alg": "argon2i"}, id="alg-argon2i"),
    pytest.param({"salt": base64.b64encode(b"short").decode()}, id="salt-short"),
    pytest.param({"extra": 1}, id="unknown-key"),
]


@pytest.mark.parametrize("edit", OUT_OF_BOUNDS)
def test_kdf_parameters_out_of_bounds_are_refused_before_deriving(
        made: tuple[Vault, str], home: Path, edit: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """KDF parameters come from a plaintext file an attacker can edit: too weak ones would
    make brute force cheap, too strong ones a denial of service (2 GiB of RAM). They must be
    refused with UnsupportedError before Argon2id is ever run."""
    data = header_json(home)
    data["kdf"] |= edit
    write_header_json(home, data)
    calls: list[object] = []
    from cryptography.hazmat.primitives.kdf import argon2

    monkeypatch.setattr(argon2, "Argon2id", lambda **kw: calls.append(kw))
    with pytest.raises(UnsupportedError):
        store.unlock_with_passphrase(home, PASSPHRASE)
    assert calls == []


@pytest.mark.parametrize("memory_kib", [8 * 1024, 2 * 1024 * 1024])
def test_kdf_out_of_bounds_exit_6_from_the_cli(
        made: tuple[Vault, str], home: Path, pfile: Path, memory_kib: int) -> None:
    """The same refusal through the CLI: exit 6 (integrity/unsupported), one clean line."""
    data = header_json(home)
    data["kdf"]["memory_kib"] = memory_kib
    write_header_json(home, data)
    result = _verify_cli(home, pfile)
    _assert_clean_failure(result, ExitCode.INTEGRITY)
    assert "memory_kib" in result.stderr


@pytest.mark.parametrize("edit", [{"memory_kib": 32 * 1024}, {"iterations": 3},
                                  {"lanes": 1}], ids=["memory-32MiB", "iterations-3", "lanes-1"])
def test_kdf_parameters_changed_within_bounds_make_the_passphrase_fail(
        made: tuple[Vault, str], home: Path, edit: dict[str, Any]) -> None:
    """Parameters edited within the bounds must not open the vault (WrongKeyError)."""
    data = header_json(home)
    data["kdf"] |= edit
    write_header_json(home, data)
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)


def test_kdf_parameters_are_bound_as_associated_data(
        made: tuple[Vault, str], home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if the edited parameters produced the very same KEK, the wrapped vault key must
    not unwrap: the parameters are part of its associated data. We force the KEK to be the
    real one whatever the parameters say, so only the binding can refuse."""
    real_kek = crypto.derive_kek(PASSPHRASE, crypto.KdfParams.from_json(header_json(home)["kdf"]))
    monkeypatch.setattr(crypto, "derive_kek", lambda passphrase, params: real_kek)
    assert store.unlock_with_passphrase(home, PASSPHRASE).vault_id  # the control opens
    data = header_json(home)
    data["kdf"]["memory_kib"] = 32 * 1024
    write_header_json(home, data)
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)


def test_non_canonical_salt_text_is_bound_too(made: tuple[Vault, str], home: Path) -> None:
    """A salt written with other base64 padding bits decodes to the same bytes (same KEK),
    yet the header text differs: the binding must still refuse it."""
    data = header_json(home)
    salt = data["kdf"]["salt"]
    assert salt.endswith("==")  # 16 bytes: the last character carries 4 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = salt[:-3] + alphabet[alphabet.index(salt[-3]) ^ 1] + "=="
    assert base64.b64decode(twin) == base64.b64decode(salt) and twin != salt
    data["kdf"]["salt"] = twin
    write_header_json(home, data)
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)


# --- swapped keys ----------------------------------------------------------------------------

def test_recovery_wrapped_key_in_the_passphrase_slot_fails(
        made: tuple[Vault, str], home: Path) -> None:
    """Moving the recovery-wrapped vault key into the passphrase slot must not help."""
    data = header_json(home)
    data["keys"]["passphrase"] = data["keys"]["recovery"]
    write_header_json(home, data)
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)


@pytest.fixture
def two_vaults(home: Path) -> Iterator[tuple[Path, Path]]:
    """Two vaults with the same passphrase, closed; (home A, home B)."""
    other = home.parent / "other"
    for base in (home, other):
        vault, _rk = make_vault(base)
        vault.close()
    yield home, other


def test_swapped_vault_ids_fail(two_vaults: tuple[Path, Path]) -> None:
    """The vault id is in the associated data of the wrapped keys: exchanging the ids of two
    headers (same passphrase!) must make both unlocks fail."""
    a, b = two_vaults
    ha, hb = header_json(a), header_json(b)
    ha["vault_id"], hb["vault_id"] = hb["vault_id"], ha["vault_id"]
    write_header_json(a, ha)
    write_header_json(b, hb)
    for base in (a, b):
        with pytest.raises(WrongKeyError):
            store.unlock_with_passphrase(base, PASSPHRASE)


def test_another_vaults_header_or_database_is_refused(
        two_vaults: tuple[Path, Path], pfile: Path) -> None:
    """Putting vault B's header (or database) next to vault A's other file must not open:
    the database key comes from the header's vault key and meta.vault_id is checked."""
    a, b = two_vaults
    keys_a = keys_of(a)
    own_header = paths.header_path(a).read_bytes()
    shutil.copy(paths.header_path(b), paths.header_path(a))
    with pytest.raises(IntegrityError):
        Vault.open(a, keys_of(a))  # a's header now unlocks to B's keys: A's db refuses them
    _assert_clean_failure(_verify_cli(a, pfile), ExitCode.INTEGRITY)
    paths.header_path(a).write_bytes(own_header)
    shutil.copy(paths.db_path(b), paths.db_path(a))
    with pytest.raises(IntegrityError):
        Vault.open(a, keys_a)
    _assert_clean_failure(_verify_cli(a, pfile), ExitCode.INTEGRITY)


def test_swapped_space_keys_fail_to_unwrap(made: tuple[Vault, str]) -> None:
    """Each space key is wrapped with its space id as associated data: exchanging two
    people's wrapped keys in the table must raise DecryptError, not hand out the other
    person's key. Replaying a key under another key version fails the same way."""
    vault, _rk = made
    leo = vault.people.add("Léo Martin", "2019-04-27", "male")
    zoe = vault.people.add("Zoé Martin", "2021-09-01", "female")
    conn, keys = vault.store.conn, vault.store.keys
    assert len(spaces.key(conn, keys, leo.id)) == 32
    rows = dict(conn.execute("SELECT id, wrapped_key FROM spaces").fetchall())
    conn.execute("UPDATE spaces SET wrapped_key = ? WHERE id = ?", (rows[zoe.id], leo.id))
    conn.execute("UPDATE spaces SET wrapped_key = ? WHERE id = ?", (rows[leo.id], zoe.id))
    for pid in (leo.id, zoe.id):
        with pytest.raises(crypto.DecryptError):
            spaces.key(conn, keys, pid)
    conn.execute("UPDATE spaces SET wrapped_key = ?, key_version = 2 WHERE id = ?",
                 (rows[leo.id], leo.id))
    with pytest.raises(crypto.DecryptError):
        spaces.key(conn, keys, leo.id)


def test_identity_private_key_copied_to_another_space_fails(made: tuple[Vault, str]) -> None:
    """An identity's private halves are wrapped by their space key and bound to space id and
    kind: one copied to another space, or the X25519 half swapped with the Ed25519 half, must
    not unwrap."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import x25519

    vault, _rk = made
    leo = vault.people.add("Léo Martin", "2019-04-27", "male")
    zoe = vault.people.add("Zoé Martin", "2021-09-01", "female")
    conn, keys = vault.store.conn, vault.store.keys
    row = conn.execute("SELECT x25519_public, x25519_private, ed25519_private FROM identities "
                       "WHERE space = ?", (leo.id,)).fetchone()
    x_pub, x_priv, e_priv = bytes(row[0]), bytes(row[1]), bytes(row[2])
    leo_key, zoe_key = spaces.key(conn, keys, leo.id), spaces.key(conn, keys, zoe.id)
    raw = crypto.unwrap_key(leo_key, x_priv, identity._aad(leo.id, "x25519"))  # control
    public = x25519.X25519PrivateKey.from_private_bytes(raw).public_key()
    assert public.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw) == x_pub
    conn.execute("UPDATE identities SET x25519_private = ? WHERE space = ?", (x_priv, zoe.id))
    copied = bytes(conn.execute("SELECT x25519_private FROM identities WHERE space = ?",
                                (zoe.id,)).fetchone()[0])
    for key, aad in [(zoe_key, identity._aad(zoe.id, "x25519")),  # as Zoé's
                     (leo_key, identity._aad(zoe.id, "x25519")),  # even with Léo's key
                     (zoe_key, identity._aad(leo.id, "x25519"))]:
        with pytest.raises(crypto.DecryptError):
            crypto.unwrap_key(key, copied, aad)
    with pytest.raises(crypto.DecryptError):
        crypto.unwrap_key(leo_key, e_priv, identity._aad(leo.id, "x25519"))


# --- no plaintext on disk ----------------------------------------------------------------------

PEOPLE = [("Zéphyrine Quatremaine", "2016-03-14", "female", "child"),
          ("Barnabé Ouvrard-Létang", "1950-11-30", "male", "other")]


def _variants(text: str) -> set[bytes]:
    forms = {text, unicodedata.normalize("NFD", text), fold(text), text.upper(), text.lower()}
    out = set()
    for form in forms:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            out.add(form.encode(encoding))
    return out


def test_no_plaintext_anywhere_under_home_or_in_a_backup(
        made: tuple[Vault, str], home: Path, tmp_path: Path) -> None:
    """Names, birth dates, the passphrase, the recovery key and every key must never appear
    in clear in any file of the vault or of its backup — whether the WAL is still there
    (vault open) or folded into vault.db (closed)."""
    vault, recovery = made
    for name, born, sex, relation in PEOPLE:
        vault.people.add(name, born, sex, relation)
    out = tmp_path / "backup.msb"
    backup.create(vault.store, out)
    keys = vault.store.keys
    needles: dict[bytes, str] = {}
    for text in ["Camille Martin", "Zéphyrine", "Quatremaine", "Barnabé", "Ouvrard-Létang",
                 "Zephyrine", "2016-03-14", "1950-11-30", "1985-06-02", PASSPHRASE,
                 recovery, recovery.replace("-", "")] + [p[0] for p in PEOPLE]:
        needles |= dict.fromkeys(_variants(text), text)
    for label in ("vault", "sqlcipher", "audit-mac", "header-mac", "space-wrap", "backup-wrap"):
        key = keys.vault_key if label == "vault" else keys.derive(label)
        for form in (key, key.hex().encode(), key.hex().upper().encode(),
                     base64.b64encode(key), key.hex().encode("utf-16-le")):
            needles[form] = f"key {label}"

    def scan() -> list[tuple[str, str]]:
        found = []
        files = [p for p in home.rglob("*") if p.is_file()] + [out]
        for path in files:
            data = path.read_bytes()
            found += [(path.name, what) for needle, what in needles.items() if needle in data]
        return found

    assert (home / "vault.db-wal").exists()
    assert scan() == []
    vault.close()
    assert scan() == []


# --- file modes ---------------------------------------------------------------------------------

@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most careless umask (0): every mode must come from msante itself."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_file_modes_are_private_even_with_umask_0(
        home: Path, tmp_path: Path, pfile: Path) -> None:
    """Directory 0700, files 0600 (DESIGN: The vault on disk): home, blobs/, vault.json,
    vault.db and its -wal/-shm, lock files, the backup file and the recovery key file —
    whatever the umask of the person who runs msante."""
    rk = tmp_path / "recovery.txt"
    result = run_cli("init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex",
                     "female", "--kdf-memory", "16", "--kdf-iterations", "2",
                     "--recovery-key-file", str(rk), "--passphrase-stdin", input=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "backup.msb"
    result = run_cli("backup", "create", "--out", str(out),
                     env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    assert result.returncode == 0, result.stderr
    vault = Vault.open(home, keys_of(home))  # open: the -wal and -shm files exist now
    try:
        vault.people.add("Léo Martin", "2019-04-27", "male")
        assert (home / "vault.db-wal").exists()
        modes = {str(p.relative_to(home)): stat.S_IMODE(p.stat().st_mode)
                 for p in home.rglob("*")}
    finally:
        vault.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert modes["blobs"] == 0o700
    for name in ("vault.json", "vault.db", "vault.db-wal", "vault.db-shm", "vault.lock"):
        assert modes.get(name) == 0o600, (name, oct(modes.get(name, 0)))
    loose = {name: oct(mode) for name, mode in modes.items()
             if mode != (0o700 if (home / name).is_dir() else 0o600)}
    assert loose == {}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(rk.stat().st_mode) == 0o600
    assert store.unlock_with_recovery(home, rk.read_text()).vault_id


@pytest.mark.usefixtures("open_umask")
def test_everything_msante_creates_is_private_with_umask_0(
        tmp_path: Path, pfile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `umask 000`: the parent folders `init` makes are 0700 (they were 0777), the
    backup's snapshot and its -wal/-shm (they were 0644), the pending-blob journal, the
    outputs journal and every export are 0600."""
    from tests import pdfgen

    home = tmp_path / "deep" / "er" / "home"
    env = {"MSANTE_HOME": str(home), "MSANTE_PASSPHRASE_FILE": str(pfile)}
    assert run_cli(*INIT, env_extra=env).returncode == 0
    for folder in (tmp_path / "deep", tmp_path / "deep" / "er", home):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    pdf = tmp_path / "lab.pdf"
    pdf.write_bytes(pdfgen.lab_report())
    assert run_cli("doc", "import", str(pdf), env_extra=env).returncode == 0
    seen: dict[str, tuple[bool, int]] = {}
    real_connect = db.connect

    def spy(path: Path, key: bytes, **kw: Any) -> Any:
        conn = real_connect(path, key, **kw)  # the snapshot's: its -wal/-shm exist while open
        conn.execute("CREATE TABLE IF NOT EXISTS spy (x)")
        for p in home.rglob("*"):
            seen[str(p.relative_to(home))] = (p.is_dir(), stat.S_IMODE(p.stat().st_mode))
        conn.execute("DROP TABLE spy")
        return conn

    monkeypatch.setattr(backup.db, "connect", spy)
    with Vault.open(home, keys_of(home)) as vault:
        backup.create(vault.store, tmp_path / "b.msb")
        journal = files.PendingBlobs(vault.store)
        journal.add("0" * 32)
        seen["pending journal"] = (False, stat.S_IMODE(journal.path.stat().st_mode))
        journal.clear()
    assert any(name.endswith("vault.db-wal") and ".tmp-backup" in name for name in seen)
    loose = {name: oct(mode) for name, (is_dir, mode) in seen.items()
             if mode != (0o700 if is_dir else 0o600)}
    assert loose == {}
    assert stat.S_IMODE((tmp_path / "b.msb").stat().st_mode) == 0o600


# --- secrets never in argv or the environment --------------------------------------------------

@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_agent_has_no_secret_in_argv_or_environment(
        vault: Vault, home: Path, pfile: Path) -> None:
    """`msante unlock` hands the key to the agent through a pipe: the agent's command line
    and environment (readable in /proc) must hold neither the passphrase, nor the key, nor
    even the variable naming the passphrase file."""
    from msante.vault import agent

    result = run_cli("unlock", "--timeout", "2m",
                     env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    assert result.returncode == 0, result.stderr
    info = agent.status(home)
    assert info is not None
    pid = int(info["pid"])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    key = vault.store.keys.vault_key
    for blob in (cmdline, environ):
        assert PASSPHRASE.encode() not in blob
        assert key.hex().encode() not in blob and base64.b64encode(key) not in blob
        assert b"MSANTE_PASSPHRASE_FILE" not in blob
    assert agent.stop_agent(home)


MEDICAL_CODES = [(f"msante profile {c}", ["--code"]) for c in ("add", "edit")]


def test_no_option_takes_a_passphrase_value() -> None:
    """Passphrases never go through argv: no command has an option that takes a passphrase
    (or a recovery key or code) as its value; only flags and *-file options exist."""
    import typer

    from msante.cli import app as app_module

    root = app_module.build([]) if hasattr(app_module, "build") else app_module.app
    secretish: set[str] = set()

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            names = [n for n in param.opts + param.secondary_opts if n.startswith("--")]
            if (path, names) in MEDICAL_CODES:  # a SNOMED or ATC code, not a secret
                continue
            if any(w in n for n in names for w in ("pass", "key", "code", "secret", "token")):
                secretish.update(names)
                assert param.is_flag or all(n.endswith("-file") for n in names), (path, names)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(root), "msante")
    assert secretish == {"--new-passphrase-file", "--recovery-key-file", "--code-file",
                         "--password-file", "--recovery-key-from-file",
                         "--rotate-keys"}  # the last one is a flag
    helped = run_cli("--help")
    assert helped.returncode == 0 and "--passphrase-stdin" in helped.stdout
    refused = run_cli("audit", "verify", "--passphrase", PASSPHRASE)
    assert refused.returncode == ExitCode.USAGE
    assert "No such option" in refused.stderr


def test_init_reads_the_passphrase_from_stdin(home: Path) -> None:
    """`--passphrase-stdin` is the scripted way in; the vault opens with what was piped."""
    result = run_cli("init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex",
                     "female", "--kdf-memory", "16", "--kdf-iterations", "2", "--json",
                     "--passphrase-stdin", input=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    assert PASSPHRASE not in result.stdout + result.stderr
    assert keys_of(home).vault_id == header_json(home)["vault_id"]


# --- a tampered database -------------------------------------------------------------------------

def _page_of_table(vault: Vault, table: str) -> int:
    row = vault.store.conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                                   (table,)).fetchone()
    return int(row[0])


def test_tampered_first_page_is_an_integrity_error(
        made: tuple[Vault, str], home: Path, pfile: Path) -> None:
    """A byte flipped in vault.db's first page: the database does not authenticate, the
    CLI says so with exit 6 and no traceback."""
    vault, _rk = made
    vault.close()
    flip_byte(paths.db_path(home), 2000)
    with pytest.raises(IntegrityError):
        Vault.open(home, keys_of(home))
    _assert_clean_failure(_verify_cli(home, pfile), ExitCode.INTEGRITY)


def test_tampered_page_in_the_middle_is_an_integrity_error(
        made: tuple[Vault, str], home: Path, pfile: Path) -> None:
    """A byte flipped in the middle of the audit table's page (read by every verify): the
    read must raise IntegrityError — exit 6 from `msante audit verify` — never an internal
    error or a traceback."""
    vault, _rk = made
    for n in range(6):
        vault.people.add(f"Person {n}", "2010-01-01", "male")
    page = _page_of_table(vault, "audit")
    assert page > 1
    vault.close()
    flip_byte(paths.db_path(home), (page - 1) * 4096 + 2048)
    _assert_clean_failure(_verify_cli(home, pfile), ExitCode.INTEGRITY)
    with pytest.raises(IntegrityError):
        with Vault.open(home, keys_of(home)) as reopened:
            reopened.audit.verify()


def test_every_tampered_page_is_an_integrity_error_or_unread(
        made: tuple[Vault, str], home: Path) -> None:
    """Flip one byte in each page in turn: opening, verifying and listing must either raise
    IntegrityError or (for a page they never read) succeed — never any other exception."""
    vault, _rk = made
    for n in range(4):
        vault.people.add(f"Person {n}", "2010-01-01", "male")
    keys = vault.store.keys
    vault.close()
    db_file = paths.db_path(home)
    original = db_file.read_bytes()
    outcomes: dict[int, str] = {}
    for page in range(len(original) // 4096):
        db_file.write_bytes(original)
        flip_byte(db_file, page * 4096 + 2048)
        try:
            with Vault.open(home, keys) as v:
                v.audit.verify()
                v.people.list()
            outcomes[page + 1] = "unread"
        except IntegrityError:
            outcomes[page + 1] = "integrity"
        except Exception as exc:  # what must never happen
            outcomes[page + 1] = f"{type(exc).__module__}.{type(exc).__name__}"
    db_file.write_bytes(original)
    assert set(outcomes.values()) <= {"integrity", "unread"}, outcomes
    assert outcomes[1] == "integrity"


def test_tampered_database_error_is_one_line_on_stderr(
        made: tuple[Vault, str], home: Path, pfile: Path) -> None:
    """Contracts: an expected failure is one translated line on stderr — not that line plus
    the SQLCipher library's internal log."""
    made[0].close()
    flip_byte(paths.db_path(home), 2000)
    result = _verify_cli(home, pfile)
    assert result.returncode == ExitCode.INTEGRITY
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- weak passphrases ----------------------------------------------------------------------------

def _init_with(passphrase: str) -> Any:
    return run_cli("init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex", "female",
                   "--kdf-memory", "16", "--kdf-iterations", "2", "--passphrase-stdin",
                   input=passphrase + "\n")


@pytest.mark.parametrize("weak", [
    pytest.param("short pass", id="too-short"),
    pytest.param("motdepasse123456", id="common-plus-digits"),
    pytest.param("Mot de passe 2024 !", id="common-with-spaces"),
    pytest.param("aaaaaaaaaaaaaaaaaaaa", id="one-letter"),
    pytest.param("1234567890123", id="only-digits"),
    pytest.param("Camille Martin 1985", id="own-name"),
    pytest.param("19850602-19850602", id="own-birth-date"),
    pytest.param("azertyuiopqsd", id="keyboard-walk"),
    pytest.param("QWERTYuiop[]asdf", id="qwerty-walk"),
])
def test_weak_passphrase_refused_at_init(home: Path, weak: str) -> None:
    """Weak passphrases (msante/vault/passphrase.py: ≥ 12 characters, ≥ 5 distinct, letters
    that are not a common password, not the owner's name or birth date) are refused with
    exit 2, and no vault is left behind."""
    result = _init_with(weak)
    _assert_clean_failure(result, ExitCode.USAGE)
    assert "Passphrase" in result.stderr
    assert not paths.header_path(home).exists()
    assert not paths.db_path(home).exists()


# --- changing the passphrase ----------------------------------------------------------------------

def test_passwd_rewraps_old_stops_new_and_recovery_work(
        made: tuple[Vault, str], home: Path, tmp_path: Path, pfile: Path) -> None:
    """`msante passwd`: afterwards the old passphrase is refused, the new one and the recovery
    key open the vault, the vault key and the data are unchanged (nothing re-encrypted)."""
    vault, recovery = made
    vault.people.add("Léo Martin", "2019-04-27", "male")
    names = [p.name for p in vault.people.list()]
    vault_key = vault.store.keys.vault_key
    vault.close()
    new_file = write_secret(tmp_path / "new.pass", NEW_PASSPHRASE)
    result = run_cli("passwd", "--new-passphrase-file", str(new_file), "--kdf-memory", "16",
                     "--kdf-iterations", "2", env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    assert result.returncode == 0, result.stderr
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)
    assert keys_of(home, NEW_PASSPHRASE).vault_key == vault_key
    assert store.unlock_with_recovery(home, recovery).vault_key == vault_key
    with Vault.open(home, keys_of(home, NEW_PASSPHRASE)) as reopened:
        assert [p.name for p in reopened.people.list()] == names
        assert next(reopened.audit.entries(limit=1)).action == "vault.passwd"
        assert reopened.audit.verify().ok


def test_passwd_with_a_wrong_current_passphrase_changes_nothing(
        made: tuple[Vault, str], home: Path, tmp_path: Path) -> None:
    """The current passphrase is checked first: a wrong one exits 4 and vault.json (and the
    database) keep every byte."""
    made[0].close()
    before = vault_files(home)
    result = run_cli("passwd", "--new-passphrase-file",
                     str(write_secret(tmp_path / "new.pass", NEW_PASSPHRASE)),
                     env_extra={"MSANTE_PASSPHRASE_FILE":
                                str(write_secret(tmp_path / "wrong.pass", WRONG))})
    _assert_clean_failure(result, ExitCode.WRONG_KEY)
    assert vault_files(home) == before
    assert keys_of(home).vault_id


def test_passwd_refuses_a_weak_new_passphrase(
        made: tuple[Vault, str], home: Path, tmp_path: Path, pfile: Path) -> None:
    """A weak new passphrase is refused (exit 2) and the old one keeps working."""
    made[0].close()
    before = vault_files(home)
    result = run_cli("passwd", "--new-passphrase-file",
                     str(write_secret(tmp_path / "weak.pass", "motdepasse2024")),
                     env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    _assert_clean_failure(result, ExitCode.USAGE)
    assert vault_files(home) == before


# --- backups -------------------------------------------------------------------------------------

@pytest.fixture
def backup_file(made: tuple[Vault, str], tmp_path: Path) -> Path:
    """A backup of a vault with two more people; the vault is closed."""
    vault, _rk = made
    for name, born, sex, relation in PEOPLE:
        vault.people.add(name, born, sex, relation)
    out = tmp_path / "vault.msb"
    backup.create(vault.store, out)
    vault.close()
    return out


def _restore(src: Path, target: Path, rk_file: Path) -> Any:
    return run_cli("backup", "restore", str(src), "--recovery-key-file", str(rk_file), "--json",
                   env_extra={"MSANTE_HOME": str(target)})


def _nothing_left(target: Path) -> None:
    """Nothing of a vault in `target`, not even the lock file (a failed restore used to leave
    `vault.lock`) nor the folder the restore made."""
    left = sorted(str(p.relative_to(target)) for p in target.rglob("*")) \
        if target.exists() else []
    assert left == [], left
    assert not target.exists()


def test_backup_restores_with_the_recovery_key(
        made: tuple[Vault, str], backup_file: Path, tmp_path: Path) -> None:
    """A backup opens with the recovery key alone and rebuilds the same vault, chain whole."""
    target = tmp_path / "restored"
    rk = write_secret(tmp_path / "rk.txt", made[1])
    result = _restore(backup_file, target, rk)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["audit_ok"] is True
    with Vault.open(target, keys_of(target)) as restored:
        names = {p.name for p in restored.people.list()}
        assert names == {"Camille Martin"} | {p[0] for p in PEOPLE}
        assert restored.audit.verify().ok
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def _payload_start(path: Path) -> int:
    raw = path.read_bytes()
    size = struct.unpack(">I", raw[len(archive.MAGIC):len(archive.MAGIC) + 4])[0]
    return len(archive.MAGIC) + 4 + size


@pytest.mark.parametrize("where", ["payload-first", "payload-middle", "payload-last"])
def test_backup_with_a_flipped_byte_restores_nothing(
        made: tuple[Vault, str], backup_file: Path, tmp_path: Path, where: str) -> None:
    """One flipped byte anywhere in the encrypted payload: exit 6 and nothing at all in the
    target home (no vault.json, no vault.db, no staging directory)."""
    start, size = _payload_start(backup_file), backup_file.stat().st_size
    offset = {"payload-first": start + crypto.HEADER_SIZE + 1,
              "payload-middle": (start + size) // 2, "payload-last": size - 1}[where]
    flip_byte(backup_file, offset)
    target = tmp_path / "restored"
    result = _restore(backup_file, target, write_secret(tmp_path / "rk.txt", made[1]))
    _assert_clean_failure(result, ExitCode.INTEGRITY)
    _nothing_left(target)


def test_truncated_backup_restores_nothing(
        made: tuple[Vault, str], backup_file: Path, tmp_path: Path) -> None:
    """A backup cut short (the last 100 bytes gone): exit 6, nothing left behind."""
    data = backup_file.read_bytes()
    backup_file.write_bytes(data[:-100])
    target = tmp_path / "restored"
    result = _restore(backup_file, target, write_secret(tmp_path / "rk.txt", made[1]))
    _assert_clean_failure(result, ExitCode.INTEGRITY)
    _nothing_left(target)


@pytest.mark.parametrize("edit", ["created", "chain-count", "kdf-iterations"])
def test_backup_with_an_edited_envelope_restores_nothing(
        made: tuple[Vault, str], backup_file: Path, tmp_path: Path, edit: str) -> None:
    """The envelope is plaintext but its hash is the payload's associated data: changing a
    character of it (its date, the chain head it carries, its KDF cost) makes the restore
    fail with exit 6 (WrongKeyError for the KDF: exit 4), leaving nothing behind."""
    raw = backup_file.read_bytes()
    start = len(archive.MAGIC) + 4
    size = struct.unpack(">I", raw[len(archive.MAGIC):start])[0]
    env = json.loads(raw[start:start + size])
    if edit == "created":
        old = env["created"]
        env["created"] = ("1" if old[0] != "1" else "2") + old[1:]
    elif edit == "chain-count":
        env["vault"]["chain_head"]["count"] -= 1
    else:
        env["vault"]["kdf"]["iterations"] = 3
    new_raw = json.dumps(env, sort_keys=True).encode()
    backup_file.write_bytes(raw[:len(archive.MAGIC)] + struct.pack(">I", len(new_raw))
                            + new_raw + raw[start + size:])
    target = tmp_path / "restored"
    result = run_cli("backup", "restore", str(backup_file),
                     env_extra={"MSANTE_HOME": str(target),
                                "MSANTE_PASSPHRASE_FILE":
                                str(write_secret(tmp_path / "p", PASSPHRASE))})
    expected = ExitCode.WRONG_KEY if edit == "kdf-iterations" else ExitCode.INTEGRITY
    _assert_clean_failure(result, expected)
    _nothing_left(target)


def test_backup_with_a_wrong_recovery_key_restores_nothing(
        backup_file: Path, tmp_path: Path) -> None:
    """Someone else's recovery key: exit 4, nothing left behind."""
    target = tmp_path / "restored"
    other, _secret = crypto.new_recovery_key()
    result = _restore(backup_file, target, write_secret(tmp_path / "rk.txt", other))
    _assert_clean_failure(result, ExitCode.WRONG_KEY)
    _nothing_left(target)


def test_backup_restore_never_overwrites_a_vault(
        made: tuple[Vault, str], backup_file: Path, home: Path, tmp_path: Path) -> None:
    """Restoring into a home that holds a vault is refused and the vault keeps every byte."""
    before = vault_files(home)
    result = _restore(backup_file, home, write_secret(tmp_path / "rk.txt", made[1]))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert vault_files(home) == before


def test_database_key_is_not_derivable_from_the_header_alone(
        made: tuple[Vault, str], home: Path) -> None:
    """Sanity of the key hierarchy: the SQLCipher key is an HKDF sub-key of the vault key,
    different from every other sub-key and from the vault key itself."""
    keys = made[0].store.keys
    subs = {keys.db, keys.audit, keys.header, keys.spaces, keys.derive("backup-wrap")}
    assert len(subs) == 5 and keys.vault_key not in subs
    with pytest.raises(IntegrityError):
        db.connect(paths.db_path(home), keys.vault_key)
    fresh = fast_params()
    assert fresh.memory_kib == 16 * 1024 and len(fresh.salt) == crypto.SALT_SIZE


# --- removal erases for good ---------------------------------------------------------------------

def _wal_commit_prefixes(wal: bytes) -> list[bytes]:
    """Every prefix of a WAL file that ends on a commit frame (an older state of the db)."""
    if len(wal) < 32:
        return []
    page_size = struct.unpack(">I", wal[8:12])[0]
    frame = 24 + page_size
    prefixes = []
    for i in range((len(wal) - 32) // frame):
        start = 32 + i * frame
        if struct.unpack(">I", wal[start + 4:start + 8])[0]:  # "db size after commit" ≠ 0
            prefixes.append(wal[:start + frame])
    return prefixes


def test_a_removed_person_cannot_be_read_back_from_the_wal(
        made: tuple[Vault, str], home: Path, tmp_path: Path) -> None:
    """`people remove` "erases their records for good" and DESIGN.md says purging checkpoints
    the WAL (TRUNCATE). Replaying any older commit point still on disk (vault.db alone, or
    vault.db plus a prefix of the WAL) must not bring the person or their space key back."""
    vault, _rk = made
    person = vault.people.add("Zéphyrine Quatremaine", "2016-03-14", "female")
    vault.people.remove(person.id)
    db_bytes = paths.db_path(home).read_bytes()
    wal_path = home / "vault.db-wal"
    wal = wal_path.read_bytes() if wal_path.exists() else b""
    states = [b""] + _wal_commit_prefixes(wal)
    recovered = []
    for n, prefix in enumerate(states):
        copy = tmp_path / f"state{n}"
        copy.mkdir()
        (copy / "vault.db").write_bytes(db_bytes)
        if prefix:
            (copy / "vault.db-wal").write_bytes(prefix)
        conn = db.connect(copy / "vault.db", vault.store.keys.db)
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM people WHERE id = ?",
                                                (person.id,))]
            key_rows = conn.execute("SELECT count(*) FROM spaces WHERE id = ? AND "
                                    "wrapped_key IS NOT NULL", (person.id,)).fetchone()[0]
        except db.errors()[0]:  # a state older than the tables themselves
            names, key_rows = [], 0
        finally:
            conn.close()
        if any(names) or key_rows:
            recovered.append((n, names, key_rows))
    assert recovered == []


# --- the security model names its tests ---------------------------------------------------------

def test_every_test_named_in_the_security_model_exists() -> None:
    """docs/security.md names, beside each claim, the test that attacks it: a renamed or
    removed test must not leave a claim backed by nothing."""
    import re

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "security.md").read_text("utf-8")
    named = set(re.findall(r"\b(test_[a-z0-9_]+)\b", text))
    modules = {n for n in named if any((root / "tests").rglob(f"{n}.py"))}
    defined = {m.group(1) for f in (root / "tests").rglob("test_*.py")
               for m in re.finditer(r"^\s*(?:async\s+)?def (test_[a-z0-9_]+)",
                                          f.read_text("utf-8"), re.M)}
    assert named - modules - defined == set()
