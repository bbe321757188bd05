"""Backup and restore of the SQLite database file, with SQLite's online backup API.

A backup reads one snapshot through its own connection (WAL: writers go on meanwhile),
writes it to a temporary file next to the destination, switches the copy to a rollback
journal (one self-contained file), checks it and renames it into place. The vector
index is not copied: it is derived data, rebuilt when the restored store opens.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from maia.errors import InvalidInput
from maia.store.sqlite import inuse
from maia.store.sqlite.schema import SCHEMA_VERSION
from maia.store.sqlite.store import DATABASE_FILE

# Files of a data directory that belong to the database or are derived from it.
_DERIVED = ("vectors.usearch", "vectors.json")


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


def check_database(path: Path) -> int:
    """Verifies a MAIA database file (``PRAGMA integrity_check``, a schema this MAIA can
    open); returns its schema version. Raises ``InvalidInput`` naming the problem."""
    if not path.is_file():
        raise InvalidInput(f"invalid source: not a file: {path}", field="source")
    try:
        with _connect(path, read_only=True) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                shown = "; ".join(problems[:5])
                raise InvalidInput(
                    f"invalid source: {path} fails the integrity check: {shown}", field="source"
                )
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not {"schema_version", "memories", "namespaces"} <= tables:
                raise InvalidInput(f"invalid source: {path} is not a MAIA database", field="source")
            version = int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(
            f"invalid source: {path} is not a readable SQLite database: {exc}", field="source"
        ) from exc
    if version > SCHEMA_VERSION:
        raise InvalidInput(
            f"invalid source: {path} has schema version {version}, newer than this MAIA "
            f"(knows up to {SCHEMA_VERSION}); upgrade MAIA",
            field="source",
        )
    return version


def backup_database(source: Path, dest: Path, *, overwrite: bool = False) -> None:
    """Copies the database ``source`` (which may be in use, by this process or another)
    to the single file ``dest``, consistently. Refuses an existing ``dest`` unless
    ``overwrite``."""
    if not source.is_file():
        raise InvalidInput(f"invalid source: no database at {source}", field="source")
    if dest.is_dir():
        raise InvalidInput(f"invalid destination: {dest} is a directory", field="dest")
    if dest.exists() and not overwrite:
        raise InvalidInput(
            f"invalid destination: {dest} exists (pass --force to replace it)", field="dest"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with _connect(source, read_only=True) as src, _connect(tmp, read_only=False) as out:
            # pages=-1: the whole database in one step, from one read snapshot.
            src.backup(out, pages=-1)
            out.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in out.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise InvalidInput(
                    f"invalid source: the copy of {source} fails the integrity check: "
                    + "; ".join(problems[:5]),
                    field="source",
                )
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise InvalidInput(f"cannot back up {source} to {dest}: {exc}", field="dest") from exc
    finally:
        tmp.unlink(missing_ok=True)


def restore_database(source: Path, data_dir: Path, *, force: bool = False) -> Path:
    """Checks the backup ``source`` and makes it the database of ``data_dir``; returns
    the database path. Refuses a non-empty ``data_dir`` unless ``force``, which replaces
    its database and drops the derived vector index. Stop any server using
    ``data_dir`` first."""
    check_database(source)
    if data_dir.exists() and not data_dir.is_dir():
        raise InvalidInput(f"invalid data directory: {data_dir} is a file", field="data_dir")
    if data_dir.is_dir() and any(data_dir.iterdir()) and not force:
        raise InvalidInput(
            f"invalid data directory: {data_dir} is not empty (pass --force to replace "
            "its database)",
            field="data_dir",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / DATABASE_FILE
    staged = data_dir / f".{DATABASE_FILE}.restore"
    with inuse.exclusively(target):
        backup_database(source, staged, overwrite=True)
        # A WAL or index left from the old database must not be applied to the new one;
        # what a WAL holds goes into the old database first, so that nothing of it is
        # lost should the restore stop before the swap.
        _checkpoint(target)
        for name in (f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm", *_DERIVED):
            (data_dir / name).unlink(missing_ok=True)
        os.replace(staged, target)
    return target


def _checkpoint(database: Path) -> None:
    """Moves the writes a WAL beside ``database`` holds into it (a server killed without
    closing leaves committed writes there)."""
    if not database.exists():
        return
    try:
        with _connect(database, read_only=False) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass  # not a database SQLite can open: nothing of it can be kept
