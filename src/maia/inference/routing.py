"""Which providers serve a model, in the order to try them (pure).

1. the inference routes (``pattern -> provider``), in order: the first match is the
   routed provider, later matches follow it;
2. providers whose own ``models`` patterns match, in configuration order;
3. the default provider: it serves any model, unless it is a mock provider, which serves
   only its own patterns (so a fresh server answers ``model_not_found`` for ``gpt-4o``
   instead of pretending).

Patterns are whole-name matches in which ``*`` stands for any characters (``/`` too:
``openai/*`` matches OpenRouter's ``openai/gpt-4o``); nothing else is special.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def matches(pattern: str, model: str) -> bool:
    """``model`` matches ``pattern`` as a whole; ``*`` matches any characters."""
    return _compiled(pattern).fullmatch(model) is not None


@dataclass(frozen=True)
class RoutingTable:
    """The routing rules of a router."""

    routes: Sequence[tuple[str, str]] = ()  # (pattern, provider name), first match wins
    patterns: Mapping[str, Sequence[str]] = field(default_factory=dict)  # provider -> models
    default: str = "mock"
    default_serves_any: bool = False

    def candidates(self, model: str) -> list[str]:
        """Provider names that serve ``model``, best first, without repeats."""
        ordered = [name for pattern, name in self.routes if matches(pattern, model)]
        ordered += [
            name
            for name, patterns in self.patterns.items()
            if any(matches(pattern, model) for pattern in patterns)
        ]
        if self.default_serves_any:
            ordered.append(self.default)
        return list(dict.fromkeys(ordered))
