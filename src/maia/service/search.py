"""Search: fused ranking by relevance to the query; filter-only listing without one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from maia.models import Memory, MemoryType, Page, SearchRequest, SearchResult
from maia.retrieval.analyzer import analyze
from maia.retrieval.engine import Hit, Ranked, SearchPlan
from maia.retrieval.fusion import FusionMode, weights_for
from maia.retrieval.index.fulltext import Terms
from maia.retrieval.text import STOP_WORDS, words
from maia.service.memories import MemoryOps
from maia.store.base import StoreReader

MAX_POOL = 2000
# Each retriever proposes a fifth more candidates than the page asks for (at least
# ``search_candidates``): on LoCoMo, 100 rather than 60 for a page of 50 moved recall
# at 10 and at 50 by a thousandth, and every candidate costs the search some work.
POOL_MARGIN = 5
TIME_LED_WEIGHT = 0.6  # the time signal's weight when a query asks about a period itself


class SearchOps(MemoryOps):
    def search(self, request: SearchRequest) -> tuple[list[SearchResult], Page]:
        """Results for one page and the page actually used (clamped limit/offset)."""
        page = Page.clamp(request.limit, request.offset)
        namespace = self._scoped_namespace(request.namespace)
        if namespace != request.namespace:
            request = request.model_copy(update={"namespace": namespace})
        flt = request.filter()
        if request.query is None or not request.query.strip():
            with self._store.read() as tx:
                memories = tx.list_memories(self._tenant, flt, page)
            return [SearchResult(memory=m, score=1.0) for m in memories], page
        ranked = self._rank(request, page.offset + page.limit)
        results = [
            SearchResult(
                memory=r.memory, score=r.score, signals=r.signals if request.explain else None
            )
            for r in ranked[page.offset :]
        ]
        return results, page

    def about(
        self,
        query: str,
        *,
        namespace: str | None,
        limit: int,
        min_score: float,
        min_similarity: float,
    ) -> list[Memory]:
        """The memories ``query`` is plainly about: of its best ``limit`` results scoring
        at least ``min_score``, those sharing a content word with it (stemmed) or whose
        embedding is at least ``min_similarity`` alike. Scores are relative to the best
        candidate, so a query about nothing stored still has results that score well;
        what a deletion acts on needs evidence of its own."""
        request = SearchRequest(query=query, namespace=self._scoped_namespace(namespace))
        ranked = [r for r in self._rank(request, limit) if r.score >= min_score]
        if not ranked:
            return []
        worded = shares_a_word(query, [r.memory.content for r in ranked])
        (probe,) = self._engine.embed_contents([query])
        stored = self._engine.index.vectors(r.key for r in ranked)

        def similar(key: int) -> bool:
            vector = stored.get(key)
            return (
                vector is not None
                and len(vector) == len(probe)
                and float(np.dot(vector, probe)) >= min_similarity
            )

        return [r.memory for r, word in zip(ranked, worded, strict=True) if word or similar(r.key)]

    def _rank(self, request: SearchRequest, wanted: int) -> list[Ranked]:
        """The ``wanted`` best memories for a request that has a query."""
        with self._timings.timed("search"), self._store.read() as tx:
            # One snapshot (and, on PostgreSQL, one transaction) for config and ranking.
            return self._engine.search(tx, self._plan(tx, request, wanted))

    def _hits(self, request: SearchRequest, wanted: int) -> list[Hit]:
        """As ``_rank``, the memories as ranking read them (not whole)."""
        with self._timings.timed("search"), self._store.read() as tx:
            return self._engine.rank(tx, self._plan(tx, request, wanted))

    def _plan(self, tx: StoreReader, request: SearchRequest, wanted: int) -> SearchPlan:
        custom = None
        if request.namespace is not None:
            custom = self._effective_config(tx, request.namespace).custom_scoring
        query = request.query or ""
        now = request.now or self._clock()
        analysis = analyze(query, now)
        weights = weights_for(custom)
        if analysis.time_led and weights["time"] > 0:
            # The period is the question: being in it counts as much as meaning does.
            weights["time"] = max(weights["time"], TIME_LED_WEIGHT)
        return SearchPlan(
            tenant=self._tenant,
            query=query,
            analysis=analysis,
            filter=request.filter(),
            limit=wanted,
            weights=weights,
            mode=FusionMode(request.fusion or self._settings.fusion_mode),
            now=now,
            time_filter=request.time_filter,
            pool=min(
                max(self._settings.search_candidates, wanted + wanted // POOL_MARGIN), MAX_POOL
            ),
            min_similarity=self._settings.min_similarity,
            half_life_days=self._settings.recency_half_life_days,
            feedback=self._settings.search_feedback,
        )

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        limit: int = 10,
        types: Sequence[MemoryType | str] | None = None,
        tags: Sequence[str] | None = None,
        include_descendants: bool = False,
        explain: bool = False,
        now: datetime | None = None,
    ) -> list[SearchResult]:
        """The memories most relevant to ``query`` in ``namespace``, best first."""
        request = SearchRequest.model_validate(
            {
                "query": query,
                "namespace": namespace or self._settings.default_namespace,
                "include_descendants": include_descendants,
                "types": list(types) if types else None,
                "tags": list(tags) if tags else None,
                "limit": limit,
                "explain": explain,
                "now": now,
            }
        )
        return self.search(request)[0]


def shares_a_word(query: str, contents: Sequence[str]) -> list[bool]:
    """Whether each of ``contents`` holds a word of ``query`` other than a stop word (as
    full text matches them: stemmed, case and accents folded)."""
    terms = Terms()
    asked = set(terms(" ".join(w for w in words(query) if w not in STOP_WORDS)))
    return [not asked.isdisjoint(terms(content)) for content in contents]
