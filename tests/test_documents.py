"""Documents end to end through the CLI (in-process): import by hand and by script, bad files,
duplicates, JSON, search, show, export byte for byte, edit, hide, trash and purge — and that
each read of content and each change is in the activity history."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from msante.errors import ExitCode
from msante.vault.store import unlock_with_passphrase
from tests import pdfgen
from tests.conftest import PASSPHRASE


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder to put test files in."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def put(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def imp(cli, made, *args):
    return cli("doc", "import", *args, "--json", pfile=made)


def docs(cli, made, *args) -> list[dict]:
    r = cli("doc", "list", *args, "--json", pfile=made)
    assert r.code == 0, r.err
    return r.json()


def actions(cli, made) -> list[str]:
    return [e["action"] for e in cli("audit", "list", "--limit", "0", "--json", pfile=made).json()]


def test_a_lab_report_is_typed_dated_and_titled_from_its_text(cli, made, files):
    """Type and date are guessed from the text (the exam date, not the birth date) and say so."""
    path = put(files, "scan_0001.pdf", pdfgen.lab_report())
    r = imp(cli, made, path)
    assert r.code == 0, r.err
    line, summary = r.lines()
    assert line["status"] == "imported" and line["type"] == "11502-2" and line["type_guessed"]
    assert line["date"] == "2025-03-12" and line["date_guessed"]
    assert summary == {"summary": {"imported": 1, "duplicate": 0, "flagged": 0, "failed": 0}}
    item = docs(cli, made)[0]
    assert set(item) >= {"id", "title", "type", "type_label", "date", "person", "flags",
                         "tags", "hidden"}
    assert item["person"] == "Camille Martin" and item["flags"] == [] and item["pages"] == 1
    assert item["title"] == "Compte rendu d'examens biologiques"


def test_given_type_date_title_author_tags_are_not_guesses(cli, made, files):
    """What the person gives wins over guessing, and is not marked as guessed."""
    path = put(files, "x.pdf", pdfgen.lab_report())
    r = imp(cli, made, path, "--type", "imaging", "--date", "2024-01-02", "--title", "Écho",
            "--author", "Dr Garçon", "--tag", "thyroïde", "--tag", "suivi")
    line = r.lines()[0]
    assert (line["type"], line["type_guessed"], line["date"], line["date_guessed"]) == \
        ("18748-4", False, "2024-01-02", False)
    item = docs(cli, made)[0]
    assert item["title"] == "Écho" and item["author"] == "Dr Garçon"
    assert item["tags"] == ["thyroïde", "suivi"]


def test_same_bytes_are_stored_once_and_a_rerun_imports_nothing(cli, made, files, home):
    """Duplicates are reported, not stored again; re-running a scripted import exits 0."""
    put(files, "a.pdf", pdfgen.lab_report())
    put(files, "copy-of-a.pdf", pdfgen.lab_report())
    put(files, "b.pdf", pdfgen.prescription())
    first = imp(cli, made, files)
    assert first.code == 0
    status = {Path(x["file"]).name: x["status"] for x in first.lines()[:-1]}
    assert status == {"a.pdf": "imported", "copy-of-a.pdf": "duplicate", "b.pdf": "imported"}
    copy = next(x for x in first.lines()[:-1] if x["file"].endswith("copy-of-a.pdf"))
    assert copy["reason"] == "same file as one earlier in this import" and copy["id"] is None
    blobs = sorted(p.name for p in (home / "blobs").rglob("*") if p.is_file())
    again = imp(cli, made, files)
    assert again.code == 0
    assert again.lines()[-1]["summary"]["duplicate"] == 3
    assert all(x["reason"].startswith("already stored as ") and x["id"]
               for x in again.lines()[:-1])
    assert sorted(p.name for p in (home / "blobs").rglob("*") if p.is_file()) == blobs
    assert len(docs(cli, made)) == 2


def test_folders_dotfiles_fifos_links_and_recursion(cli, made, files, tmp_path):
    """A folder's regular files are imported; dot-files, FIFOs and symlinked folders are
    skipped; sub-folders only with --recursive."""
    put(files, "a.pdf", pdfgen.lab_report())
    put(files, ".hidden.pdf", pdfgen.prescription())
    os.mkfifo(files / "pipe.pdf")
    sub = files / "sub"
    sub.mkdir()
    put(sub, "c.pdf", pdfgen.certificate())
    other = tmp_path / "elsewhere"
    other.mkdir()
    put(other, "d.pdf", pdfgen.imaging_report())
    (files / "link").symlink_to(other, target_is_directory=True)
    names = [Path(x["file"]).name for x in imp(cli, made, files).lines()[:-1]]
    assert names == ["a.pdf"]
    names = sorted(Path(x["file"]).name for x in imp(cli, made, files, "--recursive").lines()[:-1])
    assert names == ["a.pdf", "c.pdf"]


def test_content_decides_the_type_not_the_extension(cli, made, files):
    """A PNG named .dat is an image; a text file named .pdf is stored and flagged unreadable."""
    put(files, "photo.dat", pdfgen.png_bytes())
    put(files, "jpeg.bin", pdfgen.jpeg_bytes())
    put(files, "notes.pdf", pdfgen.not_a_pdf_text())
    r = imp(cli, made, files)
    assert r.code == ExitCode.PARTIAL
    by_name = {Path(x["file"]).name: x for x in r.lines()[:-1]}
    assert by_name["notes.pdf"]["status"] == "flagged"
    assert by_name["notes.pdf"]["flags"] == ["unreadable"]
    assert by_name["photo.dat"]["status"] == "imported"
    mimes = {d["filename"]: d["mime"] for d in docs(cli, made)}
    assert mimes["photo.dat"] == "image/png" and mimes["jpeg.bin"] == "image/jpeg"


@pytest.mark.parametrize("maker,flag", [
    (pdfgen.truncated_pdf, "unreadable"),
    (lambda: pdfgen.garbage_named_pdf(3), "unreadable"),
    (pdfgen.image_only_pdf, "no-text"),
    (pdfgen.encrypted_pdf, "encrypted"),
    (pdfgen.flate_bomb, "limits"),
    (pdfgen.page_tree_loop, None),
])
def test_bad_files_are_stored_flagged_and_come_back_exactly(cli, made, files, tmp_path,
                                                          maker, flag):
    """Nothing is lost: a bad file is stored, flagged with a reason, exit 8, and exports
    byte for byte (same SHA-256)."""
    data = maker()
    path = put(files, "bad.pdf", data)
    r = imp(cli, made, path)
    line = r.lines()[0]
    assert r.code == ExitCode.PARTIAL and line["status"] == "flagged" and line["reason"]
    if flag:
        assert flag in line["flags"]
    out = tmp_path / "back.pdf"
    assert cli("doc", "export", line["id"][:8], "-o", out, pfile=made).code == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_protected_pdf_with_password_file_is_indexed(cli, made, files, tmp_path):
    """--password-file decrypts protected PDFs at import: their text is searchable."""
    path = put(files, "p.pdf", pdfgen.encrypted_pdf(user_password="s3cret"))
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    r = imp(cli, made, path, "--password-file", pw)
    assert r.code == 0 and r.lines()[0]["flags"] == []
    assert cli("doc", "search", "glycemie", "--json", pfile=made).json()


def test_unlock_pdf_indexes_a_protected_pdf_later(cli, made, files, tmp_path):
    """Stored as-is and flagged; unlock-pdf with the right password indexes it; a wrong one
    changes nothing (exit 4)."""
    path = put(files, "p.pdf", pdfgen.encrypted_pdf(user_password="s3cret"))
    doc_id = imp(cli, made, path).lines()[0]["id"]
    assert cli("doc", "search", "glycemie", "--json", pfile=made).json() == []
    wrong, right = tmp_path / "wrong", tmp_path / "right"
    wrong.write_text("nope")
    right.write_text("s3cret")
    r = cli("doc", "unlock-pdf", doc_id, "--password-file", wrong, pfile=made)
    assert r.code == ExitCode.WRONG_KEY
    r = cli("doc", "unlock-pdf", doc_id, "--password-file", right, "--json", pfile=made)
    assert r.code == 0, r.err
    assert r.json()["flags"] == []
    assert len(cli("doc", "search", "glycemie", "--json", pfile=made).json()) == 1
    assert "document.unlock" in actions(cli, made)


def test_search_ignores_case_and_accents_and_takes_phrases_and_prefixes(cli, made, files):
    """glycemie finds Glycémie; "protéine c-réactive" is a phrase; créat* a prefix; a stray
    quote or C-réactive is never an error; matches are highlighted."""
    put(files, "lab.pdf", pdfgen.lab_report())
    put(files, "rx.pdf", pdfgen.prescription())
    imp(cli, made, files)
    for query in ["glycemie", "GLYCÉMIE", '"protéine c-réactive"', "C-réactive", "créat*"]:
        hits = cli("doc", "search", query, "--json", pfile=made).json()
        assert [h["type"] for h in hits] == ["11502-2"], query
        assert "**" in hits[0]["snippet"]
    for nasty in ['"', '"glyc', "(", "AND", "-", "*", "NEAR("]:
        assert cli("doc", "search", nasty, pfile=made).code == 0, nasty
    assert cli("doc", "search", "ordonnance", "--json", pfile=made).json()[0]["type"] \
        == "57833-6"


def test_show_text_and_export_are_audited_listing_is_not(cli, made, files, tmp_path):
    """Reading content (text, export) writes an audit entry; list and search do not."""
    doc_id = imp(cli, made, put(files, "lab.pdf", pdfgen.lab_report())).lines()[0]["id"]
    before = actions(cli, made)
    docs(cli, made)
    cli("doc", "search", "glycemie", pfile=made)
    cli("doc", "show", doc_id, "--json", pfile=made)
    assert actions(cli, made) == before
    r = cli("doc", "show", doc_id, "--text", "--json", pfile=made)
    assert "Glycémie" in r.json()["text"]
    cli("doc", "export", doc_id, "-o", tmp_path / "x.pdf", pfile=made)
    assert actions(cli, made)[:2] == ["document.read", "document.read"]


def test_export_several_to_a_folder_and_refuses_to_overwrite(cli, made, files, tmp_path):
    """-o FOLDER takes several ids; an existing file is never overwritten."""
    imp(cli, made, put(files, "a.pdf", pdfgen.lab_report()))
    imp(cli, made, put(files, "b.pdf", pdfgen.prescription()))
    ids = [d["id"][:8] for d in docs(cli, made)]
    out = tmp_path / "out"
    out.mkdir()
    assert cli("doc", "export", *ids, "-o", out, pfile=made).code == 0
    assert len(list(out.iterdir())) == 2
    target = tmp_path / "exists.pdf"
    target.write_bytes(b"mine")
    assert cli("doc", "export", ids[0], "-o", target, pfile=made).code == ExitCode.ERROR
    assert target.read_bytes() == b"mine"


def test_edit_fixes_guesses_and_keeps_the_file_readable(cli, made, files, tmp_path):
    """doc edit changes type, date, title, tags, note; they are no longer guesses; the data key
    is rewrapped for the new revision and the file still exports exactly."""
    data = pdfgen.prescription()
    doc_id = imp(cli, made, put(files, "a.pdf", data)).lines()[0]["id"]
    r = cli("doc", "edit", doc_id, "--type", "certificate", "--date", "2024-12-24", "--title",
            "Certificat", "--tag", "sport", "--note", "pour le club", "--json", pfile=made)
    assert r.code == 0, r.err
    item = r.json()
    assert (item["type"], item["type_guessed"], item["date"], item["date_guessed"]) == \
        ("89601-9", False, "2024-12-24", False)
    assert item["tags"] == ["sport"] and item["note"] == "pour le club" and item["revision"] == 2
    r = cli("doc", "edit", doc_id, "--untag", "SPORT", "--json", pfile=made)
    assert r.json()["tags"] == []
    cli("doc", "export", doc_id, "-o", tmp_path / "back.pdf", pfile=made)
    assert (tmp_path / "back.pdf").read_bytes() == data
    assert cli("doc", "edit", doc_id, pfile=made).code == ExitCode.USAGE
    assert cli("doc", "edit", doc_id, "--type", "nonsense", pfile=made).code == ExitCode.USAGE


def test_hide_unhide_and_filters(cli, made, files):
    """hide/unhide are recorded; list filters by type, dates, tag, author, flag and person."""
    imp(cli, made, put(files, "lab.pdf", pdfgen.lab_report()), "--tag", "bilan")
    imp(cli, made, put(files, "rx.pdf", pdfgen.prescription()))
    imp(cli, made, put(files, "bad.pdf", pdfgen.truncated_pdf()))
    lab = docs(cli, made, "--type", "lab")[0]
    assert cli("doc", "hide", lab["id"], pfile=made).code == 0
    assert docs(cli, made, "--type", "lab")[0]["hidden"] is True
    cli("doc", "unhide", lab["id"], pfile=made)
    assert actions(cli, made)[:2] == ["document.unhide", "document.hide"]
    assert [d["type"] for d in docs(cli, made, "--tag", "bilan")] == ["11502-2"]
    assert len(docs(cli, made, "--flag", "unreadable")) == 1
    assert [d["date"] for d in docs(cli, made, "--since", "2025-03-01")] == ["2025-03-12"]
    assert [d["date"] for d in docs(cli, made, "--until", "2025-01-31", "--type",
                                    "prescription")] == ["2025-01-05"]
    assert len(docs(cli, made, "--author", "bioaccess")) == 1
    assert len(docs(cli, made, "--limit", "1")) == 1
    dates = [d["date"] or "" for d in docs(cli, made)]
    assert dates == sorted(dates, reverse=True)


def test_trash_restore_purge_cycle(cli, made, files, home):
    """delete → trash (reversible, not searchable); restore; purge erases row content, index
    entry and blob for good, after confirmation."""
    doc_id = imp(cli, made, put(files, "lab.pdf", pdfgen.lab_report())).lines()[0]["id"]
    assert cli("doc", "delete", doc_id, pfile=made).code == 0
    assert docs(cli, made) == [] and len(cli("doc", "trash", "--json", pfile=made).json()) == 1
    assert cli("doc", "search", "glycemie", "--json", pfile=made).json() == []
    assert cli("doc", "restore", doc_id, pfile=made).code == 0
    assert len(docs(cli, made)) == 1
    cli("doc", "delete", doc_id, pfile=made)
    assert cli("doc", "purge", pfile=made).code == ExitCode.USAGE  # no terminal, no --yes
    r = cli("doc", "purge", "--older-than", "30d", "--yes", "--json", pfile=made)
    assert r.code == 0 and r.json() == {"purged": []}  # put in the trash just now: kept
    assert len(cli("doc", "trash", "--json", pfile=made).json()) == 1
    r = cli("doc", "purge", "--yes", "--json", pfile=made)
    assert r.json() == {"purged": [doc_id]}
    assert cli("doc", "trash", "--json", pfile=made).json() == []
    assert not [p for p in (home / "blobs").rglob("*") if p.is_file()
                and not p.name.startswith(".")]
    assert cli("doc", "show", doc_id, pfile=made).code == ExitCode.NOT_FOUND
    assert "document.purge" in actions(cli, made)


def test_a_grown_up_childs_documents_are_read_only(cli, made, files):
    """After majority the caregiver may read but not add or change documents."""
    cli("people", "add", "Jeanne", "--born", "2004-02-29", "--sex", "female", pfile=made)
    r = imp(cli, made, put(files, "a.pdf", pdfgen.lab_report()), "--person", "jeanne")
    assert r.code == ExitCode.ERROR and "read-only" in r.err


def test_documents_belong_to_their_person(cli, made, files):
    """--person imports into a child's space; lists and search filter by person."""
    cli("people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male", pfile=made)
    imp(cli, made, put(files, "leo.pdf", pdfgen.vaccination_note(patient="Léo Martin")),
        "--person", "leo")
    imp(cli, made, put(files, "me.pdf", pdfgen.lab_report()))
    assert [d["person"] for d in docs(cli, made, "--person", "léo")] == ["Léo Martin"]
    hits = cli("doc", "search", "vaccin*", "--person", "camille", "--json", pfile=made).json()
    assert hits == []
    assert len(cli("doc", "search", "vaccin*", "--person", "leo", "--json", pfile=made).json()) == 1
    cli("unlock", pfile=made)
    counts = {p["name"]: p["documents"] for p in cli("status", "--json").json()["people"]}
    assert counts == {"Camille Martin": 1, "Léo Martin": 1}


