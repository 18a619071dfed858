"""How much a popular identifier says about common control: do the accounts sharing it resemble each other otherwise?

A carrier NAT IP, a VPN exit, a busy minute or a popular template is shared by
thousands of unrelated people; an operation's subnet, templates and wave minutes are
shared by thousands of accounts that also share everything else the operation does.
A count of users cannot tell the two apart (an operation can be larger than a NAT);
what does is *coherence*: sample pairs of the identifier's users (consecutive in a
hash order, :mod:`graphlinker.analysis.candidates`) and measure their link weight without the
identifier itself. For an infrastructure kind (IP, subnet) the whole family is left
out, since one NAT pool spans several IPs and its subnet; for other kinds only the
identifier is, since an operation's paraphrased templates or wave minutes corroborate
each other. The identifier then keeps ``ramp(coherence)`` of its TF-IDF weight:
all of it when its users are, without it, already about as similar as a link needs,
none when they are strangers.

This is the link-level form of the "lockstep" idea (accounts acting together on many
things at once; Beutel et al. 2013, CopyCatch, WWW; Cao et al. 2014, SynchroTrap, CCS):
a single shared thing is never enough when many share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlinker.analysis.account_vectors import AccountVectors
from graphlinker.analysis.candidates import OrderedUsers
from graphlinker.kinds import family_of


@dataclass(frozen=True)
class Coherence:
    columns: np.ndarray  # popular columns that were measured
    coherence: np.ndarray  # mean link weight of sampled user pairs without the column (or its family)
    factor: np.ndarray  # share of TF-IDF weight each column keeps, 0..1

    def column_factor(self, n_columns: int) -> np.ndarray:
        factor = np.ones(n_columns)
        factor[self.columns] = self.factor
        return factor


def identifier_coherence(vectors: AccountVectors, popular: np.ndarray, samples: int, ramp: tuple[float, float]) -> Coherence:
    """Coherence of each ``popular`` column from up to ``samples`` user pairs, and the weight it keeps."""
    popular = np.sort(np.asarray(popular, dtype=np.int64))
    if not len(popular):
        return Coherence(popular, np.array([]), np.array([]))
    ordered = OrderedUsers(vectors.matrix, popular)
    entry, partner = ordered.entries_at(1, wrap=False)
    sampled = ordered.position[entry] < samples  # the first ``samples`` consecutive pairs of each column
    entry, partner = entry[sampled], partner[sampled]
    left, right, column = ordered.rows[entry], ordered.rows[partner], ordered.column[entry]

    cosines, _ = vectors.cosines(left, right)
    weighted = cosines * vectors.kind_weight
    families = np.array([family_of(k) for k in vectors.kinds], dtype=object)
    kind = vectors.col_kind[column]
    same_family = families[None, :] == families[kind][:, None]
    own_only = np.array([family_of(k) == k for k in vectors.kinds])[kind]  # a family of one kind: leave the column out only
    without = np.where(same_family & ~own_only[:, None], 0.0, weighted).sum(axis=1)
    own_product = ordered.value[entry] * ordered.value[partner]
    without -= np.where(own_only, vectors.kind_weight[kind] * own_product, 0.0)
    mean = pd.Series(np.maximum(without, 0.0)).groupby(column).mean().reindex(popular, fill_value=0.0).to_numpy()
    low, high = ramp
    return Coherence(popular, mean, np.clip((mean - low) / (high - low), 0.0, 1.0))

