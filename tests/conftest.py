"""Shared fixtures: paths to committed fixtures and the shared LFR data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def lfr_dir() -> Path:
    """The shared LFR benchmark graphs; CI has them beside the clone, so there they must exist."""
    path = SHARED / "data" / "lfr"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"LFR data missing at {path}")
        pytest.skip("shared LFR data not available")
    return path


# The real Neo4j server fixtures (a throwaway server per test session; never skipped).
from neo4j_fixtures import *  # noqa: E402,F401,F403


@pytest.fixture(scope="session")
def hand_settings():
    """The shipped settings with the hand-set weights and threshold 0.6: tests of the scoring *mechanism*,
    independent of the fitted numbers the defaults ship."""
    from dataclasses import replace

    from graphlinker.analysis.scoring_fit import HAND_SET_WEIGHTS
    from graphlinker.settings import Settings

    shipped = Settings.load()
    return replace(shipped, scoring={**shipped.scoring, "weights": dict(HAND_SET_WEIGHTS), "flag_threshold": 0.6})
