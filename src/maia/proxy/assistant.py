"""The extraction rules of the assistant's reply: what it acknowledged about the user
("Got it, you prefer tea", "I'll remember that …"), and standing instructions it accepted
("From now on, I'll answer in French"). Internal to ``maia.proxy``."""

from __future__ import annotations

import re
from dataclasses import replace

from maia.proxy.grammar import conjugated, plain, second_to_third, sentence, sentences
from maia.proxy.inject import strip_injected
from maia.proxy.rules import (
    ADV,
    EXPLICIT,
    FACT,
    IMPORTANT,
    INSTRUCTION,
    MAX_OBJECT_WORDS,
    NO_LONGER,
    PREFERENCE,
    PREFERENCE_VERB,
    PREFERENCE_VERBS,
    WHEN,
    Found,
    Rule,
    hypothetical,
    imperative,
    lives,
    origin,
    phrase,
    strip_fillers,
    uses,
    words,
    works,
)

MAX_SENTENCE_CHARS = 300

_ASSISTANT_BREAK = re.compile(
    r"\s*;\s*"
    r"|(?<!from now on)(?<!going forward)(?<!in future),\s*(?:(?:and|but|so)\s+)?"
    r"(?=(?:you|your|i|i'll|i've)\b)"
    r"|\s+(?:and|but|so)\s+(?=(?:you|your|i)\b)",
    re.IGNORECASE,
)
_REASON = re.compile(r"^(?:since|because|as|given that|now that|so)\s+", re.IGNORECASE)
_A_EXPLICIT = [
    re.compile(
        r"^(?:i'll|i\s+will|i'm\s+going\s+to|i\s+am\s+going\s+to|i've|i\s+have|i)\s+(?:also\s+)?"
        r"(?:remember|keep\s+in\s+mind|make\s+a\s+note|note|noted|made\s+a\s+note|take\s+note|"
        r"remembered|saved|stored|save|store)(?:\s+that|\s*:|\s*,)?\s+(?P<x>.+)$",
        re.IGNORECASE,
    ),
    re.compile(r"^noted(?:\s+that|\s*[:,\u2014\u2013-])?\s*(?P<x>.+)$", re.IGNORECASE),
]
_A_IMPORTANT = re.compile(
    r"^(?:important|note|remember|keep\s+in\s+mind)\s*[:,-]\s*(?:that\s+)?(?P<x>.+)$", re.I
)
_A_INSTRUCTION = [
    re.compile(
        r"^(?:" + WHEN + r"\s*,?\s*)?i(?:'ll|\s+will)\s+(?P<adv>always|never)\s+(?P<x>.+)$", re.I
    ),
    re.compile(r"^" + WHEN + r"\s*,?\s*i(?:'ll|\s+will)\s+(?P<adv>)(?P<x>.+)$", re.I),
]
_A_PREFERENCE = re.compile(
    r"^you\s+" + ADV + r"(?P<v>" + PREFERENCE_VERB + r")\s+(?P<x>.+)$", re.IGNORECASE
)
_A_FACTS: list[Rule] = [
    (re.compile(r"^you\s+" + ADV + r"live\s+in\s+(?P<x>(?-i:[A-Z0-9]).+)$", re.I), lives),
    (
        re.compile(
            r"^you(?:'re|\s+are)\s+"
            + ADV
            + r"(?:living|based|located)\s+in\s+(?P<x>(?-i:[A-Z0-9]).+)$",
            re.I,
        ),
        lives,
    ),
    (re.compile(r"^you(?:'re|\s+are)\s+" + ADV + r"from\s+(?P<x>(?-i:[A-Z]).+)$", re.I), origin),
    (
        re.compile(
            r"^you\s+" + ADV + r"work\s+(?P<prep>at|for|in)\s+(?P<x>(?-i:[A-Z0-9]).+)$", re.I
        ),
        works,
    ),
    (re.compile(r"^you\s+" + ADV + r"work\s+(?P<prep>as)\s+(?P<x>an?\s+.+)$", re.I), works),
    (re.compile(r"^you\s+" + ADV + r"use\s+(?P<x>(?-i:[A-Z0-9]).+)$", re.I), uses),
]


