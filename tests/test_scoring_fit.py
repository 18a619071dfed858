"""Fitting reason weights: recovers the weights that generated the labels; threshold by account-level F1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from graphlinker.config import Settings
from graphlinker.features import FEATURE_COLUMNS
from graphlinker.scoring import strengths
from graphlinker.scoring_fit import MAX_WEIGHT, fit_scoring


@pytest.fixture(scope="module")
def settings():
    return Settings.load()


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
    fitted = fit_scoring(frame, positive, settings).scoring["weights"]
    assert fitted["extraction_prompts"] == pytest.approx(0.8, abs=0.06)
    assert fitted["automation"] == pytest.approx(0.4, abs=0.06)
    assert fitted["creation_burst"] < 0.06  # present in the data but unrelated to the labels
    assert all(0.0 <= w <= MAX_WEIGHT for w in fitted.values())


def test_threshold_separates_cleanly_separable_clusters(settings):
    """Positives have full extraction strength, negatives none: any threshold between their risks is perfect,
    and the fit takes the midpoint of the positives' lowest risk and the negatives' highest."""
    frame = _clusters(200, np.random.default_rng(1))
    frame["sdk_share"] = 0.0
    frame["creation_burst_share"] = 0.0
    frame["extraction_share"] = np.where(np.arange(200) < 100, 0.6, 0.0)
    positive = pd.Series(np.arange(200) < 100, index=frame.index)
    fitted = fit_scoring(frame, positive, settings)
    w = fitted.scoring["weights"]["extraction_prompts"]
    assert w == pytest.approx(MAX_WEIGHT, abs=0.02)
    assert fitted.scoring["flag_threshold"] == pytest.approx(w / 2, abs=1e-3)  # negatives all score 0


def test_fit_keeps_everything_else_of_the_settings(settings):
    frame = _clusters(50, np.random.default_rng(2))
    fitted = fit_scoring(frame, pd.Series(frame["extraction_share"] > 0.3, index=frame.index), settings)
    assert replace(fitted, scoring=settings.scoring) == settings
    assert set(fitted.scoring["weights"]) == set(settings.scoring["weights"])
