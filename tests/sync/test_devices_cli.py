"""`devices link --json` in one process and `sync setup --link-file` in another, end to end;
a mistyped code or a vault that already holds records creates nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.sync.link import LinkCode
from msante.sync.server.settings import Settings
from msante.sync.signing import word_list
from tests.server.server_helpers import live_server

FAST = ["--kdf-memory", "16", "--kdf-iterations", "2"]


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (base, _app):
        yield base


@pytest.fixture
def first(cli, made: Path, url: str) -> Path:
    """The existing device: the `made` vault, set up for sync; its passphrase file."""
    r = cli("sync", "setup", url, pfile=made)
    assert r.code == 0, r.err
    return made


def start_link(home: Path, pfile: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`devices link --json --yes` in a subprocess; its first JSON line (the code)."""
    env = dict(os.environ) | {"MSANTE_HOME": str(home), "MSANTE_PASSPHRASE_FILE": str(pfile)}
    proc = subprocess.Popen([sys.executable, "-m", "msante", "devices", "link", "--json",
                             "--yes"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.communicate(timeout=60)[1]
    return proc, json.loads(line)


def test_link_one_process_to_another(cli, first: Path, home: Path, tmp_path: Path, url: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The code goes from the first line of one to the file of the other; both end with the
    same devices; the new vault is made without anyone in it, its recovery key in a file."""
    pushed = cli("sync", "--json", pfile=first)
    assert pushed.code == 0, pushed.err
    proc, shown = start_link(home, first)
    assert len(shown["code"].split()) == 15 and shown["expires"]
    (tmp_path / "code").write_text(shown["code"] + "\n")
    monkeypatch.setenv("MSANTE_HOME", str(tmp_path / "b"))
    joined = cli("sync", "setup", url, "--link-file", tmp_path / "code", "--json", *FAST,
                 "--recovery-key-file", tmp_path / "rk-b", pfile=first)
    out, err = proc.communicate(timeout=60)
    assert joined.code == 0, joined.err
    assert proc.returncode == 0, err
    linked = json.loads(out.strip().splitlines()[-1])
    state = joined.json()
    assert state["configured"] and state["device"] == linked["device"]
    assert state["fingerprint"] == linked["fingerprint"]
    assert state["fingerprint"] in joined.err  # shown to compare
    assert state["recovery_key"] is None and (tmp_path / "rk-b").stat().st_mode & 0o077 == 0
    assert sorted(s["space"] for s in state["spaces"]) == sorted(
        s["space"] for s in linked["spaces"])
    there = cli("devices", "list", "--json", pfile=first).json()
    monkeypatch.setenv("MSANTE_HOME", str(home))
    here = cli("devices", "list", "--json", pfile=first).json()
    assert [r["fingerprint"] for r in there] == [r["fingerprint"] for r in here]
    assert [r["this_device"] for r in there] == [False, True]
    people = cli("people", "list", "--json", pfile=first).json()
    assert cli("audit", "verify", pfile=first).code == 0
    monkeypatch.setenv("MSANTE_HOME", str(tmp_path / "b"))
    assert cli("people", "list", "--json", pfile=first).json() == people  # the first sync
    owner = next(p for p in people if p["relation"] == "owner")
    assert state["space"] == owner["id"] and state["first_sync"]["pulled"] > 0
    assert cli("audit", "verify", pfile=first).code == 0


def one_word_changed(words: str) -> str:
    """The code with its fifth word replaced by another of the list."""
    parts = words.split()
    parts[4] = next(w for w in word_list()[:4096] if w != parts[4])
    return " ".join(parts)


def test_a_mistyped_code_creates_nothing(cli, tmp_path: Path, url: str, passphrase_file: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """One word changed: exit 2 naming the typo, no vault made; a well-formed code the
    server does not know: exit 5, no vault made either."""
    monkeypatch.setenv("MSANTE_HOME", str(tmp_path / "b"))
    typo = cli("sync", "setup", url, "--link", one_word_changed(LinkCode.new().words()),
               *FAST, pfile=passphrase_file)
    assert typo.code == 2 and "typo" in typo.err and "Traceback" not in typo.err
    unknown = cli("sync", "setup", url, "--link", LinkCode.new().text(), *FAST,
                  pfile=passphrase_file)
    assert unknown.code == 5 and "no link waiting" in unknown.err
    assert not (tmp_path / "b").exists()


def test_a_vault_with_records_is_not_linked(cli, made: Path, url: str) -> None:
    """The vault at MSANTE_HOME holds people: refused (exit 2), saying what to do."""
    r = cli("sync", "setup", url, "--link", LinkCode.new().words(), pfile=made)
    assert r.code == 2 and "new, empty vault" in r.err


def test_link_needs_a_terminal_or_yes(cli, first: Path) -> None:
    """No terminal to compare fingerprints on, no --yes: refused before any code is shown."""
    r = cli("devices", "link", pfile=first)
    assert r.code == 2 and "--yes" in r.err and r.out == ""


def test_the_code_is_shown_as_words_text_and_a_qr(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json: the 15 words, the 36 characters and a QR drawn in the terminal."""
    from msante.cli.devices_cmds import _show_code

    code = LinkCode.new()
    _show_code(code, json_=False)
    out = capsys.readouterr().out
    assert code.words() in out and code.text() in out and "10 minutes" in out
    assert sum("▀" in line or "▄" in line or "█" in line for line in out.splitlines()) > 10


def test_ctrl_c_while_waiting_cancels_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during the wait: one line saying nothing was linked, exit 1, no traceback."""
    import typer

    from msante.cli.devices_cmds import _wait

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as caught:
        _wait("waiting", interrupted)
    assert caught.value.exit_code == 1
    assert "no device was linked" in capsys.readouterr().err


def test_a_device_with_another_name_is_not_added() -> None:
    """--name: the device that answered must bear that name (exit 2 otherwise)."""
    from msante.cli.devices_cmds import _check_candidate
    from msante.errors import ConfirmationRequired
    from msante.sync.crypto import SealKey, SigningKey
    from msante.sync.link import LinkJoin, LinkOffer
    from tests.sync.link_helpers import OLD_KEY, STATE

    code = LinkCode.new()
    offer = LinkOffer(code, STATE, OLD_KEY)
    join = LinkJoin(code, STATE.account, "phone", SigningKey.generate(), SealKey.generate())
    candidate = offer.open(join.request())
    with pytest.raises(ConfirmationRequired, match="not “tablet”"):
        _check_candidate(candidate, "tablet", yes=True)
    _check_candidate(candidate, "phone", yes=True)
