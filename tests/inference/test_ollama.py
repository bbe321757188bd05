"""The Ollama provider: OpenAI requests translated to ``/api/chat`` and answers (JSON or
NDJSON streams) translated back, against a local Ollama-format server."""

from __future__ import annotations

import json

import pytest

from maia.inference import UpstreamError
from maia.inference.providers.ollama import to_ollama
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Reply, Upstream

pytestmark = pytest.mark.anyio

TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}


def test_openai_request_to_ollama() -> None:
    request = {
        "model": "llama3",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                ],
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "name": "weather", "content": "cold"},
        ],
        "temperature": 0.1,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": "###",
        "seed": 7,
        "tools": [TOOL],
        "response_format": {"type": "json_object"},
    }
    assert to_ollama(request, stream=False) == {
        "model": "llama3",
        "stream": False,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is this?", "images": ["QUJD"]},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Oslo"}}}],
            },
            {"role": "tool", "content": "cold", "tool_name": "weather"},
        ],
        "options": {
            "temperature": 0.1,
            "top_p": 0.9,
            "seed": 7,
            "num_predict": 64,
            "stop": ["###"],
        },
        "tools": [TOOL],
        "format": "json",
    }


async def test_complete_translates_both_ways(
    router_with: RouterFactory, ollama_up: Upstream
) -> None:
    request = user("hello", model="llama3", max_tokens=1, temperature=0)
    async with router_with(provider("l", ollama_up, "llama*", api_key="ok")) as router:
        answer, used = await router.complete(request)
    assert used == "l"
    sent = ollama_up.received[0]
    assert sent.path == "/api/chat"
    assert sent.headers["authorization"] == "Bearer ok"
    assert sent.body["stream"] is False
    assert sent.body["options"] == {"temperature": 0, "num_predict": 1}
    assert answer["object"] == "chat.completion"
    assert answer["created"] == 1717243200  # from created_at, nanoseconds and all
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "ollama saw: hello"}
    assert answer["choices"][0]["finish_reason"] == "length"  # done_reason "length"
    assert answer["usage"] == {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13}


async def test_tool_calls_become_openai_tool_calls(
    router_with: RouterFactory, ollama_up: Upstream
) -> None:
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        answer, _ = await router.complete(user("weather?", model="llama3", tools=[TOOL]))
    assert ollama_up.received[0].body["tools"] == [TOOL]
    message = answer["choices"][0]["message"]
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"] == {"name": "weather", "arguments": json.dumps({"city": "Paris"})}
    assert answer["choices"][0]["finish_reason"] == "tool_calls"


async def test_ndjson_stream_to_chunks(router_with: RouterFactory, ollama_up: Upstream) -> None:
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        chunks, _ = await router.stream(
            user("hi", model="llama3", stream_options={"include_usage": True})
        )
        received = [c async for c in chunks]
    assert ollama_up.received[0].body["stream"] is True
    *received, usage_chunk = received
    deltas = [c["choices"][0]["delta"] for c in received]
    assert deltas == [
        {"role": "assistant", "content": "ollama"},
        {"content": " says"},
        {"content": " hi"},
        {},
    ]
    assert len({c["id"] for c in received}) == 1
    assert received[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in received)
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}


async def test_error_in_openai_shape(router_with: RouterFactory, ollama_up: Upstream) -> None:
    ollama_up.then(Reply(404, {"error": "model 'nope' not found"}))
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("x", model="llama-nope"))
    assert caught.value.status == 404
    assert caught.value.body == {
        "error": {"message": "model 'nope' not found", "type": "invalid_request_error"}
    }


async def test_a_stream_without_done_is_a_502(
    router_with: RouterFactory, ollama_up: Upstream
) -> None:
    line = {"model": "llama3", "message": {"role": "assistant", "content": "Hel"}, "done": False}
    ollama_up.then(Reply(200, text=json.dumps(line) + "\n"))
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        chunks, _ = await router.stream(user("x", model="llama3"))
        assert (await anext(chunks))["choices"][0]["delta"]["content"] == "Hel"
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
    assert caught.value.status == 502


async def test_models_from_tags(router_with: RouterFactory, ollama_up: Upstream) -> None:
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        models = await router.list_models()
    assert ollama_up.received[0].path == "/api/tags"
    assert {
        "id": "llama3:latest",
        "object": "model",
        "created": 1717243200,
        "owned_by": "l",
    } in models


async def test_tool_results_are_named_after_their_call(
    router_with: RouterFactory, ollama_up: Upstream
) -> None:
    calls = [
        {"id": "call_a", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
        {"id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}},
    ]
    request = {
        "model": "llama3",
        "messages": [
            {"role": "user", "content": "weather and time?"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
            {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_x", "content": "?"},  # no such call
            {"role": "tool", "tool_call_id": "call_a", "name": "given", "content": "kept"},
        ],
    }
    async with router_with(provider("l", ollama_up, "llama*")) as router:
        await router.complete(request)
    sent = ollama_up.received[0].body["messages"]
    assert [m.get("tool_name") for m in sent[2:]] == ["time", "weather", None, "given"]
