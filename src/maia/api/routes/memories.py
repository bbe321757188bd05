"""``/v1/memories``: create, read, update, delete, search, batch, list, touch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep, PageDep
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.models import (
    ListResponse,
    Memory,
    MemoryCreate,
    MemoryFilter,
    MemoryType,
    MemoryUpdate,
    Scope,
    SearchRequest,
    SearchResult,
)
from maia.service.memories import MAX_BATCH

router = api_router(prefix="/v1/memories", tags=["memories"])


class BatchCreate(BaseModel):
    memories: list[MemoryCreate] = Field(min_length=1, max_length=MAX_BATCH)


class IdList(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


@router.post(
    "",
    status_code=201,
    response_model=Memory,
    summary="Create a memory",
    dependencies=[requires(Scope.WRITE)],
)
def create_memory(maia: MaiaDep, body: MemoryCreate) -> Response:
    return json_response(maia.create_memory(body), status_code=201)


@router.post(
    "/search",
    response_model=ListResponse[SearchResult],
    summary="Search memories (ranked by relevance to the query; filters only without one)",
    dependencies=[requires(Scope.SEARCH, Scope.READ)],
)
def search_memories(
    maia: MaiaDep, body: Annotated[SearchRequest | None, Body()] = None
) -> Response:
    results, page = maia.search(body or SearchRequest())
    return json_response(ListResponse.page(results, offset=page.offset, limit=page.limit))


@router.post(
    "/batch",
    status_code=201,
    response_model=ListResponse[Memory],
    summary="Create up to 1000 memories, all or none",
    dependencies=[requires(Scope.WRITE)],
)
def create_batch(maia: MaiaDep, body: BatchCreate) -> Response:
    created = maia.create_memories(body.memories)
    return json_response(ListResponse.page(created, offset=0, limit=len(created)), status_code=201)


@router.post(
    "/batch/delete",
    summary="Delete up to 1000 memories, all or none",
    dependencies=[requires(Scope.DELETE)],
)
def delete_batch(maia: MaiaDep, body: IdList) -> Response:
    return json_response({"deleted": maia.delete_memories(body.ids)})


@router.post(
    "/touch", summary="Count one access of each memory", dependencies=[requires(Scope.WRITE)]
)
def touch_memories(maia: MaiaDep, body: IdList) -> Response:
    return json_response({"touched": maia.touch(body.ids)})


@router.get(
    "",
    response_model=ListResponse[Memory],
    summary="List memories with filters",
    dependencies=[requires(Scope.READ, Scope.SEARCH)],
)
def list_memories(
    maia: MaiaDep,
    page: PageDep,
    namespace: Annotated[str | None, Query()] = None,
    include_descendants: Annotated[bool, Query()] = False,
    type: Annotated[list[MemoryType] | None, Query()] = None,
    tag: Annotated[list[str] | None, Query()] = None,
) -> Response:
    flt = MemoryFilter(
        namespace=namespace or None,
        include_descendants=include_descendants,
        types=tuple(type or ()),
        tags=tuple(tag or ()),
    )
    memories = maia.list_memories(flt, page)
    return json_response(ListResponse.page(memories, offset=page.offset, limit=page.limit))


@router.get(
    "/{memory_id}",
    response_model=Memory,
    summary="Get a memory (counts an access)",
    dependencies=[requires(Scope.READ, Scope.SEARCH)],
)
def get_memory(maia: MaiaDep, memory_id: str) -> Response:
    return json_response(maia.get_memory(memory_id, count_access=True))


@router.put(
    "/{memory_id}",
    response_model=Memory,
    summary="Update content, metadata, tags or confidence",
    dependencies=[requires(Scope.WRITE)],
)
def update_memory(maia: MaiaDep, memory_id: str, body: MemoryUpdate) -> Response:
    return json_response(maia.update_memory(memory_id, body))


@router.delete("/{memory_id}", summary="Delete a memory", dependencies=[requires(Scope.DELETE)])
def delete_memory(maia: MaiaDep, memory_id: str) -> Response:
    maia.forget(memory_id)
    return json_response({"deleted": True})
