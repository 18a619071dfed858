"""Cluster features that scoring reads: hand-made clusters with hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from graphlinker.analysis.features import _independence, _template_features


def test_independence_is_the_share_outside_the_largest_declared_organisation():
    accounts = pd.DataFrame({
        "account_id": [f"t{i}" for i in range(4)] + [f"r{i}" for i in range(4)] + [f"c{i}" for i in range(4)]
                      + [f"x{i}" for i in range(20)],
        "email_domain": ["acme.io"] * 4 + ["gmail.com", "proton.me", "gmail.com", "mail.com"] + ["uni.edu", "uni.edu", "gmail.com", "gmail.com"]
                        + ["gmail.com"] * 10 + ["proton.me"] * 5 + ["mail.com"] * 5,
        "org_id": [None] * 8 + ["org-7", "org-7", "org-7", None] + [None] * 20,
    })
    cluster_of = pd.Series([0] * 4 + [1] * 4 + [2] * 4, index=[f"t{i}" for i in range(4)] + [f"r{i}" for i in range(4)]
                           + [f"c{i}" for i in range(4)], name="cluster")
    independence = _independence(accounts, cluster_of)
    assert independence[0] == pytest.approx(0.0)  # acme.io: all its accounts are this team
    assert independence[1] == pytest.approx(1.0)  # webmail shared with the population, no org id
    assert independence[2] == pytest.approx(0.25)  # three of four declare org-7


def test_template_concentration_counts_only_the_clusters_own_repeated_templates():
    """Cluster 0 sends its own template (nobody else does) and a popular one ten outsiders send too."""
    members = pd.DataFrame({
        "account_id": ["a", "b", "a", "b"], "kind": "template", "value": ["own", "own", "popular", "popular"],
        "count": [6, 4, 5, 5], "cluster": 0,
    })
    outsiders = pd.DataFrame({"account_id": [f"o{i}" for i in range(10)], "kind": "template", "value": "popular",
                              "count": 1, "cluster": -1})
    usage = pd.concat([members, outsiders]).drop(columns="cluster")
    templates = pd.DataFrame({"template_id": ["own", "popular"], "extraction_tags": ["", ""]})
    result = _template_features(members, templates, {}, usage)
    assert result.loc[0, "templated_share"] == pytest.approx(10 / 20)
    assert result.loc[0, "extraction_share"] == 0.0
