"""Text and JSON shapes shared by the tools, resources and prompts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError


def preview(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters (ending in ``...`` when cut)."""
    return cut(" ".join(text.split()), limit)


def cut(text: str, limit: int) -> str:
    """``text`` as it is, or its first ``limit - 3`` characters and ``...``."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def second_precision(value: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``, the resources' timestamp format."""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    return utc.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return second_precision(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def resource_json(data: Any) -> str:
    """Pretty-printed JSON with second-precision timestamps (models dumped as the wire
    shape, so fields the contract omits when empty stay omitted)."""
    if isinstance(data, BaseModel):
        data = data.model_dump()
    elif isinstance(data, list):
        data = [item.model_dump() if isinstance(item, BaseModel) else item for item in data]
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def describe_validation(exc: ValidationError) -> str:
    """One line naming each bad field and its rule, as the REST errors do."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err.get("loc", ()))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append(f"invalid {field}: {message}" if field else message)
    return "; ".join(problems) or "invalid input"
