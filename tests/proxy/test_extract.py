"""The rule-based extractor: what a turn states about the user, and what it does not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maia.proxy.extract import (
    ASSISTANT_RESPONSE,
    CORRECTION,
    USER_MESSAGE,
    Extracted,
    extract,
    memory_type,
    normalise_for_dedupe,
)
from maia.proxy.inject import context_block, inject

CATEGORIES = {
    "preference",
    "fact",
    "explicit",
    "instruction",
    "important",
    "user_declaration",
    "identity",
    "correction",
    "plan",
}


def said(text: str) -> list[tuple[str, str]]:
    return [(e.content, e.category) for e in extract([{"role": "user", "content": text}], None)]


def replied(text: str) -> list[tuple[str, str]]:
    return [(e.content, e.category) for e in extract([], text)]


USER_CASES = [
    # first-person facts
    ("I live in Paris.", [("The user lives in Paris.", "user_declaration")]),
    ("I'm based in Lisbon.", [("The user lives in Lisbon.", "user_declaration")]),
    ("I live in St. Louis.", [("The user lives in St. Louis.", "user_declaration")]),
    ("I work at Google.", [("The user works at Google.", "user_declaration")]),
    ("I work for the government.", [("The user works for the government.", "user_declaration")]),
    ("I work as a nurse.", [("The user works as a nurse.", "user_declaration")]),
    ("I'm a software engineer.", [("The user is a software engineer.", "user_declaration")]),
    ("I'm from Brazil.", [("The user is from Brazil.", "user_declaration")]),
    ("I'm 34 years old.", [("The user is 34 years old.", "user_declaration")]),
    ("I'm vegetarian.", [("The user is vegetarian.", "user_declaration")]),
    ("I'm allergic to peanuts.", [("The user is allergic to peanuts.", "user_declaration")]),
    ("I have two kids.", [("The user has two kids.", "user_declaration")]),
    ("I've got a dog named Rex.", [("The user has a dog named Rex.", "user_declaration")]),
    ("I use Neovim.", [("The user uses Neovim.", "user_declaration")]),
    ("I speak French and German.", [("The user speaks French and German.", "user_declaration")]),
    ("I'm learning Spanish.", [("The user is learning Spanish.", "user_declaration")]),
    ("My husband and I live in Rome.", [("The user lives in Rome.", "user_declaration")]),
    ("I live in Paris, which is lovely.", [("The user lives in Paris.", "user_declaration")]),
    ("My wife's name is Ana.", [("The user's wife's name is Ana.", "user_declaration")]),
    ("My birthday is May 3.", [("The user's birthday is May 3.", "user_declaration")]),
    (
        "I live in Paris and I work as a nurse.",
        [
            ("The user lives in Paris.", "user_declaration"),
            ("The user works as a nurse.", "user_declaration"),
        ],
    ),
    # preferences
    ("I prefer tea over coffee.", [("The user prefers tea over coffee.", "preference")]),
    ("I really love hiking.", [("The user loves hiking.", "preference")]),
    ("I hate waiting in line.", [("The user hates waiting in line.", "preference")]),
    ("I don't like spicy food.", [("The user doesn't like spicy food.", "preference")]),
    ("I don't eat pork.", [("The user doesn't eat pork.", "preference")]),
    ("I like my coffee black.", [("The user likes their coffee black.", "preference")]),
    ("My favourite colour is teal.", [("The user's favourite colour is teal.", "preference")]),
    ("I'm a big fan of jazz.", [("The user is a fan of jazz.", "preference")]),
    (
        "I use Neovim and I love Rust.",
        [("The user uses Neovim.", "user_declaration"), ("The user loves Rust.", "preference")],
    ),
    # plans
    ("I'm going to visit Japan in May.", [("The user plans to visit Japan in May.", "plan")]),
    ("I'm going to Japan in May.", [("The user is going to Japan in May.", "plan")]),
    (
        "I plan to run a marathon next year.",
        [("The user plans to run a marathon next year.", "plan")],
    ),
    (
        "I'm planning on visiting my parents.",
        [("The user plans on visiting their parents.", "plan")],
    ),
    # identity
    ("My name is Alice.", [("The user's name is Alice.", "identity")]),
    ("Hello, my name is Dr. Smith.", [("The user's name is Dr. Smith.", "identity")]),
    ("Call me Bob.", [("The user wants to be called Bob.", "identity")]),
    ("Hi, I'm Sam!", [("The user's name is Sam.", "identity")]),
    # instructions and explicit requests
    (
        "Always answer in Portuguese.",
        [("The user wants the assistant to always answer in Portuguese.", "instruction")],
    ),
    (
        "Never use emojis in your answers.",
        [("The user wants the assistant to never use emojis in its answers.", "instruction")],
    ),
    (
        "From now on, answer in French.",
        [("The user wants the assistant to answer in French from now on.", "instruction")],
    ),
    (
        "Please remember that I'm allergic to peanuts.",
        [("The user is allergic to peanuts.", "explicit")],
    ),
    (
        "Remember that my wife's birthday is May 3.",
        [("The user's wife's birthday is May 3.", "explicit")],
    ),
    ("Important: my deadline is Friday.", [("The user's deadline is Friday.", "important")]),
]


@pytest.mark.parametrize(("text", "expected"), USER_CASES, ids=[c[0] for c in USER_CASES])
def test_user_statements(text: str, expected: list[tuple[str, str]]) -> None:
    assert said(text) == expected


NOTHING = [
    # questions
    "Do I like tea?",
    "I live in Paris, right?",
    "What's my name?",
    # hypotheticals and role play
    "If I lived in Paris I would be happy.",
    "I'd like a coffee.",
    "Maybe I'll move to Spain.",
    "I wish I lived by the sea.",
    "Pretend I'm a pirate. I live on a ship.",
    "I think I like jazz.",
    # other people are not the user
    "My friend likes jazz.",
    "My sister lives in Madrid.",
    "She said I like tea.",
    # the conversation itself
    "I like it!",
    "I love that idea.",
    "I love you.",
    "I have a question about Python.",
    "I have been trying to fix this.",
    "I'm a bit confused.",
    "I'm working on a bug.",
    "My code is broken.",
    "My question is simple.",
    "My name is not important.",
    "I'll send you the code.",
    "I'm going to paste my code.",
    "Never mind.",
    "Remember to buy milk.",
    "Call me later.",
    "I live in fear of deadlines.",
    "Please fix this function.",
    "I prefer option B.",
    "I'm going to the store.",
    "I'm gonna cry.",
    "We live in Paris.",
    "```\nI live in Paris.\n```",
    "> I live in Paris.",
    "",
]


@pytest.mark.parametrize("text", NOTHING)
def test_what_is_not_a_fact_about_the_user(text: str) -> None:
    assert said(text) == []


CORRECTIONS = [
    ("Actually, I moved to Berlin.", "The user lives in Berlin.", "where the user lives"),
    ("I moved to Berlin last year.", "The user lives in Berlin.", "where the user lives"),
    ("No, I live in Lisbon.", "The user lives in Lisbon.", "where the user lives"),
    ("Correction: I work at Meta now.", "The user works at Meta.", "where the user works"),
    ("Actually my name is Robert.", "The user's name is Robert.", "the user's name"),
    ("I actually work as a teacher.", "The user works as a teacher.", "what the user works as"),
    ("Oops, I'm 35 years old.", "The user is 35 years old.", "how old the user is"),
    (
        "I'm not a teacher anymore, now I'm a developer.",
        "The user is a developer.",
        "The user is a teacher.",
    ),
    (
        "I'm not a teacher anymore, now a developer.",
        "The user is a developer.",
        "The user is a teacher.",
    ),
    (
        "I don't live in Paris anymore, I live in Berlin now.",
        "The user lives in Berlin.",
        "The user lives in Paris.",
    ),
    ("I used to live in Rome.", "The user no longer lives in Rome.", "The user lives in Rome."),
    ("I don't like tea anymore.", "The user no longer likes tea.", "The user likes tea."),
    (
        "I'm no longer a vegetarian.",
        "The user is no longer a vegetarian.",
        "The user is a vegetarian.",
    ),
]


@pytest.mark.parametrize(
    ("text", "content", "replaces"), CORRECTIONS, ids=[c[0] for c in CORRECTIONS]
)
def test_corrections_name_what_they_replace(text: str, content: str, replaces: str) -> None:
    found = extract([{"role": "user", "content": text}], None)
    assert found == [Extracted(content, CORRECTION, USER_MESSAGE, "episodic", replaces)]


def test_a_correction_of_a_many_valued_fact_is_a_plain_fact() -> None:
    # One may like many things: "actually, I like jazz" replaces nothing in particular.
    assert said("Actually, I like jazz.") == [("The user likes jazz.", "preference")]
    assert said("Actually, I have a cat.") == [("The user has a cat.", "user_declaration")]


ASSISTANT_CASES = [
    ("Got it, you prefer tea.", [("The user prefers tea.", "preference")]),
    ("You love hiking, so try the Alps.", [("The user loves hiking.", "preference")]),
    ("I'll remember that you live in Paris.", [("The user lives in Paris.", "explicit")]),
    ("Noted: your birthday is May 3.", [("The user's birthday is May 3.", "explicit")]),
    ("Noted \u2014 your order number is 123.", [("The user's order number is 123.", "explicit")]),
    ("Since you live in Paris, I recommend the Louvre.", [("The user lives in Paris.", "fact")]),
    ("You work at Google, so you know this.", [("The user works at Google.", "fact")]),
    ("You work as a nurse.", [("The user works as a nurse.", "fact")]),
    ("You use Neovim.", [("The user uses Neovim.", "fact")]),
    ("You're based in Lisbon.", [("The user lives in Lisbon.", "fact")]),
    (
        "I'll always answer in French from now on.",
        [("The user wants the assistant to always answer in French from now on.", "instruction")],
    ),
    (
        "From now on, I'll use metric units.",
        [("The user wants the assistant to use metric units from now on.", "instruction")],
    ),
    (
        "Important: you are allergic to peanuts.",
        [("The user is allergic to peanuts.", "important")],
    ),
    # not about the user, or not a statement
    ("Do you like tea?", []),
    ("If you prefer coffee, try this.", []),
    ("You might like jazz.", []),
    ("You use the -r flag to recurse.", []),
    ("Note: this API is deprecated.", []),
    ("Always back up your data.", []),
    ("Please try again.", []),
    ("I'll remember that.", []),
    ("Noted, thanks for letting me know!", []),
    ("Noted.", []),
    ("You are right.", []),
    ("Whatever you prefer.", []),
]


@pytest.mark.parametrize(("text", "expected"), ASSISTANT_CASES, ids=[c[0] for c in ASSISTANT_CASES])
def test_assistant_replies(text: str, expected: list[tuple[str, str]]) -> None:
    assert replied(text) == expected


def test_sources_and_types() -> None:
    found = extract(
        [{"role": "user", "content": "I live in Paris. I prefer tea."}], "Got it, you love jazz."
    )
    assert [(e.source, e.type) for e in found] == [
        (USER_MESSAGE, "episodic"),
        (USER_MESSAGE, "semantic"),
        (ASSISTANT_RESPONSE, "semantic"),
    ]
    assert all(e.replaces is None for e in found)


def test_memory_types_follow_the_contract() -> None:
    for category in ("fact", "identity", "user_declaration", "correction", "plan"):
        assert memory_type(category) == "episodic"
    for category in ("preference", "explicit", "instruction", "important"):
        assert memory_type(category) == "semantic"


def test_only_the_last_user_message_is_mined() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "I live in the cloud."},
        {"role": "user", "content": "I live in Paris."},
        {"role": "assistant", "content": "Nice."},
        {"role": "user", "content": "I prefer tea."},
    ]
    assert [e.content for e in extract(messages, None)] == ["The user prefers tea."]


def test_a_user_message_already_answered_is_not_mined_again() -> None:
    # A tool loop: the user's words were learned on the turn that asked.
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "I live in Paris."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "1"},
    ]
    assert extract(messages, "It is sunny.") == []


@pytest.mark.parametrize("position", ["system", "first_user", "before_last"])
def test_injected_context_is_never_extracted(position: str) -> None:
    block = context_block("The user lives in Rome. I live in Rome. My name is Carla.")
    messages = inject([{"role": "user", "content": "What's the weather?"}], block, position)
    assert extract(messages, None) == []
    reply = f"{block}\n\nIt is sunny."
    assert extract(messages, reply) == []


def test_list_content_parts_are_read() -> None:
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "I live in Oslo."},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}},
            ],
        }
    ]
    assert [e.content for e in extract(messages, None)] == ["The user lives in Oslo."]


def test_what_both_sides_say_is_kept_once_from_the_user() -> None:
    found = extract([{"role": "user", "content": "I prefer tea."}], "Noted: you prefer tea.")
    assert [(e.content, e.source) for e in found] == [("The user prefers tea.", USER_MESSAGE)]


def test_long_pasted_messages_are_not_mined() -> None:
    pasted = "I live in Paris. " + "Lorem ipsum dolor sit amet. " * 200
    assert said(pasted) == []


def test_normalise_for_dedupe() -> None:
    assert normalise_for_dedupe("  The user  likes\tTea!! ") == "the user likes tea"
    assert normalise_for_dedupe("The user likes tea.") == normalise_for_dedupe("the user likes tea")
    assert normalise_for_dedupe("Version 3.5 is out") == "version 3.5 is out"


@given(
    user=st.text(max_size=300),
    reply=st.one_of(st.none(), st.text(max_size=300)),
)
def test_any_text_yields_well_formed_memories(user: str, reply: str | None) -> None:
    for item in extract([{"role": "user", "content": user}], reply):
        assert item.content.endswith(".")
        assert item.content.strip() == item.content
        assert item.category in CATEGORIES
        assert item.type == memory_type(item.category)
        assert item.source in (USER_MESSAGE, ASSISTANT_RESPONSE)
        assert (item.replaces is not None) == (item.category == CORRECTION)


@given(st.sampled_from([c[0] for c in USER_CASES]), st.sampled_from(["", " ", "\n"]))
def test_whitespace_around_a_statement_does_not_matter(text: str, pad: str) -> None:
    assert said(pad + text + pad) == said(text)
