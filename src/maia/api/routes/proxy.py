"""The OpenAI-compatible proxy: ``POST /v1/chat/completions`` and ``GET /v1/models``
(also under ``/proxy``). Memories relevant to the conversation are injected into the
request; what the user and the model say is learned afterwards, off the response path.

Errors use OpenAI's shape (``{"error": {"message", "type", "code"?}}``) so OpenAI
clients report them as they would OpenAI's own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request
from starlette.responses import Response, StreamingResponse

from maia.api.auth import presented_key, principal_of, requires
from maia.api.deps import MaiaDep
from maia.api.errors import status_for
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.errors import (
    Forbidden,
    InvalidInput,
    MaiaError,
    NotFound,
    QuotaExceeded,
    RateLimited,
)
from maia.inference.errors import (
    UnknownModel,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_type_for,
)
from maia.inference.http import client_authorization
from maia.inference.router import InferenceRouter
from maia.models import ContextRequest, Scope
from maia.proxy.extract import extract
from maia.proxy.inject import context_block, context_query, inject
from maia.proxy.llm_extract import extract_with_model
from maia.proxy.request import check_chat_request
from maia.security.principal import OPEN_PRINCIPAL
from maia.service import Maia

log = logging.getLogger(__name__)

router = api_router(tags=["proxy"])

TRUE = ("1", "true", "yes", "on")
# Background learning tasks, kept referenced until done (asyncio keeps only weak refs).
_learning: set[asyncio.Task[None]] = set()


def openai_error(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"message": message, "type": kind}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return json_response({"error": error}, status_code=status, headers=headers)


def _retry_after(seconds: float | None) -> dict[str, str]:
    """``Retry-After`` in whole seconds, rounded up, when the wait is known."""
    return {} if seconds is None else {"Retry-After": str(math.ceil(max(seconds, 0.0)))}


def error_response(exc: MaiaError) -> Response:
    """Any MAIA or inference error as OpenAI's error object (never MAIA's envelope)."""
    match exc:
        case UpstreamError():
            headers = _retry_after(exc.retry_after) if exc.status in (429, 503) else {}
            return json_response(exc.body, status_code=exc.status, headers=headers)
        case UpstreamTimeout():
            return openai_error(504, "Request to backend timed out", "timeout")
        case UpstreamUnavailable():
            return openai_error(502, f"Backend request failed: {exc}", "backend_error")
        case UnknownModel():  # and UnknownProvider: their own code and param
            return json_response(exc.body, status_code=exc.status)
        case InvalidInput():
            return openai_error(400, str(exc), "invalid_request", param=exc.field)
        case Forbidden():
            return openai_error(403, str(exc), "permission_error")
        case NotFound():
            return openai_error(404, str(exc), "invalid_request_error")
        case QuotaExceeded():
            return openai_error(429, str(exc), "insufficient_quota")
        case RateLimited():
            return openai_error(
                429,
                str(exc),
                "rate_limit_error",
                "rate_limit_exceeded",
                headers=_retry_after(exc.retry_after),
            )
    status = status_for(exc)
    return openai_error(status, str(exc), error_type_for(status), exc.code.lower())


@dataclass
class Turn:
    """One proxied request: what was asked, what was injected, where to learn."""

    body: dict[str, Any]
    original_messages: list[dict[str, Any]]
    namespace: str
    learn: bool
    provider: str | None
    conversation_id: str | None
    memories_used: int = 0
    # The injected block's tokens, counted while the upstream answers (2 ms for 4,000).
    tokens_injected: asyncio.Future[int | None] | None = None

    async def headers(self, provider_used: str) -> dict[str, str]:
        headers = {"X-MAIA-Inference-Provider-Used": provider_used}
        if self.memories_used and self.tokens_injected is not None:
            headers["X-MAIA-Memories-Used"] = str(self.memories_used)
            tokens = await self.tokens_injected
            if tokens is not None:
                headers["X-MAIA-Tokens-Injected"] = str(tokens)
        return headers


def _flag(request: Request, name: str) -> bool:
    return request.headers.get(name, "").strip().lower() in TRUE


async def _read_turn(request: Request, maia: Maia) -> Turn:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"invalid request body: {exc}") from exc
    except RecursionError as exc:  # nesting deeper than the parser goes
        raise InvalidInput("invalid request body: nested too deeply") from exc
    check_chat_request(body)
    messages: list[dict[str, Any]] = body["messages"]
    settings = maia.settings
    namespace = (
        request.headers.get("X-MAIA-Namespace", "").strip()
        or maia.principal.default_namespace
        or settings.default_namespace
    )
    budget_text = request.headers.get("X-MAIA-Token-Budget", "").strip()
    budget = settings.proxy_token_budget
    if budget_text:
        if not budget_text.isdigit() or int(budget_text) <= 0:
            raise InvalidInput("X-MAIA-Token-Budget must be a positive integer")
        budget = int(budget_text)
    turn = Turn(
        body=body,
        original_messages=messages,
        namespace=namespace,
        # The key's scopes bound what the proxy does with memory: a key that may only
        # call models neither reads memories into prompts nor writes what it learns.
        learn=settings.proxy_auto_remember
        and not _flag(request, "X-MAIA-Skip-Extract")
        and maia.principal.allows((Scope.WRITE,)),
        provider=request.headers.get("X-MAIA-Inference-Provider", "").strip() or None,
        conversation_id=request.headers.get("X-MAIA-Conversation-ID", "").strip() or None,
    )
    reads = maia.principal.allows((Scope.CONTEXT, Scope.READ))  # as POST /v1/context
    if settings.proxy_auto_context and reads and not _flag(request, "X-MAIA-Skip-Memory"):
        try:
            await _inject(turn, maia, budget)
        except Exception as exc:  # injection is best effort: answer without memories
            log.warning(
                "context injection skipped: %s",
                exc,
                exc_info=not isinstance(exc, MaiaError),
            )
    return turn


async def _inject(turn: Turn, maia: Maia, budget: int) -> None:
    query = context_query(turn.original_messages)
    if not query.strip():
        return
    request = ContextRequest(
        query=query,
        namespace=turn.namespace,
        token_budget=budget,
        min_score=maia.settings.proxy_min_score,
        include_dates=maia.settings.proxy_context_dates,
    )
    context = await anyio.to_thread.run_sync(maia.assemble_context, request)
    if not context.memories:
        return
    block = context_block(context.content)
    turn.body = {
        **turn.body,
        "messages": inject(turn.original_messages, block, maia.settings.proxy_context_position),
    }
    turn.memories_used = len(context.memories)
    loop = asyncio.get_running_loop()
    turn.tokens_injected = loop.run_in_executor(None, _count_tokens, maia, block)


def _count_tokens(maia: Maia, text: str) -> int | None:
    """The header's count, or None (no header): the answer must not fail for it, and a
    future whose answer is never awaited (the upstream failed) must hold no exception."""
    try:
        return maia.engine.tokens.count(text)
    except Exception:
        log.exception("counting the injected tokens failed")
        return None


def _learn_later(
    maia: Maia,
    turn: Turn,
    reply: str | None,
    conversation_id: str | None,
    inference: InferenceRouter,
) -> None:
    """Extraction and storage run after the answer went out (a task, then a thread)."""
    if not turn.learn:
        return
    settings = maia.settings

    async def run() -> None:
        try:
            found = None
            if settings.proxy_extractor == "llm" and settings.proxy_extractor_model:
                found = await extract_with_model(
                    inference, settings.proxy_extractor_model, turn.original_messages, reply
                )
            if found is None:
                found = extract(turn.original_messages, reply)
            if found:
                await anyio.to_thread.run_sync(
                    lambda: maia.learn(
                        found,
                        namespace=turn.namespace,
                        conversation_id=turn.conversation_id or conversation_id,
                    )
                )
        except Exception:  # learning is best effort; the answer was already given
            log.exception("learning from a proxied conversation failed")

    task = asyncio.get_running_loop().create_task(run())
    _learning.add(task)
    task.add_done_callback(_learning.discard)


def _reply_text(response: dict[str, Any]) -> str | None:
    choices = response.get("choices") or []
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def inference_of(request: Request) -> InferenceRouter:
    inference: InferenceRouter = request.app.state.inference
    return inference


def _client_credential(request: Request) -> str | None:
    """The client's ``Authorization`` header, for providers that forward it (contract
    6.1: "forwarding the client's Authorization header verbatim"), unless it carried
    MAIA's own key: that one never leaves."""
    authorization = request.headers.get("Authorization")
    if not authorization or principal_of(request) is OPEN_PRINCIPAL:
        return authorization
    # The header is the client's own only if MAIA's key came from elsewhere (an empty
    # X-API-Key, say, leaves MAIA reading its key from this very header).
    used = presented_key(request.scope, allow_query_param=False)
    return None if authorization.removeprefix("Bearer ").strip() == used else authorization


