"""graphlinker: expose coordinated account rings behind model-distillation campaigns.

The path through the code is input → graph → clusters → report: ``ingest`` → ``store`` →
``analysis`` (linking, detection, scoring) → ``report``, ordered by ``pipeline`` and driven by
``cli``; the README's Layout section maps every module.

The public Python API (everything in ``__all__``; details in :mod:`graphlinker.api`)::

    import graphlinker as gl

    with gl.open_workspace("demo-workspace") as ws:    # or gl.open_neo4j(uri=..., user=..., password=...)
        ws.run("fixtures/demo")                         # or ws.refresh([...]): a RunResult
        ws.clusters()                                   # pandas DataFrames: clusters, members, links,
        ws.members("cl-…"); ws.links("cl-…")            # evidence, templates, runs (arrow=True: Arrow)
        ws.evidence("cl-…"); ws.templates(); ws.runs()
        ws.subgraph("cl-…")                             # one cluster as a networkx.Graph
        ws.report()                                     # the JSON report as a dict

- :class:`Workspace` — a store and its published runs; ``open_workspace(path)`` (embedded, a directory)
  and ``open_neo4j(uri, user, password, database)`` (connection from ``NEO4J_*`` or the managed server
  when not given) open one.
- :class:`RunResult` — what ``Workspace.run`` / ``Workspace.refresh`` published (report, diff, bad rows).
- :func:`load_settings` / :class:`Settings` — the settings a run uses (defaults overlaid by a TOML file).
- Errors are the CLI's: :class:`GraphlinkerError` and its subclasses, each with an ``exit_code``
  (:class:`ExitCode`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> module; imported on first use, so `import graphlinker` (and the CLI) stays light and cycle-free
_PUBLIC = {
    "Workspace": "graphlinker.api",
    "RunResult": "graphlinker.api",
    "open_workspace": "graphlinker.api",
    "open_neo4j": "graphlinker.api",
    "load_settings": "graphlinker.api",
    "Settings": "graphlinker.settings",
    "ExitCode": "graphlinker.errors",
    "GraphlinkerError": "graphlinker.errors",
    "InputError": "graphlinker.errors",
    "ConfigError": "graphlinker.errors",
    "StoreUnavailable": "graphlinker.errors",
    "NoRunYet": "graphlinker.errors",
    "LockHeld": "graphlinker.errors",
    "NothingNew": "graphlinker.errors",
}

__all__ = [
    "Workspace", "RunResult", "open_workspace", "open_neo4j", "load_settings", "Settings",
    "ExitCode", "GraphlinkerError", "InputError", "ConfigError", "StoreUnavailable", "NoRunYet", "LockHeld", "NothingNew",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load lazily (below)
    from graphlinker.api import RunResult, Workspace, load_settings, open_neo4j, open_workspace
    from graphlinker.errors import (
        ConfigError,
        ExitCode,
        GraphlinkerError,
        InputError,
        LockHeld,
        NoRunYet,
        NothingNew,
        StoreUnavailable,
    )
    from graphlinker.settings import Settings


def __getattr__(name: str) -> object:
    """The public names load on first use (PEP 562): ``import graphlinker`` itself imports nothing heavy."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'graphlinker' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the lazily loaded public ones included (so ``help(graphlinker)`` lists them)."""
    return sorted(set(globals()) | set(_PUBLIC))
