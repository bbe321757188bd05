"""The PostgreSQL store: psycopg 3 with a connection pool, pgvector, full text by tsvector.

Any number of MAIA nodes can serve one database: each opens its own pool, migrations
run once under an advisory lock, and reads that feed a write lock what they read (see
``maia.store.postgres.session``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from maia.errors import Conflict, InvalidInput, MaiaError, Unavailable
from maia.store.base import Store, StoreWriter
from maia.store.postgres import vectors
from maia.store.postgres.schema import migrate
from maia.store.postgres.session import PostgresSession
from maia.store.postgres.vector_sql import VectorIndexes, build_hnsw

log = logging.getLogger(__name__)

_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(url: str) -> str:
    """``url`` (a URL or a ``key=value`` conninfo) with any password replaced by ``***``."""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{hosts}" if sep else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() == "password" for key, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="/*"
            )
    # Rebuilt by hand: urlunsplit drops an empty host ("postgresql:///db?host=/socket").
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _mapped(exc: BaseException) -> MaiaError | None:
    """A database error as MAIA's error hierarchy; None when it has no MAIA meaning."""
    if isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return Conflict(
            "a concurrent change conflicted with this one; retry", details=str(exc).strip()
        )
    if isinstance(exc, psycopg.OperationalError | PoolTimeout):
        return Unavailable(f"database is not available: {str(exc).strip()}")
    if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):
        return InvalidInput("invalid input: text must not contain NUL characters")
    return None


# Dimensions that have vectors (a scan of the table: run once, at a bulk load's end).
_STORED_DIMS = "SELECT DISTINCT dim FROM memory_vectors"
_BUILD_POLL = 1.0  # seconds between attempts while another session builds an index


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


