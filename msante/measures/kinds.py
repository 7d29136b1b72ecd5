"""Kinds of measurement as data: names, aliases, units and conversions, bounds, codes.

Each kind stores its values in one canonical unit (`Kind.unit`); the other units it accepts
convert to it as `canonical = value * factor + offset`. Values outside `low`–`high` (canonical
unit) are refused as implausible. A kind may also have a `guess`: a value typed without a unit
inside its range is more likely in another unit than in the canonical one, so it is refused
with a hint to write the unit (glucose: 2–10 typed bare would be a very high reading in g/L,
the unit stored, but is an ordinary one in mmol/L; "5.5" must be written "5.5 mmol/L", or
"5.5 g/L" when that is meant). Blood pressure has its own such rule: a systolic that is
plausible once multiplied by 10 was typed in cmHg. `ucum` and `loinc` are what FHIR export
writes; a pair (blood pressure) has a LOINC panel code and one code per part. Labels are marked
with `N_` and translated when they are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from msante.errors import UsageError
from msante.i18n import N_, _, current
from msante.text import fold

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BMI_LOINC = "39156-5"
BMI_UCUM = "kg/m2"

LB = 0.45359237
INCH = 2.54


class Unit(NamedTuple):
    """A unit a kind accepts: its name as shown, its conversion, its other spellings."""

    name: str
    factor: float = 1.0
    offset: float = 0.0
    spellings: tuple[str, ...] = ()


class Guess(NamedTuple):
    """Values typed without a unit from `low` to `high` that are probably in `unit`."""

    low: float
    high: float
    unit: str


@dataclass(frozen=True)
class Kind:
    """One kind of measurement (weight, blood pressure…)."""

    name: str
    label_text: str
    unit: str
    ucum: str
    loinc: str
    low: float
    high: float
    decimals: int
    units: tuple[Unit, ...]
    aliases: tuple[str, ...] = ()
    parts: tuple[str, str] | None = None  # LOINC codes of the two values of a pair
    low2: float = 0.0
    high2: float = 0.0
    guess: Guess | None = None  # refused without a unit: probably in another unit

    @property
    def label(self) -> str:
        """The kind's name in the user's language."""
        return _(self.label_text)

    @property
    def pair(self) -> bool:
        """Whether a value is two numbers (systolic/diastolic)."""
        return self.parts is not None

    def unit_names(self) -> str:
        """The accepted units, for messages ("kg, g, lb")."""
        return ", ".join(u.name for u in self.units)


def _length(*extra: Unit) -> tuple[Unit, ...]:
    return (Unit("cm"), Unit("m", 100.0), Unit("mm", 0.1),
            Unit("in", INCH, spellings=("inch", "inches", '"', "[in_i]")), *extra)


PER_MINUTE = ("/min", "min-1", "1/min", "min⁻¹")

KINDS: tuple[Kind, ...] = (
    Kind("weight", N_("Weight"), "kg", "kg", "29463-7", 0.2, 350.0, 2,
         (Unit("kg", spellings=("kilo", "kilos", "kilogram", "kilograms")), Unit("g", 0.001),
          Unit("lb", LB, spellings=("lbs", "pound", "pounds", "[lb_av]"))),
         ("poids", "body-weight")),
    Kind("height", N_("Height"), "cm", "cm", "8302-2", 20.0, 260.0, 1, _length(),
         ("taille", "body-height", "length")),
    Kind("blood-pressure", N_("Blood pressure"), "mmHg", "mm[Hg]", "85354-9", 40.0, 300.0, 0,
         (Unit("mmHg", spellings=("mm[Hg]",)), Unit("cmHg", 10.0, spellings=("cm[Hg]",))),
         ("bp", "tension", "ta", "pa", "pression-arterielle"), ("8480-6", "8462-4"),
         20.0, 200.0),
    Kind("heart-rate", N_("Heart rate"), "bpm", "/min", "8867-4", 20.0, 300.0, 0,
         (Unit("bpm", spellings=(*PER_MINUTE, "beats/min", "{beats}/min", "batt/min")),),
         ("hr", "pulse", "pouls", "frequence-cardiaque", "fc")),
    Kind("glucose", N_("Blood glucose"), "g/L", "g/L", "2339-0", 0.1, 10.0, 2,
         (Unit("g/L"), Unit("mmol/L", 1 / 5.551), Unit("mg/dL", 0.01)),
         ("glycemie", "blood-glucose", "glycaemia", "glycemia"),
         guess=Guess(2.0, 10.0, "mmol/L")),
    Kind("temperature", N_("Temperature"), "°C", "Cel", "8310-5", 25.0, 45.0, 1,
         (Unit("°C", spellings=("c", "celsius", "degc", "cel")),
          Unit("°F", 5 / 9, -32 * 5 / 9, spellings=("f", "fahrenheit", "degf", "[degF]"))),
         ("temp", "body-temperature")),
    Kind("spo2", N_("Oxygen saturation"), "%", "%", "59408-5", 50.0, 100.0, 0,
         (Unit("%"),), ("oxygen", "saturation", "sat", "o2")),
    Kind("waist", N_("Waist circumference"), "cm", "cm", "8280-0", 20.0, 250.0, 1, _length(),
         ("tour-de-taille", "waist-circumference")),
    Kind("respiratory-rate", N_("Respiratory rate"), "/min", "/min", "9279-1", 3.0, 80.0, 0,
         (Unit("/min", spellings=(*PER_MINUTE[1:], "rpm", "breaths/min", "{breaths}/min")),),
         ("rr", "breathing", "frequence-respiratoire")),
    Kind("hba1c", N_("HbA1c"), "%", "%", "4548-4", 3.0, 20.0, 1,
         (Unit("%"), Unit("mmol/mol", 0.0915, 2.15)), ("a1c", "hemoglobine-glyquee")),
    Kind("steps", N_("Steps"), "steps", "{steps}", "55423-8", 0.0, 200_000.0, 0,
         (Unit("steps", spellings=("pas", "step", "{steps}")),), ("pas", "pedometer")),
)

_BY_NAME = {k.name: k for k in KINDS} | {a: k for k in KINDS for a in k.aliases}


def all_kinds() -> tuple[Kind, ...]:
    """Every kind, in the order they are shown."""
    return KINDS


def key(text: str) -> str:
    """The matching key of a kind name or alias ("Blood pressure" → "blood-pressure")."""
    return "-".join(fold(text).replace("_", " ").split())


def get(name_or_alias: str) -> Kind:
    """A kind by name or alias (ignoring case and accents); UsageError naming them otherwise."""
    kind = _BY_NAME.get(name_or_alias) or _BY_NAME.get(key(name_or_alias))
    if kind is None:
        raise UsageError(_("Unknown measurement '{kind}': choose one of {kinds}.").format(
            kind=name_or_alias, kinds=", ".join(k.name for k in KINDS)))
    return kind


def _unit_key(text: str) -> str:
    return "".join(text.replace("º", "°").replace("µ", "u").casefold().split())


def find_unit(kind: Kind, text: str | None) -> Unit:
    """The unit `text` names for `kind` (its canonical unit when empty); UsageError otherwise."""
    if not text or not text.strip():
        return kind.units[0]
    wanted = _unit_key(text)
    for unit in kind.units:
        if wanted in {_unit_key(s) for s in (unit.name, *unit.spellings)}:
            return unit
    raise UsageError(_("{kind}: '{unit}' is not a unit for this measurement; use {units}.")
                     .format(kind=kind.label, unit=text.strip(), units=kind.unit_names()))


class Reading(NamedTuple):
    """A value read from what someone typed, in the kind's canonical unit."""

    value: float
    value2: float | None
    entered: str


