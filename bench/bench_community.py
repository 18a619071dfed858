"""Benchmark: community detection engines on the same graphs: igraph multilevel, Leiden, NetworKit PLM.

Issue 13 asks whether the default engine is still the fastest measured option at equal quality.
Engines, all called from an ``account_a, account_b, weight`` frame and returning graphlinker's
canonical partition, so each time covers the same work (edge frame in, partition out):

* ``louvain``: ``graphlinker.analysis.detection.detect_communities(engine="louvain")`` (igraph's
  ``community_multilevel``, the shipped default); ``leiden``: the same function with ``engine="leiden"``
  (leidenalg, iterated until stable); ``louvain-reference`` (python-louvain) only with ``--engines``.
* ``plm-Nt`` / ``plmr-Nt``: ``networkit.community.PLM`` with refine off / on, on N threads (the CPUs this
  process may use, and 1), wrapped exactly like ``detect_communities`` (same node index, same numbering).
  NetworKit is not a graphlinker dependency: ``pip install networkit``. PLM's default schedule ignores the
  seed (``nk.setSeed`` is still called): on one thread every seed gives the same partition, on more the
  partition depends on thread timing.

* ``gds-louvain-Nt`` / ``gds-leiden-Nt`` (with ``--gds``): Louvain / Leiden inside Neo4j by its Graph Data
  Science library on N threads (``--gds-threads``, default 1 and the automatic choice), through
  :mod:`graphlinker.analysis.gds_communities` exactly as ``[detection] engine = "gds"`` runs them
  (``gds_algorithm``: louvain by default). The server is the one ``--store neo4j`` uses
  (``$NEO4J_URI`` …, else the managed ``graphlinker neo4j start`` server), with GDS installed. ``s`` includes
  sending the links and projecting them; ``algo s`` is the algorithm alone on the projected graph. Each engine's
  NMI against igraph at the same seed is printed too: the requirement is that GDS agrees with the embedded engine.

Graphs: every LFR graph in ``--lfr`` (NMI against the planted partition; the networkx-Louvain reference
NMI of the folder's ``reference_table.txt`` is printed beside it), and the weighted account projection of
simulated scenarios (``graphlinker simulate --seed 1 --scale S``, loaded into an embedded store by the real
pipeline, then ``link_accounts(store.usage(), settings).edges``). There, without a planted partition: the
modularity, the number of communities, the adjusted Rand index against igraph's partition for the same seed
(on the ``louvain`` row: between its own runs for different seeds, the seed-to-seed baseline) and the F1 of
the whole pipeline when its detection step uses the engine (``--no-f1`` skips it).

Every engine runs once per seed of ``--seeds`` (default 1,2,3), engines interleaved, all in this
process: ``s`` is the best of those runs; ``algo s`` the best time of the algorithm alone on a graph
already built (the rest of ``s`` is the wrapper: node index, graph build, renumbering); NMI, modularity
and ARI are means over the seeds. Modularity is computed by igraph for every engine (resolution 1).
The summary compares each engine with igraph in the same process (geometric means of the time ratios)
and judges equal quality (NMI within 0.01) on the LFR graphs with mu <= 0.6: above that, one engine's
own seeds differ by more than 0.01.

    python bench/bench_community.py --json bench-community.json
    python bench/bench_community.py --scales 1 --engines louvain,leiden,plm
    python bench/bench_community.py --engines louvain --gds --gds-threads 1,2 --work /tmp/gl-community

Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import igraph as ig
import numpy as np
import pandas as pd

from graphlinker import pipeline
from graphlinker.analysis import detection, gds_communities
from graphlinker.analysis.linking import link_accounts
from graphlinker.errors import ConfigError
from graphlinker.ingest.readers import Quarantine
from graphlinker.settings import Settings
from graphlinker.sim.evaluate import evaluate
from graphlinker.store import open_store

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LFR = REPO.parent / "shared" / "data" / "lfr"
EQUAL = 0.01  # NMI within this of the best on a graph counts as equal quality
AGREE = 0.98  # issue 14: the GDS engine's partition should reach this NMI against the embedded engine's
QUALITY_MU = 0.6  # quality verdicts use LFR graphs up to this mixing; above it the seed-to-seed spread exceeds EQUAL


# --- engines -------------------------------------------------------------------------------------
class Engine:
    """One engine: ``detect(edges, seed)`` is the timed path; ``build`` and ``algo`` time the algorithm alone."""

    def __init__(self, name: str, label: str, threads: int = 1, refine: bool = False, neo4j=None, algorithm: str = ""):
        self.name, self.label, self.threads, self.refine = name, label, threads, refine
        self.neo4j, self.algorithm = neo4j, algorithm  # GDS engines: (driver, database) and leiden | louvain

    @property
    def graphlinker_engine(self) -> str | None:
        # GDS engines run through the same module as engine "gds", but on the bench's server connection
        return self.name if self.name in detection.ENGINES and self.name != "gds" else None

    def detect(self, edges: pd.DataFrame, seed: int) -> pd.DataFrame:
        if self.graphlinker_engine:
            return detection.detect_communities(edges, engine=self.name, seed=seed)
        nodes, src, dst, weights = _index(edges)
        if self.name == "gds":
            labels = gds_communities.gds_labels(*self.neo4j, src, dst, weights, seed, 1.0, self.threads, self.algorithm)
            return detection.canonical(nodes, labels)
        graph = self.build(len(nodes), src, dst, weights, seed)
        try:
            return detection.canonical(nodes, self.algo(graph, seed))
        finally:
            self.release(graph)

    def build(self, n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray, seed: int = 0):
        if self.name == "gds":  # the projected graph's name, node count and node numbering, as gds_labels makes them
            name, order = f"graphlinker-bench-{uuid.uuid4().hex}", gds_communities.seeded_order(n, seed)
            return name, gds_communities.project(*self.neo4j, name, order[src], order[dst], weights), order
        if self.name == "louvain-reference":
            return (n, src, dst, weights)
        if self.graphlinker_engine:  # as detect_communities builds it
            graph = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=False)
            graph.es["weight"] = weights
            return graph
        import networkit as nk

        return nk.GraphFromCoo((weights, (src, dst)), n=n, weighted=True, directed=False)

    def algo(self, graph, seed: int) -> np.ndarray:
        if self.name == "louvain":
            return np.asarray(detection._igraph_louvain(graph, seed, 1.0))
        if self.name == "leiden":
            return np.asarray(detection._leiden(graph, seed, 1.0))
        if self.name == "louvain-reference":
            return np.asarray(detection._python_louvain(*graph, seed, 1.0))
        if self.name == "gds":
            config = gds_communities.algorithm_config(self.algorithm, seed, 1.0, self.threads)
            return gds_communities.stream(*self.neo4j, graph[0], graph[1], self.algorithm, config)[graph[2]]
        import networkit as nk

        nk.setSeed(seed, False)
        nk.setNumberOfThreads(self.threads)
        return np.asarray(nk.community.PLM(graph, refine=self.refine, gamma=1.0).run().getPartition().getVector())

    def release(self, graph) -> None:
        """Free what ``build`` made outside this process (a GDS projection)."""
        if self.name == "gds":
            gds_communities.drop(*self.neo4j, graph[0])


def _index(edges: pd.DataFrame):
    """Node index and integer ends, exactly as ``detect_communities`` makes them."""
    nodes = pd.Index(np.sort(pd.unique(edges[["account_a", "account_b"]].to_numpy(dtype=str).ravel())))
    src = nodes.get_indexer(edges["account_a"].astype(str))
    dst = nodes.get_indexer(edges["account_b"].astype(str))
    return nodes, src, dst, edges["weight"].to_numpy("float64")


def engines_to_run(names: list[str], threads: int) -> list[Engine]:
    """The engines asked for whose packages import; a one-line skip for each that does not."""
    out = []
    for name in names:
        if name == "gds":
            raise SystemExit("GDS engines are chosen with --gds (and --gds-threads, --gds-algorithms), not --engines")
        if name in detection.ENGINES:
            try:
                detection.require_engine(name)
            except ConfigError as exc:
                print(f"skip {name}: {exc}")
                continue
            out.append(Engine(name, {"louvain": "igraph", "louvain-reference": "pylouvain"}.get(name, name)))
        elif name in ("plm", "plm-refine"):
            try:
                importlib.import_module("networkit")
            except ImportError as exc:
                print(f"skip {name}: networkit cannot be imported ({exc}); pip install networkit")
                continue
            short = "plmr" if name == "plm-refine" else "plm"
            for t in sorted({threads, 1}, reverse=True):
                out.append(Engine(name, f"{short}-{t}t", threads=t, refine=name == "plm-refine"))
        else:
            raise SystemExit(f"unknown engine '{name}' (choose from {', '.join(detection.ENGINES)}, plm, plm-refine)")
    return out


def gds_engines(threads: list[int] | None, algorithms: list[str]) -> tuple[list[Engine], object]:
    """The GDS engines on the server ``--store neo4j`` would use (exits with one line if it has no GDS); and its driver."""
    from neo4j import GraphDatabase

    from graphlinker.devserver.server import connection_settings
    from graphlinker.store.failures import redact

    settings = connection_settings()
    auth = (settings["user"], settings["password"]) if settings.get("password") else None
    driver = GraphDatabase.driver(settings["uri"], auth=auth, notifications_min_severity="OFF")
    database = settings.get("database") or None
    try:
        driver.verify_connectivity()
        gds_communities.require_gds(driver, database, redact(settings["uri"]))
    except Exception as exc:
        driver.close()
        raise SystemExit(f"--gds: {' '.join(str(exc).split())}") from None
    auto = gds_communities.server_concurrency(driver, database)
    with driver.session(database=database) as session:
        version = session.run("RETURN gds.version() AS v").single()["v"]
    print(f"GDS {version} at {redact(settings['uri'])}; automatic concurrency {auto}")
    engines = [Engine("gds", f"gds-{algorithm}-{t}t", threads=t, neo4j=(driver, database), algorithm=algorithm)
               for algorithm in algorithms for t in (threads or sorted({1, auto}))]
    return engines, driver


# --- scores --------------------------------------------------------------------------------------
def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)
    return table


def nmi(a, b) -> float:
    """Normalized mutual information, arithmetic mean normalisation (sklearn's default; LF2009's NMI)."""
    try:
        from sklearn.metrics import normalized_mutual_info_score

        return float(normalized_mutual_info_score(a, b))
    except ImportError:
        table = _contingency(np.asarray(a), np.asarray(b)) / len(a)
        pa, pb = table.sum(1), table.sum(0)
        nz = table > 0
        mi = float((table[nz] * np.log(table[nz] / np.outer(pa, pb)[nz])).sum())
        ha, hb = -float((pa * np.log(pa)).sum()), -float((pb * np.log(pb)).sum())
        return 1.0 if ha + hb == 0 else max(mi, 0.0) / ((ha + hb) / 2)


def ari(a, b) -> float:
    """Adjusted Rand index."""
    try:
        from sklearn.metrics import adjusted_rand_score

        return float(adjusted_rand_score(a, b))
    except ImportError:
        table = _contingency(np.asarray(a), np.asarray(b))

        def pairs(x):
            return float((x * (x - 1) / 2).sum())

        index, rows, cols, total = pairs(table), pairs(table.sum(1)), pairs(table.sum(0)), len(a) * (len(a) - 1) / 2
        expected = rows * cols / total
        top = (rows + cols) / 2
        return 1.0 if top == expected else (index - expected) / (top - expected)


class Scored:
    """A graph's node index and igraph graph, to score any engine's partition the same way."""

    def __init__(self, edges: pd.DataFrame):
        self.nodes, src, dst, weights = _index(edges)
        self.graph = ig.Graph(n=len(self.nodes), edges=np.column_stack([src, dst]).tolist(), directed=False)
        self.weights = weights

    def membership(self, partition: pd.DataFrame) -> np.ndarray:
        return partition.set_index("account_id")["community"].reindex(self.nodes).to_numpy()

    def modularity(self, membership: np.ndarray) -> float:
        return float(self.graph.modularity(membership.tolist(), weights=self.weights.tolist(), resolution=1.0))


# --- timing --------------------------------------------------------------------------------------
def measure(engines: list[Engine], edges: pd.DataFrame, seeds: list[int]) -> dict[str, dict]:
    """Per engine: best total and algorithm seconds over ``seeds`` (engines interleaved) and each seed's membership."""
    scored = Scored(edges)
    nodes, src, dst, weights = _index(edges)
    out: dict[str, dict] = {e.label: {"s": math.inf, "algo_s": math.inf, "memberships": []} for e in engines}
    for seed in seeds:
        for engine in engines:
            row = out[engine.label]
            start = time.perf_counter()
            partition = engine.detect(edges, seed)
            row["s"] = min(row["s"], time.perf_counter() - start)
            graph = engine.build(len(nodes), src, dst, weights, seed)
            try:
                start = time.perf_counter()
                engine.algo(graph, seed)
                row["algo_s"] = min(row["algo_s"], time.perf_counter() - start)
            finally:
                engine.release(graph)
            row["memberships"].append(scored.membership(partition))
    for row in out.values():
        memberships = row["memberships"]
        row["modularity"] = float(np.mean([scored.modularity(m) for m in memberships]))
        row["communities"] = float(np.mean([len(np.unique(m)) for m in memberships]))
    return out


