"""``--engine spark``: the ingest half of ``run`` and ``refresh`` as Spark jobs.

The same contract as :func:`graphlinker.ingest.load.load_new` (the embedded engine), and the same
result: the store receives the same accounts, usage, totals and templates, and the run commits the
same ledger rows, event keys and grouper state. What runs where:

1. **driver**: each file's header is checked (a bad export fails before any job), files are cut into
   splits (:mod:`~graphlinker.engine.spark.splits`);
2. **Spark tasks**, one per split: reading and validation with the embedded code, event keys, and for
   requests the prompt fingerprints (:mod:`~graphlinker.engine.spark.tasks`), written as Parquet;
3. **Spark SQL**: requests already loaded (by event key) or repeated are dropped, the distinct
   normalised texts are grouped into templates (:mod:`~graphlinker.engine.spark.templates`), and
   usage (account, kind, value: count, first/last seen), per-account totals and per-template counts
   are aggregated — the tables the embedded engine builds, written as Parquet under the work directory;
4. **driver**: quarantine records and the small kinds (accounts, payments, identifiers) are taken in
   input order as the embedded engine takes them; the aggregated tables are merged into the store.
   Linking, detection, scoring and publishing then run as with the embedded engine.

The aggregated account graph is what stays on one machine (``docs/scaling.md`` has its size).
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from graphlinker.engine.spark.tasks import RECORD_DDL, TASK_INPUT_DDL, SplitJob, read_splits
from graphlinker.errors import ConfigError, InputError
from graphlinker.ingest.ledger import KEY_FORMAT, LEDGER_COLUMNS, LEGACY_KEY_FORMAT, InputFile, SeenKeys
from graphlinker.ingest.load import LoadedBatch, template_delta
from graphlinker.ingest.readers import Quarantine
from graphlinker.ingest.schema import SPECS, STR, TIMESTAMP
from graphlinker.ingest.usage import STATS_COLUMNS, USAGE_COLUMNS, UsageBuilder
from graphlinker.kinds import CLIENT, HOUR, IP, MODEL, SUBNET, TEMPLATE, TIME
from graphlinker.settings import Settings
from graphlinker.store.base import Store
from graphlinker.templates import TemplateIndex, grouper_from_settings, merge_run_templates

# usage kinds of a request row and the record column that holds each one's value
_ROW_KINDS = ((IP, "ip"), (SUBNET, "subnet"), (TEMPLATE, "template"), (TIME, "time"), (MODEL, "model"),
              (HOUR, "hour"), (CLIENT, "client"))


def load_new_spark(inputs: list[InputFile], store: Store, settings: Settings, quarantine: Quarantine, progress,
                   run_id: str) -> LoadedBatch:
    """Read the rows of ``inputs`` the store has not seen on Spark and merge them into its (staged) graph."""
    from graphlinker.engine.spark.session import spark_session

    if settings.templates.grouping == "minhash" and settings.templates.linkage != "single":
        raise ConfigError('templates.linkage = "leader" is not available with --engine spark: '
                          'the Spark engine groups with linkage = "single"')
    stored_templates = store.templates()
    grouper = grouper_from_settings(settings.templates)
    stored_parts = store.grouper_state()
    resumable = grouper.load_state(stored_parts)
    index = TemplateIndex.from_table(stored_templates, grouper=grouper)  # restores templates the state lacks
    known_slots = grouper.state() if grouper.slot_count else None  # every template known so far, in precedence order
    # the grouper's registrations so far: one per stored part (load_state), one for templates restored from the table
    loaded = [len(part["representative"]) for part in stored_parts] if resumable else []
    run_sizes = [*loaded, grouper.slot_count - sum(loaded)]
    seen = SeenKeys(store.seen_keys(KEY_FORMAT), legacy=store.seen_keys(LEGACY_KEY_FORMAT))
    if seen.migrating:
        raise InputError("this store holds event keys written before key format 1: refresh it once with --engine embedded "
                         "(or run a full `graphlinker run`) before using --engine spark")
    jobs = _plan(inputs, settings)
    spark = spark_session(settings.engine.master or None, settings.engine.shuffle_partitions)
    with _work_dir(settings) as work:
        with progress.stage(f"reading on Spark ({len(jobs)} splits)"):
            records = _read(spark, jobs, work)
        builder = UsageBuilder(settings, index)
        batch = LoadedBatch(counts={kind: 0 for kind in ("accounts", "payments", "identifiers", "requests")})
        with progress.stage("loading accounts, payments, identifiers"):
            taken = _take_small_kinds(records, inputs, builder, seen, quarantine)
        with progress.stage("aggregating requests on Spark") as advance:
            request_keys, new_part = _aggregate_requests(spark, records, seen, known_slots, run_sizes, settings, builder, work,
                                                         advance)
        if new_part is not None:
            reloaded = grouper_from_settings(settings.templates)
            reloaded.load_state([part for part in (known_slots, new_part) if part is not None])
            index.grouper = reloaded  # the new templates' signatures, for the table
            run_start = sum(run_sizes)  # the slots known before this run: every batch's come after
            starts = run_start + np.cumsum([0, *request_keys["batch_sizes"][:-1]])
            with progress.stage("merging templates"):  # across batches, as the embedded engine does across chunks
                builder.rename_templates(merge_run_templates(index, run_start, starts.tolist(),
                                                             enabled=settings.templates.merge_across_chunks))
            new_part = reloaded.state(since=run_start)
        rows_per_file = {i: (rows, request_keys["new_rows"].get(i, new)) for i, (rows, new) in taken.items()}
        batch.files = pd.DataFrame(
            [{"file_hash": item.file_hash, "name": str(item.path), "kind": item.kind, "rows": rows_per_file[i][0],
              "new_rows": rows_per_file[i][1], "run_id": run_id} for i, item in enumerate(inputs)],
            columns=LEDGER_COLUMNS).astype({"rows": "int64", "new_rows": "int64"})
        for i, item in enumerate(inputs):
            batch.counts[item.kind] += rows_per_file[i][1]
        batch.new_keys = np.sort(np.concatenate([seen.new_keys(), request_keys["keys"]]))
        if resumable and new_part is not None:
            batch.grouper = new_part
        elif resumable:
            batch.grouper = grouper.state(since=grouper.slot_count)
        if batch.new_rows:
            with progress.stage("writing graph"):
                store.merge_graph(builder.accounts(), builder.usage(), builder.stats(),
                                  template_delta(index.table(), stored_templates))
    return batch


def _plan(inputs: list[InputFile], settings: Settings) -> list[SplitJob]:
    """Every file's header checked, then cut into splits (JSON Lines parts are numbered by a counting job later)."""
    from graphlinker.engine.spark.splits import columns_for, plan_splits

    jobs = []
    for file_index, item in enumerate(inputs):
        columns = columns_for(item.kind, item.path, settings.inputs.max_prompt_chars)
        for split in plan_splits(item.kind, item.path, file_index, settings.engine.split_mb << 20):
            jobs.append(SplitJob(split, columns, settings, settings.inputs.chunk_rows, settings.inputs.max_prompt_chars))
    return jobs


