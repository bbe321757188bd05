"""A local upstream that speaks OpenAI's chat-completions wire format and records what
it received: what MAIA's proxy forwards is checked here, on a real HTTP server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.conftest import AppServer

TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def completion(model: str, content: str | None, **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": USAGE,
        "system_fingerprint": "fp_upstream",
    }


def chunks(model: str, words: list[str]) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-up-2", "object": "chat.completion.chunk", "created": 1, "model": model}
    out = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    out += [{**base, "choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    out.append({**base, "choices": [], "usage": USAGE})
    return out


class Upstream:
    """``/v1/chat/completions`` by model name: ``*-echo`` answers with the text it was
    sent, ``*-tool`` with a tool call, ``*-bad`` with a 400, ``*-slow`` after 5 s,
    ``*-reply:<text>`` with that text; streams when asked."""

    def __init__(self, name: str = "upstream") -> None:
        self.name = name
        self.requests: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            model = str(body["model"])
            if model.endswith("-bad"):
                error = {"message": "bad things", "type": "invalid_request_error", "code": "x"}
                return JSONResponse({"error": error}, status_code=400)
            if model.endswith("-slow"):
                await asyncio.sleep(5)
            if model.endswith("-tool"):
                return JSONResponse(completion(model, None, tool_calls=[TOOL_CALL]))
            if "-reply:" in model:
                text = model.split("-reply:", 1)[1]
            else:
                text = f"{self.name} saw: " + json.dumps(body["messages"])
            if body.get("stream"):
                events = chunks(model, text.split(" "))

                async def stream() -> Any:
                    for event in events:
                        yield f"data: {json.dumps(event)}\n\n"
                    yield "data: [DONE]\n\n"

                return StreamingResponse(stream(), media_type="text/event-stream")
            return JSONResponse(completion(model, text))

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": f"{self.name}-echo", "object": "model"}]}

        self.server = AppServer(app, lifespan="off")
        self.url = self.server.url

    def start(self) -> Upstream:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
