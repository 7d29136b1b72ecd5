"""Commands that do the same thing behave the same way (issue 11, part 2): one date parser, one
rule for whose records a listing shows, one writer, input checked before the passphrase."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
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


@pytest.mark.parametrize("text", ["31/02/2019", "2019-13-45", "le 3 mars"])
def test_a_profile_date_gets_the_one_message_too(text):
    """Profile dates may be partial (2019, 03/2019), but a whole day is read by the one
    parser and an unreadable one gets its words."""
    from msante.profile.sections import partial_date

    assert partial_date("12/03/2019", "since") == partial_date("2019-03-12", "since")
    with pytest.raises(UsageError, match=DATE_WORDS):
        partial_date(text, "since")


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
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--duration", "8d"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--remind", "1d,90j"],
    ["agenda", "add", "  ", "--at", "2026-12-01 10:00"],
    ["agenda", "add", "Dentiste", "--at", "1850-12-01 10:00"],
    ["agenda", "edit", "3f2a", "--duration", "2sem"],
    ["agenda", "edit", "3f2a", "--remind", "61d"],
    ["agenda", "edit", "3f2a", "--title", " "],
    ["agenda", "edit", "3f2a", "--at", "2250-01-01 10:00"],
    ["agenda", "add", "Dentiste", "--at", "2026-12-01 10:00", "--tz", "Mars/Olympus"],
    ["agenda", "list", "--from", "31/02/2026"],
    ["agenda", "done", "screen_breast:3:1a2b", "--date", "2026-02-30"],
    ["agenda", "done", "nonsense"],
    ["agenda", "done", "screen_breast:3:1a2b", "--date", "2999-01-01"],
    ["doc", "list", "--since", "2025-02-30"],
    ["doc", "list", "--flag", "sparkly"],
    ["doc", "edit", "3f2a", "--date", "2025-02-30"],
    ["doc", "import", "nothing.pdf", "--date", "2025-02-30"],
    ["measure", "add", "weight", "72,5", "--at", "2025-02-30"],
    ["measure", "add", "weight", "heavy"],
    ["measure", "add", "mood", "3"],
    ["measure", "list", "--since", "2025-02-30"],
    ["measure", "import", "nothing.csv", "--kind", "mood"],
    ["audit", "list", "--since", "2025-02-30"],
    ["people", "add", "Léo", "--born", "2019-02-30", "--sex", "male"],
    ["people", "add", "Léo", "--born", "2019-02-03", "--sex", "robot"],
    ["profile", "add", "allergies", "severity=awful"],
    ["profile", "add", "pets", "name=Rex"],
    ["profile", "edit", "3f2a", "since=2025-02-30"],
    ["summary", "--pdf", "/nonexistent/dir/x.pdf"],
    ["backup", "create", "--out", "/nonexistent/dir/b.msb"],
]


MISSING_FILES = [
    ["agenda", "import", "--ics", "/nonexistent/a.ics"],
    ["fhir", "import", "/nonexistent/ips.json"],
    ["measure", "import", "/nonexistent/m.csv"],
]


@pytest.mark.parametrize("args", MISSING_FILES)
def test_a_missing_file_to_read_is_said_before_the_passphrase(cli, made, args):
    """A file that does not exist is exit 5 on a locked vault, not a request to unlock."""
    r = cli(*args)
    assert r.code == ExitCode.NOT_FOUND and "No file /nonexistent/" in r.err, r.err


@pytest.mark.parametrize("args", BAD_INPUT, ids=[" ".join(a[:2]) + f" {i}"
                                                  for i, a in enumerate(BAD_INPUT)])
def test_input_is_checked_before_the_passphrase(cli, made, args):
    """On a locked vault, a bad value is a usage error (2), not a request to unlock (3)."""
    r = cli(*args)
    assert r.code == ExitCode.USAGE, r.err
    assert "unlock" not in r.err


# -- whose records a listing shows ------------------------------------------------------------

def _two_people(cli, made):
    """The owner and Léo, each with a document, an appointment and a measurement."""
    from tests.pdfgen import lab_report

    assert cli("people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male",
               pfile=made).code == 0
    folder = made.parent
    for who, name in (("Camille Martin", "camille"), ("Léo Martin", "leo")):
        pdf = folder / f"{name}.pdf"
        pdf.write_bytes(lab_report(patient=who))
        assert cli("doc", "import", str(pdf), "--person", who, pfile=made).code in (0, 8)
        assert cli("agenda", "add", f"RDV {name}", "--at", "2030-01-10 10:00", "--person", who,
                   pfile=made).code == 0
        assert cli("measure", "add", "weight", "20", "--person", who, pfile=made).code == 0


LISTINGS = [
    (["doc", "list", "--json"], "person"),
    (["doc", "search", "glycémie", "--json"], "person"),
    (["agenda", "list", "--since", "2030-01-01", "--until", "2030-01-31", "--json"], "person"),
    (["measure", "list", "--json"], "person"),
]


def test_every_listing_shows_the_owner_then_a_person_then_everyone(cli, made):
    """One rule: the owner's by default, --person NAME for one person's, --all for
    everyone's; --person with --all is a usage error."""
    _two_people(cli, made)
    for args, key in LISTINGS:
        def people(*extra: str, args: list[str] = args, key: str = key) -> set[str]:
            r = cli(*args, *extra, pfile=made)
            assert r.code == 0, (args, r.err)
            return {row[key] for row in r.json()}
        assert people() == {"Camille Martin"}, args
        assert people("--person", "leo") == {"Léo Martin"}, args
        assert people("--all") == {"Camille Martin", "Léo Martin"}, args
        both = cli(*args, "--all", "--person", "leo", pfile=made)
        assert both.code == ExitCode.USAGE and "--all" in both.err


