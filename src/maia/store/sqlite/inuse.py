"""Whether a database file is open somewhere: each open store holds a shared lock on a
file beside the database for as long as it is open, and replacing the database (a
restore) needs that lock exclusively. Several stores may share a database (a server
and ``maia import``); none may have it replaced under them, or what they write next
lands in a file nobody reads again.

Advisory ``flock`` locks, released by the system when a process dies; where there is
no ``fcntl`` (Windows) nothing is checked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from maia.errors import Conflict

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def hold_shared(database: Path) -> int | None:
    """Marks ``database`` as open until ``release``; returns the handle to release."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    try:
        handle = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a read-only directory: SQLite will say what it can do there
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)  # waits only while a restore runs
    except OSError:
        os.close(handle)
        return None
    return handle


def release(handle: int | None) -> None:
    if handle is not None:
        os.close(handle)  # closing the descriptor releases its lock


@contextlib.contextmanager
def exclusively(database: Path) -> Iterator[None]:
    """Holds ``database`` for replacing it; ``Conflict`` if any store has it open."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"the database {database} is open (a running server or another process): "
                "stop it first"
            ) from None
        yield
    finally:
        os.close(handle)
