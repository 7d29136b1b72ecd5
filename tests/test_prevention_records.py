"""One source of truth between the agenda's prevention items and the profile (issue 11, part 1):
a dose marked done is a vaccination entry of the profile (so `profile show`, the PDF summary,
the emergency card and the FHIR export all have it), a test marked done is a screening entry,
and a vaccination typed in the profile satisfies the matching item. The agenda reads the
profile through the profile service, never its table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from msante.agenda import prevention
from msante.errors import UsageError
from msante.profile import fhir, summary

AGENDA_DIR = Path(prevention.__file__).parent


def _baby(vault, days: int = 100):
    """A child born `days` ago: the first hexavalent dose (2 months) is past due."""
    born = dt.date.today() - dt.timedelta(days=days)
    return vault.people.add("Léo Martin", born, "male")


def _vaccinations(vault, who, everything: bool = False):
    return vault.profile.list(who, "vaccinations", everything=everything)


def _pending(vault, who) -> set[tuple[str, int]]:
    return {(i.rule_id, i.dose) for i in vault.agenda.due(who, horizon_months=0)}


def test_a_dose_marked_done_is_a_vaccination_entry_with_its_product(vault) -> None:
    """The entry names the product given, the dose number and the day; its provenance says it
    came from the prevention schedule; the item is no longer pending."""
    leo = _baby(vault)
    day = leo.born + dt.timedelta(days=62)
    item = prevention.item_id("infant_hexa", 1, leo.id)
    assert ("infant_hexa", 1) in _pending(vault, leo)
    vault.agenda.done(item, day, product="Infanrix hexa", note="cabinet Dr Roux")
    [entry] = _vaccinations(vault, leo)
    assert entry.data == {"vaccine": "Infanrix hexa", "date": day.isoformat(), "dose": 1,
                          "note": "cabinet Dr Roux"}
    assert entry.provenance == "prevention" and entry.source == item
    assert ("infant_hexa", 1) not in _pending(vault, leo)


def test_without_a_product_the_entry_names_the_vaccine_of_the_item(vault) -> None:
    """No product given: the rule's label, which names the antigens (so it counts as such)."""
    leo = _baby(vault)
    vault.agenda.done(prevention.item_id("infant_hexa.pcv", 1, leo.id),
                      leo.born + dt.timedelta(days=62))
    [entry] = _vaccinations(vault, leo)
    assert prevention.antigens_of(entry.data["vaccine"]) == {"pneumococcus-conjugate"}
    assert ("infant_hexa.pcv", 1) not in _pending(vault, leo)
    assert ("infant_hexa", 1) in _pending(vault, leo)  # the hexavalent one is another dose


def test_a_dose_marked_done_reaches_all_four_outputs(vault, cli, home, tmp_path: Path,
                                                     passphrase_file: Path) -> None:
    """`profile show --json`, the PDF summary, the emergency card and the FHIR IPS all list
    the dose marked done (the school's copy of the record is complete)."""
    leo = _baby(vault)
    day = leo.born + dt.timedelta(days=62)
    vault.agenda.done(prevention.item_id("infant_hexa", 1, leo.id), day, product="Hexyon")
    pdf = tmp_path / "s.pdf"
    summary.save_pdf(vault, summary.build_summary(vault, leo), pdf)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "Hexyon" in text
    card = summary.emergency_card(vault, leo)
    assert "Hexyon" in card.text() and day.isoformat() in json.dumps(card.to_json())
    bundle, _counts, _warnings = fhir.build_ips(vault, leo)
    immunizations = [e["resource"] for e in bundle["entry"]
                     if e["resource"]["resourceType"] == "Immunization"]
    assert [i["vaccineCode"]["text"] for i in immunizations] == ["Hexyon"]
    assert immunizations[0]["occurrenceDateTime"] == day.isoformat()
    vault.close()
    shown = cli("profile", "show", "--person", "Léo Martin", "--json", pfile=passphrase_file)
    assert shown.code == 0, shown.err
    assert [e["fields"]["vaccine"] for e in shown.json()] == ["Hexyon"]
    assert shown.json()[0]["provenance"] == "prevention"


