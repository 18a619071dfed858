"""Benchmark: a refresh with 1% new data against a full rebuild on the same scenario.

A simulated scenario (``graphlinker.simulate``, CSV) is cut by time into

* **base**: the first 99% of requests by time, plus every account, payment and
  identifier row timestamped before the cut (rows without a timestamp go here too);
* **delta**: everything from the cut on (the last ``--new-share``, default 1%, of requests).

Rows are copied unchanged, under the same file names. Then, each measurement in a
fresh process (peak RSS is per measurement) and each scenario in a fresh workspace:

a. **full**: ``pipeline.run(whole scenario)`` — the full rebuild on the same scenario;
b. **base** + **refresh**: ``run(base)`` (timed, but not the point), then
   ``pipeline.refresh([delta])``, timed alone, with its ingest/analysis split
   (``outcome.timings``) and the time of each progress stage;
c. **no-op**: the same refresh again, which raises ``NothingNew`` (the idempotent no-op).

Reported: refresh wall time / full rebuild wall time (the ratio), new rows, where the
refresh time goes, peak RSS of each process, and how close the refreshed clusters are
to the full run's: the adjusted Rand index over the accounts flagged by either run
(an account outside any cluster is its own singleton), the Jaccard of the flagged account
sets, and the number of flagged clusters of each (plus precision/recall against the
scenario's truth). With ``--repeat N`` every measurement is taken N times and the
fastest is reported (all are kept in the JSON).

Every child is pinned to one CPU (``sched_setaffinity``) with BLAS/OpenMP/Arrow thread
pools at one thread, as in ``bench_templates.py``. Peak RSS is the child's ``VmHWM``
(``/proc/self/status``): a child's ``ru_maxrss`` on Linux starts at its parent's peak
(exec keeps the high-water mark of the forked image), which would hide the figure.

    python bench/bench_refresh.py --scale 1 --seed 1
    python bench/bench_refresh.py --scale 3 --seed 1 --json
    python bench/bench_refresh.py --scenario DIR --new-share 0.01 --repeat 3

Not a test: it asserts nothing (``tests/test_bench_refresh.py`` tests its pieces).
"""

from __future__ import annotations

import os

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}
if __name__ == "__main__":  # before numpy is imported anywhere
    os.environ.update(SINGLE_THREAD_ENV)

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from graphlinker.inputs.discovery import discover
from graphlinker.simulate.slices import TIME_COLUMN

KINDS = ("accounts", "payments", "identifiers", "requests")

# ----------------------------------------------------------------------------- the 99/1 cut


def read_table(path: Path) -> pd.DataFrame:
    """An input file as a frame of strings (CSV, CSV.gz) or as stored (Parquet); rows unchanged."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if ".csv" in name:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    raise SystemExit(f"{path}: the cut handles CSV and Parquet inputs only (simulate with file_format='csv')")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.name.lower().endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, lineterminator="\n")  # compression from the name (.csv.gz)


def parse_times(values: pd.Series) -> pd.Series:
    """UTC timestamps of a time column (ISO 8601 text or epoch seconds, as the input contract); NaT if missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
        return out.reset_index(drop=True)
    text = pd.Series(values, dtype="string").reset_index(drop=True).str.strip()
    text = text.mask(text == "")
    numeric = pd.to_numeric(text, errors="coerce")
    iso = pd.to_datetime(text.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601")
    epoch = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    return iso.where(iso.notna(), epoch)


def cut_export(export_dir: Path, out_dir: Path, new_share: float = 0.01) -> dict:
    """Write ``out_dir/base`` and ``out_dir/delta``: the last ``new_share`` of requests by time go to delta.

    The cut is the request time at the (1 - new_share) quantile: a row of any kind timestamped
    at or after it goes to delta, every other row (and every row without a timestamp) to base,
    so each delta row is later than every base request. Delta holds a file of a kind only if it
    has rows of that kind. Returns the directories, the cut and per-kind row counts.
    """
    if not 0 < new_share < 1:
        raise ValueError("new_share must be between 0 and 1")
    files = discover(Path(export_dir))
    base_dir, delta_dir = Path(out_dir) / "base", Path(out_dir) / "delta"
    base_dir.mkdir(parents=True, exist_ok=True)
    delta_dir.mkdir(parents=True, exist_ok=True)
    frames = {kind: read_table(path) for kind, path in files.items()}
    times = {kind: (parse_times(frame[TIME_COLUMN[kind]]) if TIME_COLUMN[kind] in frame.columns
                    else pd.Series(pd.NaT, index=range(len(frame)), dtype="datetime64[ns, UTC]"))
             for kind, frame in frames.items()}
    request_times = times["requests"].dropna().sort_values(ignore_index=True)
    cut = None
    if len(request_times):
        cut = request_times.iloc[min(int(np.floor(len(request_times) * (1 - new_share))), len(request_times) - 1)]
    rows = {}
    for kind, frame in frames.items():
        later = (times[kind] >= cut).fillna(False).to_numpy(dtype=bool) if cut is not None else np.zeros(len(frame), bool)
        write_table(frame[~later], base_dir / files[kind].name)
        if later.any():
            write_table(frame[later], delta_dir / files[kind].name)
        rows[kind] = {"base": int((~later).sum()), "delta": int(later.sum())}
    return {"base": base_dir, "delta": delta_dir, "cut": None if cut is None else cut.isoformat(), "rows": rows}


# ----------------------------------------------------------------------------- comparing partitions


def _comb2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1) / 2