def test_open_decrypts_to_a_private_temp_file_and_removes_it(cli, made, files, tmp_path,
                                                           monkeypatch):
    """doc open hands a 0600 copy to the viewer, then deletes it; the read is audited."""
    seen = tmp_path / "seen.txt"
    monkeypatch.setenv("MSANTE_VIEWER", f"sh -c 'stat -c %a \"$0\" > {seen}; cp \"$0\" "
                                        f"{tmp_path}/copy.pdf'")
    monkeypatch.setenv("MSANTE_VIEWER_WAIT", "0")
    data = pdfgen.lab_report()
    doc_id = imp(cli, made, put(files, "a.pdf", data)).lines()[0]["id"]
    assert cli("doc", "open", doc_id, pfile=made).code == 0
    assert seen.read_text().strip() == "600"
    assert (tmp_path / "copy.pdf").read_bytes() == data
    assert not list(Path(os.environ["XDG_RUNTIME_DIR"]).glob("msante-*"))
    assert actions(cli, made)[0] == "document.read"


def test_no_plaintext_of_documents_under_the_home(cli, made, files, home):
    """Neither the text nor the bytes of an imported document appear under $MSANTE_HOME."""
    data = pdfgen.lab_report(patient="Zéphyrine Quatremaine")
    imp(cli, made, put(files, "z.pdf", data))
    needles = ["Zéphyrine".encode(), b"Quatremaine", data[200:260]]
    for path in home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(n in blob for n in needles), path


