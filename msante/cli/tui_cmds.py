"""`msante tui`: the interactive interface."""

from __future__ import annotations

from msante.cli import session


def tui() -> None:
    """Open the interactive interface (? lists the keys, ctrl+q quits).

    Example: msante tui
    """
    from msante.tui.app import main  # imported after the language is set: bindings translated

    main(session.home())