def _read(spark, jobs: list[SplitJob], work: str):
    """Run every split's task (one Spark partition each) and keep their records as Parquet."""
    from graphlinker.engine.spark.splits import count_rows, number_splits

    unnumbered = [job for job in jobs if job.split.first_row == 0]
    if unnumbered:  # JSON Lines parts: count their lines in parallel, then number them
        counts = _spark_map(spark, [job.split for job in jobs], count_rows)
        numbered = number_splits([job.split for job in jobs], counts)
        for job, split in zip(jobs, numbered, strict=True):
            job.split = split
    blobs = [(pickle.dumps(job, protocol=5),) for job in jobs]
    frame = spark.createDataFrame(spark.sparkContext.parallelize(blobs, max(1, len(blobs))), TASK_INPUT_DDL)
    path = f"{work}/records"
    _action(lambda: frame.mapInArrow(read_splits, RECORD_DDL).write.mode("overwrite").parquet(path))
    return spark.read.parquet(path)


def _spark_map(spark, items: list, function) -> list:
    """``function`` of every item, one Spark task each, results in order."""
    rdd = spark.sparkContext.parallelize(list(enumerate(items)), max(1, len(items)))
    return [value for _, value in sorted(_action(lambda: rdd.map(lambda pair: (pair[0], function(pair[1]))).collect()))]


