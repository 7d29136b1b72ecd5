"""iCalendar export and import (issue 5): the writer's output checked strictly and parsed back
by icalendar and by vobject, the reader on odd real-world files (Google, Outlook, Apple,
Evolution; CRLF and LF; Windows-1252; broken, empty, not a calendar), and the agenda's mapping:
a private audited export, an idempotent audited import, and a round trip between two people."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.errors import AlreadyExistsError, ExitCode, NotFoundError, UsageError
from msante.formats import ics

DATA = Path(__file__).parent / "data" / "ics"
PARIS = ZoneInfo("Europe/Paris")
STAMP = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _read(name: str, default_tz: str = "Europe/Paris") -> ics.Parsed:
    return ics.read((DATA / name).read_bytes(), default_tz)


def _by_summary(parsed: ics.Parsed) -> dict[str, ics.Event]:
    return {e.summary: e for e in parsed.events}


def _reasons(parsed: ics.Parsed) -> dict[str | None, str]:
    return {s.summary: f"{s.what}: {s.reason}" for s in parsed.skipped}


def _sample() -> tuple[list[ics.Event], list[ics.Todo]]:
    events = [
        ics.Event("a1@msante", "Dentiste, contrôle; « très » long " * 3 + "!",
                  dt.datetime(2026, 12, 1, 14, 30, tzinfo=PARIS), "Europe/Paris", 45,
                  location="12 rue de la République, Lyon", professional="Dr Ménard",
                  note="Apporter la carte Vitale\net les radios", reminders=(1440, 120)),
        ics.Event("a2@msante", "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
                  "Europe/Paris", 30, rrule="FREQ=WEEKLY;UNTIL=20261214T090000", reminders=(0,)),
        ics.Event("a3@msante", "Téléconsultation",
                  dt.datetime(2027, 3, 10, 15, 0, tzinfo=ZoneInfo("America/Montreal")),
                  "America/Montreal", 20, rrule="FREQ=MONTHLY;COUNT=3"),
    ]
    todos = [ics.Todo("dtp:4:abcd@msante", "Rappel diphtérie-tétanos-polio",
                      dt.date(2026, 12, 31), dt.date(2026, 6, 1), "Rappel à 45 ans", 1),
             ics.Todo("ccu:1:abcd@msante", "Dépistage du cancer du col", None)]
    return events, todos


def _built() -> bytes:
    events, todos = _sample()
    return ics.build(events, todos, stamp=STAMP, name="msante – Camille Martin")


# == writing ==================================================================================


def test_the_export_passes_the_strict_rfc_5545_checks() -> None:
    """VERSION, PRODID, UID and UTC DTSTAMP everywhere, a VTIMEZONE for each TZID, DESCRIPTION on
    every DISPLAY alarm, CRLF lines of at most 75 octets: what calendars choke on otherwise."""
    data = _built()
    assert ics.problems(data) == []
    cal = icalendar.Calendar.from_ical(data)
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert zones == {"Europe/Paris", "America/Montreal"}
    for comp in cal.walk("VEVENT") + cal.walk("VTODO"):
        assert comp["UID"] and comp["DTSTAMP"].dt == STAMP
    for event in cal.walk("VEVENT"):
        assert event["DTSTART"].params["TZID"] in zones and "DTEND" in event
    alarms = cal.walk("VALARM")
    assert len(alarms) == 3 and all(a["ACTION"] == "DISPLAY" and a["DESCRIPTION"] for a in alarms)


def test_the_strict_checks_do_find_what_they_look_for() -> None:
    """A checker that finds nothing in a broken calendar would make the test above vacuous
    (a DUE equal to DTSTART breaks §3.8.2.3: it must come later)."""
    broken = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
              b"DTSTART;TZID=Europe/Paris:20261201T100000\r\nDTEND:20261201T110000Z\r\n"
              b"DURATION:PT1H\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
              b"END:VALARM\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20261201T100000\r\n"
              b"DTSTART;VALUE=DATE:20260201\r\nDUE;VALUE=DATE:20260201\r\nEND:VTODO\r\n"
              b"END:VCALENDAR\n")
    found = "\n".join(ics.problems(broken))
    for expected in ("no PRODID", "VEVENT has no DTSTAMP", "DTSTAMP not in UTC",
                     "both DTEND and DURATION", "TZID Europe/Paris without its VTIMEZONE",
                     "DISPLAY VALARM has no DESCRIPTION", "DUE not after DTSTART", "CRLF"):
        assert expected in found


def test_the_export_parses_back_with_a_second_library() -> None:
    """vobject, an independent parser, reads every component, zone, rule and alarm we write."""
    cal = vobject.readOne(_built().decode("utf-8"))
    events = {e.uid.value: e for e in cal.vevent_list}
    start = events["a1@msante"].dtstart.value
    rule = events["a2@msante"].getrruleset()
    assert start == dt.datetime(2026, 12, 1, 14, 30, tzinfo=PARIS)
    assert start.utcoffset() == dt.timedelta(hours=1)
    assert len(list(rule)) == 9  # 19 Oct to 14 Dec, weekly, across the DST change
    assert [a.trigger.value for a in events["a1@msante"].valarm_list] == [
        -dt.timedelta(days=1), -dt.timedelta(hours=2)]
    assert {t.uid.value for t in cal.vtodo_list} == {"dtp:4:abcd@msante", "ccu:1:abcd@msante"}
    assert {str(tz.tzid.value) for tz in cal.vtimezone_list} == {"Europe/Paris",
                                                                "America/Montreal"}


def test_a_local_until_is_written_in_utc_and_read_back_local() -> None:
    """RFC 5545 wants UNTIL in UTC beside a TZID; the agenda expands rules in local wall time."""
    data = _built()
    assert b"RRULE:FREQ=WEEKLY;UNTIL=20261214T080000Z" in data
    events = _by_summary(ics.read(data, "Europe/Paris"))
    assert events["Kiné"].rrule == "FREQ=WEEKLY;UNTIL=20261214T090000"
    assert ics.utc_rule("FREQ=DAILY;UNTIL=20260701", PARIS).to_ical() == (
        b"FREQ=DAILY;UNTIL=20260630T220000Z")


def test_what_we_write_we_read_back_unchanged() -> None:
    """The writer and the reader agree on every field an appointment has."""
    events, _todos = _sample()
    parsed = ics.read(_built(), "Europe/Paris")
    assert parsed.events == events
    assert [s.what for s in parsed.skipped] == ["VTODO", "VTODO"]


def _zone_changes(data: bytes) -> list[dt.datetime]:
    """The local times at which the file's first VTIMEZONE changes offset."""
    starts = []
    for sub in icalendar.Calendar.from_ical(data).walk("VTIMEZONE")[0].subcomponents:
        rdates = sub.get("RDATE", [])
        starts += [sub["DTSTART"].dt] + [d.dt for r in (rdates if isinstance(rdates, list)
                                                         else [rdates]) for d in r.dts]
    return starts


