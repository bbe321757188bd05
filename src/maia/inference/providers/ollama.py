"""Ollama's native API: ``POST /api/chat`` (NDJSON when streaming), ``GET /api/tags``.

Requests are translated from OpenAI's shape (sampling parameters into ``options``,
``max_tokens`` into ``num_predict``, image parts into ``images``, tool calls with object
arguments) and answers back (``done_reason``, ``prompt_eval_count``/``eval_count``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from maia.inference.base import (
    chunk,
    completion,
    completion_id,
    final_chunks,
    max_tokens_of,
    model_object,
    now,
    one_choice,
    parse_timestamp,
    stop_list,
    text_of,
    tool_call_id,
    translated,
    usage,
    with_tools,
)
from maia.inference.errors import UpstreamError
from maia.inference.http import HttpProvider, normalise_error_body

# OpenAI request field -> Ollama option.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


def _images(content: Any) -> list[str]:
    """Base64 data of ``image_url`` parts given as data URLs (Ollama takes no URLs)."""
    images = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = part.get("image_url", {}).get("url", "")
                if isinstance(url, str) and url.startswith("data:") and "," in url:
                    images.append(url.split(",", 1)[1])
    return images


def _arguments_object(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return {}
    return arguments if arguments is not None else {}


def _message_to_ollama(message: dict[str, Any], tool_names: dict[str, str]) -> dict[str, Any]:
    role = message.get("role", "user")
    out: dict[str, Any] = {
        "role": "system" if role == "developer" else role,
        "content": text_of(message.get("content")),
    }
    images = _images(message.get("content"))
    if images:
        out["images"] = images
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [
            {
                "function": {
                    "name": call.get("function", {}).get("name", ""),
                    "arguments": _arguments_object(call.get("function", {}).get("arguments")),
                }
            }
            for call in calls
            if isinstance(call, dict)
        ]
    if role == "tool":
        # OpenAI tool results name only the call; Ollama wants the function's name.
        name = message.get("name") or tool_names.get(str(message.get("tool_call_id")))
        if name:
            out["tool_name"] = name
    return out


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tool_names: dict[str, str] = {}  # tool call id -> function name, from assistant turns
    out = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and call.get("id") and function.get("name"):
                tool_names[str(call["id"])] = str(function["name"])
        out.append(_message_to_ollama(message, tool_names))
    return out


def to_ollama(request: dict[str, Any], *, stream: bool) -> dict[str, Any]:
    """An OpenAI chat-completion request as an Ollama ``/api/chat`` body."""
    request = with_tools(request)
    extra = request.get("options")  # Ollama's own options, passed through when an object
    options: dict[str, Any] = dict(extra) if isinstance(extra, dict) else {}
    for openai_name, ollama_name in _OPTIONS.items():
        if request.get(openai_name) is not None:
            options[ollama_name] = request[openai_name]
    max_tokens = max_tokens_of(request)
    if max_tokens is not None:
        options["num_predict"] = max_tokens
    stop = stop_list(request.get("stop"))
    if stop:
        options["stop"] = stop
    body: dict[str, Any] = {
        "model": request.get("model", ""),
        "messages": _messages(request.get("messages", [])),
        "stream": stream,
    }
    if options:
        body["options"] = options
    if request.get("tools"):
        body["tools"] = request["tools"]  # Ollama takes OpenAI's function tools as they are
    response_format = request.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_object":
            body["format"] = "json"
        elif response_format.get("type") == "json_schema":
            schema = response_format.get("json_schema", {}).get("schema")
            body["format"] = schema if schema else "json"
    if "keep_alive" in request:
        body["keep_alive"] = request["keep_alive"]
    return body


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function", {}) if isinstance(call, dict) else {}
        arguments = function.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or tool_call_id(),
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    return calls


def _finish_reason(payload: dict[str, Any], has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    return "length" if payload.get("done_reason") == "length" else "stop"


def _usage(payload: dict[str, Any]) -> dict[str, int]:
    return usage(int(payload.get("prompt_eval_count") or 0), int(payload.get("eval_count") or 0))


def from_ollama(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An Ollama ``/api/chat`` answer as a ``chat.completion``."""
    message = payload.get("message") or {}
    content = message.get("content") or ""
    calls = _tool_calls(message)
    out: dict[str, Any] = {
        "role": "assistant",
        "content": content if content or not calls else None,
    }
    if calls:
        out["tool_calls"] = calls
    return completion(
        id=completion_id(),
        model=payload.get("model") or model,
        message=out,
        finish_reason=_finish_reason(payload, bool(calls)),
        usage=_usage(payload),
        created=parse_timestamp(payload.get("created_at")),
    )


class OllamaProvider(HttpProvider):
    """Ollama at ``base_url`` (e.g. ``http://127.0.0.1:11434``, without ``/v1``)."""

    def _body(self, request: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        one_choice(request, self.name)
        return translated(lambda: to_ollama(request, stream=stream), self.name)

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        payload = await self.request_json("POST", "/api/chat", self._body(request, stream=False))
        if not isinstance(payload, dict):
            raise self.bad_answer("a chat answer that is not a JSON object")
        return from_ollama(payload, str(request.get("model", "")))

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        body = self._body(request, stream=True)
        ident, created, model = completion_id(), now(), str(request.get("model", ""))
        first, tool_index, saw_tool_calls = True, 0, False
        async for line in self.stream_lines("/api/chat", body):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except ValueError:
                raise self.bad_answer("a stream line that is not JSON") from None
            if not isinstance(payload, dict):
                continue
            if "error" in payload:
                raise UpstreamError(
                    500, normalise_error_body(500, payload, line), provider=self.name
                )
            model = payload.get("model") or model
            message = payload.get("message") or {}
            delta: dict[str, Any] = {"role": "assistant"} if first else {}
            if message.get("content") or first:
                delta["content"] = message.get("content") or ""
            calls = _tool_calls(message)
            if calls:
                saw_tool_calls = True
                delta["tool_calls"] = [
                    {"index": tool_index + i, **call} for i, call in enumerate(calls)
                ]
                tool_index += len(calls)
            if delta:
                yield chunk(id=ident, model=model, created=created, delta=delta)
                first = False
            if payload.get("done"):
                for item in final_chunks(
                    request,
                    id=ident,
                    model=model,
                    created=created,
                    finish_reason=_finish_reason(payload, saw_tool_calls),
                    usage=_usage(payload),
                ):
                    yield item
                return
        raise self.unfinished()  # no line with "done"

    async def list_models(self) -> list[dict[str, Any]]:
        payload = await self.request_json("GET", "/api/tags")
        models = payload.get("models") if isinstance(payload, dict) else None
        if not isinstance(models, list):
            raise self.bad_answer("a model list without 'models'")
        return [
            model_object(
                str(m.get("name") or m.get("model")),
                owned_by=self.name,
                created=parse_timestamp(m.get("modified_at")) or 0,
            )
            for m in models
            if isinstance(m, dict) and (m.get("name") or m.get("model"))
        ]

    async def check(self) -> None:
        await self.list_models()
