"""``POST /v1/context``: memories packed into a token budget, ready for a prompt."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep
from maia.api.responses import json_response
from maia.models import ContextRequest, ContextResponse, Scope

router = APIRouter(tags=["context"])


@router.post(
    "/v1/context",
    response_model=ContextResponse,
    summary="Assemble the memories relevant to a query within a token budget",
    dependencies=[requires(Scope.CONTEXT, Scope.READ)],
)
def assemble_context(maia: MaiaDep, body: ContextRequest) -> Response:
    return json_response(maia.assemble_context(body))
