"""Linking: TF-IDF cosine per signal, hub caps, rarity, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from graphlinker.analysis.linking import link_accounts
from graphlinker.settings import Settings

T0 = pd.Timestamp("2026-09-01", tz="UTC")


def usage(rows):
    frame = pd.DataFrame(rows, columns=["account_id", "kind", "value", "count"])
    return frame.assign(first_seen=T0, last_seen=T0)


@pytest.fixture(scope="module")
def settings():
    return Settings.load()


def edge(linkage, a, b):
    found = linkage.edges[(linkage.edges["account_a"] == min(a, b)) & (linkage.edges["account_b"] == max(a, b))]
    return None if found.empty else found.iloc[0]


def test_shared_card_links_with_payment_evidence(settings):
    linkage = link_accounts(usage([("a", "payment", "card1", 1), ("b", "payment", "card1", 1), ("c", "payment", "card2", 1)]), settings)
    ab = edge(linkage, "a", "b")
    assert ab is not None and ab["payment"] == pytest.approx(1.0)
    assert ab["weight"] == pytest.approx(settings.signal_weight("payment"))
    assert edge(linkage, "a", "c") is None


def test_hub_caps_method_still_reports_identifiers_above_the_cap(tmp_path):
    (tmp_path / "capped.toml").write_text('[linking]\nmethod = "hub_caps"\n')
    settings = Settings.load(tmp_path / "capped.toml")
    cap = settings.hub_cap("ip")
    rows = [(f"u{i}", "ip", "100.64.0.1", 1) for i in range(cap + 1)] + [("x", "ip", "10.0.0.1", 1), ("y", "ip", "10.0.0.1", 1)]
    linkage = link_accounts(usage(rows), settings)
    assert set(zip(linkage.edges["account_a"], linkage.edges["account_b"])) == {("x", "y")}
    hub = linkage.hubs.iloc[0]
    assert (hub["kind"], hub["value"], hub["accounts"]) == ("ip", "100.64.0.1", cap + 1)


def test_one_shared_popular_template_among_varied_prompts_is_weak(settings):
    """Two users who each sent one common template among 40 unique prompts are not linked;
    two accounts sending the same (two) templates all day are.  One shared template alone never
    links (``[linking.min_shared] template = 2``): near-duplicate templates are broad."""
    rows = []
    for user in ("u1", "u2"):
        rows += [(user, "template", "summarize", 1)] + [(user, "template", f"{user}-{i}", 1) for i in range(40)]
    rows += [("op1", "template", "harvest", 300), ("op2", "template", "harvest", 280), ("op1", "template", "op1-x", 2)]
    rows += [("op1", "template", "harvest-2", 100), ("op2", "template", "harvest-2", 90)]
    rows += [("one1", "template", "only", 50), ("one2", "template", "only", 50)]
    linkage = link_accounts(usage(rows), settings)
    assert edge(linkage, "u1", "u2") is None
    assert edge(linkage, "op1", "op2")["template"] > 0.9
    assert settings.linking["min_shared"]["template"] == 2 and edge(linkage, "one1", "one2") is None


def test_rarer_shared_identifier_weighs_more(settings):
    """Each account splits its traffic between its own IP and one shared IP; a shared IP used by
    fewer accounts gives a higher similarity (IDF)."""
    rows = [("a", "ip", "rare", 10), ("b", "ip", "rare", 10), ("a", "ip", "a-own", 2), ("b", "ip", "b-own", 2)]
    rows += [(f"c{i}", "ip", "common", 10) for i in range(30)] + [(f"c{i}", "ip", f"c{i}-own", 2) for i in range(30)]
    linkage = link_accounts(usage(rows), settings)
    assert edge(linkage, "a", "b")["ip"] > edge(linkage, "c0", "c1")["ip"]


def test_time_signal_needs_enough_active_windows(settings):
    few = settings.linking["min_active_windows"] - 1
    rows = [(acct, "time", str(w), 1) for acct in ("a", "b") for w in range(few)]
    assert link_accounts(usage(rows), settings).edges.empty
    rows = [(acct, "time", str(w), 1) for acct in ("a", "b") for w in range(few + 5)]
    assert edge(link_accounts(usage(rows), settings), "a", "b")["time"] == pytest.approx(1.0)


def test_feature_kinds_never_link(settings):
    rows = [(a, kind, "x", 3) for a in ("a", "b") for kind in ("model", "hour", "client")]
    assert link_accounts(usage(rows), settings).edges.empty


def test_weak_single_subnet_share_stays_below_edge_threshold(settings):
    linkage = link_accounts(usage([("a", "subnet", "203.0.113.0/24", 3), ("b", "subnet", "203.0.113.0/24", 9)]), settings)
    assert settings.signal_weight("subnet") < settings.linking["min_edge_weight"]
    assert linkage.edges.empty


@hsettings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([f"acc{i}" for i in range(8)]),
            st.sampled_from(["payment", "ip", "subnet", "template", "device"]),
            st.sampled_from(["v1", "v2", "v3", "v4"]),
            st.integers(1, 50),
        ),
        min_size=1,
        max_size=60,
        unique_by=lambda r: r[:3],
    ),
    st.randoms(use_true_random=False),
)
def test_linking_properties(rows, rnd):
    settings = Settings.load()
    first = link_accounts(usage(rows), settings)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    second = link_accounts(usage(shuffled), settings)
    pd.testing.assert_frame_equal(first.edges, second.edges, check_exact=False)
    edges = first.edges
    kinds = list(first.kinds)
    assert (edges["account_a"] < edges["account_b"]).all()
    assert ((edges[kinds] >= 0) & (edges[kinds] <= 1.0 + 1e-9)).all().all()
    expected = edges[kinds].to_numpy() @ np.array([settings.signal_weight(k) for k in kinds])
    np.testing.assert_allclose(edges["weight"], expected)
    assert (edges["weight"] >= settings.linking["min_edge_weight"]).all()


def _strangers(n, prefix, rng):
    """``n`` unrelated people: own card, own templates, a few own busy minutes."""
    rows = []
    for i in range(n):
        who = f"{prefix}{i}"
        rows += [(who, "payment", f"card-{who}", 1), (who, "template", f"tpl-{who}-{rng.integers(1 << 30)}", 3)]
        rows += [(who, "time", str(int(w)), 1) for w in rng.choice(40_000, 8, replace=False)]
    return rows


def test_carrier_nat_of_thousands_of_strangers_links_nobody(settings):
    """2,000 unrelated users behind one carrier IP and its /24: far more than expand_limit, no coherence."""
    rng = np.random.default_rng(3)
    rows = _strangers(2000, "m", rng)
    rows += [(f"m{i}", "ip", "172.56.14.9", 20) for i in range(2000)] + [(f"m{i}", "subnet", "172.56.14.0/24", 20) for i in range(2000)]
    linkage = link_accounts(usage(rows), settings)
    assert linkage.edges.empty
    nat = linkage.hubs.set_index("value").loc["172.56.14.9"]
    assert nat["accounts"] == 2000 and nat["weight_kept"] == 0.0


def test_large_operation_sharing_templates_and_a_subnet_is_linked_without_all_pairs(settings):
    """A 3,000-account ring (one card each) sharing three templates and a /24: every member linked,
    into one connected graph, with at most max_links_per_account-ish links each rather than 3,000."""
    import igraph as ig

    n = 3000
    rows = []
    for i in range(n):
        who = f"op{i}"
        rows += [(who, "payment", f"card-{who}", 1), (who, "subnet", "45.12.9.0/24", 30)]
        rows += [(who, "template", f"harvest-{t}", 10) for t in range(3)]
    rows += _strangers(500, "b", np.random.default_rng(4))
    linkage = link_accounts(usage(rows), settings)
    edges = linkage.edges
    members = set(edges["account_a"]) | set(edges["account_b"])
    assert members == {f"op{i}" for i in range(n)}
    degree = pd.concat([edges["account_a"], edges["account_b"]]).value_counts()
    assert degree.max() <= 4 * settings.linking["max_links_per_account"]
    graph = ig.Graph.TupleList(edges[["account_a", "account_b"]].itertuples(index=False))
    assert len(graph.connected_components()) == 1
    assert not linkage.hubs["kind"].eq("template").any()  # the ring's templates keep all their weight
