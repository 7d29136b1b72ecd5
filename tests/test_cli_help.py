"""The help reads like a well-kept CLI's, in English and in French: no type tags, whole
paragraphs, an example at the end of every command's help, `--version`, shell completion that
installs and answers. Each test names the defect of issue 11 it guards against."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import msante
from msante import i18n
from msante.errors import ExitCode
from tests.test_i18n import _drop_cli_modules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = {"en": "Example: msante", "fr": "Exemple\u202f: msante"}
# What Typer 0.29 printed after every option, and what a type would look like in either language.
TYPE_TAG = re.compile(r"<(?:str|int|bool|boolean|float|path|file|dir|datetime|uuid|texte|"
                      r"entier|booléen|nombre|chemin|fichier|dossier|date-heure)[^>]*>")


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, as the words that name it ("doc", "list")."""
    import typer

    from msante.cli.app import build

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(build([])), ()))


@functools.cache
def _rendered(lang: str) -> dict[tuple[str, ...], str]:
    """The rendered --help of every command in `lang`, at 200 columns: once per language and
    test process (about 80 helps; the four tests below and their parameters share them)."""
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "200")
        for var in ("FORCE_COLOR", "PY_COLORS", "TERMINAL_WIDTH"):
            patch.delenv(var, raising=False)
        _drop_cli_modules()
        from msante.cli.main import main

        try:
            for path in _command_paths():
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    code = main(["--lang", lang, *path, "--help"])
                assert code == ExitCode.OK, path
                out[path] = buffer.getvalue()
        finally:
            _drop_cli_modules()
            i18n.setup("en")
    return out


@pytest.fixture(params=["en", "fr"])
def helps(request: pytest.FixtureRequest) -> tuple[str, dict[tuple[str, ...], str]]:
    """(language, the rendered --help of every command in that language)."""
    lang = str(request.param)
    return lang, _rendered(lang)


def _option_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"│\s*\*?\s*--", line)]


def test_no_type_tags_in_any_help(helps: tuple[str, dict[tuple[str, ...], str]]) -> None:
    """Typer printed `--json <bool>` (as if it took a value) and `<str>` after every option:
    no command's help shows a type tag now, and a flag shows nothing between name and help."""
    lang, out = helps
    assert len(out) > 60
    for path, text in out.items():
        assert not TYPE_TAG.search(text), (lang, path, TYPE_TAG.search(text))
        for row in _option_rows(text):
            if "--json " in row:
                assert re.search(r"--json\s+(Print JSON|Afficher du JSON)", row), row


def test_options_that_take_a_value_say_so(helps: tuple[str, dict[tuple[str, ...], str]]) -> None:
    """Without type tags, an option that takes a value still shows a word for it."""
    lang, out = helps
    words = {"en": ("INTEGER", "TEXT", "PATH"), "fr": ("ENTIER", "TEXTE", "CHEMIN")}[lang]
    assert re.search(rf"--limit\s+{words[0]}\s", out[("doc", "list")])
    assert re.search(rf"--person\s+{words[1]}\s", out[("doc", "list")])
    assert re.search(rf"--out\s+-o\s+{words[2]}\s", out[("fhir", "export")])


def test_every_help_ends_with_an_example(helps: tuple[str, dict[tuple[str, ...], str]]) -> None:
    """STYLE (sqlite-utils): each command's and group's help ends with an example, in French
    too — the groups and the root had none."""
    lang, out = helps
    for path, text in out.items():
        lines = [line.strip() for line in text.split("╭")[0].splitlines() if line.strip()]
        last = lines[-1]
        assert last.startswith(EXAMPLE[lang]), (lang, path, last)


@pytest.mark.parametrize(("path", "sentence"), [
    (("remind",), {"en": "made for cron or a login script.",
                   "fr": "conçu pour cron ou un script de connexion."}),
    (("fhir", "export"), {"en": "A stored code that FHIR R4 refuses is left out",
                          "fr": "Un code enregistré que FHIR R4 refuse est omis (le texte"}),
])
def test_help_paragraphs_are_not_broken(helps: tuple[str, dict[tuple[str, ...], str]],
                                        path: tuple[str, ...], sentence: dict[str, str]) -> None:
    """`remind -h` and `fhir export -h` broke sentences where the docstring's lines ended."""
    lang, out = helps
    assert sentence[lang] in out[path]


def test_every_help_paragraph_is_one_line_before_the_terminal_wraps_it() -> None:
    """The rule behind the test above, for every command: a help paragraph holds no line
    break of its own (in both languages), so only the terminal's width wraps it."""
    import typer

    from msante.cli.app import build
    from msante.cli.framework import translate_tree

    for lang in ("en", "fr"):
        i18n.setup(lang)
        _drop_cli_modules()
        command = typer.main.get_command(build([]))
        translate_tree(command)
        stack = [command]
        while stack:
            cmd = stack.pop()
            stack += list(getattr(cmd, "commands", {}).values())
            for paragraph in (cmd.help or "").split("\n\n"):
                assert "\n" not in paragraph, (lang, cmd.name, paragraph)
    _drop_cli_modules()
    i18n.setup("en")


