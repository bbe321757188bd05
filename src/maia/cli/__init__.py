"""The ``maia`` command."""

from maia.cli.main import app, maiactl, main

__all__ = ["app", "maiactl", "main"]
