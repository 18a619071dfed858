"""Stores: where the usage graph and published runs live (embedded workspace or Neo4j)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from graphlinker.errors import ConfigError
from graphlinker.settings.environment import value

if TYPE_CHECKING:
    from graphlinker.store.base import Store
    from graphlinker.store.local import LocalStore

STORES = ("local", "neo4j")


def __getattr__(name: str):
    """``Store`` and ``LocalStore`` on first use: they bring pandas and Arrow, which a command that opens no
    store (``--help``, ``--version``, ``query list``, ``config show``) does not need (PEP 562)."""
    if name == "Store":
        from graphlinker.store.base import Store

        return Store
    if name == "LocalStore":
        from graphlinker.store.local import LocalStore

        return LocalStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def store_kind(kind: str | None) -> str:
    """``--store`` if given, else ``neo4j`` when $NEO4J_URI is set, else ``local`` (the workspace)."""
    return kind or ("neo4j" if value("NEO4J_URI") else "local")


def open_store(kind: str | None, workspace: Path, bulk: str | None = None) -> Store:
    """The store a command works on (:func:`store_kind`).

    ``bulk`` (Neo4j only): how a full run writes the managed server's graph — ``auto`` (the bulk
    importer when the database is empty and the graph large), ``on`` (always) or ``off`` (batched MERGE).
    """
    kind = store_kind(kind)
    if kind == "local":
        from graphlinker.store.local import LocalStore

        return LocalStore(workspace)
    if kind == "neo4j":
        from graphlinker.devserver.server import connection_settings, default_home
        from graphlinker.store.neo4j import Neo4jStore

        settings = connection_settings()
        if not value("NEO4J_URI"):  # the managed server: its home is known, so a bulk import may stop it
            settings["home"] = str(default_home())
        return Neo4jStore({**settings, "bulk": bulk})
    raise ConfigError(f"unknown store '{kind}' (choose from {', '.join(STORES)})")


__all__ = ["Store", "LocalStore", "open_store", "store_kind", "STORES"]
