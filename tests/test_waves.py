"""Keeping a ring's wave riders together (graphlinker/analysis/waves.py) on hand-made minute tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.analysis.detection import canonical
from graphlinker.analysis.waves import keep_waves_together

HOURS = 10
BASE = 29_000_040  # an epoch minute at the start of a clock hour


def usage_of(schedule: dict[str, list[int]]) -> pd.DataFrame:
    rows = [(account, "time", str(BASE + m)) for account, minutes in schedule.items() for m in minutes]
    return pd.DataFrame(rows, columns=["account_id", "kind", "value"]).assign(count=1)


def background(rng, n: int, per_hour: int) -> dict[str, list[int]]:
    """``n`` people, each active in ``per_hour`` random minutes of every hour."""
    return {f"bg-{i:03d}": sorted(int(h * 60 + m) for h in range(HOURS) for m in rng.choice(60, per_hour, replace=False))
            for i in range(n)}


def communities_of(groups: dict[str, int]) -> pd.DataFrame:
    ids = pd.Index(sorted(groups))
    return canonical(ids, np.array([groups[a] for a in ids]))


def together(communities: pd.DataFrame) -> dict[str, int]:
    return communities.set_index("account_id")["community"].to_dict()


def links_between(left, right) -> pd.DataFrame:
    return pd.DataFrame([(a, b) for a in left for b in right], columns=["account_a", "account_b"])



def test_a_rings_riders_left_with_ordinary_users_join_the_rest_of_the_ring():
    """Twenty accounts fire in one minute of each of ten hours among 60 people active 10 minutes an hour;
    detection left six of them with 30 ordinary users. They move; nobody else does."""
    rng = np.random.default_rng(3)
    people = background(rng, 60, 10)
    wave_minutes = [h * 60 + 17 for h in range(HOURS)]
    ring = {f"ring-{i:02d}": wave_minutes for i in range(20)}
    groups = {a: 0 for a in list(ring)[:14]}
    groups.update({a: 1 for a in list(ring)[14:]})
    groups.update({a: 1 if i < 30 else 2 for i, a in enumerate(people)})
    links = pd.concat([links_between(list(ring)[14:], ["ring-00"]), links_between(list(people)[:3], ["ring-01"])])
    result = together(keep_waves_together(communities_of(groups), usage_of({**people, **ring}), links, 60, 1e-3))
    assert len({result[a] for a in ring}) == 1  # the whole ring in one community
    ordinary = {result[a] for a in list(people)[:30]}
    assert len(ordinary) == 1 and ordinary != {result["ring-00"]}  # the ordinary users stay together, apart
    assert len({result[a] for a in list(people)[30:]}) == 1


def test_riders_never_move_into_a_community_they_have_no_link_to():
    """Two rings fire in the same minutes; the smaller one's riders, linked only among themselves, stay."""
    rng = np.random.default_rng(3)
    people = background(rng, 60, 10)
    wave_minutes = [h * 60 + 17 for h in range(HOURS)]
    big = {f"big-{i:02d}": wave_minutes for i in range(20)}
    small = {f"small-{i:02d}": wave_minutes for i in range(6)}
    groups = {**{a: 0 for a in big}, **{a: 1 for a in small}, **{a: 1 for a in list(people)[:30]},
              **{a: 2 for a in list(people)[30:]}}
    before = communities_of(groups)
    after = keep_waves_together(before, usage_of({**people, **big, **small}), links_between(small, small), 60, 1e-3)
    pd.testing.assert_frame_equal(after, before)


def test_busy_people_meet_bursts_by_chance_and_stay():
    """One person active in every minute of every hour is in every burst minute, as chance predicts."""
    rng = np.random.default_rng(4)
    people = background(rng, 60, 10)
    people["busy"] = list(range(HOURS * 60))
    ring = {f"ring-{i:02d}": [h * 60 + 17 for h in range(HOURS)] for i in range(20)}
    groups = {a: 0 for a in ring}
    groups.update({a: 1 for a in people})
    before = communities_of(groups)
    after = keep_waves_together(before, usage_of({**people, **ring}), links_between(people, ring), 60, 1e-3)
    pd.testing.assert_frame_equal(after, before)


def test_without_bursts_nothing_moves():
    """Ordinary traffic only: no minute is improbably busy, so the communities come back unchanged."""
    rng = np.random.default_rng(5)
    people = background(rng, 80, 10)
    groups = {a: i % 4 for i, a in enumerate(people)}
    before = communities_of(groups)
    after = keep_waves_together(before, usage_of(people), links_between(list(people)[:10], list(people)[10:20]), 60, 1e-3)
    pd.testing.assert_frame_equal(after, before)
