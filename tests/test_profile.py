"""The medical profile: every section's add, edit and remove, bad input refused with a message,
edit history, "entered in error" instead of deletion, "no known allergy" as a statement, codes,
partial dates, people's profiles kept apart and erased with the person — through the service
and through the CLI, with each change audited."""

from __future__ import annotations

import pytest

from msante.errors import ExitCode, NotFoundError, ReadOnlyError, UsageError
from msante.profile import sections
from msante.profile.service import Code

GOOD = {
    "allergies": {"substance": "Pénicilline", "reaction": "œdème de Quincke",
                  "severity": "severe", "since": "2010"},
    "treatments": {"medicine": "Lévothyroxine", "dose": "75 µg", "frequency": "1 par jour",
                   "start": "03/2018"},
    "conditions": {"condition": "Hypothyroïdie", "status": "active", "onset": "2018-02"},
    "vaccinations": {"vaccine": "Boostrixtetra", "date": "12/05/2020", "dose": "3",
                     "batch": "AB123"},
    "family": {"condition": "Diabète de type 2", "relative": "mère"},
    "screenings": {"screening": "mammography", "date": "2023-10-04", "result": "normal"},
    "blood-group": {"group": "O+"},
    "trusted-person": {"name": "Paul Martin", "relation": "frère", "phone": "+33 6 12 34 56 78"},
    "directives": {"text": "Pas d'acharnement thérapeutique.", "date": "2022"},
    "lifestyle": {"topic": "activity", "text": "Marche 30 min par jour"},
}

BAD = [
    ("allergies", {"reaction": "urticaire"}, "substance"),
    ("allergies", {"substance": "Latex", "severity": "terrible"}, "mild, moderate, severe"),
    ("allergies", {"substance": "Latex", "since": "2999"}, "future"),
    ("treatments", {"medicine": "X", "start": "2020", "end": "2019-05"}, "before"),
    ("treatments", {"medicine": "X", "colour": "red"}, "no field colour"),
    ("conditions", {"condition": "Asthme", "onset": "31/02/2019"}, "Invalid"),
    ("vaccinations", {"vaccine": "ROR"}, "date"),
    ("vaccinations", {"vaccine": "ROR", "date": "2019", "dose": "zéro"}, "whole number"),
    ("blood-group", {"group": "C+"}, "O+"),
    ("trusted-person", {"name": "Paul", "phone": "call me"}, "phone"),
    ("directives", {"date": "2022"}, "text=…"),
    ("lifestyle", {"topic": "gaming", "text": "x"}, "tobacco"),
    ("nosuchsection", {"x": "y"}, "Unknown profile section"),
]


def test_every_section_has_a_good_example() -> None:
    """The table above covers every section, so a new section cannot go untested."""
    assert set(GOOD) == {s.name for s in sections.SECTIONS}


@pytest.mark.parametrize("section", sorted(GOOD))
def test_each_section_adds_edits_and_removes(vault, section: str) -> None:
    """Add normalises the fields; edit keeps the previous version; remove either marks a
    clinical fact entered in error (still in the history) or deletes a non-clinical entry."""
    owner = vault.people.owner()
    spec = sections.get(section)
    entry = vault.profile.add(owner, section, GOOD[section])
    assert vault.profile.list(owner, section) == [entry]
    optional = next((f for f in spec.fields if not f.required and f.kind == "text"), None)
    if optional:
        edited = vault.profile.edit(entry.id[:8], {optional.name: "modifié"},
                                    revision=entry.revision)
        assert edited.data[optional.name] == "modifié" and edited.revision == 2
        assert vault.profile.history(edited)[0].data == entry.data
    vault.profile.remove(entry.id)
    assert vault.profile.list(owner, section) == []
    kept = vault.profile.list(owner, section, everything=True)
    if spec.clinical:
        assert [e.status for e in kept] == ["entered-in-error"]
    else:
        assert kept == []
        row = vault.store.conn.execute("SELECT data, deleted FROM profile_entries WHERE id = ?",
                                       (entry.id,)).fetchone()
        assert tuple(row) == ("{}", 1)  # the content is gone, not just hidden


@pytest.mark.parametrize(("section", "values", "said"), BAD)
def test_bad_input_is_refused_with_a_message_naming_the_problem(vault, section, values,
                                                                said) -> None:
    """Required fields, enumerations, dates (partial, impossible, future), numbers, phones."""
    with pytest.raises(UsageError, match=said):
        vault.profile.add(vault.people.owner(), section, values)
    assert vault.profile.list(vault.people.owner(), everything=True) == []


