"""The vector index: exact blocks per namespace plus an HNSW graph (usearch) over all.

It is derived data: built from the store's embeddings, persisted next to the database
with a checksum and the store's vector generation, and rebuilt when missing, stale or
corrupt. The planner scans exactly when the candidate set is small (one namespace, a
filter) and asks the HNSW graph otherwise. The graph stores its own (by default f16)
copy of the vectors and only proposes candidates: they are re-ranked by their exact
f32 cosine from the blocks, so both paths report the same scores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from maia.retrieval.embed.base import Vectors
from maia.retrieval.index.exact import Block, Keys, scan, top_k

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where to search: a tenant, and optionally namespaces (with their descendants)."""

    tenant: str
    namespaces: tuple[str, ...] | None = None
    descendants: bool = False

    def covers(self, namespace: str) -> bool:
        if self.namespaces is None:
            return True
        for name in self.namespaces:
            if namespace == name or (
                self.descendants and namespace.startswith(name.rstrip("/") + "/")
            ):
                return True
        return False


class VectorSearch(Protocol):
    """What the engine asks of a vector index: the in-process ``VectorIndex`` (derived
    from the store, loaded at start-up) or the database's own (``DatabaseVectorIndex``)."""

    def __len__(self) -> int: ...

    def add(
        self, items: Sequence[tuple[int, str, str]], vectors: npt.NDArray[np.float32]
    ) -> None: ...

    def remove(self, keys: Iterable[int]) -> None: ...

    def vectors(self, keys: Iterable[int]) -> dict[int, Vector]: ...

    def matrix(self, keys: Iterable[int]) -> tuple[list[int], Vectors]: ...

    def search(
        self, query: Vector, scope: Scope, k: int, *, allowed: Keys | None = None
    ) -> list[tuple[int, float]]: ...


HnswDtype = Literal["f16", "f32", "i8"]


@dataclass(frozen=True, slots=True)
class HnswParams:
    """The HNSW graph's options. ``dtype`` is how the graph stores its copy of the
    vectors (f16: half the memory and faster distances than f32, at a precision the
    exact re-ranking makes up for; i8 is coarse for unit vectors). Measured on 100K
    embedding-like 384-d vectors (docs/benchmarks.md), these defaults give recall@10
    of about 0.99 at under 1 ms per search and per insert; ``expansion_search`` trades
    latency for recall."""

    connectivity: int = 16
    expansion_add: int = 64
    expansion_search: int = 64
    dtype: HnswDtype = "f16"


def _load_onnxruntime_first() -> None:
    """usearch's extension links its own libstdc++ and exports its symbols as GNU-unique,
    which bind process-wide: onnxruntime imported after it crashes (segfault) on import.
    Imported before it, both work. (The local embedder imports onnxruntime itself, but a
    process may open a store with another embedder first.)"""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401


