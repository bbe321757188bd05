"""Local upstreams speaking OpenAI's, Anthropic's and Ollama's wire formats on 127.0.0.1,
recording what they receive. A test may script the next answers (status, body, headers,
delay); otherwise each answers like the real API would."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import AppServer

Wire = Literal["openai", "anthropic", "ollama"]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """A scripted answer: ``body`` as JSON (or ``text`` raw) after ``delay`` seconds;
    ``None`` for both means the default answer, only delayed."""

    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(
                p.get("text", "") for p in content or [] if isinstance(p, dict) and "text" in p
            )
    return ""


# -- OpenAI ----------------------------------------------------------------------------


def openai_completion(label: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-upstream",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model"),
        "system_fingerprint": "fp_upstream",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": f"{label} saw: {last_user_text(body['messages'])}",
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        "x_unknown_field": {"kept": True},
    }


def openai_stream(label: str, body: dict[str, Any]) -> list[str]:
    base = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": body["model"],
    }
    words = [label, "says", "hi"]
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{**base, "choices": [{"index": 0, "delta": {"content": w + " "}}]} for w in words]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        events.append({**base, "choices": [], "usage": usage})
    # A comment line and multi-event framing, as OpenRouter sends.
    return [": keep-alive\n\n", *(f"data: {json.dumps(e)}\n\n" for e in events), "data: [DONE]\n\n"]


# -- Anthropic -------------------------------------------------------------------------

ANTHROPIC_TOOL_INPUT = {"city": "Paris", "unit": "celsius"}


def anthropic_message(label: str, body: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": f"{label} saw: {last_user_text(body['messages'])}"}
    ]
    stop_reason = "end_turn"
    if body.get("tools"):
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": body["tools"][0]["name"],
                "input": ANTHROPIC_TOOL_INPUT,
            }
        )
        stop_reason = "tool_use"
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6},
    }


def anthropic_stream(label: str, body: dict[str, Any]) -> list[str]:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    start = {"id": "msg_02", "type": "message", "role": "assistant", "model": body["model"]}
    start |= {"content": [], "usage": {"input_tokens": 12, "output_tokens": 1}}
    events = [
        event("message_start", {"message": start}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": label}}),
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " hi"}}),
        event("content_block_stop", {"index": 0}),
    ]
    stop_reason = "end_turn"
    if body.get("tools"):
        block = {
            "type": "tool_use",
            "id": "toolu_02",
            "name": body["tools"][0]["name"],
            "input": {},
        }
        events += [
            event("content_block_start", {"index": 1, "content_block": block}),
            event(
                "content_block_delta",
                {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
            ),
            event(
                "content_block_delta",
                {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
            ),
            event("content_block_stop", {"index": 1}),
        ]
        stop_reason = "tool_use"
    events += [
        event(
            "message_delta",
            {
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 9},
            },
        ),
        event("message_stop", {}),
    ]
    return events


# -- Ollama ----------------------------------------------------------------------------


def ollama_answer(label: str, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": f"{label} saw: {last_user_text(body['messages'])}",
    }
    if body.get("tools"):
        message["content"] = ""
        message["tool_calls"] = [
            {
                "function": {
                    "name": body["tools"][0]["function"]["name"],
                    "arguments": {"city": "Paris"},
                }
            }
        ]
    limited = (body.get("options") or {}).get("num_predict") == 1
    return {
        "model": body["model"],
        "created_at": "2024-06-01T12:00:00.123456789Z",
        "message": message,
        "done": True,
        "done_reason": "length" if limited else "stop",
        "prompt_eval_count": 8,
        "eval_count": 5,
    }


def ollama_stream(label: str, body: dict[str, Any]) -> list[str]:
    lines = []
    for word in (label, " says", " hi"):
        lines.append(
            {
                "model": body["model"],
                "created_at": "2024-06-01T12:00:00Z",
                "message": {"role": "assistant", "content": word},
                "done": False,
            }
        )
    lines.append(
        {
            "model": body["model"],
            "created_at": "2024-06-01T12:00:01Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 8,
            "eval_count": 3,
        }
    )
    return [json.dumps(line) + "\n" for line in lines]


# -- the server ------------------------------------------------------------------------


class Upstream:
    """One fake upstream of the given wire format, served by uvicorn in a thread."""

    def __init__(self, wire: Wire, label: str | None = None) -> None:
        self.wire = wire
        self.label = label or wire
        self.received: list[Received] = []
        self.script: deque[Reply] = deque()
        chat_path, models_path = {
            "openai": ("/v1/chat/completions", "/v1/models"),
            "anthropic": ("/v1/messages", "/v1/models"),
            "ollama": ("/api/chat", "/api/tags"),
        }[wire]
        app = Starlette(
            routes=[
                Route(chat_path, self._chat, methods=["POST"]),
                Route(models_path, self._models, methods=["GET"]),
            ]
        )
        self._server = AppServer(app, lifespan="off", graceful_shutdown=1)
        self.url = self._server.url
        self.port = self._server.port

    @property
    def base_url(self) -> str:
        """What a provider's ``base_url`` should be (OpenAI's includes ``/v1``)."""
        return f"{self.url}/v1" if self.wire == "openai" else self.url

    def start(self) -> Upstream:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        self.received.clear()
        self.script.clear()

    def then(self, *replies: Reply) -> None:
        """Script the next answers, in order."""
        self.script.extend(replies)

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.received]

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.received.append(
            Received(request.method, request.url.path, dict(request.headers), body)
        )
        return body

    async def _scripted(self) -> Response | None:
        if not self.script:
            return None
        reply = self.script.popleft()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.body is None and reply.text is None:
            return None
        if reply.text is not None:
            return Response(reply.text, status_code=reply.status, headers=reply.headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)

    async def _chat(self, request: Request) -> Response:
        body = await self._record(request)
        scripted = await self._scripted()
        if scripted is not None:
            return scripted
        if body.get("stream", self.wire == "ollama"):
            parts = {
                "openai": openai_stream,
                "anthropic": anthropic_stream,
                "ollama": ollama_stream,
            }[self.wire](self.label, body)
            media = "application/x-ndjson" if self.wire == "ollama" else "text/event-stream"

            async def send() -> AsyncIterator[str]:
                for part in parts:
                    yield part
                    await asyncio.sleep(0)

            return StreamingResponse(send(), media_type=media)
        answer = {
            "openai": openai_completion,
            "anthropic": anthropic_message,
            "ollama": ollama_answer,
        }[self.wire](self.label, body)
        return JSONResponse(answer)

    async def _models(self, request: Request) -> Response:
        await self._record(request)
        scripted = await self._scripted()
        if scripted is not None:
            return scripted
        if self.wire == "openai":
            data = [{"id": f"{self.label}-model", "object": "model", "created": 1, "owned_by": "x"}]
            return JSONResponse({"object": "list", "data": data})
        if self.wire == "anthropic":
            data = [
                {
                    "id": "claude-test",
                    "type": "model",
                    "display_name": "Claude Test",
                    "created_at": "2024-10-22T00:00:00Z",
                }
            ]
            return JSONResponse({"data": data, "has_more": False})
        models = [{"name": "llama3:latest", "modified_at": "2024-06-01T12:00:00.5Z", "size": 1}]
        return JSONResponse({"models": models})


def free_port_url() -> str:
    """An address where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
