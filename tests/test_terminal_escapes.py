"""Terminal escapes from received files never reach the terminal.

A PDF's Title, Author or text, an iCalendar SUMMARY or LOCATION, a CSV note or a name may carry
ESC and C1 sequences: written raw, they clear the screen, move the cursor over other rows, set
the window title or plant OSC 8 links. The vault keeps the text as it came (JSON gives it back
exactly, escaped); what is written for people goes through one console that takes every
control out (tabs and line breaks excepted) while keeping its own styles.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import pdfgen

TITLE = "Bilan\x1b]0;pwned\x07 sanguin\x1b[2J"
AUTHOR = "Dr \x1b]8;;https://evil.example\x1b\\Lefevre\x1b]8;;\x1b\\"
TEXT = ["Compte rendu du 12/03/2025", "fievre\x1b[1;1H\x1b[2K persistante\x1bP1$qm\x1b\\"]
SUMMARY = "Dentiste\x1b[2J\x9b2J"
LOCATION = "Rue\x1bP1$qm\x1b\\ Haute\x07"
NOTE = "a jeun\x1b[8m cache\x9d0;t\x9c"
NAME = "Leo\x1b]2;owned\x07 Martin"
# Everything below U+0020 but tab and line feed, DEL, and the C1 block.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile(cli: Any, made: Path, tmp_path: Path) -> Path:
    """A vault holding hostile text from each kind of file, imported as a person would."""
    pdf = tmp_path / "bilan.pdf"
    pdf.write_bytes(pdfgen.plain_pdf(TEXT, title=TITLE, author=AUTHOR))
    csv = tmp_path / "m.csv"
    csv.write_text(f"date,kind,value,note\n2025-01-02,weight,70,{NOTE}\n", "utf-8")
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y%m%dT100000Z")
    ics = tmp_path / "a.ics"
    ics.write_text("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//x", "BEGIN:VEVENT", "UID:e1",
        "DTSTAMP:20250101T000000Z", f"DTSTART:{start}", f"SUMMARY:{SUMMARY}",
        f"LOCATION:{LOCATION}", "END:VEVENT", "END:VCALENDAR", ""]), "utf-8")
    for args in (("doc", "import", pdf), ("measure", "import", csv),
                 ("agenda", "import", "--ics", ics),
                 ("people", "add", NAME, "--born", "2015-01-01", "--sex", "male")):
        r = cli(*args, pfile=made)
        assert r.code == 0, (args, r.err)
    return made


def _doc_id(cli: Any, made: Path) -> str:
    return str(cli("doc", "list", "--json", pfile=made).json()[0]["id"])


def test_hostile_text_is_shown_without_its_controls(cli, hostile, monkeypatch):
    """Each listing shows the text (so the test is not vacuous), never a control character."""
    monkeypatch.setenv("COLUMNS", "200")  # no cell wrapped: the words are found whole
    doc = _doc_id(cli, hostile)
    shown = {
        ("doc", "list"): "pwned",
        ("doc", "show", doc, "--text"): "persistante",
        ("doc", "search", "persistante"): "persistante",
        ("agenda", "list"): "Dentiste",
        ("measure", "list"): "cache",
        ("people", "list"): "owned",
    }
    for args, needle in shown.items():
        r = cli(*args, pfile=hostile)
        assert r.code == 0, (args, r.err)
        assert needle in r.out, (args, r.out)
        assert not CONTROLS.search(r.out + r.err), (args, repr(r.out))


def test_json_gives_the_text_back_exactly_with_every_control_escaped(cli, hostile):
    """--json is data: the stored text comes back whole, every control written as \\uXXXX
    (JSON escapes C0 itself; DEL and C1 are escaped by us)."""
    doc = _doc_id(cli, hostile)
    listed = cli("doc", "list", "--json", pfile=hostile)
    shown = cli("doc", "show", doc, "--text", "--json", pfile=hostile)
    measures = cli("measure", "list", "--json", pfile=hostile)
    for r in (listed, shown, measures):
        assert not CONTROLS.search(r.out), repr(r.out)
    assert listed.json()[0]["title"] == TITLE and listed.json()[0]["author"] == AUTHOR
    assert "persistante\x1bP1$qm" in shown.json()["text"]
    assert measures.json()[0]["note"] == NOTE and "\\u009d" in measures.out


def test_the_raw_bytes_on_a_colour_terminal_hold_only_our_own_styles(hostile, tmp_path):
    """On a terminal rich adds its own SGR styles: those stay, the file's sequences go."""
    env = dict(os.environ) | {"MSANTE_PASSPHRASE_FILE": str(hostile), "FORCE_COLOR": "1",
                              "COLUMNS": "160", "PYTHONPATH": str(Path(__file__).parents[1])}
    for args in (["doc", "list"], ["agenda", "list"], ["measure", "list"]):
        raw = subprocess.run([sys.executable, "-m", "msante", *args], env=env,
                             capture_output=True, timeout=120).stdout
        assert re.search(rb"\x1b\[[0-9;]*m", raw), args  # the table's own bold header
        rest = re.sub(rb"\x1b\[[0-9;]*m", b"", raw).decode("utf-8")
        assert not CONTROLS.search(rest), (args, rest)


def test_styled_text_keeps_its_layout_once_cleaned():
    """Controls take no cell: a table's borders stay aligned once they are taken out."""
    import io

    from rich.table import Table
    from rich.text import Text

    from msante.cli import safe_console

    table = Table("a", "b")
    table.add_row(Text(TITLE), Text("x"))
    table.add_row(Text("Bilan sanguin"), Text("y"))
    buffer = io.StringIO()
    safe_console.make(file=buffer, width=80, color_system=None).print(table)
    lines = buffer.getvalue().splitlines()
    assert not CONTROLS.search(buffer.getvalue())
    assert len({len(line) for line in lines}) == 1, lines


def test_json_escapes_del_and_c1_and_reads_back_the_same(capsys):
    """A one-character CSI (U+009B) or OSC (U+009D) is written \\u009b, not raw."""
    from msante.cli import output

    data = {"t": "a\x9b2J\x7f\x1b[H é"}
    output.print_json(data)
    output.print_json_line(data)
    out = capsys.readouterr().out
    assert not CONTROLS.search(out) and "é" in out
    first, second = out[:out.rindex("{")], out[out.rindex("{"):]
    assert json.loads(first) == data == json.loads(second)


def test_plain_text_lines_keep_tabs_and_line_breaks(capsys):
    """A text view keeps its layout: tabs, line breaks (CR and form feed become breaks)."""
    from msante.cli import output

    output.echo("l1\tx\r\nl2\x1b[2J\rl3\fl4\x85l5\x00")
    assert capsys.readouterr().out == "l1\tx\nl2[2J\nl3\nl4\nl5\n"


def test_commands_write_only_through_the_output_module():
    """One place writes for people: a bare print() or stream write in a command module would
    bypass the cleaning (the help text, already rendered by rich, is the one exception)."""
    cli = Path(__file__).parents[1] / "msante" / "cli"
    bare = re.compile(r"(?<![\w.])print\(|sys\.std(?:out|err)\.write|(?<!\w)Console\(")
    found = [f"{path.name}:{n}: {line.strip()}"
             for path in sorted(cli.glob("*.py")) if path.name not in (
                 "output.py", "safe_console.py")
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if bare.search(line) and "print(exc.message)" not in line]
    assert found == []
