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


@pytest.fixture(params=["local", "neo4j"])
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
    assert len(flagged) > 20
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
    truth = pd.read_csv(DEMO / "truth.csv")
    operations = truth[truth["op_id"].str.startswith("op-")].groupby("op_id")["account_id"].apply(set)
    first_seen = {}
    for report in reports:
        for op, accounts in operations.items():
            if op not in first_seen:
                flagged = [c for c in report["clusters"] if c["flagged"] and accounts & set(c["accounts"])]
                if flagged:
                    first_seen[op] = max(flagged, key=lambda c: len(accounts & set(c["accounts"])))["cluster_id"]
    final = {op: max(reports[-1]["clusters"], key=lambda c: len(accounts & set(c["accounts"])))["cluster_id"]
             for op, accounts in operations.items()}
    assert len(first_seen) == len(operations) >= 5
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


def test_diff_of_the_last_two_runs(store, slices):
    first = _refresh([slices[0]], store).report
    outcome = _refresh([slices[1]], store)
    assert outcome.diff == diff_runs(first, outcome.report)
    assert outcome.diff["from_run"] == first["run_id"] and outcome.diff["to_run"] == outcome.report["run_id"]
    assert store.report_of(first["run_id"]) == first


@pytest.fixture(scope="module")
def ramp_up(tmp_path_factory) -> tuple[list[Path], pd.Series]:
    """Two exports: every operation starts with half its accounts, the other half arrive in the second."""
    truth = pd.read_csv(DEMO / "truth.csv")
    operations = truth[truth["op_id"].str.startswith("op-")].groupby("op_id")["account_id"].apply(sorted)
    late = {a for accounts in operations for a in accounts[1::2]}
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


def test_growing_operations_keep_their_cluster_ids(store, ramp_up):
    (early, late), operations = ramp_up
    reports = [_refresh([early], store).report, _refresh([late], store).report]

    def cluster_of(report, accounts):
        best = max(report["clusters"], key=lambda c: len(accounts & set(c["accounts"])))
        return best["cluster_id"], len(accounts & set(best["accounts"])), best["flagged"]

    grown = 0
    for op, accounts in operations.items():
        (first, n_first, flagged_first), (last, n_last, flagged_last) = (cluster_of(r, accounts) for r in reports)
        assert flagged_first and flagged_last, op
        assert first == last, op  # the same ring, twice the size, the same id
        grown += n_last > n_first
    assert grown >= 4  # the operations really did grow between the two runs
    diff = diff_runs(reports[0], reports[1])
    assert {e["cluster_id"] for e in diff["changes"] if e["change"] == "grown"} >= {
        cluster_of(reports[1], accounts)[0] for accounts in operations}