def test_marking_again_changes_the_entry_rather_than_adding_one(vault) -> None:
    """A corrected day or product edits the same entry (its history keeps the first)."""
    leo = _baby(vault)
    item = prevention.item_id("infant_hexa", 1, leo.id)
    vault.agenda.done(item, leo.born + dt.timedelta(days=62))
    vault.agenda.done(item, leo.born + dt.timedelta(days=64), product="Vaxelis")
    [entry] = _vaccinations(vault, leo)
    assert entry.data["vaccine"] == "Vaxelis" and entry.revision == 2
    assert len(vault.profile.history(entry)) == 1


def test_an_entry_removed_as_an_error_reopens_the_item_and_it_can_be_marked_again(
        vault) -> None:
    """The profile entry is the only record of the dose: entered in error, the dose is no
    longer done; marked done again, a new entry is made."""
    leo = _baby(vault)
    item = prevention.item_id("infant_hexa", 1, leo.id)
    vault.agenda.done(item, leo.born + dt.timedelta(days=62))
    vault.profile.remove(_vaccinations(vault, leo)[0].id)
    assert ("infant_hexa", 1) in _pending(vault, leo)
    vault.agenda.done(item, leo.born + dt.timedelta(days=63))
    assert len(_vaccinations(vault, leo)) == 1
    assert len(_vaccinations(vault, leo, everything=True)) == 2
    assert ("infant_hexa", 1) not in _pending(vault, leo)


def test_a_vaccination_typed_in_the_profile_satisfies_the_item(vault) -> None:
    """The other direction: Bexsero typed as dose 1 closes the first MenB dose."""
    leo = _baby(vault, days=160)
    assert ("infant_menb", 1) in _pending(vault, leo)
    vault.profile.add(leo, "vaccinations", {"vaccine": "Bexsero", "dose": "1",
                                            "date": (leo.born + dt.timedelta(days=92))
                                            .isoformat()})
    assert ("infant_menb", 1) not in _pending(vault, leo)
    plan = {(i.rule_id, i.dose): i.status for i in vault.agenda.plan(leo)}
    assert plan[("infant_menb", 1)] == "done"


def test_a_screening_marked_done_is_a_screening_entry(vault) -> None:
    """The same for a test: a cervical cytology marked done is in the profile's screenings."""
    owner = vault.people.owner()  # born 1985: cervical HPV test due
    item = next(i for i in vault.agenda.due(owner) if i.rule_id == "screen_cervix_hpv")
    day = dt.date.today() - dt.timedelta(days=3)
    vault.agenda.done(item.id, day)
    [entry] = vault.profile.list(owner, "screenings")
    assert entry.data == {"screening": "cervical-hpv", "date": day.isoformat()}
    assert entry.provenance == "prevention"
    assert "screen_cervix_hpv" not in {i.rule_id for i in vault.agenda.due(owner)}


def test_a_product_against_other_diseases_is_refused(vault) -> None:
    """Prevenar (pneumococcus) is not a hexavalent dose: said, and nothing stored."""
    leo = _baby(vault)
    with pytest.raises(UsageError, match="Prevenar"):
        vault.agenda.done(prevention.item_id("infant_hexa", 1, leo.id),
                          leo.born + dt.timedelta(days=62), product="Prevenar 13")
    assert _vaccinations(vault, leo) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_vaccination_rule_s_label_names_its_antigens(lang: str) -> None:
    """A dose marked done without a product is stored under the rule's label: that text must
    count for the rule again when read back from the profile."""
    from msante import i18n
    from msante.agenda.rules import default_rules

    i18n.setup(lang)
    try:
        for rule in default_rules().all():
            if rule.domain == "vaccination":
                wanted = frozenset().union(*rule.antigens)
                assert prevention.antigens_of(rule.label.get()) >= wanted, rule.id
    finally:
        i18n.setup("en")


