"""The one place that knows the order of the stages.

    inputs ──► usage graph ──► store ──► linking ──► detection ──► scoring + evidence ──► report ──► publish

``run`` ingests an export directory into a fresh graph and analyses it;
``refresh`` adds only the files and rows the store has not seen (:mod:`graphlinker.ingest.load`),
then analyses everything it holds; both hold the store's lock and publish atomically.
``analyse`` reads only from the store, so the projection always reflects what
the store holds (the embedded workspace or Neo4j), not the files of this run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pandas as pd
import xxhash

from graphlinker.analysis.cluster_history import assign_stable_ids, diff_runs
from graphlinker.analysis.detection import detect_communities
from graphlinker.analysis.evidence import cluster_evidence
from graphlinker.analysis.features import cluster_features
from graphlinker.analysis.fragments import merge_fragments
from graphlinker.analysis.linking import link_accounts, linking_steps
from graphlinker.analysis.scoring import score_clusters
from graphlinker.errors import NothingNew, StoreUnavailable
from graphlinker.ingest.ledger import export_inputs, resolve_inputs
from graphlinker.ingest.load import load_new
from graphlinker.ingest.readers import Quarantine
from graphlinker.settings import Settings
from graphlinker.store.base import Store
from graphlinker.templates import ExtractionRules


class Progress(Protocol):
    """Where long stages report progress (the CLI draws rich bars on stderr)."""

    def stage(self, name: str, total: int | None = None) -> AbstractContextManager[Callable[[int], None]]: ...


class SilentProgress:
    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda advance=1: None


@dataclass
class RunOutcome:
    report: dict
    quarantine: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    diff: dict = field(default_factory=dict)  # what changed since the previous run (cluster_history.diff_runs)
    new_rows: int = 0
    skipped_files: int = 0


def new_run_id(now: datetime) -> str:
    return f"run-{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def analyse(store: Store, settings: Settings, progress: Progress, run_id: str, started: datetime, extra: dict,
            previous: dict | None = None, commit=None) -> dict:
    """Link, detect, score and publish a run from what ``store`` holds; returns the report.

    ``previous`` (the last published report) lends its cluster ids to substantially the
    same groups (:func:`graphlinker.analysis.cluster_history.assign_stable_ids`); ``commit``
    (:class:`graphlinker.ingest.ledger.Commit`) is published with the run.
    """
    usage, stats, accounts, templates = store.usage(), store.stats(), store.accounts(), store.templates()
    with progress.stage("linking accounts", total=linking_steps(usage, settings)) as advance:
        linkage = link_accounts(usage, settings, progress=advance)
    detection = settings.detection
    with progress.stage("detecting communities"):
        communities = detect_communities(
            linkage.edges, engine=detection["engine"], seed=int(detection["seed"]), resolution=float(detection["resolution"])
        )
        if detection["merge_fragments"] and linkage.vectors is not None:
            communities = merge_fragments(communities, linkage.touching(), linkage.similarity,
                                          min_weight=float(settings.linking["min_edge_weight"]),
                                          ratio=float(detection["fragment_ratio"]))
    membership = _clusters_of_two_or_more(communities)
    with progress.stage("scoring clusters"):
        rules = ExtractionRules.load()
        features = cluster_features(membership, usage, stats, accounts, templates, linkage.edges, rules.weights, settings)
        scores = score_clusters(features, settings)
        evidence = cluster_evidence(membership, usage, linkage.edges, templates, accounts, features, linkage.kinds)
    report, cluster_ids = build_report(run_id, membership, scores, evidence, linkage.hubs, accounts, extra, previous)
    finished = datetime.now(UTC)
    record = {
        "run_id": run_id,
        "command": extra.get("command", "run"),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds(), 2),
        "inputs": extra.get("inputs", []),
        "params": settings.as_dict(),
        "counts": {**extra.get("counts", {}), **report["summary"]},
        "outcome": "ok",
    }
    membership_out = membership.assign(cluster_id=membership["cluster"].map(cluster_ids))[["account_id", "cluster_id"]]
    with progress.stage("publishing run"):
        store.publish_run(report, linkage.edges, membership_out, record, commit=commit)
    return report


def run(path: Path, store: Store, settings: Settings, quarantine: Quarantine, progress: Progress | None = None,
        wait_seconds: float = 0.0) -> RunOutcome:
    """Full run: rebuild the store's graph from one export directory, then analyse it."""
    inputs = export_inputs(path)
    with store.lock("graphlinker run", wait_seconds):
        return _load_and_analyse(inputs, store, settings, quarantine, progress, command="run", rebuild=True)


