"""How the client commands print: tables, key/value blocks, dates, sizes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


def console() -> Console:
    """stdout; no highlighting, so what is printed is what the server sent. Piped output
    has no terminal to fit: tables get room for full ids and contents."""
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 160)
    return out


# SIMPLE_HEAD with a rule of ASCII dashes: a header row, then a row of dashes (the
# original CLI's tables, which scripts may split on).
_DASHED_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def table(*columns: str, flexible: str | None = None) -> Table:
    """A plain table: a header row, a row of dashes, then the rows. ``flexible`` names
    the one column that shrinks (with an ellipsis) when the terminal is narrow."""
    grid = Table(box=_DASHED_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in columns:
        if name == flexible:
            grid.add_column(name, overflow="ellipsis", no_wrap=True, ratio=1)
        else:
            grid.add_column(name, no_wrap=True)
    return grid


def cell(value: object) -> Text:
    """Text as it is: brackets are not markup."""
    return Text(str(value))


def short_id(value: str) -> str:
    """An id as the original CLI's tables show it: 8 characters and ``...``."""
    return value if len(value) <= 11 else value[:8] + "..."


def clip(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def minute(value: datetime) -> str:
    """``YYYY-MM-DD hh:mm`` (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M")


def second(value: datetime) -> str:
    """``YYYY-MM-DD hh:mm:ss UTC``."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def human_bytes(size: int) -> str:
    """``512 B``, ``40.0 KiB``, ``1.2 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def key_values(out: Console, rows: Iterable[tuple[str, object]], *, indent: str = "") -> None:
    """``Key:   value`` lines, values aligned."""
    pairs = list(rows)
    width = max((len(key) for key, _ in pairs), default=0) + 1
    for key, value in pairs:
        out.print(Text(f"{indent}{key + ':':<{width}} {value}"), soft_wrap=True)
