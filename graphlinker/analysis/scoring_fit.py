"""Fit the reason weights and the flag threshold from labelled clusters (simulated ones only).

The score stays the noisy-OR of :mod:`graphlinker.analysis.scoring` — each reason contributes
``weight × strength`` and an analyst reads the same reason codes — but the weights are
the maximum-likelihood ones for "this cluster is mostly one operation" (Pearl 1988's
noisy-OR as a likelihood model), with each weight bounded to [0, ``max_weight``] and the
threshold kept above the largest weight, so that no single reason flags a cluster on its
own: an unseen look-alike usually trips one reason (an evaluation team's grader prompts, a
batch job's cadence), an operation several. In the leave-one-archetype-out benchmark a
bound of 0.5 flagged 0.8% of held-out look-alike accounts against 5.3% with 0.95, at the
same number of archetypes recovered (README, "Detection benchmark"). The fit also has a light ridge towards the weights the settings already hold,
so a reason the data does not exercise keeps its prior weight instead of dropping to zero —
the fit must not unlearn a reason merely because no training archetype used it. The flag threshold is then the one that maximises
account-level F1 on the same clusters, among those the coordination gate lets through.

Used by ``bench/bench_detection.py`` leave-one-archetype-out: weights and threshold come
from scenarios without the archetype that is then scored, so the figures say how the
method does on operations nobody described to it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from graphlinker.analysis.scoring import score_clusters, strengths
from graphlinker.settings import Settings

# The weights set by hand before any fit: the ridge prior of the benchmark's leave-one-out folds,
# which must not learn from the shipped (fitted on every archetype) defaults.
HAND_SET_WEIGHTS = {
    "extraction_prompts": 0.55, "template_concentration": 0.35, "shared_payment": 0.25, "shared_identifiers": 0.25, "automation": 0.25,
    "round_the_clock": 0.15, "synchronised_activity": 0.30, "creation_burst": 0.15, "high_output_volume": 0.20,
    "many_small_accounts": 0.15, "new_model_pivot": 0.20, "shared_infrastructure": 0.15,
    "independent_accounts": 0.25, "output_harvesting": 0.20, "template_reuse": 0.15, "lockstep": 0.20,
    "ip_rotation": 0.20,  # added 2026-12-01; the median of the hand-set behaviour weights, not fitted
}
MAX_WEIGHT = 0.5  # no single reason can flag a cluster: the threshold is always above the largest weight
RIDGE = 1e-3  # per cluster, pulling each weight towards its value in the settings (the prior)


def fit_scoring(features: pd.DataFrame, positive: pd.Series, settings: Settings,
                sample_weight: pd.Series | None = None, max_weight: float = MAX_WEIGHT) -> Settings:
    """``settings`` with ``scoring.weights`` and ``scoring.flag_threshold`` fitted to the labelled clusters.

    ``features``: one row per cluster (the columns of :data:`graphlinker.analysis.features.FEATURE_COLUMNS`);
    ``positive``: True where the cluster is mostly one operation; ``sample_weight``: e.g. cluster size.
    """
    strength = strengths(features, settings)
    codes = list(settings.scoring.weights)
    s = strength[codes].to_numpy("float64")
    y = positive.reindex(features.index).to_numpy(bool)
    w = np.ones(len(y)) if sample_weight is None else sample_weight.reindex(features.index).to_numpy("float64")
    w = w / w.mean()
    start = np.array([min(float(settings.scoring.weights[c]), max_weight) for c in codes])
    result = minimize(_loss, start, args=(s, y, w, start), jac=True, method="L-BFGS-B", bounds=[(0.0, max_weight)] * len(codes))
    weights = {c: round(float(v), 4) for c, v in zip(codes, result.x)}
    fitted = replace(settings, scoring={**settings.scoring, "weights": weights})
    threshold = _best_threshold(features, y, fitted, floor=float(max(result.x)))
    return replace(fitted, scoring={**fitted.scoring, "flag_threshold": threshold})


def _loss(weights: np.ndarray, s: np.ndarray, y: np.ndarray, w: np.ndarray, prior: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted negative log-likelihood of the noisy-OR plus the ridge towards ``prior``, and its gradient."""
    keep = np.clip(1.0 - weights * s, 1e-9, 1.0)  # each reason's chance of *not* firing
    log_miss = np.log(keep).sum(axis=1)  # log(1 - risk)
    risk = np.clip(1.0 - np.exp(log_miss), 1e-9, 1.0 - 1e-9)
    loss = -(w * np.where(y, np.log(risk), np.log1p(-risk))).sum() + RIDGE * len(y) * ((weights - prior) ** 2).sum()
    d_log_miss = -s / keep  # ∂ log(1 - risk) / ∂ weight
    factor = np.where(y, (1.0 - risk) / risk, -1.0)  # ∂(-loglik)/∂ log(1 - risk)
    grad = ((w * factor)[:, None] * d_log_miss).sum(axis=0) + 2 * RIDGE * len(y) * (weights - prior)
    return float(loss), grad


def _best_threshold(features: pd.DataFrame, y: np.ndarray, settings: Settings, floor: float = 0.0) -> float:
    """The threshold with the best account-level F1, halfway down to the next lower risk (a margin for new data)."""
    scored = score_clusters(features, replace(settings, scoring={**settings.scoring, "flag_threshold": 0.0}))
    eligible = scored["flagged"].to_numpy()  # passes the gate and the minimum size at any risk
    risk = scored["risk_score"].to_numpy()
    size = features["size"].to_numpy("float64")
    candidates = np.unique(risk[eligible & (risk > floor)])
    if not len(candidates):
        return settings.scoring.flag_threshold
    positives = size[y].sum()
    f1 = []
    for t in candidates:
        flag = eligible & (risk >= t)
        flagged = size[flag].sum()
        f1.append(2 * size[flag & y].sum() / (flagged + positives) if flagged + positives else 0.0)
    best = candidates[int(np.argmax(f1))]  # the lowest threshold among equally good ones
    below = risk[eligible & (risk < best) & (risk > floor)]
    return round(float((best + (below.max() if len(below) else floor)) / 2), 4)