def refresh(paths: list[Path], store: Store, settings: Settings, quarantine: Quarantine, progress: Progress | None = None,
            wait_seconds: float = 0.0) -> RunOutcome:
    """Incremental run: load only the files and rows the store has not seen, then analyse and publish.

    Raises NothingNew (exit 3) when every file or row was loaded before; nothing is written then.
    """
    inputs = resolve_inputs(paths)
    with store.lock("graphlinker refresh", wait_seconds):
        if store.interrupted_rebuild():
            raise StoreUnavailable("the last full `graphlinker run` on this store was interrupted after it emptied the graph; "
                                   "run it again before refreshing")
        known = set(store.ledger()["file_hash"].astype(str))
        fresh = [item for item in inputs if item.file_hash not in known]
        if not fresh:
            raise NothingNew(f"nothing new: all {len(inputs)} input file(s) were loaded before; the store is unchanged")
        outcome = _load_and_analyse(fresh, store, settings, quarantine, progress, command="refresh", rebuild=False)
        outcome.skipped_files = len(inputs) - len(fresh)
        return outcome


def _load_and_analyse(inputs, store: Store, settings: Settings, quarantine: Quarantine, progress, command: str, rebuild: bool) -> RunOutcome:
    progress = progress or SilentProgress()
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    clock = time.perf_counter()
    previous = store.latest_report()
    if rebuild:
        store.reset_graph()
    batch = load_new(inputs, store, settings, quarantine, progress, run_id)
    if not rebuild and batch.new_rows == 0:
        raise NothingNew(f"nothing new: the {len(inputs)} new input file(s) hold only rows loaded before; the store is unchanged")
    ingest_seconds = time.perf_counter() - clock
    extra = {"counts": batch.counts, "inputs": batch.files.drop(columns="run_id").to_dict("records"),
             "quarantined": quarantine.total, "command": command}
    report = analyse(store, settings, progress, run_id, started, extra, previous, commit=batch.commit())
    timings = {"ingest_s": round(ingest_seconds, 2), "total_s": round(time.perf_counter() - clock, 2)}
    return RunOutcome(report=report, quarantine=quarantine.counts(), timings=timings,
                      diff=diff_runs(previous, report), new_rows=batch.new_rows)


def _clusters_of_two_or_more(communities: pd.DataFrame) -> pd.DataFrame:
    size = communities.groupby("community")["account_id"].transform("size")
    return communities[size >= 2].rename(columns={"community": "cluster"}).reset_index(drop=True)


def _hub_entry(row: dict) -> dict:
    """A discounted identifier: kind, value, accounts (and coherence, weight kept, where linking measured them)."""
    entry = {"kind": str(row["kind"]), "value": str(row["value"]), "accounts": int(row["accounts"])}
    entry.update({k: float(row[k]) for k in ("coherence", "weight_kept") if k in row})
    return entry


def cluster_id_for(members: list[str]) -> str:
    """A deterministic id from the member set: the same group gets the same id on any store."""
    return "cl-" + xxhash.xxh64_hexdigest("\n".join(sorted(members)).encode())[:10]


def build_report(run_id, membership, scores, evidence, hubs, accounts, extra, previous: dict | None = None) -> tuple[dict, dict]:
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
                "evidence": evidence[int(cluster)],
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
            "quarantined_rows": int(extra.get("quarantined", 0)),
        },
        "hubs": [_hub_entry(row) for row in hubs.head(50).to_dict("records")],
    }
    return report, ids
