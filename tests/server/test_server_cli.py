"""`msante-server` run, migrate and status: files private, JSON status, errors in one line."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from msante.sync.server.cli import main
from msante.sync.server.settings import DATA_ENV, default_data_dir

RUN = "import sys; from msante.sync.server.cli import run; sys.argv[0] = 'msante-server'; run()"


def test_migrate_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """migrate makes a 0700 folder, a 0600 WAL database; status --json reports it current."""
    data = tmp_path / "srv"
    assert main(["migrate", "--data", str(data)]) == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    db = data / "server.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    capsys.readouterr()
    assert main(["status", "--data", str(data), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["up_to_date"] and info["schema"] == info["schema_head"]
    assert info["counts"]["accounts"] == 0 and info["data"] == str(data)


def test_status_in_words_on_an_empty_database(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Before migrate, status says what to do."""
    assert main(["status", "--data", str(tmp_path / "new")]) == 0
    assert "msante-server migrate" in capsys.readouterr().out


def test_an_unreachable_database_is_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A PostgreSQL that does not answer: exit 1, one line, no traceback, no password."""
    url = "postgresql+psycopg://me:hunter2@127.0.0.1:1/msante?connect_timeout=2"
    assert main(["status", "--db", url, "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("msante-server: database error") and err.count("\n") == 1
    assert "Traceback" not in err and "hunter2" not in err


def test_the_data_folder_honours_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """MSANTE_SERVER_DATA replaces the platform folder (tests never touch the real one)."""
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command, or an unknown option, is exit 2 with the usage."""
    for argv in ([], ["run", "--port", "many"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    assert "usage: msante-server" in capsys.readouterr().err


def _serve(*args: str) -> subprocess.Popen[str]:
    """`msante-server run ARGS…` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen([sys.executable, "-c", RUN, "run", *args], stderr=subprocess.PIPE,
                            text=True, env=env)


def test_run_serves_until_stopped(tmp_path: Path) -> None:
    """`msante-server run --port 0` migrates and serves; SIGTERM stops it cleanly."""
    proc = _serve("--data", str(tmp_path / "d"), "--port", "0")
    try:
        port = _port(proc)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health").json()["status"] == "ok"
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=10)[1]
    assert "Finished server process" in rest  # a graceful stop (uvicorn re-raises SIGTERM)
    assert proc.returncode in (0, -15)


def _port(proc: subprocess.Popen[str]) -> int:
    """The port uvicorn says it listens on."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"Uvicorn running on https?://127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))
        assert line or proc.poll() is None, "the server stopped"
    raise AssertionError("the server did not start")


def test_the_server_speaks_french_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Its messages go through the catalog like msante's."""
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert main(["migrate", "--data", str(tmp_path)]) == 0
    assert "Schéma à jour" in capsys.readouterr().err
    assert main(["status", "--data", str(tmp_path)]) == 0
    assert "Base de données\u202f:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    help_text = capsys.readouterr().out
    assert help_text.startswith("utilisation\u202f: msante-server status")
    assert "afficher cette aide et quitter" in help_text


def test_migrate_and_status_on_each_database(tmp_path: Path, db_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--db takes a SQLite or a PostgreSQL URL alike."""
    assert main(["migrate", "--db", db_url, "--data", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["status", "--db", db_url, "--data", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["up_to_date"] and info["counts"] is not None


def test_the_default_data_folder_is_the_platform_one(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """Without MSANTE_SERVER_DATA: the user data folder named msante-server."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "msante-server"


def test_run_serves_tls_with_the_ssl_options(tmp_path: Path) -> None:
    """--ssl-keyfile and --ssl-certfile reach uvicorn: the API answers over HTTPS."""
    key, cert = _self_signed(tmp_path)
    proc = _serve("--data", str(tmp_path / "d"), "--port", "0", "--ssl-keyfile", str(key),
                  "--ssl-certfile", str(cert))
    try:
        port = _port(proc)
        with httpx.Client(verify=_trusting(cert)) as client:
            assert client.get(f"https://127.0.0.1:{port}/v1/health").json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _trusting(cert: Path) -> object:
    """An SSL context that trusts only `cert`."""
    import ssl

    return ssl.create_default_context(cafile=str(cert))
