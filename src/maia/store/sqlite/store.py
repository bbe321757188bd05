"""The embedded SQLite store: one file, WAL, one writer behind a lock, a reader per thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from maia.errors import Unavailable
from maia.store.base import StoreReader, StoreWriter
from maia.store.sqlite import inuse
from maia.store.sqlite.schema import migrate
from maia.store.sqlite.session import SQLiteSession

log = logging.getLogger(__name__)

DATABASE_FILE = "maia.db"
BUSY_TIMEOUT_MS = 30_000  # how long a write waits for another process's lock


class SQLiteStore:
    """Store protocol on one SQLite database file.

    Writes are serialised by a lock on the single writer connection and run as
    ``BEGIN IMMEDIATE`` transactions; reads use one connection per thread and, thanks
    to WAL, never wait for the writer.
    """

    def __init__(
        self, path: Path | str, *, synchronous: Literal["full", "normal"] = "full"
    ) -> None:
        self._path = Path(path)
        self._synchronous = synchronous.upper()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(
                f"cannot create the data directory {self._path.parent}: {exc.strerror or exc}"
            ) from exc
        self._in_use = inuse.hold_shared(self._path)  # no restore while this is open
        self._write_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        # Each reader with the thread it belongs to (closed once that thread has ended).
        self._readers: dict[sqlite3.Connection, threading.Thread] = {}
        self._local = threading.local()
        self._closed = False
        self._writer = self._connect()
        found = migrate(self._writer)
        log.debug("sqlite store at %s (schema version was %d)", self._path, found)

    @classmethod
    def in_dir(
        cls, data_dir: Path | str, *, synchronous: Literal["full", "normal"] = "full"
    ) -> SQLiteStore:
        return cls(Path(data_dir) / DATABASE_FILE, synchronous=synchronous)

    @property
    def location(self) -> str:
        return str(self._path)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot open database {self._path}: {exc}") from exc
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise Unavailable("store is closed")
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                if self._closed:  # closed while this connection was being opened
                    conn.close()
                    self._local.conn = None
                    raise Unavailable("store is closed")
                # Threads come and go (worker pools, streaming exports): a finished
                # thread's connection would stay open for the store's lifetime.
                for old, thread in list(self._readers.items()):
                    if not thread.is_alive():
                        old.close()
                        del self._readers[old]
                self._readers[conn] = threading.current_thread()
        return conn

    @contextmanager
    def read(self) -> Iterator[StoreReader]:
        if self._closed:  # this thread's reader may still be cached, but closed
            raise Unavailable("store is closed")
        conn = self._reader()
        depth: int = getattr(self._local, "depth", 0)
        # One read transaction: every query in the block sees the same snapshot.
        if depth == 0:
            conn.execute("BEGIN")
        self._local.depth = depth + 1
        try:
            yield SQLiteSession(conn)
        finally:
            self._local.depth = depth
            if depth == 0:
                conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[StoreWriter]:
        with self._write_lock:
            if self._closed:
                raise Unavailable("store is closed")
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # another process kept the lock too long
                raise Unavailable(f"the database is busy: {exc}") from exc
            try:
                yield SQLiteSession(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def check(self) -> None:
        try:
            self._reader().execute("SELECT 1 FROM schema_version LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise Unavailable(f"database is not usable: {exc}") from exc

    def size_bytes(self) -> int:
        files = (self._path, Path(f"{self._path}-wal"), Path(f"{self._path}-shm"))
        return sum(f.stat().st_size for f in files if f.exists())

    def backup(self, dest: Path) -> None:
        from maia.store.sqlite.backup import backup_database  # it imports this module

        if self._closed:
            raise Unavailable("store is closed")
        backup_database(self._path, Path(dest))

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Nothing to defer: SQLite keeps no derived index that is cheaper built at once
        (the vector index lives in the engine, which builds it from the stored
        embeddings), and the plans of its hot queries do not depend on statistics."""
        yield

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._writer.close()
            inuse.release(self._in_use)
