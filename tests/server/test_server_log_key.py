"""The log's signing key: made at first migrate, 0600, outside the database, checked at start."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from server_helpers import make_server, new_id
from sqlalchemy import select

from msante.sync.checkpoint import open_checkpoint
from msante.sync.note import NoteSigner, NoteVerifier
from msante.sync.server import schema as t
from msante.sync.server.cli import main
from msante.sync.server.db import make_engine
from msante.sync.server.logkey import LogKeyError, load, open_log_key
from msante.sync.server.settings import Settings


def test_migrate_makes_the_key_0600_and_status_shows_its_verifier(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first migrate writes log-main.key 0600; status prints the public key only."""
    data = tmp_path / "srv"
    assert main(["migrate", "--data", str(data)]) == 0
    key_file = Settings(data_dir=data).log_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    signer = load(key_file)
    capsys.readouterr()
    assert main(["status", "--data", str(data), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["log"] == {"size": 0, "key": signer.verifier().vkey()}
    assert main(["status", "--data", str(data)]) == 0
    assert signer.verifier().vkey() in capsys.readouterr().out
    assert main(["migrate", "--data", str(data)]) == 0  # again: the same key
    assert load(key_file).skey() == signer.skey()


def test_the_database_never_holds_the_private_key(tmp_path: Path) -> None:
    """The SQLite file (a dump) has the verifier key, never the seed or its text."""
    data = tmp_path / "srv"
    with make_server(data, log_id="main") as srv:
        srv.client.get("/v1/log/checkpoint")
        signer = load(srv.settings.log_key_file)
        with srv.store.engine.connect() as conn:
            row = conn.execute(select(t.logs).where(t.logs.c.log_id == "main")).one()
        assert row.verifier == signer.verifier().vkey()
    seed = signer.skey().split("+", 4)[4]  # PRIVATE+KEY+name+hash+key: base64 may hold "+"
    dump = b"".join(p.read_bytes() for p in data.glob("server.db*"))
    assert seed.encode() not in dump and b"PRIVATE+KEY" not in dump


def test_the_served_checkpoint_is_signed_by_the_file_key(tmp_path: Path) -> None:
    """GET /v1/log/key serves the key file's verifier; the checkpoint opens with it."""
    with make_server(tmp_path / "d") as srv:
        signer = load(srv.settings.log_key_file)
        served = srv.client.get("/v1/log/key").json()
        assert served == {"origin": signer.name, "key": signer.verifier().vkey()}
        assert signer.name == f"msante-server/{srv.app.state.msante.server_id}/" \
                              f"{srv.settings.log_id}"
        note = srv.client.get("/v1/log/checkpoint").json()["note"]
        head = open_checkpoint(note, [NoteVerifier.from_vkey(served["key"])], signer.name)
        assert head.size == 0
        with pytest.raises(ValueError):
            open_checkpoint(note, [NoteSigner.generate(signer.name).verifier()])


def _settings(tmp_path: Path) -> Settings:
    """A migrated database with its log key."""
    settings = Settings(data_dir=tmp_path / "d", log_id=new_id())
    with make_server(settings.data_dir, log_id=settings.log_id):
        pass
    return settings


def test_a_lost_key_refuses_to_start_rather_than_make_a_new_log(tmp_path: Path) -> None:
    """Without its key file an existing log does not start (a new key is a new identity)."""
    settings = _settings(tmp_path)
    settings.log_key_file.unlink()
    engine = make_engine(settings.database_url)
    try:
        with pytest.raises(LogKeyError, match="missing"):
            open_log_key(settings, engine)
    finally:
        engine.dispose()
    assert not settings.log_key_file.exists()


def test_another_log_key_is_refused(tmp_path: Path) -> None:
    """A key file that is not the one the database names is refused."""
    settings = _settings(tmp_path)
    old = load(settings.log_key_file)
    settings.log_key_file.write_text(NoteSigner.generate(old.name).skey() + "\n")
    engine = make_engine(settings.database_url)
    try:
        with pytest.raises(LogKeyError, match="does not belong"):
            open_log_key(settings, engine)
    finally:
        engine.dispose()


def test_a_key_others_may_read_or_a_damaged_one_is_refused(tmp_path: Path) -> None:
    """Mode 0644 is refused with the chmod to run; garbage is 'damaged'."""
    settings = _settings(tmp_path)
    settings.log_key_file.chmod(0o644)
    with pytest.raises(LogKeyError, match="chmod 600"):
        load(settings.log_key_file)
    settings.log_key_file.chmod(0o600)
    settings.log_key_file.write_text("PRIVATE+KEY+x+00000000+AAAA\n")
    with pytest.raises(LogKeyError, match="damaged"):
        load(settings.log_key_file)


def test_a_lost_key_is_one_line_from_the_cli(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """msante-server migrate says what is wrong, exit 1, no traceback."""
    data = tmp_path / "srv"
    assert main(["migrate", "--data", str(data)]) == 0
    Settings(data_dir=data).log_key_file.unlink()
    capsys.readouterr()
    assert main(["migrate", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "missing" in err and "Traceback" not in err and err.count("\n") == 1
