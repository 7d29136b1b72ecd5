"""The framing shared by every serialised sync key and signature: one version byte first."""

from __future__ import annotations

VERSION = 1


def versioned(data: bytes, length: int, what: str) -> bytes:
    """`data` as bytes, if it is `length` long and starts with VERSION; ValueError otherwise."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"{what} must be bytes")
    data = bytes(data)
    if len(data) != length:
        raise ValueError(f"{what} must be {length} bytes, not {len(data)}")
    if data[0] != VERSION:
        raise ValueError(f"unsupported {what} version {data[0]}")
    return data


def as_bytes(value: object, what: str) -> bytes:
    """`value` if it is bytes-like; TypeError otherwise (bytes(5) would be five zero bytes)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)
