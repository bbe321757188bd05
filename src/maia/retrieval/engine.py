"""The retrieval engine: embeddings on write, and fused ranking on read.

It owns the embedder and the vector index; the store stays the source of truth
(embeddings are stored next to their memory, the index is rebuilt from them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from maia.models import Memory, MemoryFilter, RelationType
from maia.retrieval.analyzer import QueryAnalysis
from maia.retrieval.embed.base import Embedder, Vectors
from maia.retrieval.fusion import Candidate, FusionMode, Scored, fuse
from maia.retrieval.graph import proximity
from maia.retrieval.index.vectors import Scope, Vector, VectorIndex
from maia.retrieval.spans import span
from maia.retrieval.text import STOP_WORDS, keywords, split_attribution, words
from maia.retrieval.tokens import TokenCounter
from maia.store.base import StoreReader, VectorRow

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.usearch"
FEEDBACK_SEEDS = 3  # best candidates the query vector moves toward
SEEDS = 10  # how many of the best candidates lend signals to their neighbours
CONTEXT_RADIUS = 2  # memories written this close to a seed (same namespace) are context


def embedding_text(content: str) -> str:
    """What is embedded for a memory: its words without a leading speaker attribution
    (a short line's meaning would otherwise be dominated by the speaker's name)."""
    return split_attribution(content).text


def query_embedding_text(analysis: QueryAnalysis, speakers: set[str]) -> str:
    """The query as embedded: without the names of speakers it mentions. Who said
    something is matched as a field (full text, the ``entity`` signal); left in, a name
    pulls the query toward every line that speaker said rather than toward the topic."""
    text = analysis.query
    for entity in analysis.entities:
        if entity.lower() in speakers:
            text = re.sub(rf"\b{re.escape(entity)}(?:['’]s)?\b", " ", text)
    text = " ".join(text.split())
    return text if keywords(text) and set(keywords(text)) - STOP_WORDS else analysis.query


@dataclass(frozen=True, slots=True)
class Ranked:
    key: int
    memory: Memory
    score: float
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """Everything one ranked search needs, decided by the service."""

    tenant: str
    query: str
    analysis: QueryAnalysis
    filter: MemoryFilter
    limit: int
    weights: dict[str, float]
    mode: FusionMode = FusionMode.WEIGHTED
    now: datetime | None = None
    time_filter: bool = False
    pool: int = 100
    # A memory no query word matches must be at least this similar to be a result.
    min_similarity: float = 0.15
    half_life_days: float = 30.0
    feedback: float = 0.0


class RetrievalEngine:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        index_path: Path | None,
        tokens: TokenCounter,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.index_path = index_path
        self.tokens = tokens

    # -- lifecycle -----------------------------------------------------------------------

    def load(self, reader: StoreReader) -> None:
        """Fills the index from stored embeddings; reuses the saved HNSW graph if fresh."""
        counts = reader.vector_counts()
        stale = {m: n for m, n in counts.items() if m != self.embedder.model_id}
        if stale:
            log.warning(
                "embeddings of another model are stored (%s); the current model is %s: "
                "run `maia reindex` to re-embed",
                ", ".join(f"{m}: {n}" for m, n in stale.items()),
                self.embedder.model_id,
            )
        self.index.load(
            (v.seq, v.tenant, v.namespace, v.vector)
            for v in reader.iter_vectors(self.embedder.model_id)
        )
        generation = reader.vector_generation()
        if self.index_path is not None and self.index.attach_hnsw(
            self.index_path, model_id=self.embedder.model_id, generation=generation
        ):
            return
        if self.index_path is not None and self.index_path.exists():
            log.warning("rebuilding the vector index %s", self.index_path)
        self.index.rebuild_hnsw()

    def save(self, reader: StoreReader) -> None:
        if self.index_path is not None:
            self.index.save(
                self.index_path,
                model_id=self.embedder.model_id,
                generation=reader.vector_generation(),
            )

    # -- writes --------------------------------------------------------------------------

    def embed_contents(self, contents: Sequence[str]) -> Vectors:
        with span("maia.embed", texts=len(contents)):
            return self.embedder.embed([embedding_text(c) for c in contents])

    def vector_rows(self, seqs: Sequence[int], vectors: Vectors) -> list[VectorRow]:
        model = self.embedder.model_id
        return [
            VectorRow(seq, model, vector.astype(np.float32).tobytes())
            for seq, vector in zip(seqs, vectors, strict=True)
        ]

    def indexed(self, items: Sequence[tuple[int, str, str]], vectors: Vectors) -> None:
        """Makes committed embeddings searchable."""
        self.index.add(items, vectors)

    def forget(self, seqs: Sequence[int]) -> None:
        self.index.remove(seqs)

    # -- reads ---------------------------------------------------------------------------

    def search(self, reader: StoreReader, plan: SearchPlan) -> list[Ranked]:
        with span("maia.search", candidates=plan.pool):
            return self._search(reader, plan)

    def _search(self, reader: StoreReader, plan: SearchPlan) -> list[Ranked]:
        flt = plan.filter
        period = plan.analysis.time
        in_period = flt
        if period is not None:
            in_period = flt.model_copy(
                update={
                    "created_after": _later(flt.created_after, period.start),
                    "created_before": _earlier(flt.created_before, period.end),
                }
            )
            if plan.time_filter:
                flt = in_period
        text_query = " ".join(plan.analysis.keywords) or plan.query
        text_hits = reader.search_text(plan.tenant, text_query, flt, plan.pool)
        speakers = {
            speaker.lower()
            for hit in text_hits
            if (speaker := split_attribution(hit.memory.content).speaker)
        }
        with span("maia.embed", texts=1):
            query_vector = self.embedder.embed([query_embedding_text(plan.analysis, speakers)])[0]
        allowed = None
        if _narrows_beyond_namespace(flt):
            allowed = np.array(sorted(reader.seqs_matching(plan.tenant, flt)), dtype=np.int64)
        scope = Scope(
            plan.tenant,
            None if flt.namespace is None else (flt.namespace,),
            flt.include_descendants,
        )
        vector_hits = dict(self.index.search(query_vector, scope, plan.pool, allowed=allowed))
        if period is not None and not plan.time_filter:
            # The period the query names is evidence of its own: "what happened yesterday"
            # shares no words with its answers and is barely similar to them.
            seqs = np.array(sorted(reader.seqs_matching(plan.tenant, in_period)), dtype=np.int64)
            for seq, score in self.index.search(query_vector, scope, plan.pool, allowed=seqs):
                vector_hits.setdefault(seq, score)

        memories = {hit.seq: hit.memory for hit in text_hits}
        missing = [seq for seq in vector_hits if seq not in memories]
        memories.update(reader.memories_by_seq(plan.tenant, missing, flt))
        bm25 = {hit.seq: hit.bm25 for hit in text_hits}
        pool = _Pool(plan, query_vector, self.index, bm25)
        pool.add(
            memories,
            keep=lambda seq, sim: (
                seq in bm25
                or (sim or 0.0) >= plan.min_similarity
                or _in_time(plan.analysis, memories[seq]) > 0
            ),
        )
        if not pool.candidates:
            return []
        if plan.feedback > 0:
            self._feedback(reader, plan, flt, pool, scope, allowed)
        self._expand(reader, plan, flt, pool)
        scored: list[Scored] = fuse(
            pool.candidates,
            plan.weights,
            mode=plan.mode,
            half_life_days=plan.half_life_days,
            vector_floor=plan.min_similarity,
        )
        return [
            Ranked(s.key, pool.memories[s.key], s.score, s.signals) for s in scored[: plan.limit]
        ]

    def _feedback(
        self,
        reader: StoreReader,
        plan: SearchPlan,
        flt: MemoryFilter,
        pool: _Pool,
        scope: Scope,
        allowed: npt.NDArray[np.int64] | None,
    ) -> None:
        """Pseudo-relevance feedback: the query vector moves toward its best matches
        (Rocchio), then a second vector search finds what the first phrasing missed."""
        preliminary = fuse(
            pool.candidates, plan.weights, mode=plan.mode, vector_floor=plan.min_similarity
        )
        vectors = self.index.vectors(s.key for s in preliminary[:FEEDBACK_SEEDS])
        if not vectors:
            return
        centroid = np.mean(np.stack(list(vectors.values())), axis=0)
        moved = pool.query_vector + plan.feedback * centroid
        moved = (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)
        pool.requery(moved)
        more = [seq for seq, _ in self.index.search(moved, scope, plan.pool, allowed=allowed)]
        new = [seq for seq in more if seq not in pool.memories]
        pool.add(reader.memories_by_seq(plan.tenant, new, flt), keep=pool.relevant)

    def _expand(
        self, reader: StoreReader, plan: SearchPlan, flt: MemoryFilter, pool: _Pool
    ) -> None:
        """Signals that depend on the best candidates: relations to them (``graph``) and
        being written right before or after them in the same namespace (``context``)."""
        graph, context = plan.weights.get("graph", 0.0), plan.weights.get("context", 0.0)
        if graph <= 0 and context <= 0:
            return
        preliminary = fuse(
            pool.candidates,
            {**plan.weights, "graph": 0.0, "context": 0.0},
            mode=plan.mode,
            vector_floor=plan.min_similarity,
        )
        seeds = {s.key: s.score for s in preliminary[:SEEDS]}
        if graph > 0:
            by_id = {pool.memories[key].id: score for key, score in seeds.items()}
            edges = reader.edges(
                plan.tenant,
                list(by_id),
                types=[t for t in RelationType if t is not RelationType.SUPERSEDES],
                direction="both",
            )
            boosts = proximity(by_id, edges)
            for candidate in pool.candidates:
                candidate.graph = boosts.get(pool.memories[candidate.key].id, 0.0)
        if context > 0:
            near: dict[int, float] = {}
            for seed, found in reader.neighbors(plan.tenant, list(seeds), CONTEXT_RADIUS).items():
                for seq, distance in found:
                    near[seq] = max(near.get(seq, 0.0), seeds[seed] / (2 ** (distance - 1)))
            new = [seq for seq in near if seq not in pool.memories]
            # Neighbours join only if relevant on their own (a word or enough similarity).
            pool.add(reader.memories_by_seq(plan.tenant, new, flt), keep=pool.relevant)
            for candidate in pool.candidates:
                candidate.context = near.get(candidate.key, 0.0)


class _Pool:
    """The candidates of one search, with the memory each stands for."""

    def __init__(
        self,
        plan: SearchPlan,
        query_vector: Vector,
        index: VectorIndex,
        bm25: dict[int, float],
    ) -> None:
        self.plan = plan
        self.query_vector = query_vector
        self.index = index
        self.bm25 = bm25
        self.memories: dict[int, Memory] = {}
        self.candidates: list[Candidate] = []

    def requery(self, query_vector: Vector) -> None:
        """Measures every candidate's similarity against a new query vector."""
        self.query_vector = query_vector
        vectors = self.index.vectors(self.memories)
        for candidate in self.candidates:
            if candidate.key in vectors:
                candidate.vector = float(vectors[candidate.key] @ query_vector)

    def relevant(self, seq: int, similarity: float | None) -> bool:
        """A word of the query matches, or the meaning is close enough."""
        return seq in self.bm25 or (similarity or 0.0) >= self.plan.min_similarity

    def add(self, memories: dict[int, Memory], keep: Callable[[int, float | None], bool]) -> None:
        vectors = self.index.vectors(memories)
        if not memories:
            return
        now = self.plan.now or max(m.created_at for m in memories.values())
        for seq, memory in memories.items():
            similarity = float(vectors[seq] @ self.query_vector) if seq in vectors else None
            if seq in self.memories or not keep(seq, similarity):
                continue
            self.memories[seq] = memory
            self.candidates.append(
                Candidate(
                    key=seq,
                    vector=similarity,
                    text=self.bm25.get(seq),
                    age_days=(now - memory.created_at).total_seconds() / 86400,
                    access_count=memory.access_count,
                    confidence=memory.confidence,
                    entity=_entity_match(self.plan.analysis, memory),
                    time=_in_time(self.plan.analysis, memory),
                )
            )


def _narrows_beyond_namespace(flt: MemoryFilter) -> bool:
    return bool(
        flt.types
        or flt.tags
        or flt.sources
        or flt.min_confidence is not None
        or flt.created_after is not None
        or flt.created_before is not None
    )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _entity_match(analysis: QueryAnalysis, memory: Memory) -> float:
    """How much the memory is about the query's entities: a memory *spoken by* one
    (first-hand) counts fully, one that only mentions it counts half."""
    if not analysis.entities:
        return 0.0
    attribution = split_attribution(memory.content)
    speaker = (attribution.speaker or "").lower()
    text_words = set(words(attribution.text))
    total = 0.0
    for entity in analysis.entities:
        parts = words(entity)
        if entity.lower() == speaker:
            total += 1.0
        elif parts and all(p in text_words for p in parts):
            total += 0.5
    return total / len(analysis.entities)


def _in_time(analysis: QueryAnalysis, memory: Memory) -> float:
    return 1.0 if analysis.time is not None and analysis.time.contains(memory.created_at) else 0.0
