"""The agenda's appointments: time zones (stored in UTC with their zone, shown in local time,
DST-safe repetition), durations, reminders, repetition rules, edits and removal, each audited;
marking prevention items done; `msante remind` for cron — through the service and the CLI."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from msante.agenda import times
from msante.errors import ExitCode, NotFoundError, UsageError

PARIS = ZoneInfo("Europe/Paris")


def test_a_local_time_is_stored_in_utc_with_its_zone_and_shown_back_local(vault) -> None:
    """14:30 in Paris in winter is 13:30 UTC; the zone is kept so it shows as 14:30 again."""
    owner = vault.people.owner()
    item = vault.agenda.add(owner, "Dentiste", dt.datetime(2026, 12, 3, 14, 30, tzinfo=PARIS),
                            duration_min=45, reminders=[1440, 120])
    assert item.starts_at.startswith("2026-12-03T13:30:00") and item.tz == "Europe/Paris"
    data = item.to_json()
    assert data["start"] == "2026-12-03T14:30:00+01:00"
    assert data["end"] == "2026-12-03T15:15:00+01:00"
    assert data["reminders_min"] == [1440, 120]


def test_a_weekly_appointment_keeps_its_local_hour_across_the_dst_change(vault) -> None:
    """Paris leaves summer time on 2026-10-25: 09:00 stays 09:00 local, not 08:00."""
    owner = vault.people.owner()
    start = dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS)
    vault.agenda.add(owner, "Kiné", start, rrule="weekly")
    got = vault.agenda.list(owner, dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
                            dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    assert [o.local().strftime("%m-%d %H:%M") for o in got] == [
        "10-19 09:00", "10-26 09:00", "11-02 09:00"]
    assert [o.start.hour for o in got] == [7, 8, 8]  # UTC moves, the local hour does not


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01 14:30", dt.datetime(2026, 12, 1, 14, 30, tzinfo=PARIS)),
    ("01/12/2026 9h05", dt.datetime(2026, 12, 1, 9, 5, tzinfo=PARIS)),
    ("2026-12-01", dt.datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)),
    ("2026-12-01T14:30:00+00:00", dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC)),
])
def test_moments_typed_by_a_person(text, expected) -> None:
    """ISO, French day-first with 'h', a date alone (midnight), or an explicit offset."""
    assert times.moment(text, PARIS) == expected


@pytest.mark.parametrize("bad", ["2026-13-01 10:00", "31/02/2026", "demain", ""])
def test_bad_moments_are_usage_errors(bad) -> None:
    """A wrong date is refused with an example of a right one."""
    with pytest.raises(UsageError, match="2026-12-01 14:30"):
        times.moment(bad, PARIS)


def test_durations_reminders_and_repetitions() -> None:
    """30m, 1h30, 2d; reminders sorted largest first; aliases become RRULEs; bad ones refused."""
    assert [times.minutes(t, "x") for t in ("30m", "1h30", "2h", "1d", "2j")] == [
        30, 90, 120, 1440, 2880]
    assert times.reminders("2h, 1d") == [1440, 120]
    start = dt.datetime(2026, 12, 1, 9, tzinfo=PARIS)
    assert times.repeat_rule("weekly", start) == "FREQ=WEEKLY"
    assert times.repeat_rule("RRULE:freq=monthly;count=3", start) == "FREQ=MONTHLY;COUNT=3"
    for bad in ("1 fois", "10x"):
        with pytest.raises(UsageError):
            times.minutes(bad, "x")
    with pytest.raises(UsageError, match="RFC 5545"):
        times.repeat_rule("FREQ=SOMETIMES", start)
    with pytest.raises(UsageError, match="time zone"):
        times.zone("Mars/Olympus")


def test_appointments_refuse_nonsense(vault) -> None:
    """No title, a zero or week-long duration, a reminder 90 days ahead: refused."""
    owner, start = vault.people.owner(), dt.datetime(2026, 12, 3, 14, tzinfo=PARIS)
    for kwargs in ({"title": " "}, {"duration_min": 0}, {"duration_min": 8 * 1440},
                   {"reminders": [90 * 1440]}):
        args = {"title": "RDV"} | kwargs
        title = args.pop("title")
        with pytest.raises(UsageError):
            vault.agenda.add(owner, title, start, **args)
    assert vault.agenda.list(owner, start - dt.timedelta(days=1)) == []


def test_edit_and_remove_are_audited_and_remove_keeps_no_content(vault) -> None:
    """Each change is one audit entry; a removed appointment leaves only its id."""
    owner = vault.people.owner()
    item = vault.agenda.add(owner, "Ophtalmo", dt.datetime(2027, 1, 5, 10, tzinfo=PARIS),
                            location="Clinique", note="apporter les lunettes")
    moved = vault.agenda.edit(item.id[:6], {"start": dt.datetime(2027, 1, 6, 11,
                                                                 tzinfo=PARIS)},
                             revision=item.revision)
    assert moved.local().hour == 11 and moved.revision == 2
    with pytest.raises(UsageError, match="Nothing to change"):
        vault.agenda.edit(item.id, {"title": "Ophtalmo"}, revision=moved.revision)
    vault.agenda.remove(item.id)
    with pytest.raises(NotFoundError):
        vault.agenda.get(item.id)
    row = vault.store.conn.execute("SELECT title, location, note, deleted FROM agenda_items "
                                   "WHERE id = ?", (item.id,)).fetchone()
    assert tuple(row) == ("", None, None, 1)
    actions = [r[0] for r in vault.store.conn.execute(
        "SELECT action FROM audit ORDER BY seq DESC LIMIT 3").fetchall()]
    assert actions == ["agenda.remove", "agenda.edit", "agenda.add"]


def test_reminders_come_due_before_the_start_and_not_after(vault) -> None:
    """A 1-day reminder is due from the day before until the appointment starts."""
    owner = vault.people.owner()
    start = dt.datetime(2026, 12, 3, 14, 30, tzinfo=PARIS)
    vault.agenda.add(owner, "Dentiste", start, reminders=[1440])
    vault.agenda.add(owner, "Sans rappel", start)
    at = start.astimezone(dt.UTC)
    due = lambda now: [o.appointment.title for o in vault.agenda.reminders_due(now, [owner])]  # noqa: E731
    assert due(at - dt.timedelta(days=2)) == []
    assert due(at - dt.timedelta(hours=20)) == ["Dentiste"]
    assert due(at + dt.timedelta(minutes=1)) == []


def test_an_adult_childs_agenda_is_read_only(vault) -> None:
    """Past majority, the child's agenda is theirs."""
    grown = vault.people.add("Emma Martin", "2000-01-01", "female")
    from msante.errors import ReadOnlyError

    with pytest.raises(ReadOnlyError):
        vault.agenda.add(grown, "RDV", dt.datetime(2027, 1, 5, 10, tzinfo=PARIS))


