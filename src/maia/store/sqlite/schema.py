"""Schema migrations for the SQLite store, applied in order inside one transaction each."""

from __future__ import annotations

import sqlite3

from maia.errors import Unavailable

# Each entry moves the schema from version i to i + 1. Never edit a released entry:
# append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE memories (
        seq          INTEGER PRIMARY KEY,
        id           TEXT    NOT NULL UNIQUE,
        tenant_id    TEXT    NOT NULL,
        namespace    TEXT    NOT NULL,
        content      TEXT    NOT NULL,
        type         TEXT    NOT NULL,
        metadata     TEXT,
        tags         TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        accessed_at  INTEGER NOT NULL,
        access_count INTEGER NOT NULL DEFAULT 0,
        confidence   REAL    NOT NULL,
        source       TEXT    NOT NULL
    );
    CREATE INDEX memories_by_namespace ON memories (tenant_id, namespace, created_at, seq);
    CREATE INDEX memories_by_tenant ON memories (tenant_id, created_at, seq);
    CREATE INDEX memories_by_updated ON memories (tenant_id, namespace, updated_at);

    CREATE TABLE memory_tags (
        memory_seq INTEGER NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
        tag        TEXT    NOT NULL,
        PRIMARY KEY (tag, memory_seq)
    ) WITHOUT ROWID;
    CREATE INDEX memory_tags_by_memory ON memory_tags (memory_seq);

    -- BM25 over content and tags; porter stemming on top of unicode-aware words.
    CREATE VIRTUAL TABLE memories_fts USING fts5 (
        content, tags,
        content = 'memories', content_rowid = 'seq',
        tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts (rowid, content, tags) VALUES (new.seq, new.content, new.tags);
    END;
    CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content, tags)
        VALUES ('delete', old.seq, old.content, old.tags);
    END;
    CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, tags ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content, tags)
        VALUES ('delete', old.seq, old.content, old.tags);
        INSERT INTO memories_fts (rowid, content, tags) VALUES (new.seq, new.content, new.tags);
    END;

    CREATE TABLE namespaces (
        seq        INTEGER PRIMARY KEY,
        id         TEXT    NOT NULL UNIQUE,
        tenant_id  TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        parent     TEXT,
        template   TEXT,
        config     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (tenant_id, name)
    );
    """,
    # 2: embeddings next to their memory, typed relations, and a small key/value table.
    """
    CREATE TABLE memory_vectors (
        memory_seq INTEGER PRIMARY KEY REFERENCES memories (seq) ON DELETE CASCADE,
        model_id   TEXT    NOT NULL,
        dim        INTEGER NOT NULL,
        vector     BLOB    NOT NULL
    );
    CREATE INDEX memory_vectors_by_model ON memory_vectors (model_id);

    CREATE TABLE relations (
        tenant_id  TEXT    NOT NULL,
        source_id  TEXT    NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        target_id  TEXT    NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        type       TEXT    NOT NULL,
        weight     REAL    NOT NULL,
        metadata   TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (source_id, target_id, type)
    );
    CREATE INDEX relations_by_target ON relations (target_id, type);
    CREATE INDEX relations_by_type ON relations (tenant_id, type);

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Bumped with every vector change, so a saved ANN index knows when it is stale.
    INSERT INTO meta (key, value) VALUES ('vector_generation', '0');
    CREATE TRIGGER memory_vectors_generation_insert AFTER INSERT ON memory_vectors BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vector_generation';
    END;
    CREATE TRIGGER memory_vectors_generation_update AFTER UPDATE ON memory_vectors BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vector_generation';
    END;
    CREATE TRIGGER memory_vectors_generation_delete AFTER DELETE ON memory_vectors BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vector_generation';
    END;
    """,
    # 3: token count of the content, taken at write time (NULL: not counted yet).
    """
    ALTER TABLE memories ADD COLUMN token_count INTEGER;
    """,
    # 4: tenants, API keys (SHA-256 only) and per-tenant usage kept by triggers, so a
    # quota check reads one row instead of scanning the tenant's memories.
    """
    CREATE TABLE tenants (
        id         TEXT    PRIMARY KEY,
        name       TEXT    NOT NULL UNIQUE,
        plan       TEXT    NOT NULL,
        status     TEXT    NOT NULL,
        config     TEXT    NOT NULL,
        quotas     TEXT    NOT NULL,
        metadata   TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );

    CREATE TABLE api_keys (
        key_hash          TEXT    PRIMARY KEY,
        tenant_id         TEXT    NOT NULL,
        name              TEXT    NOT NULL,
        scopes            TEXT    NOT NULL,
        namespaces        TEXT    NOT NULL,
        default_namespace TEXT,
        expires_at        INTEGER,
        created_at        INTEGER NOT NULL,
        last_used_at      INTEGER,
        revoked_at        INTEGER,
        metadata          TEXT
    );
    CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

    CREATE TABLE tenant_usage (
        tenant_id     TEXT    PRIMARY KEY,
        memory_count  INTEGER NOT NULL DEFAULT 0,
        storage_bytes INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO tenant_usage (tenant_id, memory_count, storage_bytes)
        SELECT tenant_id, count(*),
               sum(length(CAST(content AS BLOB))
                   + coalesce(length(CAST(metadata AS BLOB)), 0)
                   + coalesce(length(CAST(tags AS BLOB)), 0))
        FROM memories GROUP BY tenant_id;
    CREATE TRIGGER tenant_usage_insert AFTER INSERT ON memories BEGIN
        INSERT INTO tenant_usage (tenant_id, memory_count, storage_bytes)
        VALUES (new.tenant_id, 1, length(CAST(new.content AS BLOB))
                + coalesce(length(CAST(new.metadata AS BLOB)), 0)
                + coalesce(length(CAST(new.tags AS BLOB)), 0))
        ON CONFLICT (tenant_id) DO UPDATE SET
            memory_count = memory_count + 1,
            storage_bytes = storage_bytes + excluded.storage_bytes;
    END;
    CREATE TRIGGER tenant_usage_delete AFTER DELETE ON memories BEGIN
        UPDATE tenant_usage SET
            memory_count = memory_count - 1,
            storage_bytes = storage_bytes - (length(CAST(old.content AS BLOB))
                + coalesce(length(CAST(old.metadata AS BLOB)), 0)
                + coalesce(length(CAST(old.tags AS BLOB)), 0))
        WHERE tenant_id = old.tenant_id;
    END;
    CREATE TRIGGER tenant_usage_update AFTER UPDATE OF content, metadata, tags ON memories BEGIN
        UPDATE tenant_usage SET
            storage_bytes = storage_bytes
                + (length(CAST(new.content AS BLOB))
                   + coalesce(length(CAST(new.metadata AS BLOB)), 0)
                   + coalesce(length(CAST(new.tags AS BLOB)), 0))
                - (length(CAST(old.content AS BLOB))
                   + coalesce(length(CAST(old.metadata AS BLOB)), 0)
                   + coalesce(length(CAST(old.tags AS BLOB)), 0))
        WHERE tenant_id = new.tenant_id;
    END;
    """,
    # v5: a namespace's memories of one type, in time order (the working memories every
    # context includes, without scanning the namespace).
    """
    CREATE INDEX memories_by_type ON memories (tenant_id, namespace, type, created_at, seq);
    """,
    # v6: a relation's metadata counts in its tenant's storage too (it is the tenant's
    # data, and was a way around the quota). Relations of a deleted memory go by cascade,
    # which fires the delete trigger; ``put_edge`` upserts, so a replaced edge fires the
    # update trigger (INSERT OR REPLACE would fire no delete trigger).
    """
    INSERT INTO tenant_usage (tenant_id, memory_count, storage_bytes)
        SELECT tenant_id, 0, sum(length(CAST(metadata AS BLOB)))
        FROM relations WHERE metadata IS NOT NULL GROUP BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET
            storage_bytes = storage_bytes + excluded.storage_bytes;
    CREATE TRIGGER tenant_usage_relation_insert AFTER INSERT ON relations
    WHEN new.metadata IS NOT NULL BEGIN
        INSERT INTO tenant_usage (tenant_id, memory_count, storage_bytes)
        VALUES (new.tenant_id, 0, length(CAST(new.metadata AS BLOB)))
        ON CONFLICT (tenant_id) DO UPDATE SET
            storage_bytes = storage_bytes + excluded.storage_bytes;
    END;
    CREATE TRIGGER tenant_usage_relation_delete AFTER DELETE ON relations
    WHEN old.metadata IS NOT NULL BEGIN
        UPDATE tenant_usage SET storage_bytes = storage_bytes - length(CAST(old.metadata AS BLOB))
        WHERE tenant_id = old.tenant_id;
    END;
    CREATE TRIGGER tenant_usage_relation_update AFTER UPDATE OF tenant_id, metadata ON relations
    BEGIN
        UPDATE tenant_usage
        SET storage_bytes = storage_bytes - coalesce(length(CAST(old.metadata AS BLOB)), 0)
        WHERE tenant_id = old.tenant_id;
        INSERT INTO tenant_usage (tenant_id, memory_count, storage_bytes)
        VALUES (new.tenant_id, 0, coalesce(length(CAST(new.metadata AS BLOB)), 0))
        ON CONFLICT (tenant_id) DO UPDATE SET
            storage_bytes = storage_bytes + excluded.storage_bytes;
    END;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Brings the database to ``SCHEMA_VERSION``; returns the version it found."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = current_version(conn)
        if found > SCHEMA_VERSION:
            raise Unavailable(
                f"database schema version {found} is newer than this MAIA "
                f"(knows up to {SCHEMA_VERSION}); upgrade MAIA"
            )
        for version in range(found, SCHEMA_VERSION):
            # executescript would commit; run the statements one by one instead.
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """Splits a script into complete statements (triggers contain semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
