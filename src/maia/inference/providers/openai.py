"""Any OpenAI-compatible API: OpenAI, OpenRouter, vLLM, LM Studio, llama.cpp server.

Requests and answers pass through as they are (unknown fields, tools, ``usage``); the
base URL includes ``/v1``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from maia.inference.errors import UpstreamError
from maia.inference.http import HttpProvider, normalise_error_body, sse_events


class OpenAIProvider(HttpProvider):
    """``POST {base_url}/chat/completions``, ``GET {base_url}/models``."""

    async def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in request.items() if k not in ("stream", "stream_options")}
        result = await self.request_json("POST", "/chat/completions", body)
        if not isinstance(result, dict):
            raise self.bad_answer("a chat completion that is not a JSON object")
        return result

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        body = {**request, "stream": True}
        finished = False  # a choice said why it stopped (a server may omit [DONE])
        async for _event, data in sse_events(self.stream_lines("/chat/completions", body)):
            if data.strip() == "[DONE]":
                return
            try:
                item = json.loads(data)
            except ValueError:
                raise self.bad_answer("a stream event that is not JSON") from None
            if isinstance(item, dict) and "error" in item and "choices" not in item:
                # An error reported inside the stream, after the 200.
                raise UpstreamError(500, normalise_error_body(500, item, data), provider=self.name)
            if isinstance(item, dict):
                finished = finished or any(
                    isinstance(c, dict) and c.get("finish_reason")
                    for c in item.get("choices") or ()
                )
                yield item
        if not finished:
            raise self.unfinished()

    async def list_models(self) -> list[dict[str, Any]]:
        result = await self.request_json("GET", "/models")
        data = result.get("data") if isinstance(result, dict) else None
        if not isinstance(data, list):
            raise self.bad_answer("a model list without 'data'")
        return [m for m in data if isinstance(m, dict) and "id" in m]

    async def check(self) -> None:
        await self.list_models()
