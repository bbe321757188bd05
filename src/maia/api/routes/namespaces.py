"""``/v1/namespaces``: CRUD by id or name, the memories of a namespace, children."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from maia.api.auth import requires
from maia.api.deps import MaiaDep, PageDep, path_name
from maia.api.responses import json_response
from maia.api.strict import api_router
from maia.models import (
    ListResponse,
    Memory,
    MemoryFilter,
    Namespace,
    NamespaceConfig,
    NamespaceCreate,
    NamespaceUpdate,
    Scope,
)

router = api_router(prefix="/v1/namespaces", tags=["namespaces"])

# Names may contain "/" (``acme/team/alice``): clients percent-encode it; the routes
# below use path parameters so raw slashes work too where unambiguous. The
# sub-resource routes come first so that ``{ns}/memories`` is not read as a name.


@router.post(
    "",
    status_code=201,
    response_model=Namespace,
    summary="Create a namespace",
    dependencies=[requires(Scope.WRITE)],
)
def create_namespace(maia: MaiaDep, body: NamespaceCreate) -> Response:
    return json_response(maia.create_namespace(body), status_code=201)


@router.get(
    "",
    response_model=ListResponse[Namespace],
    summary="List namespaces, oldest first",
    dependencies=[requires(Scope.READ)],
)
def list_namespaces(
    maia: MaiaDep,
    page: PageDep,
    prefix: Annotated[str | None, Query(description="Only names starting with this")] = None,
) -> Response:
    namespaces = maia.list_namespaces(page, prefix=prefix or None)
    return json_response(ListResponse.page(namespaces, offset=page.offset, limit=page.limit))


@router.get(
    "/{ns:path}/memories",
    response_model=ListResponse[Memory],
    summary="List a namespace's memories, oldest first",
    dependencies=[requires(Scope.READ, Scope.SEARCH)],
)
def namespace_memories(maia: MaiaDep, ns: str, page: PageDep) -> Response:
    namespace = maia.get_namespace(path_name(ns))
    memories = maia.list_memories(MemoryFilter(namespace=namespace.name), page)
    return json_response(ListResponse.page(memories, offset=page.offset, limit=page.limit))


@router.get(
    "/{ns:path}/children",
    response_model=ListResponse[Namespace],
    summary="Direct child namespaces",
    dependencies=[requires(Scope.READ)],
)
def namespace_children(maia: MaiaDep, ns: str, page: PageDep) -> Response:
    children = maia.namespace_children(path_name(ns))[page.offset : page.offset + page.limit]
    return json_response(ListResponse.page(children, offset=page.offset, limit=page.limit))


@router.get(
    "/{ns:path}/effective-config",
    response_model=NamespaceConfig,
    summary="The config in force, with inherited fields filled from ancestors",
    dependencies=[requires(Scope.READ)],
)
def effective_config(maia: MaiaDep, ns: str) -> Response:
    namespace = maia.get_namespace(path_name(ns))
    return json_response(maia.effective_config(namespace.name, granted_only=True))


@router.get(
    "/{ns:path}",
    response_model=Namespace,
    summary="Get a namespace by id or name",
    dependencies=[requires(Scope.READ)],
)
def get_namespace(maia: MaiaDep, ns: str) -> Response:
    return json_response(maia.get_namespace(path_name(ns)))


@router.put(
    "/{ns:path}",
    response_model=Namespace,
    summary="Replace a namespace's config",
    dependencies=[requires(Scope.WRITE)],
)
def update_namespace(maia: MaiaDep, ns: str, body: NamespaceUpdate) -> Response:
    return json_response(maia.update_namespace(path_name(ns), body))


@router.delete(
    "/{ns:path}",
    summary="Delete a namespace record (its memories stay)",
    dependencies=[requires(Scope.DELETE)],
)
def delete_namespace(maia: MaiaDep, ns: str) -> Response:
    maia.delete_namespace(path_name(ns))
    return json_response({"deleted": True})