def test_the_vtimezone_covers_a_rule_without_end_for_decades() -> None:
    """A rule without an end outlives any short span: the zone's changes must be listed for
    REPEAT_YEARS (20) past today, else a calendar places later occurrences an hour off."""
    weekly = ics.Event("w@msante", "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
                       "Europe/Paris", 30, rrule="FREQ=WEEKLY;BYDAY=MO")
    data = ics.build([weekly], [], stamp=STAMP)
    assert max(_zone_changes(data)).year >= STAMP.year + 20 - 1
    assert ics.REPEAT_YEARS >= 20 and ics.problems(data) == []


def test_the_vtimezone_covers_a_rule_to_its_last_occurrence() -> None:
    """A rule that ends in 2040 needs the zone until 2040; one that ends in 9999 is covered
    COVER_YEARS ahead, not for eight millennia (the file stays small)."""
    until = ics.Event("u@msante", "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
                      "Europe/Paris", 30, rrule="FREQ=MONTHLY;UNTIL=20401231T090000")
    assert max(_zone_changes(ics.build([until], [], stamp=STAMP))).year == 2040
    counted = ics.Event("c@msante", "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
                        "Europe/Paris", 30, rrule="FREQ=YEARLY;COUNT=30")
    assert max(_zone_changes(ics.build([counted], [], stamp=STAMP))).year == 2055
    far = ics.Event("f@msante", "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
                    "Europe/Paris", 30, rrule="FREQ=DAILY;UNTIL=99991231T235959")
    data = ics.build([far], [], stamp=STAMP)
    assert max(_zone_changes(data)).year >= 2120 and len(data) < 20_000


def test_a_one_day_todo_window_has_its_due_after_its_start() -> None:
    """RFC 5545 §3.8.2.3: DUE must be later than DTSTART. A window of one day (from = until)
    is written as DUE the next day; an inverted window keeps its DUE and drops DTSTART."""
    day = dt.date(2026, 12, 1)
    data = ics.build([], [ics.Todo("t@msante", "Vaccin", day, day),
                          ics.Todo("i@msante", "Rappel", day, day + dt.timedelta(days=3))],
                     stamp=STAMP)
    assert ics.problems(data) == []
    same, inverted = icalendar.Calendar.from_ical(data).walk("VTODO")
    assert (same["DTSTART"].dt, same["DUE"].dt) == (day, dt.date(2026, 12, 2))
    assert "DTSTART" not in inverted and inverted["DUE"].dt == day


