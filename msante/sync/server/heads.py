"""Chain heads: each device's newest signed head in a space (DESIGN.md "Items").

After a push the device signs its chain head (`msante.sync.items.ChainHead`: space, device
key, seq, the hash of its item at seq) and puts it here; readers fetch every device's head and
accept a device's items only in an unbroken chain up to it. The server keeps the head's bytes
as they came and checks only what it can without keys, under the space's lock (so a head and
a push of the same space never interleave): the device's item at `seq` is stored and has the
hash the head names (else 409 `head-mismatch`), and a head never goes back (a lower seq than
the one stored is 409 `head-behind`; the same seq again replaces it, as signatures are not
deterministic).
"""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, update

from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.items import item_hash, lock_space
from msante.sync.server.models import HeadIn, HeadOut, Heads
from msante.sync.server.problems import Problem
from msante.sync.server.store import now


class HeadStore:
    """Put and list the devices' signed chain heads of a space."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, space: str, device: str, head: HeadIn) -> bool:
        """Store `head` as the device's newest: True if it is the device's first head."""
        h = t.chain_heads.c
        with writing(self.engine) as conn:
            lock_space(conn, space)
            if item_hash(conn, space, device, head.seq) != head.item:
                raise Problem(409, "head-mismatch", "This device has no stored item at this "
                              "sequence number with this hash in this space.")
            where = (h.space_id == space) & (h.device_id == device)
            current = conn.scalar(select(h.device_seq).where(where))
            if current is not None and head.seq < current:
                raise Problem(409, "head-behind", "A head never goes back: this device's "
                              "stored head names a later item.", current_seq=int(current))
            values = {"device_seq": head.seq, "signed_head": head.head, "updated_at": now()}
            if current is None:
                conn.execute(insert(t.chain_heads).values(space_id=space, device_id=device,
                                                          **values))
            else:
                conn.execute(update(t.chain_heads).where(where).values(**values))
        return current is None

    def list(self, space: str, after: str | None, limit: int) -> Heads:
        """The heads of the space's devices, by device id, after the device `after`."""
        h = t.chain_heads.c
        query = select(h.device_id, h.device_seq, h.signed_head, h.updated_at).where(
            h.space_id == space)
        if after:
            query = query.where(h.device_id > after)
        with reading(self.engine) as conn:
            rows = conn.execute(query.order_by(h.device_id).limit(limit + 1)).all()
        heads = [HeadOut(device=r.device_id, seq=r.device_seq, head=bytes(r.signed_head),
                         updated=r.updated_at) for r in rows[:limit]]
        return Heads(heads=heads, more=len(rows) > limit)
