"""Cluster features that scoring reads: hand-made clusters with hand-computed values."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pandas as pd
import pytest

from graphlinker.analysis.features import (
    GENERIC,
    ROTATION_MIN_REQUESTS,
    _independence,
    _ip_rotation,
    _shared_share,
    _slash64,
    _template_features,
    shared_identifier_kinds,
)


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


def test_synchrony_setting_chooses_between_chance_corrected_and_time_link_measures():
    """Three batch jobs busy in every minute of the same two hours, linked by their shared minutes:
    by the time links all three are synchronised, beyond chance none is (tests/test_synchrony.py has the
    measure itself)."""
    from graphlinker.analysis.features import cluster_features
    from graphlinker.settings import Settings

    accounts = ["b1", "b2", "b3"]
    windows = [str(29_000_040 + h * 60 + m) for h in range(2) for m in range(60)]  # two whole clock hours
    seen = pd.Timestamp("2026-09-01", tz="UTC")
    usage = pd.DataFrame([(a, "time", w, 1, seen, seen) for a in accounts for w in windows],
                         columns=["account_id", "kind", "value", "count", "first_seen", "last_seen"])
    stats = pd.DataFrame({"account_id": accounts, "requests": 120, "input_tokens": 100, "output_tokens": 100})
    people = pd.DataFrame({"account_id": accounts, "created_at": seen, "email_domain": "gmail.com", "org_id": None})
    templates = pd.DataFrame({"template_id": pd.Series(dtype=str), "extraction_tags": pd.Series(dtype=str)})
    edges = pd.DataFrame({"account_a": ["b1", "b2"], "account_b": ["b2", "b3"], "weight": 0.5, "time": 1.0})
    membership = pd.DataFrame({"account_id": accounts, "cluster": "c"})

    def synchrony(measure: str) -> float:
        base = Settings.load()
        settings = replace(base, scoring={**base.scoring, "synchrony": measure})
        features = cluster_features(membership, usage, stats, people, templates, edges, {}, settings)
        return float(features.loc["c", "synchronised_share"])

    assert synchrony("time_links") == pytest.approx(1.0)
    assert synchrony("beyond_chance") == 0.0


def test_shared_identifiers_count_members_sharing_an_identifiers_kind_and_name_the_kinds():
    """Cluster 0: a and b share a phone, b and c an address, d has a phone of its own, and a, d share a card and an IP
    (built-in kinds, not identifiers on file). Cluster 1: x and y share a device; z shares only a subnet."""
    members = pd.DataFrame(
        [("a", "phone", "p1", 0), ("b", "phone", "p1", 0), ("b", "address", "ad1", 0), ("c", "address", "ad1", 0),
         ("d", "phone", "p2", 0), ("a", "payment", "card1", 0), ("d", "payment", "card1", 0), ("a", "ip", "1.2.3.4", 0),
         ("d", "ip", "1.2.3.4", 0),
         ("x", "device", "dv", 1), ("y", "device", "dv", 1), ("z", "subnet", "10.0.0.0/24", 1), ("y", "subnet", "10.0.0.0/24", 1)],
        columns=["account_id", "kind", "value", "cluster"]).assign(count=1)
    share = _shared_share(members, GENERIC)
    assert share[0] == pytest.approx(3 / 4)  # a, b, c of a, b, c, d
    assert share[1] == pytest.approx(2 / 3)  # x, y of x, y, z
    assert shared_identifier_kinds(members).to_dict() == {0: "address, phone", 1: "device"}
    assert _shared_share(members, "payment")[0] == pytest.approx(2 / 4)  # the one-kind form is unchanged


def test_ip_rotation_is_the_median_members_share_of_requests_from_single_use_ips():
    """Cluster 0: two members behind a rotating pool (r1: 12 requests, 10 of them from IPs it used once; r2: 20,
    all from single-use IPs) and one at home (h: 30 requests from one line). Cluster 1: a campus of busy students
    on one NAT IP (a shared address is no rotation), and a light user whose 3 single-use IPs say nothing."""
    rows = [("r1", f"9.9.9.{i}", 1, 0) for i in range(10)] + [("r1", "9.9.8.1", 2, 0)]
    rows += [("r2", f"8.8.{i}.1", 1, 0) for i in range(20)] + [("h", "1.1.1.1", 30, 0)]
    rows += [(f"s{i}", "10.0.0.1", 15, 1) for i in range(3)] + [("light", f"7.7.7.{i}", 1, 1) for i in range(3)]
    members = pd.DataFrame(rows, columns=["account_id", "value", "count", "cluster"]).assign(kind="ip")
    members = pd.concat([members, pd.DataFrame({"account_id": ["h"], "value": ["model-a"], "count": [99], "cluster": [0],
                                                "kind": ["model"]})])  # other kinds are not IPs
    rotation = _ip_rotation(members)
    assert rotation[0] == pytest.approx(10 / 12)  # the median of 10/12, 20/20 and 0/30
    assert rotation[1] == 0.0  # the light user (3 requests) is left out
    assert ROTATION_MIN_REQUESTS > 3
    assert _ip_rotation(members[members["kind"] != "ip"]).empty


def test_ip_rotation_counts_an_ipv6_slash_64_as_one_line():
    """Privacy addresses (a new temporary address in the home's /64 each day) are one line, not rotation: v6home sends
    one request a day for 20 days, each from a new address in 2a02:10:20:30::/64. A pool that hands out addresses in
    different /64s still rotates (v6pool: 12 requests, 12 networks), and an IPv4 address stays its own line."""
    home = [("v6home", f"2a02:10:20:30:{day + 1:x}:ab:cd:ef", 1, 0) for day in range(20)]
    pool = [("v6pool", f"2a02:{k + 1:x}:20:30::1", 1, 1) for k in range(12)]
    v4 = [("v4pool", f"9.9.9.{k}", 1, 1) for k in range(12)]
    members = pd.DataFrame(home + pool + v4, columns=["account_id", "value", "count", "cluster"]).assign(kind="ip")
    rotation = _ip_rotation(members)
    assert rotation[0] == 0.0  # 20 requests on one /64: one line, used 20 times
    assert rotation[1] == 1.0  # both pool members: every request from a line used once
    per_address = pd.DataFrame(home, columns=["account_id", "value", "count", "cluster"]).assign(
        kind="ip", value=[f"10.0.{day}.1" for day in range(20)])
    assert _ip_rotation(per_address)[0] == 1.0  # the same pattern on distinct IPv4 addresses is rotation


@pytest.mark.parametrize("address, network", [
    ("2a02:10:20:30:1:ab:cd:ef", "2a02:10:20:30"),  # all eight groups written out: the text
    ("2a02:0:5:0:1:2:3:4", "2a02:0:5:0"),
    ("2a02:0:5::1", "2a02:0:5:0"),  # "::" inside the /64: the same network as the line above
    ("2a02:10::1", "2a02:10:0:0"),
    ("2001:db8:1:2::", "2001:db8:1:2"),
    ("::1", "0:0:0:0"),
    ("fe80::1:2:3:4", "fe80:0:0:0"),
])
def test_slash64_keys_agree_with_ipaddress_whatever_the_compression(address, network):
    assert _slash64(pd.Series([address]))[0] == network
    expected = ipaddress.IPv6Network(f"{address}/64", strict=False).network_address.exploded.split(":")[:4]
    assert network == ":".join(f"{int(g, 16):x}" for g in expected)