class VectorIndex:
    """Thread-safe: one lock guards changes and searches (searches take milliseconds)."""

    def __init__(
        self,
        dim: int,
        *,
        exact_limit: int = 20_000,
        hnsw: HnswParams | None = None,
    ) -> None:
        _load_onnxruntime_first()
        from usearch.index import Index

        self.dim = dim
        self.exact_limit = exact_limit
        self._hnsw_params = hnsw or HnswParams()
        self._blocks: dict[tuple[str, str], Block] = {}
        self._where: dict[int, Block] = {}  # the block holding each key
        self._lock = threading.Lock()
        self._index_cls = Index
        self._hnsw = self._new_hnsw()

    def _new_hnsw(self) -> object:
        p = self._hnsw_params
        return self._index_cls(
            ndim=self.dim,
            metric="cos",
            dtype=p.dtype,
            connectivity=p.connectivity,
            expansion_add=p.expansion_add,
            expansion_search=p.expansion_search,
        )

    def __len__(self) -> int:
        return len(self._where)

    # -- changes -------------------------------------------------------------------------

    def add(self, items: Sequence[tuple[int, str, str]], vectors: npt.NDArray[np.float32]) -> None:
        """Adds (or replaces) ``(key, tenant, namespace)`` rows with their vectors."""
        if not items:
            return
        with self._lock:
            replaced = [key for key, _, _ in items if key in self._where]
            if replaced:
                self._remove_locked(replaced)
            self._place(items, vectors)
            keys = np.fromiter((key for key, _, _ in items), np.int64, len(items))
            self._hnsw.add(keys, vectors, threads=1)  # type: ignore[attr-defined]

    def _place(
        self, items: Sequence[tuple[int, str, str]], vectors: npt.NDArray[np.float32]
    ) -> None:
        for (key, tenant, namespace), vector in zip(items, vectors, strict=True):
            block = self._blocks.get((tenant, namespace))
            if block is None:
                block = self._blocks[(tenant, namespace)] = Block(self.dim, (tenant, namespace))
            block.add(key, vector)
            self._where[key] = block

    def remove(self, keys: Iterable[int]) -> None:
        with self._lock:
            self._remove_locked([key for key in keys if key in self._where])

    def _remove_locked(self, keys: list[int]) -> None:
        for key in keys:
            self._where.pop(key).remove(key)
        if keys:
            self._hnsw.remove(np.array(keys, dtype=np.int64))  # type: ignore[attr-defined]

    # -- reads ---------------------------------------------------------------------------

    def vectors(self, keys: Iterable[int]) -> dict[int, Vector]:
        """The stored vectors of those keys that are indexed."""
        found, matrix = self.matrix(keys)
        return dict(zip(found, matrix, strict=True))

    def matrix(self, keys: Iterable[int]) -> tuple[list[int], Vectors]:
        """The keys of ``keys`` that are indexed (each once), and their vectors as the
        rows of one matrix, in that order."""
        found: list[int] = []
        parts: list[Vectors] = []
        with self._lock:
            unique = list(dict.fromkeys(keys))
            wheres = list(map(self._where.get, unique))
            picked: dict[Block, list[int]] = {}
            homes = {where for where in set(wheres) if where is not None}
            if len(homes) == 1:  # the usual case, one namespace: no loop in Python
                picked[homes.pop()] = (
                    unique if None not in wheres else list(compress(unique, wheres))
                )
            else:
                for key, where in zip(unique, wheres, strict=True):
                    if where is not None:
                        picked.setdefault(where, []).append(key)
            # One copy per block (rows move when a key is removed).
            for block, picked_keys in picked.items():
                found.extend(picked_keys)
                rows = np.fromiter(map(block.rows.__getitem__, picked_keys), np.intp)
                parts.append(block.matrix.take(rows, axis=0))
        if not parts:
            return [], np.empty((0, self.dim), dtype=np.float32)
        return found, parts[0] if len(parts) == 1 else np.concatenate(parts)

    def search(
        self, query: Vector, scope: Scope, k: int, *, allowed: Keys | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest keys within ``scope`` (and ``allowed``), by cosine similarity."""
        if k <= 0:
            return []
        with self._lock:
            blocks = [
                block
                for (tenant, namespace), block in self._blocks.items()
                if tenant == scope.tenant and block.size and scope.covers(namespace)
            ]
            candidates = sum(block.size for block in blocks)
            if allowed is not None:
                candidates = min(candidates, len(allowed))
            if candidates <= self.exact_limit:
                return scan(blocks, query, k, allowed)
            return self._search_hnsw(query, scope, k, allowed, blocks)

    def _search_hnsw(
        self,
        query: Vector,
        scope: Scope,
        k: int,
        allowed: Keys | None,
        blocks: list[Block],
    ) -> list[tuple[int, float]]:
        # Over-fetch, keep what lies in scope, re-rank that by the exact f32 cosine (the
        # graph's distances are approximate: f16 vectors); fall back to an exact scan
        # if too little lies in scope.
        total = len(self._where)
        in_scope = sum(block.size for block in blocks)
        fraction = max(in_scope / max(total, 1), 1e-6)
        fetch = min(total, max(4 * k, int(2 * k / fraction)), 10_000)
        matches = self._hnsw.search(query, fetch, threads=1)  # type: ignore[attr-defined]
        allowed_set = None if allowed is None else set(allowed.tolist())
        rows: dict[Block, list[int]] = {}
        found = 0
        for key in matches.keys.tolist():
            block = self._where.get(key)
            if block is None or block.home[0] != scope.tenant or not scope.covers(block.home[1]):
                continue
            if allowed_set is not None and key not in allowed_set:
                continue
            row = block.rows.get(key)
            if row is not None:
                rows.setdefault(block, []).append(row)
                found += 1
        if found < min(k, in_scope):
            return scan(blocks, query, k, allowed)
        return top_k([block.rescore(picked, query) for block, picked in rows.items()], k)

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: Path, *, model_id: str, generation: int) -> None:
        """Writes the HNSW graph and a sidecar with its checksum and provenance."""
        with self._lock:
            tmp = path.with_suffix(".tmp")
            self._hnsw.save(str(tmp))  # type: ignore[attr-defined]
            digest = _sha256(tmp)
            tmp.replace(path)
            meta = {
                "model_id": model_id,
                "generation": generation,
                "count": len(self._where),
                "sha256": digest,
                "dim": self.dim,
                "dtype": self._hnsw_params.dtype,
                "connectivity": self._hnsw_params.connectivity,
            }
            sidecar = path.with_suffix(".json")
            sidecar.with_suffix(".tmp.json").write_text(json.dumps(meta))
            sidecar.with_suffix(".tmp.json").replace(sidecar)

    def attach_hnsw(self, path: Path, *, model_id: str, generation: int) -> bool:
        """Uses the saved HNSW graph if it matches; False means it must be rebuilt.

        A graph saved with other options (``dtype``, ``connectivity``; files from before
        they were recorded hold f32 graphs) is stale: usearch would load it as it was
        saved, whatever this index was configured with."""
        sidecar = path.with_suffix(".json")
        if not path.is_file() or not sidecar.is_file():
            return False
        try:
            meta = json.loads(sidecar.read_text())
            p = self._hnsw_params
            expected = (model_id, generation, len(self._where), self.dim, p.dtype, p.connectivity)
            found = (
                meta["model_id"],
                meta["generation"],
                meta["count"],
                meta["dim"],
                meta.get("dtype", "f32"),
                meta.get("connectivity"),
            )
            if found != expected:
                log.warning(
                    "vector index %s is stale (%s != %s); rebuilding", path, found, expected
                )
                return False
            if _sha256(path) != meta["sha256"]:
                log.warning("vector index %s is corrupt (checksum); rebuilding", path)
                return False
            hnsw = self._new_hnsw()
            hnsw.load(str(path))  # type: ignore[attr-defined]
            loaded = (
                hnsw.ndim,  # type: ignore[attr-defined]
                hnsw.dtype.name.lower(),  # type: ignore[attr-defined]
                hnsw.connectivity,  # type: ignore[attr-defined]
                len(hnsw),  # type: ignore[arg-type]
            )
            if loaded != (self.dim, p.dtype, p.connectivity, len(self._where)):
                log.warning("vector index %s does not match its sidecar; rebuilding", path)
                return False
        except Exception as exc:  # a damaged file must never stop the server
            log.warning("vector index %s unreadable (%s); rebuilding", path, exc)
            return False
        with self._lock:
            self._hnsw = hnsw
        return True

    def load(self, rows: Iterable[tuple[int, str, str, bytes]]) -> None:
        """Bulk-loads stored embeddings into the exact blocks (start-up)."""
        items: list[tuple[int, str, str]] = []
        vectors: list[Vector] = []
        for key, tenant, namespace, raw in rows:
            vector = np.frombuffer(raw, dtype=np.float32)
            if vector.shape == (self.dim,):
                items.append((key, tenant, namespace))
                vectors.append(vector)
        if items:
            with self._lock:
                self._place(items, np.vstack(vectors))

    def rebuild_hnsw(self) -> None:
        """A fresh HNSW graph over every indexed vector (all cores)."""
        hnsw = self._new_hnsw()
        with self._lock:
            blocks = [b for b in self._blocks.values() if b.size]
            if blocks:
                keys = np.concatenate([b.keys[: b.size] for b in blocks])
                matrix = np.vstack([b.matrix[: b.size] for b in blocks])
                hnsw.add(keys, matrix, threads=0)  # type: ignore[attr-defined]
            self._hnsw = hnsw


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