# -- through the CLI ------------------------------------------------------------------------

def test_cli_add_list_show_edit_remove(cli, made) -> None:
    """The commands a person types, with --json and exit codes."""
    r = cli("agenda", "add", "Dentiste", "--at", "2030-12-03 14:30", "--duration", "45m",
            "--remind", "1d,2h", "--where", "Cabinet du Parc", "--with", "Dr Lefèvre", "--json",
            pfile=made)
    assert r.code == 0, r.err
    added = r.json()
    assert (added["start"], added["duration_min"], added["where"], added["with"]) == (
        "2030-12-03T14:30:00+01:00", 45, "Cabinet du Parc", "Dr Lefèvre")
    listed = cli("agenda", "list", "--from", "2030-12-01", "--to", "2030-12-31", "--json",
                 pfile=made).json()
    assert [i["title"] for i in listed] == ["Dentiste"]
    short = added["id"][:8]
    assert cli("agenda", "show", short, "--json", pfile=made).json()["reminders_min"] == [
        1440, 120]
    edited = cli("agenda", "edit", short, "--at", "2030-12-04 09:00", "--where", "",
                 "--json", pfile=made).json()
    assert edited["start"] == "2030-12-04T09:00:00+01:00" and edited["where"] is None
    assert cli("agenda", "remove", short, pfile=made).code == 0
    assert cli("agenda", "show", short, pfile=made).code == ExitCode.NOT_FOUND


