"""Search requests (``POST /v1/memories/search``, ``Maia.recall``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from maia.models.common import OptionalLocalDatetime, OptionalUtcDatetime
from maia.models.memory import MemoryFilter, MemorySource, MemoryType

MAX_QUERY_CHARS = 4096


class SearchRequest(BaseModel):
    """The contract's fields plus optional extras (time range, confidence, sources)."""

    model_config = ConfigDict(extra="ignore")

    query: str | None = Field(None, max_length=MAX_QUERY_CHARS)
    namespace: str | None = None
    include_descendants: bool = False
    types: list[MemoryType] | None = None
    tags: list[str] | None = None
    sources: list[MemorySource] | None = None
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    created_after: OptionalUtcDatetime = None
    created_before: OptionalUtcDatetime = None
    limit: int | None = None
    offset: int | None = None
    include_superseded: bool = False
    explain: bool = False
    now: OptionalLocalDatetime = Field(
        None, description="Reference time for relative dates in the query (default: now)"
    )
    time_filter: bool = Field(
        False, description="Keep only memories inside the query's time range (else: boost)"
    )
    fusion: Literal["weighted", "rrf"] | None = None

    @field_validator("namespace", "query", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    def filter(self) -> MemoryFilter:
        return MemoryFilter(
            namespace=self.namespace,
            include_descendants=self.include_descendants,
            types=tuple(self.types or ()),
            tags=tuple(dict.fromkeys(self.tags or ())),
            sources=tuple(self.sources or ()),
            min_confidence=self.min_confidence,
            created_after=self.created_after,
            created_before=self.created_before,
            exclude_superseded=not self.include_superseded,
        )