def test_profile_show_all_covers_everyone_and_inactive_keeps_entered_in_error(cli, made):
    """profile show follows the rule; entries entered in error moved to --inactive."""
    _two_people(cli, made)
    cli("profile", "add", "allergie", "substance=Pollen", "--person", "leo", pfile=made)
    mine = cli("profile", "show", "--json", pfile=made).json()
    everyone = cli("profile", "show", "--all", "--json", pfile=made).json()
    assert mine == [] and [e["person"] for e in everyone] == ["Léo Martin"]


def test_the_help_of_each_listing_states_the_rule(cli):
    """--person says the owner is the default, --all says everyone."""
    for args in (["doc", "list"], ["doc", "search"], ["agenda", "list"], ["agenda", "due"],
                 ["measure", "list"], ["profile", "show"], ["doc", "trash"]):
        r = cli(*args, "--help")
        text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.out).split())
        assert "--all" in text and "default: the owner's" in text, args


# -- one pair of period options ---------------------------------------------------------------

def test_since_and_until_everywhere_from_and_to_still_read(cli, made):
    """agenda list takes --since/--until like doc list; the old --from/--to still work,
    hidden from the help."""
    cli("agenda", "add", "Dentiste", "--at", "2030-01-10 10:00", pfile=made)
    new = cli("agenda", "list", "--since", "2030-01-01", "--until", "2030-01-31", "--json",
              pfile=made).json()
    old = cli("agenda", "list", "--from", "2030-01-01", "--to", "2030-01-31", "--json",
              pfile=made).json()
    assert [o["title"] for o in new] == [o["title"] for o in old] == ["Dentiste"]
    assert cli("doc", "list", "--from", "2025-01-01", pfile=made).code == 0
    helps = cli("agenda", "list", "--help").out + cli("doc", "list", "--help").out
    assert "--since" in helps and "--until" in helps and "--from" not in helps


# -- agenda list: a bounded window, and a cut that is said -----------------------------------

def test_agenda_list_is_bounded_and_says_when_it_is_cut(cli, made):
    """A weekly appointment: 90 days by default, 20 rows by --limit default, and a line
    saying how many more; --limit 0 shows them all."""
    soon = (dt.datetime.now(PARIS) + dt.timedelta(days=1)).strftime("%Y-%m-%d 10:00")
    cli("agenda", "add", "Kiné", "--at", soon, "--repeat", "weekly", pfile=made)
    r = cli("agenda", "list", "--json", pfile=made)
    assert len(r.json()) == 13 and r.err == ""
    r = cli("agenda", "list", "--until", (dt.date.today() + dt.timedelta(days=366)).isoformat(),
            "--json", pfile=made)
    assert len(r.json()) == 20
    assert "… 33 more; use --until or --limit." in r.err
    r = cli("agenda", "list", "--until", (dt.date.today() + dt.timedelta(days=366)).isoformat(),
            "--limit", "0", "--json", pfile=made)
    assert len(r.json()) == 53 and r.err == ""


