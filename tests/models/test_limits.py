"""Integers beyond 64 bits: refused on input, still readable where stored before."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from maia.models import (
    NamespaceConfig,
    NamespaceCreate,
    NamespaceUpdate,
    TenantCreate,
    TenantQuotas,
    TenantUpdate,
)

HUGE = 2**64


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (NamespaceCreate, {"name": "n", "config": {"token_budget": HUGE}}, "token_budget"),
        (NamespaceUpdate, {"config": {"max_memories": HUGE}}, "max_memories"),
        (TenantCreate, {"name": "t", "quotas": {"max_storage_bytes": HUGE}}, "max_storage_bytes"),
        (TenantUpdate, {"config": {"retention_days": HUGE}}, "retention_days"),
    ],
)
def test_input_beyond_64_bits_is_refused(model: type, body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field} must be at most {2**63 - 1}"):
        model.model_validate(body)


def test_records_stored_before_the_check_still_load() -> None:
    assert NamespaceConfig.model_validate({"max_memories": HUGE}).max_memories == HUGE
    assert TenantQuotas.model_validate({"max_memories": HUGE}).max_memories == HUGE
