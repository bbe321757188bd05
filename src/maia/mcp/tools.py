"""The MCP tools: argument mapping onto the ``Maia`` façade, results as the contract shapes.

Every tool returns a ``CallToolResult`` with a human-readable text block and
``structuredContent`` (validated against the tool's output schema). A ``MaiaError``
(unknown id, bad value) becomes a tool error result carrying the same message as the
REST error; schema violations never reach a tool (see ``MaiaMCPServer``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, ParamSpec

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from maia.errors import MaiaError
from maia.mcp.facade import MemoryFacade
from maia.mcp.render import describe_validation, preview
from maia.mcp.server import MaiaMCPServer
from maia.models import (
    Memory,
    MemoryFilter,
    MemoryType,
    MemoryUpdate,
    Page,
    RelationCreate,
    SearchResult,
)

P = ParamSpec("P")

TypeName = Literal["semantic", "episodic", "working"]
RelationName = Literal["related_to", "contradicts", "supersedes", "derived_from", "part_of"]

NamespaceArg = Annotated[
    str, Field(description="Namespace to use (hierarchical names such as 'acme/alice' work)")
]
QueryArg = Annotated[str, Field(description="What to look for, in natural language")]
TagsArg = Annotated[list[str] | None, Field(description="Tags")]


# -- structured results ------------------------------------------------------------------


class MemoryResult(BaseModel):
    """A memory as the tools return it (``score`` is 0 where nothing was ranked)."""

    id: str
    content: str
    type: str
    score: float
    tags: list[str] | None = None
    created_at: str
    accessed_at: str


class RememberOutput(BaseModel):
    id: str
    namespace: str
    created_at: str


class RecallOutput(BaseModel):
    memories: list[MemoryResult]
    total_found: int


class ForgetOutput(BaseModel):
    deleted: int
    ids: list[str]


class ListOutput(BaseModel):
    memories: list[MemoryResult]
    total: int


class ContextOutput(BaseModel):
    context: str
    tokens_used: int
    memories_used: int


class RelationOutput(BaseModel):
    source_id: str
    target_id: str
    type: str
    weight: float
    created_at: str


class MemoryOutput(BaseModel):
    """A full Memory object, as REST returns it."""

    id: str
    namespace: str
    content: str
    type: str
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    created_at: str
    updated_at: str
    accessed_at: str
    access_count: int
    confidence: float
    source: str
    relations: list[dict[str, Any]] | None = None


# -- helpers -----------------------------------------------------------------------------


def text_result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured.model_dump(mode="json", exclude_none=True),
    )


def error_result(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def guarded(fn: Callable[P, CallToolResult]) -> Callable[P, CallToolResult]:
    """MAIA's error mapping for MCP: a ``MaiaError`` or invalid value is a tool error
    result with the error's message; anything else is the SDK's (a generic tool error)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return fn(*args, **kwargs)
        except MaiaError as exc:
            return error_result(exc.message)
        except ValidationError as exc:
            return error_result(describe_validation(exc))

    return wrapper


def memory_result(memory: Memory, score: float = 0.0) -> MemoryResult:
    wire = memory.model_dump(mode="json")
    return MemoryResult(
        id=memory.id,
        content=memory.content,
        type=memory.type.value,
        score=round(score, 6),
        tags=memory.tags or None,
        created_at=wire["created_at"],
        accessed_at=wire["accessed_at"],
    )


def as_type(value: str) -> MemoryType:
    """The contract: an unknown type (or none) stores a semantic memory."""
    try:
        return MemoryType(value)
    except ValueError:
        return MemoryType.SEMANTIC


def remembered_text(content: str, memory_id: str) -> str:
    shown = content if len(content) <= 50 else content[:47] + "..."
    return f"Remembered: {shown} (ID: {memory_id})"


def recall_text(results: list[SearchResult]) -> str:
    if not results:
        return "No relevant memories found."
    lines = [f"Found {len(results)} relevant memories:"]
    lines += [
        f"{i}. [Score: {r.score:.2f}] {preview(r.memory.content, 100)}"
        for i, r in enumerate(results, start=1)
    ]
    return "\n".join(lines)


# -- registration ------------------------------------------------------------------------


