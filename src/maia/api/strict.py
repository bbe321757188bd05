"""Request bodies parsed as JSON proper: Python's parser also takes ``NaN``,
``Infinity`` and ``-Infinity``, which are not JSON, and which a number field would
then store as ``null`` or refuse with a misleading message."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()  # bytes: the parser finds UTF-8 (with a BOM) or -16
            self._json = json.loads(body, parse_constant=_not_json, parse_float=_finite)
        return self._json


def _not_json(name: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _finite(text: str) -> float:
    """A number too large for a float (``1e400``) would be read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise json.JSONDecodeError(f"{text} is out of range", text, 0)
    return value


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


def api_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes read their bodies as JSON proper."""
    return APIRouter(route_class=StrictJSONRoute, **options)