def adjusted_rand_numpy(a, b) -> float:
    """Hubert & Arabie's adjusted Rand index of two labelings, from their contingency table."""
    if len(a) != len(b):
        raise ValueError("labelings differ in length")
    if len(a) < 2:
        return 1.0
    ia, _ = pd.factorize(pd.Series(list(a), dtype=object))
    ib, nb = pd.factorize(pd.Series(list(b), dtype=object))
    table = np.bincount(ia * len(nb) + ib, minlength=(ia.max() + 1) * len(nb)).reshape(-1, len(nb))
    index = _comb2(table).sum()
    rows, cols = _comb2(table.sum(axis=1)).sum(), _comb2(table.sum(axis=0)).sum()
    expected = rows * cols / _comb2(len(a))
    maximum = (rows + cols) / 2
    if maximum == expected:  # both partitions trivial (all singletons, or one block) and equal
        return 1.0
    return float((index - expected) / (maximum - expected))


def adjusted_rand(a, b) -> float:
    """ARI by scikit-learn when it is installed, else :func:`adjusted_rand_numpy` (the same figure)."""
    try:
        from sklearn.metrics import adjusted_rand_score
    except ImportError:
        return adjusted_rand_numpy(a, b)
    return float(adjusted_rand_score(list(a), list(b))) if len(a) else 1.0


def flagged_labels(report: dict) -> tuple[dict, set]:
    """Cluster id of every clustered account, and the set of accounts in flagged clusters."""
    cluster_of = {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}
    flagged = {a for c in report["clusters"] if c["flagged"] for a in c["accounts"]}
    return cluster_of, flagged


def compare_reports(full: dict, other: dict) -> dict:
    """ARI over the accounts flagged by either report (unclustered = singleton), Jaccard of the flagged sets,
    and the ARI over every account either report puts in a cluster (flagged or not)."""
    full_of, full_flagged = flagged_labels(full)
    other_of, other_flagged = flagged_labels(other)
    accounts = sorted(full_flagged | other_flagged)
    ari = adjusted_rand([full_of.get(a, "-" + a) for a in accounts], [other_of.get(a, "-" + a) for a in accounts])
    union = len(accounts)
    clustered = sorted(set(full_of) | set(other_of))
    ari_all = adjusted_rand([full_of.get(a, "-" + a) for a in clustered], [other_of.get(a, "-" + a) for a in clustered])
    return {"ari": ari, "flagged_union": union,
            "flagged_jaccard": len(full_flagged & other_flagged) / union if union else 1.0,
            "ari_all_clustered": ari_all, "clustered_union": len(clustered)}


# ----------------------------------------------------------------------------- child processes


def pin_to_one_cpu() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        try:
            import pyarrow as pa

            pa.set_cpu_count(1)
            pa.set_io_thread_count(1)
        except Exception:  # pragma: no cover - old pyarrow
            pass
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError) as exc:  # pragma: no cover - not Linux
        return f"not pinned ({exc})"


