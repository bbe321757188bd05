"""Context injection into OpenAI chat messages (CONTRACT 6.3). Pure functions, no I/O.

Messages are plain dicts as the client sent them: ``role``, ``content`` (a string, a
list of parts such as ``{"type": "text", "text": ...}``, or null) and any other keys,
which are kept untouched. Nothing here mutates its input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

CONTEXT_HEADER = "[Relevant context from memory]"
CONTEXT_FOOTER = "[End of context]"
SEPARATOR = "\n\n"  # between the block and the text it is prepended to
QUERY_MESSAGES = 3  # user messages that make up the retrieval query

Message = dict[str, Any]

# A block and the separator that followed it when it was prepended. Non-greedy, so two
# blocks are two matches and the text between them survives.
_BLOCK = re.compile(
    re.escape(CONTEXT_HEADER) + r".*?" + re.escape(CONTEXT_FOOTER) + f"(?:{SEPARATOR})?",
    re.DOTALL,
)


def context_block(content: str) -> str:
    """The injected block: header, the assembled context, footer."""
    return f"{CONTEXT_HEADER}{SEPARATOR}{content}{SEPARATOR}{CONTEXT_FOOTER}"


def strip_injected(text: str) -> str:
    """``text`` without any injected context block (and the separator after each), so
    what MAIA injected is never read back as what the user said."""
    if CONTEXT_HEADER not in text:
        return text
    return _BLOCK.sub("", text)


def text_parts(message: Message) -> list[str]:
    """The text of a message, part by part, with injected blocks removed; parts that held
    nothing but a block are dropped."""
    content = message.get("content")
    if isinstance(content, str):
        return [strip_injected(content)]
    if not isinstance(content, list):
        return []
    texts: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text")
            if isinstance(text, str):
                stripped = strip_injected(text)
                if stripped or not text:
                    texts.append(stripped)
    return texts


def message_text(message: Message) -> str:
    """A message's text parts joined by newlines, injected blocks removed."""
    return "\n".join(text_parts(message))


def context_query(messages: Sequence[Message]) -> str:
    """The retrieval query: the last up-to-three user messages' text, oldest first,
    joined by spaces."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    texts = [" ".join(message_text(m).split()) for m in users[-QUERY_MESSAGES:]]
    return " ".join(t for t in texts if t)


def inject(messages: Sequence[Message], block: str, position: str) -> list[Message]:
    """A new message list with ``block`` placed at ``position``:

    * ``system``: prepended (with a blank line) to the first system message; a new system
      message at index 0 when there is none;
    * ``first_user``: prepended to the first user message;
    * ``before_last``: a new system message right before the last user message;
    * anything else, or a position whose user message is missing: like ``system``.
    """
    result = [dict(m) for m in messages]  # copies: the caller's dicts stay as they were
    if not block:
        return result
    roles = [m.get("role") for m in result]
    if position == "first_user" and "user" in roles:
        index = roles.index("user")
        result[index] = _prepended(result[index], block)
    elif position == "before_last" and "user" in roles:
        index = len(roles) - 1 - roles[::-1].index("user")
        result.insert(index, {"role": "system", "content": block})
    elif "system" in roles:
        index = roles.index("system")
        result[index] = _prepended(result[index], block)
    else:
        result.insert(0, {"role": "system", "content": block})
    return result


def _prepended(message: Message, block: str) -> Message:
    """The message with ``block`` + a blank line before its text: in front of a string,
    or as a new first text part of a list of parts."""
    content = message.get("content")
    if isinstance(content, list):
        return {**message, "content": [{"type": "text", "text": block + SEPARATOR}, *content]}
    if isinstance(content, str):
        return {**message, "content": block + SEPARATOR + content}
    return {**message, "content": block}
