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

from graphlinker.analysis.cluster_history import diff_runs
from graphlinker.analysis.detection import clusters_of_two_or_more, detect_communities
from graphlinker.analysis.evidence import cluster_evidence
from graphlinker.analysis.features import cluster_features, shared_identifier_kinds
from graphlinker.analysis.fragments import merge_fragments
from graphlinker.analysis.linking import link_accounts, linking_steps
from graphlinker.analysis.members import member_usage
from graphlinker.analysis.population import Population
from graphlinker.analysis.scoring import score_against_population
from graphlinker.analysis.verdicts import apply_verdicts
from graphlinker.analysis.waves import keep_waves_together
from graphlinker.engine import load_with_engine
from graphlinker.errors import NothingNew, StoreUnavailable
from graphlinker.ingest.ledger import export_inputs, resolve_inputs
from graphlinker.ingest.readers import Quarantine
from graphlinker.report.build import build_report, run_record
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


def _check_engine(store: Store, settings: Settings) -> None:
    """A detection engine the store or settings cannot serve fails before anything is loaded, not after."""
    detection = settings.detection
    if detection.engine == "gds":
        from graphlinker.analysis import gds_communities

        gds_communities.algorithm_config(detection.gds_algorithm, detection.seed, detection.resolution, detection.gds_concurrency)
        gds_communities.gds_of(store)


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
            linkage.edges, engine=detection.engine, seed=detection.seed, resolution=detection.resolution,
            store=store, gds_algorithm=detection.gds_algorithm, gds_concurrency=detection.gds_concurrency,  # engine "gds"
        )
        merge = detection.merge_fragments and linkage.vectors is not None
        if merge or detection.keep_waves_together:
            touching = linkage.touching()  # every linked pair, before each account kept its strongest links
            if merge:
                communities = merge_fragments(communities, touching, linkage.similarity,
                                              min_weight=settings.linking.min_edge_weight,
                                              ratio=detection.fragment_ratio)
            if detection.keep_waves_together:
                communities = keep_waves_together(communities, usage, touching, settings.linking.time_window_seconds,
                                                  detection.wave_alpha)
            del touching
    membership = clusters_of_two_or_more(communities)
    with progress.stage("scoring clusters"):
        rules = ExtractionRules.load()
        cluster_of = membership.set_index("account_id")["cluster"]
        members = member_usage(usage, cluster_of)  # once, for features and evidence
        population = Population.measure(stats, usage, settings.scoring.new_model_min_days)
        features = cluster_features(membership, usage, stats, accounts, templates, linkage.edges, rules.weights, settings,
                                    members=members, population=population)
        features, scores = score_against_population(features, cluster_of, population, settings,
                                                    shared_identifier_kinds(members).to_frame())
        evidence = cluster_evidence(membership, usage, linkage.edges, templates, accounts, features, linkage.kinds,
                                    members=members)
        del members
    report, cluster_ids = build_report(run_id, membership=membership, scores=scores, evidence=evidence, hubs=linkage.hubs,
                                       accounts=accounts, quarantined=int(extra.get("quarantined", 0)), previous=previous)
    report = apply_verdicts(report, store.verdicts())  # analysts' verdicts on the stable ids just assigned
    record = run_record(run_id, command=extra.get("command", "run"), started=started, finished=datetime.now(UTC),
                        inputs=extra.get("inputs", []), settings=settings.as_dict(),
                        counts={**extra.get("counts", {}), **report["summary"]})
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
    _check_engine(store, settings)
    progress = progress or SilentProgress()
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    clock = time.perf_counter()
    previous = store.latest_report()
    if rebuild:
        store.reset_graph()
    batch = load_with_engine(inputs, store, settings, quarantine, progress, run_id)
    if not rebuild and batch.new_rows == 0:
        raise NothingNew(f"nothing new: the {len(inputs)} new input file(s) hold only rows loaded before; the store is unchanged")
    ingest_seconds = time.perf_counter() - clock
    extra = {"counts": batch.counts, "inputs": batch.files.drop(columns="run_id").to_dict("records"),
             "quarantined": quarantine.total, "command": command}
    report = analyse(store, settings, progress, run_id, started, extra, previous, commit=batch.commit())
    timings = {"ingest_s": round(ingest_seconds, 2), "total_s": round(time.perf_counter() - clock, 2)}
    return RunOutcome(report=report, quarantine=quarantine.counts(), timings=timings,
                      diff=diff_runs(previous, report), new_rows=batch.new_rows)
