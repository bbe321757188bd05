"""The provider protocol and helpers that build OpenAI chat-completion objects.

Every provider speaks OpenAI's chat-completions wire format as plain JSON dicts: a
request in, a ``chat.completion`` (or a series of ``chat.completion.chunk``) out.
Providers for other APIs translate to and from it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Provider(Protocol):
    """One upstream (or the built-in mock) behind MAIA's inference router."""

    name: str

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """A ``chat.completion`` object for an OpenAI chat-completion request."""
        ...

    def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """``chat.completion.chunk`` objects in order; the last may carry ``usage``."""
        ...

    async def list_models(self) -> list[dict[str, Any]]:
        """OpenAI model objects: ``{"id", "object": "model", "created", "owned_by"}``."""
        ...

    async def check(self) -> None:
        """A cheap call that raises when the provider cannot serve (health check)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def tool_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    *,
    id: str,
    model: str,
    message: dict[str, Any],
    finish_reason: str | None,
    usage: dict[str, int] | None,
    created: int | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` with one choice."""
    result: dict[str, Any] = {
        "id": id,
        "object": "chat.completion",
        "created": now() if created is None else created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
    }
    if usage is not None:
        result["usage"] = usage
    return result


def chunk(
    *,
    id: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice."""
    result: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    if usage is not None:
        result["usage"] = usage
    return result


def model_object(model_id: str, *, owned_by: str, created: int = 0) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


def text_of(content: Any) -> str:
    """The text of a message's ``content``: a string, or the text parts of a list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return str(content)


def max_tokens_of(request: dict[str, Any]) -> int | None:
    """``max_completion_tokens`` (the newer name) or ``max_tokens``."""
    value = request.get("max_completion_tokens", request.get("max_tokens"))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def stop_list(stop: Any) -> list[str] | None:
    """OpenAI's ``stop`` (a string or a list) as a list."""
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    return [str(s) for s in stop]


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any) -> int | None:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds and ``Z`` allowed)."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return None
