"""Request-scoped dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from maia.api.auth import principal_of
from maia.api.middleware import decode_path_param
from maia.models import Page
from maia.service import Maia

# Dependencies that do no I/O are coroutines: FastAPI runs a plain function in a worker
# thread, a hop of its own before the endpoint's.


async def get_maia(request: Request) -> Maia:
    """The façade as the caller: their tenant, their namespaces, their name in the audit."""
    maia: Maia = request.app.state.maia
    return maia.for_principal(principal_of(request))


def _as_int(value: str | None) -> int | None:
    """Lenient query integers: the contract treats non-numeric values as absent."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


async def page_params(
    limit: Annotated[str | None, Query(description="Page size: <= 0 means 100, max 1000")] = None,
    offset: Annotated[str | None, Query(description="Items to skip (>= 0)")] = None,
) -> Page:
    return Page.clamp(_as_int(limit), _as_int(offset))


def path_name(value: str) -> str:
    """A namespace path parameter, with percent-encoded slashes restored."""
    return decode_path_param(value)


MaiaDep = Annotated[Maia, Depends(get_maia)]
PageDep = Annotated[Page, Depends(page_params)]
