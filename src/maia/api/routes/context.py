"""``POST /v1/context``: memories packed into a token budget, ready for a prompt."""

from __future__ import annotations

from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.models import ContextRequest, ContextResponse, Scope

router = api_router(tags=["context"])


@router.post(
    "/v1/context",
    response_model=ContextResponse,
    summary="Assemble the memories relevant to a query within a token budget",
    dependencies=[requires(Scope.CONTEXT, Scope.READ)],
)
def assemble_context(maia: MaiaDep, body: ContextRequest) -> Response:
    return json_response(maia.assemble_context(body))
