"""Pydantic models shared by every layer; they import nothing else of MAIA."""

from maia.models.common import ZERO_TIME, ListResponse, Page, Stats, as_utc, utcnow
from maia.models.context import (
    ContextMemory,
    ContextRequest,
    ContextResponse,
    ZoneStats,
    go_duration,
)
from maia.models.memory import (
    Edge,
    Memory,
    MemoryCreate,
    MemoryFilter,
    MemorySource,
    MemoryType,
    MemoryUpdate,
    RelatedMemory,
    Relation,
    RelationCreate,
    RelationType,
    SearchResult,
)
from maia.models.namespace import (
    Namespace,
    NamespaceConfig,
    NamespaceCreate,
    NamespaceUpdate,
    parent_name,
)
from maia.models.search import SearchRequest

__all__ = [
    "ZERO_TIME",
    "ContextMemory",
    "ContextRequest",
    "ContextResponse",
    "Edge",
    "ListResponse",
    "Memory",
    "MemoryCreate",
    "MemoryFilter",
    "MemorySource",
    "MemoryType",
    "MemoryUpdate",
    "Namespace",
    "NamespaceConfig",
    "NamespaceCreate",
    "NamespaceUpdate",
    "Page",
    "RelatedMemory",
    "Relation",
    "RelationCreate",
    "RelationType",
    "SearchRequest",
    "SearchResult",
    "Stats",
    "ZoneStats",
    "as_utc",
    "go_duration",
    "parent_name",
    "utcnow",
]
