"""SQL for one connection: the StoreReader/StoreWriter methods of the PostgreSQL store.

Semantics follow the SQLite store (``maia.store.sqlite.session``) exactly; where the
two engines differ the choice made here is written next to the code:

* Full text: the words of content and tags are extracted in Python with the same
  tokenizer as the query (``\\w+`` on lower-cased text with diacritics removed, as
  SQLite's ``unicode61 remove_diacritics``), then stemmed by PostgreSQL's ``english``
  configuration. PostgreSQL's own parser would keep ``example.com``, ``3.14`` or
  ``a/b/c`` as single tokens, so a word query would not find them as SQLite does.
  Ranking is BM25-like: each query word's ``ts_rank`` (tags weigh half as much as
  content, like SQLite's BM25 weights; normalised by document length) weighted by the
  word's inverse document frequency. Scores differ from SQLite's BM25 in scale, not in
  spirit. English stop words are not indexed (a query of stop words only finds nothing).
* In a write transaction the reads a service uses for read-modify-write
  (``get_memory``, ``get_memories``, ``get_namespace[_by_name]``, ``get_tenant``,
  ``tenant_usage``, ``count_memories``) lock what they read (``FOR UPDATE``), so two
  nodes changing the same record, or racing for the last slot of a quota, serialise.
* Text cannot hold NUL in PostgreSQL: a key containing one matches nothing, and
  content containing one is refused with ``InvalidInput``.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow

from maia.errors import InvalidInput
from maia.models import (
    Edge,
    Memory,
    MemoryFilter,
    MemorySource,
    MemoryType,
    Namespace,
    NamespaceConfig,
    Page,
    RelationType,
)
from maia.store.base import RankRow, StoredText, TextHit, VectorRow
from maia.store.postgres.schema import MEMORY_SIZE
from maia.store.postgres.tenants import TenantSQL, has_nul, utc
from maia.store.postgres.vector_sql import VectorIndexes, VectorSQL
from maia.store.timestamps import to_micros

_WORD = re.compile(r"\w+", re.UNICODE)
# Longer words cannot be lexemes (PostgreSQL ignores them in documents, too).
_MAX_LEXEME_BYTES = 2047
# A query's distinct words beyond this are ignored: a tsquery of many thousands of
# alternatives exhausts PostgreSQL's stack, and ranking by so many words means little.
MAX_QUERY_WORDS = 1000
# ts_rank weights {D, C, B, A}: content is A, tags B (half of content, as in SQLite).
_RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
# Rows a streaming query fetches per round trip.
_STREAM_BATCH = 500

_MEMORY_COLUMNS = (
    "m.seq, m.id, m.namespace, m.content, m.type, m.metadata, m.tags, m.created_at, "
    "m.updated_at, m.accessed_at, m.access_count, m.confidence, m.source, m.token_count"
)
_NAMESPACE_COLUMNS = "id, name, parent, template, config, created_at, updated_at"
_SEARCH = "setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'B')"

_cursor_names = itertools.count(1)
# The lexemes of a parsed tsquery ('citi' | 'rosa'); each is ranked with its own IDF, so
# a query's first words only (a long query's rarer words would cost a rank call each).
_LEXEME = re.compile(r"'((?:[^']|'')+)'")
MAX_RANKED_WORDS = 32


def _latin(ch: str) -> bool:
    return ch < "\u0250" or "\u1e00" <= ch <= "\u1eff"


def words(text: str) -> list[str]:
    """The words full text indexes and queries: lower case, and Latin letters without
    their diacritics (``café`` is ``cafe``), as SQLite's ``remove_diacritics``."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if kept and unicodedata.category(ch) == "Mn" and _latin(kept[-1]):
            continue
        kept.append(ch)
    return _WORD.findall(unicodedata.normalize("NFC", "".join(kept)))


def search_document(text: str) -> str:
    """What ``to_tsvector`` is given for ``text``: its words separated by spaces."""
    return " ".join(words(text))


