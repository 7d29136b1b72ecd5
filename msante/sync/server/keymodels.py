"""Bodies of the device, space list, link rendezvous and key wrap endpoints (pydantic).

Same conventions as models.py: ids 1 to 64 of base64url's alphabet, bytes as base64url text
without padding, unknown fields refused.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from msante.sync.server.models import (
    DEFAULTS,
    Bundle,
    Id,
    PublicKey,
    Strict,
    _decoder,
    _out,
    _schema,
)

RENDEZVOUS_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"
Rendezvous = Annotated[str, Field(pattern=RENDEZVOUS_PATTERN,
                                  description="random, chosen by the linking device: 22 to 64 "
                                              "of A-Z a-z 0-9 _ - (at least 128 bits)")]
JoinBytes = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_join_bytes)), _out,
                      _schema(DEFAULTS.max_join_bytes, "the new device's message (opaque)")]
Sealed = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_wrap_bytes)), _out,
                   _schema(DEFAULTS.max_wrap_bytes, "scope keys sealed for one device "
                                                    "(opaque)")]
ReplyBytes = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_reply_bytes)), _out,
                       _schema(DEFAULTS.max_reply_bytes, "the existing device's reply "
                                                         "(opaque)")]


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


class NewLink(Strict):
    """Open a rendezvous for the caller's account (10 minutes)."""

    rendezvous: Rendezvous
    account: Id


class LinkOpened(Strict):
    """A rendezvous open (or already open for this account)."""

    rendezvous: str
    account: str
    expires: int = Field(description="Unix seconds")


class LinkInfo(Strict):
    """Which account a live rendezvous is for."""

    account: str
    expires: int = Field(description="Unix seconds")


class JoinIn(Strict):
    """The new device's message at a rendezvous (once)."""

    message: JoinBytes


class ReplyIn(Strict):
    """The existing device's reply at a rendezvous (once)."""

    message: ReplyBytes


class LinkMessage(Strict):
    """A message left at a rendezvous."""

    message: ReplyBytes


class LinkStored(Strict):
    """A message stored at a rendezvous (or already there, the same)."""

    rendezvous: str


class WrapIn(Strict):
    """A space's scope keys of one key version, sealed for one device."""

    sealed: Sealed


class WrapStored(Strict):
    """A wrap stored (or already there, the same)."""

    space: str
    version: int
    device: str


class WrapOut(Strict):
    """One key version's wrap for a device."""

    version: int
    sealed: Sealed


class Wraps(Strict):
    """A device's wraps in a space, oldest key version first."""

    wraps: list[WrapOut]
    more: bool = Field(description="more versions after the last one listed (ask with since)")