def test_cli_errors_are_one_line(cli, made) -> None:
    """No --at, a bad date, a bad repetition, a bad item id: exit 2 or 5 with a message."""
    cases = [
        (("agenda", "add", "RDV"), ExitCode.USAGE, "--at"),
        (("agenda", "add", "RDV", "--at", "32/12/2026 10h00"), ExitCode.USAGE, "Invalid"),
        (("agenda", "add", "RDV", "--at", "2030-01-01 10:00", "--repeat", "often"),
         ExitCode.USAGE, "RFC 5545"),
        (("agenda", "done", "nonsense"), ExitCode.USAGE, "prevention item"),
        (("agenda", "due", "--horizon", "forever"), ExitCode.USAGE, "6mo"),
    ]
    for args, code, said in cases:
        r = cli(*args, pfile=made)
        assert r.code == code, (args, r.err)
        assert said in r.err and "Traceback" not in r.err


def test_remind_is_silent_when_there_is_nothing_and_speaks_otherwise(cli, made) -> None:
    """For cron: no output and exit 0 when nothing needs attention; one line per overdue item
    or reminder due otherwise, still exit 0."""
    for entry in (("vaccinations", "vaccine=Boostrixtetra", "date=2010-06-02"),
                  ("vaccinations", "vaccine=ROR", "date=1986-06", "dose=1"),
                  ("vaccinations", "vaccine=ROR", "date=1990-06", "dose=2"),
                  ("screenings", "screening=cervical-hpv", "date=2024-01-10")):
        assert cli("profile", "add", *entry, pfile=made).code == 0
    r = cli("remind", pfile=made)
    assert (r.code, r.out) == (0, ""), r.out
    soon = (dt.datetime.now(PARIS) + dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    cli("agenda", "add", "Dentiste", "--at", soon, "--remind", "1d", pfile=made)
    cli("profile", "remove", "screenings", cli("profile", "show", "--section", "screenings",
                                               "--json", pfile=made).json()[0]["id"],
        pfile=made)
    r = cli("remind", pfile=made)
    assert r.code == 0
    lines = r.out.splitlines()
    assert len(lines) == 2 and "Dentiste" in lines[0] and lines[1].startswith("Overdue for")
    data = cli("remind", "--json", pfile=made).json()
    assert [a["title"] for a in data["appointments"]] == ["Dentiste"]
    assert [i["rule"] for i in data["overdue"]] == ["screen_cervix_hpv"]


# -- found in review --------------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["FREQ=HOURLY;BYHOUR=99", "FREQ=DAILY;BYHOUR=99",
                                  "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
                                  "FREQ=DAILY;COUNT=3\nEXDATE:20270101", "FREQ=MINUTELY",
                                  "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=5"])
def test_rules_that_would_break_or_stall_the_agenda_are_refused(rule) -> None:
    """A stored BYHOUR=99 made every later `agenda list` and `remind` crash; "the 30th of
    February" made dateutil search until the year 9999 (4 s per listing)."""
    with pytest.raises(UsageError, match="RFC 5545"):
        times.repeat_rule(rule, dt.datetime(2027, 1, 5, 10, tzinfo=PARIS))


def test_a_utc_until_is_accepted_and_the_start_is_always_an_occurrence(vault) -> None:
    """RFC 5545 writes UNTIL in UTC beside a time zone, and counts DTSTART as the first
    occurrence even when it does not match the rule (Tuesday start, Monday/Thursday rule)."""
    owner = vault.people.owner()
    item = vault.agenda.add(owner, "Kiné", dt.datetime(2027, 3, 2, 9, tzinfo=PARIS),
                            rrule="FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270308T080000Z")
    assert item.rrule == "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270308T090000"
    got = vault.agenda.list(owner, dt.datetime(2027, 3, 1, tzinfo=dt.UTC),
                            dt.datetime(2027, 4, 1, tzinfo=dt.UTC))
    assert [o.local().strftime("%m-%d") for o in got] == ["03-02", "03-04", "03-08"]


