"""Measure each cluster: the raw numbers that scoring turns into reason codes.

Every feature is computed for all clusters at once with group-bys over the
usage graph joined to cluster membership, so cost grows with the usage table,
not with the number of clusters. Features are plain numbers with units an
analyst can check by hand (shares, counts, ratios).
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

from graphlinker.analysis.members import member_rows, member_usage
from graphlinker.analysis.population import Population, relative_features
from graphlinker.analysis.synchrony import synchrony_features
from graphlinker.arrays import distinct
from graphlinker.kinds import CLIENT, HOUR, IP, KINDS, PAYMENT, SUBNET, TEMPLATE, TIME
from graphlinker.settings import Settings

FEATURE_COLUMNS = [
    "size",
    "requests",
    "output_tokens",
    "extraction_share",
    "templated_share",
    "shared_payment_share",
    "shared_identifier_share",
    "sdk_share",
    "hour_entropy",
    "synchronised_share",
    "synchrony_lift",
    "infrastructure_share",
    "creation_burst_share",
    "output_per_account_ratio",
    "pooled_volume_ratio",
    "under_p95_share",
    "new_model_share",
    "new_model_lift",
    "independence",
    "output_input_ratio",
    "template_reuse_ratio",
    "cohesion",
    "ip_rotation_share",
]


def cluster_features(
    membership: pd.DataFrame,
    usage: pd.DataFrame,
    stats: pd.DataFrame,
    accounts: pd.DataFrame,
    templates: pd.DataFrame,
    edges: pd.DataFrame,
    tag_weights: dict[str, float],
    settings: Settings,
    members: pd.DataFrame | None = None,
    population: Population | None = None,
) -> pd.DataFrame:
    """One row per cluster (index ``cluster``) with the columns of ``FEATURE_COLUMNS``.

    ``members``: :func:`graphlinker.analysis.members.member_usage` of ``usage``, when the caller has them;
    ``population``: what the relative features are measured against (default: every account).
    """
    cluster_of = membership.set_index("account_id")["cluster"]
    members = member_usage(usage, cluster_of) if members is None else members
    member_stats = member_rows(stats, cluster_of)

    features = pd.DataFrame(index=pd.Index(sorted(cluster_of.unique()), name="cluster"))
    features["size"] = membership.groupby("cluster").size()
    features["requests"] = member_stats.groupby("cluster")["requests"].sum()
    features["output_tokens"] = member_stats.groupby("cluster")["output_tokens"].sum()
    features = features.join(_template_features(members, templates, tag_weights, usage))
    features = features.join(_shared_share(members, PAYMENT).rename("shared_payment_share"))
    features = features.join(_shared_share(members, GENERIC).rename("shared_identifier_share"))
    features = features.join(_client_share(members))
    features = features.join(_hour_entropy(members))
    features = features.join(_edge_shares(edges, cluster_of))
    synchrony = synchrony_features(members, settings.linking.time_window_seconds, settings.scoring.synchrony_alpha)
    features["synchrony_lift"] = synchrony["synchrony_lift"]
    if settings.scoring.synchrony == "beyond_chance":
        features["synchronised_share"] = synchrony["synchronised_share"]
    features = features.join(_creation_burst(accounts, cluster_of))
    population = Population.measure(stats, usage, settings.scoring.new_model_min_days) if population is None else population
    features = features.join(relative_features(cluster_of, population))
    features = features.join(_independence(accounts, cluster_of))
    features = features.join(_cohesion(edges, cluster_of))
    features = features.join(_ip_rotation(members))
    return features.reindex(columns=FEATURE_COLUMNS).fillna(0.0)


def _template_features(members, templates, tag_weights, usage) -> pd.DataFrame:
    """Share of traffic on extraction-tagged templates, and on the cluster's own repeated templates.

    A template is the cluster's own when most accounts that ever sent it are members, and it
    is repeated when at least two members (and a fifth of them) sent it: an operation's
    harvesting templates are; a popular template everybody sends is not, however often.
    """
    sent = members[members["kind"] == TEMPLATE]
    tags = templates.set_index("template_id")["extraction_tags"].fillna("")
    weight_of = tags.map(lambda t: max((tag_weights.get(x, 0.0) for x in t.split(";") if x), default=0.0))  # per template
    tag_weight = weight_of.reindex(sent["value"]).fillna(0.0).to_numpy("float64")
    sent = sent.assign(extraction=tag_weight * sent["count"].to_numpy())
    total = sent.groupby("cluster")["count"].sum()
    extraction_share = sent.groupby("cluster")["extraction"].sum() / total

    users = sent.groupby(["cluster", "value"])["account_id"].transform("size")
    size = sent.groupby("cluster")["account_id"].transform("nunique")
    everyone = _accounts_per_value(usage, (usage["kind"] == TEMPLATE).to_numpy(dtype=bool))
    own = users >= 0.5 * sent["value"].map(everyone).to_numpy()
    repeated = (users >= np.maximum(2, 0.2 * size)) & own
    templated_share = sent["count"].where(repeated, 0).groupby(sent["cluster"]).sum() / total
    return pd.DataFrame({"extraction_share": extraction_share, "templated_share": templated_share})


def _accounts_per_value(usage: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """Distinct accounts per ``value`` among the ``rows`` (a mask) of usage; 0 for values only other rows hold.

    From codes of the whole columns: a group-by over a filtered copy of the string columns took 1.0 s
    and peaked 525 MiB higher at 5M request rows; this takes 0.5 s and 131 MiB.
    """
    value_code, values = pd.factorize(usage["value"])
    account_code, accounts = pd.factorize(usage["account_id"])
    rows = rows & (value_code >= 0) & (account_code >= 0)  # a missing value or id is nobody's
    pairs = value_code[rows].astype(np.int64) * len(accounts) + account_code[rows]
    del value_code, account_code
    pairs = distinct(pairs)
    return pd.Series(np.bincount(pairs // len(accounts), minlength=len(values)), index=pd.Index(values))


GENERIC = "identifiers.*"  # every kind from identifiers files (device, phone, address, ...): none of graphlinker.kinds.KINDS


def _shared_rows(members: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Members' rows of ``kind`` (or of every generic identifier kind, ``GENERIC``) whose value another member uses too."""
    rows = members[~members["kind"].isin(list(KINDS))] if kind == GENERIC else members[members["kind"] == kind]
    users = rows.groupby(["cluster", "kind", "value"], observed=True)["account_id"].transform("nunique")
    return rows[users >= 2]


