"""Text helpers: speaker attribution, words and keywords."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maia.retrieval.text import (
    STOP_WORDS,
    Attribution,
    keywords,
    question_share,
    split_attribution,
    words,
)

quick = settings(max_examples=80, deadline=None)

ATTRIBUTED: list[tuple[str, str, str]] = [
    ('Alice said, "I love hiking."', "Alice", "I love hiking."),
    ('Caroline said: "Thanks!"', "Caroline", "Thanks!"),
    ('Bob asked "where is it?"', "Bob", "where is it?"),
    ("Alice says, hello there", "Alice", "hello there"),
    ('Mary Ann Smith replied, "ok"', "Mary Ann Smith", "ok"),
    (
        "Caroline: I went to a support group yesterday.",
        "Caroline",
        "I went to a support group yesterday.",
    ),
    ("[10:02] Bob Smith: the build is green", "Bob Smith", "the build is green"),
    ("[2023-05-07 10:02]  Bob: hi", "Bob", "hi"),
    ("  Alice: leading spaces", "Alice", "leading spaces"),
    ("Dr. Smith: take two pills", "Dr. Smith", "take two pills"),
    ("O'Brien: cheers", "O'Brien", "cheers"),
    # A verb of speech after the name ends it ("said Alice said" is no name).
    ("Bob said Alice said, hi", "Bob", "Alice said, hi"),
    ("Tom wrote Anna asked: why?", "Tom", "Anna asked: why?"),
    # Capitals beyond ASCII.
    ("Émile: à demain", "Émile", "à demain"),
    ("Łukasz Nowak said, see you", "Łukasz Nowak", "see you"),
    ("Ørjan: ok", "Ørjan", "ok"),
    # Curly quotes.
    ("Alice said, “I love hiking.”", "Alice", "I love hiking."),
    ("Melanie: “Look at this!”", "Melanie", "Look at this!"),
    # A trailing note about the message stays, without the quotes around the words.
    (
        "Alice said, “I love hiking.” [shares a photo of a trail]",
        "Alice",
        "I love hiking. [shares a photo of a trail]",
    ),
    ('Bob wrote: "hey" [shares a link]', "Bob", "hey [shares a link]"),
    # Inner quotes survive: only the outermost pair goes.
    ('Bob said, "I read "Dune" twice"', "Bob", 'I read "Dune" twice'),
    # Multi-line content.
    ("Alice: first line\nsecond line", "Alice", "first line\nsecond line"),
    ('Alice said, "line one\nline two"', "Alice", "line one\nline two"),
]


@pytest.mark.parametrize(("content", "speaker", "text"), ATTRIBUTED)
def test_split_attribution(content: str, speaker: str, text: str) -> None:
    assert split_attribution(content) == Attribution(speaker, text)


UNATTRIBUTED = [
    # Labels that look like a speaker but are not one.
    "Note: buy milk",
    "Q: what is this?",
    "A: nothing",
    "TODO: call Bob",
    "Important: the door code changed",
    "I: z",
    "Re: meeting tomorrow",
    "PS: bring snacks",
    "Fwd: the agenda",
    "Summary: we shipped",
    "Time: 10am",
    "Subject: quarterly review",
    # Not a name, or not followed by ": " and words.
    "alice: lowercase is not a name",
    "émile: lowercase beyond ASCII is not a name either",
    "Émile et moi: a lower-case word",
    "李雷: a script without capitals",
    "2024: a year",
    "Alice:no space",
    "Alice:",
    "Alice Bob Carol Dave Eve: five capitalised words is too many",
    "The plan: ship it",
    "http://example.com: a link",
    # Plain text.
    "just some text",
    "Alice went hiking",
    '"quoted only"',
    "",
]


@pytest.mark.parametrize("content", UNATTRIBUTED)
def test_content_without_a_speaker_is_unchanged(content: str) -> None:
    assert split_attribution(content) == Attribution(None, content)


def test_a_verb_of_speech_needs_words_after_it() -> None:
    assert split_attribution("Alice said") == Attribution(None, "Alice said")
    assert split_attribution("Alice said nothing") == Attribution("Alice", "nothing")


@quick
@given(content=st.text(max_size=80))
def test_split_attribution_never_invents_text(content: str) -> None:
    result = split_attribution(content)
    if result.speaker is None:
        assert result.text == content
    else:
        assert content.lstrip().startswith(result.speaker) or content.lstrip().startswith("[")
        assert result.speaker in content
        for character in result.text:
            assert character in content


# Questions.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where did you go on holiday?", 1.0),
        ("Looks fun! What did you do there?", 0.5),
        ("We went to Lisbon. It was sunny. Ever been?", 1 / 3),
        ("What? No. Really?!", 2 / 3),  # "?!" closes a question too
        ("Version 2.5 is out. Want it?", 0.5),  # "2.5" ends no sentence
        ('He asked "why?" and left.', 0.0),  # a quoted question inside a statement
        ("Is it done", 0.0),  # no question mark, no question
        ("Why?\nBecause.", 0.5),
        ("", 0.0),
        ("?!", 0.0),
    ],
)
def test_question_share(text: str, expected: float) -> None:
    assert question_share(text) == pytest.approx(expected)


# Keywords.

KEYWORDS: list[tuple[str, list[str]]] = [
    ("What is the plan for Project Apollo?", ["plan", "project", "apollo"]),
    ("Hello, World! hello", ["hello", "world"]),
    ("The cat's toy", ["cat", "toy"]),
    ("über café", ["über", "café"]),
    ("I went to Paris in 2023", ["went", "paris", "2023"]),
    # Words that frame a question about what someone said.
    ("What did Carol tell us?", ["carol"]),
    ("What did Caroline say about her job?", ["caroline", "job"]),
    # Nothing but stop words: keep them all rather than nothing.
    ("the and of", ["the", "and", "of"]),
    ("what about it", ["what", "about", "it"]),
    ("Who? Who!", ["who"]),
    ("", []),
    ("?!...", []),
]


@pytest.mark.parametrize(("text", "expected"), KEYWORDS)
def test_keywords(text: str, expected: list[str]) -> None:
    assert keywords(text) == expected


@quick
@given(
    text=st.lists(
        st.sampled_from(sorted(STOP_WORDS)) | st.sampled_from(["Alice", "tea", "Berlin", "42"]),
        max_size=12,
    ).map(" ".join)
)
def test_keywords_drop_stop_words_unless_nothing_else_remains(text: str) -> None:
    found = keywords(text)
    all_words = words(text)
    assert found == list(dict.fromkeys(found))  # unique, first-seen order
    assert set(found) <= set(all_words)
    content = [w for w in all_words if w not in STOP_WORDS]
    if content:
        assert found == list(dict.fromkeys(content))
    else:
        assert found == list(dict.fromkeys(all_words))


def test_words_are_lowercased_unicode_words() -> None:
    assert words("Hello, Wörld! it's 2023_05") == ["hello", "wörld", "it", "s", "2023_05"]
    assert all(w == w.lower() for w in STOP_WORDS)