def test_an_end_across_a_dst_change_counts_real_time() -> None:
    """Clocks jump from 2:00 to 3:00 on 28 March 2027 in Paris: 1:30 to 4:30 on the wall is two
    hours, not three; the writer adds the duration in real time too."""
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:d\r\n"
            b"DTSTART;TZID=Europe/Paris:20270328T013000\r\n"
            b"DTEND;TZID=Europe/Paris:20270328T043000\r\nSUMMARY:Garde\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n")
    event = ics.read(data, "Europe/Paris").events[0]
    assert event.duration_min == 120
    written = icalendar.Calendar.from_ical(ics.build([event], [], stamp=STAMP)).walk("VEVENT")[0]
    assert written["DTEND"].dt == dt.datetime(2027, 3, 28, 4, 30, tzinfo=PARIS)
    assert ics.read(ics.build([event], [], stamp=STAMP), "Europe/Paris").events == [event]


def test_a_far_until_is_kept_not_a_crash() -> None:
    """UNTIL=99991231T235959 in New York is past what a datetime holds in UTC: it is written at
    the last representable UTC time, and such a UTC UNTIL read in Paris does not overflow."""
    zone = ZoneInfo("America/New_York")
    assert ics.utc_rule("FREQ=DAILY;UNTIL=99991231T235959", zone).to_ical() == (
        b"FREQ=DAILY;UNTIL=99991231T235959Z")
    recur = icalendar.vRecur.from_ical("FREQ=DAILY;UNTIL=99991231T235959Z")
    assert ics.local_rule(recur, PARIS) == "FREQ=DAILY;UNTIL=99991231T235959"


@pytest.mark.parametrize("rule", ["FREQ=DAILY\r\nX-EVIL:1", "FREQ=DAILY\nCOUNT=3",
                                  "COUNT=3"])
def test_a_rule_that_cannot_be_written_is_refused(rule: str) -> None:
    """A line break in a stored rule would inject a property (or blank the RRULE): refused."""
    with pytest.raises(ValueError):
        ics.utc_rule(rule, PARIS)


def test_an_empty_agenda_is_still_a_valid_calendar() -> None:
    """No events and no to-dos: a calendar with its header only, no VTIMEZONE needed."""
    data = ics.build([], [], stamp=STAMP)
    assert ics.problems(data) == [] and ics.read(data, "Europe/Paris").events == []


# == reading odd files ========================================================================


def test_a_google_export() -> None:
    """Zoned, UTC and all-day events; alarms by display and e-mail; a weekly rule with an
    excluded day and a moved occurrence; a cancelled event; a fold inside an accented letter."""
    parsed = _read("google_crlf.ics")
    events = _by_summary(parsed)
    dentist = events["Dentiste – contrôle"]
    assert dentist.start == dt.datetime(2026, 12, 1, 14, 30, tzinfo=PARIS)
    assert (dentist.tz, dentist.duration_min, dentist.reminders) == ("Europe/Paris", 30,
                                                                     (1440, 120))
    assert dentist.location == "Cabinet dentaire, 12 rue de la République, 69002 Lyon, France"
    assert "Prévenir en cas de désistement au 04 78" in (dentist.note or "")
    blood = events["Prise de sang (à jeun)"]
    assert blood.start.astimezone(PARIS).hour == 8 and blood.tz == "Europe/Paris"
    physio = events["Kiné – rééducation du genou"]
    assert physio.rrule == "FREQ=WEEKLY;UNTIL=20261214T183000;BYDAY=MO;WKST=MO"
    fasting = events["Régime sans résidu avant coloscopie"]
    assert fasting.all_day and fasting.duration_min == 1440
    assert fasting.start == dt.datetime(2026, 12, 15, tzinfo=PARIS)
    reasons = _reasons(parsed)
    assert "cancelled" in reasons["Ophtalmologue"]
    assert "one occurrence" in reasons["Kiné – rééducation du genou (déplacé au mardi)"]
    assert reasons["Kiné – rééducation du genou"].startswith("EXDATE:")
    assert len(parsed.events) == 4


def test_line_endings_do_not_matter() -> None:
    """The same Google file with LF instead of CRLF reads the same."""
    data = (DATA / "google_crlf.ics").read_bytes()
    assert b"\r\n" in data
    as_lf = ics.read(data.replace(b"\r\n", b"\n"), "Europe/Paris")
    assert as_lf == _read("google_crlf.ics")


