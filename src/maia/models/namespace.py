"""Namespaces: hierarchical names (``acme/team/alice``) with per-namespace config."""

from __future__ import annotations

import math
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from maia.models.common import (
    UNPAIRED_SURROGATES,
    NamespaceName,
    UtcDatetime,
    has_lone_surrogate,
    omit_empty,
    within_int64,
)
from maia.models.memory import MemoryType

SEPARATOR = "/"
# The retrieval signals a namespace's ``custom_scoring`` weights. Other names are kept
# (the original server stored any) but have no effect.
SCORING_SIGNALS = (
    "vector",
    "text",
    "recency",
    "frequency",
    "confidence",
    "graph",
    "entity",
    "time",
    "context",
)


def parent_name(name: str) -> str | None:
    """The hierarchical parent of ``a/b/c`` is ``a/b``; a top-level name has none."""
    head, sep, _ = name.rstrip(SEPARATOR).rpartition(SEPARATOR)
    return head if sep and head else None


class NamespaceConfig(BaseModel):
    """Per-namespace settings. Zero/empty means "not set" (and is omitted on the wire)."""

    model_config = ConfigDict(extra="ignore")

    token_budget: int = Field(0, ge=0)
    max_memories: int = Field(0, ge=0)
    retention_days: int = Field(0, ge=0)
    allowed_types: list[MemoryType] = Field(default_factory=list)
    inherit_from_parent: bool = False
    custom_scoring: dict[str, float] = Field(default_factory=dict)

    @field_validator("token_budget", "max_memories", "retention_days", mode="before")
    @classmethod
    def _null_is_zero(cls, value: Any) -> Any:
        return 0 if value is None else value

    @field_validator("allowed_types", "custom_scoring", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "custom_scoring" else []
        return value

    @field_validator("inherit_from_parent", mode="before")
    @classmethod
    def _null_is_false(cls, value: Any) -> Any:
        return False if value is None else value

    @field_validator("custom_scoring")
    @classmethod
    def _weights_finite(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if not key.strip():
                raise ValueError("weight names must not be empty")
            if has_lone_surrogate(key):  # (stored ones were replaced: never met when reading)
                raise ValueError(UNPAIRED_SURROGATES)
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight {key!r} must be a finite number >= 0")
        return value

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k == "inherit_from_parent" or v}

    def overlay(self, parent: NamespaceConfig) -> NamespaceConfig:
        """This config with every unset field taken from ``parent``."""
        return NamespaceConfig(
            token_budget=self.token_budget or parent.token_budget,
            max_memories=self.max_memories or parent.max_memories,
            retention_days=self.retention_days or parent.retention_days,
            allowed_types=self.allowed_types or parent.allowed_types,
            inherit_from_parent=self.inherit_from_parent,
            custom_scoring={**parent.custom_scoring, **self.custom_scoring},
        )


class Namespace(BaseModel):
    id: str
    name: str
    parent: str | None = None
    template: str | None = None
    config: NamespaceConfig = Field(default_factory=NamespaceConfig)
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_empty(handler(self), "parent", "template")

    def parent_name(self) -> str | None:
        """The explicit ``parent`` if set, else the hierarchical one from the name."""
        return self.parent or parent_name(self.name)


class NamespaceCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: NamespaceName
    parent: str | None = None
    template: str | None = None
    config: NamespaceConfig | None = None

    _within_int64 = field_validator("config")(within_int64)

    @field_validator("parent", "template")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None


class NamespaceUpdate(BaseModel):
    """``PUT /v1/namespaces/{id}``: the config is replaced wholesale."""

    model_config = ConfigDict(extra="ignore")

    config: NamespaceConfig = Field(default_factory=NamespaceConfig)

    _within_int64 = field_validator("config")(within_int64)

    @field_validator("config", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value
