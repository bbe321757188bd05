"""Vector search answered by the database itself (PostgreSQL + pgvector).

Nodes over one database keep no index of their own: a memory written through one node
is found by the next search on any other, and nothing is loaded at start-up. The
engine talks to this class as it talks to the in-process ``VectorIndex``; writes need
nothing here, since the store keeps each embedding in the write's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from maia.retrieval.embed.base import Vectors
from maia.retrieval.index.exact import Keys
from maia.retrieval.index.vectors import Scope, Vector


@runtime_checkable
class VectorDatabase(Protocol):
    """What a store that searches its own embeddings offers (``PostgresStore``)."""

    def search_vectors(
        self,
        tenant: str,
        query: npt.ArrayLike,
        namespaces: tuple[str, ...] | None,
        include_descendants: bool,
        k: int,
        allowed_seqs: npt.ArrayLike | None,
        model_id: str,
    ) -> list[tuple[int, float]]: ...

    def vectors_by_seq(self, seqs: Sequence[int], model_id: str) -> dict[int, Vector]: ...

    def count_vectors(self, model_id: str) -> int: ...


class DatabaseVectorIndex:
    """The ``VectorIndex`` interface over a ``VectorDatabase``."""

    def __init__(self, database: VectorDatabase, model_id: str) -> None:
        self.database = database
        self.model_id = model_id

    def __len__(self) -> int:
        return self.database.count_vectors(self.model_id)

    def add(self, items: Sequence[tuple[int, str, str]], vectors: npt.NDArray[np.float32]) -> None:
        """Nothing to do: the embeddings were stored with their memories."""

    def remove(self, keys: Iterable[int]) -> None:
        """Nothing to do: embeddings are deleted with their memories."""

    def vectors(self, keys: Iterable[int]) -> dict[int, Vector]:
        wanted = list(dict.fromkeys(keys))
        return self.database.vectors_by_seq(wanted, self.model_id) if wanted else {}

    def matrix(self, keys: Iterable[int]) -> tuple[list[int], Vectors]:
        found = self.vectors(keys)
        if not found:
            return [], np.empty((0, 0), dtype=np.float32)
        return list(found), np.array(list(found.values()), dtype=np.float32)

    def search(
        self, query: Vector, scope: Scope, k: int, *, allowed: Keys | None = None
    ) -> list[tuple[int, float]]:
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        return self.database.search_vectors(
            scope.tenant, query, scope.namespaces, scope.descendants, k, allowed, self.model_id
        )
