"""Search: ranked by relevance to the query; filter-only listing without one."""

from __future__ import annotations

from collections.abc import Sequence

from maia.models import MemoryType, Page, SearchRequest, SearchResult
from maia.service.memories import MemoryOps


def relative_scores(raw: Sequence[float]) -> list[float]:
    """Scales relevances so the best is 1.0 (BM25 has no absolute scale)."""
    top = max(raw, default=0.0)
    if top <= 0.0:
        return [1.0 for _ in raw]
    return [round(value / top, 6) for value in raw]


class SearchOps(MemoryOps):
    def search(self, request: SearchRequest) -> tuple[list[SearchResult], Page]:
        """Results for one page and the page actually used (clamped limit/offset)."""
        page = Page.clamp(request.limit, request.offset)
        flt = request.filter()
        with self._store.read() as tx:
            if request.query is None or not request.query.strip():
                memories = tx.list_memories(self._tenant, flt, page)
                return [SearchResult(memory=m, score=1.0) for m in memories], page
            hits = tx.search_text(self._tenant, request.query, flt, page.offset + page.limit)
        scores = relative_scores([hit.bm25 for hit in hits])
        results = [
            SearchResult(memory=hit.memory, score=score)
            for hit, score in zip(hits, scores, strict=True)
        ]
        return results[page.offset :], page

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        limit: int = 10,
        types: Sequence[MemoryType | str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[SearchResult]:
        """The memories most relevant to ``query`` in ``namespace``, best first."""
        request = SearchRequest.model_validate(
            {
                "query": query,
                "namespace": namespace or self._settings.default_namespace,
                "types": list(types) if types else None,
                "tags": list(tags) if tags else None,
                "limit": limit,
            }
        )
        return self.search(request)[0]
