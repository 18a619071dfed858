"""graphlinker.arrays against numpy's own set routines (which it replaces only for speed)."""

import numpy as np
import pytest

from graphlinker.arrays import contains, distinct, union_distinct


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
@pytest.mark.parametrize("dtype", [np.uint64, np.int64])
def test_distinct_and_union_are_numpys(n, dtype):
    rng = np.random.default_rng(n)
    a = rng.integers(0, max(n // 3, 1), n).astype(dtype)  # repeats
    b = rng.integers(0, 2**62, n).astype(dtype)  # wide values
    np.testing.assert_array_equal(distinct(a), np.unique(a))
    np.testing.assert_array_equal(union_distinct(a, b), np.union1d(a, b))
    np.testing.assert_array_equal(union_distinct(a, b, a[:3]), np.unique(np.concatenate([a, b])))


@pytest.mark.parametrize(("n", "m"), [(0, 5), (5, 0), (0, 0), (1, 10), (300, 1000)])
def test_contains_is_isin(n, m):
    rng = np.random.default_rng(n * 7 + m)
    kept = np.unique(rng.integers(0, 400, n).astype(np.uint64))
    values = rng.integers(0, 500, m).astype(np.uint64)  # below, inside and above the kept range
    found = contains(kept, values)
    np.testing.assert_array_equal(found, np.isin(values, kept))
    assert found.dtype == bool and len(found) == m
