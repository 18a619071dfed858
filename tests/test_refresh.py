"""The refresh contract, on both stores: only new data is loaded, repeats change nothing,
time slices refreshed in order give the clusters of one full run, cluster ids carry over,
one writer at a time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphlinker.analysis.cluster_history import diff_runs
from graphlinker.errors import LockHeld, NothingNew
from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import refresh, run
from graphlinker.settings import Settings
from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]


def adjusted_rand(a: list, b: list) -> float:
    """Hubert & Arabie's ARI from the contingency table (written out so the test does not trust a library)."""
    table = pd.crosstab(pd.Series(a, name="a"), pd.Series(b, name="b")).to_numpy()
    comb = lambda x: x * (x - 1) / 2  # noqa: E731
    index = comb(table).sum()
    rows, cols, total = comb(table.sum(axis=1)).sum(), comb(table.sum(axis=0)).sum(), comb(table.sum())
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    return 1.0 if maximum == expected else float((index - expected) / (maximum - expected))


def test_adjusted_rand_known_values():
    assert adjusted_rand([1, 1, 2, 2], ["x", "x", "y", "y"]) == 1.0
    # the classic example: ARI([0,0,1,1], [0,0,1,2]) = 0.5714...
    assert adjusted_rand([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 3)


@pytest.fixture(params=["local", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def opener(request, tmp_path):
    """Opens a handle on one store (a second handle is a second writer)."""
    if request.param == "local":
        return lambda: LocalStore(tmp_path / "ws")
    from graphlinker.store.neo4j import Neo4jStore

    settings = request.getfixturevalue("neo4j_clean")
    return lambda: Neo4jStore(settings, lease_seconds=5)


@pytest.fixture
def store(opener):
    with opener() as handle:
        yield handle


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> dict:
    return run(DEMO, LocalStore(tmp_path_factory.mktemp("full")), Settings.load(), Quarantine(None)).report


def _labels(report: dict) -> tuple[dict, set]:
    cluster_of = {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}
    flagged = {a for c in report["clusters"] if c["flagged"] for a in c["accounts"]}
    return cluster_of, flagged


def _plain(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Store-independent form: text keys as str, sorted."""
    return frame.astype({k: str for k in key}).sort_values(key, ignore_index=True)


def _refresh(paths, store):
    return refresh(list(paths), store, Settings.load(), Quarantine(None))


def _operations() -> pd.Series:
    """op_id -> the sorted accounts fixtures/demo/truth.csv plants in that operation."""
    truth = pd.read_csv(DEMO / "truth.csv")
    return truth[truth["op_id"].str.startswith("op-")].groupby("op_id")["account_id"].apply(sorted)


def _late_half(accounts) -> set[str]:
    """The accounts of an operation that ``ramp_up`` holds back until the second export."""
    return set(sorted(accounts)[1::2])


def test_slices_cover_the_export_once(slices):
    for name in ("accounts.csv", "payments.csv", "requests.csv.gz", "identifiers.csv"):
        whole = pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)
        parts = pd.concat([pd.read_csv(s / name, dtype=str, keep_default_na=False) for s in slices], ignore_index=True)
        pd.testing.assert_frame_equal(parts.sort_values(list(parts.columns), ignore_index=True),
                                      whole.sort_values(list(whole.columns), ignore_index=True))


def test_sliced_refreshes_match_one_full_run(store, slices, full_run, tmp_path):
    reports = [_refresh([s], store).report for s in slices]
    full_of, full_flagged = _labels(full_run)
    ours_of, ours_flagged = _labels(reports[-1])
    flagged = sorted(full_flagged | ours_flagged)
    planted = {a for accounts in _operations() for a in accounts}
    assert planted <= set(flagged)  # the ARI below covers at least every account truth.csv plants in an operation (64)
    ari = adjusted_rand([full_of.get(a, "-" + a) for a in flagged], [ours_of.get(a, "-" + a) for a in flagged])
    assert ari >= 0.99
    # the graph the slices built is the graph of one full run (template grouping aside)
    full_store = LocalStore(tmp_path / "full-ref")
    run(DEMO, full_store, Settings.load(), Quarantine(None))
    ours, theirs = (_plain(u[u["kind"] != "template"], USAGE_KEY) for u in (store.usage(), full_store.usage()))
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    pd.testing.assert_frame_equal(_plain(store.stats(), ["account_id"]), _plain(full_store.stats(), ["account_id"]), check_dtype=False)
    # per-template aggregates updated in place agree with the usage they summarise
    templates, sent = store.templates().set_index("template_id"), store.template_usage()
    assert templates["prompt_count"].sum() == sent["count"].sum()
    per_template = sent.groupby("value").agg(accounts=("account_id", "nunique"), first=("first_seen", "min"), last=("last_seen", "max"))
    per_template = per_template.reindex(templates.index)
    assert (templates["account_count"] == per_template["accounts"]).all()
    assert (templates["first_seen"] == per_template["first"]).all() and (templates["last_seen"] == per_template["last"]).all()
    # every planted operation keeps the cluster id it had in the slice where it was first flagged
    operations = _operations().map(set)
    first_seen = {}
    for report in reports:
        for op, accounts in operations.items():
            if op not in first_seen:
                flagged = [c for c in report["clusters"] if c["flagged"] and accounts & set(c["accounts"])]
                if flagged:
                    first_seen[op] = max(flagged, key=lambda c: len(accounts & set(c["accounts"])))["cluster_id"]
    final = {op: max(reports[-1]["clusters"], key=lambda c: len(accounts & set(c["accounts"])))["cluster_id"]
             for op, accounts in operations.items()}
    # truth.csv plants five operations (op-naive-1, op-reseller-1, op-hydra-1, op-agentic-1, op-zh-1): all tracked
    assert set(first_seen) == set(operations.index) and len(operations) == 5
    assert first_seen == final
    assert [r["command"] for r in store.runs()] == ["refresh"] * 3


def test_repeating_a_refresh_changes_nothing(store, slices):
    first = _refresh(slices[:2], store)
    usage, runs = _plain(store.usage(), USAGE_KEY), store.runs()
    with pytest.raises(NothingNew):
        _refresh(slices[:2], store)
    with pytest.raises(NothingNew):
        _refresh([slices[1] / "requests.csv.gz"], store)  # a single file already loaded
    assert store.runs() == runs and store.latest_report()["run_id"] == first.report["run_id"]
    pd.testing.assert_frame_equal(_plain(store.usage(), USAGE_KEY), usage)
    assert set(store.ledger()["kind"]) == {"accounts", "payments", "requests", "identifiers"}
    assert len(store.seen_keys()) == first.new_rows


def test_rows_already_loaded_are_skipped_in_a_new_file(store, slices, tmp_path):
    """A re-sent export with one more hour in it: only the new hour's rows count."""
    _refresh([slices[0]], store)
    resent = tmp_path / "resent"
    resent.mkdir()
    both = pd.concat([pd.read_csv(s / "requests.csv.gz", dtype=str, keep_default_na=False) for s in slices[:2]], ignore_index=True)
    both.to_csv(resent / "requests.csv", index=False)
    outcome = _refresh([resent], store)
    new_in_slice_2 = len(pd.read_csv(slices[1] / "requests.csv.gz", dtype=str, keep_default_na=False))
    assert outcome.new_rows == new_in_slice_2
    assert outcome.report["summary"]["accounts"] > 0
    with pytest.raises(NothingNew):  # slice 2's requests are in now, even though that file was never given
        _refresh([slices[1] / "requests.csv.gz"], store)


def test_refresh_of_requests_keeps_account_attributes(store, slices):
    _refresh([slices[0]], store)
    created = store.accounts().set_index("account_id")["created_at"]
    _refresh([slices[2] / "requests.csv.gz"], store)
    after = store.accounts().set_index("account_id")["created_at"]
    assert after.loc[created.index].equals(created)


def test_second_writer_is_refused(store, opener, slices):
    with store.lock("test holder"), opener() as second:
        with pytest.raises(LockHeld) as refused:
            _refresh([slices[0]], second)
    assert "test holder" in str(refused.value)
    assert _refresh([slices[0]], store).new_rows > 0  # released on exit


@pytest.fixture(scope="module")
def ramp_up(tmp_path_factory) -> tuple[list[Path], pd.Series]:
    """Two exports: every operation starts with half its accounts, the other half arrive in the second."""
    operations = _operations()
    late = set().union(*operations.map(_late_half))
    root = tmp_path_factory.mktemp("ramp")
    parts = [root / "early", root / "late"]
    for part in parts:
        part.mkdir()
    for file in sorted(DEMO.glob("*.*")):
        if file.name == "truth.csv":
            continue
        rows = pd.read_csv(file, dtype=str, keep_default_na=False)
        is_late = rows["account_id"].isin(late)
        rows[~is_late].to_csv(parts[0] / file.name, index=False)
        rows[is_late].to_csv(parts[1] / file.name, index=False)
    return parts, operations.map(set)


def _holder(report: dict, accounts: set) -> dict:
    """The cluster of ``report`` holding most of ``accounts``."""
    return max(report["clusters"], key=lambda c: len(accounts & set(c["accounts"])))


def test_growing_operations_keep_their_cluster_ids(store, ramp_up):
    (early, late), operations = ramp_up
    reports = [_refresh([early], store).report, _refresh([late], store).report]
    for op, accounts in operations.items():
        first, last = (_holder(r, accounts) for r in reports)
        assert first["flagged"] and last["flagged"], op
        assert first["cluster_id"] == last["cluster_id"], op  # the same ring, twice the size, the same id
        # ramp_up holds every operation's accounts[1::2] back: the first run holds (all of) the other half,
        # the second the whole operation, so every operation grows
        assert accounts & set(first["accounts"]) == accounts - _late_half(accounts), op
        assert accounts <= set(last["accounts"]), op
    diff = diff_runs(reports[0], reports[1])
    assert {e["cluster_id"] for e in diff["changes"] if e["change"] == "grown"} >= {
        _holder(reports[1], accounts)["cluster_id"] for accounts in operations}


def test_diff_of_the_last_two_runs(store, ramp_up):
    """refresh's diff says what changed since the previous run. Expected from the two exports ramp_up feeds
    (every operation's held-back half arrives in the second: its cluster keeps its id and grows by exactly
    those accounts) and, for every other cluster, from the two reports' member lists by set arithmetic."""
    (early, late), operations = ramp_up
    first = _refresh([early], store).report
    outcome = _refresh([late], store)
    second, diff = outcome.report, outcome.diff
    assert diff["from_run"] == first["run_id"] and diff["to_run"] == second["run_id"]
    assert store.report_of(first["run_id"]) == first
    before = {c["cluster_id"]: c for c in first["clusters"]}
    after = {c["cluster_id"]: c for c in second["clusters"]}
    members = {**{(0, k): set(c["accounts"]) for k, c in before.items()}, **{(1, k): set(c["accounts"]) for k, c in after.items()}}
    entries = {(e["change"], e["cluster_id"]): e for e in diff["changes"]}
    assert len(entries) == len(diff["changes"])
    kinds = ("new", "grown", "shrunk", "merged", "split", "dissolved", "flagged", "unflagged")  # cluster_history's docstring
    assert diff["counts"] == {kind: sum(e["change"] == kind for e in diff["changes"]) for kind in kinds}

    # the operations: grown, by their held-back half, under the id they had; flagged both times
    grown_operations = set()
    for op, accounts in operations.items():
        cid = _holder(second, set(accounts))["cluster_id"]
        grown_operations.add(cid)
        entry = entries.pop(("grown", cid), None)
        assert entry is not None, (op, cid, diff["changes"])
        assert members[1, cid] - members[0, cid] == _late_half(accounts) and members[0, cid] <= members[1, cid], op
        assert (entry["size_before"], entry["size_after"]) == (len(members[0, cid]), len(members[1, cid]))
        assert (entry["accounts_added"], entry["accounts_removed"]) == (len(_late_half(accounts)), 0)
        assert entry["flagged_before"] is True and entry["flagged_after"] is True and entry["related"] == []

    # every other cluster, from the member lists: the same members and flag under the same id is no change
    unchanged = {k for k in before.keys() & after.keys()
                 if members[0, k] == members[1, k] and before[k]["flagged"] == after[k]["flagged"]}
    assert unchanged, "the late export holds rows of operation accounts only: other clusters mostly stay as they were"
    assert not {cid for _, cid in entries} & unchanged
    changed = {k for k in before.keys() & after.keys() if members[0, k] != members[1, k]} - grown_operations
    assert changed <= {cid for _, cid in entries}, "an id whose members changed is reported"
    gone, arrived = set(before) - set(after), set(after) - set(before)
    mentioned = {cid for _, cid in entries} | {r for e in entries.values() for r in e["related"]}
    assert gone | arrived <= mentioned, "an id that disappeared or appeared is reported (or named by a merge or split)"
    for old_id in gone:  # a vanished cluster at least half of whose members sit in one cluster now was merged into it
        holder = min(after, key=lambda k: (-len(members[0, old_id] & members[1, k]), k))  # most, then smaller id
        if 2 * len(members[0, old_id] & members[1, holder]) >= len(members[0, old_id]):
            assert old_id in entries.get(("merged", holder), {}).get("related", []), (old_id, holder)
    for (change, cid), entry in entries.items():
        old, new = members.get((0, cid), set()), members.get((1, cid), set())
        assert (entry["size_before"], entry["size_after"]) == (len(old) if old else None, len(new) if new else None), cid
        assert (entry["accounts_added"], entry["accounts_removed"]) == (len(new - old), len(old - new)), cid
        if change == "merged":  # it holds at least half of each old cluster it absorbed, whose id is gone
            assert entry["related"] and all(r in gone and 2 * len(members[0, r] & new) >= len(members[0, r])
                                            for r in entry["related"]), entry
        elif change in ("grown", "shrunk"):
            assert old and new and (len(new) > len(old)) == (change == "grown"), entry
        elif change == "new":
            assert not old and all(2 * len(new & m) <= len(new) for (side, _), m in members.items() if side == 0), entry
        elif change in ("flagged", "unflagged"):
            assert before[cid]["flagged"] != after[cid]["flagged"] and after[cid]["flagged"] == (change == "flagged"), entry
        else:  # split / dissolved: an old id
            assert old, entry
