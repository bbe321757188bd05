"""Context assembly through the façade: retrieve, pack within the budget, count use."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime

import numpy as np
import numpy.typing as npt

from maia.context import ContextFormat, PackOptions, Piece, pack
from maia.models import (
    ContextMemory,
    ContextRequest,
    ContextResponse,
    Memory,
    MemoryFilter,
    MemoryType,
    Page,
    SearchRequest,
    ZoneStats,
    go_duration,
)
from maia.retrieval.engine import Hit
from maia.service.admin import AdminOps
from maia.store.timestamps import from_micros

WORKING_MEMORIES = 20  # newest working memories offered to every context
WORKING_SCORE = 0.3  # their score when the query did not retrieve them


class ContextOps(AdminOps):
    def context(
        self,
        query: str,
        *,
        namespace: str | None = None,
        token_budget: int | None = None,
        system_prompt: str | None = None,
        include_scores: bool = False,
        include_dates: bool = False,
        min_score: float = 0.0,
        format: str = "text",
        now: datetime | None = None,
    ) -> ContextResponse:
        """The memories most relevant to ``query``, packed into ``token_budget`` tokens."""
        return self.assemble_context(
            ContextRequest.model_validate(
                {
                    "query": query,
                    "namespace": namespace,
                    "token_budget": token_budget,
                    "system_prompt": system_prompt,
                    "include_scores": include_scores,
                    "include_dates": include_dates,
                    "min_score": min_score,
                    "format": format,
                    "now": now,
                }
            )
        )

    def assemble_context(self, request: ContextRequest) -> ContextResponse:
        with self._timings.timed("context"):
            return self._assemble(request)

    def _assemble(self, request: ContextRequest) -> ContextResponse:
        started = time.perf_counter()
        namespace = (
            request.namespace
            or self._principal.default_namespace
            or self._settings.default_namespace
        )
        self._authorize(namespace)
        budget = self._budget(request.token_budget, namespace)
        now = request.now or self._clock()
        search = SearchRequest(
            query=request.query,
            namespace=namespace,
            limit=self._settings.context_candidates,
            now=now,
        )
        hits = self._hits(search, self._settings.context_candidates)
        vectors = self._engine.index.vectors(h.key for h in hits)
        counter = self._engine.tokens
        pieces = self._working_state(namespace, {h.row.id for h in hits}) + [
            self._hit_piece(h, vectors.get(h.key)) for h in hits
        ]
        packed = pack(
            pieces,
            PackOptions(
                budget=budget,
                now=now,
                system_prompt=request.system_prompt,
                include_scores=request.include_scores,
                include_dates=request.include_dates,
                min_score=request.min_score,
                format=ContextFormat(request.format),
            ),
            counter,
        )
        self._access.record(self._tenant, [p.id for p in packed.placed])
        return ContextResponse(
            content=packed.content,
            memories=[
                ContextMemory(
                    id=p.id,
                    content=p.content,
                    type=p.type,
                    score=p.score,
                    position=p.position.value,
                    token_count=p.token_count,
                    truncated=p.truncated,
                )
                for p in packed.placed
            ],
            token_count=packed.token_count,
            token_budget=budget,
            truncated=packed.truncated,
            zone_stats=ZoneStats(**asdict(packed.zone_stats)),
            query_time=go_duration(time.perf_counter() - started),
            budget_too_small=packed.budget_too_small,
        )

    def _working_state(self, namespace: str, retrieved: set[str]) -> list[Piece]:
        """The namespace's newest working memories, which belong in the recency zone of
        every context (current task state) even when the query does not match them."""
        newest = self.list_memories(
            MemoryFilter(namespace=namespace, types=(MemoryType.WORKING,)),
            Page(limit=WORKING_MEMORIES),
            newest_first=True,
        )
        return [self._piece(m, WORKING_SCORE) for m in reversed(newest) if m.id not in retrieved]

    def _piece(
        self, memory: Memory, score: float, vector: npt.NDArray[np.float32] | None = None
    ) -> Piece:
        """A packing candidate."""
        return Piece(
            id=memory.id,
            content=memory.content,
            type=memory.type.value,
            score=score,
            tokens=self._tokens_of(memory.content, memory.token_count),
            created_at=memory.created_at,
            accessed_at=memory.accessed_at,
            vector=vector,
        )

    def _hit_piece(self, hit: Hit, vector: npt.NDArray[np.float32] | None) -> Piece:
        row = hit.row
        return Piece(
            id=row.id,
            content=row.content,
            type=row.type,
            score=hit.score,
            tokens=self._tokens_of(row.content, row.token_count),
            created_at=from_micros(row.created_us),
            accessed_at=from_micros(row.accessed_us),
            vector=vector,
        )

    def _tokens_of(self, content: str, stored: int | None) -> int:
        """The token count stored at write time, else counted now."""
        return stored if stored is not None else self._engine.tokens.count(content)

    def _budget(self, requested: int | None, namespace: str) -> int:
        """Request (> 0), else the namespace's token_budget (> 0), else the default."""
        if requested is not None and requested > 0:
            return requested
        configured = self.effective_config(namespace).token_budget
        return configured if configured > 0 else self._settings.token_budget
