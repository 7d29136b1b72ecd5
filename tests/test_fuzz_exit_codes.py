"""Fuzzing for exit 1 "Internal error": an edited vault.json, a forged backup envelope and
random arguments to every command must end with a documented code and message, never with
an internal error. (Exit 1 itself stays documented for "already exists", a read-only record,
an unfit environment: `_run` reports an internal error as -1 to tell them apart.)

Found by outside testing: Infinity in a count or version, a deeply nested vault.json, an
envelope missing a field, an argument that is not UTF-8, `--limit 99999999999999999999999`.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msante import backup, paths
from msante.errors import MsanteError
from msante.formats import archive
from msante.vault import header
from tests.conftest import INIT

QUICK = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
)


def _run(*args: object, stdin: str = "") -> int:
    """msante in-process (stdin is no terminal); the exit code, or -1 for an internal error."""
    import sys

    from msante.cli import main as main_module

    bugs: list[BaseException] = []
    real = main_module.internal_error

    def spy(exc: BaseException) -> int:
        bugs.append(exc)
        return real(exc)

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    main_module.internal_error = spy  # type: ignore[assignment]
    try:
        code = main_module.main([str(a) if not isinstance(a, str) else a for a in args])
    finally:
        sys.stdin = old
        main_module.internal_error = real  # type: ignore[assignment]
    return -1 if bugs else int(code)


@pytest.fixture
def vault_home(home: Path, passphrase_file: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A vault made through the CLI; the passphrase comes from its file; files that commands
    write with relative names land in a scratch folder."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("MSANTE_PASSPHRASE_FILE", str(passphrase_file))
    monkeypatch.setenv("MSANTE_VIEWER", "true")
    monkeypatch.setenv("MSANTE_VIEWER_WAIT", "0")
    assert _run(*INIT) == 0
    yield home


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a JSON object (to pick one to replace)."""
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data)
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


# --- vault.json ------------------------------------------------------------------------------

@QUICK
@given(choice=st.integers(min_value=0), value=WEIRD)
def test_an_edited_header_is_a_documented_error(vault_home: Path, choice: int,
                                                value: Any) -> None:
    """Any one field of vault.json replaced by any JSON value (NaN and Infinity included):
    parsing raises an MsanteError, `status` and a command that unlocks exit with 0 or 2-8."""
    original = paths.header_path(vault_home).read_bytes()
    data = json.loads(original)
    keys = _paths(data)
    edited = _replace(data, keys[choice % len(keys)], value)
    paths.header_path(vault_home).write_text(json.dumps(edited))
    try:
        try:
            header.parse(paths.header_path(vault_home).read_bytes())
        except MsanteError:
            pass
        assert _run("status", "--json") != -1
        assert _run("people", "list", "--json") != -1
    finally:
        paths.header_path(vault_home).write_bytes(original)


@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"format": "msante-vault", "version": Infinity}',
    b'{"format": "msante-vault", "version": NaN}',
    b'{"format": "msante-vault", "version": 1e400}',
    b'{"format": "msante-vault", "version": 1, "chain_head": {"count": Infinity}}',
    b"\xff\xfe not json",
])
def test_the_headers_found_by_testing_are_refused_cleanly(vault_home: Path, raw: bytes) -> None:
    """The reported cases: each is exit 6 (corrupt header), `status` included."""
    original = paths.header_path(vault_home).read_bytes()
    paths.header_path(vault_home).write_bytes(raw)
    try:
        assert _run("status") == 6
        assert _run("people", "list") == 6
    finally:
        paths.header_path(vault_home).write_bytes(original)


def test_a_chain_head_tag_that_is_not_ascii_is_a_forged_head(vault_home: Path) -> None:
    """Found by the fuzz: a tag of "\x80" made hmac.compare_digest raise TypeError (an
    internal error); it is a forged head like any other: listing still works (with the
    warning), `audit verify` says exit 6."""
    original = paths.header_path(vault_home).read_bytes()
    data = json.loads(original)
    data["chain_head"]["tag"] = "\x80"
    paths.header_path(vault_home).write_text(json.dumps(data))
    try:
        assert _run("people", "list", "--json") == 0
        assert _run("audit", "verify") == 6
    finally:
        paths.header_path(vault_home).write_bytes(original)


# --- backup envelope -------------------------------------------------------------------------

def _archive_with(envelope: Any) -> bytes:
    raw = json.dumps(envelope).encode()
    return archive.MAGIC + struct.pack(">I", len(raw)) + raw + b"\0" * 64


@pytest.fixture
def envelope(vault_home: Path, tmp_path: Path) -> dict[str, Any]:
    """The envelope of a real backup of the test vault."""
    out = tmp_path / "b.msb"
    assert _run("backup", "create", "--out", out) == 0
    with out.open("rb") as src:
        return dict(archive.read_envelope(src).data)