def test_values_are_normalised_partial_dates_and_french_words_accepted(vault) -> None:
    """03/2018 → 2018-03, 12/05/2020 → 2020-05-12, "sévère" → severe, dose "3" → 3."""
    owner = vault.people.owner()
    a = vault.profile.add(owner, "allergy", {"substance": "Arachide", "severity": "Sévère"})
    t = vault.profile.add(owner, "treatments", GOOD["treatments"])
    v = vault.profile.add(owner, "vaccinations", GOOD["vaccinations"])
    assert a.data["severity"] == "severe"
    assert t.data["start"] == "2018-03" and t.sort_date == "2018-03"
    assert v.data == {"vaccine": "Boostrixtetra", "date": "2020-05-12", "dose": 3,
                      "batch": "AB123"}


def test_no_known_allergy_is_a_statement_superseded_by_the_first_allergy(vault) -> None:
    """'No known allergy' is not an allergy: it is listed as a statement and ends when a real
    allergy is recorded; it cannot be stated while allergies are listed."""
    owner = vault.people.owner()
    none = vault.profile.add_none(owner, "allergies")
    assert none.is_none_statement and none.text() == "No known allergy"
    real = vault.profile.add(owner, "allergies", {"substance": "Latex"})
    assert vault.profile.list(owner, "allergies") == [real]
    assert vault.profile.get(none.id).status == "superseded"
    with pytest.raises(UsageError, match="already lists"):
        vault.profile.add_none(owner, "allergies")
    with pytest.raises(UsageError):
        vault.profile.add_none(owner, "vaccinations")


def test_a_new_blood_group_supersedes_the_old(vault) -> None:
    """There is one blood group: recording another keeps the first only in the history."""
    owner = vault.people.owner()
    first = vault.profile.add(owner, "blood", {"group": "A+"})
    second = vault.profile.add(owner, "blood", {"group": "A-"})
    assert vault.profile.list(owner, "blood-group") == [second]
    assert vault.profile.get(first.id).status == "superseded"


def test_codes_are_kept_beside_the_text(vault) -> None:
    """A SNOMED, ATC or CVX code is stored with the original text; bad codes are refused."""
    entry = vault.profile.add(vault.people.owner(), "allergies", {"substance": "Pénicilline"},
                              code=Code.parse("snomed:764146007"))
    assert entry.code == Code("http://snomed.info/sct", "764146007")
    assert entry.to_json()["code"]["system"] == "http://snomed.info/sct"
    assert Code.parse("http://www.whocc.no/atc|H03AA01|levothyroxine sodium").display \
        == "levothyroxine sodium"
    for bad in ("snomed:", "nosystem:123", "123"):
        with pytest.raises(UsageError):
            Code.parse(bad)


def test_an_entry_entered_in_error_can_no_longer_change(vault) -> None:
    """Entered-in-error is final: editing or removing it again is refused."""
    entry = vault.profile.add(vault.people.owner(), "conditions", {"condition": "Asthme"})
    vault.profile.remove(entry.id)
    for change in (lambda: vault.profile.edit(entry.id, {"note": "x"}, revision=2),
                   lambda: vault.profile.remove(entry.id)):
        with pytest.raises(UsageError, match="entered in error"):
            change()
    with pytest.raises(UsageError, match="Nothing to change"):
        other = vault.profile.add(vault.people.owner(), "conditions", {"condition": "Migraine"})
        vault.profile.edit(other.id, {"condition": "Migraine"}, revision=other.revision)


def test_profiles_of_people_are_kept_apart_and_erased_with_the_person(vault) -> None:
    """A child's entries are theirs; removing the child erases their entries and history (each
    history row a tombstone without content, logged as deleted)."""
    owner = vault.people.owner()
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    mine = vault.profile.add(owner, "allergies", {"substance": "Latex"})
    theirs = vault.profile.add(child, "vaccinations", GOOD["vaccinations"])
    vault.profile.edit(theirs.id, {"batch": "ZZ9"}, revision=theirs.revision)
    assert vault.profile.list(child) == [vault.profile.get(theirs.id)]
    assert vault.profile.list(owner) == [mine]
    vault.people.remove(child.id)
    conn = vault.store.conn
    assert conn.execute("SELECT deleted, data, status FROM profile_history").fetchall() == \
        [(1, None, None)]
    assert conn.execute("SELECT op FROM changes WHERE tbl = 'profile_history' ORDER BY seq"
                        ).fetchall() == [("insert",), ("delete",)]
    assert conn.execute("SELECT data FROM profile_entries WHERE id = ?",
                        (theirs.id,)).fetchone()[0] == "{}"
    with pytest.raises(NotFoundError):
        vault.profile.get(theirs.id)


