"""Typed relations between memories, and graph traversal."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.models import Edge, ListResponse, RelatedMemory, RelationCreate, RelationType, Scope

router = api_router(prefix="/v1/memories/{memory_id}", tags=["relations"])


@router.post(
    "/relations",
    status_code=201,
    response_model=Edge,
    summary="Relate two memories",
    dependencies=[requires(Scope.WRITE)],
)
def create_relation(maia: MaiaDep, memory_id: str, body: RelationCreate) -> Response:
    return json_response(maia.relate(memory_id, body), status_code=201)


@router.get(
    "/relations",
    response_model=ListResponse[Edge],
    summary="A memory's relations",
    dependencies=[requires(Scope.READ)],
)
def list_relations(
    maia: MaiaDep,
    memory_id: str,
    direction: Annotated[Literal["out", "in", "both"], Query()] = "both",
) -> Response:
    edges = maia.relations(memory_id, direction=direction)
    return json_response(ListResponse.page(edges, offset=0, limit=max(len(edges), 1)))


@router.delete(
    "/relations/{target_id}",
    summary="Delete relations to a target",
    dependencies=[requires(Scope.DELETE)],
)
def delete_relation(
    maia: MaiaDep,
    memory_id: str,
    target_id: str,
    type: Annotated[list[RelationType] | None, Query()] = None,
) -> Response:
    return json_response({"deleted": maia.unrelate(memory_id, target_id, type or ())})


@router.get(
    "/related",
    response_model=ListResponse[RelatedMemory],
    summary="Memories reachable through relations (breadth first)",
    dependencies=[requires(Scope.READ, Scope.SEARCH)],
)
def related(
    maia: MaiaDep,
    memory_id: str,
    depth: Annotated[int, Query(ge=1, le=5)] = 1,
    types: Annotated[list[RelationType] | None, Query()] = None,
    min_weight: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
) -> Response:
    found = maia.related(memory_id, depth=depth, types=types or (), min_weight=min_weight)
    return json_response(ListResponse.page(found, offset=0, limit=max(len(found), 1)))
