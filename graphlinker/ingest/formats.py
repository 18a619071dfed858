"""Chunked readers, one per file format, all yielding the same thing: raw column chunks.

The requests file holds tens of millions of rows, so every reader streams: memory is
bounded by ``chunk_rows`` (plus one parser block), never by file size. Readers do not
interpret values (validate.py does); they only deliver columns, exact 1-based row
numbers, and the rows that could not be parsed at all (which go to quarantine).

Row numbers: CSV → data record number (header excluded; a quoted multi-line value is
one record); JSON Lines → line number; Parquet → row position + 1.

A CSV record of any length is one quarantined row, never a failed file: when pyarrow gives
up on a record longer than its block, the file is read again through ``LongRowFilter``,
which streams such records past (memory stays bounded) and reports each with its reason.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
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

from graphlinker.errors import InputError
from graphlinker.ingest.schema import normalise_name

CSV_BLOCK_BYTES = 1 << 20  # pyarrow CSV block; the reader keeps ~30 blocks in flight, so keep it small
CSV_ROW_SLACK = 64 << 10  # room for a row's other fields beside a prompt at the limit (csv_block_bytes)
_CUT_FIELD_BYTES = 1024  # a cut row's short contract fields (account_id, ts, ...) up to this size go to quarantine
JSON_BLOCK_BYTES = 4 << 20  # pyarrow JSON block; a longer single line takes the slow path
_PEEK_LINES = 1000  # JSON Lines has no header: the first lines' keys stand in for one
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # starts with a literal so the scan is fast
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a JSON escape of a UTF-16 surrogate
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


class Fingerprint:
    """Length and SHA-256 of a value too long to hold (a cut CSV row): what the quarantine writes for it."""

    __slots__ = ("chars", "sha256")

    def __init__(self, chars: int, sha256: str):
        self.chars, self.sha256 = chars, sha256

    def __repr__(self) -> str:
        return f"Fingerprint({self.chars} chars, sha256 {self.sha256[:12]}...)"


def csv_block_bytes(max_prompt_chars: int | None = None) -> int:
    """pyarrow's CSV block: 1 MiB, or more when the prompt limit allows rows that long (4 bytes a character)."""
    if max_prompt_chars is None:
        return CSV_BLOCK_BYTES
    need = 2 * (4 * int(max_prompt_chars) + CSV_ROW_SLACK)
    return max(CSV_BLOCK_BYTES, -(-need // (64 << 10)) * (64 << 10))


class _CutRow:
    """A CSV record longer than the filter's limit, being skipped: its head, size and digest (bounded memory)."""

    def __init__(self, number: int, limit: int):
        self.number = number
        self.limit = limit
        self.head = bytearray()
        self._sha = hashlib.sha256()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.chars = 0

    def add(self, piece: bytes) -> None:
        self._sha.update(piece)
        self.chars += len(self._decoder.decode(piece))
        if len(self.head) < self.limit:
            self.head += piece[: self.limit - len(self.head)]

    def finish(self) -> Fingerprint:
        self.chars += len(self._decoder.decode(b"", final=True))
        return Fingerprint(self.chars, self._sha.hexdigest())


def _quote_state(segment: bytes, in_quotes: bool, at_start: bool) -> bool:
    """Whether a record is inside a quoted field after ``segment``, with pyarrow's CSV rules.

    A quote opens a quoted field only at the start of a field (the record's start or right after a comma);
    inside one, ``""`` is a literal quote and any other quote closes it; elsewhere a quote is literal.
    """
    pos, n = 0, len(segment)
    while True:
        q = segment.find(b'"', pos)
        if q < 0:
            return in_quotes
        if in_quotes:
            if q + 1 < n and segment[q + 1] == 0x22:
                pos = q + 2
                continue
            in_quotes = False
        elif (q == 0 and at_start) or (q > 0 and segment[q - 1] == 0x2C):
            in_quotes = True
        pos = q + 1


def _head_fields(head: bytes) -> list[bytes]:
    """The fields at the start of a record (the last one cut short where ``head`` ends), unquoted."""
    fields: list[bytes] = []
    pos, n = 0, len(head)
    while True:
        if pos < n and head[pos] == 0x22:
            value, p = bytearray(), pos + 1
            while True:
                q = head.find(b'"', p)
                if q < 0:
                    fields.append(bytes(value + head[p:]))
                    return fields
                if q + 1 < n and head[q + 1] == 0x22:
                    value += head[p : q + 1]
                    p = q + 2
                    continue
                value += head[p:q]
                p = q + 1
                break
            comma = head.find(b",", p)
            if comma < 0:
                fields.append(bytes(value + head[p:]))
                return fields
            fields.append(bytes(value + head[p:comma]))
            pos = comma + 1
        else:
            comma = head.find(b",", pos)
            if comma < 0:
                fields.append(head[pos:])
                return fields
            fields.append(head[pos:comma])
            pos = comma + 1


class LongRowFilter(io.RawIOBase):
    """A CSV byte stream without its records longer than ``limit`` bytes, which are noted in ``cuts``.

    pyarrow's streaming CSV reader cannot parse a record longer than about its block size
    ("straddling object straddles two block boundaries") and then gives up on the whole file. This filter
    sits between the file and pyarrow: it follows record boundaries the way pyarrow does (a quote opens a
    quoted field only at a field's start; ``""`` escapes; LF, CR or CRLF end a record outside quotes; empty
    lines are not records) and drops each overlong record, keeping only its head (``limit`` bytes, to name
    the field that made it long), its length and SHA-256. Memory stays within a few blocks whatever the
    record's length. Records are numbered like the reader's rows: the header is 0, data records from 1.
    """

    def __init__(self, raw, limit: int, read_bytes: int = 1 << 20):
        self._raw = raw
        self.limit = int(limit)
        self.cuts: list[tuple[int, bytes, Fingerprint]] = []  # (data record number, head, fingerprint)
        self._pieces = self._scan(int(read_bytes))
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self._buffer):
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._buffer = memoryview(piece)
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def _scan(self, read_bytes: int) -> Iterator[bytes]:
        limit = self.limit
        number = -1  # the current record's number (the header is record 0)
        record: list[bytes] = []  # the current record's bytes while it is short enough to keep
        size = 0
        cut: _CutRow | None = None
        in_quotes = False
        at_start = True  # no byte of the current record seen yet
        carry = b""
        out: list[bytes] = []

        def take(piece: bytes) -> None:
            """Add ``piece`` to the current record, which is cut (hashed, not kept) once it passes the limit."""
            nonlocal size, cut
            size += len(piece)
            if cut is not None:
                cut.add(piece)
            elif size > limit and number > 0:
                cut = _CutRow(number, limit)
                for part in record:
                    cut.add(part)
                cut.add(piece)
                record.clear()
            else:
                record.append(piece)

        def end_record(line_end: bytes = b"") -> None:
            nonlocal record, size, cut, at_start
            if cut is not None:  # dropped with its line end: the stream goes on at the next record
                self.cuts.append((cut.number, bytes(cut.head), cut.finish()))
            else:
                out.extend(record)
                out.append(line_end)
            record, size, cut, at_start = [], 0, None, True

        while True:
            block = self._raw.read(read_bytes)
            data = carry + block if carry else block
            carry = b""
            if not data:
                break
            if block:
                last = max(data.rfind(b"\n"), data.rfind(b"\r"))
                complete, tail = data[: last + 1], data[last + 1 :]
            else:  # end of file: what is left is the last line, without a line end
                complete, tail = b"", data
            for line in complete.splitlines(keepends=True):
                if at_start:
                    if line in (b"\n", b"\r\n", b"\r"):  # an empty line is not a record
                        out.append(line)
                        continue
                    number += 1
                    if b'"' not in line:  # the common case: a whole record on one line
                        if len(line) > limit and number > 0:
                            cut = _CutRow(number, limit)
                            cut.add(line.rstrip(b"\r\n"))
                            end_record()
                        else:
                            out.append(line)
                        continue
                body = line.rstrip(b"\r\n")
                in_quotes = _quote_state(body, in_quotes, at_start)
                at_start = False
                if in_quotes:  # a line end inside a quoted field: the record goes on
                    take(line)
                else:
                    take(body)
                    end_record(line[len(body) :])
            if tail and block:  # hold back trailing quotes/commas and the byte before them: the next block decides
                keep = len(tail)
                while keep and tail[keep - 1] in b'",':
                    keep -= 1
                if keep > 1:
                    tail, carry = tail[: keep - 1], tail[keep - 1 :]
                elif len(tail) <= limit:
                    tail, carry = b"", tail
            if tail:
                if at_start:
                    number += 1
                in_quotes = _quote_state(tail, in_quotes, at_start)
                at_start = False
                take(tail)
                if not block:
                    end_record()
            if out:
                yield b"".join(out)
                out = []
        if not at_start:
            end_record()
        if out:
            yield b"".join(out)


class CsvSource:
    """CSV (optionally gzip) via pyarrow's streaming reader, every column read as bytes.

    Reading as bytes (not inferred types) keeps ``00123`` and ``NA`` literal, makes a later
    block's surprise type impossible, and lets one invalid UTF-8 value quarantine one row
    instead of killing the run. Rows with the wrong number of fields are skipped by
    pyarrow's invalid-row handler and quarantined as ``malformed_row``.

    A record longer than pyarrow's block would stop the reader for the whole file. The first
    pass reads straight from the file (no cost on normal files); if pyarrow gives up on such a
    record, a second pass reads through :class:`LongRowFilter`, which drops every record over
    half a block (the size pyarrow is sure to handle) and quarantines it: ``prompt_too_long``
    when the prompt makes it long, ``field_too_long:<column>`` for another contract column,
    ``row_too_long`` otherwise. The second pass hands out only rows after those already given.
    """

    found_label = "found"
    keys_vary = False

    def __init__(self, path: Path, block_bytes: int = CSV_BLOCK_BYTES):
        self.path = path
        self.compression = "gzip" if path.name.lower().endswith(".gz") else None
        self.block_bytes = int(block_bytes)
        self.row_limit = self.block_bytes // 2
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
        handed = [0]  # the highest data row number handed out so far (rows or rejects)
        try:
            with reading(self.path):
                yield from self._pass(wanted, chunk_rows, handed, filtered=False)
            return
        except _Straddling:
            pass
        with reading(self.path):
            yield from self._pass(wanted, chunk_rows, handed, filtered=True)

    def _pass(self, wanted: dict[str, str], chunk_rows: int, handed: list[int], filtered: bool) -> Iterator[RawChunk]:
        rename = {original: canonical for canonical, original in wanted.items()}
        originals = list(rename)
        skipped: list[int] = []  # data row numbers of malformed rows (in the file), in the order reported
        pending: list[dict] = []  # their quarantine records, not yet handed out
        after = handed[0]  # the second pass skips what the first one handed out
        source = self._open_binary() if filtered else None
        filter_ = LongRowFilter(source, self.row_limit) if filtered else None
        cuts_taken = 0

        def true_number(number: int) -> int:
            """A data row number of the filtered stream -> its number in the file (cut rows counted back in)."""
            if not filter_ or not filter_.cuts:
                return number
            cut = np.asarray([c[0] for c in filter_.cuts], dtype=np.int64)
            t = cut - np.arange(len(cut), dtype=np.int64)
            return int(number + np.searchsorted(t, number, side="right"))

        def on_invalid(row) -> str:
            number = true_number(row.number - 1) if row.number is not None else None  # pyarrow counts the header
            if number is not None:
                skipped.append(number)
            pending.append({"row_number": number, "reason": "malformed_row", "raw": row.text})
            return "skip"

        def take_cuts() -> None:
            nonlocal cuts_taken
            for number, head, fingerprint in filter_.cuts[cuts_taken:]:
                skipped.append(number)
                pending.append(self._cut_record(number, head, fingerprint, wanted))
            cuts_taken = len(filter_.cuts)

        stream = filter_ if filtered else pa.input_stream(str(self.path), compression=self.compression)
        try:
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(use_threads=False, block_size=self.block_bytes),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=originals, column_types={name: pa.binary() for name in originals}
                    ),
                )
                kept = 0
                for table in _rebatch(reader, chunk_rows):
                    if filtered:
                        take_cuts()
                    k = np.arange(kept + 1, kept + table.num_rows + 1, dtype=np.int64)
                    kept += table.num_rows
                    # The k-th kept row is data row k + (number of malformed or cut rows before it).
                    gone = np.unique(np.asarray(skipped, dtype=np.int64))
                    t = gone - np.arange(len(gone), dtype=np.int64)
                    numbers = k + np.searchsorted(t, k, side="right")
                    last = int(numbers[-1])
                    due = [r for r in pending if r["row_number"] is None or r["row_number"] <= last]
                    pending[:] = [r for r in pending if not (r["row_number"] is None or r["row_number"] <= last)]
                    chunk = self._handout(table, rename, numbers, due, after)
                    handed[0] = max(handed[0], last)
                    if chunk is not None:
                        yield chunk
                if filtered:
                    take_cuts()
                if pending:
                    rest = [r for r in pending if r["row_number"] is None or r["row_number"] > after]
                    if rest:
                        yield RawChunk(pd.DataFrame(columns=list(wanted)), np.zeros(0, np.int64), _reject_frame(rest))
            except pa.ArrowInvalid as exc:
                if not filtered and "straddl" in str(exc):
                    raise _Straddling() from None
                raise
        finally:
            stream.close()
            if source is not None:
                source.close()

    def _handout(self, table: pa.Table, rename: dict[str, str], numbers: np.ndarray, rejects: list[dict],
                 after: int) -> RawChunk | None:
        """The chunk to hand out, without rows a first pass handed out already (None when nothing is left)."""
        if after:
            rejects = [r for r in rejects if r["row_number"] is not None and r["row_number"] > after]
            if int(numbers[-1]) <= after:
                return RawChunk(pd.DataFrame(columns=list(rename.values())), np.zeros(0, np.int64),
                                _reject_frame(rejects)) if rejects else None
            fresh = numbers > after
            if not fresh.all():
                table = table.filter(pa.array(fresh))
                numbers = numbers[fresh]
        return self._decode(table, rename, numbers, rejects)

    def _cut_record(self, number: int, head: bytes, fingerprint: Fingerprint, wanted: dict[str, str]) -> dict:
        """The quarantine record of a cut row: its reason, the short contract fields before the long one, a digest."""
        fields = _head_fields(head)
        long_at = len(fields) - 1
        name = normalise_name(self.header[long_at]) if long_at < len(self.header) else None
        if name == "prompt":
            reason = "prompt_too_long"
        elif name in wanted:
            reason = f"field_too_long:{name}"
        else:
            reason = "row_too_long"
        record = {"row_number": number, "reason": reason}
        for position, original in enumerate(self.header[:long_at]):
            canonical = normalise_name(original)
            if canonical in wanted and canonical != "prompt" and len(fields[position]) <= _CUT_FIELD_BYTES:
                record[canonical] = fields[position].decode("utf-8", "replace")
        record["raw"] = fingerprint
        return record

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


