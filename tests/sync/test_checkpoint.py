"""tlog checkpoints (msante/sync/checkpoint.py): the exact body format, strict parsing, signed
checkpoints of one log, and the client's rule: forward along a consistency proof, or a clear
RollbackError / ForkError saying what the server did."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante import i18n
from msante.errors import ExitCode, IntegrityError
from msante.sync.checkpoint import (
    BadCheckpointError,
    Checkpoint,
    CheckpointStore,
    ForkError,
    NoteError,
    NoteSigner,
    RollbackError,
    check_consistent,
    check_progress,
    open_checkpoint,
    sign_checkpoint,
)
from msante.sync.merkle import EMPTY_ROOT, MemoryTree, consistency_proof

ORIGIN = "msante.example/log"
LOG_KEY = NoteSigner.generate(ORIGIN)
VERIFIERS = [LOG_KEY.verifier()]


def grown(size: int, prefix: str = "entry") -> MemoryTree:
    """A log of `size` entries."""
    tree = MemoryTree()
    for i in range(size):
        tree.append(f"{prefix} {i}".encode())
    return tree


TREE = grown(20)


def head(size: int, tree: MemoryTree = TREE) -> Checkpoint:
    """The checkpoint of `tree` at `size`."""
    return Checkpoint(ORIGIN, size, tree.root(size))


def signed(size: int, tree: MemoryTree = TREE) -> str:
    """The signed checkpoint of `tree` at `size`."""
    return sign_checkpoint(head(size, tree), LOG_KEY)


# ------------------------------------------------------------------------------ the format


def test_the_c2sp_example_checkpoint_parses_and_round_trips() -> None:
    """The body of c2sp.org/tlog-checkpoint's example, byte for byte."""
    body = ("example.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    cp = Checkpoint.parse(body)
    assert (cp.origin, cp.size, len(cp.root), cp.extensions) == (
        "example.com/behind-the-sofa", 20852163, 32, ())
    assert cp.body() == body


def test_the_body_is_origin_size_root_then_extension_lines() -> None:
    """Extension lines follow the root, each ending with a newline, and survive a round trip."""
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert cp.body() == (f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
                         "ext one\next two\n")
    assert Checkpoint.parse(cp.body()) == cp


ROOT64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
BAD_BODIES = [
    "", "\n", f"{ORIGIN}\n5\n", f"{ORIGIN}\n5\n{ROOT64}", f"\n5\n{ROOT64}\n",
    f"{ORIGIN}\n05\n{ROOT64}\n", f"{ORIGIN}\n+5\n{ROOT64}\n", f"{ORIGIN}\n 5\n{ROOT64}\n",
    f"{ORIGIN}\n5 \n{ROOT64}\n", f"{ORIGIN}\n-1\n{ROOT64}\n", f"{ORIGIN}\n1_000\n{ROOT64}\n",
    f"{ORIGIN}\n\u0663\n{ROOT64}\n", f"{ORIGIN}\n{2**64}\n{ROOT64}\n",
    f"{ORIGIN}\n{'9' * 5000}\n{ROOT64}\n",
    f"{ORIGIN}\n5\n{ROOT64[:-4]}\n", f"{ORIGIN}\n5\nAAAA\n", f"{ORIGIN}\n5\n{ROOT64[:-2]}V=\n",
    f"{ORIGIN}\n5\n{ROOT64} \n", f"{ORIGIN}\n5\n{ROOT64}\n\n", f"{ORIGIN}\n5\n{ROOT64}\next\n\n",
    f"{ORIGIN}\n5\n{ROOT64}\n\tx\n", f"{ORIGIN}\n5\n\u00e9{ROOT64}\n",
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_malformed_bodies_are_note_errors(body: str) -> None:
    """Leading zeros, signs, spaces, non-ASCII digits, short or non-canonical roots, empty
    lines: each is refused with a NoteError (a ValueError) that says why."""
    with pytest.raises(NoteError) as caught:
        Checkpoint.parse(body)
    assert isinstance(caught.value, ValueError) and str(caught.value)


@pytest.mark.parametrize("args", [("", 1, EMPTY_ROOT), ("a\nb", 1, EMPTY_ROOT),
                                  (ORIGIN, -1, EMPTY_ROOT), (ORIGIN, 2**64, EMPTY_ROOT),
                                  (ORIGIN, True, EMPTY_ROOT), (ORIGIN, 1, b"short")])
def test_impossible_checkpoints_cannot_be_built(args: tuple[str, int, bytes]) -> None:
    """A checkpoint object is always one that formats to a valid body."""
    with pytest.raises(NoteError):
        Checkpoint(*args)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_bodies_are_note_errors_or_round_trip(body: str) -> None:
    """Fuzz: parse either refuses with NoteError or returns a checkpoint formatting to `body`."""
    try:
        cp = Checkpoint.parse(body)
    except NoteError:
        return
    assert cp.body() == body


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_arbitrary_notes_are_note_errors(note: str | bytes) -> None:
    """Fuzz: opening junk as a checkpoint fails with NoteError only."""
    with pytest.raises(NoteError):
        open_checkpoint(note, VERIFIERS, ORIGIN)


# --------------------------------------------------------------------------- signed checkpoints


def test_a_signed_checkpoint_opens_with_the_log_key_only() -> None:
    """The log's key opens it; another key or another log's origin does not."""
    note = signed(7)
    assert note.startswith(head(7).body() + "\n— " + ORIGIN + " ")
    assert open_checkpoint(note, VERIFIERS, ORIGIN) == head(7)
    with pytest.raises(NoteError, match="known key"):
        open_checkpoint(note, [NoteSigner.generate(ORIGIN).verifier()], ORIGIN)
    with pytest.raises(NoteError, match="from log"):
        open_checkpoint(note, VERIFIERS, "other.example/log")


# ------------------------------------------------------------------------- moving forward


def test_the_first_checkpoint_and_every_extension_are_accepted() -> None:
    """From nothing, then forward along consistency proofs, including an unchanged log."""
    store = CheckpointStore(ORIGIN, [LOG_KEY.verifier().vkey()])
    last = 0
    for size in (3, 3, 8, 13, 20):
        proof = consistency_proof(last, size, TREE) if store.latest else []
        assert store.advance(signed(size), proof) == head(size)
        last = size
    assert store.latest == head(20) and store.latest_note == signed(20)


def test_a_smaller_log_is_a_rollback() -> None:
    """The server showing fewer entries than before is named as a rollback, exit 6."""
    store = CheckpointStore(ORIGIN, VERIFIERS, signed(13))
    with pytest.raises(RollbackError, match="from 13 to 8") as caught:
        store.advance(signed(8), consistency_proof(8, 13, TREE))
    assert caught.value.exit_code == ExitCode.INTEGRITY
    assert (caught.value.old, caught.value.new) == (head(13), head(8))
    assert store.latest == head(13)


def test_a_different_root_at_the_same_size_is_a_fork() -> None:
    """Same size, different history: a fork, whatever the proof."""
    other = grown(20, "rewritten")
    store = CheckpointStore(ORIGIN, VERIFIERS, signed(8))
    with pytest.raises(ForkError, match="two different logs of 8 entries"):
        store.advance(signed(8, other), [])
    assert store.latest == head(8)


def test_a_rewritten_history_fails_its_consistency_proof() -> None:
    """A larger log whose prefix was changed cannot prove it extends the old one."""
    other = grown(20)
    other_tree = MemoryTree()
    for i in range(20):
        other_tree.append(b"changed" if i == 4 else f"entry {i}".encode())
    store = CheckpointStore(ORIGIN, VERIFIERS, signed(8))
    for proof in (consistency_proof(8, 13, other_tree), consistency_proof(8, 13, other), []):
        with pytest.raises(ForkError, match="does not extend") as caught:
            store.advance(signed(13, other_tree), proof)
        assert caught.value.detail
    assert store.latest == head(8)


def test_a_bad_or_foreign_checkpoint_is_named_as_such() -> None:
    """Unsigned, tampered or another log's checkpoints are BadCheckpointError (integrity)."""
    store = CheckpointStore(ORIGIN, VERIFIERS, signed(3))
    tampered = signed(8).replace("\n8\n", "\n9\n")
    foreign = sign_checkpoint(Checkpoint("other.example/log", 8, TREE.root(8)), LOG_KEY)
    for note in (tampered, foreign, "junk", b"\xff"):
        with pytest.raises(BadCheckpointError) as caught:
            store.advance(note, consistency_proof(3, 8, TREE))
        assert isinstance(caught.value, IntegrityError) and caught.value.detail
    assert store.latest == head(3)


def test_gossip_catches_a_fork_shown_to_two_people() -> None:
    """Alice saw 13 entries; Bob is shown another history of 8: comparing them fails."""
    alice = CheckpointStore(ORIGIN, VERIFIERS, signed(13))
    forked = grown(20, "for bob")
    with pytest.raises(ForkError):
        alice.compare(signed(8, forked), consistency_proof(8, 13, TREE))
    assert alice.compare(signed(8), consistency_proof(8, 13, TREE)) == head(8)
    check_consistent(head(20), head(5), consistency_proof(5, 20, TREE))


def test_check_progress_names_the_checkpoints_in_its_errors() -> None:
    """The exceptions carry the old and new checkpoints for the caller to report or keep."""
    assert check_progress(None, head(4), []) == head(4)
    with pytest.raises(ForkError) as caught:
        check_progress(head(4), head(9, grown(20, "x")), consistency_proof(4, 9, TREE))
    assert caught.value.old == head(4) and caught.value.new is not None


def test_log_errors_are_translated() -> None:
    """The messages are user-facing: French when the interface is in French."""
    i18n.setup("fr")
    with pytest.raises(RollbackError) as caught:
        check_progress(head(13), head(8), [])
    assert "13" in str(caught.value) and "entries" not in str(caught.value)


def test_the_log_modules_load_no_server_or_interface_library() -> None:
    """A client imports these on every sync: no FastAPI, SQLAlchemy or UI library comes along."""
    import subprocess
    import sys

    heavy = ("typer", "rich", "textual", "fastapi", "uvicorn", "sqlalchemy", "alembic")
    code = ("import sys, msante.sync.merkle, msante.sync.note, msante.sync.checkpoint; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
