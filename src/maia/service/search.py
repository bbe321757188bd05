"""Search: fused ranking by relevance to the query; filter-only listing without one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from maia.models import MemoryType, Page, SearchRequest, SearchResult
from maia.retrieval.analyzer import analyze
from maia.retrieval.engine import Hit, Ranked, SearchPlan
from maia.retrieval.fusion import FusionMode, weights_for
from maia.service.memories import MemoryOps
from maia.store.base import StoreReader

MAX_POOL = 2000


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
        return SearchPlan(
            tenant=self._tenant,
            query=query,
            analysis=analyze(query, now),
            filter=request.filter(),
            limit=wanted,
            weights=weights_for(custom),
            mode=FusionMode(request.fusion or self._settings.fusion_mode),
            now=now,
            time_filter=request.time_filter,
            pool=min(max(self._settings.search_candidates, 2 * wanted), MAX_POOL),
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
