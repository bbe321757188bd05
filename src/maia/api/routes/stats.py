"""Instance statistics."""

from __future__ import annotations

from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.models import Scope, Stats

router = api_router(tags=["stats"])


@router.get(
    "/v1/stats",
    response_model=Stats,
    summary="Memory and namespace counts, storage size",
    dependencies=[requires(Scope.STATS, Scope.READ)],
)
def stats(maia: MaiaDep) -> Response:
    return json_response(maia.stats())
