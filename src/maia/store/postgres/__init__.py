"""The PostgreSQL store (``pip install 'maia[postgres]'``): psycopg 3, pgvector, tsvector."""

from maia.store.postgres.store import PostgresStore, redact

__all__ = ["PostgresStore", "redact"]
