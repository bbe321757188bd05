"""Validation of an OpenAI chat-completion request at the proxy's edge.

Only the known fields are checked, and only their JSON types: what a provider's
translation relies on (so a bad value is a precise 400, never a crash further in). Values
a provider judges itself (ranges, model names, roles) and unknown fields pass through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maia.errors import InvalidInput

_NUMBERS = ("temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty")
_INTEGERS = ("n", "max_tokens", "max_completion_tokens", "seed")
_BOOLEANS = ("stream", "parallel_tool_calls", "logprobs")
_STRINGS = ("user",)
_OBJECTS = ("logit_bias", "metadata")


class _Bad(Exception):
    """A value of the wrong type at ``path`` (a dotted path into the body)."""

    def __init__(self, path: str, expected: str) -> None:
        super().__init__(f"{path} must be {expected}")
        self.path = path


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(path, "an object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(path, "an array")
    return value


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "a string": _is_str,
    "an integer": _is_int,
    "a number": _is_number,
    "a boolean": _is_bool,
    "an object": _is_object,
}


def _optional(container: dict[str, Any], key: str, path: str, kind: str) -> None:
    """``container[key]``, when present and not null, is of ``kind``."""
    value = container.get(key)
    if value is not None and not _CHECKS[kind](value):
        raise _Bad(f"{path}{key}", kind)


def _function(value: Any, path: str) -> None:
    """A function reference: ``{"name": str, "arguments"?: str | object}``."""
    function = _object(value, path)
    if not isinstance(function.get("name"), str):
        raise _Bad(f"{path}.name", "a string")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str | dict):
        raise _Bad(f"{path}.arguments", "a string")


def _content(value: Any, path: str) -> None:
    if value is None or isinstance(value, str):
        return
    for i, raw in enumerate(_list(value, path)):
        part_path = f"{path}[{i}]"
        part = _object(raw, part_path)
        kind = part.get("type")
        if not isinstance(kind, str):
            raise _Bad(f"{part_path}.type", "a string")
        if kind in ("text", "input_text") and not isinstance(part.get("text"), str):
            raise _Bad(f"{part_path}.text", "a string")
        if kind == "image_url":
            image = _object(part.get("image_url"), f"{part_path}.image_url")
            if not isinstance(image.get("url"), str):
                raise _Bad(f"{part_path}.image_url.url", "a string")


def _message(raw: Any, path: str) -> None:
    message = _object(raw, path)
    if not isinstance(message.get("role"), str):
        raise _Bad(f"{path}.role", "a string")
    _content(message.get("content"), f"{path}.content")
    for key in ("name", "tool_call_id"):
        _optional(message, key, f"{path}.", "a string")
    if message.get("function_call") is not None:
        _function(message["function_call"], f"{path}.function_call")
    if message.get("tool_calls") is not None:
        for i, raw_call in enumerate(_list(message["tool_calls"], f"{path}.tool_calls")):
            call_path = f"{path}.tool_calls[{i}]"
            call = _object(raw_call, call_path)
            _optional(call, "id", f"{call_path}.", "a string")
            _function(call.get("function"), f"{call_path}.function")


def _tools(body: dict[str, Any]) -> None:
    for i, raw in enumerate(_list(body["tools"], "tools")):
        tool = _object(raw, f"tools[{i}]")
        if tool.get("type", "function") == "function":
            function = _object(tool.get("function"), f"tools[{i}].function")
            if not isinstance(function.get("name"), str):
                raise _Bad(f"tools[{i}].function.name", "a string")
            _optional(function, "description", f"tools[{i}].function.", "a string")
            _optional(function, "parameters", f"tools[{i}].function.", "an object")


def _choice(value: Any, path: str) -> None:
    """``tool_choice``/``function_call``: a string, or an object naming a function."""
    if isinstance(value, str):
        return
    choice = _object(value, path)
    if "function" in choice:
        _object(choice["function"], f"{path}.function")
        _optional(choice["function"], "name", f"{path}.function.", "a string")
    else:
        _optional(choice, "name", f"{path}.", "a string")


def _fields(body: dict[str, Any]) -> None:
    for i, message in enumerate(body["messages"]):
        _message(message, f"messages[{i}]")
    for keys, kind in (
        (_NUMBERS, "a number"),
        (_INTEGERS, "an integer"),
        (_BOOLEANS, "a boolean"),
        (_STRINGS, "a string"),
        (_OBJECTS, "an object"),
    ):
        for key in keys:
            _optional(body, key, "", kind)
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise _Bad("stop", "a string or an array of strings")
    if body.get("stream_options") is not None:
        _optional(
            _object(body["stream_options"], "stream_options"),
            "include_usage",
            "stream_options.",
            "a boolean",
        )
    if body.get("tools") is not None:
        _tools(body)
    if body.get("functions") is not None:
        for i, function in enumerate(_list(body["functions"], "functions")):
            _function(function, f"functions[{i}]")
    for key in ("tool_choice", "function_call"):
        if body.get(key) is not None:
            _choice(body[key], key)
    if body.get("response_format") is not None:
        response_format = _object(body["response_format"], "response_format")
        if not isinstance(response_format.get("type"), str):
            raise _Bad("response_format.type", "a string")
        _optional(response_format, "json_schema", "response_format.", "an object")


def check_chat_request(body: Any) -> dict[str, Any]:
    """``body`` as a chat-completion request, or ``InvalidInput`` naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("invalid request body: expected a JSON object")
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str) or not model.strip():
        raise InvalidInput("model is required", field="model")
    if not isinstance(messages, list) or not messages:
        raise InvalidInput(
            "messages must be a non-empty array of message objects", field="messages"
        )
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n < 1:
        raise InvalidInput("n must be at least 1", field="n")
    try:
        _fields(body)
    except _Bad as exc:
        raise InvalidInput(f"invalid request body: {exc}", field=exc.path) from None
    return body