def test_the_end_is_right_across_a_daylight_saving_change(vault) -> None:
    """A 2-hour appointment at 01:30 on 2027-03-28 (clocks go forward at 02:00) ends at
    04:30 local, two real hours later."""
    item = vault.agenda.add(vault.people.owner(), "Garde", dt.datetime(2027, 3, 28, 1, 30,
                                                                        tzinfo=PARIS),
                            duration_min=120)
    assert item.to_json()["end"] == "2027-03-28T04:30:00+02:00"


def test_a_short_reminder_later_today_is_told_by_the_morning_run(vault) -> None:
    """cron at 08:00 must tell of a 14:00 appointment with a 2-hour reminder."""
    owner = vault.people.owner()
    vault.agenda.add(owner, "Dentiste", dt.datetime(2027, 1, 5, 14, tzinfo=PARIS),
                     reminders=[120])
    vault.agenda.add(owner, "Demain", dt.datetime(2027, 1, 6, 14, tzinfo=PARIS),
                     reminders=[120])
    morning = dt.datetime(2027, 1, 5, 8, tzinfo=PARIS).astimezone(dt.UTC)
    assert [o.appointment.title for o in vault.agenda.reminders_due(morning, [owner])] == [
        "Dentiste"]


def test_only_items_of_the_persons_schedule_can_be_marked_done(vault) -> None:
    """dtp_45:99 or a baby's rule for a grown-up would be stored and then ignored, or worse,
    close another rule."""
    owner = vault.people.owner()  # born 1985
    prefix = owner.id[:8]
    for bad in (f"dtp_45:99:{prefix}", f"dtp_45:0:{prefix}", f"infant_hexa:1:{prefix}"):
        with pytest.raises((UsageError, NotFoundError)):
            vault.agenda.done(bad, dt.date(2026, 1, 5))
    who, rule, dose = vault.agenda.done(f"dtp_45:1:{prefix}", dt.date(2026, 1, 5))
    assert (rule, dose) == ("dtp_45", 1)


def test_a_removed_imported_appointment_is_not_imported_again(vault) -> None:
    """The tombstone keeps a hash of the UID: the same file imported again leaves it removed."""
    owner = vault.people.owner()
    with vault.store.write() as tx:
        rid = vault.agenda.add_in(tx, owner, "Ophtalmo", dt.datetime(2027, 2, 1, 10,
                                                                      tzinfo=PARIS),
                                  uid="abc@example.org", provenance="ics")
    vault.agenda.remove(rid)
    assert set(vault.agenda.by_uid(owner, ["abc@example.org"])) == {"abc@example.org"}
    row = vault.store.conn.execute("SELECT uid FROM agenda_items WHERE id = ?",
                                   (rid,)).fetchone()
    assert row[0].startswith("removed:") and "example" not in row[0]


def test_list_refuses_dates_out_of_range(cli, made) -> None:
    """--to 9999-12-31 overflowed into an internal error."""
    for args in (("--to", "9999-12-31"), ("--from", "0001-01-01")):
        r = cli("agenda", "list", *args, pfile=made)
        assert r.code == ExitCode.USAGE and "out of range" in r.err


def test_a_positive_screening_result_in_the_profile_reaches_the_engine(vault) -> None:
    """The profile's screening result is passed on: a positive FIT is the doctor's follow-up,
    not another routine test in two years."""
    owner = vault.people.add("Marc Martin", "1970-05-01", "male", relation="other")
    vault.profile.add(owner, "screenings", {"screening": "colorectal-fit",
                                            "date": "2026-03-01", "result": "positif"})
    items = [i for i in vault.agenda.due(owner, dt.date(2026, 11, 23), horizon_months=36)
             if i.rule_id == "screen_colorectal"]
    assert [i.status for i in items] == ["ask-doctor"]


def test_stored_text_cannot_drive_the_terminal(cli, made) -> None:
    """A title with an escape sequence (from a typo'd paste or an imported calendar) is shown
    without its control characters, on stderr messages and in remind's lines."""
    soon = (dt.datetime.now(PARIS) + dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    r = cli("agenda", "add", "Dentiste \x1b[2J\x07", "--at", soon, "--remind", "1d",
            pfile=made)
    assert r.code == 0 and "Dentiste" in r.err and "\x1b" not in r.err and "\x07" not in r.err
    out = cli("remind", pfile=made).out
    assert "Dentiste" in out and "\x1b" not in out
