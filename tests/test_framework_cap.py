"""The CLI patches private parts of Typer (msante/cli/framework.py): its vendored Click, the
globals of `rich_utils`, its completion installer. pyproject.toml caps Typer to the versions
whose internals these are; these tests fail when the installed Typer leaves the cap or moves a
piece the patches rely on (test_i18n.py checks what the patches say)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _typer_requirement() -> Requirement:
    text = (ROOT / "pyproject.toml").read_text()
    line = re.search(r'^\s*"(typer[^"]*)",', text, re.M)
    assert line, "typer is no longer a dependency in pyproject.toml"
    return Requirement(line.group(1))


def test_typer_has_an_upper_bound_and_the_installed_one_is_inside() -> None:
    """No open-ended Typer: an upgrade must be a deliberate change of the cap."""
    import typer

    spec = _typer_requirement().specifier
    assert any(s.operator in ("<", "<=", "==", "~=") for s in spec), str(spec)
    assert Version(typer.__version__) in spec, (
        f"Typer {typer.__version__} is installed but pyproject.toml asks {spec}: reinstall "
        "(make) or review msante/cli/framework.py before moving the cap")


def test_the_internals_the_patches_use_are_there() -> None:
    """Every private name framework.py touches, so a moved one fails here, not at a user's."""
    from typer import _completion_shared, core, rich_utils
    from typer._click import decorators, exceptions, formatting

    assert callable(formatting.HelpFormatter.write_usage)
    assert callable(decorators.option)
    assert callable(core.TyperCommand.format_help) and callable(core.TyperGroup.format_help)
    assert issubclass(exceptions.NoArgsIsHelpError, exceptions.UsageError)
    for name in ("ARGUMENTS_PANEL_TITLE", "OPTIONS_PANEL_TITLE", "COMMANDS_PANEL_TITLE",
                 "ERRORS_PANEL_TITLE", "ABORTED_TEXT", "DEFAULT_STRING", "REQUIRED_LONG_STRING",
                 "ENVVAR_STRING", "DEPRECATED_STRING"):
        assert isinstance(getattr(rich_utils, name), str), name
    assert any("(?P<usage>" in h for h in rich_utils.highlighter.highlights)
    assert callable(_completion_shared.install) and callable(_completion_shared._get_shell_name)


def test_parameters_expose_what_the_placeholders_read() -> None:
    """set_placeholder reads a parameter's kind, flag-ness and type name."""
    import typer

    app = typer.Typer()

    @app.command()
    def cmd(name: str, limit: int = 1, json_: bool = typer.Option(False, "--json")) -> None:
        """A command."""

    params = {p.name: p for p in typer.main.get_command(app).params}
    assert params["name"].param_type_name == "argument" and params["name"].type.name == "str"
    assert params["limit"].type.name == "int" and not params["limit"].is_flag
    assert params["json_"].is_flag


def test_a_command_runs_without_pydantic() -> None:
    """The reason for the cap: Typer 0.29 built pydantic validators for every parameter,
    which was most of `msante status`'s start-up (issue 11, part 9)."""
    code = ("import sys; from msante.cli.main import main; main(['status', '--json']); "
            "print('pydantic' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "False", r.stderr
