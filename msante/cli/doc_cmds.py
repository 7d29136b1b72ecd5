"""`msante doc`: import, find, read, export, edit, hide, trash and purge documents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.options import (
    AllOpt,
    ForceOpt,
    FromAlias,
    PersonOpt,
    SinceOpt,
    ToAlias,
    UntilOpt,
    check_out,
    check_person_choice,
    one_of,
)
from msante.cli.vault_cmds import JsonOpt
from msante.errors import PartialError, UsageError
from msante.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable

    from msante.api import Vault
    from msante.documents.model import Document
    from msante.documents.service import Documents

app = typer.Typer(help=_("Documents: prescriptions, lab results, imaging and hospital reports…"),
                  no_args_is_help=True)

WhoseOpt = Annotated[str | None, typer.Option(help=_("Whose documents (default: the owner)."))]
IdArg = Annotated[str, typer.Argument(metavar="ID", help=_("Document id (or its first "
                                                           "characters)."))]


# The flags `doc list --flag` takes, with their French words (folded, - for spaces).
FLAG_WORDS = {"encrypted": "encrypted", "chiffre": "encrypted", "protege": "encrypted",
              "unreadable": "unreadable", "illisible": "unreadable", "no-text": "no-text",
              "sans-texte": "no-text", "limits": "limits", "limites": "limits",
              "trop-gros": "limits", "partial": "partial", "partiel": "partial",
              "partiellement-illisible": "partial"}


def _flag(text: str | None) -> str | None:
    """A flag typed in either language as its key; UsageError naming them otherwise."""
    from msante.text import fold

    if text is None:
        return None
    key = FLAG_WORDS.get(fold(text).replace(" ", "-"))
    if key is None:
        raise UsageError(_("Unknown flag '{flag}': choose encrypted, unreadable, no-text, "
                           "limits or partial.").format(flag=text))
    return key


def _check_type(text: str | None) -> None:
    """Refuse an unknown document type before the passphrase is asked."""
    from msante.documents import types

    if text:
        types.resolve(text)


def _date(text: str | None, what: str) -> Any:
    from msante.text import parse_date

    return parse_date(text, what=what) if text else None


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(metavar=_("PATH"),
                                                help=_("Files or folders to import."))],
    person: WhoseOpt = None,
    type_: Annotated[str | None, typer.Option("--type", help=_(
        "Document type: a LOINC code or lab, prescription, imaging, hospital, certificate, "
        "vaccination… (default: guessed)."))] = None,
    date: Annotated[str | None, typer.Option(help=_(
        "Document date: 2025-03-12 or 12/03/2025 (default: guessed)."))] = None,
    title: Annotated[str | None, typer.Option(help=_("Title (default: from the file)."))] = None,
    author: Annotated[str | None, typer.Option(help=_("Author (default: from the file)."))]
    = None,
    tag: Annotated[list[str] | None, typer.Option(help=_("A tag (repeatable)."))] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help=_(
        "Also import the files of sub-folders."))] = False,
    password_file: Annotated[Path | None, typer.Option(help=_(
        "A file holding the password of protected PDFs."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Import files (PDF, images, any file): typed, dated, indexed, encrypted.

    Exit 0 when every file was imported or was a duplicate; 8 when any was flagged or failed.

    Example: msante doc import ~/Downloads/resultats.pdf --person "Léo Martin" --type lab
    """
    from msante.documents.importer import Importer, Options, Summary, walk

    day = _date(date, _("date"))
    _check_type(type_)
    with session.open_vault() as vault:
        options = Options(vault.people.get(person), type_, day, title,
                          author, tuple(tag or ()),
                          session.read_secret_file(password_file) if password_file else None,
                          recursive)
        walked = list(walk(paths, recursive))
        summary = Summary()
        results = Importer(vault.documents, options).run_walked(walked)
        if json_:
            _import_json(results, summary)
        else:
            _import_human(results, summary, len(walked))
    if summary.partial:
        raise PartialError(_("Some files were flagged or could not be stored (see above)."))


