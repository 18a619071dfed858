"""Benchmark: does detection hold for operations and look-alikes it never saw?

**Leave-one-archetype-out** (the default). For every operation archetype of the simulator
(``graphlinker.sim.scenario.OPERATIONS``) and every scale of ``--scales``, one scenario holds the
benign background, every kind of look-alike and that one operation (seed ``--seed`` + its
number, so backgrounds differ). Each scenario is run once through the real pipeline
(embedded store) with the shipped settings. Then, per archetype, the reason weights and
flag threshold are fitted (:mod:`graphlinker.analysis.scoring_fit`) on the clusters of the
scenarios of every *other* archetype (at every scale: none of the archetype's own scenarios,
whatever their scale), and the held-out scenarios are re-scored with them. Look-alike kinds are held out
the same way: the fit never sees a cluster that is mostly that kind, then every scenario's
clusters are scored and the kind's flagged share is reported.

Printed per archetype: its accounts, the share flagged (recall), the largest share in one
flagged cluster, whether it is recovered (recall ≥ 0.9 and ≥ 0.8 in one flagged cluster),
the look-alike accounts flagged in its scenario and the average precision of the
scenario's cluster ranking, for:

* ``loo`` — the honest figure: weights and threshold fitted without the archetype, with the
  hand-set weights (``HAND_SET_WEIGHTS``) as the fit's ridge prior, never the shipped defaults;
* ``default`` — the shipped settings, whose weights were fitted on every scenario here, so for
  each archetype this column is in-sample (optimistic);
* ``baseline`` (``--baseline``) — the design before issue 10 (hub caps, the extraction-content
  gate, hand-set weights: ``OLD_SETTINGS``), each scenario run a second time.

Other modes (slow; not part of the test suite):

* ``--scale-sweep 0.3,1,3,6``: one scenario with every archetype and look-alike kind at each scale,
  shipped settings: which operations come out as one flagged cluster at every scale.
* ``--big``: one ``hydra`` operation of ``--big-op`` accounts (20,000) and a 5,000-account
  ``carrier_nat`` look-alike among ``--big-accounts`` (200,000) accounts; wall time, peak memory.
* ``--cost``: wall time and peak memory of ``graphlinker run`` on the scale-6 scenario
  (≈1.2M requests) and on a scenario of ≈5M requests, each in a fresh process.

    python bench/bench_detection.py --scales 0.3,1 --json bench-detection.json
    python bench/bench_detection.py --scales 1 --baseline
    python bench/bench_detection.py --scale-sweep 0.3,1,3,6
    python bench/bench_detection.py --big --cost

Not a test: it asserts nothing (``tests/test_bench_detection.py`` runs a small one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from graphlinker.analysis.features import FEATURE_COLUMNS
from graphlinker.analysis.population import RELATIVE_COLUMNS, Population, relative_features
from graphlinker.analysis.scoring import score_against_population, score_clusters
from graphlinker.analysis.scoring_fit import HAND_SET_WEIGHTS, MAX_WEIGHT, fit_scoring
from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import run as run_pipeline
from graphlinker.report.build import with_gates
from graphlinker.settings import Settings
from graphlinker.sim.evaluate import evaluate
from graphlinker.sim.scenario import LOOKALIKES, OPERATIONS, archetype_of, simulate
from graphlinker.store import open_store

OLD_SETTINGS = """
# The design before issue 10: hub caps, the extraction-content gate, the hand-set weights,
# synchrony as any shared-minute link, no wave riders kept together, every account as the population.
[linking]
method = "hub_caps"
[detection]
merge_fragments = false
keep_waves_together = false
[scoring]
flag_threshold = 0.6
size_prior = 0.0
require_behaviour = false
require_content_signal = true
synchrony = "time_links"
population = "all"
[scoring.weights]
extraction_prompts = 0.55
template_concentration = 0.35
shared_payment = 0.25
automation = 0.25
round_the_clock = 0.15
synchronised_activity = 0.30
creation_burst = 0.15
high_output_volume = 0.20
many_small_accounts = 0.15
new_model_pivot = 0.20
shared_infrastructure = 0.15
independent_accounts = 0.0
output_harvesting = 0.0
template_reuse = 0.0
lockstep = 0.0
shared_identifiers = 0.0
ip_rotation = 0.0
"""


# --- running scenarios ------------------------------------------------------------------------
def make_scenario(work: Path, seed: int, scale: float, operations, lookalikes, sizes=None, benign_activity=1.0) -> Path:
    """Simulate once into ``work`` (reused when already there)."""
    name = f"s{seed}-x{scale:g}-{'+'.join(operations) or 'none'}-{len(lookalikes)}la"
    if sizes:
        name += "-" + "+".join(f"{k}{v}" for k, v in sorted(sizes.items()))
    if benign_activity != 1.0:
        name += f"-a{benign_activity:g}"
    path = work / name
    if not (path / "truth.csv").exists():
        simulate(path, seed=seed, scale=scale, operations=list(operations), lookalikes=list(lookalikes),
                 sizes=sizes, benign_activity=benign_activity)
    return path


def run_scenario(path: Path, settings: Settings, reuse: bool = False) -> tuple[dict, float]:
    """The report of one pipeline run on a fresh embedded workspace, and its wall time.

    With ``reuse`` a report of the same scenario under the same settings is read back from the
    scenario's directory instead (for re-fitting experiments; the figures then time nothing new).
    """
    key = hashlib.sha256(json.dumps(settings.as_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    cached = path / f"report-{key}.json"
    if reuse and cached.exists() and _population_file(path, settings).exists():
        saved = json.loads(cached.read_text())
        return saved["report"], saved["seconds"]
    with tempfile.TemporaryDirectory(prefix="gl-bench-") as workspace:
        store = open_store("local", Path(workspace))
        start = time.perf_counter()
        try:
            outcome = run_pipeline(path, store, settings, Quarantine(None))
            seconds = time.perf_counter() - start
            # every account's figures, so that re-scoring can measure the population-relative features again
            population = Population.measure(store.stats(), store.usage(), settings.scoring.new_model_min_days)
        finally:
            store.close()
    population.accounts.to_parquet(_population_file(path, settings))
    cached.write_text(json.dumps({"report": outcome.report, "seconds": seconds}, default=str))
    return outcome.report, seconds


def _population_file(path: Path, settings: Settings) -> Path:
    return path / f"population-d{settings.scoring.new_model_min_days}.parquet"


def load_population(path: Path, settings: Settings) -> Population:
    """The scenario's per-account figures saved by :func:`run_scenario` (new models are already counted in them)."""
    return Population(pd.read_parquet(_population_file(path, settings)), pd.Index([]))