def _shared_share(members: pd.DataFrame, kind: str) -> pd.Series:
    """Share of members that use an identifier of ``kind`` together with another member."""
    sharing = _shared_rows(members, kind).groupby("cluster")["account_id"].nunique()
    size = members.groupby("cluster")["account_id"].nunique()
    return (sharing / size).fillna(0.0)


def shared_identifier_kinds(members: pd.DataFrame) -> pd.Series:
    """Per cluster, the generic identifier kinds (``phone, address``) some members share: what the
    ``shared_identifiers`` reason names. ``members`` as :func:`graphlinker.analysis.members.member_usage` gives."""
    shared = _shared_rows(members, GENERIC)
    return shared.groupby("cluster")["kind"].agg(lambda kinds: ", ".join(sorted(set(map(str, kinds))))).rename(
        "shared_identifier_kinds")


def _client_share(members: pd.DataFrame) -> pd.Series:
    rows = members[members["kind"] == CLIENT]
    counts = rows.pivot_table(index="cluster", columns="value", values="count", aggfunc="sum", fill_value=0)
    sdk = counts["sdk"] if "sdk" in counts else 0
    return (sdk / counts.sum(axis=1)).rename("sdk_share")


def _hour_entropy(members: pd.DataFrame) -> pd.Series:
    """Median over members of the normalised entropy of their hour-of-day histogram (1 = round the clock)."""
    rows = members[members["kind"] == HOUR]
    share = rows["count"] / rows.groupby("account_id")["count"].transform("sum")
    entropy = (-(share * np.log(share))).groupby(rows["account_id"]).sum() / np.log(24)
    volume = rows.groupby("account_id")["count"].sum()
    cluster = rows.groupby("account_id")["cluster"].first()
    busy = volume >= 24  # fewer requests cannot show a 24-hour pattern
    return entropy[busy].groupby(cluster[busy]).median().rename("hour_entropy")