def warm_up(engines: list[Engine]) -> None:
    """One untimed run of each engine, so imports and first-call costs stay out of the figures."""
    rows = [(f"{g}-{i}", f"{g}-{j}", 1.0) for g in range(4) for i in range(6) for j in range(i + 1, 6)]
    rows += [(f"{g}-0", f"{(g + 1) % 4}-0", 0.1) for g in range(4)]
    edges = pd.DataFrame(rows, columns=["account_a", "account_b", "weight"])
    for engine in engines:
        engine.detect(edges, 1)


# --- LFR -----------------------------------------------------------------------------------------
def reference_nmi(lfr: Path) -> dict[str, float]:
    """Mean final-level NMI of networkx's Louvain per graph, from the folder's reference table."""
    table = {}
    path = lfr / "reference_table.txt"
    if not path.exists():
        return table
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[0].isdigit() and "[" in line:
            values = [float(x) for x in line.split("[")[1].split("]")[0].split(",")]
            table[f"lfr_N{parts[0]}_{parts[1]}_mu{parts[2]}"] = sum(values) / len(values)
    return table


def lfr_graphs(lfr: Path) -> list[str]:
    def key(name: str):
        n, size, mu = name[len("lfr_N"):].split("_")
        return int(n), size, float(mu[2:])

    return sorted((p.name[: -len(".edges.tsv")] for p in lfr.glob("lfr_*.edges.tsv")), key=key)


