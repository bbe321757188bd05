"""Short names for commands (``maia m ls``), resolved by their group: they run the
command itself, cost nothing to build and stay out of ``--help``."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


def alias_group(aliases: dict[str, str]) -> type[TyperGroup]:
    """A group class in which each key of ``aliases`` also names the command it maps to."""

    class AliasGroup(TyperGroup):
        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            return super().get_command(ctx, aliases.get(cmd_name, cmd_name))

    return AliasGroup
