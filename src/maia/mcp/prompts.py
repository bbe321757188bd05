"""The MCP prompts: one user message built from the namespace's memories.

Prompt arguments arrive as strings; a missing required one, or an invalid value, is a
JSON-RPC error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field, ValidationError

from maia.errors import MaiaError
from maia.mcp.facade import MemoryFacade
from maia.mcp.render import describe_validation, preview
from maia.mcp.server import MaiaMCPServer
from maia.models import Memory, MemoryFilter, MemoryType, Page

P = ParamSpec("P")
R = TypeVar("R")

SUMMARIZE_LIMIT = 50
EXPLORE_LIMIT = 100
SAMPLES = 5
ANALYSIS = (
    "Please analyze these memories:\n"
    "1. What are the main themes and topics?\n"
    "2. What patterns or connections do you see between them?\n"
    "3. Is anything contradictory, duplicated or out of date?\n"
    "4. What is missing that would be worth remembering?"
)


def protocol_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """A ``MaiaError`` in a prompt is a JSON-RPC invalid-params error with its message
    (the SDK would otherwise replace the message with a generic one)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MaiaError as exc:
            raise MCPError(code=INVALID_PARAMS, message=exc.message) from exc
        except ValidationError as exc:
            raise MCPError(code=INVALID_PARAMS, message=describe_validation(exc)) from exc

    return wrapper


def numbered(memories: list[Memory]) -> str:
    return "\n".join(f"{i}. [{m.type.value}] {m.content}" for i, m in enumerate(memories, 1))


def _arg(arguments: Mapping[str, Any], name: str, default: str) -> str:
    value = arguments.get(name)
    return str(value) if value else default


def register(server: MaiaMCPServer, maia: MemoryFacade) -> None:
    default_ns = maia.settings.default_namespace

    def required(value: str, name: str) -> str:
        if not value.strip():
            raise MCPError(code=INVALID_PARAMS, message=f"{name} is required")
        return value

    @server.prompt()
    @protocol_errors
    def inject_context(
        topic: Annotated[str, Field(description="What the conversation is about")],
        namespace: Annotated[str, Field(description="Namespace to draw from")] = default_ns,
        max_tokens: Annotated[
            int, Field(ge=1, description="Token budget of the memories included")
        ] = 2000,
    ) -> str:
        """Memories relevant to a topic (ranked by relevance, within max_tokens), as context
        for the conversation."""
        required(topic, "topic")
        response = server.caller().context(
            topic, namespace=namespace or default_ns, token_budget=max_tokens
        )
        if response.memories:
            listed = "\n".join(
                f"{i}. {m.content}" for i, m in enumerate(response.memories, start=1)
            )
        else:
            listed = "(no stored memories are relevant)"
        return (
            "I have the following context from my memory system:\n\n"
            f"{listed}\n\nNow, regarding: {topic}"
        )

    server.describe_prompt(
        "inject_context",
        lambda a: (
            f"Context for '{_arg(a, 'topic', '')}' from namespace "
            f"'{_arg(a, 'namespace', default_ns)}'"
        ),
    )

    @server.prompt()
    @protocol_errors
    def summarize_memories(
        namespace: Annotated[str, Field(description="Namespace to summarise")],
        focus: Annotated[str | None, Field(description="Aspect to focus on")] = None,
    ) -> str:
        """A request to summarise the memories of a namespace (up to 50)."""
        required(namespace, "namespace")
        memories = server.caller().list_memories(
            MemoryFilter(namespace=namespace), Page(limit=SUMMARIZE_LIMIT)
        )
        focusing = f", focusing on '{focus}'" if focus else ""
        listed = numbered(memories) if memories else "(this namespace has no memories)"
        return (
            f"Please summarize the following memories from namespace '{namespace}'{focusing}:"
            f"\n\n{listed}"
        )

    server.describe_prompt(
        "summarize_memories",
        lambda a: (
            f"Summary of namespace '{_arg(a, 'namespace', '')}'"
            + (f" focusing on '{a['focus']}'" if a.get("focus") else "")
        ),
    )

    @server.prompt()
    @protocol_errors
    def explore_memories(
        namespace: Annotated[str, Field(description="Namespace to explore")],
        question: Annotated[str | None, Field(description="A question to answer")] = None,
    ) -> str:
        """An overview of a namespace (totals, types, samples, contents) with a question
        about it or a request for analysis."""
        required(namespace, "namespace")
        memories = server.caller().list_memories(
            MemoryFilter(namespace=namespace), Page(limit=EXPLORE_LIMIT)
        )
        total = server.caller().count_memories(namespace)
        counts = Counter(m.type.value for m in memories)
        by_type = ", ".join(f"{t.value}: {counts.get(t.value, 0)}" for t in MemoryType)
        scope = f" (among the first {len(memories)})" if total > len(memories) else ""
        samples = "\n".join(f"- {preview(m.content, 100)}" for m in memories[:SAMPLES])
        parts = [
            f"Here is an overview of the memories in namespace '{namespace}':",
            f"Total memories: {total}\nBy type{scope}: {by_type}",
            f"Sample memories:\n{samples or '(none)'}",
            f"All memories:\n{numbered(memories) or '(none)'}",
            f"Question: {question}" if question else ANALYSIS,
        ]
        return "\n\n".join(parts)

    server.describe_prompt(
        "explore_memories", lambda a: f"Exploration of namespace '{_arg(a, 'namespace', '')}'"
    )