def lfr_bench(engines: list[Engine], lfr: Path, seeds: list[int]) -> list[dict]:
    reference = reference_nmi(lfr)
    rows = []
    for name in lfr_graphs(lfr):
        edges = pd.read_csv(lfr / f"{name}.edges.tsv", sep="\t", header=None, names=["account_a", "account_b"], dtype=str)
        edges["weight"] = 1.0
        truth = pd.read_csv(lfr / f"{name}.communities.tsv", sep="\t", header=None, names=["node", "community"], dtype=str)
        figures = measure(engines, edges, seeds)
        planted = truth.set_index("node")["community"].reindex(Scored(edges).nodes).to_numpy()
        row = {"graph": name, "nodes": int(len(planted)), "edges": len(edges), "reference_nmi": reference.get(name), "engines": {}}
        agreement = nmi_vs_igraph(figures)
        for label, f in figures.items():
            scores = [nmi(planted, m) for m in f.pop("memberships")]
            row["engines"][label] = {**f, "nmi": float(np.mean(scores)), "nmi_min": float(np.min(scores)),
                                     "nmi_vs_igraph": agreement.get(label)}
        rows.append(row)
        print(f"  {name}: " + ", ".join(f"{k} {v['nmi']:.3f}/{v['s'] * 1000:.0f}ms" for k, v in row["engines"].items()),
              file=sys.stderr)
    return rows


