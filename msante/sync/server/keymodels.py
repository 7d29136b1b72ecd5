"""Bodies of the device, space list, link rendezvous and key wrap endpoints (pydantic).

Same conventions as models.py: ids 1 to 64 of base64url's alphabet, bytes as base64url text
without padding, unknown fields refused.
"""

from __future__ import annotations

from pydantic import Field

from msante.sync.server.models import Bundle, Id, PublicKey, Strict


class NewDevice(Strict):
    """Another device of the caller's account."""

    device: Id
    signing_key: PublicKey
    bundle: Bundle


class DeviceAdded(Strict):
    """A device registered (or already there with the same keys)."""

    account: str
    device: str


class DeviceRevoked(Strict):
    """A device revoked: its tokens no longer open anything, its logins are refused."""

    account: str
    device: str
    revoked: int = Field(description="when it was revoked, Unix seconds")


class SpaceRole(Strict):
    """One of the caller's spaces."""

    space: str
    role: str = Field(description="owner, manage or read (the space_members mirror)")


class Spaces(Strict):
    """A page of the caller's account's spaces, by space id."""

    spaces: list[SpaceRole]
    more: bool = Field(description="more spaces after the last one listed (ask with after)")
