"""Context injection into chat messages (CONTRACT 6.3): pure functions, plain dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia.proxy.inject import (
    CONTEXT_FOOTER,
    CONTEXT_HEADER,
    context_block,
    context_query,
    inject,
    message_text,
    strip_injected,
)

BLOCK = context_block("Alice drinks green tea every morning")
POSITIONS = ["system", "first_user", "before_last", "somewhere"]


def conversation() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are helpful.", "name": "sys"},
        {"role": "user", "content": "Hi", "x-client": {"keep": True}},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "type": "function"}]},
        {"role": "tool", "content": "42", "tool_call_id": "t1"},
        {"role": "user", "content": "What does Alice drink?"},
    ]


def undo(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages as they were before ``inject``: inserted messages dropped, prepended
    blocks stripped."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if content == BLOCK:
            continue
        if isinstance(content, str):
            message = {**message, "content": strip_injected(content)}
        elif isinstance(content, list):
            parts = [p for p in content if p.get("text") != BLOCK + "\n\n"]
            message = {**message, "content": parts}
        out.append(message)
    return out


def test_context_block_format() -> None:
    assert context_block("x") == f"{CONTEXT_HEADER}\n\nx\n\n{CONTEXT_FOOTER}"
    assert CONTEXT_HEADER == "[Relevant context from memory]"
    assert CONTEXT_FOOTER == "[End of context]"


def test_system_prepends_to_the_first_system_message() -> None:
    messages = conversation()
    messages.insert(2, {"role": "system", "content": "Second system message."})
    result = inject(messages, BLOCK, "system")
    assert result[0]["content"] == BLOCK + "\n\nYou are helpful."
    assert result[0]["name"] == "sys"
    assert result[2]["content"] == "Second system message."
    assert len(result) == len(messages)


def test_system_with_list_content_gets_a_first_text_part() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": "Hi"},
    ]
    result = inject(messages, BLOCK, "system")
    assert result[0]["content"] == [
        {"type": "text", "text": BLOCK + "\n\n"},
        {"type": "text", "text": "Be brief."},
    ]


def test_system_without_a_system_message_inserts_one_first() -> None:
    messages = [m for m in conversation() if m["role"] != "system"]
    result = inject(messages, BLOCK, "system")
    assert result[0] == {"role": "system", "content": BLOCK}
    assert result[1:] == messages


def test_first_user_prepends_to_the_first_user_message() -> None:
    result = inject(conversation(), BLOCK, "first_user")
    assert result[1]["content"] == BLOCK + "\n\nHi"
    assert result[1]["x-client"] == {"keep": True}
    assert result[4]["content"] == "What does Alice drink?"
    assert result[0]["content"] == "You are helpful."


def test_first_user_with_parts_keeps_the_image() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}
    ]
    result = inject(messages, BLOCK, "first_user")
    assert result[0]["content"] == [
        {"type": "text", "text": BLOCK + "\n\n"},
        {"type": "text", "text": "What is this?"},
        image,
    ]


def test_before_last_inserts_a_system_message_before_the_last_user_message() -> None:
    messages = conversation()
    result = inject(messages, BLOCK, "before_last")
    assert result[4] == {"role": "system", "content": BLOCK}
    assert result[5] == messages[4]
    assert result[:4] == messages[:4]


def test_before_last_when_the_last_user_message_is_not_last() -> None:
    messages = [*conversation(), {"role": "assistant", "content": "Tea."}]
    result = inject(messages, BLOCK, "before_last")
    assert [m["role"] for m in result] == [
        "system",
        "user",
        "assistant",
        "tool",
        "system",
        "user",
        "assistant",
    ]


@pytest.mark.parametrize("position", ["first_user", "before_last"])
def test_without_a_user_message_behaves_like_system(position: str) -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Be brief."}]
    assert inject(messages, BLOCK, position) == inject(messages, BLOCK, "system")


def test_any_other_position_behaves_like_system() -> None:
    messages = conversation()
    assert inject(messages, BLOCK, "middle") == inject(messages, BLOCK, "system")


@pytest.mark.parametrize("position", POSITIONS)
def test_never_mutates_the_input_and_keeps_unknown_keys(position: str) -> None:
    messages = conversation()
    before = copy.deepcopy(messages)
    result = inject(messages, BLOCK, position)
    assert messages == before
    assert result is not messages
    assert all(r is not m for r in result for m in messages)
    assert undo(result) == before  # every other key and message as it was


def test_an_empty_block_changes_nothing() -> None:
    messages = conversation()
    assert inject(messages, "", "system") == messages


def test_context_query_is_the_last_three_user_messages_oldest_first() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "ignored"},
        {"role": "user", "content": "two"},
        {"role": "system", "content": "ignored too"},
        {"role": "user", "content": [{"type": "text", "text": "three"}, {"type": "image_url"}]},
        {"role": "user", "content": "  four\n  five "},
    ]
    assert context_query(messages) == "two three four five"
    assert context_query(messages[:1]) == "one"
    assert context_query([{"role": "assistant", "content": "x"}]) == ""


@pytest.mark.parametrize("position", POSITIONS)
def test_context_query_ignores_injected_blocks(position: str) -> None:
    messages = conversation()
    assert context_query(inject(messages, BLOCK, position)) == context_query(messages)
    assert context_query(messages) == "Hi What does Alice drink?"


def test_strip_injected_removes_every_block() -> None:
    text = f"{BLOCK}\n\nhello {context_block('more')} world"
    assert strip_injected(text) == "hello  world"
    assert strip_injected("no block here") == "no block here"
    assert strip_injected(f"{CONTEXT_HEADER} but no footer") == f"{CONTEXT_HEADER} but no footer"


def test_message_text_drops_parts_that_were_only_a_block() -> None:
    message = {
        "role": "user",
        "content": [{"type": "text", "text": BLOCK + "\n\n"}, {"type": "text", "text": "hi"}],
    }
    assert message_text(message) == "hi"
    assert message_text({"role": "user", "content": None}) == ""


_TEXT = st.text(max_size=120).filter(lambda t: CONTEXT_HEADER not in t and CONTEXT_FOOTER not in t)


@given(original=_TEXT, memory=_TEXT, position=st.sampled_from(POSITIONS), parts=st.booleans())
def test_strip_undoes_inject(original: str, memory: str, position: str, parts: bool) -> None:
    block = context_block(memory)
    content: Any = [{"type": "text", "text": original}] if parts else original
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": content},
        {"role": "user", "content": content, "name": "u"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": content},
    ]
    result = inject(messages, block, position)
    inserted = [m for m in result if m.get("content") == block]
    kept = [m for m in result if m.get("content") != block]
    assert len(inserted) == (1 if position == "before_last" else 0)
    assert len(kept) == len(messages)
    for before, after in zip(messages, kept, strict=True):
        assert message_text(after) == message_text(before)
        if isinstance(after["content"], str):
            assert strip_injected(after["content"]) == before["content"]