def test_an_outlook_export_with_windows_zone_names() -> None:
    """"Romance Standard Time" is Europe/Paris; an unknown "Customized Time Zone" still gives
    the right instant from its VTIMEZONE, kept in our local zone."""
    events = _by_summary(_read("outlook_crlf.ics"))
    cardio = events["Cardiologue"]
    assert (cardio.tz, cardio.reminders) == ("Europe/Paris", (15,))
    assert cardio.start.astimezone(dt.UTC) == dt.datetime(2026, 10, 6, 7, 30, tzinfo=dt.UTC)
    assert (cardio.note or "").startswith("Dr Ménard\n\nConsultation de suivi")
    remote = events["Téléconsultation (Montréal)"]
    assert remote.start.astimezone(dt.UTC) == dt.datetime(2026, 10, 12, 13, 0, tzinfo=dt.UTC)
    assert remote.tz == "Europe/Paris"
    flu = events["Vaccin grippe – pharmacie"]
    assert flu.all_day and flu.start == dt.datetime(2026, 10, 20, tzinfo=PARIS)


def test_an_apple_export_with_floating_times_and_odd_alarms() -> None:
    """Floating times are in the calendar's zone; ACTION:NONE is Apple's placeholder (ignored
    quietly); a fixed-time alarm is reported; one relative to the end counts back from it."""
    parsed = _read("apple_lf.ics", default_tz="America/Montreal")
    events = _by_summary(parsed)
    mri = events["IRM du genou"]
    assert mri.reminders == (60,)
    assert mri.location == "Centre d'imagerie médicale\nPlace Bellecour\n69002 Lyon\nFrance"
    pressure = events["Prendre la tension (matin)"]
    assert pressure.start == dt.datetime(2026, 11, 8, 9, 0, tzinfo=PARIS)  # X-WR-TIMEZONE
    assert (pressure.duration_min, pressure.rrule) == (15, "FREQ=DAILY;COUNT=7")
    assert [(s.what, "absolute" in s.reason) for s in parsed.skipped] == [("VALARM", True)]


def test_floating_times_without_a_calendar_zone_use_the_default() -> None:
    """With no X-WR-TIMEZONE, a time without zone is taken in the zone the caller gives."""
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:f\r\n"
            b"DTSTART:20261201T090000\r\nSUMMARY:Pharmacie\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    event = ics.read(data, "America/Montreal").events[0]
    assert event.tz == "America/Montreal" and event.start.utcoffset() == dt.timedelta(hours=-5)


def test_odd_components_are_reported_not_fatal() -> None:
    """To-dos, journal entries, free/busy, no start, an unreadable start, an end before the
    start, a duplicate UID and an alarm after the start are each set aside with a reason."""
    parsed = _read("odd_lf.ics")
    reasons = _reasons(parsed)
    assert reasons["Renouveler l'ordonnance"].startswith("VTODO:")
    assert reasons["Douleur au genou"].startswith("VJOURNAL:")
    assert reasons[None].startswith("VFREEBUSY:")
    assert "no start" in reasons["Rappeler le secrétariat"]
    assert "cannot be read" in reasons["Orthoptiste"]
    assert "ends before it starts" in reasons["Podologue"]
    assert "same UID" in reasons["Échographie (doublon)"]
    assert reasons["Ostéopathe"] == "VALARM: an alarm after the start is ignored"
    assert sorted(_by_summary(parsed)) == ["Ostéopathe", "Échographie"]


def test_an_event_without_uid_gets_the_same_one_each_time() -> None:
    """Re-importing a file whose events have no UID must not add them twice."""
    first, again = _by_summary(_read("odd_lf.ics")), _by_summary(_read("odd_lf.ics"))
    osteo = first["Ostéopathe"]
    assert osteo.uid == again["Ostéopathe"].uid and osteo.uid.endswith("@no-uid.msante")
    assert osteo.tz == "Europe/Brussels" and osteo.duration_min == 45  # Evolution's TZID
    assert first["Échographie"].duration_min == 0  # no end given: the agenda picks one


def test_a_windows_1252_file() -> None:
    """Old Outlook wrote its own encoding: the en dash and accents come through."""
    event = _read("outlook_cp1252.ics").events[0]
    assert event.summary == "Kiné – séance n°3" and event.reminders == (60,)
    assert "Dr Ménard" in (event.note or "")


def test_an_unknown_zone_without_vtimezone_is_reported() -> None:
    """A TZID that is neither known nor defined in the file is read in the calendar's zone:
    the event is imported, and the guess is said, not made silently."""
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:m\r\n"
            b"DTSTART;TZID=Mars/Olympus:20261201T090000\r\nSUMMARY:Base\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n")
    parsed = ics.read(data, "Europe/Paris")
    assert [(e.summary, e.tz, e.start.hour) for e in parsed.events] == [
        ("Base", "Europe/Paris", 9)]
    assert [s.to_json() for s in parsed.skipped] == [{
        "what": "TZID", "uid": "m", "summary": "Base",
        "reason": "unknown time zone Mars/Olympus: read as Europe/Paris"}]
    assert not [s for s in _read("outlook_crlf.ics").skipped if s.what == "TZID"]  # defined


