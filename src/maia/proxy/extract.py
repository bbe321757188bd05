"""Rule-based extraction of memories from one chat turn (CONTRACT 6.4, extended).

Pure functions, no I/O. Only the turn's own words are mined: the last user message
(when nothing answered it yet) and the assistant's reply, never the history (the proxy
sees it again on every turn) nor an injected context block (no feedback loop).

Precision over recall: a wrong memory is worse than a missed one. Questions,
hypotheticals ("if I lived in…", "I'd…", "maybe…"), role play ("pretend…") and other
people ("my friend likes…") yield nothing; every memory is one clean third-person
sentence ("The user prefers green tea.") so it reads well in a later context.
See docs/proxy.md#memory-extraction for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from maia.proxy.assistant import from_assistant
from maia.proxy.grammar import clauses, conjugated, first_to_third, plain, sentence, sentences
from maia.proxy.inject import message_text, strip_injected
from maia.proxy.rules import (
    ASSISTANT_RESPONSE,
    CORRECTION,
    EPISODIC_CATEGORIES,
    EXPLICIT,
    FACT,
    I_AM,
    IDENTITY,
    IMPORTANT,
    INSTRUCTION,
    MAX_OBJECT_WORDS,
    NEGATION,
    NO_LONGER,
    PLAN,
    PREFERENCE,
    USER_DECLARATION,
    USER_MESSAGE,
    WHEN,
    Found,
    hypothetical,
    imperative,
    phrase,
    strip_fillers,
    user_clause,
    words,
)
from maia.retrieval.text import normalise_for_dedupe

_ROLE_PLAY = re.compile(
    r"\b(?:pretend|imagine|role-?play|let's say|hypothetically|act as|suppose)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(r"^(?:hi|hello|hey)\b", re.IGNORECASE)
_CORRECTION_MARKER = re.compile(
    r"^(?:actually|correction|oops|my mistake|my bad|i meant|to clarify|scratch that|"
    r"update|(?:no|nope|wait)(?=\s*[,.!:-]))\b[\s,:!.-]*",
    re.IGNORECASE,
)
_ACTUALLY = re.compile(r"^i\s+actually\b", re.IGNORECASE)

MAX_MESSAGE_CHARS = 4000  # longer user messages are pasted material, not statements
MAX_SENTENCE_CHARS = 300
MAX_EXTRACTIONS = 20

__all__ = [
    "ASSISTANT_RESPONSE",
    "CORRECTION",
    "EXPLICIT",
    "FACT",
    "IDENTITY",
    "IMPORTANT",
    "INSTRUCTION",
    "PLAN",
    "PREFERENCE",
    "USER_DECLARATION",
    "USER_MESSAGE",
    "Extracted",
    "extract",
    "memory_type",
    "normalise_for_dedupe",
]


@dataclass(frozen=True)
class Extracted:
    """One memory found in a turn.

    ``replaces`` is set on corrections: a short description of the fact it replaces
    ("where the user lives"), or the old fact itself ("The user lives in Paris.").
    """

    content: str
    category: str
    source: str
    type: str
    replaces: str | None = None


def memory_type(category: str) -> str:
    """``episodic`` for facts, identity, declarations, corrections and plans (CONTRACT
    6.4), ``semantic`` for the rest."""
    return "episodic" if category in EPISODIC_CATEGORIES else "semantic"


def extract(messages: Sequence[dict[str, Any]], reply: str | None) -> list[Extracted]:
    """The memories of one turn: from the last user message and from the reply."""
    found: list[Extracted] = []
    user = last_user_text(messages)
    if user:
        found += [_finish(f, USER_MESSAGE) for f in _from_user(user)]
    if reply:
        found += [_finish(f, ASSISTANT_RESPONSE) for f in from_assistant(reply)]
    unique: dict[str, Extracted] = {}
    for item in found:
        unique.setdefault(normalise_for_dedupe(item.content), item)
    return list(unique.values())[:MAX_EXTRACTIONS]


def last_user_text(messages: Sequence[dict[str, Any]]) -> str | None:
    """The last user message's text, if no assistant message came after it (in a tool
    loop the user's words were mined on the turn that asked)."""
    for message in reversed(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "user":
            return message_text(message)
        if role == "assistant":
            return None
    return None


def _finish(found: Found, source: str) -> Extracted:
    return Extracted(
        content=found.content,
        category=found.category,
        source=source,
        type=memory_type(found.category),
        replaces=found.replaces if found.category == CORRECTION else None,
    )


# -- the user's message --------------------------------------------------------------------


def _from_user(text: str) -> list[Found]:
    text = plain(strip_injected(text))
    if len(text) > MAX_MESSAGE_CHARS or _ROLE_PLAY.search(text):
        return []
    found: list[Found] = []
    for said, question in sentences(text):
        if not question and len(said) <= MAX_SENTENCE_CHARS:
            found += _user_sentence(said)
    return found


def _user_sentence(text: str) -> list[Found]:
    greeted = bool(_GREETING.match(text))
    text = strip_fillers(text)
    corrected = False
    while marker := _CORRECTION_MARKER.match(text):
        corrected = True
        text = strip_fillers(text[marker.end() :])
    if not text:
        return []
    special = _instruction(text)
    if special is not None:
        return [special]
    explicit = _explicit(text)
    if explicit is not None:
        return explicit
    found: list[Found] = []
    ended: Found | None = None  # a fact a "no longer" clause ended, awaiting what replaced it
    parts = clauses(text)
    while parts:
        part = strip_fillers(parts.pop(0))
        if NO_LONGER.search(part):
            if ended is not None:
                found.append(_ended(ended))
            head, tail = _split_now(part)
            ended = user_clause(_positive(head))
            if tail:
                parts.insert(0, tail)
            continue
        fact = user_clause(part, greeted=greeted)
        if fact is None:
            continue
        if ended is not None:
            found.append(replace(fact, category=CORRECTION, replaces=ended.content))
            ended = None
        elif (corrected or _ACTUALLY.match(part)) and fact.attribute is not None:
            found.append(replace(fact, category=CORRECTION, replaces=fact.attribute))
        else:
            found.append(fact)
    if ended is not None:
        found.append(_ended(ended))
    return found


def _split_now(clause: str) -> tuple[str, str]:
    """ "I'm not a teacher anymore, now a developer" -> the ended part and "I'm a
    developer" (the subject carried over when the new part has none)."""
    now = re.search(r",?\s*(?:and\s+|but\s+)?now\s+", clause, re.IGNORECASE)
    if now is None:
        return clause, ""
    head, tail = clause[: now.start()], clause[now.end() :].strip()
    if tail and not re.match(r"^(?:i|my)\b", tail, re.I):
        subject = re.match(I_AM, head, re.IGNORECASE)
        tail = f"I'm {tail}" if subject else ""
    return head, tail


def _positive(clause: str) -> str:
    """The clause without its "no longer" ("I don't live in Paris anymore" -> "I live in
    Paris"); empty when a negation is left."""
    text = re.sub(r"\s*\b(?:anymore|any more)\b", "", clause, flags=re.IGNORECASE)
    text = re.sub(r"\b(?:no longer|used to)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^i\s+(?:don't|do not|dont)\s+", "I ", text, flags=re.IGNORECASE)
    text = re.sub(r"^(i'm|i\s+am)\s+not\s+", r"\1 ", text, flags=re.IGNORECASE)
    text = re.sub(r"^(my\s+.+?)\s+(?:isn't|is\s+not)\s+", r"\1 is ", text, flags=re.IGNORECASE)
    return "" if NEGATION.search(text) else text


def _ended(old: Found) -> Found:
    """ "The user lives in Paris." -> "The user no longer lives in Paris.", replacing it."""
    content = old.content
    being = re.match(r"^(The user(?:'s [^.]+?)?) (is|are) (.+)$", content)
    if being:
        ended = f"{being[1]} {being[2]} no longer {being[3]}"
    else:
        ended = re.sub(r"^The user ", "The user no longer ", content)
    return Found(ended, CORRECTION, replaces=content)


# -- instructions and explicit requests ----------------------------------------------------

_ALWAYS = re.compile(
    r"^(?:please\s+)?(?:" + WHEN + r"\s*,?\s*(?:please\s+)?)?(?P<adv>always|never)\s+(?P<x>.+)$",
    re.IGNORECASE,
)
_FROM_NOW = re.compile(r"^(?:please\s+)?" + WHEN + r"\s*,?\s*(?:please\s+)?(?P<x>.+)$", re.I)
_REMEMBER = re.compile(
    r"^(?:please\s+)?(?P<how>remember|don't forget|do not forget|keep in mind|note|"
    r"make a note|take note|for future reference|for the record|fyi|just so you know|"
    r"important|nb)\b(?P<sep>\s*(?:that\b|:|,|-)\s*|\s+)(?P<x>.+)$",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|my|me)\b", re.IGNORECASE)


def _to_assistant(text: str) -> str:
    """Words addressed to the assistant, about the assistant ("your answers" -> "its
    answers")."""
    text = re.sub(r"\byou(?:'re|\s+are)\b", "it is", text, flags=re.IGNORECASE)
    text = re.sub(r"\byour(?:s)?\b", "its", text, flags=re.IGNORECASE)
    text = re.sub(r"\byourself\b", "itself", text, flags=re.IGNORECASE)
    return re.sub(r"\byou\b", "it", text, flags=re.IGNORECASE)


def _instruction(text: str) -> Found | None:
    """ "Always answer in Portuguese", "from now on, use metric units": a standing
    instruction (a one-off "please fix this" is not)."""
    if hypothetical(text):
        return None
    when = ""
    match = _ALWAYS.match(text)
    if match:
        how, action = match["adv"].lower() + " ", match["x"]
    else:
        match = _FROM_NOW.match(text)
        if match is None:
            return None
        how, action = "", match["x"]
        when = " " + match["when"].lower()
    if match["when"] and not when:
        when = " " + match["when"].lower()
    if not imperative(action):
        return None
    cleaned = phrase(action)
    if cleaned is None:
        return None
    return Found(
        sentence(f"The user wants the assistant to {how}{_to_assistant(cleaned)}{when}"),
        INSTRUCTION,
    )


def _explicit(text: str) -> list[Found] | None:
    """ "Remember that …", "Important: …": what the user asked to be kept, in third
    person. None when the sentence is not such a request."""
    match = _REMEMBER.match(text)
    if match is None:
        return None
    how, said = match["how"].lower(), match["x"].strip()
    category = IMPORTANT if how in ("important", "nb") else EXPLICIT
    if re.match(r"^(?:to|when|how|what|where|why|who|if|me|us|you)\b", said, re.I):
        return None  # "remember to …" is a reminder, "remember when …" nostalgia
    first_person = _FIRST_PERSON.search(said) is not None
    needs_first_person = ("note", "make a note", "take note", "for the record", "fyi")
    if how in (*needs_first_person, "just so you know") and not first_person:
        return None
    if not match["sep"].strip() and not re.match(r"^(?:i|i'm|my)\b", said, re.I):
        return None
    found: list[Found] = []
    for part in clauses(said):
        fact = user_clause(part)
        content = fact.content if fact is not None else _third_person(part)
        if content:
            found.append(Found(content, category))
    return found


def _third_person(text: str) -> str | None:
    """A first-person statement of the user in third person, by form alone."""
    text = strip_fillers(text.strip())
    if hypothetical(text) or len(words(text)) < 3 or len(words(text)) > MAX_OBJECT_WORDS + 5:
        return None
    for pattern, subject in (
        (r"^i(?:'m|\s+am)\s+", "The user is "),
        (r"^i(?:'ve|\s+have)\s+", "The user has "),
        (r"^i\s+was\s+", "The user was "),
        (r"^i(?:'ll|\s+will)\s+", "The user will "),
        (r"^my\s+", "The user's "),
    ):
        match = re.match(pattern, text, re.IGNORECASE)
        if match:
            return sentence(subject + first_to_third(text[match.end() :]))
    match = re.match(r"^i\s+", text, re.IGNORECASE)
    if match:
        return sentence("The user " + conjugated(first_to_third(text[match.end() :])))
    return sentence(first_to_third(text, owner="the user's"))