def _status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return None


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM); ru_maxrss where /proc is missing."""
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StageClock:
    """A pipeline Progress that records the seconds spent in each stage."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        start = time.perf_counter()
        try:
            yield lambda advance=1: None
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def child(mode: str, workspace: Path, inputs: list[Path], report_path: Path | None, pin: bool) -> dict:
    """One measurement in this process: ``run`` (inputs[0]), ``refresh`` or ``noop`` (a refresh expecting NothingNew)."""
    pinned = pin_to_one_cpu() if pin else "not pinned"
    started = time.perf_counter()
    from graphlinker.config import Settings
    from graphlinker.errors import NothingNew
    from graphlinker.inputs import Quarantine
    from graphlinker.pipeline import refresh, run
    from graphlinker.store import LocalStore

    import_s = time.perf_counter() - started
    rss_imports = _status_mib("VmRSS")
    settings, quarantine, store, clock = Settings.load(), Quarantine(None), LocalStore(workspace), StageClock()
    result = {"mode": mode, "pinned": pinned, "import_s": import_s, "rss_after_imports_mib": rss_imports,
              "nothing_new": False}
    start = time.perf_counter()
    try:
        if mode == "run":
            outcome = run(inputs[0], store, settings, quarantine, progress=clock)
        else:
            outcome = refresh(inputs, store, settings, quarantine, progress=clock)
    except NothingNew as exc:
        result.update(wall_s=time.perf_counter() - start, nothing_new=True, message=str(exc), stages=clock.seconds,
                      peak_rss_mib=peak_rss_mib())
        return result
    wall = time.perf_counter() - start
    if report_path is not None:
        report_path.write_text(json.dumps(outcome.report))
    result.update(wall_s=wall, timings=outcome.timings, stages=clock.seconds, new_rows=outcome.new_rows,
                  skipped_files=outcome.skipped_files, summary=outcome.report["summary"], peak_rss_mib=peak_rss_mib())
    return result


def spawn(mode: str, workspace: Path, inputs: list[Path], report_path: Path | None, pin: bool) -> dict:
    """Run :func:`child` in a fresh interpreter; returns its JSON line."""
    command = [sys.executable, str(Path(__file__).resolve()), "--_child", mode, "--_workspace", str(workspace)]
    for path in inputs:
        command += ["--_input", str(path)]
    if report_path is not None:
        command += ["--_report", str(report_path)]
    if not pin:
        command.append("--no-pin")
    proc = subprocess.run(command, env={**os.environ, **SINGLE_THREAD_ENV}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} process failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the benchmark


def split_seconds(measured: dict) -> dict:
    """Wall, ingest, analysis and outside-the-pipeline seconds of one measurement, plus grouped stage times."""
    timings = measured.get("timings", {})
    stages = measured.get("stages", {})
    reading = sum(s for name, s in stages.items() if name.startswith("reading "))
    out = {"wall_s": measured["wall_s"], "ingest_s": timings.get("ingest_s"), "total_s": timings.get("total_s"),
           "analysis_s": (timings["total_s"] - timings["ingest_s"]) if timings else None,
           "outside_s": (measured["wall_s"] - timings["total_s"]) if timings else None,
           "reading_s": reading, "writing_graph_s": stages.get("writing graph", 0.0)}
    for key, name in (("linking_s", "linking accounts"), ("detection_s", "detecting communities"),
                      ("scoring_s", "scoring clusters"), ("publishing_s", "publishing run")):
        out[key] = stages.get(name, 0.0)
    if timings:
        out["ingest_other_s"] = timings["ingest_s"] - reading - out["writing_graph_s"]
        out["analysis_other_s"] = out["analysis_s"] - sum(out[k] for k in ("linking_s", "detection_s", "scoring_s", "publishing_s"))
    return out


def fastest(measurements: list[dict]) -> dict:
    best = min(measurements, key=lambda m: m["wall_s"])
    return {**best, "peak_rss_mib": max(m["peak_rss_mib"] for m in measurements),
            "all_wall_s": [m["wall_s"] for m in measurements]}


def quality(report: dict, truth: Path) -> dict | None:
    if not truth.exists():
        return None
    from graphlinker.evaluate import evaluate

    result = evaluate(report, truth)
    return {"precision": result.precision, "recall": result.recall, "f1": result.f1}


