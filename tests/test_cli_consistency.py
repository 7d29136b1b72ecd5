"""Commands that do the same thing behave the same way (issue 11, part 2): one date parser, one
rule for whose records a listing shows, one writer, input checked before the passphrase."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from msante import dates
from msante.errors import ExitCode, UsageError

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DATE_WORDS = "expected a date such as 2026-12-01 or 01/12/2026"


@pytest.mark.parametrize("text", ["2026-12-01", "01/12/2026", "1/12/2026"])
def test_a_day_is_read_in_iso_and_french_forms(text):
    """ISO and French days are the same day."""
    assert dates.parse_day(text) == dt.date(2026, 12, 1)


@pytest.mark.parametrize("text", ["2026-12-01 14:30", "01/12/2026 14h30", "2026-12-01T14:30",
                                  "01/12/2026 14:30", "2026-12-01T14:30:00+01:00"])
def test_a_moment_is_read_in_iso_and_french_forms(text):
    """With a time, every form gives the same moment."""
    assert dates.parse_moment(text, PARIS) == dt.datetime(2026, 12, 1, 14, 30, tzinfo=PARIS)


@pytest.mark.parametrize("text", ["2026-02-30", "31/02/2026", "2026-13-01", "tomorrow", "2026",
                                  "2026-12-01 25:00", "2026-12-01 14"])
def test_a_bad_date_gets_the_one_message(text):
    """Every unreadable date, with or without a time, gets the same words."""
    for parse in (dates.parse_day, lambda t: dates.parse_moment(t, PARIS)):
        with pytest.raises(UsageError, match=DATE_WORDS):
            parse(text)


@pytest.mark.parametrize("args", [
    ["people", "add", "Léo Martin", "--born", "27/04/2019", "--sex", "male"],
    ["doc", "list", "--since", "01/01/2025", "--until", "31/12/2025"],
    ["agenda", "add", "Dentiste", "--at", "03/12/2026 14h30"],
    ["agenda", "list", "--from", "01/12/2026", "--to", "31/12/2026"],
    ["measure", "add", "weight", "72,5", "--at", "12/03/2025 08:30"],
    ["audit", "list", "--since", "01/01/2025"],
])
def test_every_command_takes_french_dates(cli, made, args):
    """A French user's dates are accepted by every command that takes one."""
    r = cli(*args, pfile=made)
    assert r.code == ExitCode.OK, r.err


def test_init_takes_a_french_birth_date(cli, passphrase_file):
    """init --born accepts 02/06/1985 like 1985-06-02."""
    r = cli("init", "--name", "Camille Martin", "--born", "02/06/1985", "--sex", "female",
            "--kdf-memory", "16", "--kdf-iterations", "2", pfile=passphrase_file)
    assert r.code == ExitCode.OK, r.err
    assert cli("people", "list", "--json", pfile=passphrase_file).json()[0]["born"] == \
        "1985-06-02"


BAD_INPUT = [
    ["agenda", "add", "Dentiste", "--at", "2026-02-30 10:00"],
    ["agenda", "edit", "3f2a", "--at", "2026-02-30 10:00"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--duration", "forever"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--remind", "soon"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--repeat", "sometimes"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--tz", "Mars/Olympus"],
    ["agenda", "list", "--from", "31/02/2026"],
    ["agenda", "done", "screen_breast:3:1a2b", "--date", "2026-02-30"],
    ["doc", "list", "--since", "2025-02-30"],
    ["doc", "edit", "3f2a", "--date", "2025-02-30"],
    ["doc", "import", "nothing.pdf", "--date", "2025-02-30"],
    ["measure", "add", "weight", "72,5", "--at", "2025-02-30"],
    ["measure", "add", "weight", "heavy"],
    ["measure", "add", "mood", "3"],
    ["measure", "list", "--since", "2025-02-30"],
    ["audit", "list", "--since", "2025-02-30"],
    ["people", "add", "Léo", "--born", "2019-02-30", "--sex", "male"],
    ["people", "add", "Léo", "--born", "2019-02-03", "--sex", "robot"],
    ["profile", "add", "allergies", "severity=awful"],
    ["profile", "add", "pets", "name=Rex"],
    ["profile", "edit", "3f2a", "since=2025-02-30"],
    ["summary", "--pdf", "/nonexistent/dir/x.pdf"],
    ["backup", "create", "--out", "/nonexistent/dir/b.msb"],
]


@pytest.mark.parametrize("args", BAD_INPUT, ids=[" ".join(a[:2]) + f" {i}"
                                                  for i, a in enumerate(BAD_INPUT)])
def test_input_is_checked_before_the_passphrase(cli, made, args):
    """On a locked vault, a bad value is a usage error (2), not a request to unlock (3)."""
    r = cli(*args)
    assert r.code == ExitCode.USAGE, r.err
    assert "unlock" not in r.err
