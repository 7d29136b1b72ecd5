"""Padmé padding: round trips, one padded form per plaintext, and the size leak bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync.crypto import pad, unpad
from msante.sync.padme import MIN_PADDED, padded_length, padme


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=5000))
def test_pad_then_unpad_gives_the_data_back(data: bytes) -> None:
    """Any data survives a round trip, and the padded size is the documented one."""
    padded = pad(data)
    assert len(padded) == padded_length(len(data)) >= MIN_PADDED
    assert unpad(padded) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=1 << 40))
def test_the_size_leak_is_bounded(length: int) -> None:
    """Above the floor the padded size keeps only S+1 leading bits, S = floor(log2 E) + 1.

    So at most 2**S sizes exist between 2**E and 2**(E+1): the size tells O(log log L) bits of
    L, and the overhead stays under L / 2**S (under 6.25 % once L > 256).
    """
    total = padded_length(length)
    marked = length + 1
    assert total >= marked and total >= MIN_PADDED
    if total == MIN_PADDED:
        return
    e = marked.bit_length() - 1
    s = e.bit_length()
    assert total % (1 << (e - s)) == 0
    assert total - marked < marked / (1 << s) <= marked * 0.0625


@pytest.mark.parametrize("e", range(9, 17))
def test_few_distinct_sizes_per_power_of_two(e: int) -> None:
    """Every length in [2**E, 2**(E+1)) pads to one of at most 2**S + 1 sizes."""
    sizes = {padme(n) for n in range(1 << e, 1 << (e + 1))}
    assert len(sizes) <= (1 << e.bit_length()) + 1


def test_small_data_pads_to_the_floor() -> None:
    """Everything up to 255 bytes is 256 bytes once padded: short items look alike."""
    assert {len(pad(b"x" * n)) for n in range(256)} == {MIN_PADDED}
    assert len(pad(b"x" * 256)) > MIN_PADDED


def test_known_padme_sizes() -> None:
    """Values worked by hand from the PURBs paper's definition."""
    assert padme(257) == 272       # E=8, S=4: multiples of 16
    assert padme(1000) == 1024     # E=9, S=4: multiples of 32
    assert padme(1025) == 1088     # E=10, S=4: multiples of 64
    assert padme(65537) == 67584   # E=16, S=5: multiples of 2048
    assert padme(1 << 20) == 1 << 20


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_unpad_refuses_anything_pad_did_not_write(data: bytes) -> None:
    """Random bytes either are the canonical padding of something, or raise ValueError."""
    try:
        plain = unpad(data)
    except ValueError:
        return
    assert pad(plain) == data


@pytest.mark.parametrize("bad", [
    b"", bytes(256), b"\x80", b"x" * 256 + b"\x80",           # empty, no marker, short
    b"x" * 10 + b"\x80" + bytes(246),                          # one zero too many
    b"x" * 10 + b"\x80" + bytes(244),                          # one zero too few
    b"x" * 10 + b"\x81" + bytes(245),                          # wrong marker
    pad(b"abc") + bytes(16),                                   # zeros added after the padding
    pad(b"abc")[:-1],                                          # truncated
], ids=lambda bad: f"{len(bad)}-bytes")
def test_unpad_refuses_malformed_padding(bad: bytes) -> None:
    """Missing markers, wrong sizes, extra or missing zeros: ValueError."""
    with pytest.raises(ValueError):
        unpad(bad)


def test_trailing_zeros_of_the_data_are_kept() -> None:
    """The marker, not the zeros, ends the data: data ending in zeros comes back whole."""
    data = b"abc" + bytes(40)
    assert unpad(pad(data)) == data


def test_pad_refuses_an_int_and_unpad_a_non_bytes() -> None:
    """pad(16) is not sixteen zero bytes; unpad of a non-bytes value is a ValueError."""
    with pytest.raises(TypeError):
        pad(16)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        unpad(272)  # type: ignore[arg-type]
