"""Schema migrations for the PostgreSQL store, applied in order under an advisory lock.

Several MAIA nodes may start at once against one database: each takes the session-level
advisory lock ``MIGRATION_LOCK`` before it reads ``schema_version``, so exactly one of
them migrates and the others find the schema current. Each migration runs in one
transaction with the version row it adds.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from maia.errors import Unavailable

# pg_advisory_lock keys (one 64-bit space per database): migrations, and the lazy
# creation of an HNSW index per vector dimension (two-argument form, dimension second).
MIGRATION_LOCK = 0x6D616961_0001  # "maia" + 1
HNSW_LOCK_CLASS = 0x6D616962  # "maib"

# Bytes a memory counts in tenant_usage: UTF-8 content plus its metadata and tags as the
# compact JSON text they are stored as (``maia.store.base.stored_size``), exactly what the
# SQLite store's triggers sum.
MEMORY_SIZE = (
    "octet_length({r}.content) + coalesce(octet_length({r}.metadata), 0)"
    " + coalesce(octet_length({r}.tags), 0)"
)

# Each entry moves the schema from version i to i + 1. Never edit a released entry:
# append a new one. Text columns that are compared or sorted use the "C" collation, so
# order and prefix tests are byte-wise whatever the database's default collation is.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE EXTENSION IF NOT EXISTS vector;

    CREATE TABLE memories (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           text COLLATE "C" NOT NULL UNIQUE,
        tenant_id    text COLLATE "C" NOT NULL,
        namespace    text COLLATE "C" NOT NULL,
        content      text NOT NULL,
        type         text NOT NULL,
        -- JSON as text (not jsonb): key order and bytes as written, so usage counts
        -- the same bytes as the SQLite store.
        metadata     text,
        tags         text,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL,
        accessed_at  timestamptz NOT NULL,
        access_count bigint NOT NULL DEFAULT 0,
        confidence   double precision NOT NULL,
        source       text NOT NULL,
        token_count  integer,
        -- Content (weight A) and tags (weight B), from words the store extracts in
        -- Python with the same tokenizer as queries (see session.search_document).
        search       tsvector NOT NULL
    );
    CREATE INDEX memories_by_namespace ON memories (tenant_id, namespace, created_at, seq);
    CREATE INDEX memories_by_tenant ON memories (tenant_id, created_at, seq);
    CREATE INDEX memories_by_updated ON memories (tenant_id, namespace, updated_at);
    CREATE INDEX memories_by_type ON memories (tenant_id, namespace, type, created_at, seq);
    CREATE INDEX memories_search ON memories USING gin (search);

    CREATE TABLE memory_tags (
        memory_seq bigint NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
        tag        text COLLATE "C" NOT NULL,
        PRIMARY KEY (tag, memory_seq)
    );
    CREATE INDEX memory_tags_by_memory ON memory_tags (memory_seq);

    CREATE TABLE namespaces (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         text COLLATE "C" NOT NULL UNIQUE,
        tenant_id  text COLLATE "C" NOT NULL,
        name       text COLLATE "C" NOT NULL,
        parent     text COLLATE "C",
        template   text,
        config     text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (tenant_id, name)
    );

    -- Any dimension; an HNSW index per dimension is created when its first vector
    -- arrives (an expression index on embedding::vector(dim), partial on dim).
    CREATE TABLE memory_vectors (
        memory_seq bigint PRIMARY KEY REFERENCES memories (seq) ON DELETE CASCADE,
        model_id   text COLLATE "C" NOT NULL,
        dim        integer NOT NULL,
        embedding  vector NOT NULL
    );
    CREATE INDEX memory_vectors_by_model ON memory_vectors (model_id);

    CREATE TABLE relations (
        tenant_id  text COLLATE "C" NOT NULL,
        source_id  text COLLATE "C" NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        target_id  text COLLATE "C" NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        type       text COLLATE "C" NOT NULL,
        weight     double precision NOT NULL,
        metadata   text,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (source_id, target_id, type)
    );
    CREATE INDEX relations_by_target ON relations (target_id, type);
    CREATE INDEX relations_by_type ON relations (tenant_id, type);

    CREATE TABLE meta (
        key   text PRIMARY KEY,
        value bigint NOT NULL
    );
    -- Bumped by every statement that changes vectors, so a saved ANN index knows when
    -- it is stale. A table (not a sequence): it is read in the reader's snapshot.
    INSERT INTO meta (key, value) VALUES ('vector_generation', 0);
    CREATE FUNCTION maia_bump_vector_generation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM changed) THEN
            UPDATE meta SET value = value + 1 WHERE key = 'vector_generation';
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER memory_vectors_generation_insert AFTER INSERT ON memory_vectors
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION maia_bump_vector_generation();
    CREATE TRIGGER memory_vectors_generation_update AFTER UPDATE ON memory_vectors
        REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION maia_bump_vector_generation();
    CREATE TRIGGER memory_vectors_generation_delete AFTER DELETE ON memory_vectors
        REFERENCING OLD TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION maia_bump_vector_generation();

    CREATE TABLE tenants (
        id         text COLLATE "C" PRIMARY KEY,
        name       text COLLATE "C" NOT NULL UNIQUE,
        plan       text NOT NULL,
        status     text NOT NULL,
        config     text NOT NULL,
        quotas     text NOT NULL,
        metadata   text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    );

    CREATE TABLE api_keys (
        key_hash          text COLLATE "C" PRIMARY KEY,
        tenant_id         text COLLATE "C" NOT NULL,
        name              text NOT NULL,
        scopes            text NOT NULL,
        namespaces        text NOT NULL,
        default_namespace text,
        expires_at        timestamptz,
        created_at        timestamptz NOT NULL,
        last_used_at      timestamptz,
        revoked_at        timestamptz,
        metadata          text
    );
    CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

    -- Per-tenant usage kept by statement triggers, so a quota check reads (and, in a
    -- write, locks) one row instead of scanning the tenant's memories.
    CREATE TABLE tenant_usage (
        tenant_id     text COLLATE "C" PRIMARY KEY,
        memory_count  bigint NOT NULL DEFAULT 0,
        storage_bytes bigint NOT NULL DEFAULT 0
    );
    CREATE FUNCTION maia_usage_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO tenant_usage AS u (tenant_id, memory_count, storage_bytes)
            SELECT n.tenant_id, count(*), sum({MEMORY_SIZE.format(r="n")})
            FROM new_rows n GROUP BY n.tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET
            memory_count = u.memory_count + excluded.memory_count,
            storage_bytes = u.storage_bytes + excluded.storage_bytes;
        RETURN NULL;
    END $$;
    CREATE FUNCTION maia_usage_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE tenant_usage u SET
            memory_count = u.memory_count - d.n,
            storage_bytes = u.storage_bytes - d.bytes
        FROM (SELECT o.tenant_id, count(*) AS n, sum({MEMORY_SIZE.format(r="o")}) AS bytes
              FROM old_rows o GROUP BY o.tenant_id) d
        WHERE u.tenant_id = d.tenant_id;
        RETURN NULL;
    END $$;
    CREATE FUNCTION maia_usage_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE tenant_usage u SET
            memory_count = u.memory_count + d.n,
            storage_bytes = u.storage_bytes + d.bytes
        FROM (SELECT tenant_id, sum(n) AS n, sum(bytes) AS bytes FROM (
                  SELECT n.tenant_id, 1 AS n, {MEMORY_SIZE.format(r="n")} AS bytes FROM new_rows n
                  UNION ALL
                  SELECT o.tenant_id, -1, -({MEMORY_SIZE.format(r="o")}) FROM old_rows o
              ) c GROUP BY tenant_id) d
        WHERE u.tenant_id = d.tenant_id AND (d.n <> 0 OR d.bytes <> 0);
        RETURN NULL;
    END $$;
    CREATE TRIGGER tenant_usage_insert AFTER INSERT ON memories
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_usage_insert();
    CREATE TRIGGER tenant_usage_delete AFTER DELETE ON memories
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_usage_delete();
    CREATE TRIGGER tenant_usage_update AFTER UPDATE ON memories
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_usage_update();
    """,
    # v2: a relation's metadata counts in its tenant's storage too (it is the tenant's
    # data, and was a way around the quota), as in the SQLite store. The relations of a
    # deleted memory go by cascade, which fires the delete trigger.
    """
    INSERT INTO tenant_usage AS u (tenant_id, memory_count, storage_bytes)
        SELECT r.tenant_id, 0, sum(octet_length(r.metadata)) FROM relations r
        WHERE r.metadata IS NOT NULL GROUP BY r.tenant_id
    ON CONFLICT (tenant_id) DO UPDATE SET storage_bytes = u.storage_bytes + excluded.storage_bytes;
    CREATE FUNCTION maia_relation_usage_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO tenant_usage AS u (tenant_id, memory_count, storage_bytes)
            SELECT n.tenant_id, 0, sum(octet_length(n.metadata)) FROM new_rows n
            WHERE n.metadata IS NOT NULL GROUP BY n.tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET
            storage_bytes = u.storage_bytes + excluded.storage_bytes;
        RETURN NULL;
    END $$;
    CREATE FUNCTION maia_relation_usage_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE tenant_usage u SET storage_bytes = u.storage_bytes - d.bytes
        FROM (SELECT o.tenant_id, sum(octet_length(o.metadata)) AS bytes FROM old_rows o
              WHERE o.metadata IS NOT NULL GROUP BY o.tenant_id) d
        WHERE u.tenant_id = d.tenant_id;
        RETURN NULL;
    END $$;
    CREATE FUNCTION maia_relation_usage_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO tenant_usage AS u (tenant_id, memory_count, storage_bytes)
            SELECT c.tenant_id, 0, sum(c.bytes) FROM (
                SELECT n.tenant_id, coalesce(octet_length(n.metadata), 0) AS bytes
                FROM new_rows n
                UNION ALL
                SELECT o.tenant_id, -coalesce(octet_length(o.metadata), 0) FROM old_rows o
            ) c GROUP BY c.tenant_id HAVING sum(c.bytes) <> 0
        ON CONFLICT (tenant_id) DO UPDATE SET
            storage_bytes = u.storage_bytes + excluded.storage_bytes;
        RETURN NULL;
    END $$;
    CREATE TRIGGER tenant_usage_relation_insert AFTER INSERT ON relations
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_relation_usage_insert();
    CREATE TRIGGER tenant_usage_relation_delete AFTER DELETE ON relations
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_relation_usage_delete();
    CREATE TRIGGER tenant_usage_relation_update AFTER UPDATE ON relations
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION maia_relation_usage_update();
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection[TupleRow]) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(conn: psycopg.Connection[TupleRow]) -> int:
    """Brings the database to ``SCHEMA_VERSION``; returns the version it found.

    ``conn`` is in autocommit mode; the advisory lock is held across the migrations and
    released before returning, whatever happens.
    """
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("BEGIN")
        try:
            found = current_version(conn)
            if found > SCHEMA_VERSION:
                raise Unavailable(
                    f"database schema version {found} is newer than this MAIA "
                    f"(knows up to {SCHEMA_VERSION}); upgrade MAIA"
                )
            for version in range(found, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[version].encode())  # several statements, no params
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return found