def _take_small_kinds(records, inputs: list[InputFile], builder: UsageBuilder, seen: SeenKeys,
                      quarantine: Quarantine) -> dict[int, tuple[int, int]]:
    """Quarantine records and split stats of every file, and the small kinds' validated chunks, taken in input
    order exactly as the embedded engine takes them. Returns (rows, new rows) per file of a small kind."""
    from pyspark.sql import functions as F

    from graphlinker.engine.spark.splits import no_usable_detail

    small = records.filter(F.col("record").isin("frame", "reject", "stat")) \
        .select("record", "file_index", "split_index", "seq", "payload")
    table = _action(lambda: small.toArrow()).sort_by([("file_index", "ascending"), ("split_index", "ascending"),
                                                      ("seq", "ascending")])
    add = {"accounts": builder.add_accounts, "payments": builder.add_payments, "identifiers": builder.add_identifiers}
    per_file: dict[int, dict] = {i: {"usable": 0, "stripped": Counter(), "rejected": 0, "new": 0} for i in range(len(inputs))}
    for record, file_index, payload in zip(table.column("record").to_pylist(), table.column("file_index").to_pylist(),
                                           table.column("payload").to_pylist(), strict=True):
        item, tally = inputs[file_index], per_file[file_index]
        value = pickle.loads(payload)
        if record == "reject":
            quarantine.add(item.kind, item.path, *value)
            tally["rejected"] += sum(len(part) for part in value)
        elif record == "stat":
            tally["usable"] += value["usable"]
            tally["stripped"].update(value["stripped"])
        else:
            fresh = seen.take_new_rows(item.kind, value)
            tally["new"] += int(fresh.sum())
            if fresh.any():
                add[item.kind](value[fresh].reset_index(drop=True))
    done = {}
    for i, item in enumerate(inputs):
        tally = per_file[i]
        quarantine.file_read(item.kind, item.path, tally["usable"], tally["stripped"])
        if SPECS[item.kind].file_required and not tally["usable"]:
            quarantine.no_usable_rows(item.kind, item.path, no_usable_detail(item.path, tally["usable"] + tally["rejected"]))
        done[i] = (tally["usable"], tally["new"])  # a requests file's new rows: counted by _aggregate_requests
    return done


