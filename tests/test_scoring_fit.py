"""Fitting reason weights: recovers the weights that generated the labels; threshold by account-level F1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from graphlinker.analysis.features import FEATURE_COLUMNS
from graphlinker.analysis.scoring import score_clusters, strengths
from graphlinker.analysis.scoring_fit import MAX_WEIGHT, fit_scoring


@pytest.fixture(scope="module")
def settings(hand_settings):
    return hand_settings


def _clusters(n: int, rng) -> pd.DataFrame:
    frame = pd.DataFrame(0.0, index=pd.Index(range(n), name="cluster"), columns=FEATURE_COLUMNS)
    frame["size"] = rng.integers(3, 50, n)
    frame["under_p95_share"] = 1.0
    frame["independence"] = 1.0  # every cluster passes the coordination gate
    frame["extraction_share"] = rng.random(n) * 0.6  # strength ramps 0.1 -> 0.5
    frame["sdk_share"] = rng.random(n) * 1.0  # automation ramps 0.3 -> 0.9
    frame["creation_burst_share"] = rng.random(n)  # ramps 0.4 -> 0.9
    return frame


def test_fit_recovers_the_weights_that_generated_the_labels(settings):
    """Labels drawn from a noisy-OR with extraction 0.8, automation 0.4 and nothing else; the fit finds them."""
    rng = np.random.default_rng(7)
    frame = _clusters(6000, rng)
    s = strengths(frame, settings)
    risk = 1 - (1 - 0.8 * s["extraction_prompts"]) * (1 - 0.4 * s["automation"])
    positive = pd.Series(rng.random(len(frame)) < risk, index=frame.index)
    fitted = fit_scoring(frame, positive, settings, max_weight=0.95).scoring["weights"]
    assert fitted["extraction_prompts"] == pytest.approx(0.8, abs=0.06)
    assert fitted["automation"] == pytest.approx(0.4, abs=0.06)
    assert fitted["creation_burst"] < 0.06  # present in the data but unrelated to the labels
    assert all(0.0 <= w <= 0.95 for w in fitted.values())


def test_no_single_reason_flags_a_cluster(settings):
    """Positives show two reasons, negatives one of them each: the fitted threshold lies above every
    weight, so exactly the clusters with both reasons are flagged."""
    n = 300
    frame = _clusters(n, np.random.default_rng(1))
    kind = np.arange(n) % 3  # 0: both reasons (an operation), 1: extraction only, 2: automation only
    frame["extraction_share"] = np.where(kind != 2, 0.6, 0.0)
    frame["sdk_share"] = np.where(kind != 1, 1.0, 0.0)
    frame["creation_burst_share"] = 0.0
    positive = pd.Series(kind == 0, index=frame.index)
    fitted = fit_scoring(frame, positive, settings)
    weights = fitted.scoring["weights"]
    assert max(weights.values()) <= MAX_WEIGHT
    assert fitted.scoring["flag_threshold"] > max(weights.values())
    flagged = score_clusters(frame, fitted)["flagged"]
    assert (flagged == positive).all()


def test_fit_keeps_everything_else_of_the_settings(settings):
    frame = _clusters(50, np.random.default_rng(2))
    fitted = fit_scoring(frame, pd.Series(frame["extraction_share"] > 0.3, index=frame.index), settings)
    assert replace(fitted, scoring=settings.scoring) == settings
    assert set(fitted.scoring["weights"]) == set(settings.scoring["weights"])