@pytest.mark.parametrize(("name", "message"), [
    ("empty.ics", "empty"),
    ("not_calendar.ics", "not a valid iCalendar file"),
    ("truncated.ics", "no complete BEGIN:VCALENDAR"),
])
def test_what_is_not_a_calendar_is_a_usage_error(name: str, message: str) -> None:
    """A clear message and exit code 2, never a traceback."""
    with pytest.raises(UsageError, match=message) as caught:
        _read(name)
    assert caught.value.exit_code == ExitCode.USAGE


def test_zone_names() -> None:
    """IANA names pass, Windows names and vendor prefixes map, anything else is unknown."""
    assert ics.iana("Europe/Paris") == "Europe/Paris"
    assert ics.iana('"Romance Standard Time"') == "Europe/Paris"
    assert ics.iana("/mozilla.org/20070129_1/Europe/Berlin") == "Europe/Berlin"
    assert ics.iana("(UTC+01:00) Amsterdam, Berlin") is None
    assert ics.iana("../../etc/passwd") is None and ics.iana(None) is None


# == the agenda ===============================================================================

def _items(person_id: str) -> list[object]:
    """One prevention item of each status, as the engine makes them."""
    from msante.agenda.prevention import Item
    from msante.agenda.rules import Source

    day, who = dt.date, person_id[:8]
    source = (Source("S1", "Calendrier des vaccinations 2025", ("https://example.org",)),)
    return [
        Item(f"dtp_25:1:{who}", "dtp_25", 1, "Rappel dTcaP à 25 ans", "overdue",
             day(2010, 6, 2), day(2012, 6, 2), "Rattrapage possible", "Rappel de l'adulte",
             source, "official"),
        Item(f"ccu:2:{who}", "ccu", 2, "Dépistage du cancer du col", "due", day(2026, 6, 2),
             None, None, "Tous les 5 ans", (), "official"),
        Item(f"flu_65:2027:{who}", "flu_65", 2027, "Grippe", "coming", day(2027, 10, 15),
             day(2028, 2, 28), None, "", (), "official"),
        Item(f"hpv:1:{who}", "hpv", 1, "HPV", "ask-doctor", day(2026, 1, 1), None, None, "", (),
             "official"),
    ]


@pytest.fixture
def stand_in_prevention(vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agenda's prevention items replaced by fixed ones, whatever the rules say."""
    monkeypatch.setattr(type(vault.agenda), "due",
                        lambda self, person, today=None, horizon_months=12: _items(person.id))



def _add(vault, person, title: str, start: dt.datetime, **extra: object) -> str:
    return vault.agenda.add(person, title, start, **extra).id


def _fields(vault, person) -> list[tuple[object, ...]]:
    """What a round trip must keep, by start."""
    items = {o.appointment.id: o.appointment for o in vault.agenda.list(
        person, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))}
    return sorted((a.title, a.start, a.tz, a.duration_min, a.location, a.professional, a.note,
                   a.reminders, _rule(a.rrule)) for a in items.values())


def _rule(rule: str | None) -> object:
    """A rule's parts, whatever their order."""
    return sorted(rule.split(";")) if rule else None


def _actions(vault, action: str) -> list[dict[str, object]]:
    import json

    rows = vault.store.conn.execute(
        "SELECT detail FROM audit WHERE action = ? ORDER BY seq", (action,)).fetchall()
    return [json.loads(r[0]) if r[0] else {} for r in rows]


