"""Analysts' verdicts on clusters, and what they do to later runs.

A verdict (``graphlinker verdict CLUSTER_ID confirmed|benign|unsure``) is kept against the stable
cluster id (:mod:`graphlinker.analysis.cluster_history`), with a snapshot of the cluster as judged:
its members and reason codes. A cluster's verdict is its latest one. Merges and splits follow the
cluster-id rule: the cluster that inherits the id inherits the verdict; the other parts start without.

The rule each run applies (:func:`apply_verdicts`):

* **benign** keeps the cluster unflagged while it stays materially the same group: at most
  ``GROWTH_LIMIT`` (25%) more members than when it was judged (at least one account is always
  allowed) and no reason code it did not have then (one that raises the score: a sharing reason listed at
  weight 0 is not new evidence). When it grows past that or gains a reason, the
  verdict no longer holds: the scorer's flag stands, and the report and the run's diff say why.
* **confirmed** keeps the cluster flagged whatever its score, and names the members that joined
  since the verdict (``new_members``).
* **unsure** is shown and changes nothing.

A verdict given after a run is shown beside that run's clusters (``effect: "given after this run"``)
but changes flags only from the next run on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from graphlinker.errors import InputError

VERDICTS = ("confirmed", "benign", "unsure")
GROWTH_LIMIT = 0.25  # a benign group may grow by a quarter (at least one account) and stay benign
NOTE_LIMIT = 2000  # characters: a note is for a sentence or two and a ticket reference, not a document


def new_verdict(cluster: dict, run_id: str, verdict: str, *, note: str | None = None, by: str | None = None,
                at: datetime | None = None) -> dict:
    """The record kept for a verdict on ``cluster`` (a cluster of report ``run_id``)."""
    if verdict not in VERDICTS:
        raise InputError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    if note is not None and len(note) > NOTE_LIMIT:
        raise InputError(f"--note is {len(note)} characters; keep it under {NOTE_LIMIT} (link a ticket for more)")
    return {
        "cluster_id": str(cluster["cluster_id"]),
        "verdict": verdict,
        "note": note or None,
        "by": by or None,
        "at": (at or datetime.now(UTC)).isoformat(timespec="microseconds"),
        "run_id": run_id,
        "size": int(cluster["size"]),
        "members": sorted(str(a) for a in cluster["accounts"]),
        "reason_codes": sorted({str(r["code"]) for r in cluster["reasons"]}),
    }


def current(records: list[dict]) -> dict[str, dict]:
    """cluster id -> its latest verdict (records in any order; ties: the later in the list)."""
    latest: dict[str, dict] = {}
    for record in sorted(enumerate(records), key=lambda item: (item[1]["at"], item[0])):
        latest[record[1]["cluster_id"]] = record[1]
    return latest


def _shown(record: dict) -> dict:
    return {k: record[k] for k in ("verdict", "by", "at", "note", "run_id")}


def judge(cluster: dict, record: dict) -> dict:
    """The ``verdict`` entry of ``cluster`` under ``record``, and whether the flag is forced (``flag``: bool or None)."""
    members = {str(a) for a in cluster["accounts"]}
    judged = set(record["members"])
    joined = sorted(members - judged)
    entry = {**_shown(record), "new_members": joined, "left_members": len(judged - members)}
    if record["verdict"] == "confirmed":
        return {**entry, "effect": "kept flagged", "why": _joined_text(joined), "flag": True}
    if record["verdict"] == "unsure":
        return {**entry, "effect": "none", "why": "unsure: the score decides", "flag": None}
    allowed = max(1, int(GROWTH_LIMIT * record["size"]))
    grew = len(members) - record["size"]
    gained = sorted(_scoring_codes(cluster) - set(record["reason_codes"]))
    changes = []
    if grew > allowed:
        changes.append(f"grew from {record['size']} to {len(members)} accounts (more than {allowed} new)")
    if gained:
        changes.append("new reasons: " + ", ".join(gained))
    if changes:
        return {**entry, "effect": "raised again", "why": "benign verdict no longer holds: " + "; ".join(changes), "flag": None}
    return {**entry, "effect": "kept unflagged", "why": "benign verdict holds: " + _joined_text(joined), "flag": False}


def _scoring_codes(cluster: dict) -> set[str]:
    """Codes of the reasons that raise the cluster's score. A sharing reason is listed at weight 0 when it is strong
    (:data:`graphlinker.analysis.scoring.SHARING_LISTED_FROM`): the shared card an office was judged benign with is
    no new evidence, and a verdict given before such reasons were listed must not be raised again by them."""
    return {str(r["code"]) for r in cluster["reasons"] if r.get("weight", 1.0) > 0}


def _joined_text(joined: list[str]) -> str:
    if not joined:
        return "no new members since the verdict"
    shown = ", ".join(joined[:5]) + (f" and {len(joined) - 5} more" if len(joined) > 5 else "")
    return f"{len(joined)} new member(s) since the verdict: {shown}"


def apply_verdicts(report: dict, records: list[dict]) -> dict:
    """``report`` with each judged cluster's flag set by the rule above, a ``verdict`` entry, and its summary recounted."""

    def applied(cluster: dict, record: dict | None) -> dict:
        if record is None:
            return cluster
        judged = judge(cluster, record)
        flag = judged.pop("flag")
        return {**cluster, "flagged": cluster["flagged"] if flag is None else flag, "verdict": judged}

    clusters = _each_cluster(report, records, applied)
    if clusters is None:
        return report
    flagged = [c for c in clusters if c["flagged"]]
    summary = {**report["summary"], "flagged_clusters": len(flagged), "flagged_accounts": sum(c["size"] for c in flagged),
               "verdicts": sum(1 for c in clusters if "verdict" in c)}
    return {**report, "clusters": clusters, "summary": summary}