NUMBER = r"[+-]?\d+(?:[.,]\d+)?"
_SINGLE = re.compile(rf"\s*({NUMBER})\s*(.*?)\s*")
_PAIR = re.compile(rf"\s*({NUMBER})\s*/\s*({NUMBER})\s*(.*?)\s*")


def number(text: str) -> float:
    """A decimal number with a point or a comma ("72,5")."""
    return float(text.replace(",", "."))


def read(kind: Kind, text: str | float, unit: str | None = None) -> Reading:
    """Parse, convert and check a value ("72,5", "120/80", "5,5 mmol/L"); UsageError if wrong."""
    raw = str(text).strip()
    numbers, inline = _split(kind, raw)
    if inline and unit and _unit_key(inline) != _unit_key(unit):
        raise UsageError(_("Two different units given: '{a}' and '{b}'.").format(
            a=inline, b=unit))
    chosen = find_unit(kind, inline or unit)
    entered = raw if inline else f"{raw} {(unit or '').strip() or chosen.name}"
    if any(n < 0 for n in numbers):
        raise UsageError(_("{kind} cannot be negative: {value}.").format(
            kind=kind.label, value=entered))
    values = [round(n * chosen.factor + chosen.offset, kind.decimals + 3) for n in numbers]
    if kind.pair and not (inline or unit) and kind.low <= values[0] * 10 <= kind.high:
        raise UsageError(_("{value} looks like centimetres of mercury: write '{raw} cmHg', or "
                           "the value in mmHg.").format(value=raw, raw=raw))
    if not (inline or unit):
        _refuse_guess(kind, numbers[0], raw)
    check(kind, values[0], values[1] if kind.pair else None, entered)
    return Reading(values[0], values[1] if kind.pair else None, entered)


