"""The retrieval engine: embeddings on write, and fused ranking on read.

It owns the embedder and the vector index; the store stays the source of truth
(embeddings are stored next to their memory, the index is rebuilt from them).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from maia.models import Memory, MemoryFilter, RelationType
from maia.retrieval.analyzer import QueryAnalysis
from maia.retrieval.embed.base import Embedder, Vectors
from maia.retrieval.entities import attribution, entity_matcher
from maia.retrieval.fusion import FusionMode, Scored, SignalTable, fuse
from maia.retrieval.graph import proximity
from maia.retrieval.index.fulltext import TextIndex
from maia.retrieval.index.order import OrderIndex
from maia.retrieval.index.speakers import SpeakerIndex
from maia.retrieval.index.vectors import Scope, Vector, VectorIndex, VectorSearch
from maia.retrieval.spans import span
from maia.retrieval.text import STOP_WORDS, keywords, question_share, split_attribution, words
from maia.retrieval.tokens import TokenCounter
from maia.store.base import RankRow, StoredText, StoreReader, VectorRow
from maia.store.timestamps import to_micros

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.usearch"
FEEDBACK_SEEDS = 3  # best candidates the query vector moves toward
SEEDS = 10  # how many of the best candidates lend signals to their neighbours
CONTEXT_RADIUS = 2  # memories written this close to a seed (same namespace) are context
# ...and this close in time: a conversation's turns follow each other within minutes,
# while notes written hours or days apart are no context for each other.
CONTEXT_WITHIN_US = 3600 * 1_000_000
PREVIOUS_TEXT_SHARE = 0.5  # of its predecessor's BM25 a memory's text signal keeps
QUERY_EMBED_WORKERS = 2  # query embeddings running beside full-text searches
SPEAKER_SCOPES = 4096
SPEAKERS_PER_SCOPE = 256
QUESTION_SHARES = 16384  # memories whose share of questions is remembered


def embedding_text(content: str) -> str:
    """What is embedded for a memory: its words without a leading speaker attribution
    (a short line's meaning would otherwise be dominated by the speaker's name)."""
    return split_attribution(content).text


def query_embedding_text(analysis: QueryAnalysis, speakers: AbstractSet[str]) -> str:
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
class Hit:
    """A ranked candidate as ranking read it (a light row, not a whole memory)."""

    key: int
    row: RankRow
    score: float
    signals: dict[str, float] = field(default_factory=dict)


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
    pool: int = 60
    # A memory no query word matches must be at least this similar to be a result.
    min_similarity: float = 0.15
    half_life_days: float = 30.0
    feedback: float = 0.0


class RetrievalEngine:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorSearch,
        index_path: Path | None,
        tokens: TokenCounter,
        texts: TextIndex | None = None,
        order: OrderIndex | None = None,
        speakers: SpeakerIndex | None = None,
    ) -> None:
        self.embedder = embedder
        self.index = index
        # Word matches from memory; without it (PostgreSQL), the store's full text.
        self.texts = texts
        # What was written before and after what, from memory; without it, the store.
        self.order = order
        # Who speaks in each namespace, from memory; without it (PostgreSQL), the
        # speakers met in each search's text matches.
        self.speakers = speakers
        self.index_path = index_path
        self.tokens = tokens
        self._query_embedder = ThreadPoolExecutor(QUERY_EMBED_WORKERS, "maia-query-embed")
        # Without a speaker index, the speakers met in each (tenant, namespace)'s text
        # matches: the embedding's guess.
        self._speakers: dict[tuple[str, str | None], frozenset[str]] = {}
        held = isinstance(index, VectorIndex) or any(
            i is not None for i in (texts, order, speakers)
        )
        self._updates: AbstractContextManager[object] = threading.RLock() if held else nullcontext()

    def updating(self) -> AbstractContextManager[object]:
        """To hold from a write's transaction until its index updates (``indexed``,
        ``written``, ``forget``) are applied: the indexes held in this process then change
        in the order the store committed. Without it, an update and a delete of one
        memory racing could leave it indexed after the store dropped it. Free when every
        index lives in the database."""
        return self._updates

    # -- lifecycle -----------------------------------------------------------------------

    def load(self, reader: StoreReader) -> None:
        """Fills the indexes from the store; reuses the saved HNSW graph if fresh."""
        if self.texts is not None or self.order is not None or self.speakers is not None:
            documents = reader.iter_texts()
            if self.order is not None:
                documents = self.order.loading(documents)
            if self.speakers is not None:
                documents = self.speakers.loading(documents)
            if self.texts is not None:
                self.texts.load(documents)
            else:
                deque(documents, maxlen=0)
        counts = reader.vector_counts()
        stale = {m: n for m, n in counts.items() if m != self.embedder.model_id}
        if stale:
            log.warning(
                "embeddings of another model are stored (%s); the current model is %s: "
                "run `maia reindex` to re-embed",
                ", ".join(f"{m}: {n}" for m, n in stale.items()),
                self.embedder.model_id,
            )
        index = self.index
        if not isinstance(index, VectorIndex):  # the database searches its own embeddings
            return
        index.load(
            (v.seq, v.tenant, v.namespace, v.vector)
            for v in reader.iter_vectors(self.embedder.model_id)
        )
        generation = reader.vector_generation()
        if self.index_path is not None and index.attach_hnsw(
            self.index_path, model_id=self.embedder.model_id, generation=generation
        ):
            return
        if self.index_path is not None and self.index_path.exists():
            log.warning("rebuilding the vector index %s", self.index_path)
        index.rebuild_hnsw()

    def save(self, reader: StoreReader) -> None:
        if self.index_path is not None and isinstance(self.index, VectorIndex):
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

    def written(self, tenant: str, memories: Iterable[tuple[int, Memory]]) -> None:
        """Makes committed content and tags searchable by word, and their place in their
        namespace's writing order known (new memories, or changed ones: a memory's key
        stays the same)."""
        documents = [
            StoredText(seq, tenant, m.namespace, m.content, m.tags, m.created_at)
            for seq, m in memories
        ]
        if self.texts is not None:
            self.texts.add(documents)
        if self.order is not None:
            self.order.add(documents)
        if self.speakers is not None:
            self.speakers.add(documents)

    def forget(self, seqs: Sequence[int]) -> None:
        self.index.remove(seqs)
        if self.texts is not None:
            self.texts.remove(seqs)
        if self.order is not None:
            self.order.remove(seqs)
        if self.speakers is not None:
            self.speakers.remove(seqs)

    def close(self) -> None:
        self._query_embedder.shutdown(wait=False, cancel_futures=True)
        close = getattr(self.embedder, "close", None)
        if callable(close):  # a remote embedder's HTTP connections
            close()

    # -- reads ---------------------------------------------------------------------------

    def _embed_query(self, text: str) -> Vector:
        with span("maia.embed", texts=1):
            vector: Vector = self.embedder.embed([text])[0]
        return vector

    def _embed_and_search(
        self, text: str, scope: Scope | None, k: int
    ) -> tuple[Vector, list[tuple[int, float]] | None]:
        """The query's vector and, from the in-memory index, its ``k`` nearest vectors in
        ``scope`` (None: the caller searches). A database's index is searched by the
        caller: from this thread it would need a second connection (and another
        snapshot) while the caller holds one, which a small pool cannot give."""
        vector = self._embed_query(text)
        if scope is None or not isinstance(self.index, VectorIndex):
            return vector, None
        return vector, self.index.search(vector, scope, k)

    def _remember_speakers(self, scope: tuple[str, str | None], found: frozenset[str]) -> None:
        known = self._speakers.get(scope, frozenset())
        if found <= known:
            return
        if len(self._speakers) >= SPEAKER_SCOPES:
            self._speakers.clear()  # a bound, not a cache policy: guesses are only guesses
        self._speakers[scope] = frozenset(list(known | found)[:SPEAKERS_PER_SCOPE])

    def search(self, reader: StoreReader, plan: SearchPlan) -> list[Ranked]:
        """The best memories for ``plan``, whole."""
        hits = self.rank(reader, plan)
        memories = reader.memories_by_seq(plan.tenant, [h.key for h in hits])
        return [
            Ranked(h.key, memories[h.key], h.score, h.signals) for h in hits if h.key in memories
        ]

    def rank(self, reader: StoreReader, plan: SearchPlan) -> list[Hit]:
        """The best memories for ``plan`` as ranking read them (what a context needs)."""
        with span("maia.search", candidates=plan.pool):
            return self._search(reader, plan)

    def _search(self, reader: StoreReader, plan: SearchPlan) -> list[Hit]:
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
        scope = Scope(
            plan.tenant,
            None if flt.namespace is None else (flt.namespace,),
            flt.include_descendants,
        )
        # A filter beyond the namespace restricts the vector search to its matches, a
        # query of the store: that search then waits for them, here.
        narrowed = _narrows_beyond_namespace(flt)
        # The query is embedded, and its nearest vectors found (in memory), while the
        # full-text search runs. What is embedded depends on which of the query's names
        # are speakers: of the namespaces searched, from the speaker index; without one,
        # those met in the text matches, so the embedding starts from the speakers this
        # scope's earlier searches met, and starts again if this one meets others.
        scope_key = (plan.tenant, flt.namespace)
        known = None if self.speakers is None else self.speakers.speakers(scope)
        guess = query_embedding_text(
            plan.analysis,
            known if known is not None else self._speakers.get(scope_key, frozenset()),
        )

        def nearest(text: str) -> Future[tuple[Vector, list[tuple[int, float]] | None]]:
            return self._query_embedder.submit(
                contextvars.copy_context().run,
                self._embed_and_search,
                text,
                None if narrowed else scope,
                plan.pool,
            )

        early = nearest(guess)
        allowed = None
        if narrowed:
            allowed = np.array(sorted(reader.seqs_matching(plan.tenant, flt)), dtype=np.int64)
        text_query = " ".join(plan.analysis.keywords) or plan.query
        # Ranking reads light rows; whole memories are built for the returned page only.
        bm25 = self._text_matches(reader, plan, text_query, flt, scope, allowed)
        rows = reader.rank_rows(plan.tenant, list(bm25), flt)  # e.g. superseded ones
        bm25 = {seq: score for seq, score in bm25.items() if seq in rows}
        speakers = known
        if speakers is None:
            speakers = frozenset(
                speaker.lower()
                for seq in bm25
                if (speaker := attribution(rows[seq].content).speaker)
            )
            self._remember_speakers(scope_key, speakers)
        # A speaker the query names is matched as a field (the ``entity`` signal), not
        # as a word: as a word, the name lends every line that person said a share of
        # BM25 whatever its topic. The text signal then weighs the topic alone; what the
        # name matched stays among the candidates.
        named = _words_of(speakers)
        topical = [k for k in plan.analysis.keywords if k not in named]
        if topical and len(topical) < len(plan.analysis.keywords):
            bm25 = self._text_matches(reader, plan, " ".join(topical), flt, scope, allowed)
            rows.update(reader.rank_rows(plan.tenant, [s for s in bm25 if s not in rows], flt))
            bm25 = {seq: score for seq, score in bm25.items() if seq in rows}
        text = query_embedding_text(plan.analysis, speakers)
        if text != guess:
            early.cancel()
            early = nearest(text)
        # While the query is embedded, the word matches become candidates (all of them:
        # a word matched); their similarities are measured once the vector is there.
        pool = _Pool(
            plan,
            self.index,
            bm25,
            lambda seqs: self._order(reader).predecessors(plan.tenant, seqs, CONTEXT_WITHIN_US),
        )
        pool.add(rows, keep=lambda seq, sim: True)
        period_seqs = None
        if period is not None and not plan.time_filter:
            period_seqs = np.array(
                sorted(reader.seqs_matching(plan.tenant, in_period)), dtype=np.int64
            )
        query_vector, nearest_hits = early.result()
        pool.requery(query_vector)
        if nearest_hits is None:
            nearest_hits = self.index.search(query_vector, scope, plan.pool, allowed=allowed)
        vector_hits = dict(nearest_hits)
        if period_seqs is not None:
            # The period the query names is evidence of its own: "what happened yesterday"
            # shares no words with its answers and is barely similar to them.
            search = self.index.search(query_vector, scope, plan.pool, allowed=period_seqs)
            for seq, score in search:
                vector_hits.setdefault(seq, score)
        missing = [seq for seq in vector_hits if seq not in pool.rows]
        found = reader.rank_rows(plan.tenant, missing, flt)
        pool.add(
            found,
            keep=lambda seq, sim: (
                (sim or 0.0) >= plan.min_similarity or pool.in_time(found[seq].created_us) > 0
            ),
        )
        table = pool.table
        if not len(table):
            return []
        if plan.feedback > 0:
            self._feedback(reader, plan, flt, pool, scope, allowed)
        self._expand(reader, plan, flt, pool)
        # A question is no answer: it ranks by half its match (see ``signal_matrix``).
        # Only now, so that it still picks the seeds above, and thus lends its match
        # to the memories around it: to what answers it.
        table.asks = [_question_share(attribution(pool.rows[k].content).text) for k in table.keys]
        scored: list[Scored] = fuse(
            table,
            plan.weights,
            mode=plan.mode,
            half_life_days=plan.half_life_days,
            vector_floor=plan.min_similarity,
            top=plan.limit,
        )
        rows = pool.rows
        return [Hit(s.key, rows[s.key], s.score, s.signals) for s in scored]

    def _order(self, reader: StoreReader) -> OrderIndex | StoreReader:
        return self.order if self.order is not None else reader

    def _text_matches(
        self,
        reader: StoreReader,
        plan: SearchPlan,
        query: str,
        flt: MemoryFilter,
        scope: Scope,
        allowed: npt.NDArray[np.int64] | None,
    ) -> dict[int, float]:
        """BM25 of the memories holding any word of ``query``: from the in-memory index
        if there is one, else from the store's full text."""
        if self.texts is None:
            return dict(reader.text_matches(plan.tenant, query, flt, plan.pool))
        return dict(self.texts.search(query, scope, plan.pool, allowed=allowed))

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
            pool.table,
            plan.weights,
            mode=plan.mode,
            vector_floor=plan.min_similarity,
            top=FEEDBACK_SEEDS,
        )
        vectors = pool.vector_of(s.key for s in preliminary)
        if not len(vectors) or pool.query_vector is None:
            return
        centroid = np.mean(vectors, axis=0)
        moved = pool.query_vector + plan.feedback * centroid
        moved = (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)
        pool.requery(moved)
        more = [seq for seq, _ in self.index.search(moved, scope, plan.pool, allowed=allowed)]
        new = [seq for seq in more if seq not in pool.rows]
        pool.add(reader.rank_rows(plan.tenant, new, flt), keep=pool.relevant)

    def _expand(
        self, reader: StoreReader, plan: SearchPlan, flt: MemoryFilter, pool: _Pool
    ) -> None:
        """Signals that depend on the best candidates: relations to them (``graph``) and
        being written right before or after them in the same namespace (``context``)."""
        graph, context = plan.weights.get("graph", 0.0), plan.weights.get("context", 0.0)
        if graph <= 0 and context <= 0:
            return
        preliminary = fuse(
            pool.table,
            {**plan.weights, "graph": 0.0, "context": 0.0},
            mode=plan.mode,
            vector_floor=plan.min_similarity,
            top=SEEDS,
        )
        seeds = {s.key: s.score for s in preliminary}
        if graph > 0:
            by_id = {pool.rows[key].id: score for key, score in seeds.items()}
            edges = reader.edges(
                plan.tenant,
                list(by_id),
                types=[t for t in RelationType if t is not RelationType.SUPERSEDES],
                direction="both",
            )
            boosts = proximity(by_id, edges)
            rows = pool.rows
            pool.table.graph = [boosts.get(rows[k].id, 0.0) for k in pool.table.keys]
        if context > 0:
            near: dict[int, float] = {}
            for seed, found in (
                self._order(reader)
                .neighbors(plan.tenant, list(seeds), CONTEXT_RADIUS, CONTEXT_WITHIN_US)
                .items()
            ):
                for seq, distance in found:
                    near[seq] = max(near.get(seq, 0.0), seeds[seed] / (2 ** (distance - 1)))
            new = [seq for seq in near if seq not in pool.rows]
            # Neighbours join only if relevant on their own (a word or enough similarity).
            pool.add(reader.rank_rows(plan.tenant, new, flt), keep=pool.relevant)
            pool.table.context = [near.get(k, 0.0) for k in pool.table.keys]


