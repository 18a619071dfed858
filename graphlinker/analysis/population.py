"""The population a cluster's volumes, ratios and model shares are measured against.

Several reasons compare a cluster with "the population": its median output per account with the
median account's, its output/input ratio, its requests per template, its traffic share on new
models, its pooled volume with the busiest accounts'. "The population" should mean ordinary
accounts. When operations are a large share of the accounts (one campaign of 20,000 accounts, or
several at once), their heavy accounts raise the population's median and hide every other ring's
volume behind it: on the benchmark's scenario that holds all 16 archetypes (42% of its accounts,
57% with the look-alikes), the median account's output is 22k tokens against about 9k in a
scenario with one.

So the reference is estimated twice (``[scoring] population = "unflagged"``): over every account,
then, once a first scoring has flagged clusters, over the accounts outside them, and the clusters
are scored again against it. This is the one-step form of a robust estimate that drops the points
it has judged not to belong to the bulk before estimating again (Rousseeuw & Leroy 1987, *Robust
Regression and Outlier Detection*, ch. 6, reweighted least squares after an initial robust fit).
One step, not a fixed point: a second pass flags only what the first measured, against a
reference that flagged rings no longer inflate; nothing cascades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlinker.kinds import MODEL, TEMPLATE


@dataclass(frozen=True)
class Population:
    """Per-account quantities the relative features need, and the models counted as new."""

    accounts: pd.DataFrame  # index account_id: requests, output_tokens, input_tokens, template_reuse (NaN: no templates),
    #                         model_requests, new_model_requests
    new_models: pd.Index

    @classmethod
    def measure(cls, stats: pd.DataFrame, usage: pd.DataFrame, new_model_min_days: int) -> Population:
        accounts = stats.set_index("account_id")[["requests", "output_tokens", "input_tokens"]].astype("float64")
        sent = usage[usage["kind"] == TEMPLATE]
        grouped = sent.groupby("account_id", sort=False)
        accounts["template_reuse"] = grouped["count"].sum() / grouped["value"].nunique()
        models = usage[usage["kind"] == MODEL]
        new_models = _new_models(models, new_model_min_days)
        by_account = models.groupby("account_id", sort=False)["count"]
        accounts["model_requests"] = by_account.sum()
        is_new = models["value"].isin(new_models).to_numpy(dtype=bool)
        accounts["new_model_requests"] = models["count"].where(is_new, 0).groupby(models["account_id"], sort=False).sum()
        accounts[["model_requests", "new_model_requests"]] = accounts[["model_requests", "new_model_requests"]].fillna(0.0)
        return cls(accounts, new_models)

    def without(self, accounts: pd.Index | pd.Series | np.ndarray) -> Population:
        """The population less ``accounts`` (members of flagged clusters); unchanged when that would leave nobody."""
        rest = self.accounts.drop(index=pd.Index(accounts), errors="ignore")
        return self if rest.empty else Population(rest, self.new_models)

    # the references, each from the accounts held (an empty population gives the neutral value)
    def median_output(self) -> float:
        return max(_quantile(self.accounts["output_tokens"], 0.5), 1.0)

    def requests_quantile(self, q: float) -> float:
        return _quantile(self.accounts["requests"], q)

    def median_output_input(self) -> float:
        ratio = self.accounts["output_tokens"] / self.accounts["input_tokens"].clip(lower=1.0)
        return max(_quantile(ratio, 0.5), 1e-9)

    def median_template_reuse(self) -> float:
        reuse = self.accounts["template_reuse"].dropna()
        return max(_quantile(reuse, 0.5), 1e-9) if len(reuse) else 1.0

    def new_model_share(self) -> float:
        return float(self.accounts["new_model_requests"].sum()) / max(float(self.accounts["model_requests"].sum()), 1.0)


RELATIVE_COLUMNS = ["output_per_account_ratio", "pooled_volume_ratio", "under_p95_share", "new_model_share",
                    "new_model_lift", "output_input_ratio", "template_reuse_ratio"]


def relative_features(cluster_of: pd.Series, population: Population, reference: Population | None = None) -> pd.DataFrame:
    """Per cluster, the ``RELATIVE_COLUMNS`` features: the members' per-account figures (from ``population``,
    which holds every account) against ``reference`` (default: ``population`` itself).

    ``cluster_of``: cluster number per account id (index). Members without requests are left out (NaN rows).
    """
    reference = population if reference is None else reference
    members = population.accounts.reindex(cluster_of.index).set_axis(cluster_of.to_numpy()).rename_axis("cluster")
    members = members[members["requests"].notna()]
    grouped = members.groupby(level="cluster")
    output_input = members["output_tokens"] / members["input_tokens"].clip(lower=1.0)
    share = grouped["new_model_requests"].sum() / grouped["model_requests"].sum()  # NaN: no model named
    reference_share = reference.new_model_share()
    return pd.DataFrame({
        "output_per_account_ratio": grouped["output_tokens"].median() / reference.median_output(),
        "pooled_volume_ratio": grouped["requests"].sum() / max(reference.requests_quantile(0.99), 1.0),
        "under_p95_share": (members["requests"] <= reference.requests_quantile(0.95)).groupby(level="cluster").mean(),
        "new_model_share": share,
        "new_model_lift": share / reference_share if reference_share > 0 else share * 0,
        "output_input_ratio": output_input.groupby(level="cluster").median() / reference.median_output_input(),
        "template_reuse_ratio": grouped["template_reuse"].median() / reference.median_template_reuse(),
    }).reindex(columns=RELATIVE_COLUMNS)


def _quantile(values: pd.Series, q: float) -> float:
    return float(values.quantile(q)) if len(values) else 0.0


def _new_models(models: pd.DataFrame, min_days: int) -> pd.Index:
    """Models first seen ``min_days`` or more after the first model was (a release during the data)."""
    if models.empty:
        return pd.Index([])
    release = models.groupby("value")["first_seen"].min()
    return release.index[release >= release.min() + pd.Timedelta(days=min_days)]
