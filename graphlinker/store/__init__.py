"""Stores: where the usage graph and published runs live (embedded workspace or Neo4j)."""

from .base import Store
from .local import LocalStore

__all__ = ["Store", "LocalStore"]
