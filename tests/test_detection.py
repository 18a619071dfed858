"""Detection engines: quality on LFR benchmarks against the shared reference, determinism, clean errors."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from graphlinker.analysis.detection import ENGINES, detect_communities
from graphlinker.errors import ConfigError

IN_PROCESS = [e for e in ENGINES if e != "gds"]  # "gds" runs in Neo4j: tests/test_gds_engine.py


def _lfr(lfr_dir, name):
    edges = pd.read_csv(lfr_dir / f"lfr_{name}.edges.tsv", sep="\t", header=None, names=["account_a", "account_b"]).astype(str)
    edges["weight"] = 1.0
    truth = pd.read_csv(lfr_dir / f"lfr_{name}.communities.tsv", sep="\t", header=None, names=["node", "community"])
    return edges, truth.set_index(truth["node"].astype(str))["community"]


def _nmi(partition: pd.DataFrame, truth: pd.Series) -> float:
    found = partition.set_index("account_id")["community"]
    return normalized_mutual_info_score(truth.loc[found.index], found)


def _reference(lfr_dir) -> dict:
    """Mean final-level NMI of networkx's Louvain per graph, from the shared reference table."""
    table = {}
    for line in (lfr_dir / "reference_table.txt").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5 or not parts[0].isdigit():
            continue
        n, size, mu = parts[0], parts[1], parts[2]
        values = [float(x) for x in line.split("[")[1].split("]")[0].split(",")]
        table[f"N{n}_{size}_mu{mu}"] = sum(values) / len(values)
    return table


@pytest.mark.parametrize("engine", ["louvain", "leiden"])
@pytest.mark.parametrize("name", ["N1000_small_mu0.3", "N1000_big_mu0.5", "N1000_small_mu0.6", "N5000_small_mu0.4", "N5000_big_mu0.6"])
def test_fast_engines_match_reference_quality_on_lfr(lfr_dir, engine, name):
    edges, truth = _lfr(lfr_dir, name)
    reference = _reference(lfr_dir)[name]
    nmi = _nmi(detect_communities(edges, engine=engine, seed=1), truth)
    assert nmi >= reference - 0.03, f"{engine} NMI {nmi:.3f} vs reference {reference:.3f} on {name}"


def test_reference_engine_recovers_well_separated_lfr(lfr_dir):
    edges, truth = _lfr(lfr_dir, "N1000_big_mu0.3")
    assert _nmi(detect_communities(edges, engine="louvain-reference", seed=1), truth) >= 0.99


def test_quality_collapses_past_mu_07_as_published(lfr_dir):
    """A sanity check that the engine is not reading the answer: structure-free graphs give low NMI."""
    edges, truth = _lfr(lfr_dir, "N1000_big_mu0.8")
    assert _nmi(detect_communities(edges, seed=1), truth) < 0.3


@pytest.mark.parametrize("engine", IN_PROCESS)
def test_same_seed_same_partition(engine):
    graph = nx.planted_partition_graph(6, 15, 0.6, 0.05, seed=3)
    edges = pd.DataFrame([(str(u), str(v), 1.0) for u, v in graph.edges()], columns=["account_a", "account_b", "weight"])
    first = detect_communities(edges, engine=engine, seed=7)
    second = detect_communities(edges.sample(frac=1.0, random_state=1), engine=engine, seed=7)
    assert first.equals(second)


@pytest.mark.parametrize("engine", IN_PROCESS)
def test_weighted_cliques_joined_by_weak_bridges_are_separated(engine):
    rows = []
    for group in range(4):
        members = [f"g{group}-{i}" for i in range(8)]
        rows += [(a, b, 1.0) for i, a in enumerate(members) for b in members[i + 1 :]]
        rows.append((members[0], f"g{(group + 1) % 4}-0", 0.05))
    partition = detect_communities(pd.DataFrame(rows, columns=["account_a", "account_b", "weight"]), engine=engine)
    groups = partition.assign(group=partition["account_id"].str.split("-").str[0]).groupby("group")["community"].nunique()
    assert (groups == 1).all() and partition["community"].nunique() == 4


def test_unknown_engine_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown detection engine"):
        detect_communities(pd.DataFrame({"account_a": ["a"], "account_b": ["b"], "weight": [1.0]}), engine="magic")


def test_no_edges_gives_empty_partition():
    empty = pd.DataFrame({"account_a": pd.Series(dtype=str), "account_b": pd.Series(dtype=str), "weight": pd.Series(dtype=float)})
    assert detect_communities(empty).empty