class _Straddling(Exception):
    """pyarrow met a CSV record longer than its block: read the file again through LongRowFilter."""


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
            if _SURROGATE_ESCAPE.search(text) and not _encodable(record):  # "\ud800": no UTF-8 text can hold it
                rejects.append({"row_number": number, "reason": "invalid_encoding", "raw": text})
                continue
            records.append(record)
            kept.append(number)
        frame = pd.DataFrame(records, dtype=object) if records else pd.DataFrame(index=pd.RangeIndex(0))
        return RawChunk(_select(frame, names), np.asarray(kept, dtype=np.int64), _reject_frame(rejects))


def _encodable(record: dict) -> bool:
    """Whether every text in a JSON record is valid Unicode (a lone surrogate escape is not)."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


def open_source(path: Path, max_prompt_chars: int | None = None) -> CsvSource | JsonlSource | ParquetSource:
    """The reader for ``path``, chosen by suffix; the header/schema is read now (fail fast).

    ``max_prompt_chars`` sizes the CSV reader's block so that a row with a prompt at the limit always fits.
    """
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return CsvSource(path, csv_block_bytes(max_prompt_chars))
    if name.endswith((".jsonl", ".jsonl.gz")):
        return JsonlSource(path)
    if name.endswith(".parquet"):
        return ParquetSource(path)
    raise InputError(f"{path}: unsupported input format")