@QUICK
@given(choice=st.integers(min_value=0), value=WEIRD, drop=st.booleans())
def test_a_forged_envelope_is_a_documented_error(
        envelope: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
        choice: int, value: Any, drop: bool) -> None:
    """Any envelope field removed or replaced: reading it raises an MsanteError and
    `backup restore` exits with a documented code."""
    keys = _paths(envelope)
    path = keys[choice % len(keys)]
    forged = _replace(envelope, path, value)
    if drop and len(path) == 1:
        forged = {k: v for k, v in envelope.items() if k != path[0]}
    folder = tmp_path_factory.mktemp("forged")
    target = folder / "forged.msb"
    target.write_bytes(_archive_with(forged))
    try:
        with target.open("rb") as src:
            env = archive.read_envelope(src)
            backup.unlock_backup(env, lambda: None, None)
    except MsanteError:
        pass
    old = os.environ["MSANTE_HOME"]
    os.environ["MSANTE_HOME"] = str(folder / "restored")
    try:
        assert _run("backup", "restore", target) != -1
    finally:
        os.environ["MSANTE_HOME"] = old


@pytest.mark.parametrize("field", ["archive_key", "archive_id", "vault", "kind", "version"])
def test_an_envelope_missing_a_field_is_exit_6(envelope: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               field: str) -> None:
    """The reported case: a backup envelope without one of its fields is a corrupt archive."""
    target = tmp_path / "missing.msb"
    target.write_bytes(_archive_with({k: v for k, v in envelope.items() if k != field}))
    monkeypatch.setenv("MSANTE_HOME", str(tmp_path / "restored"))
    assert _run("backup", "restore", target) in (6, 2) if field == "kind" else 6


# --- every command's arguments ---------------------------------------------------------------

SKIP = {"tui", "close", "unlock", "lock", "init", "passwd", "recover"}
"""Commands the fuzz must not run: the TUI, the wipe, the agent, and passphrase changes."""


@functools.cache
def _commands() -> list[tuple[tuple[str, ...], Any]]:
    import typer

    from msante.cli.app import build

    root = typer.main.get_command(build([]))
    out: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                if name not in SKIP:
                    walk(sub, (*path, name))
        elif path:
            out.append((path, command))
    walk(root, ())
    return out


ARG = st.one_of(
    st.text(max_size=12), st.integers().map(str), st.integers(min_value=2**63).map(str),
    st.sampled_from(["", "-1", "0", "2026-02-30", "1e400", "nan", "\udcff\udcfe", "../..",
                     "/dev/null", "-", "--", "99999999999999999999999", "10m", "fr"]),
)


def _argv(command: Any, data: st.DataObject) -> list[str]:
    args: list[str] = []
    for param in command.params:
        if param.name in ("help", "yes") or not data.draw(st.booleans()):
            continue
        opts = [o for o in param.opts if o.startswith("-")]
        if not opts:
            args.append(data.draw(ARG))
        elif getattr(param, "is_flag", False):
            args.append(opts[0])
        else:
            args += [opts[0], data.draw(ARG)]
    return args


# one test per command, so that pytest-xdist spreads them (one test for all took 80 s alone)
COMMAND_PATHS = [" ".join(path) for path, _command in _commands()]


@pytest.mark.slow
@pytest.mark.parametrize("name", COMMAND_PATHS)
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_to_every_command_are_never_an_internal_error(vault_home: Path,
                                                        name: str, data: st.DataObject) -> None:
    """Each command (but the TUI, wipe, agent and passphrase ones) run with random values for
    a random subset of its options: the exit code is documented, never 1."""
    path, command = next((p, c) for p, c in _commands() if " ".join(p) == name)
    argv = [*path, *_argv(command, data)]
    code = _run(*argv)
    assert code != -1, argv
    for leftover in Path.cwd().iterdir():  # the next example starts from the same state
        leftover.unlink() if leftover.is_file() else None


def test_every_command_is_fuzzed() -> None:
    """The parametrisation above covers many commands (guards against testing nothing)."""
    assert len(COMMAND_PATHS) > 40 and "doc list" in COMMAND_PATHS


@pytest.mark.parametrize("argv", [
    ["doc", "list", "--limit", "99999999999999999999999"],
    ["audit", "list", "--limit", "-99999999999999999999999"],
    ["people", "show", "\udcff\udcfe"],
    ["doc", "search", "\udcff"],
])
def test_the_arguments_found_by_testing_are_usage_errors(vault_home: Path,
                                                         argv: list[str]) -> None:
    """The reported cases: exit 2 with a message, not 1."""
    assert _run(*argv) == 2
