"""Embedders behind one protocol."""

from maia.retrieval.embed.base import Embedder, Vectors, normalise
from maia.retrieval.embed.hashing import HashingEmbedder

__all__ = ["Embedder", "HashingEmbedder", "Vectors", "normalise"]
