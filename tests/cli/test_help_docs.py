"""docs/cli.md shows the real ``--help`` of every command (regenerate with
``python -m tests.cli.regen_help``, or run this test with ``UPDATE_DOCS=1``)."""

from __future__ import annotations

import difflib
import os

from tests.cli import regen_help


def test_help_reference_is_current() -> None:
    if os.environ.get("UPDATE_DOCS"):
        regen_help.write()
    documented = regen_help.current(regen_help.DOC.read_text(encoding="utf-8"))
    assert documented is not None, f"docs/cli.md lacks the {regen_help.START!r} section"
    expected = regen_help.reference()
    if documented != expected:
        diff = "\n".join(
            difflib.unified_diff(
                documented.splitlines(),
                expected.splitlines(),
                "docs/cli.md",
                "maia --help",
                lineterm="",
                n=1,
            )
        )
        raise AssertionError(
            "docs/cli.md's help reference is out of date: run "
            "`.venv/bin/python -m tests.cli.regen_help` (or UPDATE_DOCS=1 pytest "
            f"tests/cli/test_help_docs.py) and review the diff:\n{diff[:4000]}"
        )


def test_every_visible_command_has_a_snapshot() -> None:
    names = {" ".join(("maia", *path)) for path in regen_help.command_paths()}
    assert {"maia", "maia memory create", "maia namespace update", "maia stats"} <= names
    assert "maia mem" not in names  # aliases are hidden; the docs list them
