"""Synchrony beyond chance (graphlinker/analysis/synchrony.py) on hand-made minute tables.

Expected values are worked out by hand from the module's definition: observed = other members
active in the same minutes; expected = Σ over clock hours of a·(A − a)/60.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphlinker.analysis.synchrony import synchrony_features

DAY = 1440  # one-minute windows per day


def synchronised_share(frame: pd.DataFrame, window_seconds: int, alpha: float) -> pd.Series:
    return synchrony_features(frame, window_seconds, alpha)["synchronised_share"]


def synchrony_lift(frame: pd.DataFrame) -> pd.Series:
    return synchrony_features(frame, 60, 1e-3)["synchrony_lift"]


def minutes(cluster: str, schedule: dict[str, list[int]]) -> pd.DataFrame:
    """Usage rows of kind ``time``: one row per (account, active one-minute window)."""
    rows = [(cluster, account, "time", str(w)) for account, windows in schedule.items() for w in windows]
    return pd.DataFrame(rows, columns=["cluster", "account_id", "kind", "value"]).assign(count=1)


def test_waves_in_the_same_minute_are_synchronised():
    """Four accounts fire together in one minute of each of 10 hours: 30 shared minutes each, 0.5 expected."""
    waves = [d * DAY + 600 + 7 for d in range(10)]  # 10:07 on ten days
    frame = minutes("ring", {f"r{i}": waves for i in range(4)})
    assert synchronised_share(frame, 60, 1e-3)["ring"] == pytest.approx(1.0)
    assert synchrony_lift(frame)["ring"] == pytest.approx(30 / 0.5)


def test_busy_members_of_the_same_hours_are_not_synchronised():
    """Four batch jobs running every minute of the same 10 hours: 1,800 shared minutes each, 1,800 expected."""
    busy = [d * DAY + 600 + m for d in range(10) for m in range(60)]
    frame = minutes("batch", {f"b{i}": busy for i in range(4)})
    assert synchronised_share(frame, 60, 1e-3)["batch"] == 0.0
    assert synchrony_lift(frame)["batch"] == pytest.approx(1.0)


def test_an_office_at_random_minutes_of_its_hours_is_not_synchronised():
    """Thirty people, each active in 12 random minutes of 9:00-17:00 on 20 days (fixed seed)."""
    rng = np.random.default_rng(7)
    office_minutes = np.array([d * DAY + h * 60 + m for d in range(20) for h in range(9, 17) for m in range(60)])
    schedule = {f"o{i}": sorted(rng.choice(office_minutes, 12 * 8 * 20 // 8, replace=False).tolist()) for i in range(30)}
    frame = minutes("office", schedule)
    assert synchronised_share(frame, 60, 1e-3)["office"] <= 1 / 30


def test_only_the_members_beyond_chance_count_and_clusters_are_apart():
    """Two of four members fire together at 10:07 on ten days, the other two at different minutes; a second
    cluster in the same minutes does not lend the first one synchrony."""
    together = [d * DAY + 600 + 7 for d in range(10)]
    apart_a = [d * DAY + 600 + 20 for d in range(10)]
    apart_b = [d * DAY + 900 + 40 for d in range(10)]
    first = minutes("c1", {"a": together, "b": together, "c": apart_a, "d": apart_b})
    second = minutes("c2", {"x": apart_a, "y": apart_b, "z": [d * DAY + 1200 for d in range(10)]})
    share = synchronised_share(pd.concat([first, second]), 60, 1e-3)
    assert share["c1"] == pytest.approx(0.5)
    assert share["c2"] == 0.0


def test_a_single_shared_minute_is_chance_at_the_default_level():
    """Two members sharing one minute once (expected 1/60): p = 1 - e^(-1/60) ≈ 0.0165, above 0.001."""
    frame = minutes("pair", {"a": [600], "b": [600]})
    assert synchronised_share(frame, 60, 1e-3)["pair"] == 0.0
    assert synchronised_share(frame, 60, 0.05)["pair"] == pytest.approx(1.0)


def test_members_without_minutes_count_in_the_share_and_clusters_without_minutes_get_zero():
    """A payer account with no requests is a member too (share over all members)."""
    together = [d * DAY + 600 + 7 for d in range(10)]
    frame = minutes("ring", {f"r{i}": together for i in range(3)})
    payer = pd.DataFrame([("ring", "payer", "payment", "card_1", 1), ("quiet", "q1", "payment", "card_2", 1)],
                         columns=["cluster", "account_id", "kind", "value", "count"])
    share = synchronised_share(pd.concat([frame, payer]), 60, 1e-3)
    assert share["ring"] == pytest.approx(3 / 4)
    assert share["quiet"] == 0.0
    assert synchrony_lift(pd.concat([frame, payer]))["quiet"] == 0.0  # nothing expected, nothing to lift


@pytest.mark.parametrize("dtype", [object, "string[python]", "string[pyarrow]"])
def test_the_same_figures_whatever_the_string_storage_and_id_order(dtype):
    """Windows are read through Arrow's cast when the column is Arrow-backed and accounts grouped by code
    (zed and Alpha share their minutes; mid-9 is a minute off, b10 and cluster 2 never meet):
    the figures are those of the hand-made table with plain Python strings, whatever order the ids sort in."""
    wave = [100, 160, 220, 280, 340]
    schedule = {"zed": wave, "Alpha": wave, "mid-9": [w + 1 for w in wave], "b10": [5, 700, 1500, 2100, 2900]}
    frame = pd.concat([minutes("c1", schedule), minutes("c2", {"x": wave, "y": [w + 7 for w in wave]})], ignore_index=True)
    frame["cluster"] = frame["cluster"].map({"c1": 1, "c2": 2})
    reference = synchrony_features(frame.astype({"account_id": object, "value": object, "kind": object}), 60, 1e-3)
    shuffled = frame.sample(frac=1.0, random_state=3).astype({"account_id": dtype, "value": dtype, "kind": dtype})
    got = synchrony_features(shuffled, 60, 1e-3)
    assert reference.loc[1, "synchronised_share"] == 0.5 and reference.loc[2, "synchronised_share"] == 0.0
    pd.testing.assert_frame_equal(got, reference)