def test_version() -> None:
    """`msante --version` existed nowhere; it prints the package version, exit 0."""
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert version and msante.__version__ == version.group(1)
    r = _run("--version")
    assert (r.returncode, r.stdout) == (0, f"msante {msante.__version__}\n")
    assert _run("--lang", "fr", "--help").stdout.count("Afficher la version et quitter.") == 1


def _run(*args: str, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msante", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


def _home_env(home: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, HOME=str(home), **extra)


@pytest.mark.parametrize(("shell", "script", "rc"), [
    ("bash", ".bash_completions/msante.sh", ".bashrc"),
    ("zsh", ".zfunc/_msante", ".zshrc"),
    ("fish", ".config/fish/completions/msante.fish", None),
])
def test_install_completion_writes_the_script(tmp_path: Path, shell: str, script: str,
                                              rc: str | None) -> None:
    """Completion was turned off; `msante --install-completion SHELL` writes the script that
    calls msante back (and the line that loads it), and says where, in French too. (Typer's
    option is a flag: the shell named after it was ignored and the detected one installed.)"""
    r = _run("--lang", "fr", "--install-completion", shell, env=_home_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert f"Complétion pour {shell} installée dans {tmp_path / script}" in r.stdout
    assert "_MSANTE_COMPLETE" in (tmp_path / script).read_text()
    if rc:
        assert (tmp_path / rc).is_file()


def test_install_completion_detects_the_shell(tmp_path: Path) -> None:
    """Without a shell named, the running shell is detected (here bash runs msante)."""
    env = dict(os.environ, HOME=str(tmp_path))
    command = " ".join([sys.executable, "-m", "msante", "--install-completion"])
    r = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / ".bash_completions" / "msante.sh").is_file()


def test_install_completion_refuses_an_unknown_shell(tmp_path: Path) -> None:
    """An unsupported shell is a usage error (exit 2) that names the supported ones."""
    r = _run("--install-completion", "tcsh", env=_home_env(tmp_path))
    assert r.returncode == ExitCode.USAGE
    assert "bash, zsh and fish" in r.stderr and not (tmp_path / ".bashrc").exists()


def test_show_completion_prints_the_named_shells_script(tmp_path: Path) -> None:
    """`--show-completion fish` prints fish's script (not the detected shell's), writes nothing."""
    r = _run("--show-completion", "fish", env=_home_env(tmp_path))
    assert r.returncode == 0 and r.stdout.startswith("complete --command msante")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def msante_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has an `msante` running this tree (as the script calls it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "msante"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m msante "$@"\n')
    launcher.chmod(0o755)
    return _home_env(tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_bash_completion_completes_commands_and_options(msante_on_path: dict[str, str],
                                                        tmp_path: Path) -> None:
    """The installed bash script, sourced in a real bash, completes `msante do` to `doc` and
    `msante doc list --li` to `--limit`."""
    assert _run("--install-completion", "bash", env=msante_on_path).returncode == 0
    script = tmp_path / ".bash_completions" / "msante.sh"
    probe = (f"source '{script}'; COMP_WORDS=(msante do); COMP_CWORD=1; "
             "_msante_completion msante; echo \"${COMPREPLY[@]}\"; "
             "COMP_WORDS=(msante doc list --li); COMP_CWORD=3; "
             "_msante_completion msante; echo \"${COMPREPLY[@]}\"")
    r = subprocess.run(["bash", "-c", probe], env=msante_on_path, capture_output=True,
                       text=True, timeout=120)
    assert r.stdout.split("\n")[:2] == ["doc", "--limit"], r.stderr


@pytest.mark.parametrize(("shell", "env", "expected"), [
    ("zsh", {"_TYPER_COMPLETE_ARGS": "msante agenda d"}, ['"done":', '"due":']),
    ("fish", {"_TYPER_COMPLETE_ARGS": "msante ag", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
     ["agenda\t"]),
])
def test_zsh_and_fish_completion_answer(msante_on_path: dict[str, str], shell: str,
                                        env: dict[str, str], expected: list[str]) -> None:
    """What the zsh and fish scripts ask msante (their shells are not installed here)."""
    if shutil.which(shell):
        assert _run("--install-completion", shell, env=msante_on_path).returncode == 0
    r = subprocess.run(["msante"], env=msante_on_path | env | {"_MSANTE_COMPLETE":
                                                               f"complete_{shell}"},
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    for words in expected:
        assert words in r.stdout
