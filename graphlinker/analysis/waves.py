"""Keep the members of one operation's waves together, however many accounts the waves hold.

Pairwise links miss a large ring's synchrony: with hundreds of waves of hundreds of accounts, two
members share half a minute on average, so modularity can leave a ring's busier members with the
ordinary users whose everyday prompts they also send. The waves themselves are plain to see at the
level of the whole population:

* a *burst* is a one-minute window with improbably many active accounts against its clock hour's
  mean (Poisson, one-sided, ``alpha`` divided by the number of windows tested);
* an account *rides* the bursts when it is active in more burst minutes than its own active
  minutes predict (each minute hits a burst with the share of burst minutes in its hour; Poisson,
  p < ``alpha``, at least two bursts) — a busy user meets bursts by chance, a wave rider does not;
* a burst belongs to the community that holds more than half of its riders (a minute two rings
  share belongs to neither), and a rider most of whose bursts belong to another community than its
  own moves there, if it is linked to that community: two rings may fire in the same minutes, and
  timing alone never joins an account to a community it has no link to.

Accounts that ride no bursts, and all communities of non-riders, are left as detection made them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.analysis.detection import canonical
from graphlinker.analysis.synchrony import at_least, windows_per_hour
from graphlinker.kinds import TIME


def keep_waves_together(communities: pd.DataFrame, usage: pd.DataFrame, links: pd.DataFrame, window_seconds: int,
                        alpha: float) -> pd.DataFrame:
    """``communities`` (``account_id, community``) with wave riders moved to their waves' community.

    ``links`` (``account_a, account_b``): linked pairs; a rider moves only into a community it is linked to.
    """
    time = usage.loc[usage["kind"] == TIME, ["account_id", "value"]]
    if time.empty or communities.empty:
        return communities
    account_code, accounts = pd.factorize(time["account_id"])
    window_code, windows = pd.factorize(time["value"].astype("int64"))
    del time
    per_hour = windows_per_hour(window_seconds)
    hour_code = pd.factorize(np.asarray(windows) // per_hour)[0]
    active = np.bincount(window_code).astype(np.float64)
    hour_total = np.bincount(hour_code, weights=active)
    mean = hour_total[hour_code] / per_hour
    burst = (active >= 2 * mean) & (at_least(active, mean) < alpha / len(windows))
    if not burst.any():
        return communities

    hits = np.bincount(account_code, weights=burst[window_code], minlength=len(accounts))
    burst_share = np.bincount(hour_code, weights=burst.astype(np.float64)) / per_hour
    chance = np.bincount(account_code, weights=burst_share[hour_code][window_code], minlength=len(accounts))
    rider = (hits >= 2) & (at_least(hits, chance) < alpha)
    if not rider.any():
        return communities

    label = communities.set_index("account_id")["community"]
    rows = rider[account_code] & burst[window_code]
    ride = pd.DataFrame({"account": np.asarray(accounts)[account_code[rows]], "burst": window_code[rows]})
    ride["community"] = label.reindex(ride["account"]).to_numpy()
    ride = ride.dropna(subset=["community"]).astype({"community": "int64"})  # riders outside every community stay out
    owner = ride.groupby(["burst", "community"]).size().rename("n").reset_index()
    riders = owner.groupby("burst")["n"].transform("sum")
    owner = owner[owner["n"] * 2 > riders]  # a minute two rings share belongs to neither
    ride["owner"] = ride["burst"].map(owner.set_index("burst")["community"])
    ride = ride.dropna(subset=["owner"]).astype({"owner": "int64"})
    votes = ride.groupby(["account", "owner"]).size().rename("n").reset_index()
    total = votes.groupby("account")["n"].transform("sum")
    best = votes[votes["n"] * 2 > total]  # most of the account's bursts belong to one community
    best = best[best["owner"].to_numpy() != label.reindex(best["account"]).to_numpy()]
    # waves decide between communities an account is linked to: two rings may fire in the same minutes
    movers = best["account"].unique()
    near = links[links["account_a"].isin(movers) | links["account_b"].isin(movers)]
    a, b = near["account_a"].astype(str).to_numpy(), near["account_b"].astype(str).to_numpy()
    linked = pd.DataFrame({"account": np.concatenate([a, b]), "community": label.reindex(np.concatenate([b, a])).to_numpy()})
    linked = pd.MultiIndex.from_frame(linked.dropna().astype({"community": "int64"}))
    best = best[pd.MultiIndex.from_arrays([best["account"], best["owner"]]).isin(linked)]
    if best.empty:
        return communities
    moved = label.copy()
    moved.loc[best["account"].to_numpy()] = best["owner"].to_numpy()
    return canonical(pd.Index(label.index.astype(str)), moved.to_numpy())
