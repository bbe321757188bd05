"""Typed, weighted relations between memories, and traversal."""

from __future__ import annotations

from collections.abc import Sequence

from maia.errors import InvalidInput, NotFound
from maia.models import Edge, RelatedMemory, RelationCreate, RelationType
from maia.retrieval.graph import traverse
from maia.service.search import SearchOps
from maia.store.base import StoreReader, relation_size

MAX_DEPTH = 5


class RelationOps(SearchOps):
    def relate(self, source_id: str, data: RelationCreate) -> Edge:
        """Creates (or replaces) the relation ``source -[type]-> target``.

        ``A supersedes B`` hides B from search unless superseded memories are asked for.
        """
        if source_id == data.target_id:
            raise InvalidInput(
                "invalid target_id: a memory cannot relate to itself", field="target_id"
            )
        edge = Edge(
            source_id=source_id,
            target_id=data.target_id,
            type=data.type,
            weight=data.weight,
            metadata=data.metadata or None,
            created_at=self._clock(),
        )
        with self._write() as tx:
            found = {
                m.id: m.namespace
                for m in tx.get_memories(self._tenant, [source_id, data.target_id])
            }
            for memory_id in (source_id, data.target_id):
                if memory_id not in found:
                    raise NotFound(f"memory not found: {memory_id}")
                self._authorize(found[memory_id])
            replaced = [
                e
                for e in tx.edges(self._tenant, [source_id], types=[edge.type])
                if e.target_id == edge.target_id
            ]
            self._enforce_storage_growth(
                tx, relation_size(edge) - sum(relation_size(e) for e in replaced)
            )
            tx.put_edge(self._tenant, edge)
        self._record(
            "relation.create",
            source_id,
            target_id=data.target_id,
            type=data.type.value,
            namespace=found[source_id],
        )
        return edge

    def unrelate(self, source_id: str, target_id: str, types: Sequence[RelationType] = ()) -> int:
        """Deletes relations from source to target (of ``types``, or all)."""
        with self._write() as tx:
            source = tx.get_memory(self._tenant, source_id)
            if source is not None:
                self._authorize(source.namespace)
            deleted = tx.delete_edges(self._tenant, source_id, target_id, types)
        if not deleted:
            raise NotFound(f"relation not found: {source_id} -> {target_id}")
        self._record(
            "relation.delete",
            source_id,
            target_id=target_id,
            types=[t.value for t in types],
            deleted=deleted,
        )
        return deleted

    def relations(self, memory_id: str, *, direction: str = "both") -> list[Edge]:
        """The memory's edges; for a key limited to some namespaces, only those whose
        other end lies in them (an edge's far end and metadata are that memory's too)."""
        with self._store.read() as tx:
            self._require_memory(tx, memory_id)
            edges = tx.edges(self._tenant, [memory_id], direction=direction)
            if not self._principal.restricted or not edges:
                return edges
            ends = [e.target_id if e.source_id == memory_id else e.source_id for e in edges]
            visible = {
                m.id
                for m in tx.get_memories(self._tenant, list(set(ends)))
                if self._principal.may_use(m.namespace)
            }
        return [e for e, end in zip(edges, ends, strict=True) if end in visible]

    def _require_memory(self, tx: StoreReader, memory_id: str) -> None:
        memory = tx.get_memory(self._tenant, memory_id)
        if memory is None:
            raise NotFound(f"memory not found: {memory_id}")
        self._authorize(memory.namespace)

    def related(
        self,
        memory_id: str,
        *,
        depth: int = 1,
        types: Sequence[RelationType] = (),
        min_weight: float = 0.0,
    ) -> list[RelatedMemory]:
        """Memories reachable within ``depth`` hops (breadth first, cycle-safe)."""
        if not 1 <= depth <= MAX_DEPTH:
            raise InvalidInput(f"invalid depth: must be between 1 and {MAX_DEPTH}", field="depth")
        if not 0.0 <= min_weight <= 1.0:
            raise InvalidInput("invalid min_weight: must be between 0 and 1", field="min_weight")
        with self._store.read() as tx:
            self._require_memory(tx, memory_id)
            reached = traverse(
                memory_id,
                lambda ids: tx.edges(self._tenant, ids, types=types, direction="both"),
                depth=depth,
                min_weight=min_weight,
            )
            memories = {
                m.id: m for m in tx.get_memories(self._tenant, [r.memory_id for r in reached])
            }
        return [
            RelatedMemory(memory=memories[r.memory_id], depth=r.depth, relation=r.edge)
            for r in reached
            if r.memory_id in memories and self._principal.may_use(memories[r.memory_id].namespace)
        ]
