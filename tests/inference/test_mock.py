"""The built-in mock provider: deterministic, offline, streamed or not."""

from __future__ import annotations

import pytest

from maia.inference.providers.mock import MockProvider
from tests.inference.conftest import RouterFactory, user

pytestmark = pytest.mark.anyio


async def test_same_request_same_answer() -> None:
    mock = MockProvider()
    request = {
        "model": "mock",
        "messages": [
            {"role": "system", "content": "be kind"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": [{"type": "text", "text": "What is  MAIA?"}]},
        ],
    }
    first, second = await mock.complete(request), await mock.complete(request)
    first.pop("created")
    second.pop("created")
    assert first == second
    assert first["id"].startswith("chatcmpl-mock-")
    assert first["choices"][0]["message"] == {
        "role": "assistant",
        "content": "MAIA mock reply to: What is MAIA?",
    }
    assert first["choices"][0]["finish_reason"] == "stop"
    assert first["usage"] == {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}
    other = await mock.complete(user("something else", model="mock"))
    assert other["id"] != first["id"]


async def test_long_messages_are_cut_and_max_tokens_applies() -> None:
    mock = MockProvider()
    long = await mock.complete(user("word " * 100, model="mock"))
    content = long["choices"][0]["message"]["content"]
    assert content.endswith("…")
    assert len(content) <= len("MAIA mock reply to: ") + 200
    short = await mock.complete(user("a b c d e f", model="mock", max_tokens=3))
    assert short["choices"][0]["message"]["content"] == "MAIA mock reply"
    assert short["choices"][0]["finish_reason"] == "length"


async def test_stream_adds_up_to_the_reply(router_with: RouterFactory) -> None:
    request = user("tell me about the weather today please", model="mock-fast")
    async with router_with() as router:
        answer, _ = await router.complete(request)
        chunks, used = await router.stream({**request, "stream_options": {"include_usage": True}})
        received = [c async for c in chunks]
    assert used == "mock"
    *received, usage_chunk = received
    assert len(received) > 2
    assert received[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in received)
    assert text == answer["choices"][0]["message"]["content"]
    assert received[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in received)
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == answer["usage"]
    assert all(c["model"] == "mock-fast" for c in [*received, usage_chunk])
