"""The provider protocol and helpers that build OpenAI chat-completion objects.

Every provider speaks OpenAI's chat-completions wire format as plain JSON dicts: a
request in, a ``chat.completion`` (or a series of ``chat.completion.chunk``) out.
Providers for other APIs translate to and from it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from maia.errors import InvalidInput

T = TypeVar("T")


@runtime_checkable
class Provider(Protocol):
    """One upstream (or the built-in mock) behind MAIA's inference router."""

    name: str

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """A ``chat.completion`` object for an OpenAI chat-completion request."""
        ...

    def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """``chat.completion.chunk`` objects in order; with ``stream_options.include_usage``
        a last chunk with no choices carries ``usage`` (as OpenAI sends it)."""
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
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice."""
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def wants_usage(request: dict[str, Any]) -> bool:
    """``stream_options.include_usage`` is true."""
    options = request.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def final_chunks(
    request: dict[str, Any],
    *,
    id: str,
    model: str,
    created: int,
    finish_reason: str,
    usage: dict[str, int],
) -> list[dict[str, Any]]:
    """The end of a stream as OpenAI sends it: the ``finish_reason`` chunk, then, only
    when the request asked (``stream_options.include_usage``), a chunk with no choices
    and the ``usage``."""
    last = [chunk(id=id, model=model, created=created, delta={}, finish_reason=finish_reason)]
    if wants_usage(request):
        base = {"id": id, "object": "chat.completion.chunk", "created": created, "model": model}
        last.append({**base, "choices": [], "usage": usage})
    return last


def one_choice(request: dict[str, Any], provider: str) -> None:
    """``InvalidInput`` when ``n`` asks for several choices of a provider that answers
    with one (silently answering one would break a client counting on ``n``)."""
    n = request.get("n")
    if n is not None and n != 1:
        raise InvalidInput(
            f"n={n} is not supported by inference provider '{provider}': it returns one"
            " choice per request; leave n out or set it to 1",
            field="n",
        )


def translated(build: Callable[[], T], provider: str) -> T:
    """``build()`` (a request's translation for a provider); a value it cannot translate
    is the client's mistake: ``InvalidInput``, not a crash. The proxy checks the known
    fields first; this guards every other caller."""
    try:
        return build()
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidInput(
            f"the request cannot be translated for inference provider '{provider}': {exc}"
        ) from exc


def model_object(model_id: str, *, owned_by: str, created: int = 0) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


def with_tools(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` with OpenAI's legacy function calling (``functions``,
    ``function_call``, ``function`` messages) written as tools, the form the translators
    know. A function result answers the last call of that name."""
    messages = request.get("messages") or []
    legacy = (
        "functions" in request
        or "function_call" in request
        or any(
            isinstance(m, dict) and (m.get("function_call") or m.get("role") == "function")
            for m in messages
        )
    )
    if not legacy:
        return request
    out = {k: v for k, v in request.items() if k not in ("functions", "function_call")}
    functions = request.get("functions")
    if isinstance(functions, list) and not out.get("tools"):
        out["tools"] = [{"type": "function", "function": f} for f in functions]
    choice = request.get("function_call")
    if choice is not None and out.get("tool_choice") is None:
        named = isinstance(choice, dict)
        out["tool_choice"] = {"type": "function", "function": choice} if named else choice
    calls: dict[str, str] = {}  # function name -> id of its last call
    rewritten: list[Any] = []
    for i, message in enumerate(messages):
        if isinstance(message, dict):
            call = message.get("function_call")
            if isinstance(call, dict) and not message.get("tool_calls"):
                call_id = calls[str(call.get("name"))] = f"call_{i}"
                message = {k: v for k, v in message.items() if k != "function_call"}
                message["tool_calls"] = [{"id": call_id, "type": "function", "function": call}]
            elif message.get("role") == "function":
                name = str(message.get("name", ""))
                message = {
                    "role": "tool",
                    "tool_call_id": calls.get(name, f"call_{name}"),
                    "name": name,
                    "content": message.get("content"),
                }
        rewritten.append(message)
    out["messages"] = rewritten
    return out


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