def _appointments(vault) -> None:
    owner = vault.people.owner()
    _add(vault, owner, "Dentiste", dt.datetime(2026, 12, 3, 14, 30, tzinfo=PARIS),
         duration_min=45, reminders=[1440, 120], location="Lyon 2e", professional="Dr Ménard",
         note="Apporter les radios")
    _add(vault, owner, "Kiné", dt.datetime(2026, 10, 19, 9, 0, tzinfo=PARIS),
         rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=20261221T090000", reminders=[30])
    _add(vault, owner, "Téléconsultation", dt.datetime(2027, 1, 5, 10, 0,
                                                       tzinfo=ZoneInfo("America/Montreal")),
         tz="America/Montreal", duration_min=20)


def test_export_is_private_audited_and_never_overwrites(vault, tmp_path: Path) -> None:
    """Plaintext health data leaving the vault: 0600, one audit entry, no silent overwrite."""
    from msante.agenda.ics import export_ics

    _appointments(vault)
    out = tmp_path / "agenda.ics"
    result = export_ics(vault, out, vault.people.owner(), today=dt.date(2026, 11, 20))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert result["events"] == 3 and result["file"] == str(out)
    assert ics.problems(out.read_bytes()) == []
    todos = icalendar.Calendar.from_ical(out.read_bytes()).walk("VTODO")
    due = vault.agenda.due(vault.people.owner(), dt.date(2026, 11, 20))
    assert [str(t["UID"]) for t in todos] == [
        f"{i.id}@msante" for i in due if i.status in ("overdue", "due")]
    assert todos  # the owner, born in 1985, has overdue items with the real rules
    assert _actions(vault, "agenda.export") == [
        {"file": "agenda.ics", "events": 3, "todos": result["todos"]}]
    with pytest.raises(AlreadyExistsError):
        export_ics(vault, out, vault.people.owner())


def test_a_round_trip_to_another_person_keeps_every_field(vault, tmp_path: Path,
                                                          stand_in_prevention) -> None:
    """Export, then import into someone else: title, start, zone, duration, place, professional,
    note, reminders and rule are the same; importing it again adds nothing."""
    from msante.agenda.ics import export_ics, import_ics

    _appointments(vault)
    owner = vault.people.owner()
    export_ics(vault, tmp_path / "out.ics", owner)
    other = vault.people.add("Léo Martin", "2019-03-14", "male")
    first = import_ics(vault, tmp_path / "out.ics", other)
    assert (first["added"], first["unchanged"], first["person"]) == (3, 0, "Léo Martin")
    assert all(s["what"] == "VTODO" for s in first["skipped"])
    assert _fields(vault, other) == _fields(vault, owner)
    again = import_ics(vault, tmp_path / "out.ics", other)
    assert (again["added"], again["unchanged"]) == (0, 3)
    assert [d["added"] for d in _actions(vault, "agenda.import")] == [3]


def test_importing_our_own_export_into_the_same_person_adds_nothing(vault, tmp_path,
                                                                   stand_in_prevention) -> None:
    """A typed appointment has no UID: its exported `<id>@msante` must still be recognised."""
    from msante.agenda.ics import export_ics, import_ics

    _appointments(vault)
    owner = vault.people.owner()
    export_ics(vault, tmp_path / "out.ics", owner)
    result = import_ics(vault, tmp_path / "out.ics", owner)
    assert (result["added"], result["unchanged"]) == (0, 3)
    assert _actions(vault, "agenda.import") == []  # nothing written, nothing audited


def test_importing_a_google_file_twice(vault) -> None:
    """UIDs are kept: the second import finds every event there and adds nothing."""
    from msante.agenda.ics import import_ics

    owner = vault.people.owner()
    first = import_ics(vault, DATA / "google_crlf.ics", owner)
    assert (first["added"], first["unchanged"], len(first["skipped"])) == (4, 0, 3)
    second = import_ics(vault, DATA / "google_crlf.ics", owner)
    assert (second["added"], second["unchanged"]) == (0, 4)
    stored = vault.agenda.by_uid(owner, ["7kq3v1c0d9h2m4n6p8r0s2t4u6@google.com"])
    dentist = next(iter(stored.values()))
    assert (dentist.provenance, dentist.reminders) == ("ics", [1440, 120])
    assert _actions(vault, "agenda.import") == [
        {"file": "google_crlf.ics", "added": 4, "unchanged": 0, "skipped": 3}]


def test_events_the_agenda_refuses_are_reported_and_the_rest_added(vault, tmp_path) -> None:
    """A 10-day event is past the agenda's 7-day limit: reported with the agenda's reason; an
    event without an end gets the default 30 minutes."""
    from msante.agenda.ics import import_ics

    path = tmp_path / "long.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:long\r\n"
        b"DTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20261211\r\nSUMMARY:Cure\r\n"
        b"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:short\r\nDTSTART:20261201T090000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    result = import_ics(vault, path, vault.people.owner())
    assert result["added"] == 1
    assert [(s["uid"], s["summary"]) for s in result["skipped"]] == [("long", "Cure")]
    added = vault.agenda.by_uid(vault.people.owner(), ["short"])["short"]
    assert (added.title, added.duration_min) == ("(untitled)", 30)


def test_a_file_that_is_not_a_calendar_changes_nothing(vault, tmp_path) -> None:
    """Broken input is a usage error before any write; a missing file is 'not found'."""
    from msante.agenda.ics import import_ics

    for name in ("empty.ics", "not_calendar.ics", "truncated.ics"):
        with pytest.raises(UsageError):
            import_ics(vault, DATA / name, vault.people.owner())
    with pytest.raises(NotFoundError):
        import_ics(vault, tmp_path / "missing.ics", vault.people.owner())
    assert _actions(vault, "agenda.import") == [] and _actions(vault, "agenda.add") == []


def test_due_and_overdue_prevention_items_become_stable_todos(vault, tmp_path,
                                                              stand_in_prevention) -> None:
    """Only what needs doing now is exported, as a VTODO whose UID does not change from one
    export to the next (so a calendar updates it instead of adding a second one)."""
    from msante.agenda.ics import export_ics

    owner = vault.people.owner()
    result = export_ics(vault, tmp_path / "a.ics", owner, today=dt.date(2026, 11, 20))
    export_ics(vault, tmp_path / "b.ics", owner, today=dt.date(2026, 11, 21))
    assert (result["events"], result["todos"]) == (0, 2)
    todos = [icalendar.Calendar.from_ical((tmp_path / n).read_bytes()).walk("VTODO")
             for n in ("a.ics", "b.ics")]
    assert [str(t["UID"]) for t in todos[0]] == [str(t["UID"]) for t in todos[1]] == [
        f"dtp_25:1:{owner.id[:8]}@msante", f"ccu:2:{owner.id[:8]}@msante"]
    overdue, due = todos[0]
    assert (overdue["DTSTART"].dt, overdue["DUE"].dt) == (dt.date(2010, 6, 2),
                                                          dt.date(2012, 6, 2))
    assert overdue["STATUS"] == "NEEDS-ACTION" and overdue["PRIORITY"] == 1
    assert str(overdue["DESCRIPTION"]) == ("Rappel de l'adulte\nRattrapage possible\n"
                                           "Source: Calendrier des vaccinations 2025")
    assert "DUE" not in due and due["DTSTART"].dt == dt.date(2026, 6, 2)


def test_an_export_of_everyone_says_whose_each_item_is(vault, tmp_path,
                                                       stand_in_prevention) -> None:
    """Without --person the calendar holds every person's agenda, each summary naming them."""
    from msante.agenda.ics import export_ics

    _appointments(vault)
    leo = vault.people.add("Léo Martin", "2019-03-14", "male")
    _add(vault, leo, "Pédiatre", dt.datetime(2026, 12, 9, 17, 0, tzinfo=PARIS))
    result = export_ics(vault, tmp_path / "all.ics")
    assert (result["person"], result["events"], result["todos"]) == (None, 4, 4)
    cal = icalendar.Calendar.from_ical((tmp_path / "all.ics").read_bytes())
    summaries = {str(c["SUMMARY"]) for c in cal.walk("VEVENT") + cal.walk("VTODO")}
    assert {"Pédiatre (Léo Martin)", "Dentiste (Camille Martin)",
            "Grippe (Léo Martin)"} & summaries == {"Pédiatre (Léo Martin)",
                                                  "Dentiste (Camille Martin)"}
    assert vault.store.conn.execute(
        "SELECT person FROM audit WHERE action = 'agenda.export'").fetchone() == (None,)


FIXTURES = sorted(p.name for p in DATA.glob("*.ics") if p.stat().st_size > 200)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(FIXTURES), data=st.data())
def test_a_garbled_file_is_reported_never_a_crash(name: str, data: st.DataObject) -> None:
    """Real files with lines dropped, doubled or garbled: events or a UsageError, nothing else."""
    lines = (DATA / name).read_bytes().splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        head = lines[at].split(b":", 1)[0]
        junk = data.draw(st.sampled_from([b"", b"x", b"20261301T250000", b"-PT", b"FREQ=",
                                          b";;", b"\xff\xfe", b"0", b"99999999T999999Z"]))
        lines[at] = data.draw(st.sampled_from([b"", lines[at] * 2, head + b":" + junk + b"\r\n",
                                               head + b";TZID=Nowhere:" + junk + b"\n"]))
    try:
        parsed = ics.read(b"".join(lines), "Europe/Paris")
    except UsageError:
        return
    for event in parsed.events:
        assert event.start.tzinfo is not None and event.duration_min >= 0


