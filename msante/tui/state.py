"""What the screens share: the clock, the open vault and how it was unlocked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from msante.api import Vault

Via = Literal["agent", "passphrase", "file", "given"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Clock:
    """Today and now, injectable so that tests and snapshots can freeze time."""

    today: Callable[[], dt.date] = dt.date.today
    now: Callable[[], dt.datetime] = _utc_now


@dataclass
class Session:
    """An open vault and where its key came from (the agent's, watched for locking)."""

    vault: Vault
    via: Via
    warnings: list[str] = field(default_factory=list)
