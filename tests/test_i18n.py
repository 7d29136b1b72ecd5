"""The French interface: a complete catalog, shipped compiled, and the framework's own words
(usage, help, errors of the vendored Click) in French too. Each test names what it protects."""

from __future__ import annotations

import enum
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from msante import i18n
from msante.errors import ExitCode
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "msante"
FR_PO = PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "msante.po"
FR_MO = FR_PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _msgids(message: Any) -> tuple[str, ...]:
    return message if isinstance(message, tuple) else (message,)


def _strings(message: Any) -> tuple[str, ...]:
    return tuple(message) if isinstance(message, (tuple, list)) else (message,)


def makefile_keywords() -> dict[str, Any]:
    """The extraction keywords of `make i18n`, read from the Makefile (one source of truth)."""
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines()
                if x.startswith("I18N_KEYWORDS"))
    words = shlex.split(line.split(":=", 1)[1])
    return parse_keywords([w for i, w in enumerate(words) if i and words[i - 1] == "-k"])


@pytest.fixture(scope="module")
def source_msgids() -> set[Any]:
    """Every msgid of the source tree, extracted the way `make i18n` does (babel.cfg)."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {message for _file, _line, message, _comments, _context
            in extract_from_dir(PACKAGE, method_map, options_map, keywords=makefile_keywords())}


@pytest.fixture(scope="module")
def fr_catalog() -> Catalog:
    """The French catalog as translators edit it."""
    with open(FR_PO, "rb") as f:
        return read_po(f, locale="fr")


def test_every_message_has_a_french_translation(source_msgids: set[Any],
                                                fr_catalog: Catalog) -> None:
    """A `_()` string added without its French translation breaks the build (run `make i18n`,
    then translate the new entries of fr/msante.po)."""
    assert not fr_catalog.fuzzy, "the header of fr/msante.po is fuzzy: pybabel would skip it"
    missing = []
    for msgid in sorted(source_msgids, key=str):
        entry = fr_catalog.get(msgid)
        if entry is None or entry.fuzzy or not all(_strings(entry.string)):
            missing.append(msgid)
    assert not missing, f"untranslated or fuzzy in fr/msante.po ({len(missing)}): {missing}"
    assert len(source_msgids) > 100  # the extraction really found the code's strings


def test_catalog_has_no_stale_entries(source_msgids: set[Any], fr_catalog: Catalog) -> None:
    """Messages gone from the code leave the catalog (`make i18n` was run after the change)."""
    stale = {m.id for m in fr_catalog if m.id} - source_msgids
    assert not stale, f"in fr/msante.po but no longer in the code: {sorted(stale, key=str)}"


def test_compiled_catalog_matches_the_po(fr_catalog: Catalog) -> None:
    """The shipped .mo is what the .po says: nobody edited one and forgot to compile."""
    with open(FR_MO, "rb") as f:
        compiled = read_mo(f)
    def key(value: object) -> object:  # read_mo gives a plural's ids and strings as lists
        return tuple(value) if isinstance(value, list) else value

    expected = {key(m.id): key(m.string) for m in fr_catalog
                if m.id and m.string and not m.fuzzy}
    assert {key(m.id): key(m.string) for m in compiled if m.id} == expected


def test_translations_keep_every_placeholder(fr_catalog: Catalog) -> None:
    """A lost or renamed `{name}` would raise KeyError, or drop information, at run time."""
    wrong = []
    for m in fr_catalog:
        if not m.id:
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(_msgids(m.id))))
        for text in _strings(m.string):
            if set(PLACEHOLDER.findall(text)) != wanted:
                wrong.append((m.id, text))
    assert not wrong


def test_french_typography_is_consistent(fr_catalog: Catalog) -> None:
    """One rule everywhere: a narrow no-break space (U+202F) before « : ; ? ! », a space
    inside « guillemets »."""
    bad = []
    for m in fr_catalog:
        for text in _strings(m.string) if m.id else ():
            plain = PLACEHOLDER.sub("x", text)
            if re.search(r"[^\u202f][:;?!](?=\s|$)|«(?! )|(?<! )»", plain):
                bad.append(text)
    assert not bad


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "fr_FR.UTF-8"}, "fr"),
    ({"LANGUAGE": "fr:en"}, "fr"),
    ({"LANGUAGE": "fr_BE:en", "LANG": "en_US.UTF-8"}, "fr"),
    ({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_GB.UTF-8"}, "fr"),
    ({"LC_MESSAGES": "fr_FR"}, "fr"),
    ({"LC_ALL": "C"}, "en"),
    ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LANGUAGE": "", "LANG": "fr_FR.UTF-8"}, "fr"),
])
def test_detect_language(env: dict[str, str], lang: str) -> None:
    """The environment decides the language as gettext would, and only fr/en exist."""
    assert i18n.detect_language(env) == lang


# --- the command line, in-process -------------------------------------------------------------

class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def _drop_cli_modules() -> None:
    for name in [n for n in sys.modules if n == "msante.cli" or n.startswith("msante.cli.")]:
        del sys.modules[name]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run msante in-process with freshly imported command modules.

    Help texts are translated when the command modules are imported, so modules imported by
    an earlier test in another language are dropped before, and again after (for the next
    tests, which expect English).
    """
    monkeypatch.setenv("COLUMNS", "200")
    for var in ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TERMINAL_WIDTH"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> Run:
        _drop_cli_modules()
        from msante.cli.main import main

        code = main(list(args))
        captured = capsys.readouterr()
        return Run(int(code), captured.out, captured.err)

    yield run
    _drop_cli_modules()
    i18n.setup("en")


