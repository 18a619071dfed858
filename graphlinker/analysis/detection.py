"""Community detection on the weighted account projection, behind one signature.

Engines (all seeded, deterministic for the same input):

- ``louvain`` (default): igraph's C implementation of the multilevel
  algorithm of Blondel et al. (2008), "Fast unfolding of communities in large
  networks", J. Stat. Mech. P10008 — the same method as python-louvain, much faster.
- ``louvain-reference``: python-louvain's ``best_partition``, the reference.
- ``leiden``: Traag, Waltman & van Eck (2019), "From Louvain to Leiden:
  guaranteeing well-connected communities", Sci. Rep. 9, 5233, via leidenalg.
- ``gds``: Louvain (or Leiden) inside Neo4j, by its Graph Data Science library, on the run's
  links (:mod:`graphlinker.analysis.gds_communities`); needs the Neo4j store (``store``) with GDS.
  Deterministic on one thread (``[detection] gds_concurrency``; the automatic choice on 2 cores).

``louvain-reference`` and ``leiden`` need optional extras (``pip install 'graphlinker[louvain-reference]'`` /
``'graphlinker[leiden]'``; leidenalg is GPL-3); selecting one without its package is a
one-line :class:`~graphlinker.errors.ConfigError` naming the extra (:func:`require_engine`).

Every engine returns a frame ``account_id, community`` covering every account
that has at least one link; communities are numbered by decreasing size, then
by smallest member, so the numbering does not depend on the engine's labels.
"""

from __future__ import annotations

import importlib
import random
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from graphlinker.analysis.choices import ENGINES
from graphlinker.errors import ConfigError

# Engines whose packages are optional extras: engine -> (the extra, (module, the distribution providing it) ...).
OPTIONAL_ENGINES = {
    "louvain-reference": ("louvain-reference", (("networkx", "networkx"), ("community", "python-louvain"))),  # community needs networkx
    "leiden": ("leiden", (("leidenalg", "leidenalg"),)),
}


def require_engine(engine: str) -> None:
    """ConfigError (exit 2, one line) if ``engine`` needs a package that cannot be imported, naming the extra to install."""
    if engine not in OPTIONAL_ENGINES:
        return
    extra, modules = OPTIONAL_ENGINES[engine]
    for module, distribution in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            if isinstance(exc, ModuleNotFoundError) and exc.name == module:
                state = "is not installed"
            else:  # installed but broken (a missing shared library, say): still one line
                state = f"cannot be imported ({(str(exc).splitlines() or [type(exc).__name__])[0]})"
            raise ConfigError(
                f"detection engine '{engine}' needs the package {distribution}, which {state}: pip install 'graphlinker[{extra}]'"
            ) from None


def detect_communities(
    edges: pd.DataFrame, engine: str = "louvain", seed: int = 42, resolution: float = 1.0, weight: str = "weight",
    store: Any = None, gds_algorithm: str = "louvain", gds_concurrency: int = 0,
) -> pd.DataFrame:
    """Partition the accounts of ``edges`` (``account_a, account_b, weight``) into communities.

    ``store``, ``gds_algorithm`` and ``gds_concurrency`` (0 = chosen for the server) are only used by
    ``engine="gds"``, which runs in the Neo4j server behind ``store``.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown detection engine '{engine}' (choose from {', '.join(ENGINES)})")
    require_engine(engine)
    if engine == "gds":
        from graphlinker.analysis import gds_communities

        gds_communities.algorithm_config(gds_algorithm, seed, resolution, gds_concurrency)  # settings it cannot honour
        driver, database = gds_communities.gds_of(store)  # the store and its server are checked even with no links
    if edges.empty:
        return pd.DataFrame({"account_id": pd.Series(dtype="string"), "community": pd.Series(dtype="int64")})
    nodes = pd.Index(np.sort(pd.unique(edges[["account_a", "account_b"]].to_numpy(dtype=str).ravel())))
    src = nodes.get_indexer(edges["account_a"].astype(str))
    dst = nodes.get_indexer(edges["account_b"].astype(str))
    weights = edges[weight].to_numpy("float64")
    labels: list[int] | np.ndarray
    if engine == "louvain-reference":
        labels = _python_louvain(len(nodes), src, dst, weights, seed, resolution)
    elif engine == "gds":
        labels = gds_communities.detect_in_neo4j(driver, database, src, dst, weights, seed, resolution, gds_concurrency,
                                                 gds_algorithm)
    else:
        # an (m, 2) array, not a list of pairs: building m Python lists took 4x as long and could set off a full
        # garbage collection of a large heap (0.32 s against 0.09 s for 300k edges; bench/bench_community.py)
        graph = ig.Graph(n=len(nodes), edges=np.column_stack([src, dst]), directed=False)
        graph.es["weight"] = weights
        labels = _leiden(graph, seed, resolution) if engine == "leiden" else _igraph_louvain(graph, seed, resolution)
    return canonical(nodes, np.asarray(labels))


def _igraph_louvain(graph: ig.Graph, seed: int, resolution: float) -> list[int]:
    random.seed(seed)  # igraph draws from Python's random module
    ig.set_random_number_generator(random)
    return graph.community_multilevel(weights="weight", resolution=resolution).membership


def _leiden(graph: ig.Graph, seed: int, resolution: float) -> list[int]:
    import leidenalg

    partition = leidenalg.find_partition(
        graph,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=resolution,
        seed=seed,
        n_iterations=-1,
    )
    return partition.membership


def _python_louvain(n: int, src, dst, weights, seed: int, resolution: float) -> list[int]:
    import community as community_louvain
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), weights.tolist(), strict=True))
    partition = community_louvain.best_partition(graph, weight="weight", random_state=seed, resolution=resolution)
    return [partition[i] for i in range(n)]


def canonical(nodes: pd.Index, labels: np.ndarray) -> pd.DataFrame:
    """Renumber communities by decreasing size, ties by smallest member id."""
    frame = pd.DataFrame({"account_id": nodes.astype(str), "label": labels})
    order = frame.groupby("label")["account_id"].agg(["size", "min"]).sort_values(["size", "min"], ascending=[False, True])
    renumber = pd.Series(np.arange(len(order)), index=order.index)
    frame["community"] = frame["label"].map(renumber).astype("int64")
    frame["account_id"] = frame["account_id"].astype("string")
    return frame[["account_id", "community"]].sort_values(["community", "account_id"], ignore_index=True)


def clusters_of_two_or_more(communities: pd.DataFrame) -> pd.DataFrame:
    """``account_id, cluster`` of the communities with at least two accounts (a lone account is not a ring)."""
    size = communities.groupby("community")["account_id"].transform("size")
    return communities[size >= 2].rename(columns={"community": "cluster"}).reset_index(drop=True)
