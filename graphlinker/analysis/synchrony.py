"""Which cluster members act in the same minutes more often than chance would have them.

Two people at one office, in one class or on one batch schedule are active in the same hours,
so they also share minutes — by chance, and the more so the busier they are. A ring fires in
waves: its members' requests fall into the *same minutes* within those hours. So a member
counts as synchronised only when the minutes it shares with other members exceed what its
hour-by-hour activity predicts:

* observed: over the member's active minutes, how many other members were active in the same
  minute;
* expected: within each clock hour of each day, if every member's active minutes there were
  placed at random, a member active in ``a`` of the hour's ``m`` one-minute windows meets the
  others' ``A − a`` active minutes ``a (A − a) / m`` times; summed over the hours the member was active;
* synchronised: the observed count is improbable under a Poisson law of the expected mean
  (one-sided p below ``alpha``).

This is the co-activity idea of SynchroTrap (Cao et al., "Uncovering Large Groups of Active
Malicious Accounts in Online Social Networks", CCS 2014) with the hour-of-day baseline of a
permutation test: who is awake when is kept, only the minute inside the hour is left to chance.
It reads the usage table's one-minute windows, so cost grows with the members' active minutes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import pdtrc  # Poisson survival function; scipy.stats would add 0.4 s to every run's start

from graphlinker.kinds import TIME


def windows_per_hour(window_seconds: int) -> int:
    """One-minute (``window_seconds``) windows in a clock hour: the block inside which minutes are left to chance."""
    return max(3600 // window_seconds, 1)


def at_least(count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """P(X >= count) for X ~ Poisson(mean), one-sided; 1 for a count of 0."""
    return pdtrc(np.maximum(count - 1, 0), np.maximum(mean, 1e-12))


def synchrony_features(members: pd.DataFrame, window_seconds: int, alpha: float) -> pd.DataFrame:
    """Per cluster: ``synchronised_share``, the share of its members whose shared minutes exceed chance
    (see the module docstring), and ``synchrony_lift``, all members' shared minutes over the number chance
    predicts (1 = what busy people of the same hours share; 0 where nothing is expected).

    ``members``: usage rows of the clusters' members with a ``cluster`` column; only the
    one-minute windows (kind ``time``, value = epoch window number) are read.
    """
    size = members.groupby("cluster")["account_id"].nunique()
    rows = members.loc[members["kind"] == TIME, ["cluster", "account_id", "value"]]
    if rows.empty:
        return pd.DataFrame({"synchronised_share": 0.0, "synchrony_lift": 0.0}, index=size.index)
    window = _integers(rows["value"])
    per_hour = windows_per_hour(window_seconds)
    # accounts as codes in id order (the groups below come out in the same order as by id): 4.3M Python
    # strings of the ids were this function's peak at 5M request rows (+672 MiB)
    account = pd.factorize(rows["account_id"], sort=True)[0]
    frame = pd.DataFrame({"cluster": rows["cluster"].to_numpy(), "account_id": account,
                          "window": window, "hour": window // per_hour})
    others = frame.groupby(["cluster", "window"])["account_id"].transform("size") - 1
    observed = others.groupby([frame["cluster"], frame["account_id"]]).sum()

    active = frame.groupby(["cluster", "hour", "account_id"]).size().rename("a").reset_index()
    everyone = active.groupby(["cluster", "hour"])["a"].transform("sum")
    chance = active["a"] * (everyone - active["a"]) / per_hour
    expected = chance.groupby([active["cluster"], active["account_id"]]).sum().reindex(observed.index)

    shared = observed.to_numpy()
    synchronised = pd.Series((shared > 0) & (at_least(shared, expected.to_numpy("float64")) < alpha), index=observed.index)
    share = synchronised.groupby(level="cluster").sum() / size
    totals = pd.DataFrame({"observed": observed, "expected": expected}).groupby(level="cluster").sum()
    lift = (totals["observed"] / totals["expected"].where(totals["expected"] > 0)).fillna(0.0)
    return pd.DataFrame({"synchronised_share": share.reindex(size.index).fillna(0.0),
                         "synchrony_lift": lift.reindex(size.index).fillna(0.0)})


def _integers(values: pd.Series) -> np.ndarray:
    """Window numbers stored as text, as int64: Arrow's cast where the column is Arrow-backed (a tenth of the
    memory of parsing through Python objects), else pandas'."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return values.astype("int64[pyarrow]").to_numpy("int64")
    return values.astype("int64").to_numpy()