def _edge_shares(edges: pd.DataFrame, cluster_of: pd.Series) -> pd.DataFrame:
    """Share of members with an intra-cluster time link, and with an IP/subnet link.

    The time-link share is ``synchronised_share`` only with ``[scoring] synchrony = "time_links"``
    (the earlier measure, which counts chance co-activity of busy members too); by default
    :mod:`graphlinker.analysis.synchrony` replaces it.
    """
    a = edges["account_a"].map(cluster_of)
    b = edges["account_b"].map(cluster_of)
    inside = edges[(a == b) & a.notna()].assign(cluster=a[(a == b) & a.notna()])
    size = cluster_of.groupby(cluster_of).size()
    result = {}
    for name, columns in {"synchronised_share": [TIME], "infrastructure_share": [IP, SUBNET]}.items():
        present = [c for c in columns if c in inside]
        linked = inside[inside[present].gt(0).any(axis=1)] if present else inside.iloc[0:0]
        accounts = pd.concat([linked[["cluster", "account_a"]].set_axis(["cluster", "account"], axis=1),
                              linked[["cluster", "account_b"]].set_axis(["cluster", "account"], axis=1)])
        result[name] = accounts.groupby("cluster")["account"].nunique() / size
    return pd.DataFrame(result)


def _creation_burst(accounts: pd.DataFrame, cluster_of: pd.Series) -> pd.Series:
    """Largest share of members created within any 24 hours of each other."""
    created = accounts[accounts["account_id"].isin(cluster_of.index)][["account_id", "created_at"]].dropna()
    created = created.assign(cluster=created["account_id"].map(cluster_of).to_numpy()).sort_values(["cluster", "created_at"])
    result = {}
    for cluster, times in created.groupby("cluster")["created_at"]:
        values = times.to_numpy(dtype="datetime64[ns]")
        ends = np.searchsorted(values, values + np.timedelta64(24, "h"), side="right")
        result[cluster] = (ends - np.arange(len(values))).max() / cluster_of.eq(cluster).sum()
    return pd.Series(result, dtype="float64", name="creation_burst_share")


def _independence(accounts: pd.DataFrame, cluster_of: pd.Series) -> pd.Series:
    """Share of members outside the cluster's largest declared organisation.

    A team, a class or an evaluation group declares who it is: one org id, or an e-mail
    domain of its own (at least half of the domain's accounts are in the cluster). A ring
    of nominally independent accounts declares nothing in common — yet acts as one.
    Webmail domains are shared with the whole population, so they mark no organisation;
    a shared card is not counted here (it is the ``shared_payment`` reason).
    """
    size = cluster_of.groupby(cluster_of).size()
    people = accounts[accounts["account_id"].isin(cluster_of.index)]
    people = people.assign(cluster=people["account_id"].map(cluster_of).to_numpy())
    org_share = pd.Series(0.0, index=size.index)
    if "org_id" in people:
        orgs = people.dropna(subset=["org_id"]).groupby(["cluster", "org_id"])["account_id"].nunique()
        if len(orgs):
            org_share = np.maximum(org_share, _share_of_size(orgs, size))
    if "email_domain" in people:
        domain_users = accounts.groupby("email_domain")["account_id"].nunique()
        inside = people.dropna(subset=["email_domain"]).groupby(["cluster", "email_domain"])["account_id"].nunique()
        own = inside[inside.to_numpy() >= 0.5 * domain_users.reindex(inside.index.get_level_values("email_domain")).to_numpy()]
        own = own[own >= 2]  # a domain of one account is a person's, not an organisation's
        if len(own):
            org_share = np.maximum(org_share, _share_of_size(own, size))
    return (1.0 - org_share).clip(0.0, 1.0).rename("independence")


