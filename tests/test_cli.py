"""The command-line contracts of DESIGN.md, exercised in-process: exit codes, --json, passphrase
sources, confirmations, person matching. Each test names the promise it checks."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from msante.errors import ExitCode
from tests.conftest import INIT, PASSPHRASE


def test_init_status_without_key_shows_header_only(cli, made, home):
    """`status` never asks: locked, it shows what the plaintext header allows."""
    r = cli("status", "--json")
    assert r.code == 0
    data = r.json()
    assert data["locked"] is True and data["format_version"] == 1
    assert data["path"] == str(home) and "people" not in data
    assert "salt" not in data["kdf"]


def test_init_refuses_a_weak_passphrase_and_creates_nothing(cli, home, tmp_path):
    """A weak passphrase is refused with its reason, exit 2, and no vault is left."""
    for weak, reason in [("short", "too short"), ("motdepasse123456", "too common")]:
        r = cli(*INIT, "--passphrase-stdin", stdin=weak + "\n")
        assert r.code == ExitCode.USAGE and reason in r.err.lower()
    assert not (home / "vault.json").exists()


def test_init_refuses_a_passphrase_made_of_the_name(cli, home):
    """The owner's own name is not a passphrase."""
    r = cli(*INIT, "--passphrase-stdin", stdin="Camille  Martin 1985\n")
    assert r.code == ExitCode.USAGE and "guess" in r.err


def test_recovery_key_file_is_private_and_shown_nowhere_else(cli, made, passphrase_file):
    """--recovery-key-file writes a new 0600 file and does not print the key."""
    rk = passphrase_file.parent / "rk"
    assert oct(rk.stat().st_mode & 0o777) == "0o600"
    assert len(rk.read_text().strip().split("-")) >= 8


def test_init_twice_is_refused(cli, made):
    """A vault is never overwritten by init."""
    r = cli(*INIT, pfile=made)
    assert r.code == ExitCode.ERROR and "already exists" in r.err


def test_locked_without_terminal_says_how_to_unlock(cli, made):
    """No source and no terminal: exit 3 with a line naming the ways to unlock."""
    r = cli("people", "list")
    assert r.code == ExitCode.LOCKED
    assert "msante unlock" in r.err and "MSANTE_PASSPHRASE_FILE" in r.err
    assert "Traceback" not in r.err


def test_no_vault_is_not_found(cli):
    """Commands on a home without a vault exit 5 and say how to create one."""
    r = cli("people", "list", "--passphrase-stdin", stdin=PASSPHRASE)
    assert r.code == ExitCode.NOT_FOUND and "msante init" in r.err


def test_wrong_passphrase_exits_4_and_changes_nothing(cli, made, home):
    """A wrong passphrase is exit 4, says nothing changed, and leaves the files as they were."""
    before = (home / "vault.json").read_bytes()
    r = cli("people", "add", "Léo", "--born", "2019-04-27", "--sex", "male",
            "--passphrase-stdin", stdin="not the passphrase at all\n")
    assert r.code == ExitCode.WRONG_KEY and "Nothing was changed" in r.err
    assert (home / "vault.json").read_bytes() == before


def test_passphrase_stdin_is_global_and_normalised(cli, made):
    """--passphrase-stdin works anywhere on the line; one newline is stripped; NFC applies."""
    decomposed = unicodedata.normalize("NFD", PASSPHRASE)
    r = cli("--passphrase-stdin", "people", "list", "--json", stdin=decomposed + "\n")
    assert r.code == 0, r.err
    r = cli("people", "list", "--passphrase-stdin", "--json", stdin=PASSPHRASE + "\n")
    assert [p["name"] for p in r.json()] == ["Camille Martin"]


def test_passphrase_file_open_to_others_gets_a_warning(cli, made):
    """A passphrase file others can read still works, with a warning."""
    made.chmod(0o644)
    r = cli("people", "list", pfile=made)
    assert r.code == 0 and "chmod 600" in r.err


