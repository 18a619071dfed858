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
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError

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


def _operation(op_id: str, members: set[str], membership: pd.DataFrame, cluster_sizes: pd.Series) -> OperationRecovery:
    hits = membership[membership["account_id"].isin(members)]
    flagged = hits["account_id"].nunique()
    if not flagged:
        return OperationRecovery(op_id, len(members), 0, 0.0, 0, None, None)
    per_cluster = hits.groupby("cluster_id")["account_id"].nunique()
    purity = per_cluster / cluster_sizes.reindex(per_cluster.index)
    best = max(per_cluster.index, key=lambda c: (per_cluster[c], purity[c], c))
    return OperationRecovery(op_id, len(members), flagged, flagged / len(members), len(per_cluster), best, float(purity[best]))


def _ratios(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    positives, flagged = tp + fn, tp + fp
    recall = tp / positives if positives else 1.0
    precision = tp / flagged if flagged else (1.0 if not positives else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(report: dict | Path | str, truth: Path | str | pd.DataFrame) -> Evaluation:
    """Account-level precision/recall/F1, per-operation recovery and look-alike false positives."""
    membership = _flagged_membership(_load_report(report))
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
            operations.append(_operation(op_id, members - lookalike_accounts, membership, cluster_sizes))
    flagged_lookalikes = len(lookalike_accounts & flagged)
    return Evaluation(
        precision=precision, recall=recall, f1=f1, tp=tp, fp=len(false), fn=fn,
        fp_lookalike=flagged_lookalikes, fp_unlisted=len(false - lookalike_accounts),
        flagged_accounts=len(flagged), flagged_clusters=len(cluster_sizes),
        operations=operations, lookalikes=lookalikes,
        lookalike_share_flagged=flagged_lookalikes / len(lookalike_accounts) if lookalike_accounts else 0.0,
        lookalike_groups_flagged=sum(1 for r in lookalikes if r.flagged),
    )
