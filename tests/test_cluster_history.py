"""Cluster identity across runs (assign_stable_ids) and run-to-run diffs (diff_runs)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from graphlinker.analysis.cluster_history import CHANGES, assign_stable_ids, diff_runs, format_diff_table


def fresh(members: list[str]) -> str:
    """A readable stand-in for graphlinker.analysis.cluster_history.cluster_id_for."""
    return "fresh:" + ",".join(members)


def accts(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(start, start + n)]


# --------------------------------------------------------------------------- assign_stable_ids


def test_growth_from_10_to_40_keeps_the_id():
    previous = {"cl-ring": accts("a", 10)}
    grown = {0: accts("a", 10) + accts("b", 30)}
    assert assign_stable_ids(grown, previous, fresh) == {0: "cl-ring"}


def test_cluster_losing_most_of_its_old_members_does_not_keep_the_id():
    previous = {"cl-ring": accts("a", 10)}
    new = {0: accts("a", 4) + accts("b", 30)}
    assert assign_stable_ids(new, previous, fresh) == {0: fresh(new[0])}


def test_split_keeps_the_id_on_the_largest_part_and_the_rest_gets_a_fresh_id():
    previous = {"cl-ring": accts("a", 10)}
    new = {"small": accts("a", 4, start=6), "large": accts("a", 6)}
    assert assign_stable_ids(new, previous, fresh) == {"large": "cl-ring", "small": fresh(accts("a", 4, start=6))}


def test_merge_keeps_the_id_of_the_old_cluster_with_the_largest_overlap():
    previous = {"cl-a": accts("a", 4), "cl-b": accts("b", 8)}
    assert assign_stable_ids({0: accts("a", 4) + accts("b", 8)}, previous, fresh) == {0: "cl-b"}


def test_merge_tie_on_overlap_prefers_the_larger_old_cluster_then_the_smaller_id():
    # cl-a (5) is wholly inside; cl-b (8) has 5 inside too: equal overlap, cl-b is larger
    previous = {"cl-a": accts("a", 5), "cl-b": accts("b", 8)}
    new = {0: accts("a", 5) + accts("b", 5), 1: accts("b", 3, start=5)}
    assert assign_stable_ids(new, previous, fresh)[0] == "cl-b"
    # equal overlap and equal size: the smaller id string wins
    previous = {"cl-z": accts("z", 4), "cl-a": accts("a", 4)}
    assert assign_stable_ids({0: accts("z", 4) + accts("a", 4)}, previous, fresh) == {0: "cl-a"}


def test_one_old_id_goes_to_one_new_cluster_only():
    previous = {"cl-ring": accts("a", 10)}
    new = {0: accts("a", 5) + ["x"], 1: accts("a", 5, start=5)}  # both contain exactly half
    ids = assign_stable_ids(new, previous, fresh)
    assert sorted(ids.values()).count("cl-ring") == 1
    assert len(set(ids.values())) == 2


def test_one_new_cluster_takes_one_old_id_and_the_other_old_id_is_free_for_another():
    # cl-b has half of itself in each new cluster; 0 already took cl-a, so 1 gets cl-b
    previous = {"cl-a": accts("a", 6), "cl-b": accts("b", 4)}
    new = {0: accts("a", 6) + accts("b", 2), 1: accts("b", 2, start=2) + ["x"]}
    assert assign_stable_ids(new, previous, fresh) == {0: "cl-a", 1: "cl-b"}


def test_unrelated_new_cluster_gets_a_fresh_id_from_its_sorted_members():
    previous = {"cl-ring": accts("a", 10)}
    new = {7: ["z2", "z1", "z3"]}
    assert assign_stable_ids(new, previous, fresh) == {7: "fresh:z1,z2,z3"}


def test_fresh_id_collisions_get_deterministic_suffixes():
    previous = {"cl-a": accts("a", 4), "cl-gone": accts("g", 4)}
    new = {0: accts("a", 4), 1: ["x1", "x2"], 2: ["y1", "y2"], 3: ["w1", "w2"]}
    ids = assign_stable_ids(new, previous, lambda members: "cl-a")
    # fresh ids are handed out by smallest member: w1 < x1 < y1
    assert ids == {0: "cl-a", 1: "cl-a-3", 2: "cl-a-4", 3: "cl-a-2"}
    # a vanished old id is not reused for a different group either
    ids = assign_stable_ids({0: ["x1", "x2"]}, previous, lambda members: "cl-gone")
    assert ids == {0: "cl-gone-2"}


def test_empty_inputs():
    assert assign_stable_ids({}, {"cl-a": ["a"]}, fresh) == {}
    assert assign_stable_ids({0: ["a", "b"]}, {}, fresh) == {0: "fresh:a,b"}


def _shuffled(clusters: dict, rng: random.Random) -> dict:
    items = list(clusters.items())
    rng.shuffle(items)
    return {key: rng.sample(list(members), len(members)) for key, members in items}


def test_shuffled_inputs_give_the_same_ids():
    previous = {
        "cl-even": accts("e", 10),  # split 5/5: a pure tie between two new clusters
        "cl-a": accts("a", 4),
        "cl-b": accts("b", 4),  # merged with cl-a: tie on overlap and size, cl-a wins
        "cl-c": accts("c", 6),
    }
    new = {
        "p": accts("e", 5),
        "q": accts("e", 5, start=5),
        "ab": accts("a", 4) + accts("b", 4),
        "c": accts("c", 6) + ["n1"],
        "n": ["n2", "n3"],
    }
    expected = assign_stable_ids(new, previous, fresh)
    assert expected["p"] == "cl-even" and expected["ab"] == "cl-a" and expected["c"] == "cl-c"
    rng = random.Random(7)
    for _ in range(20):
        assert assign_stable_ids(_shuffled(new, rng), _shuffled(previous, rng), fresh) == expected


accounts_st = st.lists(st.sampled_from([f"u{i}" for i in range(25)]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    new=st.dictionaries(st.integers(0, 30), accounts_st, max_size=10),
    previous=st.dictionaries(st.sampled_from([f"o{i}" for i in range(12)]), accounts_st, max_size=8),
    collide=st.booleans(),
)
def test_property_ids_are_one_to_one_and_inherited_only_by_containment(new, previous, collide):
    fresh_id = (lambda members: "o0") if collide else fresh
    ids = assign_stable_ids(new, previous, fresh_id)
    assert list(ids) == list(new)  # every new cluster gets exactly one id
    assert all(isinstance(i, str) for i in ids.values())
    assert len(set(ids.values())) == len(ids)  # all distinct, so each old id used at most once
    for key, cid in ids.items():
        if cid in previous:
            old, shared = set(previous[cid]), set(new[key]) & set(previous[cid])
            assert shared and 2 * len(shared) >= len(old)


# --------------------------------------------------------------------------- diff_runs


def cluster(cid: str, accounts: list[str], risk: float, flagged: bool) -> dict:
    return {"cluster_id": cid, "size": len(accounts), "risk_score": risk, "flagged": flagged,
            "accounts": sorted(accounts), "reasons": [], "evidence": {}}


def report(run_id: str, *clusters: dict) -> dict:
    return {"run_id": run_id, "clusters": list(clusters), "summary": {}}


@pytest.fixture
def runs() -> tuple[dict, dict]:
    old = report(
        "run-1",
        cluster("A", accts("a", 4), 0.2, False),  # grows and gets flagged
        cluster("B", accts("b", 6), 0.8, True),  # shrinks and gets unflagged
        cluster("C", accts("c", 6), 0.5, False),  # splits: keeps half, C2 takes the rest
        cluster("D", accts("d", 4), 0.4, False),
        cluster("E", accts("e", 2), 0.3, False),  # merged into D
        cluster("F", accts("f", 6), 0.6, True),  # dissolves; two members end up in N1
        cluster("H", accts("h", 3), 0.1, False),  # dissolves without trace
        cluster("S", accts("s", 8), 0.7, True),  # id vanishes, members spread over P and Q
        cluster("K", accts("k", 3), 0.5, False),  # unchanged: no entry
    )
    new = report(
        "run-2",
        cluster("A", accts("a", 6), 0.9, True),
        cluster("B", accts("b", 4), 0.3, False),
        cluster("C", accts("c", 3), 0.5, False),
        cluster("C2", accts("c", 3, start=3), 0.45, False),
        cluster("D", accts("d", 4) + accts("e", 2), 0.6, False),
        cluster("N1", accts("f", 2) + accts("n", 4), 0.35, False),
        cluster("N2", accts("x", 3), 0.95, False),
        cluster("P", accts("s", 3) + ["p1"], 0.2, False),
        cluster("Q", accts("s", 3, start=3), 0.25, False),
        cluster("K", accts("k", 3), 0.5, False),
    )
    return old, new


def by_change(diff: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for entry in diff["changes"]:
        out.setdefault(entry["change"], {})[entry["cluster_id"]] = entry
    return out


def test_diff_reports_every_category_with_its_related_clusters(runs):
    diff = diff_runs(*runs)
    assert (diff["from_run"], diff["to_run"]) == ("run-1", "run-2")
    assert diff["counts"] == {"new": 2, "grown": 1, "shrunk": 1, "merged": 1, "split": 2,
                              "dissolved": 2, "flagged": 1, "unflagged": 1}
    got = {change: {cid: e["related"] for cid, e in entries.items()} for change, entries in by_change(diff).items()}
    assert got == {
        "new": {"N1": [], "N2": []},
        "grown": {"A": []},
        "shrunk": {"B": []},
        "merged": {"D": ["E"]},
        "split": {"C": ["C2"], "S": ["P", "Q"]},
        "dissolved": {"F": ["N1"], "H": []},
        "flagged": {"A": []},
        "unflagged": {"B": []},
    }


def test_diff_entries_carry_before_and_after_of_the_same_id(runs):
    entries = by_change(diff_runs(*runs))
    assert entries["grown"]["A"] == {
        "change": "grown", "cluster_id": "A", "size_before": 4, "size_after": 6, "risk_before": 0.2, "risk_after": 0.9,
        "flagged_before": False, "flagged_after": True, "related": [], "accounts_added": 2, "accounts_removed": 0,
    }
    split = entries["split"]["C"]
    assert (split["size_before"], split["size_after"], split["accounts_added"], split["accounts_removed"]) == (6, 3, 0, 3)
    gone = entries["split"]["S"]
    assert (gone["size_after"], gone["risk_after"], gone["flagged_after"], gone["accounts_removed"]) == (None, None, None, 8)
    assert (entries["merged"]["D"]["accounts_added"], entries["new"]["N2"]["size_before"]) == (2, None)


def test_flag_crossings_come_first_then_risk_after_descending(runs):
    changes = diff_runs(*runs)["changes"]
    assert [(e["change"], e["cluster_id"]) for e in changes[:2]] == [("flagged", "A"), ("unflagged", "B")]
    rest = [e["risk_after"] for e in changes[2:]]
    present = [r for r in rest if r is not None]
    assert present == sorted(present, reverse=True)
    assert rest[len(present):] == [None] * (len(rest) - len(present))  # vanished ids last


def test_flag_threshold_reflags_both_runs():
    old = report("r1", cluster("A", accts("a", 3), 0.4, False))
    new = report("r2", cluster("A", accts("a", 3), 0.6, False))
    assert diff_runs(old, new)["changes"] == []
    [entry] = diff_runs(old, new, flag_threshold=0.5)["changes"]
    assert (entry["change"], entry["flagged_before"], entry["flagged_after"]) == ("flagged", False, True)


def test_no_previous_run_means_everything_is_new(runs):
    _, new = runs
    diff = diff_runs(None, new)
    assert diff["from_run"] is None
    assert diff["counts"] == {change: (len(new["clusters"]) if change == "new" else 0) for change in CHANGES}
    assert {e["cluster_id"] for e in diff["changes"]} == {c["cluster_id"] for c in new["clusters"]}


def test_merge_into_a_fresh_id_lists_all_absorbed_clusters():
    old = report("r1", cluster("M1", accts("m", 4), 0.5, False), cluster("M2", accts("m", 4, start=4), 0.5, False))
    new = report("r2", cluster("MM", accts("m", 8), 0.5, False))
    assert [(e["change"], e["cluster_id"], e["related"]) for e in diff_runs(old, new)["changes"]] == [
        ("merged", "MM", ["M1", "M2"])
    ]


def test_vanished_cluster_half_merged_and_half_split_off_gets_both_entries():
    old = report("r1", cluster("K", accts("k", 10), 0.9, True), cluster("O", accts("o", 6), 0.5, False))
    new = report("r2", cluster("K", accts("k", 10) + accts("o", 3), 0.9, True), cluster("Y", accts("o", 3, start=3), 0.2, False))
    assert [(e["change"], e["cluster_id"], e["related"]) for e in diff_runs(old, new)["changes"]] == [
        ("merged", "K", ["O"]),
        ("split", "O", ["K", "Y"]),
    ]


def test_new_id_mentioned_nowhere_else_is_still_reported_as_new():
    # ids not from assign_stable_ids: O kept its id but only one old member; N holds the rest of O
    old = report("r1", cluster("O", ["a", "b", "c"], 0.5, False))
    new = report("r2", cluster("O", ["a", "x", "y"], 0.5, False), cluster("N", ["b", "c"], 0.4, False))
    assert [(e["change"], e["cluster_id"]) for e in diff_runs(old, new)["changes"]] == [("new", "N")]


def test_ids_from_assign_stable_ids_give_a_split_in_the_diff():
    previous = {"cl-ring": accts("a", 10)}
    ids = assign_stable_ids({0: accts("a", 7), 1: accts("a", 3, start=7)}, previous, fresh)
    old = report("r1", cluster("cl-ring", accts("a", 10), 0.9, True))
    new = report("r2", cluster(ids[0], accts("a", 7), 0.9, True), cluster(ids[1], accts("a", 3, start=7), 0.4, False))
    assert [(e["change"], e["cluster_id"], e["related"]) for e in diff_runs(old, new)["changes"]] == [
        ("split", "cl-ring", [ids[1]])
    ]


def test_diff_is_json_serialisable_and_renders(runs):
    diff = diff_runs(*runs)
    assert json.loads(json.dumps(diff)) == diff
    console = Console(record=True, width=160)
    console.print(format_diff_table(diff))
    text = console.export_text()
    assert "run-1 → run-2" in text and "dissolved" in text and "C2" in text
