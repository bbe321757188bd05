"""The Anthropic provider: OpenAI requests translated to the Messages API and answers
(streamed or not) translated back, against a local Anthropic-format server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maia.inference import UpstreamError
from maia.inference.providers.anthropic import from_anthropic, to_anthropic
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Reply, Upstream

pytestmark = pytest.mark.anyio

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

CONVERSATION: dict[str, Any] = {
    "model": "claude-test",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
    ],
    "tools": [WEATHER_TOOL],
    "tool_choice": "required",
    "stop": "END",
    "temperature": 0.5,
    "user": "u-1",
}


def test_openai_request_to_anthropic() -> None:
    body = to_anthropic(CONVERSATION, max_tokens_default=1024, stream=False)
    assert body == {
        "model": "claude-test",
        "system": "Be brief.\n\nUse metric.",
        "max_tokens": 1024,
        "temperature": 0.5,
        "stop_sequences": ["END"],
        "tools": [
            {
                "name": "weather",
                "description": "The weather in a city",
                "input_schema": WEATHER_TOOL["function"]["parameters"],
            }
        ],
        "tool_choice": {"type": "any"},
        "metadata": {"user_id": "u-1"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                # The tool result and the next user turn merge: turns must alternate.
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18 C, sunny"},
                    {"type": "text", "text": "And this picture?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                ],
            },
        ],
    }


def test_empty_turns_are_dropped_and_their_neighbours_merged() -> None:
    body = to_anthropic(
        {
            "model": "claude-test",
            "messages": [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": ""},  # Anthropic refuses empty content
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]},
                {"role": "user", "content": "second"},
            ],
        },
        max_tokens_default=64,
        stream=False,
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
        }
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            None,
            {"type": "tool", "name": "weather"},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ],
)
def test_tool_choice(choice: Any, parallel: Any, expected: dict[str, Any]) -> None:
    request = {**CONVERSATION, "tool_choice": choice, "parallel_tool_calls": parallel}
    assert to_anthropic(request, max_tokens_default=1, stream=False)["tool_choice"] == expected


def test_max_tokens_and_stop_list() -> None:
    request = {"model": "c", "messages": [], "max_tokens": 77, "stop": ["a", "b"]}
    body = to_anthropic(request, max_tokens_default=1024, stream=True)
    assert body["max_tokens"] == 77
    assert body["stop_sequences"] == ["a", "b"]
    assert body["stream"] is True
    assert "system" not in body
    assert "tools" not in body


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    answer = {"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason}
    assert from_anthropic(answer, "c")["choices"][0]["finish_reason"] == finish


async def test_complete_translates_both_ways(
    router_with: RouterFactory, anthropic_up: Upstream
) -> None:
    config = provider("a", anthropic_up, "claude-*", api_key="ak-test")
    async with router_with(config, inference_max_tokens_default=321) as router:
        answer, used = await router.complete(CONVERSATION)
    assert used == "a"
    sent = anthropic_up.received[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "ak-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == to_anthropic(CONVERSATION, max_tokens_default=321, stream=False)
    assert answer["object"] == "chat.completion"
    assert answer["id"] == "msg_01"
    choice = answer["choices"][0]
    assert choice["message"]["content"] == "anthropic saw: And this picture?"
    assert choice["message"]["tool_calls"] == [
        {
            "id": "toolu_01",
            "type": "function",
            "function": {
                "name": "weather",
                "arguments": json.dumps({"city": "Paris", "unit": "celsius"}),
            },
        }
    ]
    assert choice["finish_reason"] == "tool_calls"
    assert answer["usage"] == {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}


async def test_stream_translates_events_to_chunks(
    router_with: RouterFactory, anthropic_up: Upstream
) -> None:
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        chunks, _ = await router.stream({**CONVERSATION, "stream_options": {"include_usage": True}})
        received = [c async for c in chunks]
    assert anthropic_up.received[0].body["stream"] is True
    *received, usage_chunk = received
    deltas = [c["choices"][0]["delta"] for c in received]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "anthropic"},
        {"content": " hi"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_02",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {},
    ]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_02" for c in received)
    assert [c["choices"][0]["finish_reason"] for c in received][-1] == "tool_calls"
    assert all("usage" not in c for c in received)
    assert usage_chunk == {
        "id": "msg_02",
        "object": "chat.completion.chunk",
        "created": received[0]["created"],
        "model": "claude-test",
        "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }


async def test_plain_text_stream_ends_with_stop(
    router_with: RouterFactory, anthropic_up: Upstream
) -> None:
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        chunks, _ = await router.stream(user("hi", model="claude-x"))
        received = [c async for c in chunks]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in received)
    assert text == "anthropic hi"
    assert received[-1]["choices"][0]["finish_reason"] == "stop"


async def test_error_event_in_stream(router_with: RouterFactory, anthropic_up: Upstream) -> None:
    start = {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {}}}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (start, error))
    anthropic_up.then(Reply(200, text=text, headers={"content-type": "text/event-stream"}))
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        chunks, _ = await router.stream(user("hi", model="claude-x"))
        assert (await anext(chunks))["choices"][0]["delta"]["role"] == "assistant"
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
    assert caught.value.status == 529
    assert caught.value.body == {"error": {"message": "Overloaded", "type": "overloaded_error"}}


async def test_a_stream_without_message_stop_is_a_502(
    router_with: RouterFactory, anthropic_up: Upstream
) -> None:
    start = {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {}}}
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hel"},
    }
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (start, block, delta))
    anthropic_up.then(Reply(200, text=text, headers={"content-type": "text/event-stream"}))
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        chunks, _ = await router.stream(user("hi", model="claude-x"))
        received = [await anext(chunks), await anext(chunks)]
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in received) == "Hel"
    assert caught.value.status == 502


async def test_errors_in_openai_shape(router_with: RouterFactory, anthropic_up: Upstream) -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    anthropic_up.then(Reply(400, body))
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("x", model="claude-x"))
    assert caught.value.status == 400
    assert caught.value.body == {"error": {"type": "invalid_request_error", "message": "bad"}}


async def test_models(router_with: RouterFactory, anthropic_up: Upstream) -> None:
    async with router_with(provider("a", anthropic_up, "claude-*")) as router:
        models = await router.list_models()
    assert {
        "id": "claude-test",
        "object": "model",
        "created": 1729555200,
        "owned_by": "a",
    } in models