def test_the_agenda_reads_the_profile_through_its_service() -> None:
    """Part 7: no SQL on `profile_entries` in the agenda package."""
    for path in AGENDA_DIR.glob("*.py"):
        assert "profile_entries" not in path.read_text(encoding="utf-8"), path.name


def test_remind_and_due_give_the_same_since_and_never_a_date_decades_ago(
        vault, cli, passphrase_file: Path) -> None:
    """One computation: `remind` says what `agenda due --json` has in `since`; the owner's
    MMR catch-up, never recorded, is "never recorded", not "since 1987"."""
    vault.close()
    due = cli("agenda", "due", "--json", pfile=passphrase_file)
    overdue = [i for i in due.json() if i["status"] == "overdue"]
    remind = cli("remind", pfile=passphrase_file)
    assert remind.code == 0 and "1987" not in remind.out
    for item in overdue:
        since = f"since {item['since']}" if item["since"] else "never recorded"
        assert f"{item['label']} ({since})." in remind.out
    assert any(i["since"] is None for i in overdue)


def test_agenda_due_shows_official_sources_in_words(vault, cli, passphrase_file: Path) -> None:
    """No "S6, S12": the Ministry's calendar (or HAS, INCa, ameli) by publisher, title, year."""
    _baby(vault)
    vault.close()
    out = cli("agenda", "due", "--all", pfile=passphrase_file)
    assert out.code == 0, out.err
    text = " ".join(out.out.split())
    assert "Ministère de la Santé, « Calendrier des vaccinations et recommandations " \
        "vaccinales 2025 » (2025)" in text
    for secondary in ("S6", "S12", "S13", "Quotidien", "FamilySanté"):
        assert secondary not in text
    assert "1987" not in text and "never recorded" in text  # the owner's MMR catch-up


def test_agenda_done_with_a_product_through_the_cli(vault, cli, passphrase_file: Path) -> None:
    """`agenda done ITEM --date D --product P`: the entry in `profile show`; a product against
    other diseases is exit 2 and nothing is stored."""
    leo = _baby(vault)
    item = prevention.item_id("infant_hexa", 1, leo.id)
    day = (leo.born + dt.timedelta(days=62)).isoformat()
    vault.close()
    bad = cli("agenda", "done", item, "--date", day, "--product", "Bexsero",
              pfile=passphrase_file)
    assert bad.code == 2 and "Bexsero" in bad.err
    done = cli("agenda", "done", item, "--date", day, "--product", "Infanrix hexa", "--json",
               pfile=passphrase_file)
    assert done.code == 0, done.err
    shown = cli("profile", "show", "--person", "Léo Martin", "--section", "vaccinations",
                "--json", pfile=passphrase_file).json()
    assert [(e["fields"]["vaccine"], e["date"], e["source"]) for e in shown] == [
        ("Infanrix hexa", day, item)]


def test_a_mark_stored_by_an_earlier_version_still_counts(vault) -> None:
    """A `prevention_done` row (how marks were kept before) still closes its item."""
    from msante.vault import records

    leo = _baby(vault)
    day = (leo.born + dt.timedelta(days=62)).isoformat()
    with vault.store.write() as tx:
        records.insert(tx, "prevention_done", {"person": leo.id, "rule": "infant_hexa",
                                               "dose": 1, "done_on": day, "note": None},
                       device=vault.store.device)
        vault.store.log(tx, "agenda.done", person=leo.id,
                        detail={"rule": "infant_hexa", "dose": 1})
    assert ("infant_hexa", 1) not in _pending(vault, leo)


def test_agenda_due_shows_a_pregnancy_question_without_dates(vault, cli,
                                                             passphrase_file: Path) -> None:
    """Camille (born 1985-06-02) is asked about vaccines in pregnancy: the question, not the
    window of her 18th to 50th birthdays."""
    vault.close()
    shown = cli("agenda", "due", pfile=passphrase_file)
    assert shown.code == 0, shown.err
    block = shown.out.split("Pertussis during pregnancy", 1)[1].split("pertussis_pregnancy")[0]
    assert "if you are pregnant" in block
    assert "2003-06-02" not in shown.out and "2035-06-01" not in shown.out