# --- clusters, labels, re-scoring ---------------------------------------------------------------
def cluster_features(report: dict) -> pd.DataFrame:
    """The feature row of every cluster of a report (as the report's evidence holds them)."""
    rows = []
    for c in report["clusters"]:
        row = {k: float(v) for k, v in c["evidence"]["features"].items()}
        row.update(size=c["size"], requests=c["evidence"]["requests"], output_tokens=c["evidence"]["output_tokens"])
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index([c["cluster_id"] for c in report["clusters"]], name="cluster"))
    return frame.reindex(columns=FEATURE_COLUMNS).fillna(0.0)


def cluster_labels(report: dict, truth: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: the group holding most of it (op id, look-alike id or 'benign') and whether it is an operation."""
    group = truth.set_index("account_id")["op_id"]
    rows = []
    for c in report["clusters"]:
        counts = group.reindex(c["accounts"]).fillna("benign").value_counts()
        top, n = counts.index[0], int(counts.iloc[0])
        majority = top if n * 2 > len(c["accounts"]) else "mixed"
        rows.append({"cluster": c["cluster_id"], "majority": majority,
                     "positive": majority.startswith("op-"), "kind": archetype_of(majority) if majority.startswith(("op-", "lookalike-")) else majority})
    return pd.DataFrame(rows).set_index("cluster")


def cluster_of(report: dict) -> pd.Series:
    """Cluster id per account id."""
    return pd.Series({a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}, dtype=object)


def measured_features(report: dict, population: Population | None, settings: Settings) -> pd.DataFrame:
    """The clusters' features as a run under ``settings`` measures them: with ``[scoring] population =
    "unflagged"`` the population-relative ones depend on which clusters ``settings`` flags first
    (:func:`graphlinker.analysis.scoring.score_against_population`), so they are measured again from the
    scenario's ``population``; the report's own were measured under the settings it ran with."""
    if population is None:
        return cluster_features(report)
    key = id(report)
    if key not in _PLAIN:  # measured against every account: the same whatever the weights
        features = cluster_features(report)
        members = cluster_of(report)
        features[RELATIVE_COLUMNS] = relative_features(members, population).reindex(features.index).fillna(0.0)
        _PLAIN[key] = (report, features, members)
    _, features, members = _PLAIN[key]
    return score_against_population(features, members, population, settings)[0]


_PLAIN: dict[int, tuple[dict, pd.DataFrame, pd.Series]] = {}  # id(report) -> (report, kept alive), features, members


def rescore(report: dict, settings: Settings, population: Population | None = None) -> dict:
    """The report with every cluster's risk and flag recomputed under ``settings``."""
    scored = score_clusters(measured_features(report, population, settings), settings)
    clusters = [dict(c, risk_score=float(scored.at[c["cluster_id"], "risk_score"]),
                     flagged=bool(scored.at[c["cluster_id"], "flagged"]),
                     evidence=with_gates(c.get("evidence") or {}, scored.at[c["cluster_id"], "not_flagged_because"]))
                for c in report["clusters"]]
    return dict(report, clusters=clusters)


# --- leave one archetype out ----------------------------------------------------------------------
def leave_one_out(runs: list[dict], settings: Settings, max_weight: float = MAX_WEIGHT) -> tuple[list[dict], list[dict]]:
    """Rows for held-out operations and held-out look-alike kinds (see the module docstring)."""
    labels = [cluster_labels(r["report"], r["truth"]).assign(run=i, held_out=r["archetype"]) for i, r in enumerate(runs)]
    op_rows, lookalike_rows = [], []
    for r in runs:
        # every scenario of the archetype is left out, at every scale: a fit that saw it at another scale
        # would not be scoring an operation it never saw
        fitted = fit_without(runs, labels, lambda table, held_out=r["archetype"]: table["held_out"] != held_out, settings, max_weight)
        default = _op_row(r, r["report"], settings.scoring["flag_threshold"])
        loo = _op_row(r, rescore(r["report"], fitted, r.get("population")), fitted.scoring["flag_threshold"])
        op_rows.append({"archetype": r["archetype"], "scale": r["scale"], "accounts": default["accounts"],
                        "default": default, "loo": loo, "seconds": round(r["seconds"], 1),
                        "threshold": fitted.scoring["flag_threshold"], **({"baseline": r["baseline"]} if "baseline" in r else {})})
    for kind in sorted({k for t in labels for k in t["kind"] if k in LOOKALIKES}):
        fitted = fit_without(runs, labels, lambda table, kind=kind: table["kind"] != kind, settings, max_weight)
        flagged = total = flagged_default = 0
        for r in runs:
            members = set(r["truth"].loc[r["truth"]["op_id"].map(archetype_of) == kind, "account_id"])
            total += len(members)
            flagged += len(members & _flagged(rescore(r["report"], fitted, r.get("population"))))
            flagged_default += len(members & _flagged(r["report"]))
        lookalike_rows.append({"lookalike": kind, "accounts": total, "default_flagged": flagged_default / max(total, 1),
                               "loo_flagged": flagged / max(total, 1)})
    return op_rows, lookalike_rows


def fit_without(runs: list[dict], labels: list[pd.DataFrame], keep, settings: Settings, max_weight: float = MAX_WEIGHT) -> Settings:
    """Weights and threshold fitted on the clusters ``keep`` (a function of a run's label table) selects.

    The features a fit sees must be those its own weights would measure: with ``[scoring] population =
    "unflagged"`` they depend on which clusters the weights flag first. So the fit runs twice: on the
    features measured against every account, then on those measured with the first fit's flags (nothing
    of a left-out archetype enters either, not even through the shipped weights the reports ran with).
    """
    fitted = None
    remeasured = settings.scoring.get("population") == "unflagged" and any(r.get("population") is not None for r in runs)
    for _ in range(2 if remeasured else 1):
        plain = replace(settings, scoring={**settings.scoring, "population": "all"}) if fitted is None else fitted
        tables = []
        for i, (r, label) in enumerate(zip(runs, labels, strict=True)):
            table = measured_features(r["report"], r.get("population"), plain).join(label)
            tables.append(table[keep(table)].set_axis([f"{i}/{c}" for c in table.index[keep(table)]]))  # ids repeat
        train = pd.concat(tables)
        fitted = fit_scoring(train[FEATURE_COLUMNS], train["positive"], settings, train["size"], max_weight)
    assert fitted is not None
    return fitted


def _flagged(report: dict) -> set[str]:
    return {a for c in report["clusters"] if c["flagged"] for a in c["accounts"]}


def _op_row(run: dict, report: dict, threshold: float | None = None) -> dict:
    """How the run's operation fares in ``report``; with ``threshold``, also the risk of the cluster holding most of
    it and its ``margin`` over the threshold (how near a flag it is either way; the behaviour gate decides too)."""
    result = evaluate(report, run["truth"])
    op = next(o for o in result.operations if archetype_of(o.op_id) == run["archetype"])
    margin = {}
    if threshold is not None:
        members = set(run["truth"].loc[run["truth"]["op_id"] == op.op_id, "account_id"])
        main = max(report["clusters"], key=lambda c: len(members.intersection(c["accounts"])), default=None)
        held = main is not None and bool(members.intersection(main["accounts"]))
        risk = float(main["risk_score"]) if held else 0.0
        # the conditions of the flag rule that cluster misses (evidence.not_flagged_because): why a miss is a miss
        gates = [g["gate"] for g in (main.get("evidence") or {}).get("not_flagged_because", [])] if held else ["not_clustered"]
        margin = {"risk": round(risk, 4), "margin": round(risk - threshold, 4), "held_back_by": gates}
    return {"accounts": op.size, "recall": round(op.recall, 3), "one_cluster": round(op.one_cluster_share, 3),
            "clustered": round(op.largest_cluster_share, 3),
            "recovered": op.recall >= 0.9 and op.one_cluster_share >= 0.8,
            "lookalike_flagged": round(result.lookalike_share_flagged, 4),
            "average_precision": None if result.average_precision is None else round(result.average_precision, 3),
            "precision": round(result.precision, 3), **margin}


def summary(op_rows: list[dict], lookalike_rows: list[dict], which: str) -> dict:
    rows = [r[which] for r in op_rows]
    aps = [r["average_precision"] for r in rows if r["average_precision"] is not None]
    flagged_lookalike = sum(r["accounts"] * r[f"{which}_flagged"] for r in lookalike_rows) if which != "baseline" else None
    total_lookalike = sum(r["accounts"] for r in lookalike_rows)
    return {"archetypes_recovered": sum(r["recovered"] for r in rows), "runs": len(rows),
            "mean_recall": round(float(np.mean([r["recall"] for r in rows])), 3),
            "min_recall": round(float(np.min([r["recall"] for r in rows])), 3),
            "mean_average_precision": round(float(np.mean(aps)), 3) if aps else None,
            # a run with no cluster mostly of its operation has no positive to rank (AP undefined, left out
            # above); counted as 0 here, the stricter reading of "the cluster ranking finds it"
            "runs_without_a_majority_cluster": len(rows) - len(aps),
            "mean_average_precision_all_runs": round(float(np.mean(aps + [0.0] * (len(rows) - len(aps)))), 3) if rows else None,
            "max_lookalike_flagged_in_a_scenario": max(r["lookalike_flagged"] for r in rows),
            "lookalike_accounts_flagged": None if flagged_lookalike is None else round(flagged_lookalike / max(total_lookalike, 1), 4)}


def print_table(op_rows: list[dict], lookalike_rows: list[dict]) -> None:
    """One line per held-out archetype and scale; per setting: recall, one-cluster share, recovered, look-alikes flagged, AP,
    and the margin of the risk of the cluster holding most of the operation over the threshold it faces."""
    columns = ["default", "loo"] + (["baseline"] if op_rows and "baseline" in op_rows[0] else [])
    print(f"{'':<30}" + "".join(f"| {c:<41}" for c in columns))
    print(f"{'archetype':<14}{'scale':>6}{'accts':>8}  " + "| recall 1-clust ok  la-flag    AP  margin " * len(columns))
    for r in op_rows:
        line = f"{r['archetype']:<14}{r['scale']:>6g}{r['accounts']:>8}  "
        for c in columns:
            x = r[c]
            ap = "   - " if x["average_precision"] is None else f"{x['average_precision']:.3f}"
            margin = f"{x['margin']:+.3f}" if "margin" in x else "     - "
            line += f"| {x['recall']:>6.3f} {x['one_cluster']:>7.3f} {'yes' if x['recovered'] else 'NO':>3} {x['lookalike_flagged']:>7.4f} {ap:>5} {margin:>6} "
        print(line)
    held_back = [f"{r['archetype']}@{r['scale']:g}: {', '.join(r['loo']['held_back_by']) or '(flagged; not recovered)'}"
                 for r in op_rows if not r["loo"]["recovered"] and "held_back_by" in r["loo"]]
    if held_back:
        print("\nnot recovered (loo), the cluster holding most of the operation is held back by: " + "; ".join(held_back))
    print()
    print(f"{'look-alike kind':<16}{'accts':>7}  default flagged  loo flagged")
    for r in lookalike_rows:
        print(f"{r['lookalike']:<16}{r['accounts']:>7}  {r['default_flagged']:>15.4f}  {r['loo_flagged']:>11.4f}")
    print()
    for c in columns:
        print(f"overall ({c}): {json.dumps(summary(op_rows, lookalike_rows, c))}")


# --- modes -------------------------------------------------------------------------------------
def loo_mode(args, settings: Settings, work: Path) -> dict:
    operations = list(OPERATIONS) if args.ops == "all" else args.ops.split(",")
    lookalikes = list(LOOKALIKES)
    old = _old_settings(work) if args.baseline else None
    runs = []
    for scale in args.scales:
        for number, archetype in enumerate(operations):
            path = make_scenario(work, args.seed + number, scale, [archetype], lookalikes)
            truth = pd.read_csv(path / "truth.csv", dtype=str)
            report, seconds = run_scenario(path, settings, args.reuse)
            run = {"archetype": archetype, "scale": scale, "report": report, "truth": truth, "seconds": seconds,
                   "population": load_population(path, settings)}
            if old is not None:
                old_report, _ = run_scenario(path, old, args.reuse)
                run["baseline"] = _op_row(run, old_report)
            print(f"  ran {archetype} at scale {scale:g}: {len(report['clusters'])} clusters in {seconds:.1f}s", file=sys.stderr)
            runs.append(run)
    prior = replace(settings, scoring={**settings.scoring, "weights": HAND_SET_WEIGHTS})
    op_rows, lookalike_rows = leave_one_out(runs, prior, args.max_weight)
    if args.clusters:
        tables = [cluster_features(r["report"]).join(cluster_labels(r["report"], r["truth"]))
                  .assign(scenario=r["archetype"], scale=r["scale"]) for r in runs]
        pd.concat(tables).to_csv(args.clusters)
    print_table(op_rows, lookalike_rows)
    result = {"operations": op_rows, "lookalikes": lookalike_rows,
              "overall": {c: summary(op_rows, lookalike_rows, c) for c in ("default", "loo") + (("baseline",) if old else ())}}
    fitted_all = _fit_all(runs, prior, args.max_weight)
    result["fitted_on_all"] = {"weights": fitted_all.scoring["weights"], "flag_threshold": fitted_all.scoring["flag_threshold"]}
    print(f"\nweights fitted on every scenario: {json.dumps(result['fitted_on_all'])}")
    return result


def _fit_all(runs: list[dict], settings: Settings, max_weight: float = MAX_WEIGHT) -> Settings:
    labels = [cluster_labels(r["report"], r["truth"]) for r in runs]
    return fit_without(runs, labels, lambda table: table.index == table.index, settings, max_weight)


def _old_settings(work: Path) -> Settings:
    path = work / "old-settings.toml"
    path.write_text(OLD_SETTINGS)
    return Settings.load(path)


def scale_sweep(args, settings: Settings, work: Path) -> dict:
    """The default scenario at several scales: per operation, recall and one-cluster share at each."""
    rows = {}
    for scale in args.scale_sweep:
        path = make_scenario(work, args.seed, scale, list(OPERATIONS), list(LOOKALIKES))
        report, seconds = run_scenario(path, settings, args.reuse)
        result = evaluate(report, pd.read_csv(path / "truth.csv", dtype=str))
        for op in result.operations:
            rows.setdefault(op.op_id, {})[f"{scale:g}"] = {"accounts": op.size, "recall": round(op.recall, 3),
                                                          "one_cluster": round(op.one_cluster_share, 3)}
        rows.setdefault("_run", {})[f"{scale:g}"] = {"seconds": round(seconds, 1), "f1": round(result.f1, 3),
                                                    "lookalike_flagged": round(result.lookalike_share_flagged, 4)}
        print(f"  scale {scale:g}: F1 {result.f1:.3f}, {seconds:.1f}s", file=sys.stderr)
    print(f"{'operation':<16}" + "".join(f"{'x' + format(s, 'g'):>22}" for s in args.scale_sweep))
    for op, per in rows.items():
        if op == "_run":
            continue
        print(f"{op:<16}" + "".join(f"{per[format(s, 'g')]['accounts']:>6} {per[format(s, 'g')]['recall']:.3f} {per[format(s, 'g')]['one_cluster']:.3f}  " for s in args.scale_sweep))
    print("runs: " + json.dumps(rows["_run"]))
    return rows


def measure(command: list[str]) -> dict:
    """Wall time and peak RSS of a command in a fresh process (GNU time), its exit code."""
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as record:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", record.name, *command], capture_output=True, text=True)
        peak_kb = int(record.read().strip().splitlines()[-1] or 0)
    return {"seconds": round(time.perf_counter() - start, 1), "peak_gb": round(peak_kb / 1024**2, 2), "exit": proc.returncode,
            "stdout": proc.stdout}


def big_mode(args, work: Path) -> dict:
    """One large operation and a large carrier NAT among a large population, run as a user would."""
    benign_scale = args.big_accounts / 2000
    path = make_scenario(work, args.seed, benign_scale, ["hydra"], ["carrier_nat", "company", "university", "family"],
                         sizes={"hydra": args.big_op, "carrier_nat": 5000}, benign_activity=args.big_activity)
    with tempfile.TemporaryDirectory(prefix="gl-big-") as workspace:
        figures = measure(["graphlinker", "run", str(path), "--workspace", workspace, "--format", "json", "--no-progress"])
    if figures["exit"] != 0:
        print(f"run failed with exit {figures['exit']}", file=sys.stderr)
        return figures
    report = json.loads(figures.pop("stdout"))
    (path / "report-big.json").write_text(json.dumps(report))  # kept beside the scenario for analysis
    result = evaluate(report, pd.read_csv(path / "truth.csv", dtype=str))
    op = next(o for o in result.operations if archetype_of(o.op_id) == "hydra")
    nat = next((r for r in result.lookalikes if archetype_of(r.op_id) == "carrier_nat"), None)
    out = {**figures, "accounts": report["summary"]["accounts"], "requests": _request_rows(path), "op_accounts": op.size, "op_recall": round(op.recall, 3),
           "op_one_cluster": round(op.one_cluster_share, 3), "carrier_nat_flagged": None if nat is None else nat.flagged,
           "lookalike_flagged": round(result.lookalike_share_flagged, 4), "precision": round(result.precision, 3),
           "lookalikes_flagged_by_kind": _flagged_by_kind(result)}
    print("big: " + json.dumps(out))
    return out


def _request_rows(path: Path) -> int:
    """Request rows of a scenario (prompts may hold newlines, so lines are not rows)."""
    import pyarrow.csv as pcsv

    table = pcsv.read_csv(path / "requests.csv", convert_options=pcsv.ConvertOptions(include_columns=["account_id"]),
                          parse_options=pcsv.ParseOptions(newlines_in_values=True))
    return table.num_rows


def _flagged_by_kind(result) -> dict:
    kinds: dict[str, list[int]] = {}
    for group in result.lookalikes:
        counts = kinds.setdefault(archetype_of(group.op_id), [0, 0])
        counts[0] += group.flagged
        counts[1] += group.size
    return {k: f"{f}/{n}" for k, (f, n) in sorted(kinds.items())}


def cost_mode(args, work: Path) -> dict:
    """Wall time and peak memory of whole runs on the ≈1.2M- and ≈5M-request scenarios."""
    out = {}
    for name, scale in (("1.2M", 6.0), ("5M", 25.0)):
        path = make_scenario(work, args.seed, scale, ("naive", "reseller", "hydra", "agentic", "zh"), ("company", "university", "family"))
        rows = _request_rows(path)
        with tempfile.TemporaryDirectory(prefix="gl-cost-") as workspace:
            figures = measure(["graphlinker", "run", str(path), "--workspace", workspace, "--format", "json", "--no-progress"])
        report = json.loads(figures.pop("stdout")) if figures["exit"] == 0 else None
        f1 = None if report is None else round(evaluate(report, pd.read_csv(path / "truth.csv", dtype=str)).f1, 3)
        out[name] = {**figures, "requests": rows, "f1": f1}
        print(f"cost {name}: {json.dumps(out[name])}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1,
                        help="first simulator seed; the k-th archetype's scenarios use seed + k (default 1)")
    parser.add_argument("--scales", type=lambda s: [float(x) for x in s.split(",")], default=[0.3, 1.0],
                        help="scales of the leave-one-archetype-out scenarios (default 0.3,1)")
    parser.add_argument("--ops", default="all", help="operation archetypes to hold out, comma-separated (default all)")
    parser.add_argument("--baseline", action="store_true", help="also run the earlier design (hub caps, content gate)")
    parser.add_argument("--scale-sweep", type=lambda s: [float(x) for x in s.split(",")], default=None,
                        help="instead: one scenario with every archetype and look-alike kind at each of these scales")
    parser.add_argument("--big", action="store_true",
                        help="instead: one hydra of --big-op accounts and a 5,000-account carrier NAT among --big-accounts")
    parser.add_argument("--big-op", type=int, default=20_000, help="accounts of the --big operation (default 20,000)")
    parser.add_argument("--big-accounts", type=int, default=200_000, help="accounts in the --big scenario (default 200,000)")
    parser.add_argument("--big-activity", type=float, default=0.1,
                        help="requests per background and look-alike account, relative (default 0.1)")
    parser.add_argument("--cost", action="store_true",
                        help="instead: wall time and peak memory of `graphlinker run` at ~1.2M and ~5M request rows")
    parser.add_argument("--work", type=Path, default=None, help="where scenarios are written and reused (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    parser.add_argument("--max-weight", type=float, default=MAX_WEIGHT,
                        help=f"largest weight the fit may give one reason (default {MAX_WEIGHT}); the threshold stays above it")
    parser.add_argument("--reuse", action="store_true", help="reuse reports saved in --work by an earlier run with the same settings")
    parser.add_argument("--clusters", type=Path, default=None, help="write every cluster's features and label (CSV)")
    args = parser.parse_args()
    settings = Settings.load()
    with tempfile.TemporaryDirectory(prefix="gl-scenarios-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = {"seed": args.seed}
        if args.scale_sweep:
            result["scale_sweep"] = scale_sweep(args, settings, work)
        if args.big:
            result["big"] = big_mode(args, work)
        if args.cost:
            result["cost"] = cost_mode(args, work)
        if not (args.scale_sweep or args.big or args.cost):
            result["leave_one_out"] = loo_mode(args, settings, work)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
