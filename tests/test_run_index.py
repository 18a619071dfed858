"""The grouper's uint64 → int32 multimap (graphlinker/templates/run_index.py) against Python lists."""

from __future__ import annotations

import numpy as np
import pytest

from graphlinker.templates.run_index import SortedRunIndex, sorted_run


@pytest.mark.parametrize("ascending", [True, False])
def test_sorted_run_orders_by_key_then_value(ascending):
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 40, 3000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # many ties, large keys
    values = np.sort(rng.integers(0, 900, 3000)) if ascending else rng.integers(-5, 900, 3000)
    got_keys, got_values = sorted_run(keys, values.astype(np.int32))
    expected = sorted(zip(keys.tolist(), values.tolist()))
    assert list(zip(got_keys.tolist(), got_values.tolist())) == expected


def test_sorted_run_of_distinct_keys_and_of_nothing():
    keys = np.array([5, 3, 9], dtype=np.uint64)
    assert [a.tolist() for a in sorted_run(keys, np.array([0, 1, 2], np.int32))] == [[3, 5, 9], [1, 0, 2]]
    assert [a.tolist() for a in sorted_run(keys[:0], np.array([], np.int32))] == [[], []]


def test_index_lookups_match_a_dict_of_lists_over_several_runs():
    rng = np.random.default_rng(8)
    index, reference = SortedRunIndex(), {}
    next_value = 0
    for size in (50, 20, 200, 7, 90):  # added runs merge as the index grows
        keys = rng.integers(0, 60, size).astype(np.uint64)
        values = np.arange(next_value, next_value + size)
        next_value += size
        index.add(keys, values)
        for k, v in zip(keys.tolist(), values.tolist()):
            reference.setdefault(k, []).append(v)
    queries = np.array([3, 59, 1000, 3, 17], dtype=np.uint64)
    assert index.first(queries).tolist() == [min(reference.get(q, [-1])) for q in queries.tolist()]
    rows, values = index.lookup(queries, cap=4)
    got = sorted(zip(rows.tolist(), values.tolist()))
    assert len(index) == sum(map(len, reference.values()))
    for i, q in enumerate(queries.tolist()):  # per run, the first (earliest) 4 of the key's values
        mine = [v for r, v in got if r == i]
        assert set(mine) <= set(reference.get(q, []))
        assert min(mine, default=-1) == min(reference.get(q, [-1]))


@pytest.mark.parametrize("values_in_order", [True, False])
def test_entries_list_every_key_and_value_in_order(values_in_order):
    """Merging the runs (slots registered in order: each run's values below the next's) and sorting them
    whole (any other values) both list every entry by key, then value, as a Python sort does."""
    rng = np.random.default_rng(11)
    index, everything, next_value = SortedRunIndex(), [], 0
    for size in (700, 300, 120, 50, 20, 9, 1):  # sizes that leave several runs unmerged
        keys = rng.integers(0, 60, size).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        if values_in_order:
            values = np.arange(next_value, next_value + size)
            next_value += size
        else:
            values = rng.integers(0, 5000, size)
        index.add(keys, values)
        everything += zip(keys.tolist(), values.tolist())
    assert len(index._runs) > 1
    keys, values = index.entries()
    assert list(zip(keys.tolist(), values.tolist())) == sorted(everything)
    assert values.dtype == np.int32 and keys.dtype == np.uint64


def test_entries_of_one_run_are_a_copy():
    index = SortedRunIndex()
    index.add(np.array([7, 3], dtype=np.uint64), np.array([0, 1]))
    keys, values = index.entries()
    keys[0] = 99
    assert index.entries()[0].tolist() == [3, 7] and values.tolist() == [1, 0]