def test_an_adult_childs_profile_is_read_only(vault) -> None:
    """Past majority, a child's profile belongs to them: no more changes from this vault."""
    grown = vault.people.add("Emma Martin", "2000-01-01", "female")
    with pytest.raises(ReadOnlyError):
        vault.profile.add(grown, "allergies", {"substance": "Latex"})


def test_each_change_is_one_audit_entry(vault) -> None:
    """add, edit, supersede and remove are each audited with the section, never the text."""
    owner = vault.people.owner()
    vault.profile.add_none(owner, "allergies")
    entry = vault.profile.add(owner, "allergies", {"substance": "Latex"})
    vault.profile.edit(entry.id, {"reaction": "eczéma"}, revision=entry.revision)
    vault.profile.remove(entry.id)
    rows = vault.store.conn.execute(
        "SELECT action, detail FROM audit ORDER BY seq DESC LIMIT 5").fetchall()
    assert [r[0] for r in rows][::-1] == ["profile.add", "profile.supersede", "profile.add",
                                          "profile.edit", "profile.remove"]
    assert all("Latex" not in (r[1] or "") and "eczéma" not in (r[1] or "") for r in rows)


# -- through the CLI ------------------------------------------------------------------------

def test_cli_add_show_edit_remove_history(cli, made) -> None:
    """The commands a person types, with --json for scripts and exit codes for errors."""
    r = cli("profile", "add", "allergies", "substance=Pénicilline", "severity=severe",
            "--code", "snomed:764146007", "--json", pfile=made)
    assert r.code == 0, r.err
    added = r.json()
    assert added["fields"]["substance"] == "Pénicilline" and added["code"]["code"] == "764146007"
    short = added["id"][:8]
    r = cli("profile", "edit", "allergies", short, "reaction=urticaire", "--json", pfile=made)
    assert r.json()["fields"]["reaction"] == "urticaire"
    shown = cli("profile", "show", "--json", pfile=made).json()
    assert [e["text"] for e in shown] == ["Pénicilline"]
    history = cli("profile", "history", short, "--json", pfile=made).json()
    assert history[0]["fields"] == {"substance": "Pénicilline", "severity": "severe"}
    assert cli("profile", "remove", "treatments", short, pfile=made).code == ExitCode.USAGE
    assert cli("profile", "remove", "allergies", short, pfile=made).code == 0
    assert cli("profile", "show", "--json", pfile=made).json() == []
    everything = cli("profile", "show", "--inactive", "--json", pfile=made).json()
    assert everything[0]["status"] == "entered-in-error"


def test_cli_errors_are_one_line_with_the_right_exit_code(cli, made) -> None:
    """Bad field syntax, bad values, unknown ids: a clear message, no traceback."""
    cases = [
        (("profile", "add", "allergies", "substance"), ExitCode.USAGE, "FIELD=VALUE"),
        (("profile", "add", "allergies", "severity=severe"), ExitCode.USAGE, "substance=…"),
        (("profile", "add", "allergies", "--none", "substance=x"), ExitCode.USAGE, "--none"),
        (("profile", "edit", "allergies", "ffffffff", "note=x"), ExitCode.NOT_FOUND, "No "),
        (("profile", "show", "--section", "nope"), ExitCode.USAGE, "Unknown profile section"),
    ]
    for args, code, said in cases:
        r = cli(*args, pfile=made)
        assert r.code == code, (args, r.err)
        assert said in r.err and "Traceback" not in r.err


def test_cli_show_in_french_uses_the_public_services_words(cli, made) -> None:
    """The French interface names sections as Mon Espace Santé does."""
    cli("profile", "add", "allergies", "substance=Latex", pfile=made)
    cli("profile", "add", "trusted-person", "name=Paul Martin", pfile=made)
    out = cli("--lang", "fr", "profile", "show", pfile=made).out
    assert "Allergies et intolérances" in out and "Personne de confiance" in out


