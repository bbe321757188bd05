"""The inference tools: ``maia_complete``, ``maia_stream``, ``maia_list_models`` — a
chat completion through MAIA's inference router, with the caller's memories injected."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from maia.errors import MaiaError
from maia.inference.router import InferenceRouter
from maia.mcp.server import MaiaMCPServer
from maia.mcp.tools import error_result, text_result
from maia.models import Scope
from maia.proxy.inject import context_block, context_query, inject

DEFAULT_BUDGET = 2000  # the contract's default for these tools


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class CompletionOutput(BaseModel):
    content: str
    model: str
    provider: str
    memories_used: int
    usage: dict[str, Any] | None = None


class ModelsOutput(BaseModel):
    models: list[dict[str, Any]]


Messages = Annotated[list[ChatMessage], Field(description="The conversation, oldest first")]
Model = Annotated[str, Field(description="Model name, e.g. 'mock' or 'gpt-4o-mini'")]
Temperature = Annotated[float | None, Field(ge=0, le=2, description="Sampling temperature")]
MaxTokens = Annotated[int | None, Field(ge=1, description="Longest answer, in tokens")]
Provider = Annotated[
    str | None, Field(description="Use this provider only (default: routing by model)")
]


def answer(
    content: str, model: str, provider: str, memories_used: int, usage: dict[str, Any] | None
) -> CallToolResult:
    """A completion tool's result: the answer as text, and its details as structure."""
    return text_result(
        content,
        CompletionOutput(
            content=content,
            model=model,
            provider=provider,
            memories_used=memories_used,
            usage=usage,
        ),
    )


def register(server: MaiaMCPServer, router: InferenceRouter) -> None:
    default_ns = server.maia.settings.default_namespace

    async def prepare(
        model: str,
        messages: list[ChatMessage],
        namespace: str | None,
        token_budget: int,
        temperature: float | None,
        max_tokens: int | None,
        inject_memory: bool,
    ) -> tuple[dict[str, Any], int]:
        wire = [m.model_dump() for m in messages]
        request: dict[str, Any] = {"model": model, "messages": wire}
        if temperature is not None:
            request["temperature"] = temperature
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        query = context_query(wire)
        caller = server.caller()
        # Only a key that may read memories (as POST /v1/context) gets them injected.
        reads = caller.principal.allows((Scope.CONTEXT, Scope.READ))
        if not inject_memory or not reads or not query.strip():
            return request, 0
        context = await anyio.to_thread.run_sync(
            lambda: caller.context(
                query,
                namespace=namespace or caller.principal.default_namespace or default_ns,
                token_budget=token_budget,
            )
        )
        if context.memories:
            request["messages"] = inject(wire, context_block(context.content), "system")
        return request, len(context.memories)

    @server.tool(annotations=ToolAnnotations(title="Complete", read_only_hint=False))
    async def maia_complete(
        model: Model,
        messages: Messages,
        namespace: Annotated[str | None, Field(description="Memories to inject from")] = None,
        token_budget: Annotated[int, Field(ge=1, description="Budget of injected memories")] = (
            DEFAULT_BUDGET
        ),
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        provider: Provider = None,
        inject_memory: Annotated[bool, Field(description="Inject relevant memories")] = True,
    ) -> Annotated[CallToolResult, CompletionOutput]:
        """Ask a model (through MAIA's providers), with the relevant memories injected."""
        try:
            request, used = await prepare(
                model, messages, namespace, token_budget, temperature, max_tokens, inject_memory
            )
            response, provider_used = await router.complete(request, provider=provider)
        except MaiaError as exc:
            return error_result(exc.message)
        choices = response.get("choices") or [{}]
        content = str((choices[0].get("message") or {}).get("content") or "")
        served = str(response.get("model") or model)
        return answer(content, served, provider_used, used, response.get("usage"))

    @server.tool(annotations=ToolAnnotations(title="Complete (streamed)", read_only_hint=False))
    async def maia_stream(
        model: Model,
        messages: Messages,
        namespace: Annotated[str | None, Field(description="Memories to inject from")] = None,
        token_budget: Annotated[int, Field(ge=1, description="Budget of injected memories")] = (
            DEFAULT_BUDGET
        ),
        temperature: Temperature = None,
        max_tokens: MaxTokens = None,
        provider: Provider = None,
        inject_memory: Annotated[bool, Field(description="Inject relevant memories")] = True,
    ) -> Annotated[CallToolResult, CompletionOutput]:
        """Like maia_complete, streamed from the provider; returns the whole answer."""
        try:
            request, used = await prepare(
                model, messages, namespace, token_budget, temperature, max_tokens, inject_memory
            )
            streamed = {**request, "stream": True, "stream_options": {"include_usage": True}}
            chunks, provider_used = await router.stream(streamed, provider=provider)
            parts: list[str] = []
            usage: dict[str, Any] | None = None
            served = model
            async for chunk in chunks:
                served = str(chunk.get("model") or served)
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if isinstance(delta.get("content"), str):
                        parts.append(delta["content"])
        except MaiaError as exc:
            return error_result(exc.message)
        return answer("".join(parts), served, provider_used, used, usage)

    @server.tool(annotations=ToolAnnotations(title="List models", read_only_hint=True))
    async def maia_list_models(
        provider: Annotated[str | None, Field(description="Only this provider's models")] = None,
    ) -> Annotated[CallToolResult, ModelsOutput]:
        """The models MAIA's inference providers serve."""
        try:
            if provider:
                models = await router.provider_models(provider)
            else:
                models = await router.list_models()
        except MaiaError as exc:
            return error_result(exc.message)
        lines = [str(m.get("id")) for m in models] or ["(no models)"]
        return text_result("\n".join(lines), ModelsOutput(models=models))