@lru_cache(maxsize=SPEAKER_SCOPES)
def _words_of(speakers: frozenset[str]) -> frozenset[str]:
    """The words of some speakers' names (the same sets come back search after search)."""
    return frozenset(word for speaker in speakers for word in words(speaker))


# The share of a memory's sentences that are questions, once across searches.
_question_share = lru_cache(maxsize=QUESTION_SHARES)(question_share)


class _Pool:
    """The candidates of one search, with the row each stands for.

    Every vector read (candidates' and their predecessors') is a row of one matrix, so
    measuring the pool against a new query vector is one matrix product. A window (a
    candidate's vector plus its predecessor's) needs no row of its own: its cosine is
    the sum of the two rows' products over the window's norm, measured once."""

    def __init__(
        self,
        plan: SearchPlan,
        index: VectorSearch,
        bm25: dict[int, float],
        predecessors: Callable[[list[int]], dict[int, int]],
    ) -> None:
        self.plan = plan
        self.query_vector: Vector | None = None
        self.index = index
        self.bm25 = bm25
        self.predecessors = predecessors
        self.rows: dict[int, RankRow] = {}
        self.previous: dict[int, int] = {}  # candidate -> the memory written just before it
        # Ages count from the plan's time, else the newest row's (microseconds).
        self._now = None if plan.now is None else to_micros(plan.now)
        period = plan.analysis.time
        self._period = None if period is None else period.micros()
        self.table = SignalTable()  # the candidates' raw signals, one row each
        self._entities = entity_matcher(plan.analysis.entities)
        self._row: dict[int, int] = {}  # key -> its row of _matrix (stored vectors read)
        # The vectors read, rows [0, _used) of a buffer grown by doubling (a search reads
        # in five steps or so: concatenating would copy them all each time).
        self._matrix: Vectors | None = None
        self._used = 0
        self._products: npt.NDArray[np.float32] | None = None  # _matrix @ query_vector
        # Per candidate with a vector: its row of ``table`` and of ``_matrix``; for those
        # whose predecessor has one too, the window's rows and norm.
        self._placed: list[int] = []
        self._placed_rows: list[int] = []
        self._windowed: list[int] = []  # positions in ``_placed``
        self._window_rows: tuple[list[int], list[int]] = ([], [])
        self._window_norms: list[float] = []

    def vector_of(self, keys: Iterable[int]) -> Vectors:
        """The stored vectors of those of ``keys`` that are candidates with one."""
        rows = [row for key in keys if (row := self._row.get(key)) is not None]
        assert self._matrix is not None or not rows
        return self._matrix[rows] if self._matrix is not None else np.empty((0, 0), np.float32)

    def requery(self, query_vector: Vector) -> None:
        """Measures every candidate's similarity against a new query vector."""
        self.query_vector = query_vector
        if self._matrix is None:
            return
        self._products = self._matrix[: self._used] @ query_vector
        scores = self._similarities(
            self._placed_rows, self._windowed, self._window_rows, self._window_norms
        )
        vector = self.table.vector
        for i, score in zip(self._placed, scores.tolist(), strict=True):
            vector[i] = score

    def _similarities(
        self,
        rows: list[int],
        windowed: list[int],
        window_rows: tuple[list[int], list[int]],
        norms: list[float] | npt.NDArray[np.float32],
    ) -> npt.NDArray[np.float32]:
        """The similarity each of ``rows`` ranks by: the better of its cosine with the
        query and the cosine of its window (``windowed`` of them have one)."""
        assert self._products is not None
        products = self._products
        scores = products[rows]  # a copy (fancy indexing)
        if windowed:
            ends, starts = window_rows
            window = (products[ends] + products[starts]) / np.asarray(norms, np.float32)
            scores[windowed] = np.maximum(scores[windowed], window)
        return scores

    def _read_vectors(self, keys: Iterable[int]) -> None:
        found, vectors = self.index.matrix(k for k in keys if k not in self._row)
        if not found:
            return
        first, end = self._used, self._used + len(found)
        self._row.update(zip(found, range(first, end), strict=True))
        if self._matrix is None or end > len(self._matrix):
            grown = np.empty((max(2 * end, 256), vectors.shape[1]), np.float32)
            if self._matrix is not None:
                grown[:first] = self._matrix[:first]
            self._matrix = grown
        self._matrix[first:end] = vectors
        self._used = end
        if self.query_vector is not None:
            products = vectors @ self.query_vector
            self._products = (
                products if self._products is None else np.concatenate((self._products, products))
            )

    def relevant(self, seq: int, similarity: float | None) -> bool:
        """A word of the query matches, or the meaning is close enough."""
        return seq in self.bm25 or (similarity or 0.0) >= self.plan.min_similarity

    def add(self, rows: dict[int, RankRow], keep: Callable[[int, float | None], bool]) -> None:
        """Adds the rows ``keep`` accepts, given their own cosine (None before the query
        vector is known, or without a stored vector).

        A line read alone can miss what it is about ("Three times a week." answers the
        line before it); its window scores it as part of the exchange it belongs to, as
        if the two had been embedded together. Whether a memory is similar enough to be
        a result at all is still decided by its own cosine."""
        fresh = [seq for seq in rows if seq not in self.rows]
        if not fresh:
            return
        self.previous.update(self.predecessors(fresh))
        before = {k: p for k in fresh if (p := self.previous.get(k)) is not None}
        self._read_vectors((*fresh, *before.values()))
        row_of = self._row
        cosines: dict[int, float] = {}
        if self._products is not None:
            have = [k for k in fresh if k in row_of]
            own_products = self._products[[row_of[k] for k in have]]
            cosines = dict(zip(have, own_products.tolist(), strict=True))
        kept = [seq for seq in fresh if keep(seq, cosines.get(seq))]
        present = [k for k in kept if k in row_of]
        own = [row_of[k] for k in present]
        windowed = [i for i, k in enumerate(present) if before.get(k) in row_of]
        window_rows = ([own[i] for i in windowed], [row_of[before[present[i]]] for i in windowed])
        norms: npt.NDArray[np.float32] = np.empty(0, np.float32)
        if windowed:
            assert self._matrix is not None
            sums = self._matrix[window_rows[0]] + self._matrix[window_rows[1]]
            norms = np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
        similarities: dict[int, float] = {}
        if self._products is not None and present:
            ranked = self._similarities(own, windowed, window_rows, norms)
            similarities = dict(zip(present, ranked.tolist(), strict=True))
        if self._now is None:
            self._now = max(r.created_us for r in rows.values())
        now = self._now
        entity = self._entities.score
        table = self.table
        base, placed = len(table), len(self._placed)
        picked = [rows[seq] for seq in kept]
        self.rows.update(zip(kept, picked, strict=True))
        # Their rows, in candidate order, for ``requery`` (``present`` keeps that order).
        self._placed.extend([base + j for j, seq in enumerate(kept) if seq in row_of])
        self._placed_rows.extend(own)
        self._windowed.extend([placed + i for i in windowed])
        self._window_rows[0].extend(window_rows[0])
        self._window_rows[1].extend(window_rows[1])
        self._window_norms.extend(norms.tolist())
        # A column at a time: a search adds a few hundred candidates in four steps.
        table.keys.extend(kept)
        table.vector.extend([similarities.get(seq) for seq in kept])
        table.text.extend([self._text(seq) for seq in kept])
        table.age_days.extend([(now - row.created_us) / 1_000_000 / 86400 for row in picked])
        table.access_count.extend([row.access_count for row in picked])
        table.confidence.extend([row.confidence for row in picked])
        table.entity.extend([entity(row.content) for row in picked])
        table.time.extend([self.in_time(row.created_us) for row in picked])
        # Set once the best candidates are known (``_expand``, the final fusion).
        unset = [0.0] * len(kept)
        table.graph.extend(unset)
        table.context.extend(unset)
        table.asks.extend(unset)

    def in_time(self, created_us: int) -> float:
        """1 if the memory was written in the period the query names, else 0."""
        period = self._period
        return 1.0 if period is not None and period[0] <= created_us < period[1] else 0.0

    def _text(self, seq: int) -> float | None:
        """BM25 relevance: the memory's own, or, if more, a share of that of the memory
        written just before it (a reply shares its topic without repeating its words)."""
        own = self.bm25.get(seq)
        previous = self.previous.get(seq)
        before = None if previous is None else self.bm25.get(previous)
        if before is None:
            return own
        return max(own or 0.0, PREVIOUS_TEXT_SHARE * before)


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