def test_a_daily_appointment_over_years_is_not_silently_cut(cli, made):
    """Over the longest window, every occurrence of a daily appointment is counted (the old
    cap of 500 per appointment dropped the rest without a word)."""
    cli("agenda", "add", "Pansement", "--at", "2030-01-01 09:00", "--repeat", "daily",
        pfile=made)
    r = cli("agenda", "list", "--since", "2030-01-01", "--until", "2031-12-31", "--limit", "0",
            "--json", pfile=made)
    assert len(r.json()) == 730
    too_long = cli("agenda", "list", "--since", "2030-01-01", "--until", "2040-01-01",
                   pfile=made)
    assert too_long.code == ExitCode.USAGE and "at most 5 years" in too_long.err


# -- profile entries by id alone --------------------------------------------------------------

def test_profile_remove_and_history_take_the_id_alone(cli, made):
    """The section is known from the id; a section given and wrong names the right one."""
    added = cli("profile", "add", "allergies", "substance=Pollen", "--json", pfile=made).json()
    short = added["id"][:8]
    assert cli("profile", "edit", short, "reaction=rhinite", pfile=made).code == 0
    assert len(cli("profile", "history", short, "--json", pfile=made).json()) == 1
    wrong = cli("profile", "remove", "treatments", short, pfile=made)
    assert wrong.code == ExitCode.USAGE and "belongs to allergies" in wrong.err
    assert cli("profile", "remove", short, pfile=made).code == 0
    assert cli("profile", "show", "--json", pfile=made).json() == []


# -- one writer -------------------------------------------------------------------------------

def _doc(cli, made) -> str:
    from tests.pdfgen import lab_report

    pdf = made.parent / "cr.pdf"
    pdf.write_bytes(lab_report())
    return str(cli("doc", "import", str(pdf), "--json", pfile=made).lines()[0]["id"])


def _writers(doc_id: str, out) -> list[list[str]]:
    """Every command that writes a file, writing to `out`."""
    return [
        ["doc", "export", doc_id, "-o", str(out)],
        ["backup", "create", "--out", str(out)],
        ["agenda", "export", "--ics", str(out)],
        ["summary", "--pdf", str(out)],
        ["summary", "--emergency", "--qr", str(out)],
        ["fhir", "export", "--out", str(out)],
    ]


def test_a_missing_folder_is_one_message_for_every_writer(cli, made, tmp_path):
    """No "Internal error (FileNotFoundError …)": every writer says "Cannot write …", exit 2,
    before the passphrase is asked too."""
    out = tmp_path / "missing" / "dir" / "x.out"
    for args in _writers(_doc(cli, made), out):
        for pfile in (made, None):
            r = cli(*args, pfile=pfile)
            assert r.code == ExitCode.USAGE, (args, r.err)
            assert f"Cannot write {out}: No such file or directory" in r.err, args
            assert "Internal error" not in r.err


def test_every_writer_refuses_an_existing_file_unless_forced(cli, made, tmp_path):
    """A file that exists is kept (the error says --force); with --force it is replaced,
    still mode 0600."""
    out = tmp_path / "there.out"
    for args in _writers(_doc(cli, made), out):
        out.write_bytes(b"old")
        r = cli(*args, pfile=made)
        assert r.code == ExitCode.ERROR and "--force" in r.err, (args, r.err)
        assert out.read_bytes() == b"old"
        r = cli(*args, "--force", pfile=made)
        assert r.code == 0, (args, r.err)
        assert out.read_bytes() != b"old" and oct(out.stat().st_mode & 0o777) == "0o600"
        out.unlink()