@pytest.mark.slow
def test_a_scripted_import_of_500_files_with_10_bad_ones(cli, made, tmp_path):
    """All 500 are stored, the 10 bad ones are flagged and reported, and the exit code is 8."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, data, _kind in pdfgen.many(500, bad=10):
        (folder / name).write_bytes(data)
    r = imp(cli, made, folder)
    assert r.code == ExitCode.PARTIAL
    *lines, summary = r.lines()
    assert len(lines) == 500 and summary["summary"]["failed"] == 0
    assert summary["summary"]["imported"] + summary["summary"]["flagged"] == 500
    assert summary["summary"]["flagged"] >= 10
    assert len(docs(cli, made, "--limit", "0")) == 500
    assert all(json.dumps(x) for x in lines)


def test_a_few_files_imported_by_hand_say_what_was_guessed(cli, made, files):
    """On a small import people see each document's type and date, marked when guessed."""
    put(files, "lab.pdf", pdfgen.lab_report())
    r = cli("doc", "import", files, pfile=made)
    assert r.code == 0
    assert "imported: Compte rendu d'examens biologiques — Lab report (guessed), " \
        "2025-03-12 (guessed)" in r.err


def test_handover_with_documents(cli, made, files, handover, tmp_path):
    """Documents imported while the child was a minor travel with the handover archive; in the
    now-adult's own vault they are re-encrypted under its keys, searchable, byte for byte."""
    data = pdfgen.lab_report(patient="Jeanne Martin")
    with handover.while_minor():
        assert imp(cli, made, put(files, "j.pdf", data), "--person", "jeanne").code == 0
    assert handover.to_own_vault()["documents"] == 1
    mine = docs(cli, made)
    assert [(d["type"], d["date"], d["person"]) for d in mine] == \
        [("11502-2", "2025-03-12", "Jeanne Martin")]
    assert cli("doc", "search", "glycemie", "--json", pfile=made).json()
    back = tmp_path / "back.pdf"
    assert cli("doc", "export", mine[0]["id"], "-o", back, pfile=made).code == 0
    assert back.read_bytes() == data
    assert cli("audit", "verify", pfile=made).code == 0



