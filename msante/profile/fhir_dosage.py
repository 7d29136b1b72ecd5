"""A FHIR Dosage in words: the dose and how often, as msante's two text fields keep them.

A Dosage's own text is what a person wrote: it is kept as the dose, with the timing's code as
the frequency (the way msante exports them, "dose, frequency"). A Dosage without text is put
into words from its structure, in the user's language: the dose (`doseAndRate`: a quantity or
a range), the route, and the timing (`repeat`: frequency and period, the moments of the day,
the hours, the days of the week, how long, how many times; "as needed"). Several dosages (1 in
the morning, 2 in the evening) become one line each, joined in the dose.
"""

from __future__ import annotations

from typing import Any

from msante.formats import fhir
from msante.i18n import N_, _

Json = dict[str, Any]

# periodUnit → (the unit after "per", "every {n} …" for several of them)
UNITS = {"s": (N_("second"), N_("every {n} seconds")), "min": (N_("minute"),
                                                           N_("every {n} minutes")),
         "h": (N_("hour"), N_("every {n} hours")), "d": (N_("day"), N_("every {n} days")),
         "wk": (N_("week"), N_("every {n} weeks")), "mo": (N_("month"), N_("every {n} months")),
         "a": (N_("year"), N_("every {n} years"))}
DURATIONS = {"s": N_("for {n} seconds"), "min": N_("for {n} minutes"), "h": N_("for {n} hours"),
             "d": N_("for {n} days"), "wk": N_("for {n} weeks"), "mo": N_("for {n} months"),
             "a": N_("for {n} years")}
WHEN = {  # EventTiming (FHIR R4) and the HL7 v3 TimingEvent codes it includes
    "MORN": N_("in the morning"), "MORN.early": N_("early in the morning"),
    "MORN.late": N_("late in the morning"), "NOON": N_("at noon"),
    "AFT": N_("in the afternoon"), "AFT.early": N_("early in the afternoon"),
    "AFT.late": N_("late in the afternoon"), "EVE": N_("in the evening"),
    "EVE.early": N_("early in the evening"), "EVE.late": N_("late in the evening"),
    "NIGHT": N_("at night"), "PHS": N_("after sleep"), "HS": N_("at bedtime"),
    "WAKE": N_("on waking"), "C": N_("with a meal"), "CM": N_("with breakfast"),
    "CD": N_("with lunch"), "CV": N_("with dinner"), "AC": N_("before meals"),
    "ACM": N_("before breakfast"), "ACD": N_("before lunch"), "ACV": N_("before dinner"),
    "PC": N_("after meals"), "PCM": N_("after breakfast"), "PCD": N_("after lunch"),
    "PCV": N_("after dinner")}
# Timing.code (v3 GTSAbbreviation) as the repeat it stands for
GTS: dict[str, Json] = {"QD": {"frequency": 1, "period": 1, "periodUnit": "d"},
       "BID": {"frequency": 2, "period": 1, "periodUnit": "d"},
       "TID": {"frequency": 3, "period": 1, "periodUnit": "d"},
       "QID": {"frequency": 4, "period": 1, "periodUnit": "d"},
       "QOD": {"frequency": 1, "period": 2, "periodUnit": "d"},
       "WK": {"frequency": 1, "period": 1, "periodUnit": "wk"},
       "MO": {"frequency": 1, "period": 1, "periodUnit": "mo"},
       "AM": {"when": ["MORN"]}, "PM": {"when": ["AFT"]}, "BED": {"when": ["HS"]},
       **{f"Q{n}H": {"frequency": 1, "period": n, "periodUnit": "h"} for n in (1, 2, 3, 4, 6, 8)}}
DAYS = {"mon": N_("Monday"), "tue": N_("Tuesday"), "wed": N_("Wednesday"),
        "thu": N_("Thursday"), "fri": N_("Friday"), "sat": N_("Saturday"),
        "sun": N_("Sunday")}


