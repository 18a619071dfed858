"""Assembling the report contract and the run record from a run's results (rendering is render.py's).

The report's shape is documented in the README (Report contract); cluster ids come from
:mod:`graphlinker.analysis.cluster_history` (kept across runs for the same group).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from graphlinker.analysis.cluster_history import assign_stable_ids, cluster_id_for


def build_report(run_id: str, *, membership: pd.DataFrame, scores: pd.DataFrame, evidence: dict, hubs: pd.DataFrame,
                 accounts: pd.DataFrame, quarantined: int = 0, previous: dict | None = None) -> tuple[dict, dict]:
    """The report contract, and the cluster id of each cluster number (for memberships)."""
    members = membership.groupby("cluster")["account_id"].apply(lambda s: sorted(s.astype(str)))
    earlier = {c["cluster_id"]: c["accounts"] for c in (previous or {}).get("clusters", [])}
    ids = assign_stable_ids({cluster: members[cluster] for cluster in scores.index}, earlier, cluster_id_for)
    clusters = []
    for cluster, row in scores.iterrows():
        accounts_in = members[cluster]
        clusters.append(
            {
                "cluster_id": ids[cluster],
                "size": len(accounts_in),
                "risk_score": float(row["risk_score"]),
                "flagged": bool(row["flagged"]),
                "accounts": accounts_in,
                "reasons": row["reasons"],
                "evidence": with_gates(evidence[int(cluster)], row.get("not_flagged_because")),
            }
        )
    clusters.sort(key=lambda c: (-c["risk_score"], -c["size"], c["cluster_id"]))
    flagged = [c for c in clusters if c["flagged"]]
    report = {
        "run_id": run_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "clusters": clusters,
        "summary": {
            "accounts": int(len(accounts)),
            "clusters": len(clusters),
            "flagged_clusters": len(flagged),
            "flagged_accounts": sum(c["size"] for c in flagged),
            "hubs": int(len(hubs)),
            "quarantined_rows": int(quarantined),
        },
        "hubs": [_hub_entry(row) for row in hubs.head(50).to_dict("records")],
    }
    return report, ids


def with_gates(evidence: dict, gates: list | None) -> dict:
    """The cluster's evidence with ``gates``, the conditions of the flag rule it does not meet, when there are any.

    Any ``not_flagged_because`` already there is replaced, so a report re-scored under other settings
    (``bench/bench_detection.py``) never keeps the gates of the rule it was first scored with.
    """
    kept = {k: v for k, v in evidence.items() if k != "not_flagged_because"}
    return {**kept, "not_flagged_because": gates} if gates else kept


def run_record(run_id: str, *, command: str, started: datetime, finished: datetime, inputs: list, settings: dict,
               counts: dict) -> dict:
    """What the store keeps about a published run (``graphlinker runs``): when, from what, with which settings."""
    return {
        "run_id": run_id,
        "command": command,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds(), 2),
        "inputs": inputs,
        "params": settings,
        "counts": counts,
        "outcome": "ok",
    }


def _hub_entry(row: dict) -> dict:
    """A discounted identifier: kind, value, accounts (and coherence, weight kept, where linking measured them)."""
    entry = {"kind": str(row["kind"]), "value": str(row["value"]), "accounts": int(row["accounts"])}
    entry.update({k: float(row[k]) for k in ("coherence", "weight_kept") if k in row})
    return entry