def _refuse_guess(kind: Kind, typed: float, raw: str) -> None:
    """Refuse a value typed without a unit that is probably in the kind's `guess` unit."""
    guess = kind.guess
    if guess is None or not guess.low <= typed <= guess.high:
        return
    unit = next(u for u in kind.units if u.name == guess.unit)
    converted = format_number(typed * unit.factor + unit.offset, kind.decimals)
    raise UsageError(_("{kind} {value} without a unit looks like {unit}: write '{value} "
                       "{unit}' (= {converted} {canonical}), or '{value} {canonical}' if that "
                       "is what you meant.").format(
        kind=kind.label, value=raw, unit=guess.unit, converted=converted, canonical=kind.unit))


def _split(kind: Kind, raw: str) -> tuple[list[float], str]:
    """The numbers and the unit written after them."""
    match = (_PAIR if kind.pair else _SINGLE).fullmatch(raw)
    if match is None:
        if kind.pair:
            raise UsageError(_("Write a blood pressure as systolic/diastolic, e.g. 120/80 "
                               "(not '{value}').").format(value=raw))
        raise UsageError(_("'{value}' is not a number (e.g. 72.5 or 72,5).").format(value=raw))
    *numbers, inline = match.groups()
    return [number(n) for n in numbers], inline


def check(kind: Kind, value: float, value2: float | None, shown: str) -> None:
    """Refuse an implausible value (canonical unit) with the reason."""
    first = _("Systolic pressure") if kind.pair else kind.label
    _bounds(kind, value, (kind.low, kind.high), shown, first)
    if value2 is None:
        return
    _bounds(kind, value2, (kind.low2, kind.high2), shown, _("Diastolic pressure"))
    if value <= value2:
        raise UsageError(_("The systolic pressure (first number) must be higher than the "
                           "diastolic (second): {value}.").format(value=shown))


def _bounds(kind: Kind, value: float, limits: tuple[float, float], shown: str,
            what: str) -> None:
    low, high = limits
    if not low <= value <= high:
        raise UsageError(_("{what}: {value} is not plausible (expected between {low} and "
                           "{high} {unit}).").format(
            what=what, value=shown, low=format_number(low, kind.decimals, _lang()),
            high=format_number(high, kind.decimals, _lang()), unit=kind.unit))


def _lang() -> str | None:
    """The language numbers are written in, in messages: French writes a decimal comma."""
    return "fr" if current() == "fr" else None


def format_number(value: float, decimals: int, lang: str | None = None) -> str:
    """A number with at most `decimals` decimals: plain with `lang` None, else through Babel."""
    if lang is None:
        text = f"{value:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale=lang))


def display(kind: Kind, value: float, value2: float | None, lang: str | None = None) -> str:
    """A value with its unit ("72.5 kg", "120/80 mmHg"; "72,5 kg" with lang="fr")."""
    text = format_number(value, kind.decimals, lang)
    if value2 is not None:
        text += "/" + format_number(value2, kind.decimals, lang)
    return f"{text} {kind.unit}"


def bmi(weight_kg: float, height_cm: float) -> float:
    """The body-mass index (kg/m²), to one decimal."""
    return round(weight_kg / (height_cm / 100) ** 2, 1)
