"""The REST transport (FastAPI)."""

from maia.api.app import create_app

__all__ = ["create_app"]
