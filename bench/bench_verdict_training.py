"""Benchmark: does a model trained on analysts' verdicts rank clusters better than the shipped weights?

For each seed of ``--seeds``: one simulated scenario (``graphlinker simulate DIR --seed S --scale X
--ops all --lookalikes all``) is run once through the real pipeline (embedded store, shipped settings).
Then, ``--draws`` times, a random ``--share`` (20%) of its clusters get verdicts from the truth, as an
analyst who knew it would give them — **confirmed** when more than half of the cluster is one planted
operation, **benign** when more than half is one look-alike group or ordinary accounts, **unsure** when no
group holds a majority — through ``Workspace.verdict``; ``Workspace.train`` fits the model on them with
its documented defaults (nothing here is tuned). Every cluster is then re-scored from the report's
features, and only the **other 80%** compared (a report of those clusters against the truth without the
judged clusters' accounts, by ``graphlinker evaluate``'s rules):

* ``shipped`` — the shipped noisy-OR weights (``defaults.toml``; fitted by ``scoring_fit.py`` on the
  simulated truth of ``bench_detection.py``'s scenarios, so not set by hand, and they have seen every archetype);
* ``hand_set`` — the weights set by hand before any fit (``scoring_fit.HAND_SET_WEIGHTS``);
* ``model`` — the trained model as a run uses it (``[scoring] model``): its probability orders the
  clusters, the shipped rule flags them;
* ``veto`` — the same model trained with ``--threshold 0.5``: it also withdraws flags below 0.5;
* ``alone`` — the design not shipped, for the record: the model flags on its own (probability >= 0.5,
  at least 3 accounts, and the behaviour gate read in log-odds: the behaviour reasons alone reach 0.5 and
  ``min_behaviour_reasons`` of them each cover ``reason_min_contribution`` of the way from the intercept).

Figures per draw, with their mean and spread over every seed and draw: average precision (AP) of the
held-out clusters' ranking, the share of held-out look-alike accounts flagged (it must never rise over
``shipped``) and account recall. Draw 0 of each seed is also run end to end with ``[scoring] model`` set,
checking that re-scoring from the report's features is what a run does (the largest risk difference).

    python bench/bench_verdict_training.py --seeds 1,2,3,4,5 --scale 1 --json bench-verdicts.json

Not a test: it asserts nothing (``tests/test_train.py`` runs the same steps on the demo).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

import graphlinker as gl
from graphlinker.analysis.scoring import score_clusters
from graphlinker.analysis.scoring_fit import HAND_SET_WEIGHTS
from graphlinker.analysis.scoring_model import load_model, report_features, save_model
from graphlinker.settings import Settings
from graphlinker.sim.evaluate import evaluate
from graphlinker.sim.scenario import LOOKALIKES, OPERATIONS, simulate

VARIANTS = ("shipped", "hand_set", "model", "veto", "alone")


def scenario(work: Path, seed: int, scale: float) -> Path:
    """``graphlinker simulate`` with every operation and look-alike kind (reused when already in ``work``)."""
    path = work / f"s{seed}-x{scale:g}"
    if not (path / "truth.csv").exists():
        simulate(path, seed=seed, scale=scale, operations=list(OPERATIONS), lookalikes=list(LOOKALIKES))
    return path


def verdict_of(cluster: dict, group: pd.Series) -> str:
    """What an analyst who knew the truth would say: the group holding more than half of the cluster decides."""
    counts = group.reindex(cluster["accounts"]).fillna("ordinary").value_counts()
    if int(counts.iloc[0]) * 2 <= len(cluster["accounts"]):
        return "unsure"
    return "confirmed" if str(counts.index[0]).startswith("op-") else "benign"


def rescored(report: dict, settings: Settings) -> pd.DataFrame:
    """Every cluster's ``risk_score`` and ``flagged`` recomputed from the report's features under ``settings``."""
    return score_clusters(report_features(report), settings)[["risk_score", "flagged"]]


def alone(report: dict, settings: Settings, model_path: Path, threshold: float = 0.5) -> pd.DataFrame:
    """The design not shipped: the model flags on its own, with the behaviour gate read in its log-odds."""
    features = report_features(report)
    model = load_model(model_path)
    contribution = model.contributions(model.strengths(features, settings))
    scoring = settings.scoring
    behaviour = contribution.drop(columns=list(scoring.infrastructure_reasons))
    size = features["size"].to_numpy("float64")
    risk = model.probability(contribution) * np.minimum(size / scoring.min_cluster_size, 1.0)
    distance = np.log(threshold / (1 - threshold)) - model.intercept
    strong = (behaviour >= max(scoring.reason_min_contribution * distance, 0.005)).sum(axis=1).to_numpy()
    flagged = ((risk >= threshold) & (size >= scoring.min_cluster_size) & (model.probability(behaviour) >= threshold)
               & (strong >= scoring.min_behaviour_reasons))
    return pd.DataFrame({"risk_score": risk, "flagged": flagged}, index=features.index)


def with_scores(report: dict, scores: pd.DataFrame) -> dict:
    clusters = [dict(c, risk_score=float(scores.at[c["cluster_id"], "risk_score"]), flagged=bool(scores.at[c["cluster_id"], "flagged"]))
                for c in report["clusters"]]
    return dict(report, clusters=clusters)


def held_out(report: dict, truth: pd.DataFrame, judged: set[str]) -> dict:
    """AP, look-alike accounts flagged and account recall/precision over the clusters nobody judged."""
    kept = [c for c in report["clusters"] if c["cluster_id"] not in judged]
    seen = {a for c in report["clusters"] if c["cluster_id"] in judged for a in c["accounts"]}
    result = evaluate(dict(report, clusters=kept), truth[~truth["account_id"].isin(seen)])
    return {"average_precision": None if result.average_precision is None else round(result.average_precision, 4),
            "lookalike_flagged": round(result.lookalike_share_flagged, 4), "recall": round(result.recall, 4),
            "precision": round(result.precision, 4), "flagged_clusters": result.flagged_clusters,
            "clusters": result.ranked_clusters, "positive_clusters": result.positive_clusters}


def one_seed(args, seed: int, work: Path, settings: Settings) -> list[dict]:
    path = scenario(work, seed, args.scale)
    truth = pd.read_csv(path / "truth.csv", dtype=str, keep_default_na=False)
    group = truth.set_index("account_id")["op_id"]
    pristine = work / f"ws-s{seed}-x{args.scale:g}"
    shutil.rmtree(pristine, ignore_errors=True)
    start = time.perf_counter()
    with gl.open_workspace(pristine) as ws:
        report = ws.run(path, settings=settings).report
    seconds = time.perf_counter() - start
    print(f"  seed {seed}: {len(report['clusters'])} clusters in {seconds:.0f}s", file=sys.stderr)
    hand_set = replace(settings, scoring={**settings.scoring, "weights": HAND_SET_WEIGHTS})
    rows = []
    for draw in range(args.draws):
        rng = np.random.default_rng([seed, draw])
        chosen = rng.choice(len(report["clusters"]), size=round(args.share * len(report["clusters"])), replace=False)
        judged = {report["clusters"][i]["cluster_id"]: verdict_of(report["clusters"][i], group) for i in sorted(chosen)}
        workspace = work / f"ws-s{seed}-x{args.scale:g}-d{draw}"
        shutil.rmtree(workspace, ignore_errors=True)
        shutil.copytree(pristine, workspace)
        model_path = work / f"model-s{seed}-d{draw}.json"
        with gl.open_workspace(workspace) as ws:
            for cluster_id, verdict in judged.items():
                ws.verdict(cluster_id, verdict, by="bench")
            try:
                model = ws.train(model_path, settings=settings)
            except gl.InputError as exc:  # a draw without both verdicts: nothing to train, said so
                print(f"  seed {seed} draw {draw}: {exc}", file=sys.stderr)
                rows.append({"seed": seed, "draw": draw, "verdicts": _count(judged), "skipped": str(exc)})
                continue
            with_model = replace(settings, scoring={**settings.scoring, "model": str(model_path)})
            vetoing = work / f"model-s{seed}-d{draw}-veto.json"
            save_model({**model, "threshold": 0.5}, vetoing)  # what `train --threshold 0.5` writes
            scores = {"shipped": rescored(report, settings), "hand_set": rescored(report, hand_set),
                      "model": rescored(report, with_model),
                      "veto": rescored(report, replace(settings, scoring={**settings.scoring, "model": str(vetoing)})),
                      "alone": alone(report, settings, model_path)}
            row = {"seed": seed, "draw": draw, "verdicts": _count(judged),
                   "coefficients": {k: v for k, v in model["coefficients"].items() if v}, "intercept": model["intercept"]}
            for name in VARIANTS:
                row[name] = held_out(with_scores(report, scores[name]), truth, set(judged))
            if draw == 0:  # the same model through a whole run: re-scoring must be what a run does
                again = ws.run(path, settings=with_model).report
                row["end_to_end"] = _end_to_end(again, with_scores(report, scores["model"]), truth, set(judged))
        shutil.rmtree(workspace, ignore_errors=True)
        rows.append(row)
        print(f"  seed {seed} draw {draw}: {json.dumps({k: row[k] for k in ('verdicts', *VARIANTS)})}", file=sys.stderr)
    shutil.rmtree(pristine, ignore_errors=True)
    return rows


def _count(judged: dict[str, str]) -> dict[str, int]:
    return {v: sum(1 for x in judged.values() if x == v) for v in ("confirmed", "benign", "unsure")}


def _end_to_end(run_report: dict, rescored_report: dict, truth: pd.DataFrame, judged: set[str]) -> dict:
    ran = {c["cluster_id"]: c for c in run_report["clusters"]}
    same = set(ran) == {c["cluster_id"] for c in rescored_report["clusters"]}
    gap = max((abs(ran[c["cluster_id"]]["risk_score"] - c["risk_score"]) for c in rescored_report["clusters"] if c["cluster_id"] in ran), default=None)
    return {"same_clusters": same, "largest_risk_difference": None if gap is None else round(gap, 4),
            "held_out": held_out(run_report, truth, judged)}


def _spread(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
    return {"mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values, ddof=1)), 4) if len(values) > 1 else 0.0,
            "min": round(float(min(values)), 4), "max": round(float(max(values)), 4), "n": len(values)}


def summary(rows: list[dict]) -> dict:
    rows = [r for r in rows if "skipped" not in r]
    out: dict = {}
    for name in VARIANTS:
        out[name] = {"average_precision": _spread([r[name]["average_precision"] for r in rows]),
                     "lookalike_flagged": _spread([r[name]["lookalike_flagged"] for r in rows]),
                     "recall": _spread([r[name]["recall"] for r in rows])}
    gains = [r["model"]["average_precision"] - r["shipped"]["average_precision"] for r in rows
             if r["model"]["average_precision"] is not None and r["shipped"]["average_precision"] is not None]
    out["model_minus_shipped_ap"] = _spread(gains)
    out["draws_model_ap_higher"] = sum(g > 0 for g in gains)
    seeds = sorted({r["seed"] for r in rows})
    out["per_seed"] = {str(s): {name: round(float(np.mean([r[name]["average_precision"] for r in rows if r["seed"] == s
                                                            and r[name]["average_precision"] is not None])), 4)
                                for name in ("shipped", "model")} for s in seeds}
    out["seed_means"] = {name: _spread([v[name] for v in out["per_seed"].values()]) for name in ("shipped", "model")}
    out["draws_lookalike_rose"] = {name: sum(r[name]["lookalike_flagged"] > r["shipped"]["lookalike_flagged"] for r in rows)
                                   for name in VARIANTS if name != "shipped"}
    out["draws"] = len(rows)
    return out


def print_table(rows: list[dict], overall: dict) -> None:
    print(f"{'seed':>4} {'draw':>4} {'c/b/u':>8} | {'AP shipped':>10} {'hand-set':>8} {'model':>6} | "
          f"{'look-alikes flagged: shipped':>28} {'model':>6} {'veto':>6} {'alone':>6} | {'recall: shipped':>15} {'veto':>6} {'alone':>6}")
    for r in rows:
        v = r["verdicts"]
        counts = f"{v['confirmed']}/{v['benign']}/{v['unsure']}"
        if "skipped" in r:
            print(f"{r['seed']:>4} {r['draw']:>4} {counts:>8} | skipped: {r['skipped']}")
            continue
        ap = {k: "   -" if r[k]["average_precision"] is None else f"{r[k]['average_precision']:.3f}" for k in VARIANTS}
        print(f"{r['seed']:>4} {r['draw']:>4} {counts:>8} | {ap['shipped']:>10} {ap['hand_set']:>8} {ap['model']:>6} | "
              f"{r['shipped']['lookalike_flagged']:>28.4f} {r['model']['lookalike_flagged']:>6.4f} {r['veto']['lookalike_flagged']:>6.4f} "
              f"{r['alone']['lookalike_flagged']:>6.4f} | {r['shipped']['recall']:>15.3f} {r['veto']['recall']:>6.3f} {r['alone']['recall']:>6.3f}")
    print()
    for name in VARIANTS:
        ap, la, rec = (overall[name][k] for k in ("average_precision", "lookalike_flagged", "recall"))
        print(f"{name:<9} AP mean {ap['mean']} sd {ap['sd']} [{ap['min']}, {ap['max']}]; look-alikes flagged mean {la['mean']} "
              f"max {la['max']}; recall mean {rec['mean']}")
    gain = overall["model_minus_shipped_ap"]
    print(f"model - shipped AP: mean {gain['mean']} sd {gain['sd']} [{gain['min']}, {gain['max']}]; higher in "
          f"{overall['draws_model_ap_higher']} of {overall['draws']} draws; draws where look-alikes flagged rose over shipped: "
          f"{json.dumps(overall['draws_lookalike_rose'])}")
    per_seed = overall["per_seed"]
    print("per seed, mean over draws (AP shipped -> model): " + ", ".join(
        f"{s}: {v['shipped']:.3f} -> {v['model']:.3f}" for s, v in per_seed.items()))
    checks = [r["end_to_end"] for r in rows if "end_to_end" in r]
    if checks:
        print("end to end (draw 0 run with [scoring] model): same clusters "
              f"{all(c['same_clusters'] for c in checks)}, largest risk difference {max(c['largest_risk_difference'] or 0 for c in checks)}, "
              f"held-out AP equal {all(c['held_out']['average_precision'] == r['model']['average_precision'] for c, r in zip(checks, [r for r in rows if 'end_to_end' in r]))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3, 4, 5],
                        help="scenario seeds (default 1,2,3,4,5)")
    parser.add_argument("--scale", type=float, default=1.0, help="scenario scale (default 1: ~4,600 accounts, ~70 clusters)")
    parser.add_argument("--share", type=float, default=0.2, help="share of clusters given a verdict (default 0.2)")
    parser.add_argument("--draws", type=int, default=3, help="random draws of the judged clusters per seed (default 3)")
    parser.add_argument("--work", type=Path, default=None, help="where scenarios are written and reused (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    args = parser.parse_args()
    settings = Settings.load()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gl-verdicts-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            rows += one_seed(args, seed, work, settings)
    overall = summary(rows)
    print_table(rows, overall)
    if args.json:
        result = {"seeds": args.seeds, "scale": args.scale, "share": args.share, "draws": args.draws, "rows": rows, "overall": overall}
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
