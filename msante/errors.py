"""Every expected failure of msante, as one hierarchy; each carries its exit code.

    MsanteError                       1  anything else
    ├── UsageError                    2  bad arguments, bad dates, unknown names
    │   └── ConfirmationRequired      2  a destructive command without a terminal or --yes
    ├── LockedError                   3  no key available: unlock first
    ├── WrongKeyError                 4  wrong passphrase or recovery key
    ├── NotFoundError                 5  no vault, no such person, record or file
    ├── IntegrityError                6  tampered or corrupt file, broken audit chain
    │   ├── UnsupportedError          6  a vault or archive this version cannot read
    │   └── DecryptError              6  a ciphertext that does not authenticate
    ├── BusyError                     7  the vault is used by another process
    ├── PartialError                  8  some items failed or were stored with a flag
    ├── ConflictError                 7  a record changed since the revision a write used
    ├── AlreadyExistsError            1  a vault already there, a duplicate name
    ├── ReadOnlyError                 1  a record that may be read but not changed
    ├── EnvironmentProblem            1  a wrong SQLCipher build, an unsafe directory
    └── SyncError                     1  the sync server refused a request (its detail given)
        ├── ServerUnreachable         1  no connection: refused, name unknown, timeout, TLS
        ├── InsecureServer            2  plain http:// to a host that is not loopback, a bad URL
        ├── LoginRefused              4  the server does not accept this device's login
        ├── ServerNotFound            5  no msante server at that address, or no such space
        ├── BadServerAnswer           6  an answer that is not the msante API (garbage)
        └── ServerBusy                7  rate limited, unavailable or a conflict: try again

A SyncError subclass is also the matching class above (LoginRefused is a WrongKeyError…), so
code that handles "wrong key" or "integrity" handles the sync's cases too.

Messages are user-facing and already translated; the CLI prints them on one line to stderr.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes every command shares (documented in docs/cli.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    LOCKED = 3
    WRONG_KEY = 4
    NOT_FOUND = 5
    INTEGRITY = 6
    BUSY = 7
    PARTIAL = 8


class MsanteError(Exception):
    """Base of every expected failure; `str(e)` is the user-facing message."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(MsanteError):
    """The user's input is wrong (a date, a name, an option)."""

    exit_code = ExitCode.USAGE


class ConfirmationRequired(UsageError):
    """A destructive command needs a terminal to confirm, or --yes."""


class LockedError(MsanteError):
    """No key could be obtained without a terminal."""

    exit_code = ExitCode.LOCKED


class WrongKeyError(MsanteError):
    """The passphrase or recovery key does not open the vault."""

    exit_code = ExitCode.WRONG_KEY


class NotFoundError(MsanteError):
    """A vault, person, record or file that does not exist."""

    exit_code = ExitCode.NOT_FOUND


class IntegrityError(MsanteError):
    """Something was tampered with or is corrupt."""

    exit_code = ExitCode.INTEGRITY


class UnsupportedError(IntegrityError):
    """A format version or parameters this version refuses to use."""


class DecryptError(IntegrityError):
    """A ciphertext did not authenticate: wrong key, wrong context, or tampered data."""

    def __init__(self, message: str | None = None) -> None:
        from msante.i18n import _

        super().__init__(message or _("decryption failed: wrong key or tampered data"))


class BusyError(MsanteError):
    """Another process holds the vault."""

    exit_code = ExitCode.BUSY


class PartialError(MsanteError):
    """Part of a batch failed or was stored with a flag."""

    exit_code = ExitCode.PARTIAL


class ConflictError(MsanteError):
    """A record changed since the revision a write was based on (read it again)."""

    exit_code = ExitCode.BUSY


class AlreadyExistsError(MsanteError):
    """Something that must be unique already exists."""


class ReadOnlyError(MsanteError):
    """The record may be read but not changed (a child's profile after majority)."""


class EnvironmentProblem(MsanteError):
    """The machine is not fit to run the vault safely."""


class SyncError(MsanteError):
    """The sync server refused a request; the message carries the problem's detail."""


class ServerUnreachable(SyncError):
    """The server cannot be reached: connection refused, unknown name, timeout, TLS failure."""


class InsecureServer(SyncError, UsageError):
    """A server URL msante refuses: plain HTTP off loopback without --insecure, or malformed."""


class LoginRefused(SyncError, WrongKeyError):
    """The server does not accept this device's signed login."""


class ServerNotFound(SyncError, NotFoundError):
    """No msante server answers at that address, or it has no such space."""


class BadServerAnswer(SyncError, IntegrityError):
    """The server answered something that is not the msante API (not JSON, wrong shape)."""


class ServerBusy(SyncError, BusyError):
    """The server asks to wait (rate limit, unavailable) or refused a stale write."""
