"""``POST /v1/context`` and ``Maia.context``: request and response."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from maia.models.common import INT64_MAX, OptionalLocalDatetime, omit_empty
from maia.models.search import MAX_QUERY_CHARS


class ContextRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    namespace: str | None = None
    token_budget: int | None = Field(
        None,
        ge=-INT64_MAX,
        le=INT64_MAX,
        description="<= 0 or absent: the namespace's token_budget, else the default",
    )
    system_prompt: str | None = Field(None, max_length=100_000)
    include_scores: bool = False
    include_dates: bool = False
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    format: Literal["text", "markdown", "xml"] = "text"
    now: OptionalLocalDatetime = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("namespace", "system_prompt", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("min_score", "include_scores", "include_dates", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: Any) -> Any:
        if value is None:
            return 0.0 if info.field_name == "min_score" else False
        return value


class ContextMemory(BaseModel):
    id: str
    content: str
    type: str
    score: float = 0.0
    position: Literal["critical", "middle", "recency"]
    token_count: int
    truncated: bool

    @model_serializer(mode="wrap")
    def _omit_zero_score(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "score")


class ZoneStats(BaseModel):
    critical_used: int
    critical_budget: int
    middle_used: int
    middle_budget: int
    recency_used: int
    recency_budget: int


class ContextResponse(BaseModel):
    content: str
    memories: list[ContextMemory]
    token_count: int
    token_budget: int
    truncated: bool
    zone_stats: ZoneStats
    query_time: str
    budget_too_small: bool = False

    @model_serializer(mode="wrap")
    def _omit_false_flag(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "budget_too_small")


def go_duration(seconds: float) -> str:
    """A duration as Go prints it: ``0s``, ``750ns``, ``12.5µs``, ``3.2ms``, ``1.5s``."""
    nanos = round(seconds * 1e9)
    if nanos <= 0:
        return "0s"
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanos >= size:
            return f"{nanos / size:.3f}".rstrip("0").rstrip(".") + unit
    return f"{nanos}ns"
