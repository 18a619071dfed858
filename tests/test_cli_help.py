"""Every command's --help shows what its help texts say: no text swallowed as markup, no value promised to a flag."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from graphlinker.cli.app import app


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "graphlinker" for p, _ in COMMANDS])
def test_square_brackets_in_help_texts_are_shown_not_read_as_markup(path, command):
    """Rich reads ``[name]`` as a style tag and drops it ('graphlinker[spark]' became 'graphlinker'): write ``\\[``."""
    shown = " ".join(_help(path).split())
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    for text in texts:
        for bracketed in re.findall(r"\\?\[[^\]\s]*\]", text):
            assert bracketed.lstrip("\\") in shown, f"{bracketed} of {text!r} is missing from the help"


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "graphlinker" for p, _ in COMMANDS])
def test_flags_show_no_value_placeholder(path, command):
    """``--flagged-only <bool>`` reads as if it took a value; ``--flagged-only true`` then takes 'true' as INPUT_DIR."""
    shown = _help(path)
    flags = [p.opts[0] for p in command.params if getattr(p, "is_flag", False) and p.opts[0] != "--help"]
    for flag in flags:
        line = next(line for line in shown.splitlines() if f" {flag} " in line)
        assert "<bool>" not in line, line


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "graphlinker" for p, _ in COMMANDS])
def test_help_option_shows_no_value_placeholder(path, command):
    """typer builds ``--help`` itself and gave it ``<bool>`` as well (``graphlinker.cli.common.App`` clears it)."""
    line = next(line for line in _help(path).splitlines() if " --help " in line)
    assert "<bool>" not in line and "Show this message and exit." in line, line