def test_several_calendars_in_one_file_and_a_cancelling_one() -> None:
    """Calendars pasted one after the other are all read; METHOD:CANCEL cancels its events."""
    google = (DATA / "google_crlf.ics").read_bytes()
    cancel = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n"
              b"UID:c1\r\nDTSTART:20261201T090000Z\r\nSUMMARY:Radio\r\nEND:VEVENT\r\n"
              b"END:VCALENDAR\r\n")
    parsed = ics.read(b"\xef\xbb\xbf" + google + cancel, "Europe/Paris")
    assert len(parsed.events) == 4 and "cancelled" in _reasons(parsed)["Radio"]


def test_every_sample_file_imports_or_is_refused_cleanly(vault) -> None:
    """Through the agenda too, each odd file ends in a report or a usage error."""
    from msante.agenda.ics import import_ics

    leo = vault.people.add("Léo Martin", "2019-03-14", "male")
    added = 0
    for path in sorted(DATA.glob("*.ics")):
        try:
            added += import_ics(vault, path, leo)["added"]
        except UsageError:
            assert path.name in ("empty.ics", "not_calendar.ics", "truncated.ics")
    assert added == 4 + 3 + 2 + 2 + 1  # Google, Outlook, Apple, odd, Windows-1252


def test_an_unreadable_rule_or_end_skips_the_event_on_any_icalendar_version() -> None:
    """icalendar 6 drops a broken property, 7 keeps it marked: either way the event is set
    aside with its reason, never imported as a one-off; a guessed vendor zone warns no one."""
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r\r\n"
            b"DTSTART:20261201T090000Z\r\nRRULE:FREQ=SOMETIMES\r\nSUMMARY:A\r\nEND:VEVENT\r\n"
            b"BEGIN:VEVENT\r\nUID:e\r\nDTSTART:20261201T090000Z\r\nDTEND:soon\r\nSUMMARY:B\r\n"
            b"END:VEVENT\r\nBEGIN:VEVENT\r\nUID:z\r\nSUMMARY:C\r\n"
            b"DTSTART;TZID=/example.com/2024/Europe/Rome:20261201T090000\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n")
    parsed = ics.read(data, "Europe/Paris")
    assert _reasons(parsed) == {"A": "VEVENT: its repetition rule (RRULE) cannot be read",
                                "B": "VEVENT: its DTEND cannot be read"}
    assert [(e.summary, e.tz) for e in parsed.events] == [("C", "Europe/Rome")]


