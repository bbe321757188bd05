"""Exact vector search over in-memory blocks, one block per (tenant, namespace)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from maia.retrieval.embed.base import Vectors

Keys = npt.NDArray[np.int64]


@dataclass
class Block:
    """A growable matrix of unit vectors and their keys; removal swaps in the last row."""

    dim: int
    keys: Keys = field(init=False)
    matrix: Vectors = field(init=False)
    size: int = 0
    rows: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = np.zeros(16, dtype=np.int64)
        self.matrix = np.zeros((16, self.dim), dtype=np.float32)

    def add(self, key: int, vector: npt.NDArray[np.float32]) -> None:
        row = self.rows.get(key)
        if row is None:
            if self.size == len(self.keys):
                self._grow()
            row = self.size
            self.size += 1
            self.rows[key] = row
            self.keys[row] = key
        self.matrix[row] = vector

    def _grow(self) -> None:
        capacity = len(self.keys) * 2
        keys = np.zeros(capacity, dtype=np.int64)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        keys[: self.size] = self.keys[: self.size]
        matrix[: self.size] = self.matrix[: self.size]
        self.keys, self.matrix = keys, matrix

    def remove(self, key: int) -> bool:
        row = self.rows.pop(key, None)
        if row is None:
            return False
        last = self.size - 1
        if row != last:
            moved = int(self.keys[last])
            self.keys[row] = moved
            self.matrix[row] = self.matrix[last]
            self.rows[moved] = row
        self.size = last
        return True

    def vector(self, key: int) -> npt.NDArray[np.float32] | None:
        row = self.rows.get(key)
        return None if row is None else self.matrix[row]

    def scores(self, query: npt.NDArray[np.float32]) -> tuple[Keys, npt.NDArray[np.float32]]:
        # einsum, not BLAS: OpenBLAS splits a matrix-vector product over threads that
        # spin while waiting, which made a 10K scan 10x slower on a busy 2-core machine.
        return self.keys[: self.size], np.einsum("ij,j->i", self.matrix[: self.size], query)

    def rescore(
        self, rows: list[int], query: npt.NDArray[np.float32]
    ) -> tuple[Keys, npt.NDArray[np.float32]]:
        """The keys and exact scores of some rows (candidates from the HNSW graph)."""
        picked = np.fromiter(rows, np.intp, len(rows))
        return self.keys[picked], np.einsum("ij,j->i", self.matrix[picked], query)


def top_k(
    parts: Iterable[tuple[Keys, npt.NDArray[np.float32]]],
    k: int,
    allowed: Keys | None = None,
) -> list[tuple[int, float]]:
    """The ``k`` best (key, score) pairs over several blocks' scores, best first.
    ``allowed`` (keys) restricts the candidates."""
    key_parts: list[Keys] = []
    score_parts: list[npt.NDArray[np.float32]] = []
    for keys, scores in parts:
        if allowed is not None:
            mask = np.isin(keys, allowed, assume_unique=True)
            keys, scores = keys[mask], scores[mask]
        key_parts.append(keys)
        score_parts.append(scores)
    if not key_parts or k <= 0:
        return []
    keys = np.concatenate(key_parts)
    scores = np.concatenate(score_parts)
    if len(keys) > k:
        best = np.argpartition(-scores, k - 1)[:k]
        keys, scores = keys[best], scores[best]
    order = np.lexsort((keys, -scores))
    return [(int(keys[i]), float(scores[i])) for i in order]
