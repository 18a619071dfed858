"""Community detection inside Neo4j with the Graph Data Science library: ``[detection] engine = "gds"``.

Why: with ``--store neo4j`` the system of record can partition the run's links itself, with the
algorithms analysts already run there, instead of in this process. The partition then goes through the
same fragment merging, scoring and publishing as every engine's (``pipeline.analyse``), so the
memberships are written to the database with the run (``MEMBER_OF``, in ``Neo4jStore.publish_run``),
never as a property that would change before the run is published.

How (GDS 2.x, verified with 2.13.9 on Neo4j 5.26):

1. Projection. The run's links (the edge table every engine gets) are sent as three parameter lists —
   integer ends and weights — and fed to the Cypher-aggregation projection
   ``gds.graph.project(name, source, target, {relationshipProperties}, {undirectedRelationshipTypes})``, which
   accepts integer node ids: no temporary node or relationship is written, and the links need not be
   published first (GDS manual, "Projecting graphs using Cypher"). The projection is undirected and weighted.
   Each projection has a unique name, so concurrent runs do not clash, and is always dropped.
2. Algorithm, ``[detection] gds_algorithm``. ``louvain`` (the default; Blondel et al. 2008, the embedded
   engine's method): GDS's Louvain has no random seed (``seedProperty`` is a starting partition) and visits
   nodes in their projected order, so the nodes are numbered by a permutation drawn from ``[detection] seed``
   (:func:`seeded_order`) and the rows sorted: the same links and seed give the same partition, another seed
   another valid one, as igraph's shuffled visiting order does. It has no resolution parameter, so it needs
   ``resolution = 1``. ``leiden`` (Traag, Waltman & van Eck 2019, Sci. Rep. 9, 5233) also takes
   ``randomSeed = seed`` and ``gamma = resolution``. Louvain is the default because it agrees more closely
   with the embedded engine (``bench/bench_community.py --gds``; README, "Performance and scale").
3. Concurrency, ``[detection] gds_concurrency``; 0 chooses from the server's CPUs (``gds.debug.sysInfo``):
   half of them, at least 1 and at most 4 (GDS Community's limit). On the 2-core machine that is 1 thread,
   where 2 threads took 1.3-1.8x (Leiden) and 4-20x (Louvain) as long and made the partition depend on thread
   timing (the same input twice agreed to NMI 0.997-0.999); with 1 thread the same links and seed always give
   the same partition.

A server without GDS, or the embedded store, is a one-line :class:`~graphlinker.errors.ConfigError` (exit 2);
a server that goes away mid-call is the driver's error, which the CLI reports as the store being unavailable (5).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from graphlinker.analysis.choices import GDS_ALGORITHMS as ALGORITHMS
from graphlinker.errors import ConfigError

MAX_AUTO_CONCURRENCY = 4  # GDS Community refuses more
# What the engine calls: one aggregation function and three procedures.
NEEDED_PROCEDURES = ("gds.leiden.stream", "gds.louvain.stream", "gds.graph.drop")
NEEDED_FUNCTIONS = ("gds.graph.project",)

_MISSING = ("detection engine 'gds' needs the Graph Data Science library, but Neo4j at {where} {what}; restart a server "
            "of `graphlinker neo4j start` to get it (elsewhere install GDS 2.x with dbms.security.procedures.unrestricted=gds.*), "
            "or choose another [detection] engine")
_PROJECT = """
UNWIND range(0, size($src) - 1) AS i
WITH gds.graph.project($name, $src[i], $dst[i], {relationshipProperties: {weight: $weight[i]}},
                       {undirectedRelationshipTypes: ['*']}) AS graph
RETURN graph.nodeCount AS nodes, graph.relationshipCount AS relationships
"""
_STREAM = {
    "leiden": "CALL gds.leiden.stream($name, $config) YIELD nodeId, communityId RETURN nodeId, communityId",
    "louvain": "CALL gds.louvain.stream($name, $config) YIELD nodeId, communityId RETURN nodeId, communityId",
}
_DROP = "CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName"
_CPUS = "CALL gds.debug.sysInfo() YIELD key, value WITH key, value WHERE key = 'availableCPUs' RETURN value"


def neo4j_of(store: Any) -> tuple[Any, str | None, str]:
    """The driver, database and (password-free) URI of ``store``; ConfigError unless it is a Neo4j store."""
    driver = getattr(store, "driver", None)
    if driver is None:
        raise ConfigError("detection engine 'gds' runs inside Neo4j: use --store neo4j (or set NEO4J_URI), "
                          "or choose another [detection] engine")
    from graphlinker.store.failures import redact

    return driver, getattr(store, "database", None), redact(str(getattr(store, "uri", "Neo4j")))


def require_gds(driver: Any, database: str | None, where: str = "this address") -> None:
    """ConfigError (exit 2, one line) unless the server offers every GDS procedure the engine calls."""
    with driver.session(database=database) as session:
        procedures = set(session.run("SHOW PROCEDURES YIELD name WHERE name IN $names RETURN name",
                                     names=list(NEEDED_PROCEDURES)).value())
        functions = set(session.run("SHOW FUNCTIONS YIELD name WHERE name IN $names RETURN name",
                                    names=list(NEEDED_FUNCTIONS)).value())
    missing = sorted(set(NEEDED_PROCEDURES) - procedures) + sorted(set(NEEDED_FUNCTIONS) - functions)
    if missing:
        what = "has no GDS procedures" if len(missing) == len(NEEDED_PROCEDURES) + len(NEEDED_FUNCTIONS) \
            else f"lacks {', '.join(missing)}"
        raise ConfigError(_MISSING.format(where=where, what=what))


def auto_concurrency(cpus: int) -> int:
    """Threads for GDS on a server with ``cpus`` CPUs: half of them, at least 1, at most 4 (see the module doc)."""
    return max(1, min(MAX_AUTO_CONCURRENCY, cpus // 2))


def server_concurrency(driver: Any, database: str | None) -> int:
    """:func:`auto_concurrency` of the server's available CPUs (1 if the server does not say)."""
    from neo4j.exceptions import ClientError

    try:
        with driver.session(database=database) as session:
            cpus = session.run(_CPUS).single()
    except ClientError:  # gds.debug.sysInfo is absent (a GDS build without proc-sysinfo)
        return 1
    return auto_concurrency(int(cpus[0])) if cpus is not None else 1