def _aggregate_requests(spark, records, seen: SeenKeys, known_slots, run_sizes: list[int], settings: Settings,
                        builder: UsageBuilder, work: str, advance) -> tuple[dict, dict | None]:
    """New request rows → templates, usage and totals (Spark SQL), handed to ``builder`` and the template index."""
    from pyspark.sql import functions as F

    rows = records.filter(F.col("record") == "row")
    stored = seen.keys()
    if len(stored):
        keys = spark.createDataFrame(pa.table({"key": np.asarray(stored, dtype=np.uint64).view(np.int64)}))
        rows = rows.join(keys, "key", "left_anti")
    first = rows.groupBy("key").agg(F.min("order").alias("order"))
    rows = rows.join(first, ["key", "order"], "left_semi")  # an exact repeat counts once, as its first row
    rows_path = f"{work}/new_rows"
    _action(lambda: rows.drop("record", "signature", "shingles", "exemplar", "payload").write.mode("overwrite").parquet(rows_path))
    rows = spark.read.parquet(rows_path)

    # Each text once: its record from the chunk that holds its first new row (one record per text and chunk).
    live = (rows.groupBy("text_hash").agg(F.min(F.struct("order", "file_index", "split_index", "seq", "batch")).alias("first"))
            .select("text_hash", *[F.col(f"first.{name}").alias(name) for name in ("order", "file_index", "split_index", "seq",
                                                                                  "batch")])
            .withColumnRenamed("order", "first_order"))
    texts = (records.filter(F.col("record") == "text")
             .select("text_hash", "file_index", "split_index", "seq", "signature", "shingles", "exemplar")
             .join(live, ["text_hash", "file_index", "split_index", "seq"]))
    mapping, new_part, texts, batch_sizes = _group_in_batches(spark, texts, known_slots, run_sizes, settings, work, advance)
    mapping = mapping.withColumn("template", F.lower(F.lpad(F.hex("template_id"), 16, "0")))

    rows = rows.join(mapping, "text_hash")
    kinds = F.explode(F.array(*[F.struct(F.lit(kind).alias("kind"), F.col(column).alias("value"))
                                for kind, column in _ROW_KINDS]))
    usage = (rows.select("account_id", "ts", kinds.alias("usage"))
             .select("account_id", F.col("usage.kind").alias("kind"), F.col("usage.value").alias("value"), "ts")
             .filter(F.col("value").isNotNull())
             .groupBy("account_id", "kind", "value")
             .agg(F.count(F.lit(1)).alias("count"), F.min("ts").alias("first_seen"), F.max("ts").alias("last_seen")))
    stats = rows.groupBy("account_id").agg(F.count(F.lit(1)).alias("requests"), F.sum("input_tokens").alias("input_tokens"),
                                           F.sum("output_tokens").alias("output_tokens"))
    templates = (rows.groupBy("template_id", "template")
                 .agg(F.count(F.lit(1)).alias("prompt_count"), F.bit_or("bits").alias("bits"), F.min("order").alias("first_order"))
                 .join(_exemplars(texts, mapping), ["template_id", "first_order"], "left"))
    per_file = rows.groupBy("file_index").agg(F.count(F.lit(1)).alias("new_rows"))
    tables = {}
    for name, frame in (("usage", usage), ("stats", stats), ("templates", templates), ("per_file", per_file)):
        _action(lambda frame=frame, name=name: frame.write.mode("overwrite").parquet(f"{work}/{name}"))
        tables[name] = _action(lambda name=name: spark.read.parquet(f"{work}/{name}").toArrow())
    key_table = _action(lambda: rows.select("key").toArrow())

    builder.add_aggregates(_usage_frame(tables["usage"]), _stats_frame(tables["stats"]))
    tpl = tables["templates"].sort_by([("first_order", "ascending")])
    bits = np.asarray(tpl.column("bits").to_numpy(zero_copy_only=False), dtype=np.int64).view(np.uint64)
    exemplars = pa.array(tpl.column("exemplar").to_pylist(), pa.large_string()).fill_null("")
    builder.templates.add_aggregates(tpl.column("template").to_pylist(),
                                     tpl.column("prompt_count").to_numpy(zero_copy_only=False), bits, exemplars)
    new_rows = dict(zip(tables["per_file"].column("file_index").to_pylist(),
                        tables["per_file"].column("new_rows").to_pylist(), strict=True))
    keys = np.asarray(key_table.column("key").to_numpy(zero_copy_only=False), dtype=np.int64).view(np.uint64)
    return {"keys": keys, "new_rows": new_rows, "batch_sizes": batch_sizes}, new_part


def _group_in_batches(spark, texts, known_slots, run_sizes: list[int], settings: Settings, work: str, advance) -> tuple:
    """Group the distinct texts batch by batch, each resuming from the state the batches before it left.

    Single linkage chains more paraphrases in one large batch than in several small ones, so a batch is
    one of the embedded engine's chunks (``[inputs] chunk_rows`` rows of one file; a text is in the chunk
    of its first new row) and the templates are the embedded engine's. ``[engine] template_batch_chunks``
    groups several chunks at once: fewer Spark rounds, templates that differ (docs/scaling.md).
    """
    from functools import reduce

    from pyspark.sql import functions as F

    from graphlinker.engine.spark.templates import group_texts

    per_batch = settings.engine.template_batch_chunks
    texts = texts.withColumn("batch", F.floor(F.col("batch") / per_batch))
    path = f"{work}/texts_in_batches"
    _action(lambda: texts.select("file_index", "batch", "text_hash", "first_order", "signature", "shingles", "exemplar")
            .write.mode("overwrite").partitionBy("file_index", "batch").parquet(path))
    placed = spark.read.parquet(path) if _written(path) else None  # (no new text: nothing written)
    batches = sorted((row[0], row[1]) for row in _action(lambda: placed.select("file_index", "batch").distinct().collect())) \
        if placed is not None else []
    parts = [known_slots] if known_slots is not None else []
    mappings, new_parts = [], []
    for file_index, number in batches:
        chosen = placed.filter((F.col("file_index") == file_index) & (F.col("batch") == number))
        grouped = _action(lambda chosen=chosen, sizes=run_sizes: group_texts(
            spark, chosen.select("text_hash", "first_order", "signature", "shingles"), parts, settings.templates, sizes))
        mappings.append(grouped.mapping)
        if grouped.state is not None:
            parts.append(grouped.state)
            new_parts.append(grouped.state)
            representatives = int(grouped.state["representative"].sum())  # registered as two runs, as the embedded grouper does
            run_sizes = [*run_sizes, representatives, len(grouped.state["representative"]) - representatives]
        advance(1)
    mapping = reduce(lambda a, b: a.unionByName(b), mappings) if mappings else \
        spark.createDataFrame(pa.table({"text_hash": pa.array([], pa.int64()), "template_id": pa.array([], pa.int64())}))
    return mapping, _joined_parts(new_parts), placed, [len(part["representative"]) for part in new_parts]


