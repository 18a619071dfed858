"""Stores: where the usage graph and published runs live (embedded workspace or Neo4j)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from .base import Store
from .local import LocalStore

STORES = ("local", "neo4j")


def open_store(kind: str | None, workspace: Path) -> Store:
    """The store a command works on: ``--store``, else Neo4j when $NEO4J_URI is set, else the workspace."""
    kind = kind or ("neo4j" if os.environ.get("NEO4J_URI") else "local")
    if kind == "local":
        return LocalStore(workspace)
    if kind == "neo4j":
        from .neo4j import Neo4jStore
        from .server import connection_settings

        return Neo4jStore(connection_settings())
    raise ConfigError(f"unknown store '{kind}' (choose from {', '.join(STORES)})")


__all__ = ["Store", "LocalStore", "open_store", "STORES"]
