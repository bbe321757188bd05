"""The service layer: the ``Maia`` façade, split by concern into mixins."""

from maia.service.base import DEFAULT_TENANT
from maia.service.maia import Maia

__all__ = ["DEFAULT_TENANT", "Maia"]
