"""The small people functions the TUI's People screen needs: check_child and rename."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from msante.errors import AlreadyExistsError, ReadOnlyError, UsageError
from msante.people import check_child

TODAY = dt.date(2025, 6, 16)


def test_a_minor_may_be_added_as_a_child() -> None:
    check_child(dt.date(2019, 4, 27), TODAY)
    check_child(dt.date(2007, 6, 17), TODAY)  # 18 tomorrow: still a child today


def test_someone_of_age_is_refused_as_a_child() -> None:
    """A child's profile is read-only from majority: adding an adult as one makes no sense."""
    with pytest.raises(UsageError, match="already of age.*'other'"):
        check_child(dt.date(2007, 6, 16), TODAY)  # 18 today
    with pytest.raises(UsageError, match="1990-01-01"):
        check_child(dt.date(1990, 1, 1), TODAY)


def test_rename_changes_the_name_and_the_lookup_key(vault: Any) -> None:
    child = vault.people.add("Leo Martin", "2019-04-27", "male")
    renamed = vault.people.rename(child, "  Léo   Martin ")
    assert (renamed.id, renamed.name, renamed.born) == (child.id, "Léo Martin", child.born)
    assert renamed.revision == child.revision + 1
    assert vault.people.get("leo martin").id == child.id  # accents and case ignored
    assert [e.action for e in vault.audit.entries(person=child.id, limit=1)] == [
        "person.rename"]


def test_rename_refuses_a_taken_name_an_empty_one_and_writes_nothing(vault: Any) -> None:
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    with pytest.raises(AlreadyExistsError, match="named camille martin already"):
        vault.people.rename(child, "camille martin")
    with pytest.raises(UsageError, match="between 1 and 100"):
        vault.people.rename(child, "   ")
    assert vault.people.get(child.id).name == "Léo Martin"
    assert vault.people.get(child.id).revision == child.revision


def test_rename_keeps_the_same_name_with_other_spelling(vault: Any) -> None:
    """Renaming a person to their own name (another case) is not a clash with themselves."""
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    assert vault.people.rename(child, "Léo MARTIN").name == "Léo MARTIN"


def test_a_child_who_came_of_age_cannot_be_renamed(vault: Any) -> None:
    grown = vault.people.add("Inès Martin", "2006-03-14", "female")
    with pytest.raises(ReadOnlyError, match="came of age on 2024-03-14"):
        vault.people.rename(grown, "Inès Dupont", today=TODAY)
    assert vault.people.get(grown.id).name == "Inès Martin"
