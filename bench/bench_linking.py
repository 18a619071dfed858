"""Benchmark: per-kind cosines of chosen account pairs, numba kernel against scipy, in one process.

Linking evaluates only the candidate pairs it chose (``graphlinker.analysis.pair_kernel``). scipy has no
"dot products of these row pairs" primitive; its nearest equivalent is ``X[a].multiply(X[b])``
summed per kind, in chunks. Both are run on the same random sparse matrix and pairs, their results
compared (the script raises if they differ), and the ratio printed.

    python bench/bench_linking.py --accounts 50000 --pairs 1000000

Not a test: it asserts nothing beyond the two methods agreeing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from graphlinker.analysis.pair_kernel import pair_products

CHUNK = 200_000


def random_matrix(rng, accounts: int, columns: int, per_row: int, kinds: int):
    rows = np.repeat(np.arange(accounts), per_row)
    cols = rng.integers(0, columns, len(rows))
    matrix = sp.csr_matrix((rng.random(len(rows)), (rows, cols)), shape=(accounts, columns))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix, rng.integers(0, kinds, columns)


def scipy_products(matrix, col_kind, kinds: int, left, right) -> np.ndarray:
    onehot = sp.csr_matrix((np.ones(len(col_kind)), (np.arange(len(col_kind)), col_kind)), shape=(len(col_kind), kinds))
    out = []
    for start in range(0, len(left), CHUNK):
        a, b = left[start:start + CHUNK], right[start:start + CHUNK]
        out.append((matrix[a].multiply(matrix[b]) @ onehot).toarray())
    return np.vstack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--columns", type=int, default=200_000)
    parser.add_argument("--per-row", type=int, default=80, help="identifiers per account")
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--kinds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    matrix, col_kind = random_matrix(rng, args.accounts, args.columns, args.per_row, args.kinds)
    left, right = rng.integers(0, args.accounts, args.pairs), rng.integers(0, args.accounts, args.pairs)
    pair_products(matrix, col_kind, args.kinds, left[:10], right[:10])  # compile outside the timing
    start = time.perf_counter()
    dots, _ = pair_products(matrix, col_kind, args.kinds, left, right)
    kernel = time.perf_counter() - start
    start = time.perf_counter()
    reference = scipy_products(matrix, col_kind, args.kinds, left, right)
    scipy_seconds = time.perf_counter() - start
    if not np.allclose(dots, reference):
        raise SystemExit("the two methods disagree")
    print(f"{args.pairs:,} pairs, {matrix.nnz:,} non-zeros: numba kernel {kernel:.2f} s, "
          f"scipy row products {scipy_seconds:.2f} s, ratio {scipy_seconds / kernel:.1f}x")


if __name__ == "__main__":
    main()