def benchmark(args) -> dict:
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="graphlinker-bench-refresh-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _benchmark(args, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _benchmark(args, workdir: Path) -> dict:
    pin = not args.no_pin
    if args.scenario:
        scenario = Path(args.scenario)
        print(f"scenario: {scenario}")
    else:
        from graphlinker.simulate import simulate

        scenario = workdir / "scenario"
        start = time.perf_counter()
        summary = simulate(scenario, seed=args.seed, scale=args.scale, file_format="csv")
        print(f"simulate: scale {args.scale} seed {args.seed}: {summary} in {time.perf_counter() - start:.1f}s")
    start = time.perf_counter()
    cut = cut_export(scenario, workdir / "cut", args.new_share)
    rows = cut["rows"]
    requests = rows["requests"]["base"] + rows["requests"]["delta"]
    print(f"cut at {cut['cut']} ({time.perf_counter() - start:.1f}s): "
          + ", ".join(f"{kind} {r['base']:,} + {r['delta']:,}" for kind, r in rows.items())
          + f"  (base + delta; delta {rows['requests']['delta'] / max(requests, 1):.2%} of requests)")

    full_runs, base_runs, refreshes, noops = [], [], [], []
    reports = {}
    for i in range(args.repeat):
        ws_full, ws_inc = workdir / f"ws-full-{i}", workdir / f"ws-incremental-{i}"
        for ws in (ws_full, ws_inc):
            shutil.rmtree(ws, ignore_errors=True)
        full_runs.append(spawn("run", ws_full, [scenario], workdir / "report-full.json", pin))
        base_runs.append(spawn("run", ws_inc, [cut["base"]], workdir / "report-base.json", pin))
        refreshes.append(spawn("refresh", ws_inc, [cut["delta"]], workdir / "report-refresh.json", pin))
        noops.append(spawn("noop", ws_inc, [cut["delta"]], None, pin))
        if not args.workdir:
            for ws in (ws_full, ws_inc):
                shutil.rmtree(ws, ignore_errors=True)
    for name in ("full", "base", "refresh"):
        reports[name] = json.loads((workdir / f"report-{name}.json").read_text())
    full, base, fresh, noop = (fastest(m) for m in (full_runs, base_runs, refreshes, noops))
    if fresh.get("nothing_new"):
        raise SystemExit(f"the refresh found nothing new: {fresh.get('message')}")

    times = {name: split_seconds(m) for name, m in (("full", full), ("base", base), ("refresh", fresh))}
    times["noop"] = {"wall_s": noop["wall_s"], "nothing_new": noop["nothing_new"]}
    ratio = fresh["wall_s"] / full["wall_s"]
    ratio_pipeline = times["refresh"]["total_s"] / times["full"]["total_s"]
    versus_full = {name: compare_reports(reports["full"], reports[name]) for name in ("refresh", "base")}
    truth = scenario / "truth.csv"
    result = {
        "scale": args.scale if not args.scenario else None, "seed": args.seed if not args.scenario else None,
        "scenario": str(scenario) if args.scenario else None, "new_share": args.new_share, "repeat": args.repeat,
        "pinned": full["pinned"], "cut": cut["cut"], "rows": rows, "requests": requests,
        "ratio": ratio, "ratio_pipeline": ratio_pipeline,
        "new_rows": fresh["new_rows"], "full_rows": full["new_rows"], "base_rows": base["new_rows"],
        "full": {**times["full"], "peak_rss_mib": full["peak_rss_mib"], "all_wall_s": full["all_wall_s"]},
        "base": {**times["base"], "peak_rss_mib": base["peak_rss_mib"], "all_wall_s": base["all_wall_s"]},
        "refresh": {**times["refresh"], "peak_rss_mib": fresh["peak_rss_mib"], "all_wall_s": fresh["all_wall_s"],
                    "stages": fresh["stages"], "skipped_files": fresh["skipped_files"]},
        "noop": {**times["noop"], "peak_rss_mib": noop["peak_rss_mib"], "all_wall_s": noop["all_wall_s"]},
        "rss_after_imports_mib": full["rss_after_imports_mib"],
        "ari": versus_full["refresh"]["ari"], "flagged_jaccard": versus_full["refresh"]["flagged_jaccard"],
        "flagged_union": versus_full["refresh"]["flagged_union"],
        "ari_all_clustered": versus_full["refresh"]["ari_all_clustered"], "clustered_union": versus_full["refresh"]["clustered_union"],
        "base_vs_full": versus_full["base"],
        "flagged_clusters": {name: reports[name]["summary"]["flagged_clusters"] for name in ("full", "refresh", "base")},
        "flagged_accounts": {name: reports[name]["summary"]["flagged_accounts"] for name in ("full", "refresh", "base")},
        "clusters": {name: reports[name]["summary"]["clusters"] for name in ("full", "refresh", "base")},
        "quality": {name: quality(reports[name], truth) for name in ("full", "refresh")},
    }
    print_summary(result)
    if args.workdir:
        print(f"artefacts in {workdir}")
    return result


