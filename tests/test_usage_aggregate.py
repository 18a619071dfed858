"""aggregate_usage: one row per (account, kind, value), counts added, first/last seen widened,
and the per-kind path a request chunk takes gives the same table as the general one."""

import pandas as pd

from graphlinker.ingest.usage import USAGE_COLUMNS, aggregate_usage


def _rows(kind: str, rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    account, value, count, seen = (list(column) for column in zip(*rows)) if rows else ([], [], [], [])
    seen = pd.to_datetime(pd.Series(seen, dtype=object), utc=True)
    return pd.DataFrame({"account_id": pd.Series(account, dtype="string"), "kind": kind,
                         "value": pd.Series(value, dtype="string"), "count": pd.Series(count, dtype="int64"),
                         "first_seen": seen, "last_seen": seen})


PARTS = [
    _rows("ip", [("a", "10.0.0.1", 1, "2026-01-01T10:00"), ("b", "10.0.0.1", 1, "2026-01-01T09:00"),
                 ("a", "10.0.0.1", 2, "2026-01-01T08:00"), ("a", "10.0.0.2", 1, "2026-01-02T00:00")]),
    _rows("template", [("b", "t1", 1, "2026-01-03T00:00"), ("a", "t1", 1, "2026-01-01T00:00"),
                       ("b", "t1", 1, "2026-01-01T12:00")]),
    _rows("ip", []),  # an empty part (a kind with no values in the chunk)
]

EXPECTED = [  # first appearance order: kinds in part order, pairs in row order
    ("a", "ip", "10.0.0.1", 3, "2026-01-01T08:00", "2026-01-01T10:00"),
    ("b", "ip", "10.0.0.1", 1, "2026-01-01T09:00", "2026-01-01T09:00"),
    ("a", "ip", "10.0.0.2", 1, "2026-01-02T00:00", "2026-01-02T00:00"),
    ("b", "template", "t1", 2, "2026-01-01T12:00", "2026-01-03T00:00"),
    ("a", "template", "t1", 1, "2026-01-01T00:00", "2026-01-01T00:00"),
]


def _as_tuples(frame: pd.DataFrame) -> list[tuple]:
    return [(r.account_id, r.kind, r.value, r.count, r.first_seen.strftime("%Y-%m-%dT%H:%M"),
             r.last_seen.strftime("%Y-%m-%dT%H:%M")) for r in frame.itertuples()]


def test_general_path_collapses_and_widens():
    got = aggregate_usage(PARTS)
    assert list(got.columns) == USAGE_COLUMNS
    assert _as_tuples(got) == EXPECTED


def test_one_kind_each_gives_the_same_table():
    general, per_kind = aggregate_usage(PARTS), aggregate_usage(PARTS, one_kind_each=True)
    assert _as_tuples(per_kind) == EXPECTED
    pd.testing.assert_frame_equal(per_kind, general)


def test_nothing_to_aggregate_keeps_the_columns():
    assert list(aggregate_usage([], one_kind_each=True).columns) == USAGE_COLUMNS
    assert aggregate_usage([PARTS[2]]).empty