def _share_of_size(per_value: pd.Series, size: pd.Series) -> pd.Series:
    """Largest (cluster, value) member count as a share of the cluster's size; 0 where none."""
    return per_value.groupby(level="cluster").max().reindex(size.index).fillna(0.0) / size


# An account needs this many requests (with an IP) before its share of single-use IPs says anything: a light
# user's every address is single-use.
ROTATION_MIN_REQUESTS = 10


def _ip_rotation(members: pd.DataFrame) -> pd.Series:
    """Median member's share of requests sent from an IP address it used for no other request.

    A rotating proxy pool (residential or datacenter) hands nearly every request a fresh exit; a
    home line, an office, a campus or a carrier NAT serves many of a person's requests each, however
    many other people share it. An IPv6 address counts by its /64: privacy extensions (RFC 8981, on by
    default in Windows, macOS, iOS and Android) give a device a new temporary address in its network's
    /64 about once a day, and a /64 is one home, office LAN or phone connection (RFC 6177, RFC 7934).
    Members with fewer than ``ROTATION_MIN_REQUESTS`` requests are left out.
    """
    rows = members[members["kind"] == IP]
    if rows.empty:
        return pd.Series(dtype="float64", name="ip_rotation_share")
    cluster = rows.groupby("account_id")["cluster"].first()
    lines = _lines(rows)
    per_account = pd.DataFrame({"once": (lines["count"] == 1).to_numpy(np.int64), "all": lines["count"].to_numpy(np.int64)})
    per_account = per_account.groupby(lines["account_id"].to_numpy()).sum()
    busy = per_account["all"] >= ROTATION_MIN_REQUESTS
    share = per_account["once"] / per_account["all"]
    return share[busy].groupby(cluster.reindex(share.index)[busy]).median().rename("ip_rotation_share")


def _lines(rows: pd.DataFrame) -> pd.DataFrame:
    """(account_id, count) per line an account used: an IPv4 address, or an IPv6 /64.

    Usage rows are already one per (account, address), so only the IPv6 ones are regrouped.
    """
    v6 = rows["value"].str.contains(":", regex=False).to_numpy(dtype=bool, na_value=False)
    v4_lines = rows.loc[~v6, ["account_id", "count"]]
    if not v6.any():
        return v4_lines
    v6_rows = rows.loc[v6, ["account_id", "value", "count"]]
    addresses = pd.Series(v6_rows["value"].unique())
    line = v6_rows["value"].map(pd.Series(_slash64(addresses).to_numpy(), index=addresses.to_numpy())).rename("line")
    v6_lines = v6_rows.groupby([v6_rows["account_id"], line], sort=False)["count"].sum()
    return pd.concat([v4_lines, v6_lines.reset_index(level="account_id").reset_index(drop=True)], ignore_index=True)


def _slash64(addresses: pd.Series) -> pd.Series:
    """The /64 of each canonical IPv6 address, as its first four groups in hex ("2a02:10:20:30").

    An address without "::" has all eight groups written out, so the first four are its text; the
    others go through ipaddress (2M IP rows, 6% of them IPv6: the whole feature in 1.3 s against 2.6 s
    with ipaddress for every address, and 0.8 s with no IPv6 at all).
    """
    text = addresses.astype(object)
    keys = text.str.split(":", n=4).str[:4].str.join(":")
    compressed = text.str.contains("::", regex=False).to_numpy(dtype=bool)
    prefixes = [int(ipaddress.IPv6Address(v)) >> 64 for v in text[compressed]]
    keys[compressed] = [f"{p >> 48:x}:{(p >> 32) & 0xFFFF:x}:{(p >> 16) & 0xFFFF:x}:{p & 0xFFFF:x}" for p in prefixes]
    return keys


def _cohesion(edges: pd.DataFrame, cluster_of: pd.Series) -> pd.Series:
    """Median link weight inside the cluster: how alike its members are, whatever the signal."""
    a = edges["account_a"].map(cluster_of)
    inside = (a == edges["account_b"].map(cluster_of)) & a.notna()
    return edges.loc[inside, "weight"].groupby(a[inside]).median().rename("cohesion")
