"""What the MCP server needs of MAIA: the ``Maia`` façade (embedded store) satisfies it,
and so does ``RemoteMaia`` (a MAIA server over REST, for ``maia mcp --url``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from maia.models import (
    ContextResponse,
    Edge,
    Memory,
    MemoryFilter,
    MemoryType,
    MemoryUpdate,
    Namespace,
    Page,
    RelationCreate,
    SearchResult,
    Stats,
)
from maia.security.principal import Principal
from maia.settings import Settings


class MemoryFacade(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def principal(self) -> Principal: ...

    def for_principal(self, principal: Principal) -> MemoryFacade: ...

    def remember(
        self,
        content: str,
        *,
        namespace: str | None = None,
        type: MemoryType | str = MemoryType.SEMANTIC,
        tags: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Memory: ...

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        limit: int = 10,
        types: Sequence[MemoryType | str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[SearchResult]: ...

    def about(
        self,
        query: str,
        *,
        namespace: str | None,
        limit: int,
        min_score: float,
        min_similarity: float,
    ) -> list[Memory]: ...

    def touch(self, memory_ids: Sequence[str]) -> int: ...

    def get_memory(self, memory_id: str) -> Memory: ...

    def delete_memories(self, memory_ids: Sequence[str]) -> int: ...

    def list_memories(
        self, flt: MemoryFilter | None = None, page: Page | None = None
    ) -> list[Memory]: ...

    def count_memories(self, namespace: str | None = None) -> int: ...

    def context(
        self,
        query: str,
        *,
        namespace: str | None = None,
        token_budget: int | None = None,
        system_prompt: str | None = None,
        include_dates: bool = False,
    ) -> ContextResponse: ...

    def relate(self, source_id: str, data: RelationCreate) -> Edge: ...

    def update_memory(self, memory_id: str, data: MemoryUpdate) -> Memory: ...

    def list_namespaces(self, page: Page | None = None) -> list[Namespace]: ...

    def stats(self) -> Stats: ...
