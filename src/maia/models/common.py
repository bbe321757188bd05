"""Shared value types, validators and wire helpers."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_NAMESPACE_LENGTH = 255
MAX_TAG_LENGTH = 128
MAX_TAGS = 64
# Larger offsets cannot be bound in SQL (64-bit); no page that far can hold anything.
MAX_OFFSET = 2**53 - 1

# Deeper JSON cannot be serialised back (pydantic stops near 255 levels): refused on
# the way in, so what is stored can always be read.
MAX_METADATA_DEPTH = 32
# JSON may spell lone surrogates ("\ud800"): such text can be neither stored nor sent.
UNPAIRED_SURROGATES = "text must be valid Unicode: unpaired surrogate characters are not allowed"

# Go's zero time: the contract sends it where a timestamp is required but unset.
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

INT64_MAX = 2**63 - 1  # what a store's integer (and a client's int64) holds


def has_lone_surrogate(data: object) -> bool:
    """Whether ``data`` (text, or JSON-like values holding text) has a lone surrogate
    (JSON can spell "\\ud800"): text that can be neither stored nor sent as UTF-8."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def within_int64(model: BaseModel | None) -> BaseModel | None:
    """``model`` if none of its integers is beyond what a 64-bit integer holds. Checked
    on input only: records stored before the check must still load."""
    if model is not None:
        for name, value in model:
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
                raise ValueError(f"{name} must be at most {INT64_MAX}")
    return model


def omit_empty(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Drops ``keys`` whose value is empty, zero, false or null: the wire contract's
    omitted-when-empty fields (Go's ``omitempty``)."""
    for key in keys:
        if not data.get(key):
            data.pop(key, None)
    return data


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00
        raise ValueError("is out of range once converted to UTC") from exc


def _has_control_chars(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _check_namespace_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if len(value) > MAX_NAMESPACE_LENGTH:
        raise ValueError(f"must be at most {MAX_NAMESPACE_LENGTH} characters")
    if _has_control_chars(value):
        raise ValueError("must not contain control characters")
    return value


def _check_tag(value: str) -> str:
    if not value.strip():
        raise ValueError("tags must not be empty strings")
    if len(value) > MAX_TAG_LENGTH:
        raise ValueError(f"tags must be at most {MAX_TAG_LENGTH} characters")
    if _has_control_chars(value):
        raise ValueError("tags must not contain control characters")
    return value


def _dedupe(values: list[str]) -> list[str]:
    if len(values) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags are allowed")
    return list(dict.fromkeys(values))


def _check_depth(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` unless its objects and arrays nest deeper than ``MAX_METADATA_DEPTH``
    (itself the first level). Iterative: a deep value must not exhaust the stack."""
    level: list[Any] = [value]
    for depth in range(1, MAX_METADATA_DEPTH + 2):
        nested: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nested.extend(item.values())
            elif isinstance(item, list):
                nested.extend(item)
        nested = [item for item in nested if isinstance(item, dict | list)]
        if not nested:
            return value
        if depth == MAX_METADATA_DEPTH:
            raise ValueError(f"must not nest deeper than {MAX_METADATA_DEPTH} levels")
        level = nested
    return value


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _local(value: datetime | None) -> datetime | None:
    """A reference time as the caller's clock shows it: its UTC offset is kept (the
    query's "yesterday" is the caller's), a naive one is taken as UTC. It must still be
    a time in UTC's range."""
    if value is None:
        return None
    as_utc(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Empty is a missing required field (min_length), blank a bad value (the validator).
NamespaceName = Annotated[str, Field(min_length=1), AfterValidator(_check_namespace_name)]
Tag = Annotated[str, AfterValidator(_check_tag)]
Tags = Annotated[list[Tag], AfterValidator(_dedupe)]
Metadata = Annotated[dict[str, Any], AfterValidator(_check_depth)]
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
OptionalUtcDatetime = Annotated[datetime | None, AfterValidator(_utc)]
OptionalLocalDatetime = Annotated[datetime | None, AfterValidator(_local)]

T = TypeVar("T")


class ListResponse(BaseModel, Generic[T]):
    """The contract's pagination envelope; ``count`` is the size of this page."""

    data: list[T]
    count: int
    offset: int
    limit: int

    @classmethod
    def page(cls, items: list[T], *, offset: int, limit: int) -> ListResponse[T]:
        return cls(data=items, count=len(items), offset=offset, limit=limit)


class Stats(BaseModel):
    total_memories: int
    total_namespaces: int
    storage_size_bytes: int
    last_compaction: datetime = ZERO_TIME


class Page(BaseModel):
    """Limit/offset as clamped by the service (the values echoed to clients)."""

    model_config = ConfigDict(frozen=True)

    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)

    @classmethod
    def clamp(cls, limit: int | None, offset: int | None, *, default: int = 100) -> Page:
        """The contract's rule: ``<= 0`` or missing means the default, ``> 1000`` means 1000."""
        effective = default if limit is None or limit <= 0 else min(limit, 1000)
        return cls(limit=effective, offset=min(max(offset or 0, 0), MAX_OFFSET))