def ts_query(text: str) -> str | None:
    """Any-word ``to_tsquery`` input; every word is quoted, so user text is never tsquery
    syntax (a ``\\w`` word holds neither quotes nor backslashes)."""
    unique = dict.fromkeys(w for w in words(text) if len(w.encode()) <= _MAX_LEXEME_BYTES)
    chosen = list(unique)[:MAX_QUERY_WORDS]
    return " | ".join(f"'{word}'" for word in chosen) or None


def _unqualified(columns: str) -> str:
    """``m.seq, m.id`` -> ``seq, id``: the columns as a CTE over ``memories m`` names them."""
    return ", ".join(c.strip().removeprefix("m.") for c in columns.split(","))


def _memory(row: TupleRow) -> Memory:
    # Rows were validated on the way in; construct without re-validating (hot path).
    return Memory.model_construct(
        id=row[1],
        namespace=row[2],
        content=row[3],
        type=MemoryType(row[4]),
        metadata=json.loads(row[5]) if row[5] else None,
        tags=json.loads(row[6]) if row[6] else [],
        created_at=utc(row[7]),
        updated_at=utc(row[8]),
        accessed_at=utc(row[9]),
        access_count=row[10],
        confidence=row[11],
        source=MemorySource(row[12]),
        relations=[],
        token_count=row[13],
    )


