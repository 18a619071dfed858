"""The member-level diagnostic: which members of a flagged cluster show none of its behaviour."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_periphery as P  # noqa: E402

BROWSER = "Mozilla/5.0"


def _requests() -> pd.DataFrame:
    rows = []
    # Five ring members send one request each in the same three minutes, from browsers, with ordinary output:
    # they show the cluster's behaviour by its busy minutes alone.
    for member in range(5):
        for minute in range(3):
            rows.append((f"ring{member}", f"2026-09-01T10:0{minute}:00Z", BROWSER, 100))
    # A sixth ring member is never in a busy minute but sends from an SDK client.
    rows += [("ring5", f"2026-09-02T0{h}:00:00Z", "httpx/0.27", 100) for h in range(3)]
    # A seventh is never in a busy minute, uses a browser, but its output is far above the median account's.
    rows += [("ring6", f"2026-09-03T0{h}:00:00Z", BROWSER, 5000) for h in range(3)]
    # Two ordinary users attached to the cluster: off the busy minutes, browsers, ordinary output.
    rows += [(f"user{u}", f"2026-09-04T0{h}:1{u}:00Z", BROWSER, 100) for u in range(2) for h in range(3)]
    # An unflagged cluster is not looked at.
    rows += [("calm0", "2026-09-05T00:00:00Z", BROWSER, 100)]
    return pd.DataFrame(rows, columns=["account_id", "ts", "user_agent", "output_tokens"])


def test_counts_the_members_that_show_nothing_of_their_cluster():
    ring = [f"ring{m}" for m in range(7)]
    clusters = [{"cluster_id": "cl-ring", "size": 9, "flagged": True, "accounts": ring + ["user0", "user1"]},
                {"cluster_id": "cl-calm", "size": 1, "flagged": False, "accounts": ["calm0"]}]
    truth = pd.DataFrame({"account_id": ring + ["user0", "user1", "calm0"],
                          "op_id": ["op-x-1"] * 7 + [None, None, None]})
    table = P.member_check(_requests(), clusters, truth)
    assert table.to_dict("records") == [{"cluster": "cl-ring", "size": 9, "operation": "op-x-1", "its members": 7,
                                         "others": 2, "its members dropped": 0, "others dropped": 2}]


def test_a_quiet_member_of_the_operation_counts_as_dropped():
    """The check's cost: a ring member that behaves like an ordinary user is dropped with the outsiders."""
    requests = _requests()
    requests.loc[requests["account_id"] == "ring5", "user_agent"] = BROWSER
    ring = [f"ring{m}" for m in range(7)]
    clusters = [{"cluster_id": "cl-ring", "size": 9, "flagged": True, "accounts": ring + ["user0", "user1"]}]
    truth = pd.DataFrame({"account_id": ring + ["user0", "user1"], "op_id": ["op-x-1"] * 7 + [None, None]})
    row = P.member_check(requests, clusters, truth).iloc[0]
    assert (row["its members dropped"], row["others dropped"]) == (1, 2)
