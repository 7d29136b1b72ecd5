"""The prevention rules (`data/prevention_rules.json`) and the vaccine name table
(`data/vaccine_brands.json`), read once and checked into frozen, typed dataclasses.

Ages and intervals are ISO 8601 durations (`P2M`, `P25Y`, `P1Y6M`); texts shown to people
are `{"en": …, "fr": …}` pairs picked in the language in use. A series may have `tracks`:
the same doses for another antigen group, followed and shown apart as the rule
`RULE.TRACK` (`infant_hexa.pcv`, the pneumococcal conjugate doses given with the
hexavalent ones). Any unknown key, unknown
antigen, source or test kind, or missing field is an `IntegrityError` naming the rule: a
typo in the data never silently drops a recommendation. The format is described in
docs/architecture.md (Prevention rules).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msante.agenda.rule_types import Campaign as Campaign
from msante.agenda.rule_types import Dose as Dose
from msante.agenda.rule_types import Every as Every
from msante.agenda.rule_types import Late as Late
from msante.agenda.rule_types import Source as Source
from msante.agenda.rule_types import Span as Span
from msante.agenda.rule_types import Text as Text
from msante.agenda.rule_types import Waiver as Waiver
from msante.errors import IntegrityError
from msante.i18n import _
from msante.text import fold

DATA = Path(__file__).resolve().parent.parent / "data"
RULES_FILE = DATA / "prevention_rules.json"
VACCINES_FILE = DATA / "vaccine_brands.json"
KINDS = ("series", "every", "campaign", "screening", "ask-doctor")
DOMAINS = ("vaccination", "screening")
SEXES = ("any", "female", "male")
STATUSES = ("official-page-verified", "regional-official-verified", "secondary-verified",
            "secondary-only")
TEST_KINDS = ("mammography", "colorectal-fit", "cervical-hpv", "cervical-cytology")
NO_LIMIT = "no-limit"
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
TRACK_SEP = "."
_TRACK_KEYS = {"id", "label", "antigens", "missed_ask_until", "late"}
_COMMON = {"id", "domain", "sex", "kind", "label", "who", "schedule", "status", "sources",
           "shown", "note", "choices", "catch_up"}
_KEYS = {
    "series": {"antigens", "doses", "counts_from", "waive", "first_dose_from",
               "first_dose_until", "born_from", "catch_up_of", "tracks", "missed_ask_until",
               "not_counted", "in_force", "late", "replaced_by"},
    "every": {"antigens", "every"},
    "campaign": {"antigens", "age_from", "campaign", "first_season", "born_from", "in_force"},
    "screening": {"age_from", "age_until", "tests", "grace"},
    "ask-doctor": {"antigens", "counts_from", "age_from", "age_until", "condition",
                   "count_vaccinations", "repeat", "pause"},
}


class RulesError(IntegrityError):
    """A rules or vaccine file that does not follow the format."""


class _Bad(ValueError):
    """A problem found while reading, reported as a RulesError naming where it is."""


@dataclass(frozen=True)
class Rule:
    """One prevention rule (a row of the reference CSV), ready for the engine."""

    id: str
    domain: str
    sex: str
    kind: str
    label: Text
    who: Text
    schedule: Text
    status: str
    sources: tuple[str, ...]  # every source the team checked the rule against (the CSV's)
    shown: tuple[str, ...] = ()  # the official sources a person is shown
    antigens: tuple[frozenset[str], ...] = ()
    doses: tuple[Dose, ...] = ()
    every: Every | None = None
    campaign: Campaign | None = None
    tests: tuple[tuple[str, tuple[Span, ...]], ...] = ()
    grace: Span | None = None
    age_from: Span | None = None
    age_until: Span | None = None
    counts_from: Span | None = None
    first_dose_from: Span | None = None
    first_dose_until: Span | None = None
    born_from: dt.date | None = None
    catch_up_of: str | None = None
    waive: Waiver | None = None
    catch_up: Text | None = None
    condition: Text | None = None
    count_vaccinations: bool = True
    repeat: bool = False
    pause: Span | None = None  # ask-doctor: silent for this long after a done mark
    missed_ask_until: Span | None = None  # series: missed doses become a question until then
    not_counted: frozenset[str] = frozenset()  # series: antigens named in `why` as not counting
    tracks: tuple[Rule, ...] = ()  # series: the same doses for other antigens (`RULE.TRACK`)
    in_force: tuple[dt.date | None, dt.date | None] = (None, None)  # from, until (excluded)
    late: Late | None = None  # series: the schedule when started late
    first_season: bool = False  # campaign: only the first season of the person's life
    replaced_by: str | None = None  # series: the rule that took over when this one ended
    note: str = ""
    choices: str = ""

    @property
    def event_question(self) -> bool:
        """Whether this is a question asked again for each event msante does not know (a
        pregnancy): its age range only bounds who is asked, its dates mean nothing."""
        return self.kind == "ask-doctor" and self.repeat

    def start_age(self) -> Span | None:
        """The age from which the rule concerns someone (its first dose's, or its own)."""
        if self.kind == "series":
            return self.doses[0].age
        return self.every.first if self.every else self.age_from


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Every rule of an edition, by id, with the sources they cite."""

    edition: str
    rules: tuple[Rule, ...]
    sources: Mapping[str, Source]

    def get(self, rule_id: str) -> Rule | None:
        """The rule or track (`infant_hexa.pcv`) called `rule_id`, if any."""
        return next((r for r in self.all() if r.id == rule_id), None)

    def all(self) -> Iterator[Rule]:
        """Every rule, each followed by its tracks."""
        for rule in self.rules:
            yield rule
            yield from rule.tracks


@dataclass(frozen=True, eq=False)
class VaccineTable:
    """Vaccine names (folded, without spaces or punctuation) → the antigens they cover."""

    antigens: Mapping[str, Text]
    names: Mapping[str, frozenset[str]]
    longest: int  # the most words a name has

    def antigens_of(self, text: str) -> frozenset[str]:
        """The antigens a vaccination's text names ("Infanrix hexa + Prevenar 13" → 7)."""
        return _antigens_of(self, text)


@functools.lru_cache(maxsize=8192)
def _antigens_of(table: VaccineTable, text: str) -> frozenset[str]:
    words = _words(text)
    found: set[str] = set()
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + table.longest), i, -1):
            hit = table.names.get("".join(words[i:j]))
            if hit is not None:
                found |= hit
                i = j
                break
        else:
            i += 1
    return frozenset(found)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


