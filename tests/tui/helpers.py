"""Helpers of the TUI tests: a frozen clock, fixed ids, documents with real blobs.

Record ids and import times are fixed so that the SVG snapshots do not change between runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import io
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from msante.tui.state import Clock
from msante.vault import files, records

P = ParamSpec("P")


def sync(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async Pilot test with asyncio.run (the suite has no async plugin)."""
    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


async def until(pilot: Any, condition: Callable[[], bool], seconds: float = 10.0,
                message: Callable[[], str] | None = None) -> None:
    """Wait (letting the app run) until `condition()` holds; fail after `seconds`, saying
    `message()` when given (what the screen shows instead)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    said = f": {message()}" if message else ""
    raise AssertionError(f"condition not met in time ({pilot.app.screen_stack}){said}")


TODAY = dt.date(2025, 6, 16)
NOW = dt.datetime(2025, 6, 16, 8, 0, tzinfo=dt.UTC)
SIZE = (100, 32)


def frozen_clock() -> Clock:
    """Monday 16 June 2025, 10:00 in Paris."""
    return Clock(today=lambda: TODAY, now=lambda: NOW)


def fixed_id(n: int) -> str:
    """A record id that does not change between runs."""
    return f"{n:08x}-0000-4000-8000-000000000000"


def add_document(vault: Any, person_id: str, n: int, *, title: str, text: str,
                 type_code: str = "11502-2", date: str = "2025-01-01",
                 guessed: bool = False) -> str:
    """Store a small document with a real encrypted blob (so hide, export and read work);
    `guessed`: its type and date as the importer's guesses."""
    content = f"%PDF-1.4 {title}\n{text}\n".encode()
    rid = fixed_id(n)
    store = vault.store
    sealed = files.seal(store, person_id, rid, 1, io.BytesIO(content))
    stamp = f"2025-06-0{1 + n % 9}T09:00:00Z"
    with store.write() as tx:
        records.insert(tx, "documents", {
            "person": person_id, "blob_id": sealed.blob_id, "wrapped_key": sealed.wrapped_key,
            "sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
            "mime": "application/pdf", "title": title, "doc_date": date, "type_code": type_code,
            "text": text, "pages": 1, "created_at": stamp, "updated_at": stamp,
            "type_guessed": int(guessed), "date_guessed": int(guessed),
        }, device=store.device, rid=rid)
        store.log(tx, "document.import", person=person_id, record=rid)
    return rid


DOCS = [
    ("Bilan lipidique", "Cholestérol total 1,92 g/L. Triglycérides 0,85 g/L.", "11502-2",
     "2025-03-12"),
    ("Ordonnance Dr Lefèvre", "Doliprane 1000 mg, 3 fois par jour pendant 5 jours.", "57833-6",
     "2025-01-05"),
    ("Échographie abdominale", "Foie, vésicule et reins sans particularité.", "18748-4",
     "2025-02-20"),
    ("Certificat de sport", "Absence de contre-indication à la pratique du tennis.", "11488-4",
     "2024-09-20"),
]


def app_for(vault: Any, clock: Clock | None = None) -> Any:
    """The app on an open vault, with the frozen clock unless another is given."""
    from msante.tui.app import MsanteApp  # here: test_tui_french imports the TUI afresh

    return MsanteApp(vault.path, vault, clock=clock or frozen_clock())


S = TypeVar("S")


async def open_screen(pilot: Any, key: str, kind: type[S]) -> S:
    """Press a screen's key once the app shows a loaded screen, as a person would; wait until
    the new screen has shown its data."""
    await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False))
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, kind), pilot.app.screen_stack
    await until(pilot, lambda: getattr(screen, "loaded", False))
    return screen


def fill_every_text(vault: Any, text: str, sep: str = "") -> Any:
    """Put `text` in every user-written field (names, titles, texts, notes, places, profile
    entries) of the owner and a child, for the tests that check it is shown, never obeyed."""
    import datetime as dt

    owner = vault.people.owner()
    child = vault.people.add(f"Léo{sep}{text}", "2019-04-27", "male")
    for person, n in ((owner, 1), (child, 2)):
        add_document(vault, person.id, n, title=f"Bilan{sep}{text}", text=f"Texte{sep}{text}",
                     date="2025-03-12")
        vault.measures.add(person, "weight", "20", at="2025-06-01 08:00", note=text)
        vault.agenda.add(person, f"RDV{sep}{text}",
                         dt.datetime(2025, 6, 20, 12, 30, tzinfo=dt.UTC), tz="Europe/Paris",
                         location=text)
        vault.profile.add(person, "allergies", {"substance": f"Pollen{sep}{text}",
                                                "note": text})
    return vault
