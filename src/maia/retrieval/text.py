"""Text helpers shared by indexing and querying: words, stop words, attribution."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

WORD = re.compile(r"\w+", re.UNICODE)

# Function words that carry no topic. Dropped from full-text queries (unless nothing
# else is left), since an OR query over them matches nearly every memory.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me might more most must my myself no nor not of off on once
    only or other our ours ourselves out over own same shall she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves s t d ll m re ve don didn doesn isn wasn
    us
    """.split()
    # Verbs that frame a question about what someone said, not its topic ("what did
    # Carol tell us about the move"): who said it is matched as a speaker instead.
    + "say says said tell tells told mention mentioned".split()
)

# Words that open an address to someone: "Hey Alice", "Thanks, Bob".
ADDRESS_WORDS = (
    *"""
    hey hi hello thanks dear yes yeah yep sure ok okay oh wow congrats congratulations
    sorry bye goodbye well
    """.split(),
    "thank you",
)


def _capitals() -> str:
    """A regex class of the upper-case letters of the Basic Multilingual Plane ("É",
    "Ł"): ``re`` has none beyond ASCII. Consecutive letters become ranges."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if chr(code).isupper():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    parts = (
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return "[" + "".join(parts) + "]"


@cache
def _speaker_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """ "Alice said, "..."" and "Alice: ..." / "[10:02] Alice: ...": the speaker of a
    transcript line is a structured field, not part of what the line is about. A name is
    up to four words, each starting with a capital letter. Built at first use (the class
    of capitals takes a few milliseconds: not at every import)."""
    word = _capitals() + r"[\w'.-]*"
    name = rf"(?P<speaker>{word}(?: {word}){{0,3}})"
    verb = r"(?:said|says|asked|asks|wrote|writes|replied|replies)"
    said = re.compile(rf"^\s*{name} {verb}[,:]?\s+(?P<text>.+)$", re.DOTALL)
    colon = re.compile(rf"^\s*(?:\[[^\]]{{1,40}}\]\s*)?{name}:\s+(?P<text>.+)$", re.DOTALL)
    return said, colon


_QUOTES = '"“”'
# Capitalised labels that look like a speaker before a colon but are not one.
_NOT_SPEAKERS = frozenset(
    """
    i note notes important remember reminder todo update re fwd fw q a summary warning
    tip ps edit fact facts answer question example step time date subject topic title
    location status
    """.split()
)


@dataclass(frozen=True, slots=True)
class Attribution:
    speaker: str | None
    text: str


def split_attribution(content: str) -> Attribution:
    """Separates a leading speaker ("Alice said, ..." or "Alice: ...") from the words."""
    for pattern in _speaker_patterns():
        match = pattern.match(content)
        if match and (speaker := match.group("speaker")).lower() not in _NOT_SPEAKERS:
            return Attribution(speaker, _unquote(match.group("text").strip()))
    return Attribution(None, content)


def _unquote(text: str) -> str:
    """``"words" [extra]`` -> ``words [extra]``: drops the quotes around an utterance."""
    if text[:1] not in _QUOTES:
        return text
    closing = max(text.rfind(q) for q in _QUOTES)
    if closing <= 0:
        return text
    return (text[1:closing] + text[closing + 1 :]).strip() or text


# A sentence: up to its closing marks (followed by a space or the end: "2.5" goes on),
# or to the end of the text; group 1 is its closing marks.
_SENTENCE = re.compile(r"\S.*?(?:([.!?]+)(?=\s|$)|$)", re.DOTALL)


def question_share(text: str) -> float:
    """The share of ``text``'s sentences that are questions (close with "?"), 0..1."""
    sentences = [m.group(1) or "" for m in _SENTENCE.finditer(text) if WORD.search(m.group())]
    if not sentences:
        return 0.0
    return sum("?" in marks for marks in sentences) / len(sentences)


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def keywords(text: str) -> list[str]:
    """The query's content words (stop words dropped unless nothing else remains)."""
    found = list(dict.fromkeys(words(text)))
    content = [w for w in found if w not in STOP_WORDS]
    return content or found


def normalise_for_dedupe(text: str) -> str:
    """The form two memories' texts are compared in: lower case, single spaces, no
    trailing punctuation ("The user likes tea." and "the user likes  tea" are the same)."""
    return re.sub(r"[\s.!?;:,\u2026]+$", "", " ".join(text.lower().split()))