def _json_or_null(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None


def _check_content(memory: Memory) -> None:
    if "\x00" in memory.content:
        raise InvalidInput(
            "invalid content: must not contain NUL characters (PostgreSQL cannot store them)",
            field="content",
        )


def _memory_fields(memory: Memory) -> tuple[object, ...]:
    """The columns content .. search of a memory row, in the INSERT's order."""
    return (
        memory.content,
        memory.type.value,
        _json_or_null(memory.metadata),
        _json_or_null(memory.tags),
        memory.created_at,
        memory.updated_at,
        memory.accessed_at,
        memory.access_count,
        memory.confidence,
        memory.source.value,
        memory.token_count,
        search_document(memory.content),
        search_document(" ".join(memory.tags)),
    )


def _namespace(row: TupleRow) -> Namespace:
    return Namespace(
        id=row[0],
        name=row[1],
        parent=row[2],
        template=row[3],
        config=NamespaceConfig.model_validate_json(row[4]),
        created_at=utc(row[5]),
        updated_at=utc(row[6]),
    )


def _text_keys(values: Sequence[str]) -> list[str]:
    """Keys that can exist (a NUL never can)."""
    return [v for v in values if "\x00" not in v]


class PostgresSession(TenantSQL, VectorSQL):
    """Store operations on one connection; transactions are managed by the store."""

    def __init__(
        self,
        conn: psycopg.Connection[TupleRow],
        *,
        writable: bool,
        indexes: VectorIndexes,
    ) -> None:
        self._conn = conn
        self._writable = writable
        self._indexes = indexes
        self.created_indexes: set[int] = set()
        self.pending_builds: set[int] = set()
        self._search_ef: int | None = None
        self._cursors: list[psycopg.ServerCursor[TupleRow]] = []

    def close_cursors(self) -> None:
        """Closes the streams still open (the store calls this before the transaction
        ends, so an abandoned iterator never touches a connection given to another)."""
        for cursor in self._cursors:
            if not cursor.closed:
                cursor.close()
        self._cursors.clear()

    def _stream(
        self, sql: str, params: Sequence[Any], *, binary: bool = False
    ) -> Iterator[TupleRow]:
        """One server-side cursor: declared now (in this transaction's snapshot), read in
        batches as the caller iterates."""
        cursor = self._conn.cursor(f"maia_stream_{next(_cursor_names)}", binary=binary)
        cursor.itersize = _STREAM_BATCH
        self._cursors.append(cursor)
        cursor.execute(sql, params)
        return self._rows(cursor)

    @staticmethod
    def _rows(cursor: psycopg.ServerCursor[TupleRow]) -> Iterator[TupleRow]:
        try:
            yield from cursor
        finally:
            if not cursor.closed:
                cursor.close()

    def _lock(self, of: str = "m") -> str:
        return f" FOR UPDATE OF {of}" if self._writable else ""

    # -- memories: reads ---------------------------------------------------------------

    def get_memory(self, tenant: str, memory_id: str) -> Memory | None:
        if has_nul(memory_id, tenant):
            return None
        row = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE m.id = %s AND m.tenant_id = %s"
            + self._lock(),
            (memory_id, tenant),
        ).fetchone()
        return None if row is None else _memory(row)

    def get_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[Memory]:
        ids = _text_keys(memory_ids)
        if not ids:
            return []
        # Locked (in a write) in key order, so two batches cannot deadlock each other.
        order = " ORDER BY m.seq" if self._writable else ""
        rows = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m "
            f"WHERE m.tenant_id = %s AND m.id = ANY(%s){order}" + self._lock(),
            (tenant, ids),
        )
        found = {row[1]: _memory(row) for row in rows}
        return [found[i] for i in memory_ids if i in found]

    def _where(self, tenant: str, flt: MemoryFilter) -> tuple[str, list[Any]]:
        clauses = ["m.tenant_id = %s"]
        params: list[Any] = [tenant]
        if flt.namespace is not None:
            if flt.include_descendants:
                # starts_with is case-sensitive and has no wildcards ("_" is a character).
                clauses.append("(m.namespace = %s OR starts_with(m.namespace, %s))")
                params += [flt.namespace, flt.namespace.rstrip("/") + "/"]
            else:
                clauses.append("m.namespace = %s")
                params.append(flt.namespace)
        if flt.types:
            clauses.append("m.type = ANY(%s)")
            params.append([t.value for t in flt.types])
        if flt.sources:
            clauses.append("m.source = ANY(%s)")
            params.append([s.value for s in flt.sources])
        for tag in flt.tags:
            clauses.append("m.seq IN (SELECT memory_seq FROM memory_tags WHERE tag = %s)")
            params.append(tag)
        if flt.min_confidence is not None:
            clauses.append("m.confidence >= %s")
            params.append(flt.min_confidence)
        if flt.created_after is not None:
            clauses.append("m.created_at >= %s")
            params.append(flt.created_after)
        if flt.created_before is not None:
            clauses.append("m.created_at < %s")
            params.append(flt.created_before)
        if flt.exclude_superseded:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM relations r WHERE r.target_id = m.id "
                "AND r.type = 'supersedes')"
            )
        if has_nul(tenant, flt.namespace or "", *flt.tags):
            # A NUL matches nothing (and cannot even be sent): an empty result, as in SQLite.
            clauses.append("false")
            params = [p.replace("\x00", "") if isinstance(p, str) else p for p in params]
        return " AND ".join(clauses), params

    def list_memories(
        self, tenant: str, flt: MemoryFilter, page: Page, *, newest_first: bool = False
    ) -> list[Memory]:
        where, params = self._where(tenant, flt)
        order = "m.created_at DESC, m.seq DESC" if newest_first else "m.created_at, m.seq"
        rows = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} "
            f"ORDER BY {order} LIMIT %s OFFSET %s",
            (*params, page.limit, page.offset),
        )
        return [_memory(row) for row in rows]

    def memory_namespaces(self, tenant: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT namespace FROM memories WHERE tenant_id = %s", (tenant,)
        )
        return [str(name) for (name,) in rows]

    def namespace_usage(self, tenant: str, namespaces: Sequence[str]) -> tuple[int, int]:
        names = [n for n in namespaces if not has_nul(n)]
        row = self._conn.execute(
            f"SELECT count(*), coalesce(sum({MEMORY_SIZE.format(r='m')}), 0), "
            "(SELECT coalesce(sum(octet_length(r.metadata)), 0) "
            " FROM relations r JOIN memories s ON s.id = r.source_id "
            " WHERE s.tenant_id = %s AND s.namespace = ANY(%s) AND r.metadata IS NOT NULL) "
            "FROM memories m WHERE m.tenant_id = %s AND m.namespace = ANY(%s)",
            (tenant, names, tenant, names),
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]) + int(row[2]))

    def count_memories(self, tenant: str, namespace: str | None = None) -> int:
        if self._writable:
            # A namespace quota check (count, then insert) serialises with the tenant's
            # other writers on the usage row, as the tenant quota check does.
            self._lock_usage(tenant)
        sql = "SELECT count(*) FROM memories WHERE tenant_id = %s"
        params: tuple[str, ...] = (tenant,)
        if namespace is not None:
            if has_nul(namespace):
                return 0
            sql += " AND namespace = %s"
            params = (tenant, namespace)
        row = self._conn.execute(sql, params).fetchone()
        return 0 if row is None else int(row[0])

    def memories_by_seq(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, Memory]:
        if not len(seqs):
            return {}
        where, params = self._where(tenant, flt or MemoryFilter())
        rows = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE m.seq = ANY(%s) AND {where}",
            ([int(s) for s in seqs], *params),
        )
        return {row[0]: _memory(row) for row in rows}

    def rank_rows(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, RankRow]:
        if not len(seqs):
            return {}
        where, params = self._where(tenant, flt or MemoryFilter())
        rows = self._conn.execute(
            "SELECT m.seq, m.id, m.content, m.created_at, m.access_count, m.confidence, "
            "m.type, m.token_count, m.accessed_at "
            f"FROM memories m WHERE m.seq = ANY(%s) AND {where}",
            ([int(s) for s in seqs], *params),
        )
        return {
            row[0]: RankRow(
                row[0],
                row[1],
                row[2],
                to_micros(utc(row[3])),
                row[4],
                row[5],
                row[6],
                row[7],
                to_micros(utc(row[8])),
            )
            for row in rows
        }

    def neighbors(
        self, tenant: str, seqs: Sequence[int], radius: int, within_us: int | None = None
    ) -> dict[int, list[tuple[int, int]]]:
        if not len(seqs):
            return {}
        near_before, near_after, reach = _within(within_us)
        # One statement for every seed: its ``radius`` predecessors and successors in
        # its namespace (by created_at, then key), each side read from the index.
        rows = self._conn.execute(
            "SELECT s.seq, n.side, n.seq FROM memories s LEFT JOIN LATERAL ("
            "(SELECT -1 AS side, x.seq, x.created_at FROM memories x "
            "WHERE x.tenant_id = s.tenant_id AND x.namespace = s.namespace "
            "AND (x.created_at, x.seq) < (s.created_at, s.seq) "
            f"{near_before}"
            "ORDER BY x.created_at DESC, x.seq DESC LIMIT %s) "
            "UNION ALL "
            "(SELECT 1, x.seq, x.created_at FROM memories x "
            "WHERE x.tenant_id = s.tenant_id AND x.namespace = s.namespace "
            "AND (x.created_at, x.seq) > (s.created_at, s.seq) "
            f"{near_after}"
            "ORDER BY x.created_at, x.seq LIMIT %s)"
            ") n ON true WHERE s.tenant_id = %s AND s.seq = ANY(%s) "
            "ORDER BY s.seq, n.side, "
            "CASE WHEN n.side < 0 THEN -extract(epoch FROM n.created_at) "
            "ELSE extract(epoch FROM n.created_at) END, n.side * n.seq",
            (*reach, max(radius, 0), *reach, max(radius, 0), tenant, [int(s) for s in seqs]),
        )
        found: dict[int, list[tuple[int, int]]] = {}
        distances: dict[tuple[int, int], int] = {}
        for seed, side, seq in rows:
            near = found.setdefault(seed, [])
            if side is not None:  # a seed without neighbours has one row of NULLs
                distance = distances[seed, side] = distances.get((seed, side), 0) + 1
                near.append((seq, distance))
        return found

    def predecessors(
        self, tenant: str, seqs: Sequence[int], within_us: int | None = None
    ) -> dict[int, int]:
        if not len(seqs):
            return {}
        near_before, _, reach = _within(within_us)
        rows = self._conn.execute(
            "SELECT s.seq, n.seq FROM memories s CROSS JOIN LATERAL ("
            "SELECT x.seq FROM memories x "
            "WHERE x.tenant_id = s.tenant_id AND x.namespace = s.namespace "
            "AND (x.created_at, x.seq) < (s.created_at, s.seq) "
            f"{near_before}"
            "ORDER BY x.created_at DESC, x.seq DESC LIMIT 1"
            ") n WHERE s.tenant_id = %s AND s.seq = ANY(%s)",
            (*reach, tenant, [int(s) for s in seqs]),
        )
        return {seq: before for seq, before in rows}

    def seqs_matching(self, tenant: str, flt: MemoryFilter) -> set[int]:
        where, params = self._where(tenant, flt)
        rows = self._conn.execute(f"SELECT m.seq FROM memories m WHERE {where}", params)
        return {row[0] for row in rows}

    def _tsquery(self, query: str) -> str | None:
        """The query as tsquery text, or None when it has nothing to find. Parsed on its
        own: stop words only give an empty query, and the search then gets a constant
        the GIN index can use."""
        text = ts_query(query)
        if text is None:
            return None
        row = self._conn.execute("SELECT to_tsquery('english', %s)::text", (text,)).fetchone()
        return str(row[0]) if row is not None and row[0] else None

    def _text_search(
        self, columns: str, tenant: str, query: str, flt: MemoryFilter, limit: int
    ) -> list[TupleRow]:
        """Matches of any query word ranked BM25-like: each word's ``ts_rank`` (term
        frequency, length-normalised) weighted by its inverse document frequency (its
        matches in scope against the tenant's memories), so a rare word outweighs a
        common one (``ts_rank`` alone has no IDF: every word would count the same)."""
        tsquery = self._tsquery(query) if limit > 0 else None
        if tsquery is None:
            return []
        lexemes = list(dict.fromkeys(_LEXEME.findall(tsquery)))[:MAX_RANKED_WORDS]
        where, params = self._where(tenant, flt)
        terms = [f"'{lexeme}'" for lexeme in lexemes]
        frequencies = ", ".join(
            f"count(*) FILTER (WHERE search @@ %s::tsquery) AS d{i}" for i in range(len(terms))
        )
        idf = "ln(1 + (n.total - d.d{i} + 0.5) / (d.d{i} + 0.5))"
        score = " + ".join(
            f"{idf.format(i=i)} * ts_rank('{_RANK_WEIGHTS}', x.search, %s::tsquery, 1)"
            for i in range(len(terms))
        )
        return self._conn.execute(
            f"WITH x AS MATERIALIZED (SELECT {columns}, m.created_at AS at_, m.search "
            f"FROM memories m WHERE m.search @@ %s::tsquery AND {where}), "
            f"d AS (SELECT {frequencies} FROM x), "
            # N: the tenant's memory count (kept by triggers; counting the scope would
            # read every row of a large tenant).
            "n AS (SELECT greatest((SELECT count(*) FROM x), coalesce((SELECT memory_count "
            "FROM tenant_usage WHERE tenant_id = %s), 0))::float8 AS total) "
            f"SELECT {_unqualified(columns)}, {score} AS relevance FROM x, d, n "
            "ORDER BY relevance DESC, at_, seq LIMIT %s",
            (tsquery, *params, *terms, tenant, *terms, limit),
        ).fetchall()

    def search_text(self, tenant: str, query: str, flt: MemoryFilter, limit: int) -> list[TextHit]:
        rows = self._text_search(_MEMORY_COLUMNS, tenant, query, flt, limit)
        return [TextHit(row[0], _memory(row), max(float(row[14]), 0.0)) for row in rows]

    def text_matches(
        self, tenant: str, query: str, flt: MemoryFilter, limit: int
    ) -> list[tuple[int, float]]:
        rows = self._text_search("m.seq", tenant, query, flt, limit)
        return [(int(row[0]), max(float(row[1]), 0.0)) for row in rows]

    def iter_memories(self, tenant: str, flt: MemoryFilter) -> Iterator[Memory]:
        where, params = self._where(tenant, flt)
        rows = self._stream(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} ORDER BY m.created_at, m.seq",
            params,
        )
        return (_memory(row) for row in rows)

    def iter_texts(self) -> Iterator[StoredText]:
        rows = self._stream(
            "SELECT seq, tenant_id, namespace, content, tags, created_at FROM memories "
            "ORDER BY seq",
            (),
        )
        for row in rows:
            tags = json.loads(row[4]) if row[4] else []
            yield StoredText(row[0], row[1], row[2], row[3], tags, utc(row[5]))

    def vectors_of(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, VectorRow]:
        ids = _text_keys(memory_ids)
        if not ids:
            return {}
        with self._conn.cursor(binary=True) as cursor:
            rows = cursor.execute(
                "SELECT m.id, v.memory_seq, v.model_id, v.embedding FROM memory_vectors v "
                "JOIN memories m ON m.seq = v.memory_seq "
                "WHERE m.tenant_id = %s AND m.id = ANY(%s)",
                (tenant, ids),
            ).fetchall()
        return {row[0]: VectorRow(row[1], row[2], row[3]) for row in rows}

    def memory_owners(self, memory_ids: Sequence[str]) -> dict[str, str]:
        return self._owners("memories", memory_ids)

    def namespace_owners(self, namespace_ids: Sequence[str]) -> dict[str, str]:
        return self._owners("namespaces", namespace_ids)

    def _owners(self, table: str, ids: Sequence[str]) -> dict[str, str]:
        keys = _text_keys(ids)
        if not keys:
            return {}
        rows = self._conn.execute(f"SELECT id, tenant_id FROM {table} WHERE id = ANY(%s)", (keys,))
        return {row[0]: row[1] for row in rows}

    # -- memories: writes --------------------------------------------------------------

    def insert_memories(self, tenant: str, memories: Sequence[Memory]) -> list[int]:
        if not memories:
            return []
        for memory in memories:
            _check_content(memory)
        seqs: list[int] = []
        with self._conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO memories (id, tenant_id, namespace, content, type, metadata, tags, "
                "created_at, updated_at, accessed_at, access_count, confidence, source, "
                f"token_count, search) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                f"%s, %s, {_SEARCH}) RETURNING seq",
                [(m.id, tenant, m.namespace, *_memory_fields(m)) for m in memories],
                returning=True,
            )
            while True:
                row = cursor.fetchone()
                if row is not None:
                    seqs.append(int(row[0]))
                if not cursor.nextset():
                    break
        self._write_tags([(seq, m.tags) for seq, m in zip(seqs, memories, strict=True)])
        return seqs

    def _write_tags(self, items: Sequence[tuple[int, Sequence[str]]]) -> None:
        rows = [(seq, tag) for seq, tags in items for tag in dict.fromkeys(tags)]
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO memory_tags (memory_seq, tag) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )

    def update_memory(self, tenant: str, memory: Memory) -> int | None:
        _check_content(memory)
        if has_nul(memory.id):
            return None
        row = self._conn.execute(
            "UPDATE memories SET content = %s, metadata = %s, tags = %s, confidence = %s, "
            "updated_at = %s, accessed_at = %s, access_count = %s, token_count = %s, "
            f"search = {_SEARCH} WHERE id = %s AND tenant_id = %s RETURNING seq",
            (
                memory.content,
                _json_or_null(memory.metadata),
                _json_or_null(memory.tags),
                memory.confidence,
                memory.updated_at,
                memory.accessed_at,
                memory.access_count,
                memory.token_count,
                search_document(memory.content),
                search_document(" ".join(memory.tags)),
                memory.id,
                tenant,
            ),
        ).fetchone()
        return self._retag(row, memory.tags)

    def _retag(self, row: TupleRow | None, tags: Sequence[str]) -> int | None:
        """After an ``UPDATE … RETURNING seq``: the memory's tag rows replaced; its key."""
        if row is None:
            return None
        seq = int(row[0])
        self._conn.execute("DELETE FROM memory_tags WHERE memory_seq = %s", (seq,))
        self._write_tags([(seq, tags)])
        return seq

    def replace_memory(self, tenant: str, memory: Memory) -> int | None:
        _check_content(memory)
        if has_nul(memory.id):
            return None
        row = self._conn.execute(
            "UPDATE memories SET namespace = %s, content = %s, type = %s, metadata = %s, "
            "tags = %s, created_at = %s, updated_at = %s, accessed_at = %s, access_count = %s, "
            f"confidence = %s, source = %s, token_count = %s, search = {_SEARCH} "
            "WHERE id = %s AND tenant_id = %s RETURNING seq",
            (memory.namespace, *_memory_fields(memory), memory.id, tenant),
        ).fetchone()
        return self._retag(row, memory.tags)

    def delete_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[int]:
        ids = _text_keys(memory_ids)
        if not ids:
            return []
        rows = self._conn.execute(
            "DELETE FROM memories WHERE tenant_id = %s AND id = ANY(%s) RETURNING seq",
            (tenant, ids),
        ).fetchall()
        return sorted(int(row[0]) for row in rows)

    def touch_memories(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> int:
        ids = _text_keys(memory_ids)
        if not ids:
            return 0
        cursor = self._conn.execute(
            "UPDATE memories SET access_count = access_count + 1, accessed_at = %s "
            "WHERE tenant_id = %s AND id = ANY(%s)",
            (at, tenant, ids),
        )
        return cursor.rowcount

    def delete_memories_before(self, tenant: str, namespace: str, before: datetime) -> list[int]:
        if has_nul(namespace):
            return []
        rows = self._conn.execute(
            "DELETE FROM memories WHERE tenant_id = %s AND namespace = %s AND updated_at < %s "
            "RETURNING seq",
            (tenant, namespace, before),
        ).fetchall()
        return sorted(int(row[0]) for row in rows)

    # -- relations ---------------------------------------------------------------------

    def edges(
        self,
        tenant: str,
        memory_ids: Sequence[str],
        *,
        types: Sequence[RelationType] = (),
        direction: str = "out",
    ) -> list[Edge]:
        columns = {"out": ("source_id",), "in": ("target_id",), "both": ("source_id", "target_id")}
        ids = _text_keys(memory_ids)
        found: list[Edge] = []
        if not ids:
            return found
        type_clause = " AND type = ANY(%s)" if types else ""
        for column in columns[direction]:
            rows = self._conn.execute(
                "SELECT source_id, target_id, type, weight, metadata, created_at "
                f"FROM relations WHERE tenant_id = %s AND {column} = ANY(%s){type_clause} "
                "ORDER BY created_at, source_id, target_id",
                (tenant, ids, *([[t.value for t in types]] if types else [])),
            )
            found.extend(
                Edge(
                    source_id=row[0],
                    target_id=row[1],
                    type=RelationType(row[2]),
                    weight=row[3],
                    metadata=json.loads(row[4]) if row[4] else None,
                    created_at=utc(row[5]),
                )
                for row in rows
            )
        return found

    def put_edge(self, tenant: str, edge: Edge) -> None:
        self._conn.execute(
            "INSERT INTO relations (tenant_id, source_id, target_id, type, weight, metadata, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (source_id, target_id, type) DO UPDATE SET "
            "tenant_id = excluded.tenant_id, weight = excluded.weight, "
            "metadata = excluded.metadata, created_at = excluded.created_at",
            (
                tenant,
                edge.source_id,
                edge.target_id,
                edge.type.value,
                edge.weight,
                _json_or_null(edge.metadata),
                edge.created_at,
            ),
        )

    def delete_edges(
        self, tenant: str, source_id: str, target_id: str, types: Sequence[RelationType] = ()
    ) -> int:
        if has_nul(source_id, target_id):
            return 0
        sql = "DELETE FROM relations WHERE tenant_id = %s AND source_id = %s AND target_id = %s"
        params: list[Any] = [tenant, source_id, target_id]
        if types:
            sql += " AND type = ANY(%s)"
            params.append([t.value for t in types])
        return self._conn.execute(sql, params).rowcount

    # -- namespaces --------------------------------------------------------------------

    def get_namespace(self, tenant: str, id_or_name: str) -> Namespace | None:
        found = self._namespace_where("id", tenant, id_or_name)
        return found if found is not None else self._namespace_where("name", tenant, id_or_name)

    def get_namespace_by_name(self, tenant: str, name: str) -> Namespace | None:
        return self._namespace_where("name", tenant, name)

    def _namespace_where(
        self, column: Literal["id", "name"], tenant: str, value: str
    ) -> Namespace | None:
        if has_nul(value):
            return None
        lock = " FOR UPDATE" if self._writable else ""
        row = self._conn.execute(
            f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces "
            f"WHERE tenant_id = %s AND {column} = %s{lock}",
            (tenant, value),
        ).fetchone()
        return None if row is None else _namespace(row)

    def list_namespaces(
        self, tenant: str, page: Page, *, prefix: str | None = None
    ) -> list[Namespace]:
        sql = f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = %s"
        params: list[Any] = [tenant]
        if prefix:
            if has_nul(prefix):
                return []
            sql += " AND starts_with(name, %s)"
            params.append(prefix)
        sql += " ORDER BY created_at, seq LIMIT %s OFFSET %s"
        rows = self._conn.execute(sql, (*params, page.limit, page.offset))
        return [_namespace(row) for row in rows]

    def namespace_children(self, tenant: str, name: str) -> list[Namespace]:
        if has_nul(name):
            return []
        # Explicit ``parent`` wins; otherwise the parent is the name's prefix.
        prefix = name.rstrip("/") + "/"
        rows = self._conn.execute(
            f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = %s AND ("
            "parent = %s OR (parent IS NULL AND starts_with(name, %s) "
            "AND length(name) > %s AND strpos(substr(name, %s), '/') = 0)"
            ") ORDER BY created_at, seq",
            (tenant, name, prefix, len(prefix), len(prefix) + 1),
        )
        return [_namespace(row) for row in rows]

    def count_namespaces(self, tenant: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM namespaces WHERE tenant_id = %s", (tenant,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def insert_namespace(self, tenant: str, namespace: Namespace) -> None:
        self._savepoint_unique(
            "INSERT INTO namespaces (id, tenant_id, name, parent, template, config, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                namespace.id,
                tenant,
                namespace.name,
                namespace.parent,
                namespace.template,
                namespace.config.model_dump_json(),
                namespace.created_at,
                namespace.updated_at,
            ),
            f"namespace already exists: {namespace.name}",
        )

    def update_namespace(self, tenant: str, namespace: Namespace) -> None:
        self._conn.execute(
            "UPDATE namespaces SET config = %s, updated_at = %s WHERE tenant_id = %s AND id = %s",
            (namespace.config.model_dump_json(), namespace.updated_at, tenant, namespace.id),
        )

    def delete_namespace(self, tenant: str, namespace_id: str) -> None:
        if has_nul(namespace_id):
            return
        self._conn.execute(
            "DELETE FROM namespaces WHERE tenant_id = %s AND id = %s", (tenant, namespace_id)
        )


def _within(within_us: int | None) -> tuple[str, str, tuple[int, ...]]:
    """SQL conditions keeping ``x`` within ``within_us`` microseconds before and after
    ``s``, and the parameter each takes (none without a limit)."""
    if within_us is None:
        return "", "", ()
    return (
        "AND x.created_at >= s.created_at - %s * interval '1 microsecond' ",
        "AND x.created_at <= s.created_at + %s * interval '1 microsecond' ",
        (within_us,),
    )
