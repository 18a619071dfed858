"""Collect the evidence behind each cluster, in a form an analyst can defend.

Reason codes say *why* a cluster scores high; evidence says *what* ties its
members together: which cards, IPs, subnets, devices and templates they share,
how many links of each signal connect them, and their totals. Everything is
computed with group-bys over the usage graph restricted to clustered accounts.
"""

from __future__ import annotations

import pandas as pd

from graphlinker.analysis.members import member_usage
from graphlinker.kinds import CREATED, FEATURE_KINDS, TEMPLATE, TIME

TOP_IDENTIFIERS = 5
NOT_LISTED = FEATURE_KINDS | {TIME, CREATED, TEMPLATE}  # windows mean nothing out of context; templates listed apart


def cluster_evidence(
    membership: pd.DataFrame,
    usage: pd.DataFrame,
    edges: pd.DataFrame,
    templates: pd.DataFrame,
    accounts: pd.DataFrame,
    features: pd.DataFrame,
    kinds: tuple[str, ...],
    members: pd.DataFrame | None = None,
) -> dict[int, dict]:
    """Evidence dict per cluster number (``members`` as for :func:`graphlinker.analysis.features.cluster_features`)."""
    cluster_of = membership.set_index("account_id")["cluster"]
    members = member_usage(usage, cluster_of) if members is None else members
    shared = _shared_identifiers(members)
    top_templates = _top_templates(members, templates)
    links = _link_counts(edges, cluster_of, kinds)
    created = _created_span(accounts, cluster_of)
    evidence = {}
    for cluster, row in features.iterrows():
        evidence[int(cluster)] = {
            "requests": int(row["requests"]),
            "output_tokens": int(row["output_tokens"]),
            "features": {k: round(float(v), 4) for k, v in row.items() if k not in ("size", "requests", "output_tokens")},
            "links": links.get(cluster, {"edges": 0, "by_signal": {}}),
            "shared_identifiers": shared.get(cluster, {}),
            "templates": top_templates.get(cluster, []),
            "created": created.get(cluster),
        }
    return evidence


def _shared_identifiers(members: pd.DataFrame) -> dict[int, dict[str, list[dict]]]:
    rows = members[~members["kind"].isin(NOT_LISTED)]
    counts = rows.groupby(["cluster", "kind", "value"])["account_id"].nunique().rename("accounts").reset_index()
    counts = counts[counts["accounts"] >= 2].sort_values(["cluster", "kind", "accounts", "value"], ascending=[True, True, False, True])
    result: dict[int, dict[str, list[dict]]] = {}
    for (cluster, kind), group in counts.groupby(["cluster", "kind"], sort=False):
        top = group.head(TOP_IDENTIFIERS)
        result.setdefault(cluster, {})[kind] = [
            {"value": str(v), "accounts": int(n)} for v, n in zip(top["value"], top["accounts"])
        ]
    return result


def _top_templates(members: pd.DataFrame, templates: pd.DataFrame) -> dict[int, list[dict]]:
    rows = members[members["kind"] == TEMPLATE]
    grouped = rows.groupby(["cluster", "value"]).agg(accounts=("account_id", "nunique"), requests=("count", "sum")).reset_index()
    grouped = grouped[grouped["accounts"] >= 2].sort_values(["cluster", "requests", "value"], ascending=[True, False, True])
    info = templates.set_index("template_id")
    result: dict[int, list[dict]] = {}
    for cluster, group in grouped.groupby("cluster", sort=False):
        result[cluster] = [
            {
                "template_id": str(t),
                "accounts": int(a),
                "requests": int(r),
                "extraction_tags": [x for x in str(info.at[t, "extraction_tags"]).split(";") if x] if t in info.index else [],
                "exemplar": str(info.at[t, "exemplar"]) if t in info.index else "",
            }
            for t, a, r in zip(group["value"].head(TOP_IDENTIFIERS), group["accounts"], group["requests"])
        ]
    return result


def _link_counts(edges: pd.DataFrame, cluster_of: pd.Series, kinds: tuple[str, ...]) -> dict[int, dict]:
    a = edges["account_a"].map(cluster_of)
    inside = edges[(a == edges["account_b"].map(cluster_of)) & a.notna()]
    cluster = a[inside.index]
    result = {}
    for c, group in inside.groupby(cluster):
        result[c] = {
            "edges": int(len(group)),
            "by_signal": {k: int((group[k] > 0).sum()) for k in kinds if k in group and (group[k] > 0).any()},
        }
    return result


def _created_span(accounts: pd.DataFrame, cluster_of: pd.Series) -> dict[int, dict]:
    created = accounts[accounts["account_id"].isin(cluster_of.index)][["account_id", "created_at"]].dropna()
    span = created.groupby(created["account_id"].map(cluster_of))["created_at"].agg(["min", "max"])
    return {c: {"first": r["min"].isoformat(), "last": r["max"].isoformat()} for c, r in span.iterrows()}
