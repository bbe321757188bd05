"""The optional LLM extractor: its request, the parsing of its answer, and the proxy
learning through it (a real local upstream answers), with the rules as fallback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from maia import Maia
from maia.errors import InvalidInput
from maia.proxy.llm_extract import INSTRUCTIONS, parse, request_body
from maia.proxy.rules import ASSISTANT_RESPONSE, USER_MESSAGE
from maia.settings import Settings
from tests.proxy.test_chat import ServeFactory, client_for, maia_with, provider, wait_for
from tests.proxy.upstream import Upstream

ANSWER = {
    "memories": [
        {"content": "The user keeps  bees on the roof.", "type": "semantic", "category": "fact"},
        {
            "content": "The user now lives in Lyon.",
            "type": "episodic",
            "category": "correction",
            "from": "user",
            "replaces": "The user lives in Paris.",
        },
        {"content": "", "type": "semantic"},  # invalid: skipped
        {"content": "x", "type": "opinion"},  # invalid: skipped
        "not an object",
    ]
}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream("primary").start()
    yield server
    server.stop()


def test_parse_keeps_the_valid_items() -> None:
    found = parse("```json\n" + json.dumps(ANSWER) + "\n```")
    assert found is not None
    assert [f.content for f in found] == [
        "The user keeps bees on the roof.",
        "The user now lives in Lyon.",
    ]
    assert found[1].replaces == "The user lives in Paris."
    assert found[1].type == "episodic"
    assert {f.source for f in found} == {USER_MESSAGE}
    assigned = parse(json.dumps({"memories": [{"content": "A fact.", "from": "assistant"}]}))
    assert assigned is not None
    assert assigned[0].source == ASSISTANT_RESPONSE


@pytest.mark.parametrize("answer", ["not json", "[]", '{"memories": 3}', '"text"'])
def test_parse_refuses_what_was_not_asked_for(answer: str) -> None:
    assert parse(answer) is None


def test_the_request_holds_only_the_turns_own_words() -> None:
    messages = [
        {"role": "user", "content": "Earlier question"},
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "user", "content": "I keep bees."},
    ]
    body = request_body("m", messages, "Nice!")
    assert body is not None
    assert body["temperature"] == 0
    assert body["messages"][0] == {"role": "system", "content": INSTRUCTIONS}
    assert body["messages"][1]["content"] == "User: I keep bees.\n\nAssistant: Nice!"
    assert request_body("m", [{"role": "system", "content": "x"}], None) is None


def test_llm_needs_a_model() -> None:
    with pytest.raises(InvalidInput, match="proxy_extractor_model"):
        Settings.load(proxy_extractor="llm")


def _extracted(maia: Maia) -> list[str]:
    return [m.content for m in maia.list_memories() if m.source.value == "extracted"]


def test_the_proxy_learns_through_the_model(serve: ServeFactory, upstream: Upstream) -> None:
    extractor = "up-reply:" + json.dumps(ANSWER)
    server = maia_with(
        serve,
        provider("up", upstream, "up-*"),
        proxy_extractor="llm",
        proxy_extractor_model=extractor,
    )
    server.maia.remember("The user's favourite colour is teal", namespace="bob")
    client = client_for(server, **{"X-MAIA-Namespace": "bob"})
    client.chat.completions.create(
        model="up-reply:Nice!",
        messages=[{"role": "user", "content": "What colour should my hive be? I keep bees."}],
    )
    wait_for(lambda: len(_extracted(server.maia)) >= 2)
    assert sorted(_extracted(server.maia)) == [
        "The user keeps bees on the roof.",
        "The user now lives in Lyon.",
    ]
    asked = [r for r in upstream.requests if r["model"] == extractor]
    assert len(asked) == 1
    sent = json.dumps(asked[0]["messages"])
    assert "I keep bees." in sent
    assert "Nice!" in sent
    assert "teal" not in sent, "the injected context is never sent for extraction"


def test_an_unusable_answer_falls_back_to_the_rules(
    serve: ServeFactory, upstream: Upstream
) -> None:
    server = maia_with(
        serve,
        provider("up", upstream, "up-*"),
        proxy_extractor="llm",
        proxy_extractor_model="up-reply:Sorry, I cannot help with that.",
    )
    client = client_for(server)
    client.chat.completions.create(
        model="up-reply:Noted.", messages=[{"role": "user", "content": "I live in Paris."}]
    )
    wait_for(lambda: bool(_extracted(server.maia)))
    time.sleep(0.2)
    assert any("Paris" in c for c in _extracted(server.maia))
