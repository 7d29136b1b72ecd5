"""What an incoming revision is to the revisions of its record a client already knows.

    already-have       the same revision id: a retried push or a repeat; never a duplicate
    fast-forward       it is based on a head here (or creates a record unknown here): apply it
    conflict           both it and a head here descend from a shared base, neither from the
                       other, and its writer had not already written past that base: keep both
                       and ask the person
    stale-fork-forged  anything else: a base unknown here, a record id reused, an old revision
                       replayed, or a fork its own writer could not honestly have made (its
                       device already wrote a revision after that base): refuse it

Append-only kinds (measurements, audit entries, messages) never conflict: their records are
only created and tombstoned, so a tombstone based on an older revision is applied, and any other
revision that is not a fast-forward is stale.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

APPEND_ONLY = frozenset({"measurements", "audit", "messages"})
"""Tables whose records are created and tombstoned, never edited."""


class Verdict(enum.StrEnum):
    """What to do with an incoming revision."""

    FAST_FORWARD = "fast-forward"
    ALREADY_HAVE = "already-have"
    CONFLICT = "conflict"
    STALE = "stale-fork-forged"


@dataclass(frozen=True)
class Lineage:
    """What classify needs of a revision: its id, its base, its writer, whether a tombstone."""

    revision: str
    base: str | None
    device: bytes
    """The writing device's key id."""
    deleted: bool = False


def classify(local: Iterable[Lineage], incoming: Lineage, *, table: str) -> Verdict:
    """The verdict on `incoming`, a revision of a record of `table`, given the revisions of
    that record known here (every one, in any order)."""
    known = {rev.revision: rev for rev in local}
    if incoming.revision in known:
        return Verdict.ALREADY_HAVE
    if any(rev.base == incoming.revision for rev in known.values()):
        return Verdict.STALE                      # an ancestor of what is here, served late
    if incoming.base is None:
        return Verdict.FAST_FORWARD if not known else Verdict.STALE
    if incoming.base not in known:
        return Verdict.STALE                      # no shared base can be established
    children = _children(known.values())
    if incoming.base not in children:
        return Verdict.FAST_FORWARD               # its base is a head here
    if table in APPEND_ONLY:
        return Verdict.FAST_FORWARD if incoming.deleted else Verdict.STALE
    if incoming.device in _writers_after(incoming.base, children):
        return Verdict.STALE                      # its writer forked its own history
    return Verdict.CONFLICT


def _children(revisions: Iterable[Lineage]) -> dict[str, list[Lineage]]:
    """The revisions based on each revision."""
    out: dict[str, list[Lineage]] = {}
    for rev in revisions:
        if rev.base is not None:
            out.setdefault(rev.base, []).append(rev)
    return out


def _writers_after(base: str, children: dict[str, list[Lineage]]) -> set[bytes]:
    """The devices that wrote a revision descending from `base` (not `base` itself)."""
    writers: set[bytes] = set()
    todo, seen = [base], {base}
    while todo:
        for child in children.get(todo.pop(), []):
            writers.add(child.device)
            if child.revision not in seen:
                seen.add(child.revision)
                todo.append(child.revision)
    return writers
