"""Rows of clustered accounts (graphlinker/analysis/members.py) and the code-based counts that features use,
against the plain pandas formulations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphlinker.analysis.features import _accounts_per_value
from graphlinker.analysis.members import member_rows


def _usage(rng, n_rows, dtype):
    accounts = np.array([f"acct-{i:03d}" for i in rng.permutation(60)], dtype=object)
    frame = pd.DataFrame({
        "account_id": rng.choice(accounts, n_rows),
        "kind": rng.choice(["template", "ip", "time"], n_rows),
        "value": rng.choice([f"v{i}" for i in range(25)], n_rows),
        "count": rng.integers(1, 9, n_rows),
    })
    frame.loc[rng.choice(n_rows, 5, replace=False), "account_id"] = None  # rows with no account id
    return frame.astype({"account_id": dtype, "kind": dtype, "value": dtype})


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "string[python]"])
@pytest.mark.parametrize("cluster_dtype", [np.int64, np.int32])
def test_member_rows_are_the_rows_of_clustered_accounts_with_their_cluster(dtype, cluster_dtype):
    rng = np.random.default_rng(7)
    usage = _usage(rng, 800, dtype)
    members = sorted(set(usage["account_id"].dropna()))[::2] + ["acct-without-rows"]
    cluster_of = pd.Series(rng.integers(0, 6, len(members)).astype(cluster_dtype), index=pd.Index(members, name="account_id"))
    expected = usage[usage["account_id"].isin(cluster_of.index)]
    expected = expected.assign(cluster=expected["account_id"].map(cluster_of).to_numpy())
    got = member_rows(usage, cluster_of)
    assert 200 < len(got) < 800
    pd.testing.assert_frame_equal(got, expected)
    assert got["cluster"].dtype == cluster_dtype


def test_member_rows_of_no_clusters_and_of_an_empty_table():
    usage = _usage(np.random.default_rng(8), 50, object)
    assert member_rows(usage, pd.Series([], dtype=np.int64, index=pd.Index([], dtype=object))).empty
    assert member_rows(usage.iloc[:0], pd.Series([1], index=["acct-001"])).empty


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]"])
def test_accounts_per_value_counts_distinct_accounts_of_the_chosen_rows(dtype):
    rng = np.random.default_rng(9)
    usage = _usage(rng, 2000, dtype)
    usage = pd.concat([usage, usage.iloc[:300]], ignore_index=True)  # the same (account, value) in two rows
    others = usage["kind"] != "template"
    usage.loc[others, "value"] = "other-" + usage.loc[others, "value"]
    chosen = (usage["kind"] == "template").to_numpy(dtype=bool)
    expected = usage[chosen].groupby("value")["account_id"].nunique()
    got = _accounts_per_value(usage, chosen)
    assert (expected > 1).all()
    assert got.reindex(expected.index).to_dict() == expected.to_dict()
    rest = got.drop(expected.index)
    assert len(rest) == 25 and (rest == 0).all()  # values only other rows hold have no accounts