async def chat_completions(request: Request, maia: MaiaDep) -> Response:
    client_authorization.set(_client_credential(request))
    try:
        turn = await _read_turn(request, maia)
        inference = inference_of(request)
        if turn.body.get("stream"):
            chunks, provider = await inference.stream(turn.body, provider=turn.provider)
            return StreamingResponse(
                _sse(chunks, maia, turn, inference),
                media_type="text/event-stream",
                headers={
                    "Cache-Control": "no-cache",
                    "Connection": "keep-alive",
                    **(await turn.headers(provider)),
                },
            )
        response, provider = await inference.complete(turn.body, provider=turn.provider)
    except MaiaError as exc:
        return error_response(exc)
    response_id = str(response.get("id") or "") or None
    _learn_later(maia, turn, _reply_text(response), response_id, inference)
    return json_response(response, headers=await turn.headers(provider))


async def _sse(
    chunks: AsyncIterator[dict[str, Any]], maia: Maia, turn: Turn, inference: InferenceRouter
) -> AsyncIterator[bytes]:
    """OpenAI's stream framing: ``data: <chunk>`` events, then ``data: [DONE]``."""
    parts: list[str] = []
    completion_id: str | None = None
    try:
        async for chunk in chunks:
            completion_id = completion_id or chunk.get("id")
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
            yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    except MaiaError as exc:  # after the first chunk there is no status code left to set
        error = json.loads(bytes(error_response(exc).body))
        yield b"data: " + json.dumps(error).encode() + b"\n\n"
    else:
        _learn_later(maia, turn, "".join(parts) or None, completion_id, inference)
    yield b"data: [DONE]\n\n"