@pytest.mark.parametrize("where", ["unaudited", "busy"])
def test_a_failed_audit_with_force_keeps_the_old_file(cli, made, tmp_path, monkeypatch, where):
    """--force replaces a file only once the export is audited: when the audited write fails
    (no entry recorded, or the vault busy at commit) the old bytes are still there, for every
    writer, and no temporary file is left beside them."""
    from msante.errors import BusyError
    from msante.vault import db
    from msante.vault.store import Store
    from tests.conftest import Handover

    doc_id, out = _doc(cli, made), tmp_path / "there.out"
    Handover(cli, made, tmp_path, monkeypatch)
    writers = _writers(doc_id, out) + [["people", "handover", Handover.NAME, "--out", str(out)]]
    if where == "unaudited":
        monkeypatch.setattr(Store, "log", lambda self, tx, *a, **k: None)
    else:
        real = db.write

        @contextlib.contextmanager
        def busy_commit(conn):
            with real(conn) as tx:
                yield tx
                raise BusyError("The vault is in use by another msante process.")
        monkeypatch.setattr(db, "write", busy_commit)
    for args in writers:
        out.write_bytes(b"old")
        r = cli(*args, "--force", pfile=made)
        assert r.code != 0, (args, r.err)
        assert out.read_bytes() == b"old", args
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []


# -- one duration reader ----------------------------------------------------------------------

DURATION_WORDS = "expected a duration such as 90s, 15m, 1h30"


@pytest.mark.parametrize(("french", "english"), [
    ("30j", "30d"), ("2sem", "2w"), ("6mois", "6mo"), ("1a", "1y"), ("2ans", "2years"),
    ("1 heure 30", "1h30m"), ("45mn", "45min"), ("3 jours", "3 days"), ("10 secondes", "10s"),
    ("1an6mois", "18mo")])
def test_a_duration_is_read_in_french_and_english_units(french, english):
    """Every command reads durations with one reader that knows both languages' units."""
    from msante import durations

    assert durations.parse(french, "x").fixed_seconds() == \
        durations.parse(english, "x").fixed_seconds() > 0


@pytest.mark.parametrize("args", [
    ["doc", "purge", "--older-than", "30j", "--yes"],
    ["doc", "purge", "--older-than", "6mois", "--yes"],
    ["agenda", "due", "--horizon", "6mois"],
    ["agenda", "due", "--horizon", "1an"],
    ["agenda", "add", "Kiné", "--at", "2030-01-10 10:00", "--duration", "1heure",
     "--remind", "2j,1sem"],
    ["unlock", "--timeout", "1heure"],
    ["--lang", "fr", "doc", "purge", "--older-than", "2weeks", "--yes"],
    ["--lang", "fr", "agenda", "due", "--horizon", "6mo"],
    ["--lang", "en", "agenda", "due", "--horizon", "2ans"],
])
def test_every_command_takes_french_durations(cli, made, args):
    """30j, 2sem, 6mois, 1a… are accepted wherever a duration is typed."""
    r = cli(*args, pfile=made)
    assert r.code == ExitCode.OK, (args, r.err)
    cli("lock")


def test_a_duration_out_of_its_limits_says_them():
    """Too long, not whole minutes, or minutes for a horizon: exit 2 with the limits in words;
    a horizon in weeks or days rounds up to a month."""
    from msante import durations

    with pytest.raises(UsageError, match="between 1 second and 7 days"):
        durations.seconds("8j", "timeout", low=1, high=7 * durations.DAY)
    with pytest.raises(UsageError, match="whole minutes"):
        durations.minutes("90s", "reminder")
    with pytest.raises(UsageError, match="between 1 day and 20 years"):
        durations.months("12m", "horizon", high=240)
    assert [durations.months(t, "horizon", high=240) for t in ("3w", "1a6mois", "2y")] == \
        [1, 18, 24]


def test_a_period_back_takes_the_units_of_every_duration():
    """measure --since reads a period back with the one reader's units too (the short 6m and
    2s of before still mean months and weeks there)."""
    from msante.measures.service import since_utc

    today = dt.date(2025, 3, 31)
    for french, english in (("6mois", "6mo"), ("2sem", "2w"), ("1an", "1y"), ("30jours", "30d"),
                            ("1 an 6 mois", "18mo"), ("2 semaines", "2s"), ("3 mois", "3m")):
        assert since_utc(french, today) == since_utc(english, today), french