def _exemplars(texts, mapping):
    """``(template_id, first_order, exemplar)`` of every new text (none when no text was new)."""
    from pyspark.sql import functions as F

    if texts is None:
        return mapping.select("template_id", F.lit(None).cast("long").alias("first_order"), F.lit(None).cast("string").alias("exemplar"))
    return texts.select("text_hash", "first_order", "exemplar").join(mapping, "text_hash").select("template_id", "first_order", "exemplar")


def _written(path: str) -> bool:
    """Whether a partitioned Parquet write left any data (Spark writes no partition for no rows)."""
    if "://" in path:
        return True
    return any(Path(path).glob("*=*"))


def _joined_parts(parts: list[dict]) -> dict | None:
    """Consecutive grouper state parts as one (slots in order), as the embedded grouper stores a run's slots."""
    if not parts:
        return None
    joined = {name: np.concatenate([part[name] for part in parts]) for name in ("signatures", "template_ids", "texts",
                                                                               "representative")}
    joined["settings"] = parts[0]["settings"]
    return joined


def _usage_frame(table: pa.Table) -> pd.DataFrame:
    """Spark's usage table with the embedded engine's dtypes."""
    frame = table.to_pandas()
    return pd.DataFrame({
        "account_id": frame["account_id"].astype(STR), "kind": frame["kind"].astype(STR), "value": frame["value"].astype(STR),
        "count": frame["count"].astype("int64"),
        "first_seen": pd.to_datetime(frame["first_seen"], utc=True).astype(TIMESTAMP),
        "last_seen": pd.to_datetime(frame["last_seen"], utc=True).astype(TIMESTAMP),
    })[USAGE_COLUMNS]


def _stats_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    return pd.DataFrame({"account_id": frame["account_id"].astype(STR), "requests": frame["requests"].astype("int64"),
                         "input_tokens": frame["input_tokens"].astype("int64"),
                         "output_tokens": frame["output_tokens"].astype("int64")})[STATS_COLUMNS]


@contextmanager
def _work_dir(settings: Settings):
    """Where this ingest's Spark tables go: under ``[engine] work_dir`` or a temporary directory; removed afterwards."""
    base = settings.engine.work_dir or None
    if base and "://" not in base:
        Path(base).mkdir(parents=True, exist_ok=True)
    if base and "://" in base:  # shared storage on a cluster (hdfs://, s3a://): Spark's own file system removes nothing here
        yield f"{base.rstrip('/')}/graphlinker-{uuid.uuid4().hex[:12]}"
        return
    path = tempfile.mkdtemp(prefix="graphlinker-spark-", dir=base)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _action(run):
    """Run a Spark action; an InputError raised inside a task (an input file gone or unreadable) stays one."""
    try:
        return run()
    except Exception as exc:  # Spark wraps task failures in Py4J/PySpark exceptions
        message = str(exc)
        marker = "graphlinker.errors.InputError: "
        if marker in message:
            raise InputError(message.split(marker, 1)[1].splitlines()[0]) from None
        raise