def from_assistant(reply: str) -> list[Found]:
    text = plain(strip_injected(reply))
    found: list[Found] = []
    for said, question in sentences(text):
        if question or len(said) > MAX_SENTENCE_CHARS:
            continue
        for part in _ASSISTANT_BREAK.split(said):
            fact = _assistant_clause(part.strip()) if part and part.strip() else None
            if fact is not None:
                found.append(fact)
    return found


def _assistant_clause(text: str) -> Found | None:
    text = strip_fillers(text)
    if not text or hypothetical(text) or NO_LONGER.search(text):
        return None
    for pattern in _A_EXPLICIT:
        match = pattern.match(text)
        if match:
            content = _you_to_user(match["x"])
            return None if content is None else Found(content, EXPLICIT)
    for pattern in _A_INSTRUCTION:
        match = pattern.match(text)
        if match:
            return _assistant_instruction(match)
    match = _A_IMPORTANT.match(text)
    if match:
        content = _you_to_user(match["x"])
        return None if content is None else Found(content, IMPORTANT)
    text = _REASON.sub("", text)
    match = _A_PREFERENCE.match(text)
    if match:
        liked = _second_person_object(match["x"])
        if liked is None:
            return None
        verb = PREFERENCE_VERBS[" ".join(match["v"].lower().split())]
        return Found(sentence(f"The user {verb} {liked}"), PREFERENCE)
    for pattern, build in _A_FACTS:
        match = pattern.match(text)
        if match:
            fact = build(match)
            return None if fact is None else replace(fact, category=FACT, attribute=None)
    return None


def _second_person_object(text: str) -> str | None:
    if re.search(r"\b(?:i|me|my|i'm|i've)\b", text, re.IGNORECASE):
        return None  # about the assistant, not the user
    cleaned = phrase(text)
    return None if cleaned is None else second_to_third(cleaned)


def _assistant_instruction(match: re.Match[str]) -> Found | None:
    action = match["x"].strip()
    first = action.split()[0].lower() if action.split() else ""
    if first in ("be", "do", "try", "help", "remember", "keep", "make") or not imperative(action):
        return None
    action = re.sub(r"\bmy\b", "its", action, flags=re.IGNORECASE)
    action = re.sub(r"\bme\b", "it", action, flags=re.IGNORECASE)
    cleaned = phrase(second_to_third(action))
    if cleaned is None:
        return None
    how = f"{match['adv'].lower()} " if match["adv"] else ""
    when = f" {match['when'].lower()}" if match["when"] else ""
    return Found(sentence(f"The user wants the assistant to {how}{cleaned}{when}"), INSTRUCTION)


def _you_to_user(text: str) -> str | None:
    """ "you prefer tea" -> "The user prefers tea."; None unless it is about the user."""
    text = text.strip()
    if len(words(text)) > MAX_OBJECT_WORDS + 5 or re.search(r"\b(?:i|me|my)\b", text, re.I):
        return None
    content: str | None = None
    for pattern, subject in (
        (r"^you(?:'re|\s+are)\s+", "the user is "),
        (r"^you(?:'ve|\s+have)\s+", "the user has "),
        (r"^you\s+were\s+", "the user was "),
        (r"^you(?:'ll|\s+will)\s+", "the user will "),
    ):
        match = re.match(pattern, text, re.IGNORECASE)
        if match:
            content = sentence(subject + second_to_third(text[match.end() :]))
            break
    else:
        owned = re.match(r"^your\s+(?P<k>[\w' -]+?)\s+(?P<v>is|are|was)\s+(?P<y>.+)$", text, re.I)
        you = re.match(r"^you\s+(?P<rest>.+)$", text, re.IGNORECASE)
        if owned:
            content = sentence(
                f"the user's {owned['k']} {owned['v']} {second_to_third(owned['y'])}"
            )
        elif you:
            content = sentence("the user " + conjugated(second_to_third(you["rest"])))
    if content is None or len(words(content)) < 4:
        return None
    return content
