"""Which store a deployment runs on: the embedded SQLite file, or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from maia.errors import InvalidInput, Unavailable
from maia.settings import POSTGRES_PREFIXES, Settings
from maia.store.base import Store
from maia.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from maia.store.postgres import PostgresStore


def is_database_url(location: str) -> bool:
    return location.startswith(POSTGRES_PREFIXES)


def check_location(location: str) -> None:
    """A data directory or a PostgreSQL URL; any other URL scheme is a mistake."""
    if "://" in location and not is_database_url(location):
        raise InvalidInput(
            f"invalid location: unsupported database URL scheme in {location!r}; give a "
            "data directory path or a postgresql:// URL",
            field="location",
        )


def open_store(settings: Settings) -> Store:
    """PostgreSQL when ``database_url`` is set, else SQLite in ``data_dir``."""
    if settings.database_url is not None and settings.database_url.get_secret_value():
        return open_postgres(settings.database_url.get_secret_value(), settings)
    return SQLiteStore.in_dir(settings.data_dir, synchronous=settings.sqlite_synchronous)


def open_location(location: str, settings: Settings) -> Store:
    """The store at a data directory or a PostgreSQL URL (``maia migrate``'s ends)."""
    check_location(location)
    if is_database_url(location):
        return open_postgres(location, settings)
    return SQLiteStore.in_dir(Path(location).expanduser(), synchronous=settings.sqlite_synchronous)


def open_postgres(url: str, settings: Settings) -> PostgresStore:
    try:
        from maia.store.postgres import PostgresStore
    except ImportError as exc:  # the extra is not installed
        raise Unavailable(
            "PostgreSQL support is not installed: pip install 'maia[postgres]'"
        ) from exc
    return PostgresStore(
        url,
        min_connections=settings.postgres_pool_min,
        max_connections=settings.postgres_pool_max,
        hnsw_m=settings.postgres_hnsw_m,
        hnsw_ef_construction=settings.postgres_hnsw_ef_construction,
        hnsw_ef_search=settings.postgres_ef_search,
    )