async def list_models(request: Request) -> Response:
    client_authorization.set(_client_credential(request))
    try:
        models = await inference_of(request).list_models()
    except MaiaError as exc:
        return error_response(exc)
    return json_response({"object": "list", "data": models})


# The body is read by hand so that every error comes back in OpenAI's shape.
CHAT_REQUEST_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["model", "messages"],
                "properties": {
                    "model": {"type": "string", "minLength": 1},
                    "messages": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["role"],
                            "properties": {"role": {"type": "string"}},
                        },
                    },
                    "stream": {"type": "boolean"},
                    "temperature": {"type": "number"},
                },
            }
        }
    },
}
CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat.completion object, or chat.completion.chunk events (stream)",
        "content": {"application/json": {}, "text/event-stream": {}},
    }
}

for prefix in ("", "/proxy"):
    router.add_api_route(
        f"{prefix}/v1/chat/completions",
        chat_completions,
        methods=["POST"],
        summary="OpenAI-compatible chat completion, with memory injected and learned",
        dependencies=[requires(Scope.INFERENCE)],
        openapi_extra={"requestBody": CHAT_REQUEST_SCHEMA},
        responses=CHAT_RESPONSES,
    )
    router.add_api_route(
        f"{prefix}/v1/models",
        list_models,
        methods=["GET"],
        summary="The models the configured providers serve",
        dependencies=[requires(Scope.INFERENCE, Scope.STATS)],
    )
