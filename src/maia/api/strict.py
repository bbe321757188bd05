"""Request bodies parsed as JSON proper: Python's parser also takes ``NaN``,
``Infinity`` and ``-Infinity``, which are not JSON, and which a number field would
then store as ``null`` or refuse with a misleading message."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            text = (await self.body()).decode("utf-8")
            self._json = json.loads(text, parse_constant=lambda name: _not_json(name, text))
        return self._json


def _not_json(name: str, text: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not a JSON value", text, text.find(name))


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


def api_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes read their bodies as JSON proper."""
    return APIRouter(route_class=StrictJSONRoute, **options)
