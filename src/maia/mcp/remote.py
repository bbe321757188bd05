"""``RemoteMaia``: the MCP server's view of a MAIA server reached over REST (``maia mcp
--url``), through the SDK. SDK errors become MAIA errors, so tools report them exactly
as they do on an embedded store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from maia.client import (
    AlreadyExistsError,
    Client,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MaiaClientError,
    NetworkError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
)
from maia.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    MaiaError,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
    Unavailable,
)
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
from maia.service.search import shares_a_word
from maia.settings import Settings

# Counting a namespace's memories over REST means listing them; past this, stop.
COUNT_LIMIT = 100_000


@contextlib.contextmanager
def _as_maia_errors() -> Iterator[None]:
    try:
        yield
    except (ValidationError, InvalidInputError) as exc:
        raise InvalidInput(exc.message) from exc
    except NotFoundError as exc:
        raise NotFound(exc.message) from exc
    except UnauthorizedError as exc:
        raise Unauthorized(f"the MAIA server refused the API key: {exc.message}") from exc
    except ForbiddenError as exc:
        raise Forbidden(exc.message) from exc
    except AlreadyExistsError as exc:
        raise AlreadyExists(exc.message) from exc
    except ConflictError as exc:
        raise Conflict(exc.message) from exc
    except QuotaExceededError as exc:
        raise QuotaExceeded(exc.message, limit=exc.limit or 0, current=exc.current or 0) from exc
    except RateLimitedError as exc:
        raise RateLimited(exc.message, retry_after=exc.retry_after or 1.0) from exc
    except NetworkError as exc:
        raise Unavailable(f"cannot reach the MAIA server: {exc.message}") from exc
    except MaiaClientError as exc:
        raise MaiaError(exc.message) from exc


class RemoteMaia:
    """The ``MemoryFacade`` over a server; its API key decides tenant and permissions."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._principal = Principal("remote", "remote")

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def principal(self) -> Principal:
        return self._principal

    def for_principal(self, principal: Principal) -> RemoteMaia:
        return self  # the server applies its key's rules

    def close(self) -> None:
        self._client.close()

    def remember(
        self,
        content: str,
        *,
        namespace: str | None = None,
        type: MemoryType | str = MemoryType.SEMANTIC,
        tags: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Memory:
        with _as_maia_errors():
            return self._client.create_memory(
                namespace or self._settings.default_namespace,
                content,
                type=type,
                tags=tags,
                metadata=metadata,
                source="user",
                confidence=1.0,
            )

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        limit: int = 10,
        types: Sequence[MemoryType | str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[SearchResult]:
        with _as_maia_errors():
            found = self._client.search_memories(
                query,
                namespace=namespace or self._settings.default_namespace,
                limit=limit,
                types=types or None,
                tags=tags or None,
            )
        return list(found.data)

    def about(
        self,
        query: str,
        *,
        namespace: str | None,
        limit: int,
        min_score: float,
        min_similarity: float,
    ) -> list[Memory]:
        """As ``Maia.about``, on the word check alone: the server's embeddings of the
        query and of its results are not at hand (``min_similarity`` is not used)."""
        found = [
            r for r in self.recall(query, namespace=namespace, limit=limit) if r.score >= min_score
        ]
        worded = shares_a_word(query, [r.memory.content for r in found])
        return [r.memory for r, word in zip(found, worded, strict=True) if word]

    def touch(self, memory_ids: Sequence[str]) -> int:
        if not memory_ids:
            return 0
        with _as_maia_errors():
            return self._client.touch_memories(memory_ids)

    def get_memory(self, memory_id: str) -> Memory:
        with _as_maia_errors():
            return self._client.get_memory(memory_id)

    def delete_memories(self, memory_ids: Sequence[str]) -> int:
        with _as_maia_errors():
            return self._client.delete_memories(memory_ids)

    def list_memories(
        self, flt: MemoryFilter | None = None, page: Page | None = None
    ) -> list[Memory]:
        flt = flt or MemoryFilter()
        page = page or Page()
        with _as_maia_errors():
            found = self._client.list_memories(
                flt.namespace,
                include_descendants=flt.include_descendants or None,
                types=list(flt.types) or None,
                tags=list(flt.tags) or None,
                limit=page.limit,
                offset=page.offset,
            )
        return list(found.data)

    def count_memories(self, namespace: str | None = None) -> int:
        total = 0
        while total < COUNT_LIMIT:
            batch = self.list_memories(
                MemoryFilter(namespace=namespace), Page(limit=1000, offset=total)
            )
            total += len(batch)
            if len(batch) < 1000:
                break
        return total

    def context(
        self,
        query: str,
        *,
        namespace: str | None = None,
        token_budget: int | None = None,
        system_prompt: str | None = None,
        include_dates: bool = False,
    ) -> ContextResponse:
        with _as_maia_errors():
            return self._client.get_context(
                query,
                namespace=namespace,
                token_budget=token_budget,
                system_prompt=system_prompt,
                include_dates=include_dates or None,
            )

    def relate(self, source_id: str, data: RelationCreate) -> Edge:
        with _as_maia_errors():
            return self._client.create_relation(
                source_id,
                data.target_id,
                type=data.type,
                weight=data.weight,
                metadata=data.metadata,
            )

    def update_memory(self, memory_id: str, data: MemoryUpdate) -> Memory:
        with _as_maia_errors():
            return self._client.update_memory(
                memory_id,
                content=data.content,
                metadata=data.metadata,
                tags=data.tags,
                confidence=data.confidence,
            )

    def list_namespaces(self, page: Page | None = None) -> list[Namespace]:
        page = page or Page()
        with _as_maia_errors():
            return list(self._client.list_namespaces(limit=page.limit, offset=page.offset).data)

    def stats(self) -> Stats:
        with _as_maia_errors():
            return self._client.stats()