# -- loading -------------------------------------------------------------------------------


@functools.cache
def default_vaccines() -> VaccineTable:
    """The shipped vaccine table, read once."""
    return load_vaccines(VACCINES_FILE)


@functools.cache
def default_rules() -> RuleSet:
    """The shipped rules, read once and checked against the shipped vaccine table."""
    return load_rules(RULES_FILE)


def load_vaccines(path: Path) -> VaccineTable:
    """Read and check a vaccine table file."""
    return parse_vaccines(_read(path))


def load_rules(path: Path, vaccines: VaccineTable | None = None) -> RuleSet:
    """Read and check a rules file (antigens checked against `vaccines`)."""
    return parse_rules(_read(path), vaccines or default_vaccines())


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise _error(f"{path.name}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != 1:
        raise _error(f"{path.name}: expected a JSON object with format 1")
    return data


def _error(problem: str) -> RulesError:
    return RulesError(_("Invalid prevention data: {problem}").format(problem=problem))


@contextlib.contextmanager
def _reporting(where: str) -> Iterator[None]:
    """Turn any problem met in the block into one RulesError naming `where`."""
    try:
        yield
    except _Bad as e:
        raise _error(f"{where}: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise _error(f"{where}: {type(e).__name__} {e}") from None


def parse_vaccines(data: Mapping[str, Any]) -> VaccineTable:
    """Check a vaccine table's content and index its names."""
    with _reporting("vaccine table"):
        return _vaccines(data)


def _vaccines(data: Mapping[str, Any]) -> VaccineTable:
    antigens = {key: _text(value, f"antigen {key}") for key, value in data["antigens"].items()}
    names: dict[str, frozenset[str]] = {}
    for entry in data["vaccines"]:
        covered = frozenset(entry["antigens"])
        if not covered or not covered <= antigens.keys():
            raise _Bad(f"vaccine {entry['names']}: unknown antigens {sorted(covered)}")
        for name in entry["names"]:
            key = "".join(_words(name))
            if not key or names.get(key, covered) != covered:
                raise _Bad(f"vaccine name {name!r} is empty or names two vaccines")
            names[key] = covered
    longest = max(len(_words(n)) for e in data["vaccines"] for n in e["names"])
    return VaccineTable(antigens, names, longest)


def parse_rules(data: Mapping[str, Any], vaccines: VaccineTable) -> RuleSet:
    """Check a rules file's content and build its rules."""
    with _reporting("rules file"):
        sources = {key: _source(key, s) for key, s in data["sources"].items()}
        rules = tuple(_rule(raw, sources, vaccines) for raw in data["rules"])
        _check_links(rules)
        return RuleSet(str(data["edition"]), rules, sources)


def _source(key: str, raw: Mapping[str, Any]) -> Source:
    official = bool(raw.get("official", False))
    if official and not raw.get("publisher"):
        raise _Bad(f"source {key}: an official source needs its publisher")
    year = raw.get("year")
    return Source(key, str(raw["title"]), tuple(raw["urls"]), str(raw.get("note", "")),
                  str(raw.get("publisher", "")), int(year) if year else None, official)


def _check_links(rules: tuple[Rule, ...]) -> None:
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise _Bad("two rules have the same id")
    for r in rules:
        target = next((x for x in rules if x.id == r.catch_up_of), None)
        if r.catch_up_of and (target is None or target.kind != "series"):
            raise _Bad(f"{r.id}: catch_up_of names no series rule")
        if r.replaced_by and (r.in_force[1] is None or not any(
                x.id == r.replaced_by and x.kind == "series" for x in rules)):
            raise _Bad(f"{r.id}: replaced_by needs an end in force and a series rule")


def _rule(raw: Mapping[str, Any], sources: Mapping[str, Source],
          vaccines: VaccineTable) -> Rule:
    with _reporting(f"rule {raw.get('id')!r}"):
        return _checked(_with_tracks(_build(raw, vaccines), raw, vaccines), sources)


def _build(raw: Mapping[str, Any], vaccines: VaccineTable) -> Rule:
    kind = raw["kind"]
    if kind not in KINDS:
        raise _Bad(f"unknown kind {kind!r}")
    extra = set(raw) - _COMMON - _KEYS[kind]
    if extra:
        raise _Bad(f"unknown keys {sorted(extra)}")
    def get(key: str) -> Span | None:
        return _span(raw[key]) if key in raw else None

    return Rule(
        id=raw["id"], domain=raw["domain"], sex=raw["sex"], kind=kind,
        label=_text(raw["label"], "label"), who=_text(raw["who"], "who"),
        schedule=_text(raw["schedule"], "schedule"), status=raw["status"],
        sources=tuple(raw["sources"]), shown=tuple(raw.get("shown", ())),
        antigens=_antigens(raw, vaccines),
        doses=tuple(_dose(d) for d in raw.get("doses", ())), every=_every(raw.get("every")),
        campaign=_campaign(raw.get("campaign")), tests=_tests(raw.get("tests", {})),
        grace=get("grace"), age_from=get("age_from"), age_until=get("age_until"),
        counts_from=get("counts_from"), first_dose_from=get("first_dose_from"),
        first_dose_until=get("first_dose_until"),
        born_from=dt.date.fromisoformat(raw["born_from"]) if "born_from" in raw else None,
        in_force=_in_force(raw.get("in_force")), late=_late(raw.get("late")),
        first_season=bool(raw.get("first_season", False)), replaced_by=raw.get("replaced_by"),
        catch_up_of=raw.get("catch_up_of"), waive=_waiver(raw.get("waive"), vaccines),
        catch_up=_text(raw["catch_up"], "catch_up") if "catch_up" in raw else None,
        condition=_text(raw["condition"], "condition") if "condition" in raw else None,
        count_vaccinations=bool(raw.get("count_vaccinations", True)),
        repeat=bool(raw.get("repeat", False)), pause=get("pause"),
        missed_ask_until=get("missed_ask_until"),
        not_counted=_antigens({"antigens": [raw["not_counted"]]}, vaccines)[0]
        if "not_counted" in raw else frozenset(),
        note=str(raw.get("note", "")), choices=str(raw.get("choices", "")))


def _with_tracks(rule: Rule, raw: Mapping[str, Any], vaccines: VaccineTable) -> Rule:
    """The rule with its tracks: copies named `RULE.TRACK` with their own label and antigens."""
    tracks = []
    for track in raw.get("tracks", ()):
        if not {"id", "label", "antigens"} <= set(track) <= _TRACK_KEYS \
                or not _RULE_ID.match(track["id"]):
            raise _Bad(f"a track needs an id, a label and antigens: {track}")
        own: dict[str, Any] = {}
        if "missed_ask_until" in track:
            own["missed_ask_until"] = _span(track["missed_ask_until"])
        if "late" in track:
            own["late"] = _late(track["late"])
        tracks.append(dataclasses.replace(
            rule, id=f"{rule.id}{TRACK_SEP}{track['id']}", label=_text(track["label"], "label"),
            antigens=_antigens(track, vaccines), tracks=(), **own))
    return dataclasses.replace(rule, tracks=tuple(tracks))


def _checked(rule: Rule, sources: Mapping[str, Source]) -> Rule:
    problems = [
        (not _RULE_ID.match(rule.id), "the id must be lower-case letters, digits and _"),
        (rule.domain not in DOMAINS, f"unknown domain {rule.domain!r}"),
        (rule.sex not in SEXES, f"unknown sex {rule.sex!r}"),
        (rule.status not in STATUSES, f"unknown verification status {rule.status!r}"),
        (not rule.sources or not set(rule.sources) <= sources.keys(), "unknown sources"),
        (not rule.shown or any(not sources[k].official for k in rule.shown
                               if k in sources) or not set(rule.shown) <= sources.keys(),
         "'shown' must name official sources"),
        ((rule.domain == "vaccination") != bool(rule.antigens), "antigens missing or extra"),
        (rule.kind == "series" and (not rule.doses or rule.doses[0].age is None),
         "a series needs doses, the first with an age"),
        (rule.kind == "every" and rule.every is None, "'every' missing"),
        (rule.kind == "campaign" and (rule.campaign is None or rule.age_from is None),
         "'campaign' and 'age_from' needed"),
        (rule.kind in ("screening", "ask-doctor")
         and (rule.age_from is None or rule.age_until is None), "age_from/age_until needed"),
        (rule.kind == "screening" and (not rule.tests or rule.grace is None),
         "'tests' and 'grace' needed"),
        (rule.kind == "ask-doctor" and rule.condition is None, "'condition' needed"),
        (rule.kind in ("every", "campaign", "ask-doctor") and len(rule.antigens) > 1,
         "only a series may name several antigen groups"),
        (any(not t.antigens for t in rule.tracks), "a track needs antigens"),
    ]
    for bad, problem in problems:
        if bad:
            raise _Bad(problem)
    return rule


def _span(value: object) -> Span:
    match = _DURATION.match(str(value))
    if not match or str(value) == "P":
        raise _Bad(f"{value!r} is not a duration such as P2M or P25Y")
    years, months, weeks, days = (int(g or 0) for g in match.groups())
    return Span(years, months, weeks * 7 + days)


def _text(value: Any, what: str) -> Text:
    if not isinstance(value, dict) or not value.get("en") or not value.get("fr"):
        raise _Bad(f"{what} needs an English and a French text")
    return Text(str(value["en"]), str(value["fr"]))


def _antigens(raw: Mapping[str, Any], vaccines: VaccineTable) -> tuple[frozenset[str], ...]:
    groups = tuple(frozenset(g) for g in raw.get("antigens", ()))
    for group in groups:
        if not group or not group <= vaccines.antigens.keys():
            raise _Bad(f"unknown antigens in {sorted(group)}")
    return groups


def _dose(raw: Mapping[str, Any]) -> Dose:
    if set(raw) - {"age", "after", "window", "catch_up_until", "after_early"} or not (
            "age" in raw or "after" in raw):
        raise _Bad(f"a dose needs an age or an interval after the previous one: {raw}")
    until = raw.get("catch_up_until")
    return Dose(age=_span(raw["age"]) if "age" in raw else None,
                after=_span(raw["after"]) if "after" in raw else None,
                window=_span(raw["window"]),
                catch_up_until=_span(until) if until not in (None, NO_LIMIT) else None,
                no_limit=until == NO_LIMIT,
                after_early=_span(raw["after_early"]) if "after_early" in raw else None)


def _late(raw: Mapping[str, Any] | None) -> Late | None:
    if raw is None:
        return None
    if set(raw) != {"from", "doses"} or not raw["doses"] or "age" not in raw["doses"][0]:
        raise _Bad(f"'late' needs 'from' and doses, the first with an age: {raw}")
    return Late(_span(raw["from"]), tuple(_dose(d) for d in raw["doses"]))


def _in_force(raw: Mapping[str, Any] | None) -> tuple[dt.date | None, dt.date | None]:
    """When the rule came into force and when it stopped (a successor took over)."""
    if raw is None:
        return None, None
    if not raw or set(raw) - {"from", "until", "note"}:
        raise _Bad(f"'in_force' takes from, until and a note: {raw}")
    start, end = (dt.date.fromisoformat(raw[k]) if raw.get(k) else None
                  for k in ("from", "until"))
    if start and end and end <= start:
        raise _Bad("'in_force' ends before it starts")
    return start, end


def _every(raw: Mapping[str, Any] | None) -> Every | None:
    if raw is None:
        return None
    return Every(_span(raw["first"]), _span(raw["interval"]), _span(raw["window"]),
                 _span(raw["early"]))


def _campaign(raw: Mapping[str, Any] | None) -> Campaign | None:
    if raw is None:
        return None
    season, start, until = (_month_day(raw[k]) for k in ("season_starts", "from", "until"))
    return Campaign(season, start, until)


def _month_day(value: object) -> tuple[int, int]:
    match = _MONTH_DAY.match(str(value))
    if not match:
        raise _Bad(f"{value!r} is not a month and day such as 10-15")
    month, day = int(match[1]), int(match[2])
    dt.date(2001, month, day)  # ValueError for 02-30; 29 February is refused too
    return month, day


def _tests(raw: Mapping[str, Any]) -> tuple[tuple[str, tuple[Span, ...]], ...]:
    if set(raw) - set(TEST_KINDS) or any(not v for v in raw.values()):
        raise _Bad(f"unknown test kinds or empty intervals in {raw}")
    return tuple((kind, tuple(_span(v) for v in spans)) for kind, spans in raw.items())


def _waiver(raw: Mapping[str, Any] | None, vaccines: VaccineTable) -> Waiver | None:
    if raw is None:
        return None
    groups = _antigens({"antigens": [raw["antigens"]]}, vaccines)
    within, from_age = raw.get("if_given_within"), raw.get("from_age")
    return Waiver(groups[0], _span(within) if within else None,
                  _span(from_age) if from_age else None)
