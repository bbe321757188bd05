"""SQL for one connection: the StoreReader/StoreWriter methods of the SQLite store."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal

from maia.errors import AlreadyExists
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
from maia.store.base import RankRow, StoredText, StoredVector, TextHit, VectorRow, chunked
from maia.store.sqlite.tenants import TenantSQL
from maia.store.timestamps import from_micros, to_micros

_NO_LIMIT_US = 2**62  # a reach in time wider than any two timestamps apart

_WORD = re.compile(r"\w+", re.UNICODE)

_MEMORY_COLUMNS = (
    "m.seq, m.id, m.namespace, m.content, m.type, m.metadata, m.tags, m.created_at, "
    "m.updated_at, m.accessed_at, m.access_count, m.confidence, m.source, m.token_count"
)
_NAMESPACE_COLUMNS = "id, name, parent, template, config, created_at, updated_at"


def fts_query(text: str) -> str | None:
    """Any-word FTS5 query; every word is quoted, so user text is never FTS syntax."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    if not words:
        return None
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def _memory(row: sqlite3.Row) -> Memory:
    # Rows were validated on the way in; construct without re-validating (hot path).
    return Memory.model_construct(
        id=row[1],
        namespace=row[2],
        content=row[3],
        type=MemoryType(row[4]),
        metadata=json.loads(row[5]) if row[5] else None,
        tags=json.loads(row[6]) if row[6] else [],
        created_at=from_micros(row[7]),
        updated_at=from_micros(row[8]),
        accessed_at=from_micros(row[9]),
        access_count=row[10],
        confidence=row[11],
        source=MemorySource(row[12]),
        relations=[],
        token_count=row[13],
    )


def _memory_fields(memory: Memory) -> tuple[object, ...]:
    """The columns content .. token_count of a memory row, in table order."""
    return (
        memory.content,
        memory.type.value,
        _json_or_null(memory.metadata),
        _json_or_null(memory.tags),
        to_micros(memory.created_at),
        to_micros(memory.updated_at),
        to_micros(memory.accessed_at),
        memory.access_count,
        memory.confidence,
        memory.source.value,
        memory.token_count,
    )


def _namespace(row: sqlite3.Row) -> Namespace:
    return Namespace(
        id=row[0],
        name=row[1],
        parent=row[2],
        template=row[3],
        config=NamespaceConfig.model_validate_json(row[4]),
        created_at=from_micros(row[5]),
        updated_at=from_micros(row[6]),
    )


