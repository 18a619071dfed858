"""Score a report against the simulator's ground truth.

An account is *predicted positive* iff it belongs to a flagged cluster of the report.
Truth positives are the rows of ``truth.csv`` whose role is not ``lookalike``
(workers, payers, orchestrators of planted operations); look-alike members and the
unlisted ordinary accounts are negatives, so flagging them counts as a false positive.

Edge cases, chosen so that an empty report never looks good:

* nothing flagged and there are positives: precision = 0.0, recall = 0.0, f1 = 0.0;
* no positives in the truth: recall = 1.0 (nothing to find) and precision = 1.0 only if
  nothing was flagged, else 0.0;
* f1 is 0.0 whenever precision + recall is 0.

Besides the account-level numbers it reports, per planted operation, how much of it
was recovered and how fragmented/pure the recovery is, and, per look-alike group,
how much of it was wrongly flagged. Rendering is left to the caller (``to_dict``).

Per operation (its accounts are its truth rows whose role is not ``lookalike``):

* ``one_cluster_share``: the largest share of the operation's accounts that sit in one
  single *flagged* cluster, 0.0 when none is flagged -- the benchmark's "recovered as
  one cluster" measure;
* ``largest_cluster_share``: the same over *any* cluster of the report, flagged or not,
  so that an operation that was clustered but not flagged shows up as such.

``operations_recovered`` counts the operations with recall >= 0.9 and
one_cluster_share >= 0.8; ``operations_total`` is the number of planted operations
(the name ``operations`` is taken by the per-operation list).

Ranking quality. Every cluster of the report, flagged or not (empty ones included),
is ranked by ``risk_score`` descending (a missing score counts as 0.0, a non-numeric
or NaN one is an input error); ties go to the larger cluster (distinct accounts),
then to the smaller ``cluster_id`` in plain string order. A cluster is a
*positive* when more than half of its distinct accounts (unlisted ones count in the
denominator) belong to one planted operation; a strict majority can name only one
operation, and exactly half is not enough. Several fragments of one operation can
each be positive: fragmentation is measured by ``one_cluster_share``, not here.

* ``average_precision``: with positives at ranks r_1 < ... < r_P of the ranking,
  AP = (1/P) * sum_i precision@r_i, where precision@r = positives in the top r / r.
  It is None (JSON null) when no cluster is positive -- never 1.0 -- and it judges
  the order of the clusters that exist only: operations absent from the report do
  not lower it (recall and ``operations_recovered`` show those);
* ``precision_at_10`` / ``precision_at_50``: positives among the top k clusters divided
  by min(k, number of clusters), so with fewer than k clusters it is the share of
  positives among all of them; None when the report has no cluster at all;
* ``ranked_clusters``: how many clusters were ranked (all of the report's), and
  ``positive_clusters``: how many of them are positives (P above).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from graphlinker.errors import InputError

LOOKALIKE = "lookalike"
TRUTH_COLUMNS = ("account_id", "op_id", "role")


@dataclass(frozen=True)
class OperationRecovery:
    """How well one planted operation was recovered."""

    op_id: str
    size: int  # accounts in the truth
    flagged: int  # of them in flagged clusters
    recall: float  # flagged / size
    clusters: int  # distinct flagged clusters its flagged members are spread over
    best_cluster: str | None  # the flagged cluster holding most of its members
    purity: float | None  # of the best cluster: share of its accounts that belong to the operation
    one_cluster_share: float = 0.0  # largest share of its accounts in one flagged cluster (0.0 if none flagged)
    largest_cluster_share: float = 0.0  # largest share of its accounts in one cluster, flagged or not


@dataclass(frozen=True)
class LookalikeResult:
    """How much of one benign look-alike group was (wrongly) flagged."""

    op_id: str
    size: int
    flagged: int
    share_flagged: float


@dataclass(frozen=True)
class Evaluation:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    fp_lookalike: int  # false positives that are members of look-alike groups
    fp_unlisted: int  # false positives that are ordinary accounts (not in the truth file)
    flagged_accounts: int
    flagged_clusters: int
    operations: list[OperationRecovery] = field(default_factory=list)
    lookalikes: list[LookalikeResult] = field(default_factory=list)
    lookalike_share_flagged: float = 0.0  # flagged look-alike accounts / all look-alike accounts
    lookalike_groups_flagged: int = 0  # look-alike groups with at least one flagged member
    operations_recovered: int = 0  # operations with recall >= 0.9 and one_cluster_share >= 0.8
    operations_total: int = 0  # planted operations in the truth
    average_precision: float | None = None  # AP of the risk ranking of all clusters; None without positives
    precision_at_10: float | None = None  # positives / min(10, ranked_clusters); None without clusters
    precision_at_50: float | None = None  # positives / min(50, ranked_clusters); None without clusters
    ranked_clusters: int = 0  # clusters in the ranking (all of the report's, flagged or not)
    positive_clusters: int = 0  # of them, clusters whose accounts are > 50% one planted operation

    def to_dict(self) -> dict:
        return asdict(self)


def _natural(text: str) -> list:
    """Sort key so that family-2 comes before family-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _load_report(report: dict | Path | str) -> dict:
    if isinstance(report, dict):
        data = report
    else:
        try:
            data = json.loads(Path(report).read_text("utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read report {report}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"report {report} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("clusters", []), list):
        raise InputError("report must be a JSON object with a 'clusters' list")
    return data


def _load_truth(truth: Path | str | pd.DataFrame) -> pd.DataFrame:
    if isinstance(truth, pd.DataFrame):
        frame = truth
    else:
        try:
            frame = pd.read_csv(truth, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot read truth file {truth}: {exc}") from exc
    missing = [c for c in TRUTH_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"truth file lacks column(s): {', '.join(missing)}")
    return frame[list(TRUTH_COLUMNS)].astype(str).drop_duplicates("account_id")


def _flagged_membership(report: dict) -> pd.DataFrame:
    """One row per (cluster, account) of the flagged clusters."""
    rows = [
        (str(cluster.get("cluster_id", index)), str(account))
        for index, cluster in enumerate(report.get("clusters", []))
        if cluster.get("flagged")
        for account in cluster.get("accounts", [])
    ]
    return pd.DataFrame(rows, columns=["cluster_id", "account_id"]).drop_duplicates()


@dataclass(frozen=True)
class _Ranked:
    cluster_id: str
    risk: float
    accounts: frozenset[str]
    flagged: bool


def _ranking(report: dict) -> list[_Ranked]:
    """All clusters, riskiest first; ties: larger (distinct accounts) first, then cluster_id."""
    ranked = []
    for index, cluster in enumerate(report.get("clusters", [])):
        if not isinstance(cluster, dict):
            raise InputError(f"cluster #{index} of the report is not an object")
        risk = cluster.get("risk_score", 0.0)
        if isinstance(risk, bool) or not isinstance(risk, (int, float)) or math.isnan(risk):
            raise InputError(f"cluster {cluster.get('cluster_id', index)} has a non-numeric risk_score: {risk!r}")
        accounts = frozenset(str(a) for a in cluster.get("accounts", []))
        ranked.append(_Ranked(str(cluster.get("cluster_id", index)), float(risk), accounts, bool(cluster.get("flagged"))))
    return sorted(ranked, key=lambda c: (-c.risk, -len(c.accounts), c.cluster_id))


def _is_positive(accounts: frozenset[str], op_of: dict[str, str]) -> bool:
    """More than half of the cluster's accounts belong to one planted operation."""
    counts: dict[str, int] = {}
    for account in accounts:
        if account in op_of:
            counts[op_of[account]] = counts.get(op_of[account], 0) + 1
    return bool(counts) and 2 * max(counts.values()) > len(accounts)


def _ranking_quality(labels: list[bool]) -> dict:
    """AP and precision@10/50 of a ranking given as positive/negative labels, best first."""
    hits, precisions = 0, []
    for rank, positive in enumerate(labels, start=1):
        if positive:
            hits += 1
            precisions.append(hits / rank)

    def at(k: int) -> float | None:
        top = labels[:k]
        return sum(top) / len(top) if top else None

    return {
        "average_precision": sum(precisions) / len(precisions) if precisions else None,
        "precision_at_10": at(10), "precision_at_50": at(50),
        "ranked_clusters": len(labels), "positive_clusters": hits,
    }


def _largest_share(members: set[str], clusters: list[_Ranked]) -> float:
    return max((len(c.accounts & members) for c in clusters), default=0) / len(members) if members else 0.0


def _operation(op_id: str, members: set[str], membership: pd.DataFrame, cluster_sizes: pd.Series,
               ranking: list[_Ranked]) -> OperationRecovery:
    largest = _largest_share(members, ranking)
    one_cluster = _largest_share(members, [c for c in ranking if c.flagged])
    hits = membership[membership["account_id"].isin(members)]
    flagged = hits["account_id"].nunique()
    if not flagged:
        return OperationRecovery(op_id, len(members), 0, 0.0, 0, None, None, 0.0, largest)
    per_cluster = hits.groupby("cluster_id")["account_id"].nunique()
    purity = per_cluster / cluster_sizes.reindex(per_cluster.index)
    best = max(per_cluster.index, key=lambda c: (per_cluster[c], purity[c], c))
    return OperationRecovery(op_id, len(members), flagged, flagged / len(members), len(per_cluster), best,
                             float(purity[best]), one_cluster, largest)


def _ratios(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    positives, flagged = tp + fn, tp + fp
    recall = tp / positives if positives else 1.0
    precision = tp / flagged if flagged else (1.0 if not positives else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(report: dict | Path | str, truth: Path | str | pd.DataFrame) -> Evaluation:
    """Account-level precision/recall/F1, per-operation recovery, look-alike false positives and ranking quality."""
    loaded = _load_report(report)
    membership = _flagged_membership(loaded)
    ranking = _ranking(loaded)
    truth_frame = _load_truth(truth)
    flagged = set(membership["account_id"])
    is_lookalike = truth_frame["role"].str.lower() == LOOKALIKE
    positives = set(truth_frame.loc[~is_lookalike, "account_id"])
    lookalike_accounts = set(truth_frame.loc[is_lookalike, "account_id"])
    tp, fn = len(flagged & positives), len(positives - flagged)
    false = flagged - positives
    precision, recall, f1 = _ratios(tp, len(false), fn)
    cluster_sizes = membership.groupby("cluster_id")["account_id"].nunique()

    operations, lookalikes = [], []
    for op_id, group in sorted(truth_frame.groupby("op_id"), key=lambda item: _natural(item[0])):
        members = set(group["account_id"])
        if (group["role"].str.lower() == LOOKALIKE).all():
            hit = len(members & flagged)
            lookalikes.append(LookalikeResult(op_id, len(members), hit, hit / len(members)))
        else:
            operations.append(_operation(op_id, members - lookalike_accounts, membership, cluster_sizes, ranking))
    flagged_lookalikes = len(lookalike_accounts & flagged)
    op_of = dict(zip(truth_frame.loc[~is_lookalike, "account_id"], truth_frame.loc[~is_lookalike, "op_id"]))
    return Evaluation(
        precision=precision, recall=recall, f1=f1, tp=tp, fp=len(false), fn=fn,
        fp_lookalike=flagged_lookalikes, fp_unlisted=len(false - lookalike_accounts),
        flagged_accounts=len(flagged), flagged_clusters=len(cluster_sizes),
        operations=operations, lookalikes=lookalikes,
        lookalike_share_flagged=flagged_lookalikes / len(lookalike_accounts) if lookalike_accounts else 0.0,
        lookalike_groups_flagged=sum(1 for r in lookalikes if r.flagged),
        operations_recovered=sum(1 for op in operations if op.recall >= 0.9 and op.one_cluster_share >= 0.8),
        operations_total=len(operations),
        **_ranking_quality([_is_positive(c.accounts, op_of) for c in ranking]),
    )
