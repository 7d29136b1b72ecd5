"""Attacks on the plaintext copy of `doc open`: signals that close the terminal, a failed
decryption, and copies left by processes that were killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msante.documents import viewing
from tests import pdfgen


def _copies() -> list[Path]:
    return [p for root in viewing.copy_roots() for p in root.glob(viewing.PREFIX + "*")]


@pytest.fixture
def doc_id(cli, made: Path, tmp_path: Path) -> str:
    """One stored PDF."""
    pdf = tmp_path / "lab.pdf"
    pdf.write_bytes(pdfgen.lab_report())
    r = cli("doc", "import", pdf, "--json", pfile=made)
    assert r.code == 0, r.err
    return str(r.lines()[0]["id"])


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_copy_is_removed_when_the_reader_is_terminated(
        doc_id: str, made: Path, sig: signal.Signals) -> None:
    """Closing the terminal (SIGHUP) or a plain `kill` (SIGTERM) while the viewer is open used
    to leave the decrypted copy behind; only Ctrl-C cleaned up."""
    env = dict(os.environ, MSANTE_PASSPHRASE_FILE=str(made), MSANTE_VIEWER="sleep 60")
    proc = subprocess.Popen([sys.executable, "-m", "msante", "doc", "open", doc_id], env=env,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.glob("*.pdf") for p in _copies()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _copies(), "the copy never appeared"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    assert not _copies()


def test_a_failed_decryption_leaves_no_empty_folder(doc_id: str, made: Path, cli,
                                                    home: Path) -> None:
    """A damaged blob: `doc open` exits 6 and its private folder is gone too."""
    blob = next(p for p in (home / "blobs").rglob("*") if p.is_file())
    data = bytearray(blob.read_bytes())
    data[-40] ^= 1
    blob.chmod(0o600)
    blob.write_bytes(bytes(data))
    r = cli("doc", "open", doc_id, pfile=made)
    assert r.code == 6, r.err
    assert not _copies()


def test_copies_of_dead_processes_are_removed_at_the_next_start(
        doc_id: str, made: Path, cli) -> None:
    """SIGKILL cannot be caught: the next msante command removes what a dead process left;
    a live process's copy stays."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    root = viewing.copy_roots()[0]
    stale = root / f"{viewing.PREFIX}{dead}-abc"
    live = root / f"{viewing.PREFIX}{os.getpid()}-def"
    for folder in (stale, live):
        folder.mkdir(mode=0o700)
        (folder / "lab.pdf").write_bytes(b"%PDF plaintext")
    assert cli("doc", "list", "--json", pfile=made).code == 0
    assert not stale.exists()
    assert (live / "lab.pdf").exists()
    viewing.remove_copy(live / "lab.pdf")
    assert not live.exists()