def _import_json(results: Any, summary: Any) -> None:
    for result in results:
        summary.add(result)
        output.print_json_line(result.to_json())
    output.print_json_line({"summary": summary.counts})


def _import_human(results: Any, summary: Any, total: int) -> None:
    notes = []
    with output.progress(_("Importing"), total) as advance:
        for result in results:
            summary.add(result)
            advance()
            if result.status != "imported" or total <= FEW:
                notes.append(result)
    for result in notes:
        output.info(result.describe())
    output.info(summary.describe())


FEW = 10  # up to this many files, each imported one is described (what was guessed)


@app.command("list")
def list_(
    person: PersonOpt = None,
    all_: AllOpt = False,
    type_: Annotated[str | None, typer.Option("--type", help=_("Only this type."))] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tag: Annotated[str | None, typer.Option(help=_("Only with this tag."))] = None,
    author: Annotated[str | None, typer.Option(help=_("Only by this author."))] = None,
    flag: Annotated[str | None, typer.Option(help=_(
        "Only with this flag (encrypted, unreadable, no-text, limits, partial)."))] = None,
    limit: Annotated[int, typer.Option(min=0, max=1_000_000, help=_(
        "At most this many (0: all)."))] = 50,
    json_: JsonOpt = False,
    from_: FromAlias = None,
    to: ToAlias = None,
) -> None:
    """List documents, newest first.

    Example: msante doc list --type lab --since 2025-01-01 --json
    """
    from msante.documents import types

    first = _date(one_of(since, from_, "--since"), _("date"))
    last = _date(one_of(until, to, "--until"), _("date"))
    code = types.resolve(type_).code if type_ else None
    flag = _flag(flag)
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        docs = vault.documents.list(
            person=_who(vault, person, all_), type_code=code, since=first, until=last,
            tag=tag, author=author, flag=flag, limit=limit or None)
        _print_docs(vault, docs, json_)


def _who(vault: Vault, person: str | None, all_: bool) -> Any:
    """The person a listing covers: None for everyone (--all), else the named one or the
    owner."""
    return None if all_ else vault.people.get(person)


def _names(vault: Vault) -> dict[str, str]:
    return {p.id: p.name for p in vault.people.list()}


def _print_docs(vault: Vault, docs: list[Document], json_: bool) -> None:
    names = _names(vault)
    if json_:
        output.print_json([d.to_json(names.get(d.person)) for d in docs])
        return
    output.table(["Id", _("Date"), _("Type"), _("Title"), _("Person"), _("Flags")], [
        [d.id[:8], _date_text(d), d.type_label, d.title + (" 🔒" if d.hidden else ""),
         names.get(d.person, ""), ", ".join(d.flag_texts())] for d in docs])


def _date_text(doc: Document) -> str:
    if doc.date is None:
        return "—"
    return doc.date.isoformat() + ("?" if doc.date_guessed else "")


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(metavar=_("QUERY"), help=_(
        'Words, "a phrase", prefix*, -excluded, a OR b.'))],
    person: PersonOpt = None,
    all_: AllOpt = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help=_(
        "At most this many results."))] = 20,
    json_: JsonOpt = False,
) -> None:
    """Search the documents' text, title, author and tags (ignoring case and accents).

    Example: msante doc search 'glycemie "protéine c-réactive" hba1c*'
    """
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        hits = vault.documents.search(query, person=_who(vault, person, all_), limit=limit)
        names = _names(vault)
    if json_:
        output.print_json([d.to_json(names.get(d.person)) | {"snippet": s} for d, s in hits])
        return
    if not hits:
        output.info(_("No document matches."))
    for doc, snippet in hits:
        output.search_hit(doc.id[:8], _date_text(doc), doc.title, doc.type_label, snippet)


@app.command("show")
def show(
    doc_id: IdArg,
    text: Annotated[bool, typer.Option("--text", help=_("Also print the extracted text "
                                                        "(recorded in the history)."))] = False,
    json_: JsonOpt = False,
) -> None:
    """Show a document's details (and its text with --text).

    Example: msante doc show 3f2a9c1e --text
    """
    with session.open_vault() as vault:
        doc = vault.documents.get(doc_id)
        name = _names(vault).get(doc.person)
        body = vault.documents.text(doc) if text else None
    if json_:
        output.print_json(doc.to_json(name) | ({"text": body} if text else {}))
        return
    output.fields(_detail_rows(doc, name))
    if body is not None:
        output.echo("\n" + body)


