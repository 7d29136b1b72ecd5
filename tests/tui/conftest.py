"""Fixtures of the TUI tests: a vault with fixed, known content (see helpers.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST_KDF, PASSPHRASE
from tests.tui.helpers import DOCS, add_document


@pytest.fixture
def vault(home: Path) -> Iterator[Any]:
    """A vault made by Vault.create in this test, not the copy tests/conftest.py makes: the
    TUI tests show the vault's own audit entries, made under the clock they freeze."""
    from msante.api import Vault
    from msante.vault import crypto

    v, _recovery = Vault.create(home, PASSPHRASE, name="Camille Martin", born="1985-06-02",
                                sex="female", params=crypto.KdfParams.new(**FAST_KDF))
    yield v
    v.close()


@pytest.fixture
def filled(vault: Any) -> Any:
    """The `vault` with a child, four documents, measurements and an appointment."""
    owner = vault.people.owner()
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    for n, (title, text, code, date) in enumerate(DOCS, start=1):
        add_document(vault, owner.id, n, title=title, text=text, type_code=code, date=date)
    add_document(vault, child.id, 9, title="Carnet de vaccination", text="Infanrix hexa",
                 type_code="11369-6", date="2019-06-27")
    vault.measures.add(owner, "weight", "70,9", at="2025-06-01 08:00")
    vault.measures.add(owner, "bp", "124/79", at="2025-06-02 08:30")
    vault.measures.add(child, "height", "1,12 m", at="2025-05-10 17:00")
    vault.agenda.add(owner, "Dentiste", dt.datetime(2025, 6, 20, 12, 30, tzinfo=dt.UTC),
                     tz="Europe/Paris", location="Cabinet du Parc")
    return vault
