"""Loading only what a store has not seen: the ingest half of ``run`` and ``refresh``.

A full ``run`` is a refresh into an emptied graph, so both share this code and a
refresh of every time slice in order builds the graph one full run would:

1. input files whose content hash the store's ledger holds are skipped;
2. rows whose event key (:mod:`graphlinker.ingest.ledger`) the store has seen are skipped (in a store written
   before key format 1, also rows whose format-0 key it holds: ``SeenKeys``);
3. the new rows become *delta* aggregates (usage counts, per-account totals,
   template counts) that the store adds to what it holds (``merge_graph``);
4. prompts are grouped by a template grouper resumed from its stored state (every
   registered text's MinHash signature, in order; ``MinHashGrouper.state``), so a
   paraphrase arriving next week joins this week's template exactly as in one run.

The ledger rows and new keys are committed with the run (``publish_run``), never before,
so a crash leaves them unrecorded and the next attempt loads the same rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphlinker.ingest.ledger import (
    KEY_FORMAT,
    LEDGER_COLUMNS,
    LEGACY_KEY_FORMAT,
    Commit,
    InputFile,
    SeenKeys,
    check_legacy_keys_computable,
)
from graphlinker.ingest.readers import ExportReader, Quarantine
from graphlinker.ingest.usage import UsageBuilder
from graphlinker.settings import Settings
from graphlinker.store.base import Store
from graphlinker.templates import TemplateIndex, grouper_from_settings, merge_run_templates
from graphlinker.templates.table import conform


@dataclass
class LoadedBatch:
    """What one ingest added: per-kind row counts, the ledger rows of its files and the new event keys."""

    counts: dict = field(default_factory=dict)
    files: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LEDGER_COLUMNS))
    new_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    grouper: dict | None = None  # the grouper's new slots (MinHashGrouper.state), or None

    def commit(self) -> Commit:
        return Commit(self.files, self.new_keys, self.grouper)

    @property
    def new_rows(self) -> int:
        return int(self.files["new_rows"].sum()) if len(self.files) else 0


def template_delta(cumulative: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The rows of a resumed index's table that this ingest added to (prompt counts minus those ``before``)."""
    cumulative = conform(cumulative)
    old = conform(before).set_index("template_id")["prompt_count"]
    added = cumulative["prompt_count"] - cumulative["template_id"].map(old).fillna(0).astype("int64")
    return cumulative.assign(prompt_count=added)[added > 0].reset_index(drop=True)


def load_new(inputs: list[InputFile], store: Store, settings: Settings, quarantine: Quarantine, progress, run_id: str) -> LoadedBatch:
    """Read the rows of ``inputs`` the store has not seen and merge them into its (staged) graph."""
    config = settings.inputs
    stored_templates = store.templates()
    grouper = grouper_from_settings(settings.templates)
    resumable = grouper.load_state(store.grouper_state())
    slots_before = grouper.slot_count if resumable else 0
    index = TemplateIndex.from_table(stored_templates, grouper=grouper)  # known ids are skipped by restore
    run_start = grouper.slot_count  # this run's slots come after
    builder = UsageBuilder(settings, index)
    add = {"accounts": builder.add_accounts, "payments": builder.add_payments,
           "identifiers": builder.add_identifiers, "requests": builder.add_requests}
    seen = SeenKeys(store.seen_keys(KEY_FORMAT), legacy=store.seen_keys(LEGACY_KEY_FORMAT))
    if seen.migrating:  # a store written before key format 1: its rows are known by format-0 keys too
        check_legacy_keys_computable()
    batch = LoadedBatch(counts={kind: 0 for kind in add})
    ledger_rows = []
    for item in inputs:
        reader = ExportReader(item.path.parent, quarantine, chunk_rows=config.chunk_rows,
                              max_prompt_chars=config.max_prompt_chars, files={item.kind: item.path})
        rows = new_rows = 0
        with progress.stage(f"reading {item.kind} ({item.path.name})") as advance:
            for chunk in reader.chunks(item.kind):
                fresh = seen.take_new_rows(item.kind, chunk)
                rows += len(chunk)
                new_rows += int(fresh.sum())
                if fresh.any():
                    add[item.kind](chunk[fresh].reset_index(drop=True))
                advance(len(chunk))
        batch.counts[item.kind] += new_rows
        ledger_rows.append({"file_hash": item.file_hash, "name": str(item.path), "kind": item.kind,
                            "rows": rows, "new_rows": new_rows, "run_id": run_id})
    batch.files = pd.DataFrame(ledger_rows, columns=LEDGER_COLUMNS).astype({"rows": "int64", "new_rows": "int64"})
    with progress.stage("merging templates"):  # across chunks: 18 s of a 5M-row run, in no stage before
        builder.rename_templates(merge_run_templates(index, run_start, enabled=settings.templates.merge_across_chunks))
    if resumable:
        batch.grouper = grouper.state(since=slots_before)
    batch.new_keys = seen.new_keys()
    if batch.new_rows:
        with progress.stage("writing graph"):
            store.merge_graph(builder.accounts(), builder.usage(), builder.stats(),
                              template_delta(builder.templates.table(), stored_templates))
    return batch
