"""The agenda: appointments (time zone, duration, reminders, repetition) and prevention items
(what is overdue, due and coming, computed from the profile by the prevention engine).

Every change is audited in its own transaction; reading the agenda is not.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from typing import TYPE_CHECKING, Any, NamedTuple

from msante.agenda import times
from msante.errors import NotFoundError, UsageError
from msante.i18n import _
from msante.people import People, Person
from msante.profile.service import Entry, Profile
from msante.vault import db, records
from msante.vault.descriptors import AGENDA_ITEMS
from msante.vault.store import Store

if TYPE_CHECKING:
    from msante.agenda.prevention import Item
    from msante.agenda.rules import Rule

_COLUMNS = ("id, revision, person, title, starts_at, tz, duration_min, location, professional, "
            "reminders, rrule, note, uid, provenance, created_at, updated_at")
LINK = "prevention:"  # the external id of a profile entry made by marking an item done
EDITABLE = ("title", "start", "tz", "duration_min", "location", "professional", "reminders",
            "rrule", "note")


class Appointment(NamedTuple):
    """One appointment (a repeating one stands for all its occurrences)."""

    id: str
    revision: int
    person: str
    title: str
    starts_at: str
    tz: str
    duration_min: int
    location: str | None
    professional: str | None
    reminders: list[int]
    rrule: str | None
    note: str | None
    uid: str | None
    provenance: str
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> Appointment:
        """Build from a row selected with _COLUMNS."""
        values = list(row)
        values[9] = json.loads(values[9])
        return cls(*values)

    @property
    def start(self) -> dt.datetime:
        """The (first) start, aware, in UTC."""
        return dt.datetime.fromisoformat(self.starts_at)

    def local(self, when: dt.datetime | None = None) -> dt.datetime:
        """`when` (default: the first start) in the appointment's own time zone."""
        return (when or self.start).astimezone(times.zone(self.tz))

    def to_json(self, person_name: str | None = None,
                occurrence: dt.datetime | None = None) -> dict[str, Any]:
        """The stable JSON form (docs/cli.md lists the keys)."""
        start = self.local(occurrence)
        end = ((occurrence or self.start) + dt.timedelta(minutes=self.duration_min)).astimezone(
            start.tzinfo)  # in UTC first: a daylight-saving change inside stays right
        return {
            "id": self.id, "title": self.title, "person": person_name or self.person,
            "person_id": self.person, "start": start.isoformat(),
            "end": end.isoformat(),
            "tz": self.tz, "duration_min": self.duration_min, "where": self.location,
            "with": self.professional, "reminders_min": self.reminders, "repeat": self.rrule,
            "note": self.note, "uid": self.uid, "provenance": self.provenance,
            "revision": self.revision,
        }


class Occurrence(NamedTuple):
    """One occurrence of an appointment."""

    appointment: Appointment
    start: dt.datetime  # UTC

    def local(self) -> dt.datetime:
        """Its start in the appointment's time zone."""
        return self.appointment.local(self.start)