def test_a_tampered_handover_archive_writes_nothing(cli, made: Path, handover, tmp_path: Path
                                                    ) -> None:
    """A handover archive whose last segment was changed (a 3 MiB scan makes it several
    segments long) is refused (exit 6) and leaves nothing behind in the receiving vault: no new
    person, no `person.add` nor any other entry, no change-log row, no blob."""
    from msante.api import Vault

    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3 << 20))
    with handover.while_minor():
        assert cli("doc", "import", scan, "--person", "jeanne", pfile=made).code == 0
        assert cli("profile", "add", "allergies", "substance=Arachide", "--person", "jeanne",
                   pfile=made).code == 0
    out = tmp_path / "j.msh"
    r = cli("people", "handover", handover.NAME, "--out", out, "--json", pfile=made)
    assert r.code == 0, r.err
    (tmp_path / "code").write_text(r.json()["code"])
    data = bytearray(out.read_bytes())
    data[-40] ^= 0x01  # inside the last segment: the person and the records come first
    out.write_bytes(bytes(data))
    other = tmp_path / "other-home"
    os.environ["MSANTE_HOME"] = str(other)
    assert cli("init", "--name", "Alice Other", "--born", "1990-01-01", "--sex", "female",
               "--kdf-memory", "16", "--kdf-iterations", "2", pfile=made).code == 0
    with Vault.open(other, unlock_with_passphrase(other, PASSPHRASE)) as v:
        conn = v.store.conn
        before = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("people", "audit", "changes", "profile_entries", "documents")]
    blobs_before = sorted(p.name for p in (other / "blobs").rglob("*") if p.is_file())
    m = cli("backup", "restore", out, "--merge", "--code-file", tmp_path / "code",
            pfile=made)
    assert m.code == ExitCode.INTEGRITY, m.err
    with Vault.open(other, unlock_with_passphrase(other, PASSPHRASE)) as v:
        conn = v.store.conn
        after = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("people", "audit", "changes", "profile_entries", "documents")]
        assert [p.name for p in v.people.list()] == ["Alice Other"]
        assert v.audit.verify().ok
    assert after == before
    assert sorted(p.name for p in (other / "blobs").rglob("*") if p.is_file()) == blobs_before