def _detail_rows(doc: Document, name: str | None) -> list[tuple[str, str]]:
    guessed = " " + _("(guessed)")
    return [
        ("Id", doc.id), (_("Title"), doc.title),
        (_("Type"), f"{doc.type_label} ({doc.type_code})" + (guessed if doc.type_guessed else "")),
        (_("Date"), (doc.date.isoformat() if doc.date else "—")
         + (guessed if doc.date_guessed else "")),
        (_("Person"), name or doc.person), (_("Author"), doc.author or "—"),
        (_("Tags"), ", ".join(doc.tags) or "—"), (_("Note"), doc.note or "—"),
        (_("File"), f"{doc.filename or '—'} ({doc.mime}, {doc.size} B, "
                    f"{doc.pages or '—'} p.)"),
        (_("Flags"), ", ".join(doc.flag_texts()) or "—"),
        (_("Hidden from professionals"), _("yes") if doc.hidden else _("no")),
        (_("In the trash"), _("yes") if doc.trashed_at else _("no")),
        ("SHA-256", doc.sha256),
    ]


@app.command("export")
def export(
    doc_ids: Annotated[list[str], typer.Argument(metavar="ID", help=_("Document ids."))],
    out: Annotated[Path, typer.Option("--out", "-o", help=_(
        "The file to write, or a folder for several."))],
    force: ForceOpt = False,
) -> None:
    """Write the original files back out, byte for byte (new files, mode 0600).

    Example: msante doc export 3f2a9c1e -o ~/resultats.pdf
    """
    if len(doc_ids) > 1 and not out.is_dir():
        raise UsageError(_("Give an existing folder with -o to export several documents."))
    if not out.is_dir():
        check_out(out, force)
    with session.open_vault() as vault:
        for ref in doc_ids:
            written = vault.documents.export(vault.documents.get(ref), out, overwrite=force)
            output.info(_("File written: {path}").format(path=written))


@app.command("open")
def open_(doc_id: IdArg) -> None:
    """Open a document in the system's viewer (decrypted to a private temporary file).

    Example: msante doc open 3f2a9c1e
    """
    from msante.cli.viewer import view
    from msante.documents.viewing import exit_cleanly_on_signals

    with exit_cleanly_on_signals():  # SIGTERM, SIGHUP (terminal closed): the copy goes too
        with session.open_vault() as vault:
            path = vault.documents.open_copy(vault.documents.get(doc_id))
        view(path)