def test_people_lifecycle_json_and_matching(cli, made):
    """people add/list/show/remove, JSON keys, names matched ignoring case and accents."""
    r = cli("people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male", "--json",
            pfile=made)
    assert r.code == 0, r.err
    leo = r.json()
    assert set(leo) >= {"id", "name", "born", "sex", "relation", "majority", "read_only"}
    assert leo["majority"] == "2037-04-27" and leo["read_only"] is False
    shown = cli("people", "show", "LEO martin", "--json", pfile=made).json()
    assert shown["id"] == leo["id"] and len(shown["fingerprint"].split()) == 8
    assert cli("people", "show", leo["id"][:8], "--json", pfile=made).json()["id"] == leo["id"]
    dup = cli("people", "add", "leo MARTIN", "--born", "2019-04-27", "--sex", "male", pfile=made)
    assert dup.code == ExitCode.ERROR and "already exists" in dup.err


def test_people_remove_needs_confirmation_without_terminal(cli, made):
    """A destructive command without a terminal and without --yes refuses (exit 2)."""
    cli("people", "add", "Léo", "--born", "2019-04-27", "--sex", "male", pfile=made)
    r = cli("people", "remove", "Léo", pfile=made)
    assert r.code == ExitCode.USAGE and "--yes" in r.err
    assert len(cli("people", "list", "--json", pfile=made).json()) == 2
    assert cli("people", "remove", "Léo", "--yes", pfile=made).code == 0
    assert len(cli("people", "list", "--json", pfile=made).json()) == 1


def test_owner_cannot_be_removed(cli, made):
    """Removing the owner would orphan the vault: refused, pointing to close."""
    r = cli("people", "remove", "Camille Martin", "--yes", pfile=made)
    assert r.code == ExitCode.USAGE and "msante close" in r.err


@pytest.mark.parametrize("args,needle", [
    (["people", "add", "X", "--born", "2019-13-01", "--sex", "male"], "2026-12-01 or 01/12/2026"),
    (["people", "add", "X", "--born", "2300-01-01", "--sex", "male"], "between 1900"),
    (["people", "add", "X", "--born", "2019-01-01", "--sex", "robot"], "female, male or other"),
    (["people", "add", "X", "--born", "2019-01-01", "--sex", "male", "--relation", "boss"],
     "child or other"),
    (["audit", "list", "--since", "yesterday"], "2026-12-01 or 01/12/2026"),
])
def test_bad_input_is_one_clear_line_exit_2(cli, made, args, needle):
    """Bad dates and enumerations: exit 2, one line naming the problem, no traceback."""
    r = cli(*args, pfile=made)
    assert r.code == ExitCode.USAGE and needle in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_usage_errors_exit_2(cli):
    """Unknown commands, options and missing arguments are usage errors (exit 2)."""
    assert cli("frobnicate").code == ExitCode.USAGE
    r = cli("status", "--bogus")
    assert r.code == ExitCode.USAGE and "--bogus" in r.err
    assert cli("people", "add").code == ExitCode.USAGE
    assert cli("--lang", "de", "status").code == ExitCode.USAGE