def test_french_help_speaks_french(cli: Any) -> None:
    """--lang fr translates our help texts and the framework's: usage, panels, --help."""
    r = cli("--lang", "fr", "--help")
    assert r.code == ExitCode.OK
    for words in ("Utilisation : msante [OPTIONS] COMMANDE [ARGUMENTS]...", "─ Commandes ─",
                  "Afficher ce message et quitter.", "votre espace santé personnel chiffré",
                  "Créer l'espace santé chiffré avec le profil de son titulaire."):
        assert words in r.out
    for english in ("Usage", "Commands", "Show this message", "Create the encrypted vault"):
        assert english not in r.out


def test_french_command_help_translates_markers_and_types(cli: Any) -> None:
    """A command's own help: its docstring, the [required]/[default] markers, type labels."""
    r = cli("--lang", "fr", "audit", "list", "--help")
    assert r.code == ExitCode.OK
    for words in ("Utilisation : msante audit list [OPTIONS]", "─ Options ─",
                  "Afficher l'historique d'activité", "Exemple : msante audit list",
                  "ENTIER", "TEXTE", "[par défaut : 50]"):
        assert words in r.out
    r = cli("--lang", "fr", "people", "add", "--help")
    assert "─ Arguments ─" in r.out and "[obligatoire]" in r.out
    assert "TEXT " not in r.out and "[required]" not in r.out


