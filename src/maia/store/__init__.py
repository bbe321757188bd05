"""Storage backends behind one protocol (``Store``)."""

from maia.store.base import Store, StoreReader, StoreWriter, TextHit

__all__ = ["Store", "StoreReader", "StoreWriter", "TextHit"]