class PostgresStore:
    """Store protocol on a PostgreSQL database (with the pgvector extension).

    ``read()`` is one ``REPEATABLE READ, READ ONLY`` transaction (every query of the
    block sees one snapshot; a ``read()`` nested in another of the same thread joins
    it). ``write()`` is one ``READ COMMITTED`` transaction, committed when the block
    ends and rolled back on any exception; reads in it that feed a change lock their
    rows. Deadlocks and serialisation failures surface as ``Conflict``, a lost or
    unreachable server as ``Unavailable``.

    Vectors of any dimension are stored in one ``vector`` column; the HNSW index of a
    dimension (cosine, ``m``/``ef_construction`` as given; up to 2,000 dimensions) is
    created when its first vector arrives. ``search_vectors`` searches it in SQL.
    ``bulk_load()`` leaves missing indexes out while many records are copied in, then
    builds them and refreshes the planner's statistics.

    ``backup`` is not supported: use ``pg_dump`` (see its docstring).
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 128,
        hnsw_ef_search: int = 100,
    ) -> None:
        self._url = url
        self._location = redact(url)
        self._timeout = connect_timeout
        self._builds: dict[int, threading.Thread] = {}
        self._building: set[psycopg.Connection[TupleRow]] = set()
        self._indexes = VectorIndexes(
            m=hnsw_m, ef_construction=hnsw_ef_construction, ef_search=hnsw_ef_search
        )
        self._local = threading.local()
        self._closed = False
        try:
            with psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(connect_timeout))
            ) as conn:
                found = migrate(conn)
                row = conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
                ).fetchone()
        except psycopg.Error as exc:
            raise Unavailable(f"cannot open database {self._location}: {str(exc).strip()}") from exc
        self._indexes.iterative_scan = _version(str(row[0]) if row else "0") >= (0, 8)
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            url,
            min_size=min_connections,
            max_size=max(max_connections, min_connections),
            kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout))},
            configure=self._configure,
            check=ConnectionPool.check_connection,
            timeout=connect_timeout,
            name="maia",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise Unavailable(f"cannot connect to database {self._location}: {exc}") from exc
        log.debug("postgres store at %s (schema version was %d)", self._location, found)

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET TIME ZONE 'UTC'")
        vectors.register(conn)

    @property
    def location(self) -> str:
        return self._location

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[TupleRow]]:
        if self._closed:
            raise Unavailable("store is closed")
        try:
            with self._pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise Unavailable(f"database is not available: {str(exc).strip()}") from exc

    @contextmanager
    def read(self) -> Iterator[PostgresSession]:
        outer: PostgresSession | None = getattr(self._local, "reader", None)
        if outer is not None:  # nested in a read of this thread: the same snapshot
            yield outer
            return
        with self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            session = PostgresSession(conn, writable=False, indexes=self._indexes)
            self._local.reader = session
            try:
                yield session
            except BaseException as exc:
                self._end(conn, session, commit=False)
                mapped = _mapped(exc)
                if mapped is None:
                    raise
                raise mapped from exc
            finally:
                self._local.reader = None
            self._end(conn, session, commit=True)

    @contextmanager
    def write(self) -> Iterator[PostgresSession]:
        with self._connection() as conn:
            conn.execute("BEGIN")
            session = PostgresSession(conn, writable=True, indexes=self._indexes)
            try:
                yield session
            except BaseException as exc:
                self._end(conn, session, commit=False)
                mapped = _mapped(exc)
                if mapped is None:
                    raise
                raise mapped from exc
            self._end(conn, session, commit=True)
            with self._indexes.lock:
                self._indexes.known |= session.created_indexes
        for dim in session.pending_builds:
            self._build_in_background(dim)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Many writes in a row (a migration, a re-embedding): a dimension's HNSW index
        that does not exist yet is built once at the end (about 1 ms of CPU a vector,
        against 7-12 ms for each insert into a live index), then ``ANALYZE`` gives the
        planner statistics of the new rows. Indexes that exist are kept up to date as
        usual. If the block fails, nothing is built: running the load again resumes it,
        and any later write of that dimension has the index built beside it."""
        with self._indexes.lock:
            self._indexes.deferred += 1
        try:
            yield
        finally:
            with self._indexes.lock:
                self._indexes.deferred -= 1
        self.build_indexes()
        with self._connection() as conn:
            conn.execute("ANALYZE")

    def build_indexes(self) -> None:
        """Builds the missing HNSW index of every dimension stored, now (waiting for
        another node's build of the same index to end first)."""
        with self._connection() as conn:
            dims = [int(row[0]) for row in conn.execute(_STORED_DIMS)]
        for dim in dims:
            if 0 < dim <= vectors.HNSW_MAX_DIM:
                self._build(dim, wait=True)

    def _build_in_background(self, dim: int) -> None:
        with self._indexes.lock:
            running = self._builds.get(dim)
            if self._closed or (running is not None and running.is_alive()):
                return
            thread = threading.Thread(
                target=self._build, args=(dim,), name=f"maia-hnsw-{dim}", daemon=True
            )
            self._builds[dim] = thread
        thread.start()

    def _build(self, dim: int, *, wait: bool = False) -> None:
        """One index build on a connection of its own (a build may take minutes; the
        pool's connections stay free for requests). Without ``wait``, returns at once
        when another session is building it."""
        started = time.monotonic()
        try:
            with psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, round(self._timeout))
            ) as conn:
                with self._indexes.lock:
                    if self._closed:
                        return
                    self._building.add(conn)
                try:
                    while not build_hnsw(conn, self._indexes, dim) and wait:
                        time.sleep(_BUILD_POLL)
                finally:
                    with self._indexes.lock:
                        self._building.discard(conn)
        except psycopg.Error as exc:
            if wait:
                mapped = _mapped(exc)
                raise (mapped or Unavailable(f"index build failed: {exc}")) from exc
            log.warning("building the vector index of dimension %d failed: %s", dim, exc)
            return
        log.info("vector index of dimension %d ready in %.1f s", dim, time.monotonic() - started)

    @staticmethod
    def _end(conn: psycopg.Connection[TupleRow], session: PostgresSession, *, commit: bool) -> None:
        """Ends the transaction, then marks its streams closed (the transaction closed them
        on the server; an abandoned iterator must never touch the connection once the pool
        gives it to another). A failed COMMIT is raised as MAIA's error; a failed ROLLBACK
        means a broken connection, which the pool discards."""
        try:
            conn.execute("COMMIT" if commit else "ROLLBACK")
        except psycopg.Error as exc:
            mapped = _mapped(exc)
            if not commit:
                return
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            session.close_cursors()

    def search_vectors(
        self,
        tenant: str,
        query: npt.ArrayLike,
        namespaces: tuple[str, ...] | None,
        include_descendants: bool,
        k: int,
        allowed_seqs: npt.ArrayLike | None,
        model_id: str,
        *,
        exact: bool = False,
        ef_search: int | None = None,
    ) -> list[tuple[int, float]]:
        """Nearest embeddings by cosine in SQL; see ``PostgresSession.search_vectors``."""
        with self.read() as tx:
            return tx.search_vectors(
                tenant,
                query,
                namespaces,
                include_descendants,
                k,
                allowed_seqs,
                model_id,
                exact=exact,
                ef_search=ef_search,
            )

    def vectors_by_seq(
        self, seqs: Sequence[int], model_id: str
    ) -> dict[int, npt.NDArray[np.float32]]:
        """The stored ``model_id`` embeddings of these keys, as float32 arrays."""
        with self.read() as tx:
            return tx.vectors_by_seq(seqs, model_id)

    def count_vectors(self, model_id: str) -> int:
        with self.read() as tx:
            return tx.count_vectors(model_id)

    def check(self) -> None:
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1 FROM schema_version LIMIT 1").fetchone()
        except MaiaError:
            raise
        except psycopg.Error as exc:
            raise Unavailable(f"database is not usable: {str(exc).strip()}") from exc

    def size_bytes(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return 0 if row is None else int(row[0])

    def backup(self, dest: Path) -> None:
        """Not supported: a PostgreSQL database is backed up with its own tools, which
        copy a consistent snapshot while it keeps serving, e.g.
        ``pg_dump --format=custom --file=maia.dump "$DATABASE_URL"`` (restore with
        ``pg_restore``), or continuous archiving. ``maia restore`` takes SQLite backups
        only. Raises ``InvalidInput`` saying so."""
        raise InvalidInput(
            "backup is not supported by the PostgreSQL store: back up the database with "
            "pg_dump (e.g. pg_dump --format=custom --file=maia.dump <database url>) "
            "and restore it with pg_restore",
            field="dest",
        )

    def close(self) -> None:
        if self._closed:
            return
        with self._indexes.lock:
            self._closed = True
            building = list(self._building)
        for conn in building:  # an unfinished concurrent build is dropped by the next
            conn.cancel_safe()
        self._pool.close()


if TYPE_CHECKING:  # mypy checks that the store and its sessions implement the protocol

    def _conforms(store: PostgresStore, session: PostgresSession) -> tuple[Store, StoreWriter]:
        return store, session
