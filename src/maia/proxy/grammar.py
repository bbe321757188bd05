"""Small English helpers of the extractor: sentences and clauses, and rewriting first or
second person into third person ("I live in Paris" -> "The user lives in Paris.").
Pure functions, no I/O; they handle the phrasings the extraction rules produce, not
English at large."""

from __future__ import annotations

import re

# Curly quotes typed by phones and editors, so one apostrophe form is matched.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_FENCED = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_BULLET = re.compile(r"^(?:[-*+\u2022]|\d{1,2}[.)])\s+")
_END = re.compile(r"([.!?\u2026]+)(?=\s|$)")
# A full stop after these does not end a sentence ("I live in St. Louis").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof mt ft vs etc inc ltd co no approx e.g i.e u.s u.k a.m p.m".split()
)
_CLAUSE_BREAK = re.compile(
    r"\s*;\s*"
    r"|,\s*(?:(?:and|but|so|plus|though|and now|but now|now)\s+)?(?=(?:i|my)\b)"
    r"|\s+(?:and|but|so|plus|and now|but now)\s+(?=(?:i|my)\b)",
    re.IGNORECASE,
)

_MODALS = frozenset(
    "can can't cannot could couldn't will won't shall should shouldn't must may might 'll".split()
)
_IRREGULAR = {
    "am": "is",
    "are": "is",
    "be": "is",
    "were": "was",
    "have": "has",
    "do": "does",
    "go": "goes",
    "don't": "doesn't",
    "aren't": "isn't",
    "haven't": "hasn't",
    "weren't": "wasn't",
}
_ADVERBS = frozenset(
    "also really usually often always never still just now currently mostly mainly "
    "generally definitely actually sometimes rarely truly totally absolutely".split()
)

_FIRST_PERSON = [
    (r"\bi'm\b", "they're"),
    (r"\bi am\b", "they are"),
    (r"\bi was\b", "they were"),
    (r"\bi've\b", "they've"),
    (r"\bi'll\b", "they'll"),
    (r"\bi'd\b", "they'd"),
    (r"\bi\b", "they"),
    (r"\bmyself\b", "themselves"),
    (r"\bmine\b", "theirs"),
]
_SECOND_PERSON = [
    (r"\byou're\b", "they're"),
    (r"\byou are\b", "they are"),
    (r"\byou were\b", "they were"),
    (r"\byou've\b", "they've"),
    (r"\byou'll\b", "they'll"),
    (r"\byourself\b", "themselves"),
    (r"\byours\b", "theirs"),
    (r"\byour\b", "their"),
]
# "you" is the subject after these (they), else an object (them).
_SUBJECT_BEFORE = re.compile(
    r"(?:\b(?:and|but|or|when|because|that|so|while|as|since|where|once|until)|[,;:])$",
    re.IGNORECASE,
)


def plain(text: str) -> str:
    """Text with straight quotes and no code (fenced blocks dropped, inline code kept
    as words)."""
    text = text.translate(_QUOTES)
    text = _FENCED.sub("\n", text)
    return _INLINE_CODE.sub(r"\1", text)


def sentences(text: str) -> list[tuple[str, bool]]:
    """``(sentence, is_question)`` for each sentence of ``text`` (already ``plain``):
    one per line at least, quoted lines (``> …``) skipped, list bullets dropped."""
    found: list[tuple[str, bool]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(">"):
            continue
        line = _BULLET.sub("", line)
        start = 0
        for match in _END.finditer(line):
            before = line[start : match.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            if match.group(1) == "." and (last in _ABBREVIATIONS or len(last) == 1):
                continue  # an abbreviation or an initial, not the end of a sentence
            found.append((line[start : match.start()].strip(), "?" in match.group(1)))
            start = match.end()
        rest = line[start:].strip()
        if rest:
            found.append((rest, False))
    return [(s, q) for s, q in found if s]


def clauses(sentence: str) -> list[str]:
    """The sentence cut where a new first-person clause starts ("I live in Paris and I
    work at Acme" -> two clauses)."""
    return [c.strip() for c in _CLAUSE_BREAK.split(sentence) if c and c.strip()]


def third_person_verb(verb: str) -> str:
    """``prefer`` -> ``prefers``, ``have`` -> ``has``; modals and past tenses unchanged."""
    lower = verb.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower in _MODALS or lower.endswith(("ed", "n't")) or not lower.isalpha():
        return verb
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(lower) > 1 and lower.endswith("y") and lower[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def conjugated(phrase: str) -> str:
    """A verb phrase whose subject was I or you, agreed with "the user": leading adverbs
    kept, the first verb in the third person ("also prefer tea" -> "also prefers tea")."""
    words = phrase.split(" ")
    for i, word in enumerate(words):
        if word.lower() not in _ADVERBS:
            if word.lower() in ("do", "don't") and i + 1 < len(words):
                words[i] = "does" if word.lower() == "do" else "doesn't"
            else:
                words[i] = third_person_verb(word)
            break
    return " ".join(words)


def first_to_third(text: str, *, owner: str = "their") -> str:
    """First-person words of the user rewritten: my -> ``owner`` ("their" after "The
    user", "the user's" elsewhere), me -> them, I -> they."""
    text = re.sub(r"\bmy\b", owner, text, flags=re.IGNORECASE)
    text = re.sub(r"\bme\b", "them" if owner == "their" else "the user", text, flags=re.I)
    for pattern, replacement in _FIRST_PERSON:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def second_to_third(text: str) -> str:
    """Second-person words (the assistant speaking to the user) rewritten: your -> their,
    you -> they (as a subject) or them."""
    for pattern, replacement in _SECOND_PERSON:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in re.finditer(r"\byou\b", text, flags=re.IGNORECASE):
        out.append(text[last : match.start()])
        before = text[: match.start()].rstrip()
        subject = not before or _SUBJECT_BEFORE.search(before) is not None
        out.append("they" if subject else "them")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def sentence(text: str) -> str:
    """One clean sentence: single spaces, first letter upper case, one full stop."""
    text = " ".join(text.split()).strip(" ,;:-")
    text = re.sub(r"[.!\u2026]+$", "", text).rstrip()
    if not text:
        return ""
    return text[0].upper() + text[1:] + "."
