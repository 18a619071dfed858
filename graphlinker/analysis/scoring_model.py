"""A scoring model learnt from analysts' verdicts: a logistic regression on the reason strengths.

``graphlinker train`` fits it (:func:`fit_model`) and writes it as a small JSON file (:func:`save_model`);
a run scores with it when ``[scoring] model`` names that file (:func:`load_model`, then
:func:`graphlinker.analysis.scoring.score_clusters`). Its inputs are the strengths in [0, 1] the
hand-set scorer already computes per reason, so the report reads as before: each reason contributes
``coefficient × strength`` (log-odds) and the risk score is ``σ(intercept + Σ contributions)``.

Choices, and why (figures: README, "Scoring that learns from verdicts"):

* **It orders and explains; the rule flags.** The risk score and the reasons' weights are the model's;
  which clusters are flagged stays the hand-set rule's (threshold, behaviour gate) and the verdicts'.
  A few dozen verdicts cannot stand in for a rule benchmarked on unseen operations and look-alikes:
  on development scenarios, a model flagging on its own (probability >= 0.5, the gate read in its
  log-odds) flagged 19% of held-out look-alike accounts on average, up to 84%, against 0.4%. With a
  ``threshold`` (``train --threshold``) the model also withdraws the rule's flag from clusters it
  scores below it; by default it has none (there that cost recall and spared almost no look-alike).
* **Coefficients are never negative.** A reason that fires must not lower the risk: else a ring could
  buy a lower score by also looking like an office, and a listed reason would not be evidence *for*.
  scikit-learn's LogisticRegression has no bounds, so a reason whose coefficient comes out negative is
  set to 0 and the others refitted, until none is (the file's ``training.dropped`` lists them).
* **L2 penalty, C = 10.** The sign constraint already restrains the model; the penalty keeps the
  coefficients finite when a few verdicts separate perfectly. On the development scenarios C = 1
  shrank every coefficient until the ranking fell below the shipped weights', and C chosen by
  cross-validation on the verdicts swung from 0.01 to 1000 between draws of 16 clusters.
* **Calibration: the regression's own probabilities, no class weights.** Log loss is a proper scoring
  rule, so the probabilities match the rate of confirmed clusters among those judged — which is the
  analysts' sample, not the population's. CalibratedClassifierCV needs folds holding both verdicts, its
  isotonic form would break ``coefficient × strength``, and its sigmoid form is the same affine map of
  the log-odds the regression already fits; class weights would pull probabilities off the verdicts' rate.
* **JSON, not a pickle**: a model file travels on shared drives, and unpickling runs code. The file
  holds coefficients, intercept, threshold, the ramps the strengths were computed with, counts, date
  and version; no account or cluster id. It carries its ramps because its coefficients mean nothing
  under others: a run with the model computes its strengths with the model's ramps.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphlinker.analysis.features import FEATURE_COLUMNS
from graphlinker.analysis.scoring import REASONS, strengths
from graphlinker.errors import ConfigError, InputError
from graphlinker.settings import Settings

FORMAT = "graphlinker-scoring-model"
FORMAT_VERSION = 1
CODES = tuple(r.code for r in REASONS)
# Reason codes added after format 1 was fixed, with a ramp: a model trained before one existed never learnt it,
# so it reads as coefficient 0 (the ramp then changes nothing) instead of making the file unreadable.
ADDED_LATER = {"shared_identifiers": [0.30, 0.90], "ip_rotation": [0.25, 0.75]}
PENALTY_C = 10.0
LEARN_HINT = "pip install 'graphlinker[learn]'"


# --- scoring with a fitted model --------------------------------------------------------------------
@dataclass(frozen=True)
class ScoringModel:
    """A fitted model as :func:`graphlinker.analysis.scoring.score_clusters` uses it."""

    coefficients: dict[str, float]
    intercept: float
    threshold: float | None  # below it the model withdraws the rule's flag; None: it never does
    ramps: dict[str, list[float]]
    document: dict = field(repr=False, compare=False)

    def strengths(self, features: pd.DataFrame, settings: Settings) -> pd.DataFrame:
        """Each reason's strength under the model's own ramps (those its coefficients were fitted on)."""
        return strengths(features, replace(settings, scoring={**settings.scoring, "ramps": self.ramps}))

    def contributions(self, strength: pd.DataFrame) -> pd.DataFrame:
        """``coefficient × strength`` per cluster and reason, in log-odds."""
        coefficients = pd.Series(self.coefficients, dtype="float64")
        return strength[coefficients.index] * coefficients

    def probability(self, contributions: pd.DataFrame) -> np.ndarray:
        """σ(intercept + the sum of ``contributions``) per row: the risk from those reasons alone."""
        return _sigmoid(self.intercept + contributions.to_numpy("float64").sum(axis=1))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --- training data: labelled clusters -----------------------------------------------------------------
@dataclass
class TrainingSet:
    """Feature rows of labelled clusters (index ``run_id/cluster_id``), their labels and where they came from."""

    features: pd.DataFrame
    positive: pd.Series
    counts: dict[str, Any]


def report_features(report: dict) -> pd.DataFrame:
    """One row of :data:`FEATURE_COLUMNS` per cluster of a published report (as its evidence holds them)."""
    rows = []
    for cluster in report["clusters"]:
        evidence = cluster.get("evidence", {})
        row = {k: float(v) for k, v in evidence.get("features", {}).items()}
        row.update(size=cluster["size"], requests=evidence.get("requests", 0), output_tokens=evidence.get("output_tokens", 0))
        rows.append(row)
    index = pd.Index([str(c["cluster_id"]) for c in report["clusters"]], name="cluster_id")
    return pd.DataFrame(rows, index=index).reindex(columns=FEATURE_COLUMNS).fillna(0.0).astype("float64")


def from_verdicts(verdicts: pd.DataFrame, report_of: Callable[[str], dict | None]) -> TrainingSet:
    """Clusters as analysts judged them: confirmed is positive, benign negative, unsure left out.

    ``verdicts``: each cluster's current verdict (``Workspace.verdicts()``); ``report_of``: the report of a
    run id, None when the store no longer holds that run (its verdicts are then counted as skipped).
    """
    counts = {"confirmed": 0, "benign": 0, "unsure": 0, "skipped": 0}
    rows, labels, keys = [], [], []
    reports: dict[str, pd.DataFrame | None] = {}
    for record in verdicts.to_dict("records"):
        if record["verdict"] == "unsure":
            counts["unsure"] += 1
            continue
        run_id = str(record["run_id"])
        if run_id not in reports:
            report = report_of(run_id)
            reports[run_id] = None if report is None else report_features(report)
        table = reports[run_id]
        cluster_id = str(record["cluster_id"])
        if table is None or cluster_id not in table.index:
            counts["skipped"] += 1
            continue
        counts[record["verdict"]] += 1
        rows.append(table.loc[cluster_id])
        labels.append(record["verdict"] == "confirmed")
        keys.append(f"{run_id}/{cluster_id}")
    return _training_set(rows, labels, keys, counts)


def from_truth(report: dict, truth: pd.DataFrame | Path, exclude: set[str] | None = None) -> TrainingSet:
    """Every cluster of ``report`` labelled by simulated truth (``graphlinker simulate``'s truth.csv, or its frame).

    Positive when more than half of its accounts belong to one planted operation — the rule by which
    ``graphlinker evaluate`` counts a cluster positive in its average precision — else negative.
    Clusters in ``exclude`` (ids with an analyst's verdict, which wins) are left out.
    """
    if not isinstance(truth, pd.DataFrame):
        try:
            truth = pd.read_csv(truth, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read truth file {truth}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    missing = [c for c in ("account_id", "op_id", "role") if c not in truth.columns]
    if missing:
        raise InputError(f"truth file lacks column(s): {', '.join(missing)} (graphlinker simulate writes account_id, op_id, role)")
    planted = truth[truth["role"].astype(str).str.lower() != "lookalike"]
    op_of = dict(zip(planted["account_id"].astype(str), planted["op_id"].astype(str)))
    known = set(truth["account_id"].astype(str))
    clustered = {str(a) for c in report["clusters"] for a in c["accounts"]}
    if clustered and not clustered & known:
        raise InputError(f"none of the {len(clustered)} clustered accounts of run {report['run_id']} is in the truth file: "
                         "is it the truth of the scenario this store ran?")
    table = report_features(report)
    rows, labels, keys = [], [], []
    for cluster in report["clusters"]:
        cluster_id = str(cluster["cluster_id"])
        if exclude and cluster_id in exclude:
            continue
        ops = pd.Series([op_of.get(str(a)) for a in cluster["accounts"]]).value_counts()
        positive = bool(len(ops)) and 2 * int(ops.iloc[0]) > len(cluster["accounts"])
        rows.append(table.loc[cluster_id])
        labels.append(positive)
        keys.append(f"{report['run_id']}/{cluster_id}")
    counts = {"run_id": report["run_id"], "positive": sum(labels), "negative": len(labels) - sum(labels)}
    return _training_set(rows, labels, keys, counts)


def _training_set(rows: list, labels: list[bool], keys: list[str], counts: dict) -> TrainingSet:
    features = pd.DataFrame(rows, columns=FEATURE_COLUMNS).set_axis(pd.Index(keys, name="cluster"))
    return TrainingSet(features.astype("float64"), pd.Series(labels, index=features.index, dtype=bool), counts)


def combine(*sets: TrainingSet) -> TrainingSet:
    """One training set of several (rows keep their own labels)."""
    chosen = [s for s in sets if len(s.features)]
    if not chosen:
        return _training_set([], [], [], {})
    return TrainingSet(pd.concat([s.features for s in chosen]), pd.concat([s.positive for s in chosen]), {})


# --- fitting ----------------------------------------------------------------------------------------
def fit_model(training: TrainingSet, settings: Settings, *, threshold: float | None = None,
              sources: dict | None = None) -> dict:
    """The model document (what :func:`save_model` writes) fitted to ``training``'s labelled clusters.

    Raises InputError (exit 2) without at least one positive and one negative cluster, and ConfigError
    naming the extra when scikit-learn is not installed.
    """
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import average_precision_score, log_loss
    except ImportError:
        raise ConfigError(f"graphlinker train needs scikit-learn, which is not installed: {LEARN_HINT}") from None
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise InputError(f"--threshold must be a probability strictly between 0 and 1, got {threshold}")
    y = training.positive.to_numpy(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if not positives or not negatives:
        raise InputError(f"training needs at least one confirmed and one benign cluster; have {positives} confirmed and "
                         f"{negatives} benign (unsure verdicts are left out): give verdicts with `graphlinker verdict` "
                         "or pass --from-truth TRUTH.csv")
    strength = strengths(training.features, settings)[list(CODES)]
    active, dropped = list(CODES), []
    while True:
        fitted = LogisticRegression(C=PENALTY_C, max_iter=10_000).fit(strength[active].to_numpy("float64"), y)
        coefficients = fitted.coef_[0]
        if (coefficients >= 0).all() or len(active) == 1:
            break
        worst = active[int(np.argmin(coefficients))]
        active.remove(worst)
        dropped.append(worst)
    values = dict.fromkeys(CODES, 0.0) | {c: max(float(v), 0.0) for c, v in zip(active, coefficients)}
    intercept = float(fitted.intercept_[0])
    model = ScoringModel({c: round(v, 6) for c, v in values.items()}, round(intercept, 6), threshold,
                         {c: list(settings.scoring.ramps[c]) for c in CODES}, {})
    probability = model.probability(model.contributions(strength))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": "logistic_regression",
        "risk": "1 / (1 + exp(-(intercept + sum of coefficient x strength))); each strength in [0, 1] is its reason's "
                "feature ramped as in graphlinker/analysis/scoring.py, under the ramps below",
        "graphlinker_version": _version(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(CODES),
        "coefficients": model.coefficients,
        "intercept": model.intercept,
        "threshold": threshold,
        "ramps": model.ramps,
        "training": {
            "clusters": len(y), "positive": positives, "negative": negatives, **(sources or {}),
            "penalty": "l2", "C": PENALTY_C, "class_weight": None, "dropped": dropped,
        },
        "in_sample": {
            "average_precision": round(float(average_precision_score(y, probability)), 4),
            "log_loss": round(float(log_loss(y, np.clip(probability, 1e-9, 1 - 1e-9), labels=[False, True])), 4),
            "above_threshold": None if threshold is None else int((probability >= threshold).sum()),
        },
    }


def _version() -> str:
    from graphlinker import __version__

    return str(__version__)


def save_model(document: dict, path: str | os.PathLike) -> None:
    """Write the model document to ``path``, whole or not at all."""
    from graphlinker.report.render import output_stream

    with output_stream(Path(path)) as stream:
        stream.write(json.dumps(document, indent=2) + "\n")


# --- loading ----------------------------------------------------------------------------------------
def model_problem(path: str | os.PathLike) -> str | None:
    """Why the model file at ``path`` cannot be used (one line), or None when it can."""
    try:
        load_model(path)
    except ConfigError as exc:
        return str(exc)
    return None


def load_model(path: str | os.PathLike) -> ScoringModel:
    """The model in the JSON file ``path``; a ConfigError (exit 2, one line) says what is wrong with it."""
    where = f"model file {path}"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} not found (graphlinker train -o FILE writes one)") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a directory, not a model file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where} is not JSON ({str(exc).splitlines()[0]}); graphlinker train writes one") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError(f"{where} is not a graphlinker scoring model (no \"format\": \"{FORMAT}\")")
    if document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{where} has format_version {document.get('format_version')!r}; this graphlinker reads "
                          f"{FORMAT_VERSION}: retrain with graphlinker train")
    coefficients = _codes_table(_with_later_codes(document.get("coefficients"), 0.0), where, "coefficients")
    ramps = _codes_table(_with_later_codes(document.get("ramps"), None), where, "ramps")
    for code, value in coefficients.items():
        if not _finite(value) or value < 0:
            raise ConfigError(f"{where}: coefficient of {code} must be a finite number >= 0, got {value!r}")
    for code, value in ramps.items():
        if not (isinstance(value, list) and len(value) == 2 and all(_finite(v) for v in value) and value[0] != value[1]):
            raise ConfigError(f"{where}: ramp of {code} must be two different numbers [from, to], got {value!r}")
    intercept, threshold = document.get("intercept"), document.get("threshold")
    if not _finite(intercept):
        raise ConfigError(f"{where}: intercept must be a finite number, got {intercept!r}")
    if threshold is not None and (not _finite(threshold) or not 0.0 < threshold < 1.0):
        raise ConfigError(f"{where}: threshold must be null or a number strictly between 0 and 1, got {threshold!r}")
    return ScoringModel({c: float(coefficients[c]) for c in CODES}, float(intercept), None if threshold is None else float(threshold),
                        {c: [float(v) for v in ramps[c]] for c in CODES}, document)


def _with_later_codes(value: Any, fill: float | None) -> Any:
    """``value`` (a table of reason codes, or anything else, left as it is) with the codes of ``ADDED_LATER`` it
    lacks: ``fill``, or each code's ramp where ``fill`` is None."""
    if not isinstance(value, dict):
        return value
    return {**{code: list(ramp) if fill is None else fill for code, ramp in ADDED_LATER.items()}, **value}


def _codes_table(value: Any, where: str, name: str) -> dict:
    """``value`` as a table of every reason code and nothing else, or a ConfigError saying what differs."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: \"{name}\" must be a table of reason codes")
    unknown, missing = sorted(set(value) - set(CODES)), [c for c in CODES if c not in value]
    if unknown:
        raise ConfigError(f"{where}: unknown reason code(s) in \"{name}\": {', '.join(unknown)}")
    if missing:
        raise ConfigError(f"{where}: \"{name}\" lacks reason code(s) {', '.join(missing)}; retrain with graphlinker train")
    return value


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
