"""Chunked readers, one per file format, all yielding the same thing: raw column chunks.

The requests file holds tens of millions of rows, so every reader streams: memory is
bounded by ``chunk_rows`` (plus one parser block), never by file size. Readers do not
interpret values (validate.py does); they only deliver columns, exact 1-based row
numbers, and the rows that could not be parsed at all (which go to quarantine).

Row numbers: CSV → data record number (header excluded; a quoted multi-line value is
one record); JSON Lines → line number; Parquet → row position + 1.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ..errors import InputError
from .schema import normalise_name

CSV_BLOCK_BYTES = 1 << 20  # pyarrow CSV block; the reader keeps ~30 blocks in flight, so keep it small
JSON_BLOCK_BYTES = 4 << 20  # pyarrow JSON block; a longer single line takes the slow path
_PEEK_LINES = 1000  # JSON Lines has no header: the first lines' keys stand in for one
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # starts with a literal so the scan is fast
_READ_ERRORS = (OSError, EOFError, zlib.error, pa.ArrowException, UnicodeDecodeError, csv.Error)


@dataclass
class RawChunk:
    """Raw values of one chunk: canonical column names, any dtype, plus unparsable rows."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)


def _safe_message(exc: BaseException) -> str:
    """An error message without row content: parser messages may quote a row (and its prompt)."""
    text = (str(exc).splitlines() or [""])[0]
    text = re.sub(r"(columns, got \d+):.*", r"\1", text)[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def reading(path: Path, what: str = "read"):
    """Turn a parser/IO failure into an InputError naming the file (no traceback, no row text)."""
    try:
        yield
    except InputError:
        raise
    except _READ_ERRORS as exc:
        raise InputError(f"{path}: cannot be {what} ({_safe_message(exc)})") from None


def _int_mapper(arrow_type: pa.DataType):
    """Arrow integers become nullable Int64 (not float64 with NaN, which would turn 12 into 12.0)."""
    if pa.types.is_integer(arrow_type) and not pa.types.is_uint64(arrow_type):
        return pd.Int64Dtype()
    return None


def arrow_to_frame(table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """Arrow → pandas with dictionary columns decoded and integers kept exact."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        columns.append(col)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    frame = table.to_pandas(types_mapper=_int_mapper, date_as_object=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _reject_frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows)


def _decode_utf8(values: list) -> tuple[list, np.ndarray]:
    """Slow path for a column holding invalid UTF-8: decode with replacement, flag those rows."""
    out, ok = [], np.ones(len(values), dtype=bool)
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(value.decode("utf-8", "replace"))
            ok[i] = False
    return out, ok


class CsvSource:
    """CSV (optionally gzip) via pyarrow's streaming reader, every column read as bytes.

    Reading as bytes (not inferred types) keeps ``00123`` and ``NA`` literal, makes a later
    block's surprise type impossible, and lets one invalid UTF-8 value quarantine one row
    instead of killing the run. Rows with the wrong number of fields are skipped by
    pyarrow's invalid-row handler and quarantined as ``malformed_row``.
    """

    found_label = "found"
    keys_vary = False

    def __init__(self, path: Path):
        self.path = path
        self.compression = "gzip" if path.name.lower().endswith(".gz") else None
        self.header = self._read_header()

    def _open_binary(self):
        return gzip.open(self.path, "rb") if self.compression else open(self.path, "rb")

    def _read_header(self) -> list[str]:
        """The first record only (read line by line, so a bad byte further down cannot interfere)."""
        with reading(self.path), self._open_binary() as raw:
            text = ""
            while True:
                line = raw.readline()
                text += line.decode("utf-8")
                if not line or text.count('"') % 2 == 0:
                    break
        text = text.lstrip("\ufeff")
        if not text.strip():
            raise InputError(f"{self.path}: empty file (no header row)")
        with reading(self.path):
            return next(csv.reader(io.StringIO(text)))

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        rename = {original: canonical for canonical, original in wanted.items()}
        originals = list(rename)
        skipped: list[int] = []  # data row numbers of malformed rows, ascending
        pending: list[dict] = []  # their quarantine records, not yet handed out

        def on_invalid(row) -> str:
            number = row.number - 1 if row.number is not None else None  # pyarrow counts the header
            if number is not None:
                skipped.append(number)
            pending.append({"row_number": number, "reason": "malformed_row", "raw": row.text})
            return "skip"

        with reading(self.path):
            stream = pa.input_stream(str(self.path), compression=self.compression)
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    include_columns=originals, column_types={name: pa.binary() for name in originals}
                ),
            )
            kept = 0
            try:
                for table in _rebatch(reader, chunk_rows):
                    k = np.arange(kept + 1, kept + table.num_rows + 1, dtype=np.int64)
                    kept += table.num_rows
                    # The k-th kept row is data row k + (number of malformed rows before it).
                    t = np.asarray(skipped, dtype=np.int64) - np.arange(len(skipped), dtype=np.int64)
                    numbers = k + np.searchsorted(t, k, side="right")
                    last = int(numbers[-1])
                    due = [r for r in pending if r["row_number"] is None or r["row_number"] <= last]
                    pending[:] = [r for r in pending if not (r["row_number"] is None or r["row_number"] <= last)]
                    yield self._decode(table, rename, numbers, due)
                if pending:
                    yield RawChunk(pd.DataFrame(columns=list(wanted)), np.zeros(0, np.int64), _reject_frame(pending))
            finally:
                stream.close()

    @staticmethod
    def _decode(table: pa.Table, rename: dict[str, str], numbers: np.ndarray, rejects: list[dict]) -> RawChunk:
        arrays, ok = [], np.ones(table.num_rows, dtype=bool)
        for col in table.columns:
            try:
                arrays.append(col.cast(pa.string()))
            except pa.ArrowInvalid:
                values, col_ok = _decode_utf8(col.to_pylist())
                arrays.append(pa.chunked_array([pa.array(values, pa.string())]))
                ok &= col_ok
        frame = arrow_to_frame(pa.Table.from_arrays(arrays, names=[rename[n] for n in table.column_names]))
        if not ok.all():
            bad = frame[~ok].copy()
            bad.insert(0, "reason", "invalid_encoding")
            bad.insert(0, "row_number", numbers[~ok])
            rejects = rejects + bad.to_dict("records")
            frame = frame[ok].reset_index(drop=True)
            numbers = numbers[ok]
        return RawChunk(frame, numbers, _reject_frame(rejects))


def _rebatch(batches, rows: int) -> Iterator[pa.Table]:
    """Regroup parser blocks (sized in bytes) into tables of exactly ``rows`` rows (the last may be shorter)."""
    buffer: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        buffer.append(batch)
        size += batch.num_rows
        while size >= rows:
            table = pa.Table.from_batches(buffer)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            buffer = [b for b in rest.to_batches() if b.num_rows]
            size = rest.num_rows
    if size:
        yield pa.Table.from_batches(buffer)


class JsonlSource:
    """JSON Lines (optionally gzip), ``chunk_rows`` lines at a time.

    Fast path: pyarrow parses the whole chunk. If it refuses (a malformed line, a key whose
    type changes between lines, invalid UTF-8) the chunk is re-parsed line by line with
    ``json`` so only the offending lines are quarantined and the rest are kept.
    """

    found_label = f"found (keys of the first {_PEEK_LINES} lines)"
    keys_vary = True  # a key absent from the first lines may still appear later

    def __init__(self, path: Path):
        self.path = path
        self.compressed = path.name.lower().endswith(".gz")
        self.header = self._peek_keys()
        self._as_text: dict[str, pa.DataType] = {}  # JSON keys always read as text

    def _open(self):
        return gzip.open(self.path, "rb") if self.compressed else open(self.path, "rb")

    def _peek_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        with reading(self.path), self._open() as handle:
            seen = 0
            for line in handle:
                if not line.strip():
                    continue
                seen += 1
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    keys.update(dict.fromkeys(record))
                if seen >= _PEEK_LINES:
                    break
        self.empty = seen == 0
        # Lines may spell a key differently (they are merged when read): one spelling per name.
        by_name: dict[str, str] = {}
        for key in keys:
            by_name.setdefault(normalise_name(key), key)
        return list(by_name.values())

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        names = list(wanted)
        with reading(self.path), self._open() as handle:
            first_line = 1
            while True:
                lines = list(islice(handle, chunk_rows))
                if not lines:
                    break
                count, blank_last = len(lines), not lines[-1].strip()
                buf = b"".join(lines)
                del lines  # hold the chunk once, not twice
                yield self._chunk(buf, count, blank_last, first_line, names)
                first_line += count

    def _chunk(self, buf: bytes, count: int, blank_last: bool, first_line: int, names: list[str]) -> RawChunk:
        lines = None
        if blank_last or _BLANK_LINE.search(b"\n" + buf):  # rare: number the non-blank lines one by one
            lines = buf.split(b"\n")[:count]
            index = np.array([i for i, line in enumerate(lines) if line.strip()], dtype=np.int64)
        else:
            index = np.arange(count, dtype=np.int64)
        numbers = first_line + index
        table = self._fast_parse(buf, names)
        if table is not None and table.num_rows == len(index):
            return RawChunk(_select(arrow_to_frame(table), names), numbers)
        lines = buf.split(b"\n")[:count] if lines is None else lines
        return self._slow_chunk([lines[i] for i in index], numbers, names)

    def _fast_parse(self, buf: bytes, names: list[str]) -> pa.Table | None:
        """pyarrow's parse, or None when only the line-by-line path can cope.

        pyarrow turns ISO-looking strings into timestamps, losing their spelling (and
        offset) for the quarantine record; such keys are re-read as text, and remembered.
        """
        for _ in range(2):
            schema = pa.schema(list(self._as_text.items())) if self._as_text else None
            try:
                table = pajson.read_json(
                    io.BytesIO(buf),
                    read_options=pajson.ReadOptions(block_size=JSON_BLOCK_BYTES),
                    parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
                )
            except pa.ArrowInvalid:
                return None
            stamped = [
                field.name
                for field in table.schema
                if pa.types.is_timestamp(field.type) and normalise_name(field.name) in names
            ]
            if not stamped:
                try:  # pyarrow's JSON reader does not check UTF-8; invalid bytes go the slow path
                    for field in table.schema:
                        if normalise_name(field.name) in names:
                            table.column(field.name).validate(full=True)
                except pa.ArrowInvalid:
                    return None
                return table
            self._as_text.update({name: pa.string() for name in stamped})
        return None

    @staticmethod
    def _slow_chunk(lines: list[bytes], numbers: np.ndarray, names: list[str]) -> RawChunk:
        records, kept, rejects = [], [], []
        for line, number in zip(lines, numbers.tolist()):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                rejects.append({"row_number": number, "reason": "invalid_encoding", "raw": line})
                continue
            try:
                record = json.loads(text)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                rejects.append({"row_number": number, "reason": "malformed_row", "raw": text})
                continue
            records.append(record)
            kept.append(number)
        frame = pd.DataFrame(records, dtype=object) if records else pd.DataFrame(index=pd.RangeIndex(0))
        return RawChunk(_select(frame, names), np.asarray(kept, dtype=np.int64), _reject_frame(rejects))


def _select(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Keep the wanted columns by case-insensitive name; JSON keys spelled two ways are merged."""
    groups: dict[str, list[str]] = {}
    for column in frame.columns:
        key = normalise_name(column)
        if key in names:
            groups.setdefault(key, []).append(column)
    out = {}
    for name, columns in groups.items():
        series = frame[columns[0]]
        for other in columns[1:]:
            series = series.astype(object).combine_first(frame[other].astype(object))
        out[name] = series
    return pd.DataFrame(out, index=frame.index)


class ParquetSource:
    """Parquet via ``iter_batches``: typed columns (timestamps, ints) pass through as they are."""

    found_label = "found"
    keys_vary = False

    def __init__(self, path: Path):
        self.path = path
        with reading(self.path):
            self.header = list(pq.read_schema(path).names)

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        rename = {original: canonical for canonical, original in wanted.items()}
        # Buffered page reads (no whole-column pre-buffering): memory follows the batch, not the
        # row group, as far as pyarrow allows (a row group's pages still get decoded in turn).
        with reading(self.path), pq.ParquetFile(self.path, buffer_size=1 << 20, pre_buffer=False) as parquet:
            start = 1
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=list(rename)):
                if batch.num_rows == 0:
                    continue
                frame = arrow_to_frame(batch).rename(columns=rename)
                yield RawChunk(frame, np.arange(start, start + batch.num_rows, dtype=np.int64))
                start += batch.num_rows


def open_source(path: Path) -> CsvSource | JsonlSource | ParquetSource:
    """The reader for ``path``, chosen by suffix; the header/schema is read now (fail fast)."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return CsvSource(path)
    if name.endswith((".jsonl", ".jsonl.gz")):
        return JsonlSource(path)
    if name.endswith(".parquet"):
        return ParquetSource(path)
    raise InputError(f"{path}: unsupported input format")