def test_a_document_built_from_a_row_is_the_named_tuple_its_fields_say() -> None:
    """Document.from_row builds the tuple directly (no argument binding): every field is
    there, in order, as the named constructor would have it."""
    import datetime as dt

    from msante.documents.model import COLUMNS, Document

    names = [c.strip() for c in COLUMNS.split(",")]
    assert len(names) == len(Document._fields)
    row = tuple(f"v{i}" for i in range(len(names)))
    row = (*row[:5], b"key", *row[6:12], "2020-01-02", 1, "11502-2", 0, 3, "[]", None,
           '["a"]', *row[20:23], 1, *row[24:])
    doc = Document.from_row(row)
    assert type(doc) is Document and len(doc) == len(Document._fields)
    assert doc == Document(**dict(zip(Document._fields, doc, strict=True)))
    assert (doc.wrapped_key, doc.date, doc.date_guessed, doc.tags, doc.hidden,
            doc.updated_at) == (b"key", dt.date(2020, 1, 2), True, ("a",), True, row[-1])


def test_documents_built_from_rows_with_more_columns_are_those_of_the_rows_alone() -> None:
    """Document.from_rows builds each row's Document in one loop, leaving out any column
    after COLUMNS (a search reads the start of the text with them): the same as from_row."""
    from msante.documents.model import COLUMNS, Document

    count = len(COLUMNS.split(","))
    row = (*(f"v{i}" for i in range(5)), b"k", *(f"v{i}" for i in range(6, 12)), None, 0,
           "c", 1, None, '["encrypted"]', None, "[]", *(f"v{i}" for i in range(20, 23)), 0,
           *(f"v{i}" for i in range(24, count)))
    assert len(row) == count
    docs = Document.from_rows([(*row, "the text"), (*row, None, 3)])
    assert docs == [Document.from_row(row)] * 2
    assert docs[0].flags == ("encrypted",) and docs[0].tags == () and docs[0].date is None
    assert Document.from_rows([]) == []
