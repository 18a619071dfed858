"""The one place that knows the order of the stages.

    inputs ──► usage graph ──► store ──► linking ──► detection ──► scoring + evidence ──► report ──► publish

``run`` ingests an export directory into a fresh graph and analyses it;
``analyse`` reads only from the store, so the projection always reflects what
the store holds (the embedded workspace or Neo4j), not the files of this run.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Protocol

import pandas as pd
import xxhash

from .config import Settings
from .detection import detect_communities
from .evidence import cluster_evidence
from .features import cluster_features
from .ingest import UsageBuilder
from .inputs import ExportReader, Quarantine
from .linking import link_accounts
from .scoring import score_clusters
from .store.base import Store
from .templates import ExtractionRules, TemplateIndex, grouper_from_settings


class Progress(Protocol):
    """Where long stages report progress (the CLI draws rich bars on stderr)."""

    def stage(self, name: str, total: int | None = None) -> "contextmanager[Callable[[int], None]]": ...


class SilentProgress:
    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda advance=1: None


@dataclass
class RunOutcome:
    report: dict
    quarantine: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def new_run_id(now: datetime) -> str:
    return f"run-{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def ingest(path: Path, store: Store, settings: Settings, quarantine: Quarantine, progress: Progress) -> dict:
    """Read an export directory and merge its usage graph into ``store``; returns row counts."""
    inputs = settings.inputs
    reader = ExportReader(path, quarantine, chunk_rows=int(inputs["chunk_rows"]), max_prompt_chars=int(inputs["max_prompt_chars"]))
    builder = UsageBuilder(settings, TemplateIndex(grouper=grouper_from_settings(settings.templates)))
    counts = {}
    for kind, add in (
        ("accounts", builder.add_accounts),
        ("payments", builder.add_payments),
        ("identifiers", builder.add_identifiers),
        ("requests", builder.add_requests),
    ):
        counts[kind] = 0
        with progress.stage(f"reading {kind}") as advance:
            for chunk in reader.chunks(kind):
                add(chunk)
                counts[kind] += len(chunk)
                advance(len(chunk))
    with progress.stage("writing graph"):
        store.merge_graph(builder.accounts(), builder.usage(), builder.stats(), builder.templates.table())
    return counts


def analyse(store: Store, settings: Settings, progress: Progress, run_id: str, started: datetime, extra: dict) -> dict:
    """Link, detect, score and publish a run from what ``store`` holds; returns the report."""
    usage, stats, accounts, templates = store.usage(), store.stats(), store.accounts(), store.templates()
    with progress.stage("linking accounts", total=usage["kind"].nunique()) as advance:
        linkage = link_accounts(usage, settings, progress=advance)
    detection = settings.detection
    with progress.stage("detecting communities"):
        communities = detect_communities(
            linkage.edges, engine=detection["engine"], seed=int(detection["seed"]), resolution=float(detection["resolution"])
        )
    membership = _clusters_of_two_or_more(communities)
    with progress.stage("scoring clusters"):
        rules = ExtractionRules.load()
        features = cluster_features(membership, usage, stats, accounts, templates, linkage.edges, rules.weights, settings)
        scores = score_clusters(features, settings)
        evidence = cluster_evidence(membership, usage, linkage.edges, templates, accounts, features, linkage.kinds)
    report, cluster_ids = build_report(run_id, membership, scores, evidence, linkage.hubs, accounts, extra)
    finished = datetime.now(timezone.utc)
    record = {
        "run_id": run_id,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "params": settings.as_dict(),
        "counts": {**extra.get("counts", {}), **report["summary"]},
        "outcome": "ok",
    }
    membership_out = membership.assign(cluster_id=membership["cluster"].map(cluster_ids))[["account_id", "cluster_id"]]
    with progress.stage("publishing run"):
        store.publish_run(report, linkage.edges, membership_out, record)
    return report


def run(path: Path, store: Store, settings: Settings, quarantine: Quarantine, progress: Progress | None = None) -> RunOutcome:
    """Full run: rebuild the store's graph from one export directory, then analyse it."""
    progress = progress or SilentProgress()
    started = datetime.now(timezone.utc)
    run_id = new_run_id(started)
    clock = time.perf_counter()
    store.reset_graph()
    counts = ingest(path, store, settings, quarantine, progress)
    ingest_seconds = time.perf_counter() - clock
    extra = {"counts": counts, "inputs": [str(path)], "quarantined": quarantine.total}
    report = analyse(store, settings, progress, run_id, started, extra)
    timings = {"ingest_s": round(ingest_seconds, 2), "total_s": round(time.perf_counter() - clock, 2)}
    return RunOutcome(report=report, quarantine=quarantine.counts(), timings=timings)


def _clusters_of_two_or_more(communities: pd.DataFrame) -> pd.DataFrame:
    size = communities.groupby("community")["account_id"].transform("size")
    return communities[size >= 2].rename(columns={"community": "cluster"}).reset_index(drop=True)


def cluster_id_for(members: list[str]) -> str:
    """A deterministic id from the member set: the same group gets the same id on any store."""
    return "cl-" + xxhash.xxh64_hexdigest("\n".join(sorted(members)).encode())[:10]


def build_report(run_id, membership, scores, evidence, hubs, accounts, extra) -> tuple[dict, dict]:
    """The report contract, and the cluster id of each cluster number (for memberships)."""
    members = membership.groupby("cluster")["account_id"].apply(lambda s: sorted(s.astype(str)))
    clusters, ids = [], {}
    for cluster, row in scores.iterrows():
        accounts_in = members[cluster]
        ids[cluster] = cluster_id_for(accounts_in)
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
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "clusters": clusters,
        "summary": {
            "accounts": int(len(accounts)),
            "clusters": len(clusters),
            "flagged_clusters": len(flagged),
            "flagged_accounts": sum(c["size"] for c in flagged),
            "hubs": int(len(hubs)),
            "quarantined_rows": int(extra.get("quarantined", 0)),
        },
        "hubs": [
            {"kind": str(k), "value": str(v), "accounts": int(n)} for k, v, n in hubs.head(50).itertuples(index=False)
        ],
    }
    return report, ids
