"""Linking: TF-IDF cosine per signal, hub caps, rarity, determinism."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from itertools import combinations

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


# Linking settings written out here, unlike the defaults, so the expected weights below come from these
# numbers and not from the code that reads settings: device is deliberately absent from the weights and the
# floors, so it takes default_identifier_weight and default_min_similarity ("generic identifier kinds not listed").
WEIGHTS = {"payment": 0.8, "ip": 0.45, "subnet": 0.2, "template": 0.35}
DEFAULT_WEIGHT = 0.3
FLOORS = {"payment": 0.2, "ip": 0.05, "subnet": 0.1, "template": 0.05}
DEFAULT_FLOOR = 0.15
MIN_SHARED = {"template": 2}
MIN_EDGE_WEIGHT = 0.12
_defaults = Settings.load()
WRITTEN_OUT = dataclasses.replace(_defaults, linking={
    **_defaults.linking, "weights": WEIGHTS, "default_identifier_weight": DEFAULT_WEIGHT, "min_similarity": FLOORS,
    "default_min_similarity": DEFAULT_FLOOR, "min_shared": MIN_SHARED, "min_edge_weight": MIN_EDGE_WEIGHT,
    # the property test below has at most 10 accounts: below these, no identifier is "popular" and no account
    # has links pruned, so its expected links need neither coherence nor pruning
    "method": "coherence", "expand_limit": 32, "max_links_per_account": 25})


def documented_weight(similarities: dict[str, float]) -> float:
    """The link weight as README ("Linking") and analysis/linking.py document it: sum over kinds of
    weight(kind) x similarity(kind), weight(kind) from [linking.weights], else default_identifier_weight."""
    return sum(WEIGHTS.get(kind, DEFAULT_WEIGHT) * similarity for kind, similarity in similarities.items())


def edge(linkage, a, b):
    found = linkage.edges[(linkage.edges["account_a"] == min(a, b)) & (linkage.edges["account_b"] == max(a, b))]
    return None if found.empty else found.iloc[0]


def test_shared_card_links_with_payment_evidence():
    linkage = link_accounts(usage([("a", "payment", "card1", 1), ("b", "payment", "card1", 1), ("c", "payment", "card2", 1)]),
                            WRITTEN_OUT)
    ab = edge(linkage, "a", "b")
    # a and b used one card each, the same one: identical payment vectors, cosine 1; weight = 0.8 (payment) x 1
    assert ab is not None and ab["payment"] == pytest.approx(1.0)
    assert ab["weight"] == pytest.approx(0.8)
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


POOL = [f"acc{i}" for i in range(8)]
KINDS = ["payment", "ip", "subnet", "template", "device"]
VALUES = ["v1", "v2", "v3", "v4"]


@st.composite
def usage_with_a_linked_pair(draw):
    """Random usage of eight accounts, plus ring0 and ring1, who share a card nobody else has and no other
    card (payment cosine exactly 1, so a link of weight >= 0.8 > MIN_EDGE_WEIGHT: every example has an edge),
    share identifiers of some other kinds too (one or two templates: min_shared is 2 there), and use other
    identifiers from the eight accounts' values, which dilutes their similarities and links them to the eight."""
    rows = draw(st.lists(st.tuples(st.sampled_from(POOL), st.sampled_from(KINDS), st.sampled_from(VALUES), st.integers(1, 50)),
                         min_size=10, max_size=60, unique_by=lambda r: r[:3]))
    ring = draw(st.lists(st.tuples(st.sampled_from(["ring0", "ring1"]), st.sampled_from(KINDS[1:]), st.sampled_from(VALUES),
                                   st.integers(1, 50)), max_size=12, unique_by=lambda r: r[:3]))
    shared = [("payment", "card-ring")]
    for kind in sorted(draw(st.sets(st.sampled_from(KINDS[1:])))):
        copies = draw(st.integers(1, 2)) if kind == "template" else 1
        shared += [(kind, f"ring-{kind}-{i}") for i in range(copies)]
    ring += [(account, kind, value, draw(st.integers(1, 50))) for account in ("ring0", "ring1") for kind, value in shared]
    return rows + ring