def test_our_own_uids_are_looked_up_in_batches(vault) -> None:
    """Importing a 5,000-event export of ours took a prefix search per UID (11 s): the
    `<id>@msante` UIDs are now checked 500 at a time, and only the person's own count."""
    from msante.agenda.ics import _known

    owner, leo = vault.people.owner(), vault.people.add("Léo Martin", "2019-03-14", "male")
    mine = [_add(vault, owner, f"RDV {n}", dt.datetime(2026, 12, 1 + n, 9, tzinfo=PARIS))
            for n in range(2)]
    uids = [f"{rid}@msante" for rid in mine] + [f"{n:08x}-0000-4000-8000-000000000000@msante"
                                                for n in range(1200)]
    statements: list[str] = []
    vault.store.conn.set_trace_callback(statements.append)
    try:
        assert _known(vault, owner, uids) == set(uids[:2])
        assert _known(vault, leo, uids) == set()
    finally:
        vault.store.conn.set_trace_callback(None)
    ours = [q for q in statements if q.startswith("SELECT id FROM agenda_items")]
    assert len(ours) == 2 * 3  # 1,202 UIDs: three chunks of at most 500, for each person
    assert not [q for q in statements if " LIKE " in q]  # no search by id prefix


def test_an_alarm_the_agenda_refuses_drops_the_alarm_not_the_event(vault, tmp_path) -> None:
    """An AUDIO alarm 90 days ahead is past the agenda's 60 days: that alarm is reported and
    left out, the event and its other alarm are imported."""
    from msante.agenda.ics import import_ics

    path = tmp_path / "alarm.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:al\r\n"
        b"DTSTART:20261201T090000Z\r\nDURATION:PT1H\r\nSUMMARY:Scanner\r\nBEGIN:VALARM\r\n"
        b"ACTION:AUDIO\r\nTRIGGER:-P90D\r\nEND:VALARM\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
        b"DESCRIPTION:x\r\nTRIGGER:-P1D\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    result = import_ics(vault, path, vault.people.owner())
    assert result["added"] == 1
    assert [(s["what"], s["uid"], "90 days" in s["reason"]) for s in result["skipped"]] == [
        ("VALARM", "al", True)]
    assert vault.agenda.by_uid(vault.people.owner(), ["al"])["al"].reminders == [1440]


def test_an_export_with_a_far_until_or_a_broken_rule_does_not_crash(
        vault, tmp_path, stand_in_prevention, monkeypatch: pytest.MonkeyPatch) -> None:
    """UNTIL=99991231T235959 in New York overflowed in UTC; a stored rule with a line break
    would have injected a property: the first is written as is, the second left out of its
    event and reported, and the file stays valid."""
    import msante.agenda.ics as agenda_ics

    owner = vault.people.owner()
    far = vault.agenda.add(owner, "Tension", dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC),
                           tz="America/New_York", rrule="FREQ=DAILY;UNTIL=99991231T235959")
    result = agenda_ics.export_ics(vault, tmp_path / "far.ics", owner)
    data = (tmp_path / "far.ics").read_bytes()
    assert ics.problems(data) == [] and result["skipped"] == []
    assert b"RRULE:FREQ=DAILY;UNTIL=99991231T235959Z" in data
    broken = far._replace(rrule="FREQ=DAILY\r\nX-EVIL:1")
    monkeypatch.setattr(agenda_ics, "_appointments", lambda vault, person: [broken])
    result = agenda_ics.export_ics(vault, tmp_path / "broken.ics", owner)
    data = (tmp_path / "broken.ics").read_bytes()
    assert ics.problems(data) == [] and b"X-EVIL" not in data and b"RRULE" not in data
    assert [(s["what"], s["uid"]) for s in result["skipped"]] == [("RRULE", f"{far.id}@msante")]