def _json_or_null(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None


class SQLiteSession(TenantSQL):
    """Store operations on one connection; transactions are managed by the store."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # -- memories: reads ---------------------------------------------------------------

    def get_memory(self, tenant: str, memory_id: str) -> Memory | None:
        row = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE m.id = ? AND m.tenant_id = ?",
            (memory_id, tenant),
        ).fetchone()
        return None if row is None else _memory(row)

    def get_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[Memory]:
        found: dict[str, Memory] = {}
        for chunk in chunked(memory_ids):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM memories m "
                f"WHERE +m.tenant_id = ? AND m.id IN ({marks})",
                (tenant, *chunk),
            )
            found.update((row[1], _memory(row)) for row in rows)
        return [found[i] for i in memory_ids if i in found]

    # Lookups by a list of keys or ids say so to the planner (``NOT INDEXED`` keeps the
    # rowid lookup, ``+tenant_id`` keeps the id index): without statistics it would
    # rather scan the whole tenant through the (tenant_id, ...) indexes.

    def _where(self, tenant: str, flt: MemoryFilter) -> tuple[str, list[Any]]:
        clauses = ["m.tenant_id = ?"]
        params: list[Any] = [tenant]
        if flt.namespace is not None:
            if flt.include_descendants:
                # Descendants ``ns/...`` as a byte range ("/" + 1 is "0"): case-sensitive
                # like every namespace match (LIKE would ignore ASCII case).
                base = flt.namespace.rstrip("/")
                clauses.append("(m.namespace = ? OR (m.namespace >= ? AND m.namespace < ?))")
                params += [flt.namespace, base + "/", base + "0"]
            else:
                clauses.append("m.namespace = ?")
                params.append(flt.namespace)
        if flt.types:
            clauses.append(f"m.type IN ({','.join('?' * len(flt.types))})")
            params += [t.value for t in flt.types]
        if flt.sources:
            clauses.append(f"m.source IN ({','.join('?' * len(flt.sources))})")
            params += [s.value for s in flt.sources]
        for tag in flt.tags:
            clauses.append("m.seq IN (SELECT memory_seq FROM memory_tags WHERE tag = ?)")
            params.append(tag)
        if flt.min_confidence is not None:
            clauses.append("m.confidence >= ?")
            params.append(flt.min_confidence)
        if flt.created_after is not None:
            clauses.append("m.created_at >= ?")
            params.append(to_micros(flt.created_after))
        if flt.created_before is not None:
            clauses.append("m.created_at < ?")
            params.append(to_micros(flt.created_before))
        if flt.exclude_superseded:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM relations r WHERE r.target_id = m.id "
                "AND r.type = 'supersedes')"
            )
        return " AND ".join(clauses), params

    def list_memories(
        self, tenant: str, flt: MemoryFilter, page: Page, *, newest_first: bool = False
    ) -> list[Memory]:
        where, params = self._where(tenant, flt)
        order = "m.created_at DESC, m.seq DESC" if newest_first else "m.created_at, m.seq"
        rows = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, page.limit, page.offset),
        )
        return [_memory(row) for row in rows]

    def count_memories(self, tenant: str, namespace: str | None = None) -> int:
        sql = "SELECT count(*) FROM memories WHERE tenant_id = ?"
        params: tuple[str, ...] = (tenant,)
        if namespace is not None:
            sql += " AND namespace = ?"
            params = (tenant, namespace)
        return int(self._conn.execute(sql, params).fetchone()[0])

    def memory_namespaces(self, tenant: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT namespace FROM memories WHERE tenant_id = ?", (tenant,)
        )
        return [name for (name,) in rows]

    def namespace_usage(self, tenant: str, namespaces: Sequence[str]) -> tuple[int, int]:
        count = size = 0
        for chunk in chunked(namespaces):
            marks = ",".join("?" * len(chunk))
            held, memories = self._conn.execute(
                "SELECT count(*), coalesce(sum(length(CAST(content AS BLOB)) "
                "+ coalesce(length(CAST(metadata AS BLOB)), 0) "
                "+ coalesce(length(CAST(tags AS BLOB)), 0)), 0) "
                f"FROM memories WHERE tenant_id = ? AND namespace IN ({marks})",
                (tenant, *chunk),
            ).fetchone()
            (relations,) = self._conn.execute(
                "SELECT coalesce(sum(length(CAST(r.metadata AS BLOB))), 0) "
                "FROM relations r JOIN memories m ON m.id = r.source_id "
                f"WHERE m.tenant_id = ? AND m.namespace IN ({marks}) AND r.metadata IS NOT NULL",
                (tenant, *chunk),
            ).fetchone()
            count, size = count + int(held), size + int(memories) + int(relations)
        return count, size

    def memories_by_seq(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, Memory]:
        where, params = self._where(tenant, flt or MemoryFilter())
        found: dict[int, Memory] = {}
        for chunk in chunked(seqs):
            rows = self._conn.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM memories m NOT INDEXED "
                f"WHERE m.seq IN ({','.join('?' * len(chunk))}) AND {where}",
                (*chunk, *params),
            )
            found.update((row[0], _memory(row)) for row in rows)
        return found

    def rank_rows(
        self, tenant: str, seqs: Sequence[int], flt: MemoryFilter | None = None
    ) -> dict[int, RankRow]:
        where, params = self._where(tenant, flt or MemoryFilter())
        found: dict[int, RankRow] = {}
        for chunk in chunked(seqs):
            rows = self._conn.execute(
                "SELECT m.seq, m.id, m.content, m.created_at, m.access_count, m.confidence, "
                "m.type, m.token_count, m.accessed_at "
                f"FROM memories m NOT INDEXED "
                f"WHERE m.seq IN ({','.join('?' * len(chunk))}) AND {where}",
                (*chunk, *params),
            )
            for row in rows:
                found[row[0]] = RankRow(*row)
        return found

    def neighbors(
        self, tenant: str, seqs: Sequence[int], radius: int, within_us: int | None = None
    ) -> dict[int, list[tuple[int, int]]]:
        found: dict[int, list[tuple[int, int]]] = {}
        for chunk in chunked(seqs, 100):
            seeds = self._conn.execute(
                "SELECT seq, namespace, created_at FROM memories NOT INDEXED "
                f"WHERE tenant_id = ? AND seq IN ({','.join('?' * len(chunk))})",
                (tenant, *chunk),
            ).fetchall()
            if not seeds:
                continue
            # One statement for every seed: its ``radius`` predecessors and successors,
            # each side as two index seeks (the same instant by key, then other times;
            # see ``predecessors``), cut to ``radius`` below.
            parts: list[str] = []
            params: list[Any] = []
            reach = _NO_LIMIT_US if within_us is None else within_us
            for seq, namespace, created_at in seeds:
                found[seq] = []
                for comparison, order, bound, sign in (
                    ("<", "DESC", ">=", -1),
                    (">", "ASC", "<=", 1),
                ):
                    parts.append(
                        "SELECT * FROM (SELECT ?, seq, created_at FROM memories "
                        "WHERE tenant_id = ? AND namespace = ? "
                        f"AND created_at = ? AND seq {comparison} ? "
                        f"ORDER BY seq {order} LIMIT ?)"
                    )
                    parts.append(
                        "SELECT * FROM (SELECT ?, seq, created_at FROM memories "
                        "WHERE tenant_id = ? AND namespace = ? "
                        f"AND created_at {comparison} ? AND created_at {bound} ? "
                        f"ORDER BY created_at {order}, seq {order} LIMIT ?)"
                    )
                    params += [seq, tenant, namespace, created_at, seq, radius]
                    params += [seq, tenant, namespace, created_at, created_at + sign * reach]
                    params += [radius]
            by_seed: dict[int, list[tuple[int, int]]] = {}
            for seed, seq, created_at in self._conn.execute(" UNION ALL ".join(parts), params):
                by_seed.setdefault(seed, []).append((created_at, seq))
            centre = {seq: (created_at, seq) for seq, _, created_at in seeds}
            for seed, near in by_seed.items():
                before = sorted((p for p in near if p < centre[seed]), reverse=True)[:radius]
                after = sorted(p for p in near if p > centre[seed])[:radius]
                for side in (before, after):
                    found[seed].extend((seq, d) for d, (_, seq) in enumerate(side, start=1))
        return found

    def predecessors(
        self, tenant: str, seqs: Sequence[int], within_us: int | None = None
    ) -> dict[int, int]:
        found: dict[int, int] = {}
        reach = _NO_LIMIT_US if within_us is None else within_us
        for chunk in chunked(seqs):
            # The one before at the same time, else the last at an earlier time: two
            # index seeks. ``(created_at, seq) < (?, ?)`` would seek on created_at only
            # and walk every memory written in the same instant (a batch shares one).
            rows = self._conn.execute(
                "SELECT m.seq, coalesce("
                "(SELECT max(x.seq) FROM memories x "
                "WHERE x.tenant_id = m.tenant_id AND x.namespace = m.namespace "
                "AND x.created_at = m.created_at AND x.seq < m.seq), "
                "(SELECT x.seq FROM memories x "
                "WHERE x.tenant_id = m.tenant_id AND x.namespace = m.namespace "
                "AND x.created_at < m.created_at AND x.created_at >= m.created_at - ? "
                "ORDER BY x.created_at DESC, x.seq DESC LIMIT 1)) "
                "FROM memories m NOT INDEXED "
                f"WHERE m.seq IN ({','.join('?' * len(chunk))}) AND m.tenant_id = ?",
                (reach, *chunk, tenant),
            )
            found.update((seq, before) for seq, before in rows if before is not None)
        return found

    def seqs_matching(self, tenant: str, flt: MemoryFilter) -> set[int]:
        where, params = self._where(tenant, flt)
        rows = self._conn.execute(f"SELECT m.seq FROM memories m WHERE {where}", params)
        return {row[0] for row in rows}

    def search_text(self, tenant: str, query: str, flt: MemoryFilter, limit: int) -> list[TextHit]:
        matches = self.text_matches(tenant, query, flt, limit)
        memories = self.memories_by_seq(tenant, [seq for seq, _ in matches])
        return [TextHit(seq, memories[seq], bm25) for seq, bm25 in matches if seq in memories]

    def text_matches(
        self, tenant: str, query: str, flt: MemoryFilter, limit: int
    ) -> list[tuple[int, float]]:
        match = fts_query(query)
        if match is None or limit <= 0:
            return []
        where, params = self._where(tenant, flt)
        # bm25() is negative, lower is better; tags weigh half as much as content. Only
        # keys are sorted (a few thousand matches of common words), not whole rows.
        rows = self._conn.execute(
            "SELECT m.seq, -bm25(memories_fts, 1.0, 0.5) AS relevance "
            "FROM memories_fts JOIN memories m ON m.seq = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where} "
            "ORDER BY relevance DESC, m.created_at, m.seq LIMIT ?",
            (match, *params, limit),
        )
        return [(seq, max(float(relevance), 0.0)) for seq, relevance in rows]

    def iter_memories(self, tenant: str, flt: MemoryFilter) -> Iterator[Memory]:
        where, params = self._where(tenant, flt)
        rows = self._conn.execute(
            f"SELECT {_MEMORY_COLUMNS} FROM memories m WHERE {where} ORDER BY m.created_at, m.seq",
            params,
        )
        for row in rows:
            yield _memory(row)

    def vectors_of(self, tenant: str, memory_ids: Sequence[str]) -> dict[str, VectorRow]:
        found: dict[str, VectorRow] = {}
        for chunk in chunked(memory_ids):
            rows = self._conn.execute(
                "SELECT m.id, v.memory_seq, v.model_id, v.vector FROM memory_vectors v "
                "JOIN memories m ON m.seq = v.memory_seq "
                f"WHERE +m.tenant_id = ? AND m.id IN ({','.join('?' * len(chunk))})",
                (tenant, *chunk),
            )
            found.update((row[0], VectorRow(row[1], row[2], row[3])) for row in rows)
        return found

    def memory_owners(self, memory_ids: Sequence[str]) -> dict[str, str]:
        return self._owners("memories", memory_ids)

    def namespace_owners(self, namespace_ids: Sequence[str]) -> dict[str, str]:
        return self._owners("namespaces", namespace_ids)

    def _owners(self, table: str, ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunked(ids):
            rows = self._conn.execute(
                f"SELECT id, tenant_id FROM {table} WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    # -- memories: writes --------------------------------------------------------------

    def insert_memories(self, tenant: str, memories: Sequence[Memory]) -> list[int]:
        seqs: list[int] = []
        for memory in memories:
            cursor = self._conn.execute(
                "INSERT INTO memories (id, tenant_id, namespace, content, type, metadata, tags, "
                "created_at, updated_at, accessed_at, access_count, confidence, source, "
                "token_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (memory.id, tenant, memory.namespace, *_memory_fields(memory)),
            )
            seq = int(cursor.lastrowid or 0)
            self._write_tags(seq, memory.tags)
            seqs.append(seq)
        return seqs

    def _write_tags(self, seq: int, tags: Sequence[str]) -> None:
        if tags:
            self._conn.executemany(
                "INSERT OR IGNORE INTO memory_tags (memory_seq, tag) VALUES (?, ?)",
                [(seq, tag) for tag in tags],
            )

    def update_memory(self, tenant: str, memory: Memory) -> int | None:
        row = self._conn.execute(
            "UPDATE memories SET content = ?, metadata = ?, tags = ?, confidence = ?, "
            "updated_at = ?, accessed_at = ?, access_count = ?, token_count = ? "
            "WHERE id = ? AND tenant_id = ? RETURNING seq",
            (
                memory.content,
                _json_or_null(memory.metadata),
                _json_or_null(memory.tags),
                memory.confidence,
                to_micros(memory.updated_at),
                to_micros(memory.accessed_at),
                memory.access_count,
                memory.token_count,
                memory.id,
                tenant,
            ),
        ).fetchone()
        return self._retag(row, memory.tags)

    def _retag(self, row: sqlite3.Row | None, tags: Sequence[str]) -> int | None:
        """After an ``UPDATE … RETURNING seq``: the memory's tag rows replaced; its key."""
        if row is None:
            return None
        self._conn.execute("DELETE FROM memory_tags WHERE memory_seq = ?", (row[0],))
        self._write_tags(row[0], tags)
        return int(row[0])

    def replace_memory(self, tenant: str, memory: Memory) -> int | None:
        row = self._conn.execute(
            "UPDATE memories SET namespace = ?, content = ?, type = ?, metadata = ?, tags = ?, "
            "created_at = ?, updated_at = ?, accessed_at = ?, access_count = ?, confidence = ?, "
            "source = ?, token_count = ? WHERE id = ? AND tenant_id = ? RETURNING seq",
            (
                memory.namespace,
                *_memory_fields(memory),
                memory.id,
                tenant,
            ),
        ).fetchone()
        return self._retag(row, memory.tags)

    def delete_memories(self, tenant: str, memory_ids: Sequence[str]) -> list[int]:
        deleted: list[int] = []
        for chunk in chunked(memory_ids):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"DELETE FROM memories WHERE +tenant_id = ? AND id IN ({marks}) RETURNING seq",
                (tenant, *chunk),
            )
            deleted.extend(row[0] for row in rows)
        return deleted

    def touch_memories(self, tenant: str, memory_ids: Sequence[str], at: datetime) -> int:
        touched = 0
        for chunk in chunked(memory_ids):
            marks = ",".join("?" * len(chunk))
            cursor = self._conn.execute(
                "UPDATE memories SET access_count = access_count + 1, accessed_at = ? "
                f"WHERE +tenant_id = ? AND id IN ({marks})",
                (to_micros(at), tenant, *chunk),
            )
            touched += cursor.rowcount
        return touched

    def delete_memories_before(self, tenant: str, namespace: str, before: datetime) -> list[int]:
        rows = self._conn.execute(
            "DELETE FROM memories WHERE tenant_id = ? AND namespace = ? AND updated_at < ? "
            "RETURNING seq",
            (tenant, namespace, to_micros(before)),
        )
        return [row[0] for row in rows]

    # -- vectors -----------------------------------------------------------------------

    def put_vectors(self, rows: Sequence[VectorRow]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO memory_vectors (memory_seq, model_id, dim, vector) "
            "VALUES (?, ?, ?, ?)",
            [(r.seq, r.model_id, len(r.vector) // 4, r.vector) for r in rows],
        )

    def delete_vectors_except(self, model_id: str) -> int:
        cursor = self._conn.execute("DELETE FROM memory_vectors WHERE model_id != ?", (model_id,))
        return cursor.rowcount

    def iter_vectors(self, model_id: str) -> Iterator[StoredVector]:
        rows = self._conn.execute(
            "SELECT v.memory_seq, m.tenant_id, m.namespace, v.vector FROM memory_vectors v "
            "JOIN memories m ON m.seq = v.memory_seq WHERE v.model_id = ? ORDER BY v.memory_seq",
            (model_id,),
        )
        for row in rows:
            yield StoredVector(row[0], row[1], row[2], row[3])

    def iter_texts(self) -> Iterator[StoredText]:
        rows = self._conn.execute(
            "SELECT seq, tenant_id, namespace, content, tags, created_at FROM memories ORDER BY seq"
        )
        for row in rows:
            tags = json.loads(row[4]) if row[4] else []
            yield StoredText(row[0], row[1], row[2], row[3], tags, from_micros(row[5]))

    def vector_counts(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT model_id, count(*) FROM memory_vectors GROUP BY model_id")
        return {row[0]: int(row[1]) for row in rows}

    def vector_generation(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'vector_generation'")
        return int(row.fetchone()[0])

    def memories_without_vector(
        self, model_id: str, after_seq: int, limit: int
    ) -> list[tuple[int, str, str, str]]:
        rows = self._conn.execute(
            "SELECT m.seq, m.tenant_id, m.namespace, m.content FROM memories m "
            "WHERE m.seq > ? AND NOT EXISTS (SELECT 1 FROM memory_vectors v "
            "WHERE v.memory_seq = m.seq AND v.model_id = ?) ORDER BY m.seq LIMIT ?",
            (after_seq, model_id, limit),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    def total_memories(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM memories").fetchone()[0])

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
        found: list[Edge] = []
        type_clause = f" AND type IN ({','.join('?' * len(types))})" if types else ""
        for column in columns[direction]:
            for chunk in chunked(memory_ids):
                rows = self._conn.execute(
                    "SELECT source_id, target_id, type, weight, metadata, created_at "
                    f"FROM relations WHERE tenant_id = ? AND {column} IN "
                    f"({','.join('?' * len(chunk))}){type_clause} "
                    "ORDER BY created_at, source_id, target_id",
                    (tenant, *chunk, *[t.value for t in types]),
                )
                found.extend(
                    Edge(
                        source_id=row[0],
                        target_id=row[1],
                        type=RelationType(row[2]),
                        weight=row[3],
                        metadata=json.loads(row[4]) if row[4] else None,
                        created_at=from_micros(row[5]),
                    )
                    for row in rows
                )
        return found

    def put_edge(self, tenant: str, edge: Edge) -> None:
        self._conn.execute(
            "INSERT INTO relations (tenant_id, source_id, target_id, type, weight, "
            "metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
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
                to_micros(edge.created_at),
            ),
        )

    def delete_edges(
        self, tenant: str, source_id: str, target_id: str, types: Sequence[RelationType] = ()
    ) -> int:
        sql = "DELETE FROM relations WHERE tenant_id = ? AND source_id = ? AND target_id = ?"
        params: list[Any] = [tenant, source_id, target_id]
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params += [t.value for t in types]
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
        row = self._conn.execute(
            f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = ? AND {column} = ?",
            (tenant, value),
        ).fetchone()
        return None if row is None else _namespace(row)

    def list_namespaces(
        self, tenant: str, page: Page, *, prefix: str | None = None
    ) -> list[Namespace]:
        sql = f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = ?"
        params: list[Any] = [tenant]
        if prefix:
            sql += " AND substr(name, 1, length(?)) = ?"  # case-sensitive, unlike LIKE
            params += [prefix, prefix]
        sql += " ORDER BY created_at, seq LIMIT ? OFFSET ?"
        rows = self._conn.execute(sql, (*params, page.limit, page.offset))
        return [_namespace(row) for row in rows]

    def namespace_children(self, tenant: str, name: str) -> list[Namespace]:
        # Explicit ``parent`` wins; otherwise the parent is the name's prefix.
        prefix = name.rstrip("/") + "/"
        rows = self._conn.execute(
            f"SELECT {_NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = ? AND ("
            "parent = ? OR (parent IS NULL AND substr(name, 1, ?) = ? "
            "AND length(name) > ? AND instr(substr(name, ? + 1), '/') = 0)"
            ") ORDER BY created_at, seq",
            (tenant, name, len(prefix), prefix, len(prefix), len(prefix)),
        )
        return [_namespace(row) for row in rows]

    def count_namespaces(self, tenant: str) -> int:
        row = self._conn.execute("SELECT count(*) FROM namespaces WHERE tenant_id = ?", (tenant,))
        return int(row.fetchone()[0])

    def insert_namespace(self, tenant: str, namespace: Namespace) -> None:
        try:
            self._conn.execute(
                "INSERT INTO namespaces (id, tenant_id, name, parent, template, config, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    namespace.id,
                    tenant,
                    namespace.name,
                    namespace.parent,
                    namespace.template,
                    namespace.config.model_dump_json(),
                    to_micros(namespace.created_at),
                    to_micros(namespace.updated_at),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"namespace already exists: {namespace.name}") from exc

    def update_namespace(self, tenant: str, namespace: Namespace) -> None:
        self._conn.execute(
            "UPDATE namespaces SET config = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
            (
                namespace.config.model_dump_json(),
                to_micros(namespace.updated_at),
                tenant,
                namespace.id,
            ),
        )

    def delete_namespace(self, tenant: str, namespace_id: str) -> None:
        self._conn.execute(
            "DELETE FROM namespaces WHERE tenant_id = ? AND id = ?", (tenant, namespace_id)
        )
