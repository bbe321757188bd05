"""pgvector's ``vector`` type as raw float32 bytes, in its binary wire format.

The store protocol moves embeddings as little-endian float32 bytes (``VectorRow``,
``StoredVector``); pgvector's binary format is a big-endian ``uint16`` dimension, a
``uint16`` zero, then big-endian float32 values. Converting with numpy keeps every bit,
so ``iter_vectors`` returns exactly the bytes ``put_vectors`` was given.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

MAX_DIM = 16_000  # pgvector's limit for the vector type
HNSW_MAX_DIM = 2_000  # pgvector's limit for an HNSW index on vector


class Embedding:
    """A vector parameter: little-endian float32 bytes (what the dumper sends)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def of(cls, values: npt.ArrayLike) -> Embedding:
        return cls(np.ascontiguousarray(values, dtype="<f4").tobytes())

    @property
    def dim(self) -> int:
        return len(self.data) // 4


class _BinaryDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Embedding) -> Buffer:
        dim = len(obj.data) // 4
        return struct.pack(">HH", dim, 0) + np.frombuffer(obj.data, "<f4").astype(">f4").tobytes()


class _BinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return np.frombuffer(bytes(data)[4:], ">f4").astype("<f4").tobytes()


class _TextLoader(Loader):
    format = Format.TEXT

    def load(self, data: Buffer) -> bytes:
        text = bytes(data).decode()[1:-1]
        values = text.split(",") if text else []
        return np.array(values, dtype="<f4").tobytes()


_dumpers: dict[int, type[Dumper]] = {}


def register(conn: psycopg.Connection[Any]) -> None:
    """Teaches ``conn`` to send ``Embedding`` and to read ``vector`` as float32 bytes."""
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise psycopg.ProgrammingError("the vector extension is not installed")
    dumper = _dumpers.get(info.oid)
    if dumper is None:
        dumper = type("VectorDumper", (_BinaryDumper,), {"oid": info.oid})
        _dumpers[info.oid] = dumper
    conn.adapters.register_dumper(Embedding, dumper)
    conn.adapters.register_loader(info.oid, _BinaryLoader)
    conn.adapters.register_loader(info.oid, _TextLoader)
