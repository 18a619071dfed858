"""Accounts as TF-IDF vectors over the identifiers they used, one unit-length block per signal kind.

An account's block for a kind (payment, ip, subnet, template, time, ...) weighs each
identifier by its share of the account's usage times ``log(1 + N/d)``, where ``d`` is
the number of accounts that used it and ``N`` the number that used any identifier of
that kind (Salton & Buckley 1988). Two accounts' similarity for a kind is the cosine
of their blocks; their link weight is the sum of per-kind cosines times the kind's
weight. One shared "Summarize the following text" among hundreds of varied prompts
counts for little; accounts sending the same templates all day count a lot.

Columns are numbered by sorted (kind, value), so the matrix, and every pair drawn
from it, is the same whatever order a store returns the usage rows in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphlinker.analysis.pair_kernel import pair_products
from graphlinker.arrays import distinct
from graphlinker.kinds import TIME
from graphlinker.settings import Settings


@dataclass(frozen=True)
class AccountVectors:
    accounts: pd.Index  # sorted account ids (row order)
    kinds: tuple[str, ...]  # sorted linking kinds (kind numbers)
    matrix: sp.csr_matrix  # accounts × identifiers, sorted indices, each (account, kind) block unit length
    col_kind: np.ndarray  # kind number of each column
    col_value: np.ndarray  # identifier value of each column
    degree: np.ndarray  # accounts that used each column
    kind_weight: np.ndarray  # link weight of each kind

    def cosines(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-kind cosine (``len(left) × kinds``) and shared-identifier counts of account pairs."""
        dots, shared = pair_products(self.matrix, self.col_kind, len(self.kinds), left, right)
        return np.minimum(dots, 1.0), shared

    def reweighted(self, column_factor: np.ndarray) -> AccountVectors:
        """The same vectors with each column scaled by ``column_factor`` and blocks made unit length again.

        A factor of 0 removes the identifier as if nobody had used it for linking.
        """
        matrix = self.matrix.copy()
        matrix.data = matrix.data * column_factor[matrix.indices]
        matrix.eliminate_zeros()
        return _replace_matrix(self, _unit_blocks(matrix, self.col_kind, len(self.kinds)))


def account_vectors(usage: pd.DataFrame, kinds: list[str], settings: Settings, rows: np.ndarray | None = None) -> AccountVectors:
    """Build the vectors from usage rows of linking kinds (``account_id, kind, value, count``).

    ``rows`` (a boolean mask) chooses the rows to use, so a caller never copies the table to filter it:
    at 5M request rows a filtered copy of usage was 0.6 GB held through all of linking.
    Everything past the three factorisations is integer arithmetic on their codes: looking 3M rows'
    accounts up in an index took 3.5 s at 2M request rows, and copies of the string columns (a
    filtered frame, a MultiIndex of every row, group-bys on account ids) set this function's peak memory.
    """
    # accounts and columns numbered in sorted order: accounts by id, columns by (kind, value)
    keep = np.ones(len(usage), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    account_code, account_names = pd.factorize(usage["account_id"].astype(str), sort=True)
    account_code, account_names = _only_used(account_code, account_names, keep)
    kind_code, kind_names = pd.factorize(usage["kind"].astype(str), sort=True)
    value_code, value_names = pd.factorize(usage["value"].astype(str), sort=True)
    accounts = pd.Index(np.asarray(account_names, dtype=object))
    keep &= _with_time_signal(account_code, kind_code == _code_of(kind_names, TIME), len(accounts), settings)
    row_index = account_code[keep]
    del account_code
    pair = kind_code[keep].astype(np.int64) * len(value_names) + value_code[keep]
    del kind_code, value_code
    present, col_index = np.unique(pair, return_inverse=True)
    del pair
    col_value = np.asarray(value_names, dtype=object)[present % len(value_names)]
    kind_numbers = {k: i for i, k in enumerate(kinds)}
    col_kind = np.array([kind_numbers.get(k, -1) for k in kind_names], dtype=np.int64)[present // len(value_names)]

    degree = np.bincount(col_index, minlength=len(present))
    kind_of_row = col_kind[col_index]
    account_kinds = distinct(kind_of_row * np.int64(len(accounts)) + row_index)  # (kind, account) pairs present
    users_per_kind = np.bincount(account_kinds // len(accounts), minlength=len(kinds))
    count = usage["count"].to_numpy("float64")[keep]
    del keep
    block = row_index * len(kinds) + kind_of_row
    tf = count / np.bincount(block, weights=count)[block]  # integer counts: the same sums in any order
    del count, block
    tf *= np.log1p(users_per_kind[kind_of_row] / degree[col_index])  # × idf
    del kind_of_row
    matrix = sp.csr_matrix((tf, (row_index, col_index)), shape=(len(accounts), len(present)))
    del tf, row_index, col_index
    matrix.sum_duplicates()
    matrix.sort_indices()
    weights = np.array([settings.signal_weight(k) for k in kinds], dtype=np.float64)
    return AccountVectors(accounts, tuple(kinds), _unit_blocks(matrix, col_kind, len(kinds)), col_kind,
                          col_value, degree, weights)


def _only_used(codes: np.ndarray, names, rows: np.ndarray):
    """Codes renumbered over the names that ``rows`` use (order kept); unused rows get -1."""
    used = np.bincount(codes[rows], minlength=len(names)) > 0
    renumber = np.cumsum(used) - 1
    return np.where(rows, renumber[codes], -1), np.asarray(names, dtype=object)[used]


def _code_of(names, name: str) -> int:
    """Code of ``name`` among factorised ``names``, or -1."""
    found = np.flatnonzero(np.asarray(names, dtype=object) == name)
    return int(found[0]) if len(found) else -1


def _with_time_signal(account_code: np.ndarray, is_time: np.ndarray, n_accounts: int, settings: Settings) -> np.ndarray:
    """Mask of the rows kept: accounts active in too few minutes get no time signal (two light users
    meeting once is chance). Usage holds one row per account and window, so rows count windows."""
    windows = np.bincount(account_code[is_time], minlength=n_accounts)
    return ~(is_time & (windows[account_code] < settings.linking.min_active_windows))


def _unit_blocks(matrix: sp.csr_matrix, col_kind: np.ndarray, n_kinds: int) -> sp.csr_matrix:
    """Scale each (account, kind) block of ``matrix`` to unit length."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    block = rows * n_kinds + col_kind[matrix.indices]
    norms = np.sqrt(np.bincount(block, weights=matrix.data**2, minlength=matrix.shape[0] * n_kinds))
    out = matrix.copy()
    out.data = matrix.data / norms[block]
    return out


def _replace_matrix(vectors: AccountVectors, matrix: sp.csr_matrix) -> AccountVectors:
    return AccountVectors(vectors.accounts, vectors.kinds, matrix, vectors.col_kind, vectors.col_value,
                          vectors.degree, vectors.kind_weight)