def test_majority_and_handover_cycle(cli, made, home, tmp_path):
    """A child who came of age is read-only and can be handed over; a young one cannot."""
    cli("people", "add", "Jeanne Martin", "--born", "2004-02-29", "--sex", "female", pfile=made)
    cli("people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male", pfile=made)
    jeanne = cli("people", "show", "jeanne martin", "--json", pfile=made).json()
    assert jeanne["majority"] == "2022-03-01" and jeanne["read_only"] is True
    young = cli("people", "handover", "Léo Martin", "--out", str(tmp_path / "x"), pfile=made)
    assert young.code == ExitCode.USAGE and not (tmp_path / "x").exists()
    out = tmp_path / "jeanne.msh"
    r = cli("people", "handover", "Jeanne Martin", "--out", str(out), "--json", pfile=made)
    assert r.code == 0 and oct(out.stat().st_mode & 0o777) == "0o600"
    code = r.json()["code"]
    # Jeanne's own new vault imports it and attaches it to her own profile.
    os.environ["MSANTE_HOME"] = str(tmp_path / "jeanne-home")
    init = cli("init", "--name", "Jeanne Martin", "--born", "2004-02-29", "--sex", "female",
               "--kdf-memory", "16", "--kdf-iterations", "2", pfile=made)
    assert init.code == 0, init.err
    (tmp_path / "code").write_text(code.lower().replace("-", " "))
    wrong = tmp_path / "wrong"
    wrong.write_text(code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert cli("backup", "restore", str(out), "--merge", "--code-file", str(wrong),
               pfile=made).code in (ExitCode.USAGE, ExitCode.INTEGRITY)
    m = cli("backup", "restore", str(out), "--merge", "--code-file", str(tmp_path / "code"),
            "--json", pfile=made)
    assert m.code == 0, m.err
    assert m.json()["created"] is False and m.json()["person"] == "Jeanne Martin"


def test_audit_list_json_and_filters(cli, made):
    """audit list --json: stable keys, newest first, filter by action and person."""
    cli("people", "add", "Léo", "--born", "2019-04-27", "--sex", "male", pfile=made)
    items = cli("audit", "list", "--json", pfile=made).json()
    assert [e["action"] for e in items] == ["person.add", "person.add", "vault.create"]
    assert set(items[0]) >= {"seq", "at", "actor", "action", "person", "record", "detail"}
    only = cli("audit", "list", "--person", "leo", "--json", pfile=made).json()
    assert [e["person_name"] for e in only] == ["Léo"]
    assert len(cli("audit", "list", "--action", "vault", "--json", pfile=made).json()) == 1
    assert cli("audit", "verify", pfile=made).code == 0


def test_backup_restore_round_trip_and_refusals(cli, made, home, tmp_path):
    """A backup restores in an empty home with the same identity; never over a vault."""
    cli("people", "add", "Léo", "--born", "2019-04-27", "--sex", "male", pfile=made)
    out = tmp_path / "b.msb"
    assert cli("backup", "create", "--out", str(out), pfile=made).code == 0
    assert cli("backup", "create", "--out", str(out), pfile=made).code == ExitCode.ERROR
    assert cli("backup", "restore", str(out), pfile=made).code == ExitCode.ERROR
    os.environ["MSANTE_HOME"] = str(tmp_path / "new-home")
    r = cli("backup", "restore", str(out), "--recovery-key-file", str(made.parent / "rk"),
            "--json")
    assert r.code == 0, r.err
    assert r.json()["audit_ok"] is True
    names = [p["name"] for p in cli("people", "list", "--json", pfile=made).json()]
    assert names == ["Camille Martin", "Léo"]
    assert cli("audit", "verify", pfile=made).code == 0


def test_passwd_and_recover(cli, made, tmp_path):
    """passwd rewraps the key: the old passphrase fails, the new works; recover resets it."""
    new = tmp_path / "new"
    new.write_text("a brand new passphrase for camille\n")
    assert cli("passwd", "--new-passphrase-file", str(new), pfile=made).code == 0
    assert cli("people", "list", pfile=made).code == ExitCode.WRONG_KEY
    assert cli("people", "list", pfile=new).code == 0
    weak = tmp_path / "weak"
    weak.write_text("azerty\n")
    assert cli("passwd", "--new-passphrase-file", str(weak), pfile=new).code == ExitCode.USAGE
    r = cli("recover", "--recovery-key-file", str(made.parent / "rk"),
            "--new-passphrase-file", str(made))
    assert r.code == 0, r.err
    assert cli("people", "list", pfile=made).code == 0
    actions = [e["action"] for e in cli("audit", "list", "--json", pfile=made).json()]
    assert actions[:2] == ["vault.passwd", "vault.passwd"]


def test_unlock_status_lock(cli, made, home):
    """unlock starts the agent (later commands need no passphrase); lock ends it."""
    assert cli("unlock", "--timeout", "bogus", pfile=made).code == ExitCode.USAGE
    assert cli("unlock", "--timeout", "10m", pfile=made).code == 0
    status = cli("status", "--json").json()
    assert status["locked"] is False and status["schema_version"] >= 2
    assert [p["name"] for p in status["people"]] == ["Camille Martin"]
    assert cli("people", "list", "--json").code == 0
    assert cli("lock").code == 0
    assert cli("status", "--json").json()["locked"] is True
    assert cli("people", "list").code == ExitCode.LOCKED


def test_close_needs_confirmation_then_wipes(cli, made, home, tmp_path):
    """close refuses without --yes off a terminal; with --yes and --backup it backs up, wipes."""
    r = cli("close", pfile=made)
    assert r.code == ExitCode.USAGE and (home / "vault.json").exists()
    final = tmp_path / "final.msb"
    assert cli("close", "--yes", "--backup", str(final), pfile=made).code == 0
    assert final.exists() and not (home / "vault.json").exists()
    assert not (home / "vault.db").exists()


def test_every_command_has_help_with_an_example():
    """Each command's help ends with an example (STYLE: sqlite-utils)."""
    import typer

    from msante.cli.app import REGISTRY, build

    group = typer.main.get_command(build([]))
    for name in REGISTRY:
        cmd = group.commands[name]  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", {name: cmd})
        for sub_name, sub in subs.items():
            assert "Example: msante" in (sub.help or ""), f"{name} {sub_name} has no example"


def test_every_command_is_documented():
    """docs/cli.md names every command and the exit codes."""
    import typer

    from msante.cli.app import REGISTRY, build

    doc = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
    group = typer.main.get_command(build([]))
    for name in REGISTRY:
        cmd = group.commands[name]  # type: ignore[attr-defined]
        for sub in getattr(cmd, "commands", {"": None}):
            full = f"msante {name} {sub}".strip()
            assert f"`{full}" in doc, f"{full} is not in docs/cli.md"
    for code in ExitCode:
        assert f"| {int(code)} " in doc


def test_passwd_never_reuses_the_current_passphrase_source(cli, made):
    """With MSANTE_PASSPHRASE_FILE and no --new-passphrase-file and no terminal, passwd must
    not read the same file as the new passphrase and claim a change: it refuses (exit 3)."""
    r = cli("passwd", pfile=made)
    assert r.code == ExitCode.LOCKED and "--new-passphrase-file" in r.err
    assert "changed" not in r.err.lower()


def test_restoring_a_handover_without_merge_is_a_usage_error(cli, made, tmp_path):
    """A handover archive given to a plain restore says to use --merge (exit 2)."""
    cli("people", "add", "Jeanne", "--born", "2004-02-29", "--sex", "female", pfile=made)
    out = tmp_path / "j.msh"
    assert cli("people", "handover", "Jeanne", "--out", str(out), pfile=made).code == 0
    os.environ["MSANTE_HOME"] = str(tmp_path / "elsewhere")
    r = cli("backup", "restore", str(out), pfile=made)
    assert r.code == ExitCode.USAGE and "--merge" in r.err


def test_a_handover_archive_imports_once(cli, made, tmp_path):
    """The one-time code is one time: a second import of the same archive is refused."""
    cli("people", "add", "Jeanne", "--born", "2004-02-29", "--sex", "female", pfile=made)
    out = tmp_path / "j.msh"
    code = cli("people", "handover", "Jeanne", "--out", str(out), "--json", pfile=made).json()
    (tmp_path / "code").write_text(code["code"])
    args = ("backup", "restore", str(out), "--merge", "--code-file", str(tmp_path / "code"))
    assert cli(*args, pfile=made).code == 0
    again = cli(*args, pfile=made)
    assert again.code == ExitCode.ERROR and "already imported" in again.err


def test_close_refuses_before_writing_a_backup_without_confirmation(cli, made, home, tmp_path):
    """close --backup without --yes off a terminal writes nothing at all."""
    final = tmp_path / "final.msb"
    assert cli("close", "--backup", str(final), pfile=made).code == ExitCode.USAGE
    assert not final.exists() and (home / "vault.json").exists()


def test_status_does_not_keep_the_agent_alive(cli, made, home):
    """Polling status must not count as use: its idle clock keeps running."""
    import time

    from msante.vault import agent

    assert cli("unlock", "--timeout", "1h", pfile=made).code == 0
    first = agent.status(home)["idle_remaining"]
    time.sleep(1.2)
    cli("status", "--json")
    assert agent.status(home)["idle_remaining"] < first - 1


def test_an_unsafe_runtime_dir_is_reported_not_fatal(cli, made, home, tmp_path, monkeypatch):
    """An agent dir open to others is not trusted: status says so and stays usable; commands
    fall back to the other passphrase sources."""
    runtime = tmp_path / "unsafe-run"
    (runtime / "msante").mkdir(parents=True)
    (runtime / "msante").chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    r = cli("status", "--json")
    assert r.code == 0 and r.json()["locked"] is True and "open to other" in r.json()["warning"]
    r = cli("people", "list", "--json", pfile=made)
    assert r.code == 0


def test_audit_since_is_a_local_day(cli, made):
    """--since is a day in the local time zone; today's entries are included."""
    import datetime as dt

    today = dt.date.today().isoformat()
    assert len(cli("audit", "list", "--since", today, "--json", pfile=made).json()) == 2
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert cli("audit", "list", "--since", tomorrow, "--json", pfile=made).json() == []
