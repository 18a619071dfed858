"""Every environment variable graphlinker reads, in one place, with what it means.

Settings that tune detection live in TOML (:mod:`graphlinker.settings`); the environment
says *where* things are (workspace, Neo4j, caches, Java) — what a cron job, a systemd unit
or a Kubernetes pod sets. Reading them through :func:`value` keeps that list honest:
``graphlinker config show`` prints it, with secrets masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str | None = None  # what is used when it is unset (None: nothing)
    secret: bool = False


VARIABLES = (
    Variable("GRAPHLINKER_CONFIG", "TOML file overriding the default settings (as --config)"),
    Variable("GRAPHLINKER_WORKSPACE", "workspace directory of the embedded store (as --workspace)", ".graphlinker"),
    Variable("GRAPHLINKER_STORE", "store to use: local or neo4j (as --store)", "neo4j when NEO4J_URI is set, else local"),
    Variable("NEO4J_URI", "Bolt URI of the Neo4j store (setting it makes neo4j the default store)"),
    Variable("NEO4J_USER", "Neo4j user", "neo4j"),
    Variable("NEO4J_PASSWORD", "Neo4j password", secret=True),
    Variable("NEO4J_DATABASE", "Neo4j database", "neo4j"),
    Variable("GRAPHLINKER_LOCK_TTL", "seconds a crashed writer's Neo4j lock lives (at least 3)", "60"),
    Variable("GRAPHLINKER_NEO4J_MIRROR", "directory of the local columnar copies of Neo4j usage graphs, or 'off'",
             "$GRAPHLINKER_CACHE/neo4j-mirror"),
    Variable("GRAPHLINKER_QUERIES", "directory of the analyst Cypher pack", "the packaged pack"),
    Variable("GRAPHLINKER_CACHE", "cache of downloaded Neo4j jars", "$XDG_CACHE_HOME/graphlinker (~/.cache/graphlinker)"),
    Variable("XDG_CACHE_HOME", "base of the jar cache (when GRAPHLINKER_CACHE is unset)", "~/.cache"),
    Variable("GRAPHLINKER_NEO4J_HOME", "home of the managed Neo4j server",
             "$XDG_DATA_HOME/graphlinker/neo4j (~/.local/share/graphlinker/neo4j)"),
    Variable("XDG_DATA_HOME", "base of the managed server's home (when GRAPHLINKER_NEO4J_HOME is unset)", "~/.local/share"),
    Variable("GRAPHLINKER_NEO4J_POM", "Maven pom listing the Neo4j jars to fetch", "the packaged pom"),
    Variable("GRAPHLINKER_JAVA", "java executable for the managed server", "$JAVA_HOME/bin/java, else java on PATH"),
    Variable("JAVA_HOME", "Java installation (when GRAPHLINKER_JAVA is unset)"),
    Variable("GRAPHLINKER_MAVEN_ARGS", "extra arguments for Maven when fetching the jars"),
    Variable("SPARK_MASTER", "Spark master for --engine spark (as --master)", "local[*]"),
    Variable("GRAPHLINKER_SPARK_DRIVER_MEMORY", "Spark driver memory for --engine spark", "4g"),
    Variable("PYSPARK_PYTHON", "Python of Spark's workers (set for them when unset)", "this interpreter"),
    Variable("SPARK_LOCAL_IP", "address a local Spark session binds (set for it when unset)", "127.0.0.1"),
)
_BY_NAME = {v.name: v for v in VARIABLES}


def value(name: str) -> str | None:
    """The variable's value, or None when unset or empty (an empty value means unset, as in most shells' use)."""
    if name not in _BY_NAME:
        raise KeyError(f"{name} is not a graphlinker environment variable; add it to environment.VARIABLES")
    return os.environ.get(name) or None


def set_default(name: str, default: str) -> str:
    """Set a registered variable for this process and its children when it is unset; its value (e.g. the
    Python Spark's workers run, which must be this one)."""
    current = value(name)
    if current is None:
        os.environ[name] = current = default
    return current


def describe() -> list[dict]:
    """Every variable with its current value (secrets masked), for ``graphlinker config show``."""
    rows = []
    for variable in VARIABLES:
        current = value(variable.name)
        if current is not None and variable.secret:
            current = "***"
        rows.append({"name": variable.name, "value": current, "default": variable.default, "meaning": variable.meaning})
    return rows