class Agenda:
    """Appointments and prevention items of every person in the vault."""

    def __init__(self, store: Store, people: People, profile: Profile | None = None) -> None:
        self.store, self.people = store, people
        self.profile = profile or Profile(store, people)

    # -- appointments --------------------------------------------------------------------

    def add(self, person: Person, title: str, start: dt.datetime, *, tz: str | None = None,
            duration_min: int = 30, location: str | None = None,
            professional: str | None = None, reminders: builtins.list[int] | None = None,
            rrule: str | None = None, note: str | None = None) -> Appointment:
        """Add an appointment typed by the person."""
        self.people.check_writable(person)
        with self.store.write() as tx:
            rid = self.add_in(tx, person, title, start, tz=tz, duration_min=duration_min,
                              location=location, professional=professional,
                              reminders=reminders, rrule=rrule, note=note, provenance="typed")
        return self.get(rid)

    def add_in(self, tx: db.Connection, person: Person, title: str, start: dt.datetime, *,
               tz: str | None = None, duration_min: int = 30, location: str | None = None,
               professional: str | None = None, reminders: builtins.list[int] | None = None,
               rrule: str | None = None, note: str | None = None, uid: str | None = None,
               provenance: str = "typed") -> str:
        """Add inside the caller's transaction (audited); return the appointment's id."""
        fields = _checked(title, start, times.zone(tz).key, duration_min, reminders or [],
                          rrule)
        rid = records.insert(tx, "agenda_items", fields | {
            "person": person.id, "location": _text(location), "professional":
            _text(professional), "note": _text(note), "uid": uid, "provenance": provenance,
        }, device=self.store.device)
        self.store.log(tx, "agenda.add", person=person.id, record=rid,
                       detail={"provenance": provenance})
        return rid

    def get(self, ref: str) -> Appointment:
        """An appointment by id or unique id prefix (at least 4 characters)."""
        rows = records.by_prefix(
            self.store.conn, f"SELECT {_COLUMNS} FROM agenda_items WHERE deleted = 0", ref)
        if len(rows) > 1:
            raise UsageError(_("'{ref}' matches several appointments: give more of the id.")
                             .format(ref=ref))
        if not rows:
            raise NotFoundError(_("No appointment '{ref}'.").format(ref=ref))
        return Appointment.from_row(rows[0])

    def list(self, person: Person | None = None, start: dt.datetime | None = None,
             end: dt.datetime | None = None) -> builtins.list[Occurrence]:
        """Occurrences in [start, end) (default: from now for a year), soonest first."""
        begin = start or dt.datetime.now(dt.UTC)
        stop = end or begin + dt.timedelta(days=366)
        sql = (f"SELECT {_COLUMNS} FROM agenda_items WHERE deleted = 0 "
               "AND (starts_at < ? OR rrule IS NOT NULL)")
        args: builtins.list[object] = [stop.astimezone(dt.UTC).isoformat()]
        if person:
            sql += " AND person = ?"
            args.append(person.id)
        out = []
        for row in self.store.conn.execute(sql, args).fetchall():
            item = Appointment.from_row(row)
            shift = dt.timedelta(minutes=item.duration_min)
            out += [Occurrence(item, when) for when in times.occurrences(
                item.start, times.zone(item.tz), item.rrule, begin - shift, stop)]
        return sorted(out, key=lambda o: (o.start, o.appointment.title))

    def edit(self, ref: str, changes: dict[str, Any], *, revision: int) -> Appointment:
        """Change some fields (keys of EDITABLE; `start` an aware datetime) of the appointment
        at `revision`, the one the caller read: ConflictError if it changed meanwhile."""
        item = self.get(ref)
        self.people.check_writable(self.people.get(item.person))
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(sorted(unknown))
        now: dict[str, Any] = {"title": item.title, "start": item.start, "tz": item.tz,
               "duration_min": item.duration_min, "reminders": item.reminders,
               "rrule": item.rrule, "location": item.location,
               "professional": item.professional, "note": item.note}
        merged = now | changes
        fields = _checked(merged["title"], merged["start"], times.zone(merged["tz"]).key,
                          merged["duration_min"], merged["reminders"], merged["rrule"])
        fields |= {k: _text(merged[k]) for k in ("location", "professional", "note")}
        current = {k: getattr(item, k) for k in fields if k != "reminders"}
        if {k: v for k, v in fields.items() if k != "reminders"} == current \
                and merged["reminders"] == item.reminders:
            raise UsageError(_("Nothing to change."))
        with self.store.write() as tx:
            records.update(tx, "agenda_items", item.id, fields, device=self.store.device,
                           base_revision=revision)
            self.store.log(tx, "agenda.edit", person=item.person, record=item.id)
        return self.get(item.id)

    def remove(self, ref: str) -> Appointment:
        """Delete an appointment (a tombstone keeps only its id and revision)."""
        item = self.get(ref)
        self.people.check_writable(self.people.get(item.person))
        with self.store.write() as tx:
            records.tombstone(tx, AGENDA_ITEMS, item.id, device=self.store.device,
                              base_revision=item.revision,
                              keep={"uid": _removed_uid(item.uid) if item.uid else None})
            self.store.log(tx, "agenda.remove", person=item.person, record=item.id)
        return item

    def by_uid(self, person: Person, uids: builtins.list[str]) -> dict[str, Appointment]:
        """The person's appointments imported with these iCalendar UIDs, removed ones too (a
        tombstone keeps a hash of its UID, so that importing the file again does not bring it
        back)."""
        sql = f"SELECT {_COLUMNS} FROM agenda_items WHERE deleted = ? AND person = ? AND uid IN"
        conn, hashed = self.store.conn, {_removed_uid(u): u for u in uids}
        live = map(Appointment.from_row, records.rows_in(conn, sql, [0, person.id], uids))
        gone = map(Appointment.from_row, records.rows_in(conn, sql, [1, person.id], list(hashed)))
        return {a.uid: a for a in live if a.uid} | {hashed[a.uid]: a for a in gone if a.uid}

    def reminders_due(self, now: dt.datetime, people: builtins.list[Person],
                      ) -> builtins.list[Occurrence]:
        """Occurrences not yet started whose earliest reminder falls before the end of today
        (local): a cron run in the morning tells of a 14:00 appointment with a 2-hour
        reminder."""
        local_now = now.astimezone(times.zone())
        end_of_day = (local_now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        out = []
        for person in people:
            for occ in self.list(person, now, now + dt.timedelta(days=61)):
                first = max(occ.appointment.reminders, default=None)
                if first is not None and now < occ.start and \
                        occ.start - dt.timedelta(minutes=first) < end_of_day:
                    out.append(occ)
        return out

    # -- prevention ----------------------------------------------------------------------

    def facts(self, person: Person) -> Any:
        """What the engine needs about a person: birth, sex, vaccinations, screenings and the
        items marked done, read from the profile (through its service): a dose or a test
        marked done is a profile entry linked to its item (`prevention:RULE:DOSE`)."""
        from msante.agenda.prevention import PersonFacts

        vaccinations, screenings, done = [], [], []
        for entry in self.profile.list(person, "vaccinations") + self.profile.list(
                person, "screenings"):
            fields, marked = entry.data, _marked_item(entry.external_id)
            if entry.section == "vaccinations":
                vaccinations.append((fields["date"], fields["vaccine"], fields.get("dose")))
            elif marked is None:  # a test marked done is counted once, as the mark
                screenings.append((fields["screening"], fields["date"], fields.get("result")))
            if marked is not None:
                done.append((*marked, fields["date"]))
        legacy = [(r[0], int(r[1]), r[2]) for r in self.store.conn.execute(
            "SELECT rule, dose, done_on FROM prevention_done WHERE deleted = 0 AND person = ?",
            (person.id,)).fetchall()]  # an earlier version's, not converted yet (legacy.py)
        done = legacy + done  # a profile entry made since has the last word on the day
        return PersonFacts(id=person.id, born=person.born, sex=person.sex,
                           vaccinations=vaccinations, screenings=screenings, done=done)

    def due(self, person: Person, today: dt.date | None = None,
            horizon_months: int = 12) -> builtins.list[Item]:
        """Overdue, due, coming (within the horizon) and ask-your-doctor prevention items."""
        from msante.agenda import prevention

        items = prevention.evaluate(self.facts(person), today or dt.date.today(),
                                    horizon_months=horizon_months)
        return [i for i in items if i.status != "done"]

    def plan(self, person: Person, today: dt.date | None = None) -> builtins.list[Item]:
        """A child's whole vaccination calendar, done, due and coming."""
        from msante.agenda import prevention

        return prevention.plan(self.facts(person), today or dt.date.today())

    def done(self, item_id: str, on: dt.date | None = None, *, note: str | None = None,
             product: str | None = None) -> tuple[Person, str, int]:
        """Mark a prevention item done (its id: rule:dose:person); (person, rule, dose).

        A vaccine dose becomes (or changes) a vaccination entry of the profile, naming
        `product` if given, else the vaccine of the item; a screening test becomes a
        screening entry: the profile is the one record of what was done."""
        from msante.agenda import prevention

        person, rule_id, dose = self._item(item_id)
        self.people.check_writable(person)
        self._check_scheduled(person, rule_id, dose, item_id)
        day = on or dt.date.today()
        if day > dt.date.today() or day < person.born:
            raise UsageError(_("{date} is not a day it could have been done.").format(date=day))
        rule = prevention.rule(rule_id)
        assert rule is not None  # checked by _item
        section, values = entry_values(rule, dose, day, _text(note), _text(product))
        canonical = prevention.item_id(rule_id, dose, person.id)
        with self.store.write() as tx:
            self._record(tx, person, section, values, rule_id, dose, canonical)
            self.store.log(tx, "agenda.done", person=person.id,
                           detail={"rule": rule_id, "dose": dose})
        return person, rule_id, dose

    def _record(self, tx: db.Connection, person: Person, section: str,
                values: dict[str, object], rule: str, dose: int, item: str) -> None:
        """Change the current entry linked to the item, or add one (a new link if an earlier
        entry was removed as an error)."""
        base = f"{LINK}{rule}:{dose}"
        linked = self.entries_of(person, section, rule, dose)
        current = [e for e in linked if e.status == "current"]
        if current:
            kept = {k: v for k, v in values.items() if v is not None}
            self.profile.edit_in(tx, current[0], kept | {"date": values["date"]})
            return
        key = base if not linked else f"{base}#{len(linked) + 1}"
        self.profile.add_in(tx, person, section, values, provenance="prevention", source=item,
                            external_id=key)

    def entries_of(self, person: Person, section: str, rule: str,
                   dose: int) -> builtins.list[Entry]:
        """The profile entries made by marking (rule, dose) done, removed ones too."""
        base = f"{LINK}{rule}:{dose}"
        return [e for e in self.profile.linked(person, section, base)
                if e.external_id == base or (e.external_id or "").startswith(base + "#")]

    def _check_scheduled(self, person: Person, rule: str, dose: int, item_id: str) -> None:
        """Only an item the person's schedule has (due, coming, done…) can be marked done."""
        from msante.agenda import prevention

        today, facts = dt.date.today(), self.facts(person)
        known = {(i.rule_id, i.dose) for i in prevention.evaluate(facts, today,
                                                                  horizon_months=240)}
        known |= {(i.rule_id, i.dose) for i in prevention.plan(facts, today)}
        if (rule, dose) not in known:
            raise UsageError(_("'{id}' is not an item of {name}'s schedule: see msante agenda "
                               "due or msante agenda plan.").format(id=item_id,
                                                                   name=person.name))

    def _item(self, item_id: str) -> tuple[Person, str, int]:
        from msante.agenda import prevention

        parsed = prevention.parse_item_id(item_id)
        if parsed is None:
            raise UsageError(_("'{id}' is not a prevention item id (see msante agenda due).")
                             .format(id=item_id))
        rule, dose, prefix = parsed
        matches = [p for p in self.people.list() if p.id.startswith(prefix)]
        if len(matches) != 1:
            raise NotFoundError(_("No person for the prevention item '{id}'.")
                                .format(id=item_id))
        if prevention.rule(rule) is None:
            raise NotFoundError(_("No prevention rule '{rule}'.").format(rule=rule))
        return matches[0], rule, dose


def _marked_item(external_id: str | None) -> tuple[str, int] | None:
    """(rule, dose) of a profile entry made by marking an item done, else None."""
    if not external_id or not external_id.startswith(LINK):
        return None
    rule, _sep, dose = external_id[len(LINK):].partition("#")[0].rpartition(":")
    return (rule, int(dose)) if rule and dose.isdigit() else None


def entry_values(rule: Rule, dose: int, day: dt.date, note: str | None,
                  product: str | None) -> tuple[str, dict[str, object]]:
    """The profile section and fields that record an item marked done."""
    from msante.agenda import prevention

    if rule.domain == "screening":
        if product:
            raise UsageError(_("A product is given for a vaccination, not for a screening."))
        return "screenings", {"screening": rule.tests[0][0], "date": day.isoformat(),
                              "note": note}
    wanted = frozenset().union(*rule.antigens)
    given = prevention.antigens_of(product) if product else wanted
    if given and not given & wanted:
        raise UsageError(_("{product} is not a vaccine for {item}.").format(
            product=product, item=rule.label.get()))
    return "vaccinations", {"vaccine": product or rule.label.get(), "date": day.isoformat(),
                            "dose": dose if rule.kind == "series" else None, "note": note}


def _removed_uid(uid: str) -> str:
    """What a removed appointment keeps of its UID: a hash, not the UID itself."""
    import hashlib

    return "removed:" + hashlib.sha256(uid.encode()).hexdigest()[:32]


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _checked(title: str, start: dt.datetime, tz: str, duration_min: int,
             reminders: builtins.list[int], rrule: str | None) -> dict[str, Any]:
    """The stored fields of an appointment, checked."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=times.zone(tz))
    times.check_appointment(title=title or "", start=start, duration_min=duration_min,
                            reminders=reminders)
    rule = times.repeat_rule(rrule, start.astimezone(times.zone(tz))) if rrule else None
    return {"title": title.strip(), "starts_at": start.astimezone(dt.UTC).isoformat(),
            "tz": tz, "duration_min": int(duration_min), "reminders": json.dumps(reminders),
            "rrule": rule}
