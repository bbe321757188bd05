"""The ``maia`` command."""

from maia.cli.main import app, main

__all__ = ["app", "main"]
