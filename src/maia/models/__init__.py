"""Pydantic models shared by every layer; they import nothing else of MAIA."""

from maia.models.common import ZERO_TIME, ListResponse, Page, Stats, as_utc, utcnow
from maia.models.memory import (
    Memory,
    MemoryCreate,
    MemoryFilter,
    MemorySource,
    MemoryType,
    MemoryUpdate,
    Relation,
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
    "Relation",
    "RelationType",
    "SearchRequest",
    "SearchResult",
    "Stats",
    "as_utc",
    "parent_name",
    "utcnow",
]
