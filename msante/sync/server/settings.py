"""The server's settings: one typed object given to `create_app` (no globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATA_ENV = "MSANTE_SERVER_DATA"
DB_ENV = "MSANTE_SERVER_DB"
MiB = 1024 * 1024


def default_data_dir() -> Path:
    """`$MSANTE_SERVER_DATA`, else the platform's user data folder for "msante-server"."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("msante-server", appauthor=False))


def sqlite_url(data_dir: Path) -> str:
    """The default database: `server.db` (SQLite, WAL) in the data folder."""
    return f"sqlite:///{data_dir / 'server.db'}"


@dataclass(frozen=True)
class Limits:
    """Every bound the server enforces; the defaults suit a family or a practice."""

    max_body: int = 8 * MiB
    """Largest request body; a bigger one is refused with 413 before it is read whole."""
    max_chunk: int = 4 * MiB
    """Largest blob chunk."""
    max_chunks_per_blob: int = 65536
    """Highest chunk index + 1."""
    max_items_per_batch: int = 200
    """Items in one push."""
    max_item_bytes: int = 2 * MiB
    """Largest ciphertext of one item (decoded)."""
    max_envelope_bytes: int = 16 * 1024
    """Largest signed envelope of one item (decoded)."""
    max_bundle_bytes: int = 64 * 1024
    """Largest public key bundle of a device (decoded)."""
    max_pull: int = 500
    """Items in one pull page."""
    max_pull_bytes: int = 8 * MiB
    """Bytes of ciphertext and envelopes in one pull page (always at least one item)."""
    quota_bytes: int = 5 * 1024 * MiB
    """Bytes of items and chunks one account may store."""
    rate_per_second: float = 50.0
    """Requests per second an account (or, before login, an address) may make on average."""
    rate_burst: int = 200
    """Requests allowed at once before the rate applies."""
    token_seconds: int = 900
    """Life of a bearer token."""
    challenge_seconds: int = 120
    """Life of a login challenge."""
    max_chain_entry_bytes: int = 64 * 1024
    """Largest chain entry (decoded; opaque to the server)."""
    max_chain_page: int = 500
    """Chain entries or space events in one page."""
    max_commitment_bytes: int = 1024
    """Largest space event commitment (decoded; opaque to the server)."""
    max_log_entries: int = 1000
    """Log leaves in one `GET /v1/log/entries` page."""
    max_head_bytes: int = 8 * 1024
    """Largest signed chain head (decoded; `msante.sync.items.ChainHead.to_json()`)."""
    max_devices: int = 100
    """Devices one account may have registered (revoked ones count: ids are never reused)."""
    max_spaces_page: int = 1000
    """Spaces in one `GET /v1/spaces` page."""
    link_seconds: int = 600
    """Life of a link rendezvous (from its opening)."""
    max_links: int = 5
    """Rendezvous one account may have open at once."""
    max_join_bytes: int = 64 * 1024
    """Largest join message of a rendezvous (decoded; opaque to the server)."""
    max_reply_bytes: int = 16 * MiB
    """Largest reply message of a rendezvous (decoded; opaque to the server). Its request
    body may pass `max_body`: the body limit of that one route is widened to fit it."""
    max_wrap_bytes: int = 64 * 1024
    """Largest key wrap (a space's scope keys sealed for one device; opaque)."""
    max_recovery_bytes: int = 4 * MiB
    """Largest recovery bundle (decoded; opaque to the server)."""
    max_recovery_bundles: int = 20
    """Recovery bundles one account may have (one per recovery key of its vaults)."""


@dataclass(frozen=True)
class Settings:
    """Where the server keeps its data and how it behaves."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Folder of the blobs (and of the SQLite database by default); created 0700."""
    db_url: str = ""
    """SQLAlchemy URL; empty means SQLite in `data_dir`."""
    limits: Limits = field(default_factory=Limits)
    """Sizes, rates and quotas."""
    log_id: str = "main"
    """Which transparency log of the database this server appends to and signs (one per
    deployment; tests sharing a PostgreSQL database each take their own)."""

    @property
    def database_url(self) -> str:
        """The URL actually used."""
        return self.db_url or sqlite_url(self.data_dir)

    @property
    def blobs_dir(self) -> Path:
        """Where encrypted chunks live."""
        return self.data_dir / "blobs"

    @property
    def log_key_file(self) -> Path:
        """The log's note signing key (0600; never in the database, see logkey.py)."""
        return self.data_dir / f"log-{self.log_id}.key"
