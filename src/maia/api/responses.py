"""JSON responses with the contract's content type, serialised by pydantic (fast path)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


def json_response(
    body: BaseModel | Mapping[str, Any] | list[Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if isinstance(body, BaseModel):
        content = body.model_dump_json().encode()
    else:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status_code, headers=headers, media_type=JSON_MEDIA_TYPE)
