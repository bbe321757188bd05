"""Extraction by a language model (``proxy_extractor = "llm"``), through the router.

The turn's own words (the last user message and the reply, never an injected context
block) go to ``proxy_extractor_model`` with instructions to answer in JSON; the answer
is validated item by item into the same ``Extracted`` records the rules produce, so
storing, deduplication and corrections work the same. Any failure (no answer, not
JSON, nothing valid) returns None and the caller falls back to the rules.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from maia.inference.router import InferenceRouter
from maia.proxy.extract import MAX_EXTRACTIONS, Extracted, last_user_text
from maia.proxy.rules import ASSISTANT_RESPONSE, USER_MESSAGE

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
You extract long-term memories about the user from one turn of a conversation.
Return only what is worth remembering in later conversations: facts about the user,
preferences, plans, identity, instructions for the assistant, and corrections of
earlier facts. Skip questions, hypotheticals, role play, small talk, and facts about
other people unless they concern the user. Write each memory as one short third-person
sentence about "the user" (e.g. "The user lives in Berlin."). For a correction, set
"replaces" to the fact it replaces. Answer with JSON only, in this shape:
{"memories": [{"content": "...", "type": "semantic" or "episodic",
"category": "fact|preference|plan|identity|instruction|correction",
"from": "user" or "assistant", "replaces": null}]}
Answer {"memories": []} when there is nothing to remember."""

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")
MAX_CONTENT_CHARS = 500


class _Item(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    type: Literal["semantic", "episodic"] = "semantic"
    category: str = Field("fact", max_length=40)
    from_: Literal["user", "assistant"] = Field("user", alias="from")
    replaces: str | None = Field(None, max_length=MAX_CONTENT_CHARS)


def request_body(
    model: str, messages: Sequence[dict[str, Any]], reply: str | None
) -> dict[str, Any] | None:
    """The chat request asking ``model`` for the turn's memories; None if the turn has
    no words of its own."""
    user = last_user_text(messages)
    if not user and not reply:
        return None
    turn = []
    if user:
        turn.append(f"User: {user}")
    if reply:
        turn.append(f"Assistant: {reply}")
    return {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": "\n\n".join(turn)},
        ],
        "response_format": {"type": "json_object"},
    }


def parse(answer: str) -> list[Extracted] | None:
    """The memories in the model's answer; None when it is not the JSON asked for."""
    try:
        data = json.loads(_FENCE.sub("", answer))
    except ValueError:
        return None
    items = data.get("memories") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    found: list[Extracted] = []
    for raw in items[:MAX_EXTRACTIONS]:
        try:
            item = _Item.model_validate(raw)
        except ValidationError:
            continue  # one bad item does not spoil the others
        content = " ".join(item.content.split())
        if not content:
            continue
        found.append(
            Extracted(
                content=content,
                category=item.category,
                source=USER_MESSAGE if item.from_ == "user" else ASSISTANT_RESPONSE,
                type=item.type,
                replaces=" ".join(item.replaces.split()) if item.replaces else None,
            )
        )
    return found


async def extract_with_model(
    router: InferenceRouter,
    model: str,
    messages: Sequence[dict[str, Any]],
    reply: str | None,
) -> list[Extracted] | None:
    """The turn's memories according to ``model``; None when it gave no usable answer."""
    body = request_body(model, messages, reply)
    if body is None:
        return []
    try:
        response, _provider = await router.complete(body)
    except Exception as exc:  # any upstream failure: the rules take over
        log.warning("LLM extraction failed (%s: %s); using the rules", type(exc).__name__, exc)
        return None
    choices = response.get("choices") or []
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    found = parse(content) if isinstance(content, str) else None
    if found is None:
        log.warning("LLM extraction: the answer of %s was not the JSON asked for", model)
    return found
