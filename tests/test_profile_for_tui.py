"""The small profile functions the TUI's Profile screen needs: counts per section, the
sections where "none known" is stated, and one field checked on its own (to put the core's
message under the field it concerns)."""

from __future__ import annotations

from typing import Any

import pytest

from msante.errors import UsageError
from msante.profile import sections


def test_counts_are_current_facts_per_section(vault: Any) -> None:
    """Removed, superseded and "none known" entries are not counted; other people neither."""
    owner = vault.people.owner()
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    assert vault.profile.counts(owner) == {}
    vault.profile.add_none(owner, "allergies")
    peni = vault.profile.add(owner, "allergies", {"substance": "Pénicilline"})
    vault.profile.add(owner, "allergies", {"substance": "Latex"})
    vault.profile.remove(peni.id)
    vault.profile.add(owner, "blood-group", {"group": "A+"})
    vault.profile.add(owner, "blood-group", {"group": "O+"})  # supersedes A+
    vault.profile.add(child, "vaccinations", {"vaccine": "ROR", "date": "2020"})
    assert vault.profile.counts(owner) == {"allergies": 1, "blood-group": 1}
    assert vault.profile.counts(child) == {"vaccinations": 1}


def test_none_stated_until_a_fact_replaces_it(vault: Any) -> None:
    owner = vault.people.owner()
    assert vault.profile.none_stated(owner) == set()
    vault.profile.add_none(owner, "allergies")
    statement = vault.profile.add_none(owner, "treatments")
    assert vault.profile.none_stated(owner) == {"allergies", "treatments"}
    assert vault.profile.counts(owner) == {}
    vault.profile.add(owner, "allergies", {"substance": "Arachide"})
    vault.profile.remove(statement.id)
    assert vault.profile.none_stated(owner) == set()


def test_check_field_normalises_one_field() -> None:
    spec = sections.get("vaccinations")
    assert sections.check_field(spec, "date", "12/05/2020") == "2020-05-12"
    assert sections.check_field(spec, "dose", " 3 ") == 3
    assert sections.check_field(sections.get("allergies"), "severity", "Severe") == "severe"


@pytest.mark.parametrize(("section", "name", "raw", "message"), [
    ("allergies", "since", "2999", "Invalid since '2999'"),
    ("vaccinations", "dose", "zéro", "whole number"),
    ("trusted-person", "phone", "call me", "phone number"),
    ("blood-group", "group", "C+", "O+"),
])
def test_check_field_refuses_with_the_message_validate_gives(section: str, name: str,
                                                             raw: str, message: str) -> None:
    """The same message as the whole entry's validation: the form shows the core's words."""
    spec = sections.get(section)
    with pytest.raises(UsageError, match=message) as one:
        sections.check_field(spec, name, raw)
    required = {f.name: "x" for f in spec.fields if f.required and f.kind == "text"}
    with pytest.raises(UsageError) as whole:
        sections.validate(spec, {**required, name: raw})
    assert one.value.message == whole.value.message
