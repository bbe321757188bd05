"""The OpenAI-compatible provider against a local OpenAI-format server: requests and
answers pass through unchanged, streams arrive in order, errors keep their body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maia.inference import UpstreamError
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Reply, Upstream

SSE = {"content-type": "text/event-stream"}

pytestmark = pytest.mark.anyio

TOOLS = [
    {
        "type": "function",
        "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}},
    }
]


async def test_request_and_answer_pass_through(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    request = user(
        "hello",
        model="gpt-4o",
        temperature=0.2,
        tools=TOOLS,
        tool_choice="auto",
        x_vendor_option={"a": 1},
        stream=False,
        stream_options={"include_usage": True},
    )
    async with router_with(provider("o", openai_up, "gpt-*", api_key="sk-test")) as router:
        answer, used = await router.complete(request)
    assert used == "o"
    sent = openai_up.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    expected = {k: v for k, v in request.items() if k not in ("stream", "stream_options")}
    assert sent.body == expected, "unknown fields and tools forwarded as they are"
    assert answer["x_unknown_field"] == {"kept": True}
    assert answer["system_fingerprint"] == "fp_upstream"
    assert answer["choices"][0]["message"]["content"] == "openai saw: hello"
    assert answer["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}


async def test_no_authorization_without_a_key(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        await router.complete(user("x", model="gpt-4o"))
    assert "authorization" not in openai_up.received[0].headers


async def test_stream_in_order_with_usage_last(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    request = user("hi", model="gpt-4o", stream_options={"include_usage": True})
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        chunks, used = await router.stream(request)
        received = [c async for c in chunks]
    assert used == "o"
    assert openai_up.received[0].body == {**request, "stream": True}
    texts = [c["choices"][0]["delta"].get("content") for c in received if c["choices"]]
    assert texts == ["", "openai ", "says ", "hi ", None]
    assert received[0]["choices"][0]["delta"]["role"] == "assistant"
    assert received[-2]["choices"][0]["finish_reason"] == "stop"
    assert received[-1]["choices"] == []
    assert received[-1]["usage"]["total_tokens"] == 8


async def test_error_status_and_body_pass_through(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    error = {"message": "bad key", "type": "invalid_request_error", "param": None, "code": "k"}
    openai_up.then(Reply(401, {"error": error}))
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("x", model="gpt-4o"))
    assert caught.value.status == 401
    assert caught.value.body == {"error": error}


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (400, {"error": "plain"}, {"message": "plain", "type": "invalid_request_error"}),
        (503, {"detail": "x"}, {"message": "x", "type": "server_error"}),
        (502, "Bad Gateway", {"message": "Bad Gateway", "type": "server_error"}),
    ],
)
async def test_other_error_shapes_become_openai_errors(
    router_with: RouterFactory,
    openai_up: Upstream,
    status: int,
    answer: dict[str, Any] | str,
    expected: dict[str, Any],
) -> None:
    reply = Reply(status, text=answer) if isinstance(answer, str) else Reply(status, answer)
    openai_up.then(reply)
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.complete(user("x", model="gpt-4o"))
    assert caught.value.status == status
    assert caught.value.body == {"error": expected}


async def test_error_inside_a_stream(router_with: RouterFactory, openai_up: Upstream) -> None:
    first = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}}]}
    text = (
        f"data: {json.dumps(first)}\n\n"
        'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    )
    openai_up.then(Reply(200, text=text, headers={"content-type": "text/event-stream"}))
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        chunks, _ = await router.stream(user("x", model="gpt-4o"))
        assert (await anext(chunks))["id"] == "c"
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
    assert caught.value.body["error"]["message"] == "overloaded"


async def test_a_stream_that_is_not_one_or_stops_early_is_a_502(
    router_with: RouterFactory, openai_up: Upstream
) -> None:
    """A JSON answer to a streamed request, or a stream cut before any choice finished,
    is no complete answer: a 502, before the first chunk or in place of the next."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}}]}
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    openai_up.then(
        Reply(200, {"id": "c", "object": "chat.completion", "choices": []}),
        Reply(200, text=f"data: {json.dumps(chunk)}\n\n", headers=SSE),
        Reply(200, text=f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(done)}\n\n", headers=SSE),
    )
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        with pytest.raises(UpstreamError) as caught:
            await router.stream(user("x", model="gpt-4o"))
        assert caught.value.status == 502
        assert caught.value.body["error"]["type"] == "backend_error"
        chunks, _ = await router.stream(user("x", model="gpt-4o"))
        assert (await anext(chunks))["id"] == "c"
        with pytest.raises(UpstreamError) as caught:
            await anext(chunks)
        assert caught.value.status == 502
        # Without [DONE], a finished choice is a complete answer.
        chunks, _ = await router.stream(user("x", model="gpt-4o"))
        assert [c async for c in chunks] == [chunk, done]


async def test_models_pass_through(router_with: RouterFactory, openai_up: Upstream) -> None:
    async with router_with(provider("o", openai_up, "gpt-*")) as router:
        models = await router.list_models()
    assert {"id": "openai-model", "object": "model", "created": 1, "owned_by": "x"} in models
    assert openai_up.received[0].path == "/v1/models"
