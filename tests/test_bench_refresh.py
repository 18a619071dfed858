"""Checks of the refresh benchmark's pieces: the 99/1 time cut, the ARI helper, and one tiny end-to-end run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_refresh as B  # noqa: E402

DEMO = ROOT / "fixtures" / "demo"
INPUT_NAMES = ("accounts.csv", "payments.csv", "identifiers.csv", "requests.csv.gz")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), ignore_index=True)


def _iso(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- the cut


@pytest.fixture
def hand_made(tmp_path) -> Path:
    """200 requests one minute apart (the last two share a second), a request without a time,
    and account/payment/identifier rows before, after and without a timestamp."""
    export = tmp_path / "export"
    export.mkdir()
    t0 = 1_788_000_000
    ts = [_iso(t0 + 60 * i) for i in range(199)] + [_iso(t0 + 60 * 198)] + [""]
    pd.DataFrame({"account_id": [f"a{i % 7}" for i in range(len(ts))], "ts": ts, "ip": "10.0.0.1", "user_agent": "ua",
                  "model": "m", "prompt": [f"p {i}" for i in range(len(ts))], "input_tokens": "5", "output_tokens": ""}
                 ).to_csv(export / "requests.csv", index=False)
    pd.DataFrame({"account_id": ["a0", "a1", "a2", "a8"],
                  "created_at": [_iso(t0 - 86400), "", _iso(t0 + 60 * 150), _iso(t0 + 60 * 199)],
                  "email_domain": ["x.com", "", "y.com", "z.com"]}).to_csv(export / "accounts.csv", index=False)
    pd.DataFrame({"account_id": ["a0", "a8"], "card_fingerprint": ["c0", "c8"],
                  "added_at": [_iso(t0), str(t0 + 60 * 198)]}).to_csv(export / "payments.csv", index=False)  # epoch seconds too
    pd.DataFrame({"account_id": ["a0", "a1", "a2"], "kind": "device", "value": ["d0", "d1", "d2"],
                  "seen_at": ["", _iso(t0 + 60 * 197), _iso(t0 + 60 * 198 + 30)]}).to_csv(export / "identifiers.csv", index=False)
    return export


def test_cut_of_a_hand_made_export(hand_made, tmp_path):
    cut = B.cut_export(hand_made, tmp_path / "cut", 0.01)
    base, delta = cut["base"], cut["delta"]
    # 201 requests, 200 timed: the cut is the time at floor(200 * 0.99) = 198, which two requests share
    assert cut["cut"] == pd.Timestamp(1_788_000_000 + 60 * 198, unit="s", tz="UTC").isoformat()
    assert cut["rows"] == {"accounts": {"base": 3, "delta": 1}, "payments": {"base": 1, "delta": 1},
                           "identifiers": {"base": 2, "delta": 1}, "requests": {"base": 199, "delta": 2}}
    requests_base, requests_delta = _read(base / "requests.csv"), _read(delta / "requests.csv")
    assert "" in set(requests_base["ts"])  # the request without a time is in base
    assert set(_read(base / "accounts.csv")["account_id"]) == {"a0", "a1", "a2"}  # a1 has no created_at
    assert set(_read(base / "identifiers.csv")["value"]) == {"d0", "d1"}  # d0 has no seen_at
    assert list(_read(delta / "payments.csv")["account_id"]) == ["a8"]  # epoch-seconds time at the cut
    # rows are copied unchanged (empty cells stay empty, columns in order)
    whole = _read(hand_made / "requests.csv")
    pd.testing.assert_frame_equal(_sorted(pd.concat([requests_base, requests_delta], ignore_index=True)), _sorted(whole))


def test_cut_leaves_delta_files_out_when_a_kind_has_no_new_rows(hand_made, tmp_path):
    accounts = _read(hand_made / "accounts.csv")
    accounts[accounts["account_id"] != "a8"].to_csv(hand_made / "accounts.csv", index=False)
    cut = B.cut_export(hand_made, tmp_path / "cut", 0.01)
    assert not (cut["delta"] / "accounts.csv").exists()
    assert (cut["base"] / "accounts.csv").exists() and cut["rows"]["accounts"] == {"base": 3, "delta": 0}


@pytest.mark.parametrize("share", [0.01, 0.25])
def test_cut_of_the_demo_export_loses_and_duplicates_nothing(tmp_path, share):
    cut = B.cut_export(DEMO, tmp_path / "cut", share)
    base, delta = cut["base"], cut["delta"]
    for name in INPUT_NAMES:
        whole = _read(DEMO / name)
        parts = [_read(d / name) for d in (base, delta) if (d / name).exists()]
        pd.testing.assert_frame_equal(_sorted(pd.concat(parts, ignore_index=True)), _sorted(whole))
    base_requests = B.parse_times(_read(base / "requests.csv.gz")["ts"])
    last_base = base_requests.max()
    for name in INPUT_NAMES:
        kind = name.split(".")[0]
        if (delta / name).exists():
            times = B.parse_times(_read(delta / name)[B.TIME_COLUMN[kind]])
            assert times.notna().all() and (times > last_base).all(), kind
    requests = cut["rows"]["requests"]
    assert requests["delta"] / (requests["base"] + requests["delta"]) == pytest.approx(share, abs=0.002)


def test_parse_times_reads_iso_epoch_and_missing():
    times = B.parse_times(pd.Series(["2026-09-01T00:00:00Z", "1788220800", "", "2026-09-01T01:00:00+01:00", "garbage"]))
    assert times.iloc[0] == pd.Timestamp("2026-09-01", tz="UTC")
    assert times.iloc[1] == pd.Timestamp(1_788_220_800, unit="s", tz="UTC")
    assert pd.isna(times.iloc[2]) and pd.isna(times.iloc[4])
    assert times.iloc[3] == pd.Timestamp("2026-09-01", tz="UTC")


def test_cut_rejects_a_share_outside_0_1(hand_made, tmp_path):
    for share in (0, 1, 1.5):
        with pytest.raises(ValueError):
            B.cut_export(hand_made, tmp_path / "cut", share)


# ----------------------------------------------------------------------------- ARI


@pytest.mark.parametrize("ari", [B.adjusted_rand_numpy, B.adjusted_rand])
def test_adjusted_rand_known_values(ari):
    assert ari([1, 1, 2, 2], ["x", "x", "y", "y"]) == 1.0  # identical up to names
    assert ari(["a", "b", "c"], ["a", "b", "c"]) == 1.0  # all singletons on both sides
    # by hand: table [[2,0,0],[0,1,1]]: index 1, rows 2, cols 1, pairs 6 -> (1 - 1/3) / (3/2 - 1/3) = 4/7
    assert ari([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    # by hand: table [[2,1,0],[0,1,2]]: index 2, rows 6, cols 3, pairs 15 -> (2 - 1.2) / (4.5 - 1.2) = 8/33
    assert ari([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(8 / 33)
    assert ari([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)  # one block against singletons


def test_adjusted_rand_numpy_matches_sklearn_on_random_labelings():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(2, 200))
        a, b = rng.integers(0, rng.integers(1, 12), n), rng.integers(0, rng.integers(1, 12), n)
        assert B.adjusted_rand_numpy(a, b) == pytest.approx(metrics.adjusted_rand_score(a, b), abs=1e-12)


def test_compare_reports_over_flagged_accounts():
    def report(*clusters):
        return {"clusters": [{"cluster_id": cid, "accounts": accounts, "flagged": flagged} for cid, accounts, flagged in clusters]}

    full = report(("c1", ["a", "b", "c"], True), ("c2", ["d", "e"], True), ("c3", ["x", "y"], False))
    same = report(("k9", ["d", "e"], True), ("k1", ["a", "b", "c"], True))
    assert B.compare_reports(full, same) == {"ari": 1.0, "flagged_union": 5, "flagged_jaccard": 1.0,
                                             "ari_all_clustered": pytest.approx(B.adjusted_rand_numpy([1, 1, 1, 2, 2, 3, 3],
                                                                                                      [1, 1, 1, 2, 2, 4, 5])),
                                             "clustered_union": 7}
    split = report(("k1", ["a", "b"], True), ("k2", ["d", "e"], True))  # c left unclustered: a singleton
    result = B.compare_reports(full, split)
    assert result["flagged_union"] == 5 and result["flagged_jaccard"] == pytest.approx(4 / 5)
    assert result["ari"] == pytest.approx(B.adjusted_rand_numpy([1, 1, 1, 2, 2], [1, 1, 3, 2, 2]))
    assert result["clustered_union"] == 7  # a-e and the unflagged x, y of the full run


# ----------------------------------------------------------------------------- smoke


def _rows(directory: Path) -> int:
    """Data rows of the export files in ``directory`` (read here with pandas, not by graphlinker)."""
    return sum(len(_read(path)) for path in directory.iterdir() if path.name.split(".")[0] in B.KINDS)


def _partition(report: dict, flagged_only: bool = False) -> set[frozenset]:
    return {frozenset(c["accounts"]) for c in report["clusters"] if c["flagged"] or not flagged_only}


def test_whole_benchmark_at_a_tiny_scale(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_refresh.py"), "--scale", "0.05", "--seed", "1", "--json",
                           "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "ratio refresh / full rebuild" in proc.stdout
    # rows: counted here from the files the benchmark wrote. The simulator writes no row twice, and every delta row
    # is later than every base request (the cut), so the full run loads every row, run(base) the base rows and the
    # refresh exactly the delta rows.
    scenario, cut = tmp_path / "scenario", tmp_path / "cut"
    assert result["full_rows"] == _rows(scenario)
    assert result["base_rows"] == _rows(cut / "base") and result["new_rows"] == _rows(cut / "delta") > 0
    assert result["full_rows"] == result["base_rows"] + result["new_rows"]
    assert result["noop"]["nothing_new"] is True
    # the refresh ends with exactly the clusters of the full rebuild on the same data: read from the two reports
    full, refreshed = (json.loads((tmp_path / f"report-{name}.json").read_text()) for name in ("full", "refresh"))
    assert _partition(refreshed) == _partition(full) and _partition(refreshed, True) == _partition(full, True)
    # ... so the benchmark's comparison must report identical partitions: ARI 1 by definition, Jaccard 1
    assert result["ari"] == result["ari_all_clustered"] == result["flagged_jaccard"] == 1.0
    assert result["flagged_union"] == len(set().union(*_partition(full, True)))
    # the scenario's truth file lists the operations it was generated with (lookalikes are benign groups); at seed 1,
    # scale 0.05 that is 5 (agentic, hydra, naive, reseller, zh), each found as one flagged cluster by both runs
    truth = pd.read_csv(scenario / "truth.csv", dtype=str)
    operations = truth[truth["role"] != "lookalike"].groupby("op_id")["account_id"].agg(frozenset)
    assert len(operations) == 5
    assert _partition(full, True) == set(operations)
    assert result["flagged_clusters"]["full"] == result["flagged_clusters"]["refresh"] == len(operations)
    # the ratio is refresh wall / full wall by its definition; no speed is asserted (at this scale start-up dominates).
    # The pipeline's own clock runs inside each measured wall time (its total_s is rounded to 0.01 s).
    assert result["ratio"] == pytest.approx(result["refresh"]["wall_s"] / result["full"]["wall_s"], rel=1e-4)
    for name in ("full", "refresh"):
        assert 0 < result[name]["ingest_s"] <= result[name]["total_s"] <= result[name]["wall_s"] + 0.01


def _figures(full_s, refresh_s, total_s, noop_s, full_mib, refresh_mib, ratio, flagged, ari) -> dict:
    return {"full": {"wall_s": full_s, "peak_rss_mib": full_mib}, "refresh": {"wall_s": refresh_s, "total_s": total_s,
            "peak_rss_mib": refresh_mib}, "noop": {"wall_s": noop_s}, "ratio": ratio,
            "flagged_clusters": {"refresh": flagged}, "ari": ari}


def test_against_baseline_puts_this_tree_over_the_baseline():
    this = _figures(10.0, 4.0, 3.0, 1.0, 800.0, 600.0, 0.4, 5, 1.0)
    base = _figures(20.0, 5.0, 4.0, 0.5, 1000.0, 500.0, 0.25, 4, 0.9)
    rows = B.against_baseline(this, base)
    assert rows["full rebuild, wall"] == {"this": 10.0, "baseline": 20.0, "ratio": 0.5}
    assert rows["refresh, wall"]["ratio"] == 0.8 and rows["refresh, pipeline total"]["ratio"] == 0.75
    assert rows["no-op refresh, wall"]["ratio"] == 2.0  # slower: above 1
    assert rows["full rebuild, peak RSS MiB"]["ratio"] == 0.8 and rows["refresh, peak RSS MiB"]["ratio"] == 1.2
    assert rows["refresh / full rebuild"]["ratio"] == pytest.approx(1.6)
    assert rows["flagged clusters, refresh"] == {"this": 5, "baseline": 4, "ratio": None}
    assert rows["refresh vs full, ARI"] == {"this": 1.0, "baseline": 0.9, "ratio": None}


def test_baseline_needs_a_workdir():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_refresh.py"), "--baseline", "HEAD"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--baseline needs --workdir" in proc.stderr


def test_against_baseline_prints_counts_as_counts(capsys):
    rows = B.against_baseline(_figures(10.0, 4.0, 3.0, 1.0, 800.0, 600.0, 0.4, 5, 1.0),
                              _figures(20.0, 5.0, 4.0, 0.5, 1000.0, 500.0, 0.25, 4, 0.9))
    B.print_against_baseline(rows, "004d610", "004d610ee69df307")
    out = capsys.readouterr().out
    assert "(004d610ee69d)" in out
    assert [line.split()[-3:] for line in out.splitlines() if line.strip().startswith("flagged clusters")] == [["5", "4", "-"]]
    assert [line.split()[-3:] for line in out.splitlines() if line.strip().startswith("full rebuild, wall")] == [["10.00", "20.00", "0.50"]]
