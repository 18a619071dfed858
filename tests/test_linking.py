"""Linking: TF-IDF cosine per signal, hub caps, rarity, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from graphlinker.config import Settings
from graphlinker.linking import link_accounts

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


def test_identifier_above_hub_cap_is_reported_not_expanded(settings):
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