def gds_labels(driver: Any, database: str | None, src: np.ndarray, dst: np.ndarray, weights: np.ndarray,
               seed: int, resolution: float, concurrency: int, algorithm: str = "louvain") -> np.ndarray:
    """Community label per node ``0..n-1`` of the undirected weighted graph ``src``–``dst``, computed by GDS.

    Projects the edges under a unique name, streams the algorithm's communities back and always drops the
    projection (``gds.graph.drop(name, false)``), also when the projection or the algorithm failed.
    """
    config = algorithm_config(algorithm, seed, resolution, concurrency)
    order = seeded_order(int(max(src.max(), dst.max())) + 1, seed)
    name = f"graphlinker-{uuid.uuid4().hex}"
    try:
        n = project(driver, database, name, order[src], order[dst], weights)
        labels = stream(driver, database, name, n, algorithm, config)
    except BaseException:
        _drop_quietly(driver, database, name)  # the first error is the one to report
        raise
    drop(driver, database, name)
    by_node: np.ndarray = labels[order]  # back from the projected ids to the caller's
    return by_node


def seeded_order(n: int, seed: int) -> np.ndarray:
    """The id under which each node ``0..n-1`` is projected: a permutation drawn from ``seed``.

    GDS visits nodes in their projected order, and its Louvain has no random seed of its own; numbering
    the nodes in a seeded random order seeds it the way igraph's multilevel is seeded (it shuffles the
    visiting order with its generator), and Leiden gets ``randomSeed`` besides.
    """
    return np.random.default_rng(seed).permutation(n).astype(np.int64)


def algorithm_config(algorithm: str, seed: int, resolution: float, concurrency: int) -> dict[str, Any]:
    """The GDS configuration map of ``algorithm`` for these settings (ConfigError for what it cannot honour)."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"unknown GDS algorithm '{algorithm}' (choose from {', '.join(ALGORITHMS)})")
    config: dict[str, Any] = {"relationshipWeightProperty": "weight", "concurrency": int(concurrency)}
    if algorithm == "leiden":
        config.update(randomSeed=int(seed), gamma=float(resolution))
    elif resolution != 1.0:
        raise ConfigError(f"GDS Louvain has no resolution parameter: [detection] resolution must be 1 (got {resolution:g}) "
                          f"with gds_algorithm = \"louvain\"; set gds_algorithm = \"leiden\" for another resolution")
    return config


def project(driver: Any, database: str | None, name: str, src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> int:
    """Project the undirected weighted graph ``src``–``dst`` as ``name``; returns its node count.

    Rows are sorted first: the projection numbers nodes in the order rows arrive, so sorting makes the
    algorithm's input, and its result, depend on the set of edges (and the ids given to the nodes) only.
    """
    order = np.lexsort((dst, src))
    with driver.session(database=database) as session:
        record = session.run(_PROJECT, name=name, src=src[order].tolist(), dst=dst[order].tolist(),
                             weight=np.asarray(weights, dtype="float64")[order].tolist()).single()
    return int(record["nodes"]) if record is not None else 0


def stream(driver: Any, database: str | None, name: str, n: int, algorithm: str, config: dict[str, Any]) -> np.ndarray:
    """Run ``algorithm`` on the projection ``name`` of nodes ``0..n-1``; the community label of each node."""
    with driver.session(database=database) as session:
        rows = session.run(_STREAM[algorithm], name=name, config=config).values()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if len(ids) != n or not np.array_equal(np.sort(ids), np.arange(n)):
        raise RuntimeError(f"GDS returned {len(ids)} node ids for a projection of {n} nodes")  # a bug, not the user's
    labels = np.empty(n, dtype=np.int64)
    labels[ids] = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return labels


def drop(driver: Any, database: str | None, name: str) -> None:
    """Drop the projection ``name`` if it exists."""
    with driver.session(database=database) as session:
        session.run(_DROP, name=name).consume()


def _drop_quietly(driver: Any, database: str | None, name: str) -> None:
    try:
        drop(driver, database, name)
    except Exception:  # noqa: BLE001 - the server may be gone; the original error matters more
        pass


def gds_of(store: Any) -> tuple[Any, str | None]:
    """The driver and database of ``store`` once it is known to be Neo4j with GDS (else one-line ConfigError)."""
    driver, database, where = neo4j_of(store)
    require_gds(driver, database, where)
    return driver, database


def detect_in_neo4j(driver: Any, database: str | None, src: np.ndarray, dst: np.ndarray, weights: np.ndarray,
                    seed: int, resolution: float, concurrency: int = 0, algorithm: str = "louvain") -> np.ndarray:
    """:func:`gds_labels` with ``concurrency`` 0 meaning :func:`server_concurrency`."""
    threads = concurrency or server_concurrency(driver, database)
    return gds_labels(driver, database, src, dst, weights, seed, resolution, threads, algorithm)
