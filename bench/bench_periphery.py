"""Diagnostic: members of flagged clusters that show none of their cluster's behaviour themselves.

A flagged cluster is judged on medians and shares over its members, so a large ring can carry ordinary users
that community detection attached to it (the 20,000-account ring of ``bench_detection.py --big`` carries
about 1,200). This measures, offline on a finished run, what a member-level check would remove — it is not
part of the pipeline. A member "shows" its cluster's behaviour when any of these holds:

* at least a third of its requests fall in the cluster's busy minutes (minutes in which at least 1% of the
  cluster, and at least 5 members, send a request);
* at least half of its requests come from non-browser clients (a user agent not starting ``Mozilla``);
* its median output per request is at least twice the median account's.

The cut-offs are round numbers chosen before measuring, not fitted. The truth file is read only to count:
per flagged cluster, its main operation's members and the other accounts, and how many of each the check
would drop.

    python bench/bench_periphery.py SCENARIO_DIR REPORT_JSON

``SCENARIO_DIR`` is a ``graphlinker simulate`` export (``requests.csv`` and ``truth.csv``); ``REPORT_JSON``
the report of ``graphlinker run SCENARIO_DIR --format json`` (or a file holding it under ``"report"``, as
``bench_detection.py --work`` saves them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

BUSY_SHARE = 0.01  # of the cluster's members active in one minute
BUSY_MIN_MEMBERS = 5
IN_BUSY_MINUTES = 1 / 3
NON_BROWSER = 0.5
OUTPUT_MULTIPLE = 2.0


def member_check(requests: pd.DataFrame, clusters: list[dict], truth: pd.DataFrame) -> pd.DataFrame:
    """One row per flagged cluster: its main operation, members of it and others, and how many of each the check drops."""
    requests = requests.assign(minute=requests["ts"].str[:16],
                               non_browser=~requests["user_agent"].fillna("").str.startswith("Mozilla"))
    median_output = requests.groupby("account_id")["output_tokens"].median().median()
    labels = truth.set_index("account_id")["op_id"]
    rows = []
    for cluster in clusters:
        if not cluster["flagged"]:
            continue
        own = requests[requests["account_id"].isin(cluster["accounts"])]
        active = own.groupby("minute")["account_id"].nunique()
        busy = active.index[active >= max(BUSY_MIN_MEMBERS, BUSY_SHARE * cluster["size"])]
        member = own.assign(busy=own["minute"].isin(busy)).groupby("account_id").agg(
            busy=("busy", "mean"), non_browser=("non_browser", "mean"), output=("output_tokens", "median"))
        shows = ((member["busy"] >= IN_BUSY_MINUTES) | (member["non_browser"] >= NON_BROWSER)
                 | (member["output"] >= OUTPUT_MULTIPLE * median_output))
        label = labels.reindex(member.index).fillna("background")
        main = label.value_counts().index[0]
        of_main = label == main
        rows.append({"cluster": cluster["cluster_id"], "size": cluster["size"], "operation": main,
                     "its members": int(of_main.sum()), "others": int((~of_main).sum()),
                     "its members dropped": int((of_main & ~shows).sum()),
                     "others dropped": int((~of_main & ~shows).sum())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path, help="simulated export with requests.csv and truth.csv")
    parser.add_argument("report", type=Path, help="the run's JSON report")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    report = report.get("report", report)
    requests = pd.read_csv(args.scenario / "requests.csv", usecols=["account_id", "ts", "user_agent", "output_tokens"])
    truth = pd.read_csv(args.scenario / "truth.csv")
    table = member_check(requests, report["clusters"], truth)
    print(table.to_string(index=False) if len(table) else "no flagged clusters")


if __name__ == "__main__":
    main()
