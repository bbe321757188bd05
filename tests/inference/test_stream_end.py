"""How every provider ends a stream and refuses what it cannot translate, against the
local fake upstreams: usage only when ``stream_options.include_usage`` asks, in a last
chunk with no choices (as OpenAI sends it); ``n`` > 1 and untranslatable values refused
as ``InvalidInput`` before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from maia.errors import InvalidInput
from maia.inference.base import with_tools
from maia.inference.providers.anthropic import to_anthropic
from maia.inference.providers.ollama import to_ollama
from tests.inference.conftest import RouterFactory, provider, user
from tests.inference.upstreams import Upstream

pytestmark = pytest.mark.anyio

USAGE = {
    "mock": None,  # word counts, compared with the non-streamed answer
    "anthropic": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    "ollama": {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11},
}


@pytest.fixture
def upstreams(anthropic_up: Upstream, ollama_up: Upstream) -> dict[str, Upstream]:
    return {"anthropic": anthropic_up, "ollama": ollama_up}


def configs(upstreams: dict[str, Upstream]) -> list[dict[str, Any]]:
    return [
        provider("anthropic", upstreams["anthropic"], "claude-*"),
        provider("ollama", upstreams["ollama"], "llama*"),
    ]


MODELS = {"mock": "mock", "anthropic": "claude-x", "ollama": "llama3"}


@pytest.mark.parametrize("wire", ["mock", "anthropic", "ollama"])
@pytest.mark.parametrize("options", [None, {}, {"include_usage": False}, {"include_usage": True}])
async def test_usage_only_when_asked_in_its_own_last_chunk(
    router_with: RouterFactory,
    upstreams: dict[str, Upstream],
    wire: str,
    options: dict[str, Any] | None,
) -> None:
    extra = {} if options is None else {"stream_options": options}
    request = user("hello there", model=MODELS[wire], **extra)
    async with router_with(*configs(upstreams)) as router:
        chunks, used = await router.stream(request)
        received = [c async for c in chunks]
        answer, _ = await router.complete(request)
    assert used == wire
    assert all("usage" not in c for c in received if c["choices"])
    finish = [c for c in received if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1
    if not (options or {}).get("include_usage"):
        assert received[-1] is finish[0]
        return
    assert received[-2] is finish[0]
    last = received[-1]
    base = received[0]
    assert last == {
        "id": base["id"],
        "object": "chat.completion.chunk",
        "created": base["created"],
        "model": base["model"],
        "choices": [],
        "usage": USAGE[wire] or answer["usage"],
    }


@pytest.mark.parametrize("wire", ["mock", "anthropic", "ollama"])
async def test_several_choices_are_refused_by_one_choice_providers(
    router_with: RouterFactory, upstreams: dict[str, Upstream], wire: str
) -> None:
    request = user("hi", model=MODELS[wire], n=2)
    async with router_with(*configs(upstreams)) as router:
        with pytest.raises(InvalidInput, match="n=2 is not supported") as caught:
            await router.complete(request)
        assert caught.value.field == "n"
        with pytest.raises(InvalidInput, match="n=2 is not supported"):
            await router.stream(request)
        for n in (None, 1):  # n=1 (or none) is what they serve
            answer, _ = await router.complete(user("hi", model=MODELS[wire], n=n))
            assert len(answer["choices"]) == 1
    if wire != "mock":
        assert len(upstreams[wire].received) == 2, "the refused requests were never sent"


@pytest.mark.parametrize("wire", ["anthropic", "ollama"])
@pytest.mark.parametrize(
    "bad",
    [
        {"stop": 5},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]},
        {
            "messages": [
                {"role": "assistant", "tool_calls": [{"id": "x", "function": None}]},
                {"role": "user", "content": "hi"},
            ]
        },
    ],
)
async def test_untranslatable_values_are_invalid_input(
    router_with: RouterFactory, upstreams: dict[str, Upstream], wire: str, bad: dict[str, Any]
) -> None:
    # What the proxy checks at its edge, seen by a caller of the router (MCP, extraction).
    request = {**user("hi", model=MODELS[wire]), **bad}
    async with router_with(*configs(upstreams)) as router:
        with pytest.raises(InvalidInput, match="cannot be translated"):
            await router.complete(request)
        with pytest.raises(InvalidInput, match="cannot be translated"):
            await router.stream(request)
    assert upstreams[wire].received == []


LEGACY_FUNCTIONS: dict[str, Any] = {
    "model": "m",
    "functions": [{"name": "weather", "parameters": {"type": "object", "properties": {}}}],
    "function_call": {"name": "weather"},
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "weather", "arguments": "{}"},
        },
        {"role": "function", "name": "weather", "content": "18 C"},
    ],
}


def test_legacy_function_calling_is_translated_as_tools() -> None:
    """OpenAI's older ``functions``/``function_call``/``function`` messages reach
    Anthropic and Ollama as their tools, the result linked to its call."""
    anthropic = to_anthropic(LEGACY_FUNCTIONS, max_tokens_default=64, stream=False)
    assert [t["name"] for t in anthropic["tools"]] == ["weather"]
    assert anthropic["tool_choice"] == {"type": "tool", "name": "weather"}
    call, result = anthropic["messages"][1]["content"][0], anthropic["messages"][2]["content"][0]
    assert (call["type"], call["name"]) == ("tool_use", "weather")
    assert (result["type"], result["tool_use_id"], result["content"]) == (
        "tool_result",
        call["id"],
        "18 C",
    )
    ollama = to_ollama(LEGACY_FUNCTIONS, stream=False)
    assert [t["function"]["name"] for t in ollama["tools"]] == ["weather"]
    assert ollama["messages"][1]["tool_calls"][0]["function"]["name"] == "weather"
    assert ollama["messages"][2] == {"role": "tool", "content": "18 C", "tool_name": "weather"}
    # Requests without them are left as they are.
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert with_tools(plain) is plain