BAD_DURATIONS = [
    ["doc", "purge", "--older-than", "soon", "--yes"],
    ["doc", "purge", "--older-than", "1h1h", "--yes"],
    ["agenda", "due", "--horizon", "forever"],
    ["agenda", "add", "Kiné", "--at", "2030-01-10 10:00", "--duration", "1.5h"],
    ["agenda", "add", "Kiné", "--at", "2030-01-10 10:00", "--remind", "1d,bientôt"],
    ["unlock", "--timeout", "bogus"],
]


@pytest.mark.parametrize("args", BAD_DURATIONS)
def test_a_bad_duration_gets_the_one_message_before_the_passphrase(cli, made, args):
    """An unreadable duration: exit 2 on a locked vault, with the same words everywhere."""
    r = cli(*args)
    assert r.code == ExitCode.USAGE, (args, r.err)
    assert DURATION_WORDS in r.err and "unlock the vault" not in r.err.lower(), r.err


# -- remind keeps its promise -----------------------------------------------------------------

def test_remind_exits_0_when_the_vault_is_locked(cli, made):
    """Made for cron: locked, one line on stderr and exit 0; the help says how to get
    reminders while locked."""
    r = cli("remind")
    assert r.code == 0 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and "locked" in r.err
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", cli("remind", "--help").out).split())
    assert "MSANTE_PASSPHRASE_FILE" in text and "msante unlock" in text


# -- agenda import: two events without a UID ----------------------------------------------------

TWIN_EVENTS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
DTSTAMP:20260101T000000Z
DTSTART:20300110T090000Z
SUMMARY:Kiné
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20260101T000000Z
DTSTART:20300110T090000Z
SUMMARY:Kiné
END:VEVENT
END:VCALENDAR
"""


def test_two_events_without_uid_alike_are_reported_not_a_crash(cli, made, tmp_path):
    """The second is "the same as an earlier event": reported, exit 8 (it was exit 1,
    IntegrityError)."""
    path = tmp_path / "twins.ics"
    path.write_text(TWIN_EVENTS.replace("\n", "\r\n"))
    r = cli("agenda", "import", "--ics", str(path), "--json", pfile=made)
    assert r.code == ExitCode.PARTIAL, r.err
    report = r.json()
    assert report["added"] == 1
    assert [s["reason"] for s in report["skipped"]] == [
        "it is the same as an earlier event of the file"]


# -- French words, in both languages --------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "fr"])
def test_french_words_are_understood_in_both_languages(cli, made, lang):
    """--sex F/femme/féminin, --relation enfant, section allergie, severity=sévère."""
    for i, sex in enumerate(("F", "femme", "féminin", "H", "masculin")):
        r = cli("--lang", lang, "people", "add", f"Enfant {i}", "--born", "2019-04-27",
                "--sex", sex, "--relation", "enfant", "--json", pfile=made)
        assert r.code == 0, r.err
        assert r.json()["sex"] == ("female" if i < 3 else "male")
    r = cli("--lang", lang, "profile", "add", "allergie", "substance=Pollen", "severity=sévère",
            "type=intolérance", "category=alimentaire", "--json", pfile=made)
    assert r.code == 0, r.err
    assert {k: r.json()["fields"][k] for k in ("severity", "type", "category")} == {
        "severity": "severe", "type": "intolerance", "category": "food"}
    assert cli("--lang", lang, "agenda", "due", "--horizon", "2a", pfile=made).code == 0
    assert cli("--lang", lang, "doc", "list", "--flag", "chiffré", pfile=made).code == 0
    for section, fields in (("traitement", "medicine=Doliprane"),
                            ("antécédents", "condition=Asthme"),
                            ("habitudes", "topic=tabac text=non"),
                            ("dépistage", "screening=frottis date=2024-01-10"),
                            ("groupe sanguin", "group=A+")):
        r = cli("--lang", lang, "profile", "add", section, *fields.split(), pfile=made)
        assert r.code == 0, (section, r.err)
