"""The `maia` command in-process (Typer's runner)."""

from __future__ import annotations

from typer.testing import CliRunner

from maia import __version__
from maia.cli import app


def test_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"maia {__version__}"


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "version"):
        assert command in result.stdout
