"""What runs inside Spark's Python workers: read one split, validate it, fingerprint its prompts.

Each task reads its part of an input file with the embedded reader and validators
(:mod:`graphlinker.engine.spark.splits`), so rows, values and quarantine reasons are those of the
embedded engine by construction. Raw prompts exist only in the task's memory: a request leaves it
as its event key, the values of its behavioural kinds, the xxhash64 of its normalised text and its
tag mask; each distinct normalised text as its hash, MinHash signature and the redacted exemplar of
its first prompt. Bad rows leave it already redacted (:func:`graphlinker.ingest.quarantine.redact`).

Records share one schema (:data:`RECORD_SCHEMA`) told apart by ``record``:

* ``row``: one request (requests splits only), with ``batch``, the embedded reader's chunk of its file;
* ``text``: one distinct normalised text of a chunk, with the order of its first row;
* ``frame``: a validated chunk of a small kind (accounts, payments, identifiers), pickled, for the
  driver to load as the embedded engine does;
* ``reject``: a chunk's quarantine records (redacted), pickled;
* ``stat``: the split's usable rows and ids stripped of whitespace, pickled.

``order`` places every row in input order: file, split, position (:func:`order_of`).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

RECORD_SCHEMA = pa.schema([
    ("record", pa.string()),
    ("file_index", pa.int32()),
    ("split_index", pa.int32()),
    ("seq", pa.int64()),
    ("order", pa.int64()),
    ("batch", pa.int64()),
    ("key", pa.int64()),
    ("account_id", pa.string()),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("ip", pa.string()),
    ("subnet", pa.string()),
    ("time", pa.string()),
    ("model", pa.string()),
    ("hour", pa.string()),
    ("client", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("text_hash", pa.int64()),
    ("bits", pa.int64()),
    ("signature", pa.binary()),
    ("shingles", pa.binary()),
    ("exemplar", pa.string()),
    ("payload", pa.binary()),
])
RECORD_DDL = ("record string, file_index int, split_index int, seq long, order long, batch long, key long, account_id string, "
              "ts timestamp, ip string, subnet string, time string, model string, hour string, client string, "
              "input_tokens long, output_tokens long, text_hash long, bits long, signature binary, shingles binary, exemplar string, "
              "payload binary")
TASK_INPUT_DDL = "job binary"
_SPLIT_BITS, _POSITION_BITS = 16, 32


def order_of(file_index: int, split_index: int, positions: np.ndarray) -> np.ndarray:
    """One int64 per row that sorts rows in input order: file, then split, then position in the split."""
    if file_index >= 1 << (63 - _SPLIT_BITS - _POSITION_BITS) or split_index >= 1 << _SPLIT_BITS:
        raise ValueError(f"too many input files or splits for the row order ({file_index}, {split_index})")
    base = (file_index << (_SPLIT_BITS + _POSITION_BITS)) | (split_index << _POSITION_BITS)
    return base + np.asarray(positions, dtype=np.int64)


def as_signed(values: np.ndarray) -> np.ndarray:
    """uint64 hashes as the int64 Spark holds (same bits)."""
    return np.asarray(values, dtype=np.uint64).view(np.int64)


def _records(record: str, split, seq: int, n: int, **columns) -> pa.RecordBatch:
    """A batch of ``n`` records of one kind; columns not given are null."""
    arrays = []
    fixed = {"record": pa.array([record] * n, pa.string()), "file_index": pa.array([split.file_index] * n, pa.int32()),
             "split_index": pa.array([split.index] * n, pa.int32()), "seq": pa.array([seq] * n, pa.int64())}
    for field in RECORD_SCHEMA:
        if field.name in fixed:
            arrays.append(fixed[field.name])
        elif field.name in columns:
            arrays.append(pa.array(columns[field.name], type=field.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=RECORD_SCHEMA)


def _payload(record: str, split, seq: int, value) -> pa.RecordBatch:
    return _records(record, split, seq, 1, payload=[pickle.dumps(value, protocol=5)])


def read_splits(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: every job (a pickled :class:`SplitJob`) of the partition, read and fingerprinted."""
    for batch in batches:
        for blob in batch.column(0).to_pylist():
            yield from pickle.loads(blob).run()


class SplitJob:
    """One split and what reading it needs (pickled to the task)."""

    def __init__(self, split, columns: dict[str, str], settings, chunk_rows: int, max_prompt_chars: int):
        self.split, self.columns, self.settings = split, columns, settings
        self.chunk_rows, self.max_prompt_chars = chunk_rows, max_prompt_chars

    def run(self) -> Iterator[pa.RecordBatch]:
        from graphlinker.engine.spark.splits import SplitReader

        split = self.split
        reader = SplitReader(split, self.columns, chunk_rows=self.chunk_rows, max_prompt_chars=self.max_prompt_chars)
        requests = split.kind == "requests"
        fingerprint = PromptFingerprints(self.settings) if requests else None
        position = seq = 0
        for frame in reader.chunks():
            rejects = reader.take_rejects()
            if rejects:
                yield _payload("reject", split, seq, rejects)
            positions = np.arange(position, position + len(frame), dtype=np.int64)
            position += len(frame)
            if fingerprint is not None:
                order = order_of(split.file_index, split.index, positions)
                yield from fingerprint.records(frame, split, seq, order, reader.chunk_index)
            else:
                yield _payload("frame", split, seq, frame)
            seq += 1
        rejects = reader.take_rejects()
        if rejects:
            yield _payload("reject", split, seq, rejects)
        yield _payload("stat", split, seq + 1, {"usable": reader.usable, "stripped": dict(reader.stripped)})