def register(server: MaiaMCPServer, maia: MemoryFacade) -> None:
    settings = maia.settings
    default_ns = settings.default_namespace

    def ns_or_default(namespace: str | None) -> str:
        name = namespace.strip() if namespace and namespace.strip() else default_ns
        # The schema's default is "default"; a key limited to other namespaces means its
        # own default namespace by it.
        caller = server.caller().principal
        if name == default_ns and caller.default_namespace and not caller.may_use(name):
            return caller.default_namespace
        return name

    @server.tool(
        annotations=ToolAnnotations(title="Remember", read_only_hint=False, idempotent_hint=False)
    )
    @guarded
    def remember(
        content: Annotated[str, Field(description="What to remember (a fact, preference, event)")],
        namespace: NamespaceArg = default_ns,
        type: Annotated[
            str,
            Field(
                description="semantic (facts), episodic (events) or working (current task "
                "state); anything else stores a semantic memory"
            ),
        ] = "semantic",
        tags: TagsArg = None,
        metadata: Annotated[
            dict[str, str] | None, Field(description="String key/value pairs kept with the memory")
        ] = None,
    ) -> Annotated[CallToolResult, RememberOutput]:
        """Store a memory (confidence 1.0, source "user") so it can be recalled later."""
        if not content.strip():
            return error_result("content is required")
        memory = server.caller().remember(
            content,
            namespace=ns_or_default(namespace),
            type=as_type(type),
            tags=tags,
            metadata=dict(metadata) if metadata else None,
        )
        wire = memory.model_dump(mode="json")
        return text_result(
            remembered_text(content, memory.id),
            RememberOutput(id=memory.id, namespace=memory.namespace, created_at=wire["created_at"]),
        )

    @server.tool(annotations=ToolAnnotations(title="Recall", read_only_hint=False))
    @guarded
    def recall(
        query: QueryArg,
        namespace: NamespaceArg = default_ns,
        limit: Annotated[
            int, Field(description="Most memories to return (0 or less: 10; at most 1000)")
        ] = 10,
        tags: Annotated[
            list[str] | None, Field(description="Only memories carrying all of these tags")
        ] = None,
        types: Annotated[
            list[TypeName] | None, Field(description="Only memories of one of these types")
        ] = None,
        token_budget: Annotated[
            int | None, Field(description="Accepted for compatibility; not used (see get_context)")
        ] = None,
    ) -> Annotated[CallToolResult, RecallOutput]:
        """Find the memories most relevant to a query, best first, with relevance scores.
        Each returned memory counts one access."""
        if not query.strip():
            return error_result("query is required")
        results = server.caller().recall(
            query,
            namespace=ns_or_default(namespace),
            limit=Page.clamp(limit, 0, default=10).limit,  # as REST: <= 0 default, <= 1000
            types=types,
            tags=tags,
        )
        server.caller().touch([r.memory.id for r in results])
        return text_result(
            recall_text(results),
            RecallOutput(
                memories=[memory_result(r.memory, r.score) for r in results],
                total_found=len(results),
            ),
        )

    @server.tool(annotations=ToolAnnotations(title="Forget", destructive_hint=True))
    @guarded
    def forget(
        confirm: Annotated[
            bool,
            Field(description="Must be true to delete; with false nothing is deleted"),
        ],
        id: Annotated[str | None, Field(description="ID of the one memory to delete")] = None,
        namespace: NamespaceArg = default_ns,
        query: Annotated[
            str | None,
            Field(
                description="Delete the memories of the namespace this query is about: "
                "relevance score at least the server's mcp_forget_min_score (0.5 by default), "
                "and a word in common or an embedding at least mcp_forget_min_similarity "
                "(0.3) alike; at most mcp_forget_max (100)"
            ),
        ] = None,
    ) -> Annotated[CallToolResult, ForgetOutput]:
        """Delete one memory by ID, or the memories relevant to a query. Requires confirm=true."""
        if not confirm:
            return error_result("must set confirm=true to delete memories")
        if id and id.strip():
            targets = [server.caller().get_memory(id.strip())]
        elif query and query.strip():
            targets = server.caller().about(
                query,
                namespace=ns_or_default(namespace),
                limit=settings.mcp_forget_max,
                min_score=settings.mcp_forget_min_score,
                min_similarity=settings.mcp_forget_min_similarity,
            )
        else:
            return error_result("must provide either id or query")
        ids = [m.id for m in targets]
        deleted = server.caller().delete_memories(ids) if ids else 0
        return text_result(f"Deleted {deleted} memories", ForgetOutput(deleted=deleted, ids=ids))

    @server.tool(annotations=ToolAnnotations(title="List memories", read_only_hint=True))
    @guarded
    def list_memories(
        namespace: NamespaceArg = default_ns,
        limit: Annotated[int, Field(description="Page size (0 or less: 20; at most 1000)")] = 20,
        offset: Annotated[int, Field(description="Memories to skip")] = 0,
    ) -> Annotated[CallToolResult, ListOutput]:
        """List the memories of a namespace, oldest first (``total`` counts the whole
        namespace). An unknown namespace is simply empty."""
        ns = ns_or_default(namespace)
        page = Page.clamp(limit, offset, default=20)  # as REST: <= 0 default, <= 1000
        memories = server.caller().list_memories(MemoryFilter(namespace=ns), page)
        total = server.caller().count_memories(ns)
        if memories:
            lines = [f"Found {total} memories in namespace '{ns}':"]
            lines += [
                f"{i}. [{m.type.value}] {preview(m.content, 80)}"
                for i, m in enumerate(memories, start=page.offset + 1)
            ]
            text = "\n".join(lines)
        else:
            text = f"No memories in namespace '{ns}'"
        return text_result(
            text, ListOutput(memories=[memory_result(m) for m in memories], total=total)
        )

    @server.tool(annotations=ToolAnnotations(title="Get context", read_only_hint=False))
    @guarded
    def get_context(
        query: QueryArg,
        namespace: NamespaceArg = default_ns,
        token_budget: Annotated[
            int | None,
            Field(
                description="Token budget of the context (0 or less, or none: the "
                "namespace's token_budget, 4000 unless configured)",
            ),
        ] = None,
        system_prompt: Annotated[
            str | None, Field(description="Text placed first in the context")
        ] = None,
        include_dates: Annotated[
            bool,
            Field(description="Put the date each memory was written (UTC) before its text"),
        ] = False,
    ) -> Annotated[CallToolResult, ContextOutput]:
        """Assemble the memories most relevant to a query into one context block that fits
        the token budget (most relevant first, recent and working memories last)."""
        if not query.strip():
            return error_result("query is required")
        response = server.caller().context(
            query,
            namespace=ns_or_default(namespace),
            token_budget=token_budget if token_budget is not None and token_budget > 0 else None,
            system_prompt=system_prompt,
            include_dates=include_dates,
        )
        return text_result(
            response.content,
            ContextOutput(
                context=response.content,
                tokens_used=response.token_count,
                memories_used=len(response.memories),
            ),
        )

    @server.tool(annotations=ToolAnnotations(title="Relate memories", idempotent_hint=True))
    @guarded
    def relate(
        source_id: Annotated[str, Field(description="ID of the memory the relation starts from")],
        target_id: Annotated[str, Field(description="ID of the memory it points to")],
        type: Annotated[
            RelationName,
            Field(description="Relation type; 'A supersedes B' hides B from recall"),
        ] = "related_to",
        weight: Annotated[float, Field(gt=0.0, le=1.0, description="Strength, in (0, 1]")] = 1.0,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Kept with the relation")
        ] = None,
    ) -> Annotated[CallToolResult, RelationOutput]:
        """Create (or replace) a typed relation source -[type]-> target between two memories."""
        edge = server.caller().relate(
            source_id,
            RelationCreate(target_id=target_id, type=type, weight=weight, metadata=metadata),
        )
        wire = edge.model_dump(mode="json")
        return text_result(
            f"Related {edge.source_id} -[{edge.type.value}]-> {edge.target_id}",
            RelationOutput(
                source_id=edge.source_id,
                target_id=edge.target_id,
                type=edge.type.value,
                weight=edge.weight,
                created_at=wire["created_at"],
            ),
        )

    @server.tool(annotations=ToolAnnotations(title="Update memory", idempotent_hint=True))
    @guarded
    def update_memory(
        id: Annotated[str, Field(description="ID of the memory to change")],
        content: Annotated[str | None, Field(description="New content")] = None,
        tags: Annotated[
            list[str] | None, Field(description="New tags (replace the old; [] removes all)")
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="New metadata (replaces the old)")
        ] = None,
        confidence: Annotated[
            float | None, Field(ge=0.0, le=1.0, description="New confidence, 0-1")
        ] = None,
    ) -> Annotated[CallToolResult, MemoryOutput]:
        """Change a memory's content, tags, metadata or confidence; fields not given stay."""
        updated = server.caller().update_memory(
            id,
            MemoryUpdate(content=content, tags=tags, metadata=metadata, confidence=confidence),
        )
        return text_result(
            f"Updated memory {updated.id}: {preview(updated.content, 80)}",
            MemoryOutput.model_validate(updated.model_dump(mode="json")),
        )