def nmi_vs_igraph(figures: dict[str, dict]) -> dict[str, float | None]:
    """Per engine, the mean NMI of its partition against igraph's at the same seed (igraph: between its own seeds)."""
    base = figures.get("igraph")
    if base is None:
        return {}
    out: dict[str, float | None] = {}
    for label, f in figures.items():
        ms, bs = f["memberships"], base["memberships"]
        if label == "igraph":
            pairs = [nmi(ms[i], ms[j]) for i in range(len(ms)) for j in range(i + 1, len(ms))]
            out[label] = float(np.mean(pairs)) if pairs else None
        else:
            out[label] = float(np.mean([nmi(m, b) for m, b in zip(ms, bs, strict=True)]))
    return out


def print_lfr(rows: list[dict], labels: list[str]) -> None:
    def block(title: str, field: str, fmt: str, with_reference: bool = False) -> None:
        print(title)
        print(f"{'graph':<22}" + (f"{'nx ref':>7}" if with_reference else "") + "".join(f"{label:>{_width(label)}}" for label in labels))
        for r in rows:
            ref = r["reference_nmi"]
            line = f"{r['graph'][4:]:<22}" + ((f"{ref:>7.3f}" if ref is not None else f"{'-':>7}") if with_reference else "")
            print(line + "".join(f"{_fmt(r['engines'][label][field], fmt):>{_width(label)}}" for label in labels))
        print()

    block("LFR: NMI against the planted partition (mean over seeds; nx ref = networkx Louvain, seeds 1-3)", "nmi", ".3f", True)
    if "igraph" in labels:
        block("LFR: NMI against igraph's partition at the same seed (igraph column: between its own seeds)", "nmi_vs_igraph", ".3f")
    block("LFR: seconds, edge frame to partition (best over seeds)", "s", ".4f")
    block("LFR: seconds, the algorithm alone on a built graph (best over seeds)", "algo_s", ".4f")
    block("LFR: modularity (igraph, resolution 1; mean over seeds)", "modularity", ".4f")