@app.command("edit")
def edit(
    doc_id: IdArg,
    title: Annotated[str | None, typer.Option(help=_("New title."))] = None,
    type_: Annotated[str | None, typer.Option("--type", help=_("New type."))] = None,
    date: Annotated[str | None, typer.Option(help=_(
        "New date: 2025-03-12 or 12/03/2025."))] = None,
    tag: Annotated[list[str] | None, typer.Option(help=_("Add a tag (repeatable)."))] = None,
    untag: Annotated[list[str] | None, typer.Option(help=_("Remove a tag (repeatable)."))]
    = None,
    note: Annotated[str | None, typer.Option(help=_("A note (empty to remove it)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Fix what was guessed, or add tags and a note.

    Example: msante doc edit 3f2a9c1e --type imaging --date 2025-03-12 --tag thyroïde
    """
    day = _date(date, _("date"))
    _check_type(type_)
    with session.open_vault() as vault:
        doc = vault.documents.edit(vault.documents.get(doc_id), title=title, type_ref=type_,
                                   date=day, add_tags=tuple(tag or ()),
                                   remove_tags=tuple(untag or ()), note=note)
        _done(vault, doc, _("Document {id} updated."), json_)


def _done(vault: Vault, doc: Document, message: str, json_: bool) -> None:
    if json_:
        output.print_json(doc.to_json(_names(vault).get(doc.person)))
    else:
        output.info(message.format(id=doc.id[:8]))


def _change(doc_id: str, change: Callable[[Documents, Document], Document], message: str,
            json_: bool) -> None:
    """Apply one service change to a document and report it (a line, or its JSON)."""
    with session.open_vault() as vault:
        doc = change(vault.documents, vault.documents.get(doc_id))
        _done(vault, doc, message, json_)


@app.command("hide")
def hide(doc_id: IdArg, json_: JsonOpt = False) -> None:
    """Hide a document: it will never be shared with health professionals.

    Example: msante doc hide 3f2a9c1e
    """
    _change(doc_id, lambda docs, doc: docs.set_hidden(doc, True),
            _("Document {id} hidden from professionals."), json_)


@app.command("unhide")
def unhide(doc_id: IdArg, json_: JsonOpt = False) -> None:
    """Stop hiding a document from health professionals.

    Example: msante doc unhide 3f2a9c1e
    """
    _change(doc_id, lambda docs, doc: docs.set_hidden(doc, False),
            _("Document {id} no longer hidden."), json_)


@app.command("delete")
def delete(doc_id: IdArg, json_: JsonOpt = False) -> None:
    """Move a document to the trash (restore it with 'msante doc restore').

    Example: msante doc delete 3f2a9c1e
    """
    _change(doc_id, lambda docs, doc: docs.trash(doc),
            _("Document {id} moved to the trash."), json_)


@app.command("trash")
def trash(person: PersonOpt = None, all_: AllOpt = False, json_: JsonOpt = False) -> None:
    """List the documents in the trash.

    Example: msante doc trash --all --json
    """
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        who = _who(vault, person, all_)
        _print_docs(vault, vault.documents.list(person=who, trashed=True, limit=None), json_)


@app.command("restore")
def restore(doc_id: IdArg, json_: JsonOpt = False) -> None:
    """Take a document out of the trash.

    Example: msante doc restore 3f2a9c1e
    """
    _change(doc_id, lambda docs, doc: docs.restore(doc),
            _("Document {id} restored."), json_)


@app.command("purge")
def purge(
    doc_id: Annotated[str | None, typer.Argument(metavar="[ID]", help=_(
        "A document to erase (default: the whole trash)."))] = None,
    older_than: Annotated[str | None, typer.Option(help=_(
        "Only what has been in the trash longer than this (e.g. 30d, 30j, 6mo, 6mois)."))] = None,
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
    json_: JsonOpt = False,
) -> None:
    """Erase documents for good: their key, their index entry and their file (after confirmation).

    Example: msante doc purge --older-than 30d --yes
    """
    import datetime as dt

    from msante import durations

    age = durations.seconds(older_than, _("age"), low=1, high=100 * durations.YEAR_DAYS *
                            durations.DAY) if older_than else None
    with session.open_vault() as vault:
        docs = vault.documents
        if doc_id:
            victims = [docs.get(doc_id)]
            output.confirm(_("Erase '{title}' for good?").format(title=victims[0].title), yes=yes)
            docs.purge(victims[0])
        else:
            output.confirm(_("Erase the documents in the trash for good?"), yes=yes)
            victims = docs.purge_trash(dt.timedelta(seconds=age) if age else None)
    if json_:
        output.print_json({"purged": [d.id for d in victims]})
    else:
        output.info(_("{n} document(s) erased for good.").format(n=len(victims)))


@app.command("unlock-pdf")
def unlock_pdf(
    doc_id: IdArg,
    password_file: Annotated[Path | None, typer.Option(help=_(
        "A file holding the PDF's password (default: asked)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Index a password-protected PDF that was stored without its password.

    Example: msante doc unlock-pdf 3f2a9c1e --password-file pdf-password.txt
    """
    password = session.secret(password_file, _("The PDF's password: "), _(
        "No terminal to ask for the PDF's password: use --password-file."))
    with session.open_vault() as vault:
        doc = vault.documents.unlock_pdf(vault.documents.get(doc_id), password)
        _done(vault, doc, _("Document {id} is now indexed."), json_)
