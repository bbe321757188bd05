"""The built-in mock: deterministic answers, no network. It serves the model ``mock``
(and ``mock-*``) so a fresh server can be tried end to end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from maia.inference.base import (
    chunk,
    completion,
    final_chunks,
    max_tokens_of,
    model_object,
    now,
    one_choice,
    text_of,
    usage,
)

MOCK_MODELS = ("mock", "mock-*")
PREFIX = "MAIA mock reply to: "
QUOTE_CHARS = 200


def _last_user_text(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def _words(text: str) -> int:
    return len(text.split())


def mock_reply(request: dict[str, Any]) -> tuple[str, str, dict[str, int]]:
    """(reply text, finish reason, usage) for a request: the last user message quoted
    (cut at 200 characters), cut to ``max_tokens`` words; counts are word counts."""
    quoted = " ".join(_last_user_text(request).split())
    if len(quoted) > QUOTE_CHARS:
        quoted = quoted[: QUOTE_CHARS - 1].rstrip() + "…"
    reply, finish = PREFIX + quoted, "stop"
    limit = max_tokens_of(request)
    if limit is not None and _words(reply) > limit:
        reply, finish = " ".join(reply.split()[: max(limit, 0)]), "length"
    prompt = sum(
        _words(text_of(m.get("content")))
        for m in request.get("messages") or []
        if isinstance(m, dict)
    )
    return reply, finish, usage(prompt, _words(reply))


def _ident(request: dict[str, Any]) -> str:
    canonical = json.dumps(request.get("messages"), sort_keys=True, default=str)
    return "chatcmpl-mock-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


class MockProvider:
    """Always healthy; the same request gets the same answer (``created`` aside)."""

    def __init__(self, name: str = "mock") -> None:
        self.name = name

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        one_choice(request, self.name)
        reply, finish, counts = mock_reply(request)
        return completion(
            id=_ident(request),
            model=str(request.get("model") or "mock"),
            message={"role": "assistant", "content": reply},
            finish_reason=finish,
            usage=counts,
        )

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        one_choice(request, self.name)
        reply, finish, counts = mock_reply(request)
        ident, model, created = _ident(request), str(request.get("model") or "mock"), now()
        words = reply.split(" ")
        pieces = [" ".join(words[i : i + 4]) for i in range(0, len(words), 4)]
        for position, piece in enumerate(pieces):
            text = piece if position == 0 else " " + piece
            delta = {"role": "assistant", "content": text} if position == 0 else {"content": text}
            yield chunk(id=ident, model=model, created=created, delta=delta)
        for item in final_chunks(
            request, id=ident, model=model, created=created, finish_reason=finish, usage=counts
        ):
            yield item

    async def list_models(self) -> list[dict[str, Any]]:
        return [model_object("mock", owned_by="maia")]

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