def test_handover_carries_the_profile_its_history_and_the_measurements(cli, made,
                                                                       handover) -> None:
    """A child's profile recorded by a parent travels to the now-adult's own vault: entries
    with their codes, statuses and edit history, and measurements."""
    who = ("--person", "jeanne")
    with handover.while_minor():
        a = cli("profile", "add", "allergies", "substance=Arachide", "--code",
                "snomed:91935009", *who, "--json", pfile=made).json()
        cli("profile", "edit", "allergies", a["id"], "reaction=œdème", pfile=made)
        gone = cli("profile", "add", "conditions", "condition=Erreur", *who, "--json",
                   pfile=made).json()
        cli("profile", "remove", "conditions", gone["id"], pfile=made)
        assert cli("measure", "add", "weight", "52,5", *who, pfile=made).code == 0
    merged = handover.to_own_vault()
    assert (merged["profile_entries"], merged["measurements"]) == (2, 1)
    mine = cli("profile", "show", "--inactive", "--json", pfile=made).json()
    by_text = {e["text"]: e for e in mine}
    assert by_text["Arachide"]["fields"]["reaction"] == "œdème"
    assert by_text["Arachide"]["code"]["code"] == "91935009"
    assert by_text["Erreur"]["status"] == "entered-in-error"
    history = cli("profile", "history", a["id"], "--json", pfile=made).json()
    assert history[0]["fields"] == {"substance": "Arachide"}
    weights = cli("measure", "list", "weight", "--json", pfile=made).json()
    assert [w["value"] for w in weights] == [52.5]
    assert cli("audit", "verify", pfile=made).code == 0


# -- found in review --------------------------------------------------------------------------

def test_a_no_known_statement_cannot_be_edited_or_stated_twice(vault) -> None:
    """Editing 'no current treatment' would hide what was typed behind the statement."""
    owner = vault.people.owner()
    none = vault.profile.add_none(owner, "treatments")
    with pytest.raises(UsageError, match="no fields to change"):
        vault.profile.edit(none.id, {"medicine": "Ventoline"}, revision=none.revision)
    with pytest.raises(UsageError, match="already stated"):
        vault.profile.add_none(owner, "treatments")
    assert vault.profile.remove(none.id).id == none.id  # a mistaken statement can go


@pytest.mark.parametrize(("section", "values", "said"), [
    ("vaccinations", {"vaccine": "ROR", "date": "٢٠١٩"}, "Invalid"),  # Arabic-Indic digits
    ("vaccinations", {"vaccine": "ROR", "date": "2019", "dose": "²"}, "whole number"),
    ("conditions", {"condition": "Asthme", "status": "active", "resolved_on": "2020"},
     "not active"),
])
def test_inputs_that_used_to_crash_or_contradict(vault, section, values, said) -> None:
    """Unicode digits passed \\d and isdigit() then crashed int() or FHIR; an active condition
    with a resolution date made an invalid FHIR Condition."""
    with pytest.raises(UsageError, match=said):
        vault.profile.add(vault.people.owner(), section, values)


@pytest.mark.parametrize("bad", ["my system|12  3", "snomed:12  3", "ftp//x|1",
                                 "http://x.org|"])
def test_codes_follow_fhirs_rules(bad) -> None:
    """A code FHIR would refuse is refused when typed, not when exporting."""
    with pytest.raises(UsageError, match="Invalid code"):
        Code.parse(bad)


def test_stored_text_is_shown_as_typed_never_as_markup_or_escapes(cli, made) -> None:
    """'[/x]' broke every table through rich markup; control characters could drive the
    terminal. Text is shown as typed and control characters are not stored."""
    r = cli("profile", "add", "allergies", "substance=[/x] \x1b[31mrouge", "note=[bold]",
            "--json", pfile=made)
    assert r.code == 0, r.err
    assert r.json()["fields"]["substance"] == "[/x] [31mrouge"
    shown = cli("profile", "show", pfile=made)
    assert shown.code == 0 and "[/x]" in shown.out and "\x1b" not in shown.out


def test_removing_a_person_leaves_tombstones_that_sync_will_see(vault) -> None:
    """Every record of a removed person becomes a logged deletion, content blanked."""
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    entry = vault.profile.add(child, "allergies", {"substance": "Arachide"})
    vault.people.remove(child.id)
    conn = vault.store.conn
    row = conn.execute("SELECT section, data, status, revision, deleted FROM profile_entries "
                       "WHERE id = ?", (entry.id,)).fetchone()
    assert tuple(row) == ("", "{}", "", 2, 1)
    assert conn.execute("SELECT op, revision FROM changes WHERE record_id = ? ORDER BY seq "
                        "DESC LIMIT 1", (entry.id,)).fetchone() == ("delete", 2)