def _width(label: str) -> int:
    return max(10, len(label) + 2)


def _fmt(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def lfr_summary(rows: list[dict], labels: list[str]) -> dict:
    """Per engine, against igraph (``louvain``) in this process: time ratios, NMI gap, graphs won at equal quality."""
    base = "igraph" if "igraph" in labels else labels[0]
    wins = dict.fromkeys(labels, 0)
    for r in rows:
        best = max(e["nmi"] for e in r["engines"].values())
        equal = [label for label in labels if r["engines"][label]["nmi"] >= best - EQUAL]
        wins[min(equal, key=lambda label: r["engines"][label]["s"])] += 1
    out = {}
    for label in labels:
        def ratio(field: str, label: str = label) -> float:
            return float(np.exp(np.mean([np.log(r["engines"][label][field] / r["engines"][base][field]) for r in rows])))

        gaps = np.array([r["engines"][label]["nmi"] - r["engines"][base]["nmi"] for r in rows])
        low = np.array([float(r["graph"].rsplit("mu", 1)[1]) <= QUALITY_MU for r in rows])
        agreement = np.array([r["engines"][label].get("nmi_vs_igraph") or np.nan for r in rows], dtype=float)
        # graphs whose partition igraph itself finds again from another seed (NMI >= AGREE): agreement is meaningful there
        stable = np.array([(r["engines"][base].get("nmi_vs_igraph") or 0.0) >= AGREE for r in rows], dtype=bool)
        out[label] = {"time_ratio": ratio("s"), "algo_ratio": ratio("algo_s"), "nmi_gap_mean": float(gaps.mean()),
                      "nmi_vs_igraph_low_mu": float(np.nanmean(agreement[low])) if low.any() and not np.isnan(agreement[low]).all() else None,
                      "nmi_vs_igraph_min_low_mu": float(np.nanmin(agreement[low])) if low.any() and not np.isnan(agreement[low]).all() else None,
                      "agree_098_low_mu": int((agreement[low] >= AGREE).sum()),
                      "stable_graphs": int(stable.sum()), "agree_098_stable": int((agreement[stable] >= AGREE).sum()),
                      "nmi_vs_igraph_min_stable": float(np.nanmin(agreement[stable])) if stable.any() else None,
                      "nmi_gap_mean_low_mu": float(gaps[low].mean()) if low.any() else None,
                      "worse": int((gaps[low] < -EQUAL).sum()), "better": int((gaps[low] > EQUAL).sum()),
                      "equal_quality": int((np.abs(gaps[low]) <= EQUAL).sum()),
                      "worse_high_mu": int((gaps[~low] < -EQUAL).sum()), "better_high_mu": int((gaps[~low] > EQUAL).sum()),
                      "fastest_at_equal_quality": wins[label]}
    return {"baseline": base, "graphs": len(rows), "low_mu_graphs": int(low.sum()) if rows else 0, "quality_mu": QUALITY_MU,
            "engines": out}


def print_lfr_summary(summary: dict) -> None:
    print(f"LFR summary over {summary['graphs']} graphs, against {summary['baseline']} in this process "
          "(time ratios: geometric means of engine/igraph; NMI gap: engine - igraph)")
    mu = summary["quality_mu"]
    print(f"{'engine':<16}{'s ratio':>9}{'algo ratio':>11}{'NMI gap':>9}{f'gap mu<={mu:g}':>12}"
          f"{'worse':>7}{'equal':>7}{'better':>7}{f'mu>{mu:g} worse/better':>21}{'fastest at equal NMI':>22}")
    for label, e in summary["engines"].items():
        low = "-" if e["nmi_gap_mean_low_mu"] is None else f"{e['nmi_gap_mean_low_mu']:+.4f}"
        high = f"{e['worse_high_mu']}/{e['better_high_mu']}"
        print(f"{label:<16}{e['time_ratio']:>9.2f}{e['algo_ratio']:>11.2f}{e['nmi_gap_mean']:>+9.4f}{low:>12}"
              f"{e['worse']:>7}{e['equal_quality']:>7}{e['better']:>7}{high:>21}{e['fastest_at_equal_quality']:>22}")
    if any(e["nmi_vs_igraph_low_mu"] is not None for e in summary["engines"].values()):
        print(f"NMI against igraph at the same seed (igraph: between its own seeds), on the {summary['low_mu_graphs']} graphs with mu <= {mu:g}:")
        for label, e in summary["engines"].items():
            if e["nmi_vs_igraph_low_mu"] is not None:
                stable = "" if not e["stable_graphs"] else (
                    f"; on the {e['stable_graphs']} graphs where igraph's own seeds agree to >= {AGREE}: "
                    f">= {AGREE} on {e['agree_098_stable']}, min {e['nmi_vs_igraph_min_stable']:.4f}")
                print(f"  {label:<16} mean {e['nmi_vs_igraph_low_mu']:.4f}, min {e['nmi_vs_igraph_min_low_mu']:.4f}, "
                      f">= {AGREE} on {e['agree_098_low_mu']} of {summary['low_mu_graphs']}{stable}")
    print(f"(worse/equal/better: of the {summary['low_mu_graphs']} graphs with mu <= {mu:g}, those where the NMI is below/within/above "
          f"igraph's by {EQUAL}; mu > {mu:g}: the same count on the rest, where one engine's seeds already differ by more; "
          f"last column: graphs on which the engine is the fastest of those within {EQUAL} of the best NMI)")
    print()


# --- the account projection ------------------------------------------------------------------------
def projection_bench(engines: list[Engine], scales: list[float], seeds: list[int], work: Path, f1: bool,
                     scenarios: list[Path] | None = None) -> list[dict]:
    """The account projection of ``simulate --seed 1 --scale S`` per scale, then of each directory of ``scenarios``."""
    settings = Settings.load()
    rows = []
    todo = [(f"x{scale:g}", scale, work / f"s1-x{scale:g}") for scale in scales] + [(p.name, None, p) for p in scenarios or []]
    for name, scale, scenario in todo:
        if scale is not None and not (scenario / "truth.csv").exists():
            subprocess.run([sys.executable, "-m", "graphlinker", "simulate", str(scenario), "--seed", "1", "--scale", f"{scale:g}"],
                           check=True, capture_output=True)
        truth = pd.read_csv(scenario / "truth.csv", dtype=str)
        with tempfile.TemporaryDirectory(prefix="gl-bench-community-") as workspace:
            store = open_store("local", Path(workspace))
            try:
                pipeline.run(scenario, store, settings, Quarantine(None))
                edges = link_accounts(store.usage(), settings).edges
                figures = measure(engines, edges, seeds)
                agreement = nmi_vs_igraph(figures)
                base = figures.get("igraph")
                for label, f in figures.items():
                    memberships = f["memberships"]
                    f["nmi_vs_igraph"] = agreement.get(label)
                    if base is None:
                        f["ari_vs_igraph"] = None
                    elif label == "igraph":  # seed-to-seed agreement of igraph itself
                        others = [ari(memberships[i], memberships[j]) for i in range(len(memberships)) for j in range(i + 1, len(memberships))]
                        f["ari_vs_igraph"] = float(np.mean(others)) if others else None
                    else:
                        f["ari_vs_igraph"] = float(np.mean([ari(m, b) for m, b in zip(memberships, base["memberships"], strict=True)]))
                    if f1:
                        f["f1"], f["clusters"] = pipeline_f1(store, settings, next(e for e in engines if e.label == label), truth)
                nodes = Scored(edges).nodes
                for f in figures.values():
                    f.pop("memberships", None)
                    if f1 and "igraph" in figures:  # the published clusters (after fragment merging), as igraph's
                        f["final_nmi_vs_igraph"] = nmi(_cluster_labels(f["clusters"], nodes), _cluster_labels(figures["igraph"]["clusters"], nodes))
                for f in figures.values():
                    f.pop("clusters", None)
            finally:
                store.close()
        rows.append({"scale": scale, "name": name, "accounts": int(len(pd.unique(edges[["account_a", "account_b"]].to_numpy().ravel()))),
                     "edges": len(edges), "engines": figures})
        print(f"  projection {name}: {len(edges):,} edges", file=sys.stderr)
    return rows


def _cluster_labels(clusters: dict[str, str], nodes: pd.Index) -> list[str]:
    """Each linked account's published cluster id; an account in no cluster is a cluster of its own."""
    return [clusters.get(a, f"solo:{a}") for a in nodes]


def pipeline_f1(store, settings: Settings, engine: Engine, truth: pd.DataFrame) -> tuple[float, dict[str, str]]:
    """F1 of the whole analysis (linking, detection, fragment merging, scoring) with ``engine`` detecting, at the settings' seed;
    and the account -> cluster id map of the report."""
    started = datetime.now(UTC)
    run_id = f"run-bench-{engine.label}"
    if engine.graphlinker_engine:
        engine_settings = replace(settings, detection={**settings.detection, "engine": engine.name})
        report = pipeline.analyse(store, engine_settings, pipeline.SilentProgress(), run_id, started, {})
    else:  # not a graphlinker engine: put it in place of the pipeline's detection call for this one run
        original = pipeline.detect_communities
        pipeline.detect_communities = lambda edges, engine_name=None, seed=0, **_: engine.detect(edges, seed)
        try:
            report = pipeline.analyse(store, settings, pipeline.SilentProgress(), run_id, started, {})
        finally:
            pipeline.detect_communities = original
    clusters = {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}
    return float(evaluate(report, truth).f1), clusters


def print_projection(rows: list[dict]) -> None:
    print("Account projection (simulate --seed 1 --scale S, or --scenario DIR): seconds best over seeds; modularity, communities,")
    print("ARI and NMI means over seeds; ARI/NMI vs igraph at the same seed (igraph row: between its own seeds);")
    print("F1 of the pipeline at the shipped seed, and final NMI: its published clusters against igraph's pipeline's")
    print(f"{'graph':>14}{'accts':>7}{'edges':>8}  {'engine':<16}{'s':>8}{'algo s':>8}{'s ratio':>9}{'modularity':>11}"
          f"{'comms':>8}{'ARI':>7}{'NMI':>7}{'F1':>7}{'final NMI':>10}")
    for r in rows:
        base = r["engines"].get("igraph")
        for label, f in r["engines"].items():
            ratio = f"{f['s'] / base['s']:.2f}" if base else "-"
            print(f"{r['name']:>14}{r['accounts']:>7}{r['edges']:>8}  {label:<16}{f['s']:>8.4f}{f['algo_s']:>8.4f}{ratio:>9}"
                  f"{f['modularity']:>11.4f}{f['communities']:>8.1f}{_fmt(f.get('ari_vs_igraph'), '.3f'):>7}"
                  f"{_fmt(f.get('nmi_vs_igraph'), '.4f'):>7}{_fmt(f.get('f1'), '.3f'):>7}{_fmt(f.get('final_nmi_vs_igraph'), '.4f'):>10}")
    print()


# --- verdict -------------------------------------------------------------------------------------
def verdict(summary: dict | None, projection: list[dict]) -> list[str]:
    lines = []
    if summary:
        engines = summary["engines"]
        base = summary["baseline"]
        mu = summary["quality_mu"]
        equal = [k for k, e in engines.items() if e["worse"] == 0]
        fastest = min(equal, key=lambda k: engines[k]["time_ratio"])
        most = max(engines, key=lambda k: engines[k]["fastest_at_equal_quality"])
        lines.append(f"LFR: engines never more than {EQUAL} NMI below {base} on the {summary['low_mu_graphs']} graphs with mu <= {mu:g}: "
                     f"{', '.join(equal)}; fastest of them: {fastest} ({engines[fastest]['time_ratio']:.2f}x {base}'s time edge frame "
                     f"to partition, {engines[fastest]['algo_ratio']:.2f}x for the algorithm alone).")
        lines.append(f"LFR: fastest engine within {EQUAL} of the best NMI on the most graphs: {most} "
                     f"({engines[most]['fastest_at_equal_quality']}/{summary['graphs']}).")
        for k, e in engines.items():
            if k != base and e["worse"]:
                lines.append(f"LFR: {k} is {e['time_ratio']:.2f}x {base}'s time but more than {EQUAL} NMI below it on {e['worse']} "
                             f"of the {summary['low_mu_graphs']} graphs with mu <= {mu:g} (above it on {e['better']}).")
    for r in projection:
        base = r["engines"].get("igraph")
        if not base:
            continue
        parts = [f"{k} {f['s'] / base['s']:.2f}x (modularity {f['modularity'] - base['modularity']:+.4f}"
                 + (f", NMI vs igraph {f['nmi_vs_igraph']:.4f}" if f.get("nmi_vs_igraph") is not None else "")
                 + (f", F1 {f['f1']:.3f}" if f.get("f1") is not None else "") + ")"
                 for k, f in r["engines"].items() if k != "igraph"]
        lines.append(f"projection {r['name']}: time against igraph: " + "; ".join(parts)
                     + (f"; igraph F1 {base['f1']:.3f}" if base.get("f1") is not None else "") + ".")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="louvain,leiden,plm,plm-refine",
                        help="comma-separated: louvain, leiden, louvain-reference, plm, plm-refine (default: all but louvain-reference)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                        help="threads for NetworKit besides 1 (default: the CPUs this process may use)")
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    parser.add_argument("--lfr", type=Path, default=DEFAULT_LFR, help=f"folder of LFR graphs (default {DEFAULT_LFR})")
    parser.add_argument("--no-lfr", action="store_true")
    parser.add_argument("--scales", type=lambda s: [float(x) for x in s.split(",") if x], default=[1.0, 3.0],
                        help="scales of the simulated scenarios for the projection (default 1,3; empty for none)")
    parser.add_argument("--no-f1", action="store_true", help="skip the pipeline F1 per engine on the projection")
    parser.add_argument("--work", type=Path, default=None, help="where scenarios are written and reused (default: a temp dir)")
    parser.add_argument("--scenario", type=Path, action="append", default=[],
                        help="also an existing scenario directory (with truth.csv) for the projection; repeatable")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    parser.add_argument("--gds", action="store_true",
                        help="also GDS Leiden/Louvain inside Neo4j (the server --store neo4j uses, with GDS installed)")
    parser.add_argument("--gds-threads", type=lambda s: [int(x) for x in s.split(",") if x], default=None,
                        help="GDS concurrency values to run (default: 1 and the automatic choice for the server)")
    parser.add_argument("--gds-algorithms", type=lambda s: [x for x in s.split(",") if x], default=["leiden", "louvain"],
                        help="GDS algorithms (default leiden,louvain; engine \"gds\" runs louvain unless gds_algorithm says leiden)")
    args = parser.parse_args()
    engines = engines_to_run([e for e in args.engines.split(",") if e], max(args.threads, 1))
    driver = None
    if args.gds:
        extra, driver = gds_engines(args.gds_threads, args.gds_algorithms)
        engines += extra
    try:
        run_bench(args, engines)
    finally:
        if driver is not None:
            driver.close()


def run_bench(args: argparse.Namespace, engines: list[Engine]) -> None:
    if not engines:
        raise SystemExit("no engine to run")
    labels = [e.label for e in engines]
    print(f"engines: {', '.join(labels)}; seeds {','.join(map(str, args.seeds))}; {os.cpu_count()} CPUs, "
          f"{args.threads} usable; igraph {ig.__version__}" + "".join(
              f", {m} {importlib.import_module(m).__version__}" for m in ("leidenalg", "networkit") if _importable(m)))
    print()
    warm_up(engines)
    result: dict = {"engines": labels, "seeds": args.seeds, "threads": args.threads}
    summary = None
    if not args.no_lfr:
        if not args.lfr.is_dir():
            print(f"skip LFR: {args.lfr} is not a directory")
        else:
            rows = lfr_bench(engines, args.lfr, args.seeds)
            print_lfr(rows, labels)
            summary = lfr_summary(rows, labels)
            print_lfr_summary(summary)
            result["lfr"], result["lfr_summary"] = rows, summary
    projection = []
    if args.scales or args.scenario:
        with tempfile.TemporaryDirectory(prefix="gl-scenarios-") as tmp:
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            projection = projection_bench(engines, args.scales, args.seeds, work, not args.no_f1, args.scenario)
        print_projection(projection)
        result["projection"] = projection
    result["verdict"] = verdict(summary, projection)
    print("\n".join(result["verdict"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