def documented_links(rows) -> dict[tuple[str, str], dict[str, float] | None]:
    """The links every pair of accounts should get, per kind, by the documented formula (README "Linking",
    analysis/account_vectors.py): an account's vector for a kind weighs each identifier by its share of the
    account's usage of that kind times log(1 + N/d), d = accounts that used it, N = accounts that used any
    identifier of that kind; similarity = cosine, counted 0 below the kind's floor or with fewer shared
    identifiers than min_shared; a pair links when the weight (documented_weight) reaches MIN_EDGE_WEIGHT.
    (No identifier here has more than expand_limit users, and no account more than max_links_per_account
    partners, so coherence and pruning leave these links alone.) None for a pair with a cosine within 1e-9
    of its floor, which rounding could put on either side."""
    used: dict[tuple[str, str], dict[str, int]] = {}
    for account, kind, value, count in rows:
        used.setdefault((account, kind), {})[value] = count
    users = Counter((kind, value) for (_, kind), values in used.items() for value in values)
    users_of_kind = Counter(kind for _, kind in used)

    def vector(account, kind):
        values = used.get((account, kind), {})
        total = sum(values.values())
        return {v: c / total * math.log(1 + users_of_kind[kind] / users[(kind, v)]) for v, c in values.items()}

    links = {}
    for a, b in combinations(sorted({row[0] for row in rows}), 2):
        similarities = {}
        for kind in KINDS:
            left, right = vector(a, kind), vector(b, kind)
            shared = left.keys() & right.keys()
            if not shared:
                continue
            cosine = sum(left[v] * right[v] for v in shared) / math.sqrt(
                sum(x * x for x in left.values()) * sum(x * x for x in right.values()))
            floor = FLOORS.get(kind, DEFAULT_FLOOR)
            if abs(cosine - floor) < 1e-9:
                similarities = None
                break
            if cosine > floor and len(shared) >= MIN_SHARED.get(kind, 1):
                similarities[kind] = min(cosine, 1.0)
        links[(a, b)] = similarities
    return links


@hsettings(max_examples=40, deadline=None)
@given(usage_with_a_linked_pair(), st.randoms(use_true_random=False))
def test_linking_properties(rows, rnd):
    first = link_accounts(usage(rows), WRITTEN_OUT)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    second = link_accounts(usage(shuffled), WRITTEN_OUT)
    pd.testing.assert_frame_equal(first.edges, second.edges, check_exact=False)
    edges = first.edges
    kinds = list(first.kinds)
    ring = edge(first, "ring0", "ring1")
    assert ring is not None and ring["payment"] == pytest.approx(1.0)  # so the checks below never run on no edge
    assert (edges["account_a"] < edges["account_b"]).all()
    assert ((edges[kinds] >= 0) & (edges[kinds] <= 1.0 + 1e-9)).all().all()
    for row in edges.itertuples(index=False):
        evidence = {kind: getattr(row, kind) for kind in kinds}
        assert row.weight == pytest.approx(documented_weight(evidence), abs=1e-9)
    assert (edges["weight"] >= MIN_EDGE_WEIGHT).all()
    # every link, and every similarity on it, is the documented one; a pair within 1e-9 of a floor or of
    # MIN_EDGE_WEIGHT could go either way on rounding and is left out of the comparison
    expected = documented_links(rows)
    found = {(row.account_a, row.account_b): row for row in edges.itertuples(index=False)}
    assert set(found) <= set(expected)
    for pair, similarities in expected.items():
        if similarities is None or abs(documented_weight(similarities) - MIN_EDGE_WEIGHT) < 1e-9:
            continue
        weight = documented_weight(similarities)
        assert (pair in found) == (weight > MIN_EDGE_WEIGHT), (pair, similarities, weight)
        if pair in found:
            got = {kind: getattr(found[pair], kind) for kind in kinds if getattr(found[pair], kind) > 0}
            assert got.keys() == similarities.keys() and got == pytest.approx(similarities, abs=1e-9), pair
            assert found[pair].weight == pytest.approx(weight, abs=1e-9)


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


def _ring_and_strangers():
    """A 300-account ring sharing a /24 and templates, with 200 strangers: thousands of linked pairs."""
    rows = []
    for i in range(300):
        who = f"op{i}"
        rows += [(who, "payment", f"card-{who}", 1), (who, "subnet", "45.12.9.0/24", 30), (who, "ip", f"45.12.9.{i % 7}", 4)]
        rows += [(who, "template", f"harvest-{t}", 10) for t in range(i % 3, 4)]
    return rows + _strangers(200, "b", np.random.default_rng(5))