def test_lang_from_the_environment(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --lang, LANG=fr_FR.UTF-8 is enough; a group without subcommand shows its help."""
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    r = cli("people")
    assert r.code == ExitCode.OK
    assert "Utilisation : msante people" in r.out and "Lister les personnes" in r.out
    assert r.out.count("Utilisation") == 1  # printed once, not once more by us


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "Erreur : Commande « nope » inconnue."),
    (["peopl"], "Erreur : Commande « peopl » inconnue. Vouliez-vous dire « people » ?"),
    (["init"], "Erreur : Option « --name » manquante."),
    (["people", "add"], "Erreur : Argument « NOM » manquant."),
    (["audit", "list", "--limit", "x"],
     "Erreur : Valeur invalide pour « --limit » : « x » n'est pas un nombre entier."),
    (["status", "--bogus"], "Erreur : Option inconnue : --bogus"),
    (["audit", "list", "--limit"], "Erreur : L'option « --limit » attend une valeur."),
    (["status", "extra"], "Erreur : Argument(s) en trop : extra"),
])
def test_french_usage_errors(cli: Any, args: list[str], message: str) -> None:
    """Usage errors come out in French, with the usage line and the hint, and exit 2."""
    r = cli("--lang", "fr", *args)
    assert r.code == ExitCode.USAGE
    lines = r.err.splitlines()
    assert lines[-1] == message
    if len(lines) > 1:  # the parser raises some errors without a context, hence no usage
        assert lines[0].startswith("Utilisation : msante")
        assert re.fullmatch(r"Essayez « msante.* --help » pour obtenir de l'aide\.", lines[1])


def test_english_is_left_as_it_was(cli: Any) -> None:
    """--lang en: the patches are invisible, Typer's own English comes out."""
    r = cli("--lang", "en", "--help")
    assert "Usage: msante [OPTIONS] COMMAND [ARGS]..." in r.out
    assert "─ Commands ─" in r.out and "Show this message and exit." in r.out
    assert "Create the encrypted vault with the owner's profile." in r.out
    r = cli("--lang", "en", "nope")
    assert r.code == ExitCode.USAGE
    assert r.err.splitlines() == ["Usage: msante [OPTIONS] COMMAND [ARGS]...",
                                  "Try 'msante --help' for help.",
                                  "Error: No such command 'nope'."]
    r = cli("--lang", "en", "people", "add")
    assert r.err.splitlines()[-1] == "Error: Missing argument 'NAME'."


def test_unknown_language_is_a_usage_error(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """--lang de: exit 2 with a clear line, in the environment's language."""
    r = cli("--lang", "de", "status")
    assert r.code == ExitCode.USAGE
    assert r.err == "Unknown language 'de': choose fr or en.\n"
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    r = cli("--lang=de", "status")
    assert r.code == ExitCode.USAGE
    assert r.err == "Langue « de » inconnue : choisissez fr ou en.\n"


def test_every_command_and_option_help_is_in_the_catalog(fr_catalog: Catalog) -> None:
    """Each command's help (a docstring, so extracted by our own extractor) and each option's
    help has a French translation: a command whose docstring the extractor misses fails here."""
    i18n.setup("en")
    _drop_cli_modules()
    try:
        from msante.cli.app import build

        texts = list(_help_texts(typer.main.get_command(build([]))))
    finally:
        _drop_cli_modules()
    def translated(text: str) -> bool:
        return bool(fr_catalog.get(text) and fr_catalog[text].string)

    # a group's help is its own text and its example, two messages
    missing = [t for t in texts
               if not (translated(t) or all(translated(p) for p in t.split("\n\n")))]
    assert not missing
    assert len(texts) > 20


def _help_texts(command: Any) -> Iterator[str]:
    if command.help:
        yield command.help
    from msante.cli.framework import COMPLETION_HELP

    for param in command.params:
        if getattr(param, "help", None) and param.name not in COMPLETION_HELP:
            yield param.help
    for sub in getattr(command, "commands", {}).values():
        yield from _help_texts(sub)


def test_packaged_catalog_works_in_a_fresh_process() -> None:
    """The real entry point, environment only: the compiled catalog ships in the package."""
    r = run_cli("init", env_extra={"LANG": "fr_FR.UTF-8"})
    assert r.returncode == ExitCode.USAGE
    assert "Erreur : Option « --name » manquante." in r.stderr


# --- the framework's own words, straight from Typer ---------------------------------------------

class Color(enum.StrEnum):
    red = "red"
    green = "green"


def _typer_messages() -> dict[str, str]:
    """Usage errors raised by the installed Typer for a small app, by case name."""
    from typer._click import exceptions

    app = typer.Typer()

    @app.command()
    def cmd(name: Annotated[str, typer.Argument()],
            req: Annotated[Color, typer.Option()],
            n: Annotated[int, typer.Option()] = 1,
            f: Annotated[float, typer.Option()] = 1.0,
            r: Annotated[int, typer.Option(min=2, max=10)] = 3,
            p: Annotated[Path | None, typer.Option(exists=True)] = None,
            fo: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
            two: Annotated[tuple[int, int] | None, typer.Option()] = None,
            flag: Annotated[bool, typer.Option("--flag")] = False) -> None:
        """A command."""

    @app.command()
    def other() -> None:
        """Another."""

    ok = ["cmd", "a", "--req", "red"]
    cases = {
        "missing argument": ["cmd"], "choices": ["cmd", "a"],
        "integer": [*ok, "--n", "x"], "number": [*ok, "--f", "x"],
        "minimum": [*ok, "--r", "1"], "maximum": [*ok, "--r", "11"],
        "not one of": ["cmd", "a", "--req", "blue"],
        "no path": [*ok, "--p", "/nonexistent/x"], "is a directory": [*ok, "--fo", "/"],
        "two values": [*ok, "--two", "1"], "no value": [*ok, "--n"],
        "takes no value": [*ok, "--flag=1"], "extra": [*ok, "b"],
        "possible options": [*ok, "--nn"], "no such option": [*ok, "-z"],
        "did you mean": ["othr"], "no such command": ["zzz"],
    }
    command = typer.main.get_command(app)
    messages = {}
    for case, args in cases.items():
        with pytest.raises(exceptions.UsageError) as info:
            command.main(args=args, prog_name="t", standalone_mode=False)
        messages[case] = info.value.format_message()
    return messages


FRENCH = {
    "missing argument": "Argument « name » manquant.",
    "choices": "Option « --req » manquante. Choisissez parmi :\n\tred,\n\tgreen",
    "integer": "Valeur invalide pour « --n » : « x » n'est pas un nombre entier.",
    "number": "Valeur invalide pour « --f » : « x » n'est pas un nombre.",
    "minimum": "Valeur invalide pour « --r » : 1 n'est pas dans l'intervalle 2<=x<=10.",
    "maximum": "Valeur invalide pour « --r » : 11 n'est pas dans l'intervalle 2<=x<=10.",
    "not one of": "Valeur invalide pour « --req » : « blue » ne fait pas partie des choix "
                  "possibles : « red », « green ».",
    "no path": "Valeur invalide pour « --p » : le chemin « /nonexistent/x » n'existe pas.",
    "is a directory": "Valeur invalide pour « --fo » : le fichier « / » est un dossier.",
    "two values": "L'option « --two » attend 2 valeurs.",
    "no value": "L'option « --n » attend une valeur.",
    "takes no value": "L'option « --flag » n'accepte pas de valeur.",
    "extra": "Argument(s) en trop : b",
    "possible options": "Option inconnue : --nn (options possibles : --n)",
    "no such option": "Option inconnue : -z",
    "did you mean": "Commande « othr » inconnue. Vouliez-vous dire « other » ?",
    "no such command": "Commande « zzz » inconnue.",
}


def test_typer_usage_errors_are_translated() -> None:
    """Every usage error the installed Typer raises has a pattern: a Typer upgrade that
    rewords one shows up here instead of as English in the middle of French."""
    from msante.cli.framework import translate_error

    messages = _typer_messages()
    i18n.setup("fr")
    try:
        assert {case: translate_error(text) for case, text in messages.items()} == FRENCH
    finally:
        i18n.setup("en")


def test_english_error_texts_keep_their_meaning() -> None:
    """In English the patterns give back Typer's text (a few reasons reworded, same meaning)."""
    from msante.cli.framework import translate_error

    i18n.setup("en")
    for case, text in _typer_messages().items():
        if case not in ("integer", "number", "no path", "is a directory"):
            assert translate_error(text) == text, case
    assert translate_error("Something Typer says in a future version.") == (
        "Something Typer says in a future version.")


def test_patches_are_installed_once() -> None:
    """Running many commands in one process must not stack wrappers on the framework."""
    from typer._click import decorators, formatting

    from msante.cli import framework

    framework.install_patches()
    usage, option = formatting.HelpFormatter.write_usage, decorators.option
    framework.install_patches()
    assert formatting.HelpFormatter.write_usage is usage and decorators.option is option
    assert not hasattr(usage.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]


def test_no_literal_message_hides_inside_an_f_string() -> None:
    """pybabel does not look inside f-strings: `f"({_('guessed')})"` is never extracted, so
    it stays English in French (it happened in the documents preview)."""
    hidden = re.compile(r"""f(["']).*\{\s*(?:_|N_|ngettext)\(\s*["']""")
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted(PACKAGE.rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             if hidden.search(line)]
    assert found == []