def show_verdicts(report: dict, records: list[dict]) -> dict:
    """``report`` (any published run) with verdicts given after it shown beside its clusters; flags untouched."""

    def shown(cluster: dict, record: dict | None) -> dict:
        kept = cluster.get("verdict")
        if record is None or (kept is not None and kept["at"] >= record["at"]):
            return cluster
        return {**cluster, "verdict": {**_shown(record), "effect": "given after this run", "why": "applies from the next run",
                                       "new_members": [], "left_members": 0}}

    clusters = _each_cluster(report, records, shown)
    return report if clusters is None else {**report, "clusters": clusters}


def _each_cluster(report: dict, records: list[dict], entry: Callable[[dict, dict | None], dict]) -> list[dict] | None:
    """``entry(cluster, its current verdict or None)`` for every cluster; None when no verdict exists at all."""
    latest = current(records)
    if not latest:
        return None
    return [entry(cluster, latest.get(str(cluster["cluster_id"]))) for cluster in report["clusters"]]


def verdict_label(cluster: dict) -> str:
    """A short cell for tables: ``benign (kept unflagged)``, or empty without a verdict."""
    verdict = cluster.get("verdict")
    return "" if not verdict else f"{verdict['verdict']} ({verdict['effect']})"


VERDICT_COLUMNS = ["cluster_id", "verdict", "by", "at", "note", "run_id", "size", "members", "reason_codes"]


def verdicts_frame(records: list[dict], history: bool = False):
    """Current verdicts (or every one, ``history``) as a DataFrame, newest first."""
    import pandas as pd

    chosen = records if history else list(current(records).values())
    frame = pd.DataFrame([{k: r.get(k) for k in VERDICT_COLUMNS} for r in chosen], columns=VERDICT_COLUMNS)
    frame = frame.sort_values(["at", "cluster_id"], ascending=[False, True], ignore_index=True)
    return frame.astype({"cluster_id": "string", "verdict": "string", "by": "string", "at": "string", "note": "string",
                         "run_id": "string", "size": "int64"})