def dose_and_frequency(dosages: list[Json]) -> tuple[str | None, str | None]:
    """(dose, frequency) of a medication's dosages (one dosage: its two parts)."""
    if len(dosages) <= 1:
        return _one(dosages[0] if dosages else {})
    lines = [", ".join(filter(None, _one(d))) for d in dosages]
    return "; ".join(filter(None, lines)) or None, None


def _one(dosage: Json) -> tuple[str | None, str | None]:
    text = dosage.get("text")
    timing = dosage.get("timing") or {}
    frequency = _timing_code(timing.get("code"))
    if text:
        if frequency and text.endswith(", " + frequency):
            return text[:-len(frequency) - 2], frequency
        return (None if text == frequency else text), frequency
    words = [w for w in (frequency or _repeat(timing.get("repeat") or {}),
                         _as_needed(dosage)) if w]
    return _dose(dosage), ", ".join(words) or None


def _timing_code(code: Any) -> str | None:
    """A Timing.code: its text, else a GTS abbreviation in words (BID: 2 times per day)."""
    if isinstance(code, dict) and not code.get("text"):
        for c in fhir.codings(code):
            if str(c.get("code")) in GTS:
                return _repeat(GTS[str(c.get("code"))])
    return fhir.text_of(code)


def _num(value: Any) -> str:
    text = format(float(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit(q: Json) -> str:
    unit = str(q.get("unit") or q.get("code") or "")
    return unit.strip("{}")


def _dose(dosage: Json) -> str | None:
    """The quantity (or range) of one intake, and its route."""
    found = None
    for each in dosage.get("doseAndRate") or []:
        q, r = each.get("doseQuantity") or {}, each.get("doseRange") or {}
        if "value" in q:
            found = f"{_num(q['value'])} {_unit(q)}".strip()
        elif "value" in (r.get("low") or {}) and "value" in (r.get("high") or {}):
            found = f"{_num(r['low']['value'])}–{_num(r['high']['value'])} " \
                    f"{_unit(r['high'])}".strip()
        if found:
            break
    route = fhir.text_of(dosage.get("route"))
    return " ".join(filter(None, (found, f"({route})" if route else None))) or None


def _repeat(rep: Json) -> str | None:
    """A Timing.repeat in words: "2 times per day, in the morning, for 5 days"."""
    words = [_rate(rep)]
    words += [_(WHEN[w]) for w in rep.get("when") or [] if w in WHEN]
    if rep.get("timeOfDay"):
        words.append(_("at {times}").format(
            times=", ".join(str(t)[:5] for t in rep["timeOfDay"])))
    if rep.get("dayOfWeek"):
        words.append(", ".join(_(DAYS[d]) for d in rep["dayOfWeek"] if d in DAYS))
    bounds = rep.get("boundsDuration") or {}
    unit = str(bounds.get("code") or bounds.get("unit"))
    if "value" in bounds and unit in DURATIONS:
        words.append(_(DURATIONS[unit]).format(n=_num(bounds["value"])))
    if rep.get("count"):
        words.append(_("{n} times in all").format(n=rep["count"]))
    return ", ".join(w for w in words if w) or None


def _rate(rep: Json) -> str | None:
    """How often: "once per day", "3 times per day", "every 8 hours"."""
    unit = rep.get("periodUnit")
    if unit not in UNITS or not (rep.get("frequency") or rep.get("period")):
        return None
    count = str(rep.get("frequency") or 1) + (
        f"–{rep['frequencyMax']}" if rep.get("frequencyMax") else "")
    period = _num(rep.get("period") or 1) + (
        f"–{_num(rep['periodMax'])}" if rep.get("periodMax") else "")
    per, every = UNITS[unit]
    if period == "1":
        return (_("once per {unit}") if count == "1" else _("{count} times per {unit}")).format(
            count=count, unit=_(per))
    if count == "1":
        return _(every).format(n=period)
    return _("{count} times, {every}").format(count=count, every=_(every).format(n=period))


def _as_needed(dosage: Json) -> str | None:
    if dosage.get("asNeededCodeableConcept"):
        return _("as needed for {reason}").format(
            reason=fhir.text_of(dosage["asNeededCodeableConcept"]))
    return _("as needed") if dosage.get("asNeededBoolean") else None
