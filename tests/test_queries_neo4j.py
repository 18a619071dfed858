"""The analyst Cypher pack against a real Neo4j server, on the demo fixture run twice.

Run 1 loads ``fixtures/demo``; run 2 loads a copy with three accounts joining the naive ring
(same card, device, prompts), a brand-new four-account ring on a new model, and one member of
another ring paying with the naive ring's second card. Every query's rows are compared with
expectations computed independently of Cypher: from the JSON reports the pipeline returned,
from pandas over the export files, and from the embedded store's tables and edges for the
same export (tests/test_store_contract.py shows both stores hold the same graph).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from graphlinker.errors import ExitCode, InputError
from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import run
from graphlinker.querypack.pack import bind, load_pack, run_cypher, run_query
from graphlinker.settings import Settings
from graphlinker.store import LocalStore

pytestmark = pytest.mark.neo4j

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
PACK = load_pack(ROOT / "graphlinker" / "querypack" / "queries")


def _picked_from_the_demo() -> tuple[list[str], str, str, str, str, str, pd.Timestamp, pd.Timestamp]:
    """The demo accounts, card and device the second export builds on, picked by rule from the fixture's own
    files (truth.csv says who is in which operation), so they cannot go stale when fixtures/demo is regenerated.

    The naive ring (op-naive-1) pays with two cards and uses two devices, one of each per half of the ring.
    GROW_SOURCE is its first-created member; GROW_CARD that member's card; GROW_DEVICE the ring's other device
    (the other half's), so the members who join use both halves' identifiers; CROSS_CARD the ring's other
    card, which CROSS_ACCOUNT, the first worker (by id) of another ring (op-reseller-1), also pays with in
    run 2. Also returned: the end of the ring's creation burst and the first request on model-x (the new model).
    """
    truth = pd.read_csv(DEMO / "truth.csv", dtype=str)
    accounts = pd.read_csv(DEMO / "accounts.csv", dtype=str, keep_default_na=False)
    payments = pd.read_csv(DEMO / "payments.csv", dtype=str)
    identifiers = pd.read_csv(DEMO / "identifiers.csv", dtype=str)
    requests = pd.read_csv(DEMO / "requests.csv.gz", usecols=["ts", "model"])
    ring = sorted(truth.loc[truth["op_id"] == "op-naive-1", "account_id"])
    created = accounts[accounts["account_id"].isin(ring)].sort_values(["created_at", "account_id"])["created_at"]
    source = accounts.loc[created.index[0], "account_id"]
    cards = payments[payments["account_id"].isin(ring)]
    (card,) = cards.loc[cards["account_id"] == source, "payment_fingerprint"]
    (other_card,) = set(cards["payment_fingerprint"]) - {card}
    devices = identifiers[(identifiers["kind"] == "device") & identifiers["account_id"].isin(ring)]
    (other_device,) = set(devices["value"]) - set(devices.loc[devices["account_id"] == source, "value"])
    reseller = truth[(truth["op_id"] == "op-reseller-1") & (truth["role"] == "worker")]
    cross = min(reseller["account_id"])
    assert cross not in set(payments.loc[payments["payment_fingerprint"] == other_card, "account_id"])
    model_x = pd.to_datetime(requests.loc[requests["model"] == "model-x", "ts"], utc=True).min()
    return ring, source, card, other_device, cross, other_card, pd.Timestamp(created.iloc[-1]), model_x


NAIVE_RING, GROW_SOURCE, GROW_CARD, GROW_DEVICE, CROSS_ACCOUNT, CROSS_CARD, RING_CREATED, MODEL_X_SINCE = _picked_from_the_demo()
GROWN = [f"acct_grow_{i:04d}" for i in range(1, 4)]
NEW_RING = [f"acct_newring_{i:02d}" for i in range(1, 5)]
NEW_RING_CARD, NEW_RING_IP = "card_newring_0001", "198.51.100.23"
FEATURE_KINDS = {"model", "hour", "client"}
WINDOW_KINDS = {"time", "created"}


def build_second_export(out: Path) -> Path:
    """The demo export plus a grown ring, a new ring and a card shared across two rings."""
    out.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_csv(DEMO / "accounts.csv", dtype=str, keep_default_na=False)
    payments = pd.read_csv(DEMO / "payments.csv", dtype=str, keep_default_na=False)
    identifiers = pd.read_csv(DEMO / "identifiers.csv", dtype=str, keep_default_na=False)
    requests = pd.read_csv(DEMO / "requests.csv.gz", dtype=str, keep_default_na=False)
    # the grown members are created one a minute right after the ring's creation burst; the new ring appears
    # on 2026-09-24 and works on model-x, which the demo's requests use from its release on
    assert MODEL_X_SINCE < pd.Timestamp("2026-09-24T00:00:00Z")
    new_accounts = [
        {"account_id": a, "created_at": (RING_CREATED.ceil("min") + pd.Timedelta(minutes=1 + i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "email_domain": "gmail.com", "country": "US", "org_id": ""}
        for i, a in enumerate(GROWN)
    ] + [
        {"account_id": a, "created_at": f"2026-09-24T10:{10 * i:02d}:00Z", "email_domain": "proton.me", "country": "SG", "org_id": ""}
        for i, a in enumerate(NEW_RING)
    ]
    new_payments = [
        {"account_id": a, "payment_fingerprint": GROW_CARD, "card_bin": "400000", "billing_country": "US", "added_at": "2026-08-31T00:00:00Z"}
        for a in GROWN
    ] + [
        {"account_id": a, "payment_fingerprint": NEW_RING_CARD, "card_bin": "411111", "billing_country": "SG", "added_at": f"2026-09-24T10:3{i}:00Z"}
        for i, a in enumerate(NEW_RING)
    ] + [{"account_id": CROSS_ACCOUNT, "payment_fingerprint": CROSS_CARD, "card_bin": "400000", "billing_country": "US", "added_at": "2026-09-02T00:00:00Z"}]
    new_identifiers = [{"account_id": a, "kind": "device", "value": GROW_DEVICE, "seen_at": "2026-09-01T00:00:00Z"} for a in GROWN] + [
        {"account_id": a, "kind": "device", "value": "dev_newring_0001", "seen_at": "2026-09-24T10:40:00Z"} for a in NEW_RING
    ]
    source = requests[requests["account_id"] == GROW_SOURCE]
    copies = []
    for i, account in enumerate(GROWN, start=1):
        shifted = pd.to_datetime(source["ts"], utc=True) + pd.Timedelta(seconds=17 * i)
        copies.append(source.assign(account_id=account, ts=shifted.dt.strftime("%Y-%m-%dT%H:%M:%SZ")))
    ring_requests = pd.DataFrame(
        [
            {
                "account_id": account,
                "ts": (pd.Timestamp("2026-09-24T11:00:00Z") + pd.Timedelta(minutes=10 * k, seconds=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ip": NEW_RING_IP,
                "user_agent": "python-requests/2.31.0",
                "model": "model-x",
                "prompt": f"You are a strict grader. Score the following answer from 1 to 10 and justify the score step by step: answer {k}",
                "input_tokens": "120",
                "output_tokens": "900",
            }
            for i, account in enumerate(NEW_RING)
            for k in range(40)
        ]
    )
    pd.concat([accounts, pd.DataFrame(new_accounts)], ignore_index=True).to_csv(out / "accounts.csv", index=False)
    pd.concat([payments, pd.DataFrame(new_payments)], ignore_index=True).to_csv(out / "payments.csv", index=False)
    pd.concat([identifiers, pd.DataFrame(new_identifiers)], ignore_index=True).to_csv(out / "identifiers.csv", index=False)
    pd.concat([requests, *copies, ring_requests], ignore_index=True).to_csv(out / "requests.csv.gz", index=False)
    return out


@dataclass
class Graph:
    """What the server holds after two runs, and the independent references to check queries against."""

    settings: dict
    first: dict  # run 1's report
    second: dict  # run 2's (latest) report
    accounts: pd.DataFrame  # raw export files of run 2, timestamps parsed
    payments: pd.DataFrame
    requests: pd.DataFrame
    usage: pd.DataFrame  # the embedded store's usage graph of the same export
    templates: pd.DataFrame
    edges: pd.DataFrame  # the embedded store's links for the same export

    @property
    def cluster_of(self) -> dict[str, dict]:
        return {a: c for c in self.second["clusters"] for a in c["accounts"]}

    @property
    def clusters(self) -> dict[str, dict]:
        return {c["cluster_id"]: c for c in self.second["clusters"]}

    @property
    def flagged_accounts(self) -> set[str]:
        return {a for c in self.second["clusters"] if c["flagged"] for a in c["accounts"]}


def _wipe(settings: dict) -> None:
    from neo4j import GraphDatabase

    auth = (settings["user"], settings["password"]) if settings.get("password") else None
    with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
        with driver.session(database=settings.get("database") or None) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture(scope="module")
def graph(neo4j_server, tmp_path_factory) -> Graph:
    from graphlinker.store.neo4j import Neo4jStore

    second_export = build_second_export(tmp_path_factory.mktemp("second-export"))
    _wipe(neo4j_server)
    with Neo4jStore(neo4j_server) as store:
        first = run(DEMO, store, Settings.load(), Quarantine(None)).report
        second = run(second_export, store, Settings.load(), Quarantine(None)).report
    local = LocalStore(tmp_path_factory.mktemp("reference-workspace"))
    reference = run(second_export, local, Settings.load(), Quarantine(None)).report
    edges = pd.read_parquet(local.workspace / "runs" / reference["run_id"] / "edges.parquet")
    accounts = pd.read_csv(second_export / "accounts.csv", dtype={"org_id": str})
    accounts["created_at"] = pd.to_datetime(accounts["created_at"], utc=True)
    payments = pd.read_csv(second_export / "payments.csv")
    payments["added_at"] = pd.to_datetime(payments["added_at"], utc=True)
    requests = pd.read_csv(second_export / "requests.csv.gz", usecols=["account_id", "ts", "ip", "model", "output_tokens"])
    requests["ts"] = pd.to_datetime(requests["ts"], utc=True)
    usage = local.usage().astype({"account_id": str, "kind": str, "value": str})
    return Graph(neo4j_server, first, second, accounts, payments, requests, usage, local.templates(), edges)


def ask(graph: Graph, name: str, **params) -> list[dict]:
    """Run one pack query with typed parameters; its columns must be the declared ones."""
    query = PACK[name]
    columns, rows = run_query(graph.settings, query, bind(query, params))
    assert columns == query.returns
    return rows


def ts(value) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def usage_kind_value(graph: Graph) -> pd.DataFrame:
    return graph.usage[["account_id", "kind", "value", "count", "first_seen", "last_seen"]]


# --- the fixture did what the tests rely on ------------------------------------------------------

def test_second_run_has_a_grown_ring_a_new_ring_and_a_shared_card(graph):
    grown = graph.cluster_of[GROWN[0]]
    ring_in_run_1 = next(c for c in graph.first["clusters"] if GROW_SOURCE in c["accounts"])
    assert set(ring_in_run_1["accounts"]) == set(NAIVE_RING)  # the ring the picks were made from, whole, in run 1
    assert set(GROWN) | {GROW_SOURCE} <= set(grown["accounts"])
    assert set(graph.cluster_of[NEW_RING[0]]["accounts"]) == set(NEW_RING)
    assert graph.cluster_of[CROSS_ACCOUNT]["cluster_id"] != grown["cluster_id"]
    assert graph.second["summary"]["quarantined_rows"] == 0


# --- clusters ---------------------------------------------------------------------------------------

def _cluster_row(c: dict, run_id: str) -> tuple:
    return (c["cluster_id"], c["size"], c["risk_score"], c["flagged"], [r["code"] for r in c["reasons"]], run_id)


def test_riskiest_clusters(graph):
    expected = [_cluster_row(c, graph.second["run_id"]) for c in graph.second["clusters"]]
    rows = ask(graph, "riskiest-clusters", limit=1000)
    assert [tuple(r.values()) for r in rows] == expected
    assert [tuple(r.values()) for r in ask(graph, "riskiest-clusters")] == expected[:20]
    flagged = [row for row in expected if row[3]]
    assert [tuple(r.values()) for r in ask(graph, "riskiest-clusters", flagged_only=True, limit=3)] == flagged[:3]
    assert [r["cluster_id"] for r in ask(graph, "riskiest-clusters", min_risk=0.5, limit=1000)] == [
        row[0] for row in expected if row[2] >= 0.5
    ]


def test_verdicts_and_clusters_awaiting_verdict(graph):
    """Verdicts written as the CLI writes them; expectations from the two reports (same id = same group)."""
    from neo4j import GraphDatabase

    from graphlinker.analysis.verdicts import new_verdict
    from graphlinker.store.neo4j import Neo4jStore

    flagged_now = [c for c in graph.second["clusters"] if c["flagged"]]
    queue = [(c["cluster_id"], c["size"], c["risk_score"], [r["code"] for r in c["reasons"]], graph.second["run_id"])
             for c in flagged_now]  # the report's order: risk, then size, then id
    assert ask(graph, "verdicts") == []
    assert [tuple(r.values()) for r in ask(graph, "clusters-awaiting-verdict", limit=1000)] == queue
    ring = next(c for c in graph.first["clusters"] if GROW_SOURCE in c["accounts"])  # 8 accounts in run 1
    other = flagged_now[-1]
    records = [
        new_verdict(ring, graph.first["run_id"], "benign", note="QA", by="alice", at=pd.Timestamp("2026-11-01", tz="UTC")),
        new_verdict(other, graph.second["run_id"], "confirmed", by="bob", at=pd.Timestamp("2026-11-02", tz="UTC")),
        new_verdict(other, graph.second["run_id"], "unsure", by="carol", at=pd.Timestamp("2026-11-03", tz="UTC")),
    ]
    try:
        with Neo4jStore({**graph.settings, "mirror": "off"}) as store:
            for record in records:
                store.add_verdict(record)
        now = {c["cluster_id"]: c for c in graph.second["clusters"]}

        def row(record: dict) -> tuple:
            c = now.get(record["cluster_id"])
            joined = sorted(set(c["accounts"]) - set(record["members"])) if c else None
            return (record["cluster_id"], record["verdict"], record["by"], record["at"], record["note"], record["size"],
                    c and c["size"], c and c["risk_score"], c and c["flagged"], joined)

        expected = [row(records[2]), row(records[0])]  # each cluster's latest verdict, newest first
        assert [tuple(r.values()) for r in ask(graph, "verdicts")] == expected
        grown = now.get(ring["cluster_id"])
        if grown is not None:  # the grown ring kept its id: the three accounts that joined are named
            assert expected[1][-1] == sorted(GROWN)
        assert [tuple(r.values()) for r in ask(graph, "verdicts", verdict="benign")] == [row(records[0])]
        judged = {ring["cluster_id"], other["cluster_id"]}
        assert [tuple(r.values()) for r in ask(graph, "clusters-awaiting-verdict", limit=1000)] == [
            q for q in queue if q[0] not in judged]
    finally:
        with GraphDatabase.driver(graph.settings["uri"], auth=(graph.settings["user"], graph.settings["password"])) as driver:
            driver.execute_query("MATCH (v:Verdict) DELETE v", database_=graph.settings["database"])


def test_cluster_members(graph):
    requests = graph.requests.groupby("account_id").size()
    output = graph.requests.groupby("account_id")["output_tokens"].sum()
    created = graph.accounts.set_index("account_id")["created_at"]
    for cluster in graph.second["clusters"]:
        members = set(cluster["accounts"])
        inside = graph.edges[graph.edges["account_a"].isin(members) & graph.edges["account_b"].isin(members)]
        links = pd.concat([inside["account_a"], inside["account_b"]]).value_counts()
        rows = ask(graph, "cluster-members", cluster_id=cluster["cluster_id"])
        assert [r["account_id"] for r in rows] == cluster["accounts"]
        for row in rows:
            account = row["account_id"]
            assert row["requests"] == requests.get(account, 0)
            assert row["output_tokens"] == output.get(account, 0)
            assert ts(row["created_at"]) == _ms(created[account])
            assert row["links"] == links.get(account, 0)
    # a cluster of the earlier run, by run id: its members then, and no links (links are kept for the latest run)
    old = next(c for c in graph.first["clusters"] if GROW_SOURCE in c["accounts"])
    rows = ask(graph, "cluster-members", cluster_id=old["cluster_id"], run_id=graph.first["run_id"])
    assert [r["account_id"] for r in rows] == old["accounts"] and {r["links"] for r in rows} == {0}
    # the ring grew and kept its id (stable ids): without a run id the query answers for the latest run
    latest = next(c for c in graph.second["clusters"] if c["cluster_id"] == old["cluster_id"])
    assert len(latest["accounts"]) > len(old["accounts"])
    assert [r["account_id"] for r in ask(graph, "cluster-members", cluster_id=old["cluster_id"])] == latest["accounts"]
    assert ask(graph, "cluster-members", cluster_id="cl-0000000000") == []


def test_cluster_links(graph):
    for cluster in [c for c in graph.second["clusters"] if c["flagged"]]:
        members = set(cluster["accounts"])
        inside = graph.edges[graph.edges["account_a"].isin(members) & graph.edges["account_b"].isin(members)]
        signals = [c for c in inside.columns if c not in ("account_a", "account_b", "weight")]
        expected = {
            (r["account_a"], r["account_b"]): (r["weight"], {k: r[k] for k in signals if r[k] > 0}) for _, r in inside.iterrows()
        }
        rows = ask(graph, "cluster-links", cluster_id=cluster["cluster_id"])
        assert len(rows) == len(expected) == cluster["evidence"]["links"]["edges"]
        for row in rows:
            weight, similarity = expected[(row["account_a"], row["account_b"])]
            assert row["weight"] == pytest.approx(weight, abs=1e-5)
            got = {s["signal"]: s["similarity"] for s in row["signals"]}
            assert got.keys() == similarity.keys()
            assert all(got[k] == pytest.approx(similarity[k], abs=1e-5) for k in got)
            assert [s["similarity"] for s in row["signals"]] == sorted(got.values(), reverse=True)
        assert [r["weight"] for r in rows] == sorted((r["weight"] for r in rows), reverse=True)
        by_signal = pd.Series([s["signal"] for r in rows for s in r["signals"]]).value_counts().to_dict()
        assert by_signal == cluster["evidence"]["links"]["by_signal"]
        strong = ask(graph, "cluster-links", cluster_id=cluster["cluster_id"], min_weight=1.0)
        assert len(strong) == sum(1 for w, _ in expected.values() if w >= 1.0)


def test_account_neighbourhood(graph):
    full = nx.Graph()
    full.add_weighted_edges_from(graph.edges[["account_a", "account_b", "weight"]].itertuples(index=False, name=None))

    def expected(source: str, depth: int, min_weight: float) -> dict[str, int]:
        kept = nx.Graph([(a, b) for a, b, w in full.edges(data="weight") if w >= min_weight])
        if source not in kept:
            return {}
        return {n: d for n, d in nx.single_source_shortest_path_length(kept, source, cutoff=depth).items() if n != source}

    # a source whose neighbourhood keeps growing past one hop, so every ring is exercised
    far = max(sorted(full.nodes), key=lambda n: max(nx.single_source_shortest_path_length(full, n, cutoff=4).values()))
    assert max(expected(far, 4, 0.0).values()) >= 3
    cluster_of = graph.cluster_of
    for source, depth, min_weight in [(far, 1, 0.0), (far, 2, 0.0), (far, 3, 0.0), (far, 4, 0.0), (far, 4, 0.6), (GROW_SOURCE, 2, 0.0)]:
        rows = ask(graph, "account-neighbourhood", account_id=source, depth=depth, min_weight=min_weight)
        assert {r["account_id"]: r["hops"] for r in rows} == expected(source, depth, min_weight)
        assert [(r["hops"], r["account_id"]) for r in rows] == sorted((r["hops"], r["account_id"]) for r in rows)
        for row in rows:
            cluster = cluster_of.get(row["account_id"])
            assert row["cluster_id"] == (cluster["cluster_id"] if cluster else None)
            assert row["flagged"] == (cluster["flagged"] if cluster else None)
    limited = ask(graph, "account-neighbourhood", account_id=far, depth=4, limit=3)
    nearest = sorted((d, n) for n, d in expected(far, 4, 0.0).items())[:3]
    assert [(r["hops"], r["account_id"]) for r in limited] == nearest
    with pytest.raises(InputError, match="between 1 and 4"):
        bind(PACK["account-neighbourhood"], {"account_id": far, "depth": "5"})


# --- pivots on identifiers -----------------------------------------------------------------------------

def _check_accounts_rows(graph: Graph, rows: list[dict], usage: pd.DataFrame, first_key: str, last_key: str) -> None:
    created = graph.accounts.set_index("account_id")
    requests = graph.requests.groupby("account_id").size()
    cluster_of = graph.cluster_of
    expected = usage.groupby("account_id").agg(uses=("n", "size"), first=(first_key, "min"), last=(last_key, "max"))
    assert {r["account_id"] for r in rows} == set(expected.index)
    for row in rows:
        account = row["account_id"]
        assert row["uses"] == expected.at[account, "uses"]
        assert ts(row["first_seen"]) == _ms(expected.at[account, "first"])
        assert ts(row["last_seen"]) == _ms(expected.at[account, "last"])
        assert ts(row["created_at"]) == _ms(created.at[account, "created_at"])
        assert row["country"] == created.at[account, "country"]
        assert row["requests"] == requests.get(account, 0)
        cluster = cluster_of.get(account)
        assert (row["cluster_id"], row["flagged"]) == ((cluster["cluster_id"], cluster["flagged"]) if cluster else (None, None))


def test_accounts_by_payment(graph):
    for card in (GROW_CARD, CROSS_CARD, NEW_RING_CARD):
        used = graph.payments[graph.payments["payment_fingerprint"] == card].assign(n=1)
        rows = ask(graph, "accounts-by-payment", fingerprint=card)
        _check_accounts_rows(graph, rows, used, "added_at", "added_at")
        assert [(ts(r["first_seen"]), r["account_id"]) for r in rows] == sorted((ts(r["first_seen"]), r["account_id"]) for r in rows)
    assert {r["account_id"] for r in ask(graph, "accounts-by-payment", fingerprint=GROW_CARD)} >= set(GROWN) | {GROW_SOURCE}
    assert ask(graph, "accounts-by-payment", fingerprint="card_unknown") == []


def test_accounts_by_ip(graph):
    busiest = graph.requests.dropna(subset=["ip"]).groupby("ip")["account_id"].nunique().sort_values(ascending=False)
    for address in (NEW_RING_IP, busiest.index[0], graph.clusters[graph.cluster_of[GROW_SOURCE]["cluster_id"]]["evidence"]["shared_identifiers"]["ip"][0]["value"]):
        used = graph.requests[graph.requests["ip"] == address].assign(n=1)
        rows = ask(graph, "accounts-by-ip", address=address)
        _check_accounts_rows(graph, rows, used, "ts", "ts")
        assert [(-r["uses"], r["account_id"]) for r in rows] == sorted((-r["uses"], r["account_id"]) for r in rows)
    assert {r["account_id"] for r in ask(graph, "accounts-by-ip", address=NEW_RING_IP)} == set(NEW_RING)


def test_accounts_by_subnet(graph):
    with_ip = graph.requests.dropna(subset=["ip"])
    networks = {
        ip: str(ipaddress.ip_network(f"{ip}/{24 if ipaddress.ip_address(ip).version == 4 else 48}", strict=False)) for ip in with_ip["ip"].unique()
    }
    with_subnet = with_ip.assign(subnet=with_ip["ip"].map(networks))
    widest = with_subnet.groupby("subnet")["account_id"].nunique().sort_values(ascending=False).index[0]
    for cidr in ("198.51.100.0/24", "143.174.171.0/24", widest):
        used = with_subnet[with_subnet["subnet"] == cidr].assign(n=1)
        rows = ask(graph, "accounts-by-subnet", cidr=cidr)
        assert rows, cidr
        _check_accounts_rows(graph, rows, used, "ts", "ts")


def _evidence_graph(graph: Graph, include_windows: bool, max_sharing: int) -> nx.Graph:
    excluded = FEATURE_KINDS | (set() if include_windows else WINDOW_KINDS)
    usage = graph.usage[~graph.usage["kind"].isin(excluded)]
    sharing = usage.groupby(["kind", "value"])["account_id"].transform("nunique")
    usage = usage[sharing <= max_sharing]
    bipartite = nx.Graph()
    bipartite.add_edges_from((("account", a), (k, v)) for a, k, v in usage[["account_id", "kind", "value"]].itertuples(index=False))
    return bipartite


def test_evidence_path(graph):
    used = {(a, k, v) for a, k, v in graph.usage[["account_id", "kind", "value"]].itertuples(index=False)}
    clusters = graph.second["clusters"]
    pairs = [
        (GROW_SOURCE, GROWN[0]),
        (CROSS_ACCOUNT, GROWN[1]),
        (NEW_RING[0], NEW_RING[3]),
        (NEW_RING[0], GROW_SOURCE),
    ] + [(clusters[i]["accounts"][0], clusters[j]["accounts"][-1])
         for i, j in [(0, 3), (1, 5), (2, 8), (4, 10), (6, 12)] if j < len(clusters)]
    assert len(clusters) >= 6  # at least two pairs of different clusters are asked
    found = 0
    for include_windows, max_sharing in [(False, 300), (True, 300), (False, 3)]:
        bipartite = _evidence_graph(graph, include_windows, max_sharing)
        for source, target in pairs:
            try:
                length = nx.shortest_path_length(bipartite, ("account", source), ("account", target))
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                length = None
            expected = None if length is None or length > 8 else length // 2
            rows = ask(graph, "evidence-path", from_account=source, to_account=target, include_windows=include_windows, max_sharing=max_sharing)
            if expected is None:
                assert rows == [], (source, target)
                continue
            found += 1
            (row,) = rows
            assert row["hops"] == expected, (source, target, include_windows, max_sharing)
            assert row["accounts"][0] == source and row["accounts"][-1] == target and len(row["accounts"]) == expected + 1
            assert len(row["via"]) == expected and len(row["path"]["nodes"]) == 2 * expected + 1
            assert len(row["path"]["relationships"]) == 2 * expected
            for step, identifier in enumerate(row["via"]):
                kind, value = identifier.split(":", 1)
                assert kind not in FEATURE_KINDS and (include_windows or kind not in WINDOW_KINDS)
                assert (row["accounts"][step], kind, value) in used and (row["accounts"][step + 1], kind, value) in used
            if expected > 1:
                shorter = ask(graph, "evidence-path", from_account=source, to_account=target, include_windows=include_windows,
                              max_sharing=max_sharing, max_hops=expected - 1)
                assert shorter == []
    assert found >= 6
    assert ask(graph, "evidence-path", from_account=GROW_SOURCE, to_account=GROW_SOURCE) == []


def test_cluster_templates(graph):
    templated = graph.usage[graph.usage["kind"] == "template"]
    for cluster in graph.second["clusters"]:
        rows = ask(graph, "cluster-templates", cluster_id=cluster["cluster_id"], min_accounts=2)
        got = [
            {"template_id": r["template_id"], "accounts": r["accounts"], "requests": r["requests"],
             "extraction_tags": sorted(r["extraction_tags"]), "exemplar": r["exemplar"]}
            for r in rows[:5]
        ]
        wanted = [{**t, "extraction_tags": sorted(t["extraction_tags"])} for t in cluster["evidence"]["templates"]]
        assert got == wanted, cluster["cluster_id"]
        everything = ask(graph, "cluster-templates", cluster_id=cluster["cluster_id"])
        mine = templated[templated["account_id"].isin(cluster["accounts"])]
        assert sum(r["requests"] for r in everything) == mine["count"].sum()
        assert {r["template_id"] for r in everything} == set(mine["value"])
        assert sum(r["share"] for r in everything) == pytest.approx(1.0, abs=1e-3 * len(everything))
        prompt_count = graph.templates.set_index("template_id")["prompt_count"]
        assert all(r["prompt_count"] == prompt_count[r["template_id"]] for r in everything)


def _expected_changes(previous: dict, latest: dict, min_added: int = 1) -> list[tuple]:
    before = {c["cluster_id"]: set(c["accounts"]) for c in previous["clusters"]}
    rows = []
    for cluster in latest["clusters"]:
        members = set(cluster["accounts"])
        overlaps = {cid: len(members & m) for cid, m in before.items() if members & m}
        if not overlaps:
            rows.append((cluster["cluster_id"], "new", None, None, 0, sorted(members)))
            continue
        # the same id (ids carry over), else the previous cluster sharing most members
        best = cluster["cluster_id"] if cluster["cluster_id"] in overlaps else min(overlaps, key=lambda cid: (-overlaps[cid], cid))
        if len(members) > len(before[best]) and len(members) - overlaps[best] >= min_added:
            rows.append((cluster["cluster_id"], "grew", best, len(before[best]), overlaps[best], sorted(members - before[best])))
    return rows


def test_new_or_grown_clusters(graph):
    def got(rows):
        return [(r["cluster_id"], r["status"], r["previous_cluster_id"], r["previous_size"], r["overlap"], r["added_accounts"]) for r in rows]

    expected = _expected_changes(graph.first, graph.second)
    rows = ask(graph, "new-or-grown-clusters")
    assert got(rows) == expected
    assert {(r[1], tuple(r[5])) for r in expected} >= {("new", tuple(NEW_RING)), ("grew", tuple(GROWN))}
    for row in rows:
        cluster = graph.clusters[row["cluster_id"]]
        assert (row["size"], row["risk_score"], row["flagged"]) == (cluster["size"], cluster["risk_score"], cluster["flagged"])
        assert row["added"] == row["size"] - row["overlap"] == len(row["added_accounts"])
    assert got(ask(graph, "new-or-grown-clusters", previous_run_id=graph.first["run_id"])) == expected
    assert got(ask(graph, "new-or-grown-clusters", min_added=4)) == _expected_changes(graph.first, graph.second, 4)
    assert ask(graph, "new-or-grown-clusters", previous_run_id="run-missing") == []
    # against itself nothing is new
    assert ask(graph, "new-or-grown-clusters", previous_run_id=graph.second["run_id"]) == []


def test_hub_identifiers(graph):
    usage = graph.usage[~graph.usage["kind"].isin(FEATURE_KINDS)]
    flagged = graph.flagged_accounts

    def expected(kind=None, include_windows=False, min_accounts=2, limit=25):
        rows = usage if kind is not None or include_windows else usage[~usage["kind"].isin(WINDOW_KINDS)]
        if kind is not None:
            rows = rows[rows["kind"] == kind]
        grouped = rows.groupby(["kind", "value"]).agg(
            accounts=("account_id", "nunique"), uses=("count", "sum"),
            flagged_accounts=("account_id", lambda s: sum(a in flagged for a in set(s))),
        ).reset_index()
        grouped = grouped[grouped["accounts"] >= min_accounts]
        ordered = sorted(grouped.itertuples(index=False, name=None), key=lambda r: (-r[2], r[0], r[1]))
        return [(k, v, int(a), int(u), int(f)) for k, v, a, u, f in ordered[:limit]]

    for params in [{}, {"kind": "payment"}, {"kind": "ip", "limit": 5}, {"kind": "device", "min_accounts": 3},
                   {"include_windows": True, "limit": 40}, {"kind": "time", "limit": 10}, {"kind": "template", "min_accounts": 10}]:
        rows = ask(graph, "hub-identifiers", **params)
        assert [tuple(r.values()) for r in rows] == expected(**params), params
        assert rows or params.get("kind") == "template"


def test_creation_burst(graph):
    created = graph.accounts.dropna(subset=["created_at"])[["account_id", "created_at"]]
    created = created.sort_values(["created_at", "account_id"], ignore_index=True)
    cluster_of = graph.cluster_of

    def expected(window_hours=24, min_accounts=5, limit=50):
        window = pd.Timedelta(hours=window_hours)
        times, ids = list(created["created_at"]), list(created["account_id"])
        counts = [sum(1 for u in times if t <= u <= t + window) for t in times]
        anchors = [(ids[i], times[i], counts[i]) for i in range(len(ids)) if counts[i] >= min_accounts]
        kept = [
            x for x in anchors
            if not any(
                y[0] != x[0] and x[1] - window <= y[1] <= x[1] + window
                and (y[2] > x[2] or (y[2] == x[2] and (y[1] < x[1] or (y[1] == x[1] and y[0] < x[0]))))
                for y in anchors
            )
        ]
        kept = sorted(kept, key=lambda x: (-x[2], x[1]))[:limit]
        bursts = []
        for _, start, _ in kept:
            inside = created[(created["created_at"] >= start) & (created["created_at"] <= start + window)]
            members = list(inside["account_id"])
            bursts.append((inside["created_at"].min(), inside["created_at"].max(), len(members), members,
                           {cluster_of[a]["cluster_id"] for a in members if a in cluster_of},
                           sum(1 for a in members if a in cluster_of and cluster_of[a]["flagged"])))
        return sorted(bursts, key=lambda b: (-b[2], b[0]))

    for params in [{}, {"window_hours": 1, "min_accounts": 3}, {"window_hours": 6, "min_accounts": 8, "limit": 2}, {"window_hours": 72, "min_accounts": 12}]:
        rows = ask(graph, "creation-burst", **params)
        got = [(ts(r["burst_start"]), ts(r["burst_end"]), r["accounts"], r["account_ids"], set(r["clusters"]), r["flagged_accounts"]) for r in rows]
        assert got == expected(**params), params
        assert rows
    ring_burst = ask(graph, "creation-burst", window_hours=1, min_accounts=4)
    assert any(set(NEW_RING) <= set(r["account_ids"]) for r in ring_burst)


def test_new_model_pivot(graph):
    named = graph.requests.dropna(subset=["model"])
    release = named.groupby("model")["ts"].min()

    def expected(new_models, min_share=0.5, min_requests=10, limit=100):
        on_new = named[named["model"].isin(new_models)]
        per_account = on_new.groupby("account_id").agg(new=("model", "size"), first=("ts", "min"), models=("model", lambda m: sorted(set(m))))
        total = named.groupby("account_id").size()
        rows = []
        for account, r in per_account.iterrows():
            share = r["new"] / total[account]
            if r["new"] >= min_requests and share >= min_share:
                rows.append((account, r["models"], int(r["new"]), int(total[account]), share, r["first"]))
        return sorted(rows, key=lambda x: (-x[2], x[0]))[:limit]

    def got(rows):
        for row in rows:
            cluster = graph.cluster_of.get(row["account_id"])
            assert row["cluster_id"] == (cluster["cluster_id"] if cluster else None)
        return [(r["account_id"], r["models"], r["new_model_requests"], r["requests"], r["share"], ts(r["first_used"])) for r in rows]

    def same(got_rows, expected_rows):
        assert len(got_rows) == len(expected_rows)
        for g, e in zip(got_rows, expected_rows):
            assert g[:4] == e[:4] and g[5] == _ms(e[5])
            assert g[4] == pytest.approx(e[4], abs=6e-5)
        return True

    late = list(release[release >= release.min() + pd.Timedelta(days=7)].index)
    assert late == ["model-x"]
    rows = ask(graph, "new-model-pivot")
    assert same(got(rows), expected(late))
    assert set(NEW_RING) <= {r["account_id"] for r in rows}
    assert same(got(ask(graph, "new-model-pivot", model="model-c", min_share=0.6)), expected(["model-c"], min_share=0.6))
    since = pd.Timestamp("2026-09-01T01:00:00Z")
    assert same(got(ask(graph, "new-model-pivot", since=since.isoformat(), min_requests=5, limit=7)),
                expected(list(release[release >= since].index), min_requests=5, limit=7))
    assert same(got(ask(graph, "new-model-pivot", new_after_days=0, min_share=1.0)), expected(list(release.index), min_share=1.0))
    with pytest.raises(InputError):
        ask(graph, "new-model-pivot", since="not a date")


# --- history, sharing, templates, identifiers, runs ---------------------------------------------------

def test_account_cluster_history(graph):
    def expected(account):
        rows = []
        for report, latest in ((graph.first, False), (graph.second, True)):
            for c in report["clusters"]:
                if account in c["accounts"]:
                    rows.append((report["run_id"], latest, c["cluster_id"], c["size"], c["risk_score"], c["flagged"], [r["code"] for r in c["reasons"]]))
        return rows

    unclustered = sorted(set(graph.accounts["account_id"]) - set(graph.cluster_of))[0]
    for account in (GROW_SOURCE, GROWN[0], NEW_RING[0], CROSS_ACCOUNT, unclustered):
        rows = ask(graph, "account-cluster-history", account_id=account)
        assert [(r["run_id"], r["latest"], r["cluster_id"], r["size"], r["risk_score"], r["flagged"], r["reason_codes"]) for r in rows] == expected(account)
        assert [ts(r["started_at"]) for r in rows] == sorted(ts(r["started_at"]) for r in rows)
    assert len(ask(graph, "account-cluster-history", account_id=GROW_SOURCE)) == 2


def test_clusters_sharing_payment(graph):
    cluster_of = graph.cluster_of

    def expected(min_clusters=2, flagged_only=False, limit=50):
        rows = []
        for card, used in graph.payments.groupby("payment_fingerprint"):
            accounts = set(used["account_id"])
            clustered = {a for a in accounts if a in cluster_of}
            clusters = sorted({cluster_of[a]["cluster_id"] for a in clustered})
            flagged = sum(graph.clusters[c]["flagged"] for c in clusters)
            if len(clusters) >= min_clusters and (not flagged_only or flagged):
                rows.append((card, len(clusters), clusters, flagged, len(clustered), len(accounts)))
        return sorted(rows, key=lambda r: (-r[1], -r[3], r[0]))[:limit]

    rows = ask(graph, "clusters-sharing-payment")
    assert [tuple(r.values()) for r in rows] == expected()
    assert CROSS_CARD in {r["fingerprint"] for r in rows}
    assert [tuple(r.values()) for r in ask(graph, "clusters-sharing-payment", flagged_only=True, limit=1)] == expected(flagged_only=True, limit=1)
    assert [tuple(r.values()) for r in ask(graph, "clusters-sharing-payment", min_clusters=3)] == expected(min_clusters=3)


def test_extraction_templates(graph):
    tags = graph.templates.set_index("template_id")["extraction_tags"].fillna("")
    tagged = {t: sorted(x for x in s.split(";") if x) for t, s in tags.items() if s}
    sent = graph.usage[graph.usage["kind"] == "template"]
    cluster_of = graph.cluster_of

    def expected(tag=None, min_accounts=1, limit=50):
        rows = []
        for template, used in sent[sent["value"].isin(tagged)].groupby("value"):
            if tag is not None and tag not in tagged[template]:
                continue
            accounts = list(used["account_id"])
            if len(accounts) < min_accounts:
                continue
            top = [a for _, a in sorted(zip(-used["count"], used["account_id"]))][:10]
            rows.append((template, tagged[template], len(accounts), int(used["count"].sum()),
                         sum(1 for a in accounts if a in cluster_of and cluster_of[a]["flagged"]),
                         {cluster_of[a]["cluster_id"] for a in accounts if a in cluster_of}, top))
        return sorted(rows, key=lambda r: (-r[3], r[0]))[:limit]

    def got(rows):
        exemplars = graph.templates.set_index("template_id")["exemplar"]
        assert all(r["exemplar"] == exemplars[r["template_id"]] for r in rows)
        return [(r["template_id"], sorted(r["extraction_tags"]), r["accounts"], r["requests"], r["flagged_accounts"], set(r["clusters"]), r["top_senders"]) for r in rows]

    assert got(ask(graph, "extraction-templates")) == expected()
    common = pd.Series([t for ts_ in tagged.values() for t in ts_]).value_counts().index
    for tag in common[:3]:
        assert got(ask(graph, "extraction-templates", tag=tag, limit=500)) == expected(tag=tag, limit=500)
    assert got(ask(graph, "extraction-templates", min_accounts=4, limit=5)) == expected(min_accounts=4, limit=5)
    assert ask(graph, "extraction-templates", tag="no_such_tag") == []


def test_cluster_shared_identifiers(graph):
    usage = graph.usage[~graph.usage["kind"].isin(FEATURE_KINDS | WINDOW_KINDS | {"template"})]
    overall = usage.groupby(["kind", "value"])["account_id"].nunique()
    for cluster in graph.second["clusters"]:
        rows = ask(graph, "cluster-shared-identifiers", cluster_id=cluster["cluster_id"])
        by_kind: dict[str, list] = {}
        for row in rows:
            by_kind.setdefault(row["kind"], []).append({"value": row["value"], "accounts": row["accounts"]})
            assert row["accounts_overall"] == overall[(row["kind"], row["value"])]
        assert {k: v[:5] for k, v in by_kind.items()} == cluster["evidence"]["shared_identifiers"], cluster["cluster_id"]
        mine = usage[usage["account_id"].isin(cluster["accounts"])]
        shared = mine.groupby(["kind", "value"]).agg(accounts=("account_id", "nunique"), uses=("count", "sum"))
        shared = shared[shared["accounts"] >= 2]
        assert {(r["kind"], r["value"]): (r["accounts"], r["uses"]) for r in rows} == {
            k: (int(a), int(u)) for k, (a, u) in shared.iterrows()}
    everything = ask(graph, "cluster-shared-identifiers", cluster_id=graph.cluster_of[GROW_SOURCE]["cluster_id"], min_accounts=1)
    assert {r["accounts"] for r in everything} >= {1}


def test_runs(graph):
    rows = ask(graph, "runs")
    expected = [
        (report["run_id"], latest, "ok", report["summary"]["clusters"], report["summary"]["flagged_clusters"], report["summary"]["flagged_accounts"])
        for report, latest in ((graph.second, True), (graph.first, False))
    ]
    assert [(r["run_id"], r["latest"], r["outcome"], r["clusters"], r["flagged_clusters"], r["flagged_accounts"]) for r in rows] == expected
    assert ts(rows[0]["started_at"]) > ts(rows[1]["started_at"]) and ts(rows[0]["finished_at"]) >= ts(rows[0]["started_at"])
    assert [r["run_id"] for r in ask(graph, "runs", limit=1)] == [graph.second["run_id"]]


def test_account_identifiers(graph):
    sharing = graph.usage.groupby(["kind", "value"])["account_id"].nunique()
    for account in (GROW_SOURCE, CROSS_ACCOUNT, NEW_RING[0]):
        for include_windows in (False, True):
            mine = graph.usage[graph.usage["account_id"] == account]
            if not include_windows:
                mine = mine[~mine["kind"].isin(FEATURE_KINDS | WINDOW_KINDS)]
            expected = sorted(
                ((k, v, int(c), f, item, int(sharing[(k, v)]) - 1) for k, v, c, f, item in mine[["kind", "value", "count", "first_seen", "last_seen"]].itertuples(index=False)),
                key=lambda r: (-r[5], r[0], r[1]),
            )
            rows = ask(graph, "account-identifiers", account_id=account, include_windows=include_windows)
            got = [(r["kind"], r["value"], r["uses"], ts(r["first_seen"]), ts(r["last_seen"]), r["shared_with"]) for r in rows]
            assert got == [(k, v, c, _ms(f), _ms(item), s) for k, v, c, f, item, s in expected], (account, include_windows)


# --- queries with GDS and APOC ----------------------------------------------------------------------------

def _gds_graphs(graph: Graph) -> list[str]:
    _, rows = run_cypher(graph.settings, "CALL gds.graph.list() YIELD graphName RETURN graphName")
    return [r["graphName"] for r in rows]


def test_similar_accounts(graph):
    """Jaccard similarity of identifier sets (payment, ip, subnet, devices, ...), computed here from the usage table."""
    usage = graph.usage[~graph.usage["kind"].isin(FEATURE_KINDS | WINDOW_KINDS | {"template"})]
    identifiers = {a: set(g["kind"] + ":" + g["value"]) for a, g in usage.groupby("account_id")}
    cluster_of = graph.cluster_of
    checked = 0
    for account in (GROW_SOURCE, CROSS_ACCOUNT, NEW_RING[0]):
        mine = identifiers[account]
        expected = {other: (len(mine & theirs) / len(mine | theirs), mine & theirs)
                    for other, theirs in identifiers.items() if other != account and mine & theirs}
        order = sorted(expected, key=lambda a: (-expected[a][0], a))
        rows = ask(graph, "similar-accounts", account_id=account, limit=1000)
        assert [r["account_id"] for r in rows] == order, account
        for row in rows:
            similarity, shared = expected[row["account_id"]]
            assert row["similarity"] == pytest.approx(similarity, rel=1e-9)
            assert sorted(row["shared"]) == sorted(shared)
            cluster = cluster_of.get(row["account_id"])
            assert (row["cluster_id"], row["flagged"]) == ((cluster["cluster_id"], cluster["flagged"]) if cluster else (None, None))
        if account == GROW_SOURCE:
            top = ask(graph, "similar-accounts", account_id=account, limit=3)
            assert [r["account_id"] for r in top] == order[:3]
            cutoff = ask(graph, "similar-accounts", account_id=account, min_similarity=0.3, limit=1000)
            assert [r["account_id"] for r in cutoff] == [a for a in order if expected[a][0] >= 0.3]
        checked += len(rows)
    assert checked >= 10
    # the grown ring's new members share the card and device of the ring they joined
    assert {r["account_id"] for r in ask(graph, "similar-accounts", account_id=GROWN[0], limit=2)} <= set(GROWN) | {GROW_SOURCE}
    assert ask(graph, "similar-accounts", account_id="acct_unknown") == []
    assert _gds_graphs(graph) == []  # every projection was dropped


def _paths_expected(graph: Graph, starts: list[str], ends: list[str], include_windows: bool, max_sharing: int,
                    max_hops: int) -> dict[str, int]:
    """Multi-source breadth-first search over the evidence graph: hops from any start to each end, not through an end."""
    bipartite = _evidence_graph(graph, include_windows, max_sharing)
    targets = {("account", b) for b in ends}
    distance = {("account", a): 0 for a in starts if ("account", a) in bipartite}
    frontier, reached = list(distance), {}
    while frontier:
        following = []
        for node in frontier:
            if node in targets:
                reached[node[1]] = distance[node] // 2
                continue
            for neighbour in bipartite[node]:
                if neighbour not in distance and distance[node] + 1 <= 2 * max_hops:
                    distance[neighbour] = distance[node] + 1
                    following.append(neighbour)
        frontier = following
    return reached


def test_paths_between_clusters(graph):
    used = {(a, k, v) for a, k, v in graph.usage[["account_id", "kind", "value"]].itertuples(index=False)}
    cluster_of, clusters = graph.cluster_of, graph.clusters
    flagged = [c["cluster_id"] for c in graph.second["clusters"] if c["flagged"]]
    ring, other = cluster_of[GROW_SOURCE]["cluster_id"], cluster_of[CROSS_ACCOUNT]["cluster_id"]
    assert ring in flagged and other in flagged  # the card shared across two flagged rings joins them
    settings = [(False, 300, 3), (True, 300, 2), (False, 3, 4), (False, 300, 1)]
    cases = [(other, ring, *c) for c in settings] + [(ring, other, *settings[1])] + [
        (a, b, *settings[0]) for a, b in [(a, b) for a in flagged for b in flagged if a < b][:4]]
    found = 0
    for source, target, include_windows, max_sharing, max_hops in cases:
        expected = _paths_expected(graph, clusters[source]["accounts"], clusters[target]["accounts"],
                                   include_windows, max_sharing, max_hops)
        rows = ask(graph, "paths-between-clusters", from_cluster=source, to_cluster=target,
                   include_windows=include_windows, max_sharing=max_sharing, max_hops=max_hops, limit=10000)
        assert {r["to_account"]: r["hops"] for r in rows} == expected, (source, target, include_windows, max_sharing, max_hops)
        assert len(rows) == len(expected)
        assert [(r["hops"], r["to_account"]) for r in rows] == sorted((r["hops"], r["to_account"]) for r in rows)
        for row in rows:
            accounts = row["accounts"]
            assert row["from_account"] == accounts[0] and row["to_account"] == accounts[-1]
            assert accounts[0] in clusters[source]["accounts"] and accounts[-1] in clusters[target]["accounts"]
            assert len(accounts) == row["hops"] + 1 and len(row["via"]) == row["hops"]
            assert len(row["path"]["relationships"]) == 2 * row["hops"]
            for step, identifier in enumerate(row["via"]):
                kind, value = identifier.split(":", 1)
                assert kind not in FEATURE_KINDS and (include_windows or kind not in WINDOW_KINDS)
                assert (accounts[step], kind, value) in used and (accounts[step + 1], kind, value) in used
        found += len(rows)
    assert found > 0
    direct = ask(graph, "paths-between-clusters", from_cluster=other, to_cluster=ring, max_hops=1)
    on_card = set(graph.payments.loc[graph.payments["payment_fingerprint"] == CROSS_CARD, "account_id"])
    assert on_card & set(clusters[ring]["accounts"]) <= {r["to_account"] for r in direct} and direct
    assert len(ask(graph, "paths-between-clusters", from_cluster=other, to_cluster=ring, max_hops=4, limit=2)) == min(
        2, len(_paths_expected(graph, clusters[other]["accounts"], clusters[ring]["accounts"], False, 300, 4)))
    assert ask(graph, "paths-between-clusters", from_cluster=ring, to_cluster=ring) == []
    assert ask(graph, "paths-between-clusters", from_cluster=ring, to_cluster="cl-0000000000") == []


def _node_key(node: dict) -> tuple[str, str]:
    labels, props = node["labels"], node["properties"]
    for label, kind, key in (("Cluster", "cluster", "cluster_id"), ("Account", "account", "account_id"),
                             ("PaymentMethod", "payment", "fingerprint"), ("IP", "ip", "address"),
                             ("Subnet", "subnet", "cidr"), ("PromptTemplate", "template", "template_id")):
        if label in labels:
            return kind, props[key]
    assert labels == ["Identifier"], labels
    return props["kind"], props["value"]


def test_cluster_subgraph(graph):
    usage = graph.usage[~graph.usage["kind"].isin(FEATURE_KINDS | WINDOW_KINDS)]
    links = {frozenset(pair) for pair in graph.edges[["account_a", "account_b"]].itertuples(index=False)}
    old = next(c for c in graph.first["clusters"] if GROW_SOURCE in c["accounts"])
    flagged = [c for c in graph.second["clusters"] if c["flagged"]]
    cases = [(c, None, 2) for c in flagged] + [(c, None, 1) for c in flagged[:2]] + [(old, graph.first["run_id"], 2)]
    for cluster, run_id, min_accounts in cases:
        members = set(cluster["accounts"])
        mine = usage[usage["account_id"].isin(members)]
        sharing = mine.groupby(["kind", "value"])["account_id"].nunique()
        kept = {key for key, n in sharing.items() if n >= min_accounts}
        inside = {pair for pair in links if pair <= members} if run_id is None else set()
        by_run = {"run_id": run_id} if run_id else {}
        (row,) = ask(graph, "cluster-subgraph", cluster_id=cluster["cluster_id"], min_accounts=min_accounts, **by_run)
        nodes = {n["element_id"]: _node_key(n) for n in row["nodes"]}
        assert sorted(nodes.values()) == sorted({("cluster", cluster["cluster_id"])} | {("account", a) for a in members} | kept)
        got: dict[str, set] = {}
        for rel in row["relationships"]:
            got.setdefault(rel["type"], set()).add((nodes[rel["start"]], nodes[rel["end"]]))
        usage_pairs = {(("account", a), (k, v)) for a, k, v in mine[["account_id", "kind", "value"]].itertuples(index=False)
                       if (k, v) in kept}
        assert got.pop("MEMBER_OF", set()) == {(("account", a), ("cluster", cluster["cluster_id"])) for a in members}
        assert {frozenset((a[1], b[1])) for a, b in got.pop("LINKED", set())} == inside
        assert set().union(*got.values()) == usage_pairs
        assert set(got) <= {"PAID_WITH", "USED_IP", "IN_SUBNET", "SENT_TEMPLATE", "HAS_IDENTIFIER"}
        assert (row["accounts"], row["identifiers"], row["links"]) == (len(members), len(kept), len(inside))
    assert ask(graph, "cluster-subgraph", cluster_id="cl-0000000000") == []


def test_browser_favourites_set_the_parameters_the_queries_read(graph, tmp_path):
    """`query favourites` writes one favourite per query; its :param lines, evaluated by the server as Browser
    does, bind what `query run` binds (examples for required parameters, else defaults), then the query follows."""
    import zipfile

    from graphlinker.cli.query import query_app

    target = tmp_path / "favourites.zip"
    result = CliRunner().invoke(query_app, ["favourites", "--output", str(target)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as archive:
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert set(files) == {f"graphlinker/{name}.cypher" for name in PACK}
    for name, query in PACK.items():
        text = files[f"graphlinker/{name}.cypher"]
        lines = text.splitlines()
        assert lines[0] == f"// {query.title}"
        param_lines = [line for line in lines if line.startswith(":param ")]
        params = {}
        for line in param_lines:
            match = re.fullmatch(r":param (\w+) => (.*);", line)
            _, rows = run_cypher(graph.settings, f"RETURN {match[2]} AS value")
            params[match[1]] = rows[0]["value"]
        wanted = bind(query, {p.name: p.example for p in query.params if p.required})
        assert params == wanted, name
        body = text.split(param_lines[-1] + "\n", 1)[1] if param_lines else "\n".join(lines[2:]) + "\n"
        assert body == query.cypher + ";\n"
        if name in ("similar-accounts", "cluster-subgraph", "paths-between-clusters"):
            columns, rows = run_cypher(graph.settings, body.rstrip().rstrip(";"), params)
            assert (columns, rows) == run_query(graph.settings, query, wanted), name
    assert _gds_graphs(graph) == []


def _ms(value):
    """The stores keep timestamps to the millisecond."""
    return None if pd.isna(value) else pd.Timestamp(value).floor("ms")


# --- the whole pack, and the runner's guarantees ------------------------------------------------------

def test_every_query_is_exercised_by_a_row_level_test():
    source = Path(__file__).read_text()
    exercised = set(re.findall(r'ask\(\s*graph,\s*"([a-z0-9-]+)"', source))
    assert exercised == set(PACK), set(PACK) ^ exercised


@pytest.mark.parametrize("name", sorted(PACK))
def test_every_query_runs_with_its_examples(graph, name):
    query = PACK[name]
    columns, _ = run_query(graph.settings, query, bind(query, {p.name: p.example for p in query.params}))
    assert columns == query.returns


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE (:Junk {x: 1})",
        "MATCH (a:Account) SET a.junk = true RETURN count(a)",
        "MATCH (r:Run) DETACH DELETE r",
        "MERGE (j:Junk {x: 2}) RETURN j",
        "MATCH (a:Account) REMOVE a.country",
        "CREATE INDEX junk_x IF NOT EXISTS FOR (n:Junk) ON (n.x)",
        "MATCH (a:Account) CALL (a) { SET a.junk = 1 } IN TRANSACTIONS RETURN count(*)",
    ],
)
def test_writes_are_refused_by_the_server(graph, statement):
    with pytest.raises(InputError, match="query tried to write|Neo4j refused the query"):
        run_cypher(graph.settings, statement)
    _, rows = run_cypher(
        graph.settings,
        "RETURN COUNT { (j:Junk) } AS junk, COUNT { (a:Account) WHERE a.junk IS NOT NULL } AS touched, "
        "COUNT { (r:Run) } AS runs, COUNT { (a:Account) WHERE a.country IS NOT NULL } AS with_country",
    )
    assert rows[0]["junk"] == rows[0]["touched"] == 0 and rows[0]["runs"] == 2 and rows[0]["with_country"] > 0


def test_plain_writes_say_they_tried_to_write(graph):
    with pytest.raises(InputError, match="^query tried to write: "):
        run_cypher(graph.settings, "CREATE (:Junk)")


def test_ad_hoc_cypher_takes_parameters_and_converts_values(graph):
    columns, rows = run_cypher(
        graph.settings,
        "MATCH p = (a:Account {account_id: $id})-[r:PAID_WITH]->(m) RETURN a, r, p, a.created_at AS created, $n + 1 AS n",
        {"id": GROW_SOURCE, "n": 41},
    )
    assert columns == ["a", "r", "p", "created", "n"]
    row = rows[0]
    json.dumps(rows)  # everything is JSON-friendly
    assert row["a"]["labels"] == ["Account"] and row["a"]["properties"]["account_id"] == GROW_SOURCE
    assert row["r"]["type"] == "PAID_WITH" and row["r"]["start"] == row["a"]["element_id"]
    assert [n["labels"] for n in row["p"]["nodes"]] == [["Account"], ["PaymentMethod"]]
    assert ts(row["created"]) == graph.accounts.set_index("account_id").at[GROW_SOURCE, "created_at"]
    assert row["n"] == 42


def test_syntax_errors_carry_the_servers_message(graph):
    with pytest.raises(InputError, match="Invalid input"):
        run_cypher(graph.settings, "MATCH (n RETURN n")


def test_cli_run_and_cypher_against_the_server(graph, monkeypatch):
    import typer

    from graphlinker.cli.query import cypher_command, query_app
    from graphlinker.devserver import server

    monkeypatch.setattr(server, "connection_settings", lambda home=None: graph.settings)
    app = typer.Typer()
    app.add_typer(query_app, name="query")
    app.command("cypher")(cypher_command)
    runner = CliRunner()

    result = runner.invoke(app, ["query", "run", "riskiest-clusters", "--param", "limit=3", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["query"] == "riskiest-clusters" and document["params"]["limit"] == 3
    assert [r["cluster_id"] for r in document["rows"]] == [c["cluster_id"] for c in graph.second["clusters"][:3]]

    result = runner.invoke(app, ["query", "run", "cluster-members", "-p", f"cluster_id={graph.second['clusters'][0]['cluster_id']}", "-f", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == ",".join(PACK["cluster-members"].returns)
    assert [line.split(",")[0] for line in lines[1:]] == graph.second["clusters"][0]["accounts"]

    result = runner.invoke(app, ["query", "run", "riskiest-clusters", "-p", "limit=2"])
    assert result.exit_code == 0 and graph.second["clusters"][0]["cluster_id"] in result.stdout

    result = runner.invoke(app, ["cypher", "MATCH (c:Cluster) WHERE c.size >= $n RETURN count(c) AS n", "-p", "n=10", "-f", "json"])
    assert result.exit_code == 0, result.output
    expected = sum(1 for report in (graph.first, graph.second) for c in report["clusters"] if c["size"] >= 10)
    assert json.loads(result.stdout)["rows"] == [{"n": expected}]

    result = runner.invoke(app, ["cypher", "MATCH (c:Cluster) DETACH DELETE c"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == "" and "query tried to write" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = runner.invoke(app, ["cypher", "MATCH (n RETURN n"])
    assert result.exit_code == ExitCode.BAD_INPUT and result.stdout == ""


def test_no_nan_or_infinite_values_reach_json(graph):
    for name in ("riskiest-clusters", "new-model-pivot", "cluster-templates"):
        query = PACK[name]
        _, rows = run_query(graph.settings, query, bind(query, {p.name: p.example for p in query.params if p.required}))
        text = json.dumps(rows, allow_nan=False)
        assert not any(isinstance(v, float) and not math.isfinite(v) for r in rows for v in r.values()) and text
