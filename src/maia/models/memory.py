"""Memories: the records MAIA keeps, and the inputs that create and change them."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from maia.models.common import (
    Metadata,
    NamespaceName,
    OptionalUtcDatetime,
    Tags,
    UtcDatetime,
    omit_empty,
)


class MemoryType(StrEnum):
    SEMANTIC = "semantic"
    EPISODIC = "episodic"
    WORKING = "working"


class MemorySource(StrEnum):
    USER = "user"
    EXTRACTED = "extracted"
    INFERRED = "inferred"
    IMPORTED = "imported"


class RelationType(StrEnum):
    RELATED_TO = "related_to"
    CONTRADICTS = "contradicts"
    SUPERSEDES = "supersedes"
    DERIVED_FROM = "derived_from"
    PART_OF = "part_of"


class Relation(BaseModel):
    """An outgoing typed edge, as embedded in a Memory."""

    target_id: str
    type: RelationType
    weight: float = 1.0
    metadata: Metadata | None = None

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "metadata")


class RelationCreate(BaseModel):
    """Input of ``POST /v1/memories/{id}/relations`` and ``Maia.relate``."""

    model_config = ConfigDict(extra="ignore")

    target_id: str = Field(min_length=1)
    type: RelationType = RelationType.RELATED_TO
    weight: float = Field(1.0, gt=0.0, le=1.0)
    metadata: Metadata | None = None


class Edge(BaseModel):
    """A stored relation between two memories."""

    source_id: str
    target_id: str
    type: RelationType
    weight: float
    metadata: Metadata | None = None
    created_at: UtcDatetime

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "metadata")


def _check_confidence(value: float) -> float:
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _check_content(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Content = Annotated[str, Field(min_length=1)]
_OMITTED_WHEN_EMPTY = ("metadata", "tags", "relations")


class Memory(BaseModel):
    """A stored memory, serialised exactly as the wire contract describes."""

    id: str
    namespace: str
    content: str
    type: MemoryType
    metadata: Metadata | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    accessed_at: UtcDatetime
    access_count: int = 0
    confidence: float = 1.0
    source: MemorySource = MemorySource.USER
    relations: list[Relation] = Field(default_factory=list)
    # Tokens of ``content`` (counted at write time); internal, never on the wire.
    token_count: int | None = Field(default=None, exclude=True)

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data.pop("token_count", None)
        return omit_empty(data, *_OMITTED_WHEN_EMPTY)


class MemoryCreate(BaseModel):
    """Input of ``POST /v1/memories`` and ``Maia.remember``; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    namespace: NamespaceName
    content: Content
    type: MemoryType = MemoryType.SEMANTIC
    metadata: Metadata | None = None
    tags: Tags | None = None
    confidence: float = 1.0
    source: MemorySource = MemorySource.USER
    created_at: OptionalUtcDatetime = None

    @field_validator("type", mode="before")
    @classmethod
    def _type_default(cls, value: Any) -> Any:
        # The contract: "" or null mean "use the default".
        return MemoryType.SEMANTIC if value in (None, "") else value

    @field_validator("source", mode="before")
    @classmethod
    def _source_default(cls, value: Any) -> Any:
        return MemorySource.USER if value in (None, "") else value

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str) -> str:
        return _check_content(value)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence_default(cls, value: Any) -> Any:
        # The contract: absent, null or 0 on create means full confidence.
        return 1.0 if value is None or value == 0 else value

    @field_validator("confidence")
    @classmethod
    def _confidence_range(cls, value: float) -> float:
        return _check_confidence(value)


class MemoryUpdate(BaseModel):
    """Input of ``PUT /v1/memories/{id}``: absent or null fields stay unchanged."""

    model_config = ConfigDict(extra="ignore")

    content: Content | None = None
    metadata: Metadata | None = None
    tags: Tags | None = None
    confidence: float | None = None

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str | None) -> str | None:
        return None if value is None else _check_content(value)

    @field_validator("confidence")
    @classmethod
    def _confidence_range(cls, value: float | None) -> float | None:
        return None if value is None else _check_confidence(value)


class MemoryFilter(BaseModel):
    """Which memories a listing or search considers."""

    model_config = ConfigDict(frozen=True)

    namespace: str | None = None
    include_descendants: bool = False
    types: tuple[MemoryType, ...] = ()
    tags: tuple[str, ...] = ()
    sources: tuple[MemorySource, ...] = ()
    min_confidence: float | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    exclude_superseded: bool = False


class SearchResult(BaseModel):
    """A ranked hit; ``score`` is in [0, 1]."""

    memory: Memory
    score: float
    signals: dict[str, float] | None = None

    @model_serializer(mode="wrap")
    def _omit_signals(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "signals")


class RelatedMemory(BaseModel):
    """A memory reached from another through relations."""

    memory: Memory
    depth: int
    relation: Edge