def print_summary(r: dict) -> None:
    full, base, fresh, noop = r["full"], r["base"], r["refresh"], r["noop"]

    def line(name: str, t: dict, rows: int) -> str:
        return (f"  {name:<22} {t['wall_s']:7.2f}s wall  (pipeline {t['total_s']:6.2f}s = ingest {t['ingest_s']:6.2f}s + "
                f"analysis {t['analysis_s']:6.2f}s)  {rows:>10,} rows  peak RSS {t['peak_rss_mib']:6.0f} MiB")

    print(f"\nmeasurements ({r['pinned']}; one process each; fastest of {r['repeat']}; RSS after imports "
          f"{r['rss_after_imports_mib']:.0f} MiB):")
    print(line("full rebuild run(all)", full, r["full_rows"]))
    print(line("run(base)", base, r["base_rows"]))
    print(line("refresh([delta])", fresh, r["new_rows"]))
    print(f"  {'refresh again (no-op)':<22} {noop['wall_s']:7.2f}s wall  (raised NothingNew: {noop['nothing_new']}; "
          f"peak RSS {noop['peak_rss_mib']:.0f} MiB)")
    print(f"\nratio refresh / full rebuild: {r['ratio']:.3f} wall ({r['ratio_pipeline']:.3f} on the pipeline's own total_s); "
          f"new rows {r['new_rows']:,} of {r['full_rows']:,} ({r['new_rows'] / max(r['full_rows'], 1):.2%})")
    total = fresh["wall_s"]
    parts = [("reading new files", fresh["reading_s"]), ("writing graph", fresh["writing_graph_s"]),
             ("other ingest (store reads, grouper state)", fresh["ingest_other_s"]),
             ("linking", fresh["linking_s"]), ("detection", fresh["detection_s"]), ("scoring", fresh["scoring_s"]),
             ("publishing", fresh["publishing_s"]), ("other analysis (store reads, report)", fresh["analysis_other_s"]),
             ("outside the pipeline (hashing inputs, lock)", fresh["outside_s"])]
    print(f"where the refresh goes ({total:.2f}s): ingest {fresh['ingest_s']:.2f}s ({fresh['ingest_s'] / total:.0%}), "
          f"analysis {fresh['analysis_s']:.2f}s ({fresh['analysis_s'] / total:.0%})")
    for name, seconds in parts:
        print(f"  {name:<45} {seconds:7.2f}s  {seconds / total:5.1%}")
    full_parts = [("reading files", full["reading_s"]), ("writing graph", full["writing_graph_s"]),
                  ("linking", full["linking_s"]), ("detection", full["detection_s"]), ("scoring", full["scoring_s"]),
                  ("publishing", full["publishing_s"])]
    print("full rebuild for comparison: " + ", ".join(f"{n} {s:.2f}s" for n, s in full_parts))
    print(f"\nclusters: refresh vs full: ARI {r['ari']:.4f} over {r['flagged_union']:,} accounts flagged by either, "
          f"flagged-set Jaccard {r['flagged_jaccard']:.4f}; ARI over all {r['clustered_union']:,} clustered accounts "
          f"{r['ari_all_clustered']:.4f}")
    print(f"  flagged clusters: full {r['flagged_clusters']['full']}, refresh {r['flagged_clusters']['refresh']}, "
          f"base only {r['flagged_clusters']['base']}; flagged accounts: full {r['flagged_accounts']['full']:,}, "
          f"refresh {r['flagged_accounts']['refresh']:,}, base only {r['flagged_accounts']['base']:,}; all clusters: "
          f"full {r['clusters']['full']}, refresh {r['clusters']['refresh']}, base only {r['clusters']['base']}")
    b = r["base_vs_full"]
    print(f"  (base run alone vs full: ARI {b['ari']:.4f}, flagged-set Jaccard {b['flagged_jaccard']:.4f}, "
          f"ARI over all clustered {b['ari_all_clustered']:.4f})")
    for name, q in r["quality"].items():
        if q:
            print(f"  vs truth, {name}: precision {q['precision']:.3f} recall {q['recall']:.3f} F1 {q['f1']:.3f}")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, Path):
        return str(x)
    return x


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=None, help="reuse this export directory instead of simulating")
    parser.add_argument("--new-share", type=float, default=0.01, help="share of requests (by time) in the delta")
    parser.add_argument("--repeat", type=int, default=1, help="take every measurement N times; report the fastest")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the cut, workspaces and reports here")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the measured processes to one CPU")
    parser.add_argument("--json", action="store_true", help="end with a one-line JSON summary")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_input", type=Path, action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--_report", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        print(json.dumps(_jsonable(child(args._child, args._workspace, args._input, args._report, not args.no_pin))))
        return
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = benchmark(args)
    if args.json:
        print(json.dumps(_jsonable(result), separators=(",", ":")))


if __name__ == "__main__":
    main()
