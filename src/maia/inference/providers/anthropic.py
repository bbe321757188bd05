"""Anthropic's Messages API: ``POST {base_url}/v1/messages``, ``GET {base_url}/v1/models``.

OpenAI requests are translated (system messages into ``system``, tools into
``input_schema`` tools, assistant tool calls into ``tool_use`` blocks, tool messages into
``tool_result`` blocks, ``stop`` into ``stop_sequences``, a required ``max_tokens``) and
answers back, streaming included (Anthropic's SSE events into OpenAI chunks).
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
    translated,
    usage,
    with_tools,
)
from maia.inference.errors import UpstreamError, openai_error
from maia.inference.http import HttpOptions, HttpProvider, sse_events

ANTHROPIC_VERSION = "2023-06-01"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Anthropic error types reported inside a stream -> the HTTP status they stand for.
_STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        media_type = header.split(";", 1)[0] or "image/png"
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("text", "input_text"):
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif part.get("type") == "image_url":
            url = part.get("image_url", {}).get("url", "")
            if isinstance(url, str) and url:
                blocks.append(_image_block(url))
    return blocks


def _tool_use_blocks(calls: Any) -> list[dict[str, Any]]:
    blocks = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function", {}) if isinstance(call, dict) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments = {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments if isinstance(arguments, dict) else {},
            }
        )
    return blocks


def _messages(request: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(system texts, Anthropic messages); consecutive turns of one role are merged, as
    Anthropic wants user and assistant turns to alternate, and empty turns dropped."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in request.get("messages", []):
        role = message.get("role", "user")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content))
            continue
        if role == "tool":
            role = "user"
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id", ""),
                    "content": text_of(content),
                }
            ]
        elif role == "assistant":
            blocks = _content_blocks(content) + _tool_use_blocks(message.get("tool_calls"))
        else:
            role = "user"
            blocks = _content_blocks(content)
        if not blocks:  # Anthropic refuses empty turns ("" content, a bare function call)
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return system, messages


def _tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function", {})
        converted: dict[str, Any] = {
            "name": function.get("name", ""),
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            converted["description"] = function["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    if choice == "auto":
        result = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        result = {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        result = {"type": "tool", "name": choice.get("function", {}).get("name", "")}
    if parallel is False:
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result


def to_anthropic(
    request: dict[str, Any], *, max_tokens_default: int, stream: bool
) -> dict[str, Any]:
    """An OpenAI chat-completion request as an Anthropic Messages body."""
    request = with_tools(request)
    system, messages = _messages(request)
    body: dict[str, Any] = {
        "model": request.get("model", ""),
        "messages": messages,
        "max_tokens": max_tokens_of(request) or max_tokens_default,
    }
    if system:
        body["system"] = "\n\n".join(system)
    for name in ("temperature", "top_p", "top_k"):
        if request.get(name) is not None:
            body[name] = request[name]
    stop = stop_list(request.get("stop"))
    if stop:
        body["stop_sequences"] = stop
    tools = _tools(request.get("tools"))
    if tools:
        body["tools"] = tools
    choice = _tool_choice(request.get("tool_choice"), request.get("parallel_tool_calls"))
    if choice is not None and tools:
        body["tool_choice"] = choice
    if request.get("user"):
        body["metadata"] = {"user_id": str(request["user"])}
    if stream:
        body["stream"] = True
    return body


def _usage(raw: Any) -> dict[str, int]:
    raw = raw if isinstance(raw, dict) else {}
    prompt = sum(
        int(raw.get(key) or 0)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return usage(prompt, int(raw.get("output_tokens") or 0))


def from_anthropic(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic Messages answer as a ``chat.completion``."""
    text, calls = [], []
    for block in payload.get("content") or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": json.dumps(block.get("input") or {}),
                    },
                }
            )
    content = "".join(text)
    message: dict[str, Any] = {"role": "assistant", "content": content or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return completion(
        id=payload.get("id") or completion_id(),
        model=payload.get("model") or model,
        message=message,
        finish_reason=FINISH_REASONS.get(payload.get("stop_reason") or "", "stop"),
        usage=_usage(payload.get("usage")),
    )


class StreamTranslator:
    """Anthropic stream events in, OpenAI chunks out: a first chunk with the role, text
    and tool-call deltas, a chunk with ``finish_reason``, then ``usage`` if asked for."""

    def __init__(self, model: str, provider: str, request: dict[str, Any] | None = None) -> None:
        self.id, self.created, self.model = completion_id(), now(), model
        self.provider = provider
        self.request = request or {}
        self.tool_index: dict[int, int] = {}  # content block index -> tool call index
        self.usage: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.done = False

    def _chunk(self, delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return chunk(id=self.id, model=self.model, created=self.created, delta=delta, **extra)

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = message.get("id") or self.id
            self.model = message.get("model") or self.model
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(int(event.get("index", 0)), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(int(event.get("index", 0)), event.get("delta") or {})
        if kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.usage.update(event.get("usage") or {})
            return []
        if kind == "message_stop":
            self.done = True
            return final_chunks(
                self.request,
                id=self.id,
                model=self.model,
                created=self.created,
                finish_reason=FINISH_REASONS.get(self.stop_reason or "", "stop"),
                usage=_usage(self.usage),
            )
        if kind == "error":
            error = event.get("error") or {}
            error_type = str(error.get("type") or "api_error")
            raise UpstreamError(
                _STATUS_BY_ERROR_TYPE.get(error_type, 500),
                openai_error(str(error.get("message") or "upstream stream failed"), error_type),
                provider=self.provider,
            )
        return []  # ping, content_block_stop, and event types added later

    def _block_start(self, index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
        if block.get("type") == "tool_use":
            position = len(self.tool_index)
            self.tool_index[index] = position
            call = {
                "index": position,
                "id": block.get("id", ""),
                "type": "function",
                "function": {"name": block.get("name", ""), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        return []

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[dict[str, Any]]:
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if delta.get("type") == "input_json_delta" and index in self.tool_index:
            call = {
                "index": self.tool_index[index],
                "function": {"arguments": delta.get("partial_json", "")},
            }
            return [self._chunk({"tool_calls": [call]})]
        return []  # thinking and signature deltas have no OpenAI counterpart


class AnthropicProvider(HttpProvider):
    """Anthropic at ``base_url`` (``https://api.anthropic.com``, without ``/v1``)."""

    def __init__(self, name: str, options: HttpOptions, *, max_tokens_default: int) -> None:
        super().__init__(name, options)
        self.max_tokens_default = max_tokens_default

    def _body(self, request: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        one_choice(request, self.name)
        return translated(
            lambda: to_anthropic(
                request, max_tokens_default=self.max_tokens_default, stream=stream
            ),
            self.name,
        )

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        body = self._body(request, stream=False)
        payload = await self.request_json("POST", "/v1/messages", body)
        if not isinstance(payload, dict):
            raise self.bad_answer("a message that is not a JSON object")
        return from_anthropic(payload, str(request.get("model", "")))

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        body = self._body(request, stream=True)
        translator = StreamTranslator(str(request.get("model", "")), self.name, request)
        async for _event, data in sse_events(self.stream_lines("/v1/messages", body)):
            try:
                event = json.loads(data)
            except ValueError:
                raise self.bad_answer("a stream event that is not JSON") from None
            if isinstance(event, dict):
                for item in translator.feed(event):
                    yield item
            if translator.done:
                return
        raise self.unfinished()  # no message_stop

    async def list_models(self) -> list[dict[str, Any]]:
        payload = await self.request_json("GET", "/v1/models")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise self.bad_answer("a model list without 'data'")
        return [
            model_object(
                str(m["id"]), owned_by=self.name, created=parse_timestamp(m.get("created_at")) or 0
            )
            for m in data
            if isinstance(m, dict) and m.get("id")
        ]

    async def check(self) -> None:
        await self.list_models()
