"""Where the ingest stages run: ``[engine] name`` / ``--engine``.

``embedded`` (the default) reads, validates, fingerprints and aggregates in this process
(:func:`graphlinker.ingest.load.load_new`); ``spark`` runs the same stages as Spark jobs
(:func:`graphlinker.engine.spark.ingest.load_new_spark`) and hands the store the same tables.
Everything after ingest (linking, detection, scoring, publishing) is the same for both.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from graphlinker.errors import ConfigError
from graphlinker.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from graphlinker.ingest.load import LoadedBatch

ENGINES = ("embedded", "spark")


def with_engine(settings: Settings, engine: str | None = None, master: str | None = None) -> Settings:
    """``settings`` with an engine and Spark master chosen by the caller (``--engine``, ``--master``)."""
    if engine is not None and engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine is None and master is None:
        return settings
    chosen = {**settings.engine, **({"name": engine} if engine else {}), **({"master": master} if master else {})}
    if master and chosen["name"] != "spark":
        raise ConfigError("a Spark master applies to the spark engine only (--engine spark)")
    return replace(settings, engine=chosen)


def load_with_engine(inputs, store, settings, quarantine, progress, run_id: str) -> LoadedBatch:
    """The rows of ``inputs`` the store has not seen, merged into its staged graph by the configured engine."""
    if settings.engine.name == "spark":
        from graphlinker.engine.spark.ingest import load_new_spark

        return load_new_spark(inputs, store, settings, quarantine, progress, run_id)
    from graphlinker.ingest.load import load_new

    return load_new(inputs, store, settings, quarantine, progress, run_id)