class PromptFingerprints:
    """A request chunk as ``row`` and ``text`` records: the only place a Spark task touches prompt text."""

    def __init__(self, settings):
        from graphlinker.templates import ExtractionRules, grouper_from_settings

        self.settings = settings
        self.rules = ExtractionRules.load()
        self.grouper = grouper_from_settings(settings.templates)

    def records(self, requests: pd.DataFrame, split, seq: int, order: np.ndarray, chunk: int) -> Iterator[pa.RecordBatch]:
        """``chunk``: the embedded reader's chunk of the file these rows are in (templates are grouped by it)."""
        from graphlinker.ingest.ledger import event_keys
        from graphlinker.ingest.usage import request_values
        from graphlinker.kinds import CLIENT, HOUR, IP, MODEL, SUBNET, TIME
        from graphlinker.templates import exemplars_of
        from graphlinker.templates.normalise import TEXT_DTYPE, as_text, fold_and_mask

        text = as_text(requests["prompt"])
        row_raw, raw = pd.factorize(text)  # as TemplateIndex.assign: unique raw prompts, in order of first appearance
        raw = pd.Series(raw, dtype=TEXT_DTYPE)
        folded, masked = fold_and_mask(raw)
        raw_bits = self.rules.bits_of_folded(folded)
        del folded
        raw_norm, norm = pd.factorize(masked)
        norm_hash = _text_hashes(list(norm))
        first_raw_of_norm = np.unique(raw_norm, return_index=True)[1]  # raw uniques keep row order
        first_row_of_raw = np.unique(row_raw, return_index=True)[1]
        fingerprints = self._fingerprints(list(norm))
        exemplars = exemplars_of(raw.iloc[first_raw_of_norm])
        text_order = order[first_row_of_raw[first_raw_of_norm]]

        values = request_values(requests, self.settings)
        ts = requests["ts"].dt.floor("ms")
        yield _records(
            "row", split, seq, len(requests),
            order=order, batch=np.full(len(requests), chunk, dtype=np.int64), key=as_signed(event_keys("requests", requests)),
            account_id=requests["account_id"].astype(object), ts=ts,
            ip=values[IP].astype(object), subnet=values[SUBNET].astype(object), time=values[TIME].astype(object),
            model=values[MODEL].astype(object), hour=values[HOUR].astype(object), client=values[CLIENT].astype(object),
            input_tokens=requests["input_tokens"].fillna(0).astype("int64"),
            output_tokens=requests["output_tokens"].fillna(0).astype("int64"),
            text_hash=as_signed(norm_hash[raw_norm[row_raw]]), bits=as_signed(raw_bits[row_raw]),
        )
        yield _records("text", split, seq, len(norm_hash), order=text_order, text_hash=as_signed(norm_hash),
                       exemplar=exemplars, **fingerprints)

    def _fingerprints(self, texts: list[str]) -> dict[str, pa.Array]:
        """Each text's MinHash signature and shingle hashes (little-endian bytes), from one shingling, as the
        embedded grouper computes them; nothing for the exact grouper."""
        from graphlinker.templates.minhash import MinHashGrouper
        from graphlinker.templates.shingles import shingles
        from graphlinker.templates.signatures import minhash_into

        grouper = self.grouper
        if not isinstance(grouper, MinHashGrouper):
            return {}
        sh = shingles(texts, grouper.shingle)
        signatures = np.empty((len(texts), grouper.num_perm), dtype=np.uint32)
        minhash_into(sh, grouper._a, grouper._b, signatures)
        width = grouper.num_perm * 4
        offsets = pa.py_buffer((np.arange(len(texts) + 1, dtype=np.int32) * width).tobytes())
        signature = pa.Array.from_buffers(pa.binary(), len(texts), [None, offsets, pa.py_buffer(signatures.astype("<u4").tobytes())])
        shingle_offsets = pa.py_buffer((np.asarray(sh.indptr, dtype=np.int64) * 8).astype(np.int32).tobytes())
        hashes = pa.py_buffer(np.asarray(sh.hashes, dtype="<u8").tobytes())
        return {"signature": signature, "shingles": pa.Array.from_buffers(pa.binary(), len(texts), [None, shingle_offsets, hashes])}


def _text_hashes(texts: list[str]) -> np.ndarray:
    """xxhash64 of each normalised text: the bits of the embedded template id, computed as the embedded
    grouper computes them (:func:`graphlinker.templates.utf8.xxh64`, over the texts' UTF-8 buffers)."""
    from graphlinker.templates.fingerprint import SEED
    from graphlinker.templates.utf8 import utf8_buffers, xxh64

    return xxh64(*utf8_buffers(pa.array(texts, pa.large_string())), SEED)