def test_feature_kind_rows_change_nothing(settings):
    """Linking reads the rows of linking kinds through a mask, not a filtered copy: feature-kind rows
    (model, hour, client), and accounts that have nothing else, leave the vectors and the links as they were."""
    rows = _ring_and_strangers()
    rng = np.random.default_rng(6)
    noise = [(f"op{i}", kind, f"{kind}-{rng.integers(5)}", 2) for i in range(0, 300, 3) for kind in ("model", "hour", "client")]
    noise += [(f"only-features-{i}", "model", "m-1", 5) for i in range(20)]
    mixed = rows + noise
    order = rng.permutation(len(mixed))
    plain, with_features = link_accounts(usage(rows), settings), link_accounts(usage([mixed[i] for i in order]), settings)
    assert len(plain.edges) > 1000
    pd.testing.assert_frame_equal(plain.edges, with_features.edges)
    assert plain.vectors.accounts.equals(with_features.vectors.accounts)
    assert not any(name.startswith("only-features") for name in with_features.vectors.accounts)
    assert (plain.vectors.matrix != with_features.vectors.matrix).nnz == 0
    pd.testing.assert_frame_equal(plain.hubs, with_features.hubs)


def test_weighing_in_chunks_keeps_the_same_links(settings, monkeypatch):
    """Candidate pairs are weighed in chunks whose cosines are joined only for the links kept; chunks of a few
    pairs (so every boundary falls inside an account's links) give the links, pruned or not, of one chunk."""
    import graphlinker.analysis.linking as linking

    frame = usage(_ring_and_strangers())
    for k in (3, 0):  # pruned to each account's 3 strongest, and not pruned
        chosen = dataclasses.replace(settings, linking={**settings.linking, "max_links_per_account": k})
        whole = link_accounts(frame, chosen)
        monkeypatch.setattr(linking, "WEIGH_CHUNK", 7)
        chunked = link_accounts(frame, chosen)
        monkeypatch.undo()
        assert len(whole.edges) > 300
        pd.testing.assert_frame_equal(whole.edges, chunked.edges)
        for one, other in zip(whole.linked_pairs, chunked.linked_pairs):
            np.testing.assert_array_equal(one, other)
    assert len(link_accounts(frame, dataclasses.replace(settings, linking={**settings.linking, "max_links_per_account": 3})).edges) < len(whole.edges)


def _popular_pair_of_templates_and_chance_minutes(chance: bool):
    """80 accounts that all send two popular templates, each active in six minutes of its own; with ``chance``,
    40 pairs of them also happen to share one minute (fewer than ``[linking.min_shared] time``, 3)."""
    rows = []
    for i in range(80):
        rows += [(f"a{i}", "template", "popular-1", 20), (f"a{i}", "template", "popular-2", 20)]
        rows += [(f"a{i}", "time", f"own-{i}-{m}", 1) for m in range(6)]
    if chance:
        rng = np.random.default_rng(3)
        for k in range(40):
            i, j = rng.choice(80, 2, replace=False)
            rows += [(f"a{i}", "time", f"chance-{k}", 1), (f"a{j}", "time", f"chance-{k}", 1)]
    return rows


def test_min_shared_candidates_do_not_depend_on_chance_minutes(settings):
    """``candidate_pairs = "min_shared"``: a pair that shares fewer minutes than ``min_shared.time`` gets no time
    similarity, so one shared minute no longer makes it a candidate for the other signals either. Which users of a
    popular template are compared then does not depend on who happened to be active in the same minute; with
    ``"any"`` it does (those pairs are linked through the popular templates)."""
    assert settings.linking.min_shared["time"] == 3
    for mode in ("min_shared", "any"):
        chosen = dataclasses.replace(settings, linking={**settings.linking, "candidate_pairs": mode})
        quiet = link_accounts(usage(_popular_pair_of_templates_and_chance_minutes(False)), chosen).edges
        busy = link_accounts(usage(_popular_pair_of_templates_and_chance_minutes(True)), chosen).edges
        pairs = lambda edges: set(zip(edges["account_a"], edges["account_b"]))  # noqa: E731
        assert len(quiet) >= 80 * 2  # the popular templates' windows link every account to its neighbours
        if mode == "min_shared":
            assert pairs(busy) == pairs(quiet)
        else:
            assert len(pairs(busy) - pairs(quiet)) >= 30
