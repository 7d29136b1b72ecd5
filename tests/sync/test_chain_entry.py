"""The chain entry's wire format (msante/sync/chain_entry.py): the documented canonical bytes,
the documented signed message and hash, and a parser that takes only what to_json writes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from msante.errors import ExitCode, IntegrityError
from msante.sync.chains import AccountChain, ChainEntry, ChainError
from msante.sync.crypto import Purpose, signed_message
from tests.sync.chain_helpers import SEALS, SIGNERS, account

ENTRY = AccountChain.genesis("alice", SIGNERS[0], SEALS[0], "laptop", checkpoint="note\n")
RAW = ENTRY.to_json()


def test_the_json_is_canonical_and_reads_back() -> None:
    """to_json is RFC 8785 (sorted keys, no spaces) and from_json gives the same entry."""
    obj = json.loads(RAW)
    assert RAW == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    assert set(obj) == {"body", "chain", "checkpoint", "kind", "prev", "seq", "signature",
                        "signer"}
    assert ChainEntry.from_json(RAW) == ENTRY
    assert ChainEntry.from_json(RAW.decode()) == ENTRY


def test_the_signature_covers_the_documented_message() -> None:
    """The signature is over signed_message(ACCOUNT_CHAIN, the entry without 'signature')."""
    obj = json.loads(RAW)
    signature = base64.urlsafe_b64decode(obj.pop("signature") + "==")
    key = SIGNERS[0].verify_key()
    key.verify(Purpose.ACCOUNT_CHAIN, obj, signature)
    assert signed_message(Purpose.ACCOUNT_CHAIN, obj).startswith(
        b"msante/v1/sig\0account-chain\0{")


def test_the_hash_is_sha256_of_a_label_and_the_whole_entry() -> None:
    """hash() = SHA-256(b'msante/v1/chain-entry\\0' + to_json()), signature included."""
    assert ENTRY.hash() == hashlib.sha256(b"msante/v1/chain-entry\0" + RAW).digest()


def test_the_checkpoint_is_signed() -> None:
    """Gossip cannot be swapped: another checkpoint under the same signature is forged."""
    obj = json.loads(RAW)
    obj["checkpoint"] = "another note\n"
    swapped = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(ChainError) as info:
        AccountChain.verify([ChainEntry.from_json(swapped)])
    assert info.value.reason == "forged-signature"


def test_the_body_cannot_be_changed_after_creation() -> None:
    """An entry is frozen, its body too (a verified entry cannot be edited in memory)."""
    with pytest.raises(TypeError):
        ENTRY.body["device"] = {}  # type: ignore[index]
    with pytest.raises(AttributeError):
        ENTRY.seq = 3  # type: ignore[misc]


def _edit(change: str) -> bytes:
    """RAW edited in one documented way."""
    obj = json.loads(RAW)
    if change == "spaces":
        return json.dumps(obj, sort_keys=True).encode()
    if change == "order":
        return json.dumps(dict(reversed(list(obj.items()))), separators=(",", ":")).encode()
    if change == "duplicate":
        return RAW[:-1] + b',"seq":0}'
    if change == "padding":
        return RAW.replace(b'"prev":"' + b"A" * 43, b'"prev":"' + b"A" * 43 + b"=")
    if change == "trailing-bits":
        return RAW.replace(b'"prev":"' + b"A" * 43, b'"prev":"' + b"A" * 42 + b"B")
    if change == "missing":
        del obj["checkpoint"]
    elif change == "extra":
        obj["extra"] = 1
    elif change in ("seq-bool", "seq-float", "seq-negative", "seq-huge"):
        obj["seq"] = {"seq-bool": True, "seq-float": 0.5, "seq-negative": -1,
                      "seq-huge": 2**60}[change]
    elif change == "kind":
        obj["kind"] = "grant-everything"
    elif change == "body-list":
        obj["body"] = []
    elif change == "short-signature":
        obj["signature"] = obj["signature"][:-8]
    elif change == "chain":
        obj["chain"] = "other:alice"
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("change", [
    "spaces", "order", "duplicate", "padding", "trailing-bits", "missing", "extra", "seq-bool",
    "seq-float", "seq-negative", "seq-huge", "kind", "body-list", "short-signature", "chain",
])
def test_from_json_takes_only_what_to_json_writes(change: str) -> None:
    """Anything but the exact canonical bytes is a ValueError, before any signature check."""
    with pytest.raises(ValueError):
        ChainEntry.from_json(_edit(change))


# (ids given: an id made of the random entry would differ between pytest-xdist's workers)
@pytest.mark.parametrize("data", [b"", b"[]", b"NaN", b"\xff\xfe", b"{" * 100_000,
                                  b" " * (256 * 1024 + 1), RAW.replace(b"}", b",\"x\":NaN}", 1)],
                         ids=["empty", "list", "nan", "not-utf8", "deep", "big", "nan-inside"])
def test_from_json_refuses_garbage_with_value_error(data: bytes) -> None:
    """Not JSON, not UTF-8, too deep, too big, NaN: ValueError, never another exception."""
    with pytest.raises(ValueError):
        ChainEntry.from_json(data)


def test_a_chain_error_is_an_integrity_error_with_exit_6() -> None:
    """Every chain violation is exit 6, with a message naming the chain and the entry."""
    acc = account("alice", SIGNERS[0])
    stranger = AccountChain.remove_device(acc.state, SIGNERS[5], bytes(32))
    with pytest.raises(ChainError) as info:
        AccountChain.verify([*acc.entries, stranger])
    assert isinstance(info.value, IntegrityError)
    assert info.value.exit_code == ExitCode.INTEGRITY
    assert "account:alice" in str(info.value) and "1" in str(info.value)
    assert info.value.seq == 1


def test_importing_the_chains_loads_no_ui_server_or_vault() -> None:
    """The chains are pure: clients and tools import them without a UI, a server or a vault."""
    import subprocess
    import sys

    banned = ("typer", "rich", "textual", "fastapi", "uvicorn", "sqlalchemy", "alembic",
              "msante.vault", "msante.cli", "msante.tui", "msante.api", "msante.sync.server")
    code = ("import sys, msante.sync.chains; "
            f"print(','.join(m for m in {banned!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
