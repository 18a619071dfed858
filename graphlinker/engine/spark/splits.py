"""Splits: parts of one input file that Spark tasks read with the embedded reader's own code.

Why: the Spark engine must load exactly what ``ExportReader`` loads — same rows, values, dtypes, same
quarantined rows with the same row numbers and reasons — so a task does not parse anything itself. It
runs ``ExportReader``'s validation over a *source* limited to its part of the file:

- Parquet: a range of row groups (``ParquetSource`` on those row groups; rows numbered from ``first_row``).
- uncompressed JSON Lines: a byte range cut at line starts (``JsonlSource`` on those lines).
- CSV (plain or gzip) and gzip JSON Lines: the whole file, read by the embedded reader as it is. A CSV
  record may hold quoted line breaks, so a byte offset cannot be known to start a record without reading
  everything before it; gzip cannot be entered in the middle.

Numbering: a JSON Lines range does not know its first line number until the lines before it are counted.
The driver plans (``plan_splits``), counts in parallel (``count_rows``), numbers (``number_splits``), then
reads in parallel (``SplitReader``). Rows come out in file order within a split, so ordering rows by
(``file_index``, ``index``, position in the split) gives the embedded reader's order.

Quarantine: a task writes nothing. ``SplitReader`` keeps its bad rows as frames already redacted
(``quarantine.redact``: no prompt leaves the task) with their row numbers in the whole file; the driver
gives them to ``Quarantine.add`` (redacting again changes nothing). A required file without a usable row
is decided by the driver over all of the file's splits (``no_usable_detail``), never per split.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from graphlinker.errors import InputError
from graphlinker.ingest.formats import (
    CsvSource,
    JsonlSource,
    ParquetSource,
    RawChunk,
    arrow_to_frame,
    open_source,
    reading,
)
from graphlinker.ingest.quarantine import Quarantine, redact
from graphlinker.ingest.readers import ExportReader

TARGET_BYTES = 64 << 20
_SCAN_BYTES = 64 << 10  # the planner reads this much at a time while looking for a line end
Source = CsvSource | JsonlSource | ParquetSource


@dataclass(frozen=True)
class Split:
    """One part of one input file (picklable).

    ``start``/``end``: bytes [start, end) of an uncompressed JSON Lines file; row groups [start, end) of a
    Parquet file; 0 and the file's size for a whole file. ``first_row``: the reader's number of the split's
    first row in the file (CSV data record, JSON line, Parquet position + 1); 0 = not known yet (a JSON
    Lines range after the first, until ``number_splits``).
    """

    kind: str
    path: str
    file_index: int
    index: int
    fmt: str  # "csv" | "jsonl" | "parquet"
    start: int
    end: int
    first_row: int

    @property
    def whole_file(self) -> bool:
        """Read by the embedded reader as one file (CSV, gzip), not as a range."""
        return self.fmt == "csv" or self.path.lower().endswith(".gz")


def _format(path: str) -> str:
    name = path.lower()
    for fmt, suffixes in (("csv", (".csv", ".csv.gz")), ("jsonl", (".jsonl", ".jsonl.gz")), ("parquet", (".parquet",))):
        if name.endswith(suffixes):
            return fmt
    raise InputError(f"{path}: unsupported input format")


def plan_splits(kind: str, path: str | Path, file_index: int, target_bytes: int = TARGET_BYTES) -> list[Split]:
    """Cut one file into splits of about ``target_bytes``; reads only Parquet metadata or a few line ends.

    Parquet: consecutive row groups (their uncompressed size) with exact ``first_row``. Uncompressed JSON
    Lines: byte ranges starting at line starts, ``first_row`` 0 after the first (count, then number). CSV and
    gzip files: one split for the whole file (a CSV record may span lines; gzip cannot be split).
    """
    path = str(path)
    fmt = _format(path)
    size = os.path.getsize(path)
    target = max(1, int(target_bytes))
    whole = Split(kind, path, file_index, 0, fmt, 0, size, 1)
    if whole.whole_file:
        return [whole]
    if fmt == "parquet":
        ranges, firsts = _row_group_ranges(path, target)
    else:
        bounds = _line_bounds(path, size, target)
        ranges = list(zip(bounds, bounds[1:]))
        firsts = [1] + [0] * (len(ranges) - 1)
    return [Split(kind, path, file_index, i, fmt, a, b, first) for i, ((a, b), first) in enumerate(zip(ranges, firsts))]


def _row_group_ranges(path: str, target: int) -> tuple[list[tuple[int, int]], list[int]]:
    """Row groups grouped to about ``target`` bytes, and each group's first row number."""
    with reading(Path(path)):
        meta = pq.ParquetFile(path).metadata
    ranges, firsts = [], []
    start, size, row, first = 0, 0, 1, 1
    for group in range(meta.num_row_groups):
        size += meta.row_group(group).total_byte_size
        row += meta.row_group(group).num_rows
        if size >= target or group == meta.num_row_groups - 1:
            ranges.append((start, group + 1))
            firsts.append(first)
            start, size, first = group + 1, 0, row
    return (ranges, firsts) if ranges else ([(0, 0)], [1])


def _line_bounds(path: str, size: int, target: int) -> list[int]:
    """0, line starts about ``target`` bytes apart, and ``size``."""
    bounds = [0]
    with reading(Path(path)), open(path, "rb") as handle:
        while bounds[-1] + target < size:
            cut = _next_line_start(handle, bounds[-1] + target, size)
            if cut >= size:
                break
            bounds.append(cut)
    return bounds + [size] if size else [0, 0]


def _next_line_start(handle: BinaryIO, offset: int, size: int) -> int:
    """The first line start at or after ``offset`` (``size`` when no line starts there)."""
    position = offset - 1  # a line starts at ``offset`` if the byte before it ends a line
    handle.seek(position)
    while position < size:
        block = handle.read(_SCAN_BYTES)
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return size


def count_rows(split: Split) -> int | None:
    """Rows the split holds as the reader numbers them (JSON Lines: lines, blank ones and an unended last one too).

    Meant for Spark tasks, over every split. None for a whole-file split: it starts at row 1 and is its file's
    only split, so nothing needs its count (a CSV's records are known only by parsing it all).
    """
    if split.whole_file:
        return None
    if split.fmt == "parquet":
        with reading(Path(split.path)):
            meta = pq.ParquetFile(split.path).metadata
        return int(sum(meta.row_group(group).num_rows for group in range(split.start, split.end)))
    path = Path(split.path)
    lines, last = 0, b"\n"
    with reading(path), _Window(path, split.start, split.end) as handle:
        while block := handle.read(_SCAN_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + int(last != b"\n")


def number_splits(splits: Sequence[Split], counts: Sequence[int | None]) -> list[Split]:
    """Fill each unnumbered split's ``first_row``: 1 + the counts of the splits before it in its file.

    ``counts[i]`` is ``count_rows(splits[i])`` (None for a whole-file split, the only split of its file).
    """
    if len(counts) != len(splits):
        raise ValueError(f"{len(splits)} splits but {len(counts)} counts")
    rows: dict[int, int | None] = {}  # file_index -> rows before its next split (None: unknown)
    numbered: dict[tuple[int, int], Split] = {}
    for split, count in sorted(zip(splits, counts), key=lambda pair: (pair[0].file_index, pair[0].index)):
        before = rows.get(split.file_index, 0)
        if not split.first_row:
            if before is None:
                raise ValueError(f"{split.path}: split {split.index} follows a split without a count")
            split = replace(split, first_row=before + 1)
        rows[split.file_index] = None if count is None else split.first_row - 1 + count
        numbered[(split.file_index, split.index)] = split
    return [numbered[(split.file_index, split.index)] for split in splits]


class _Window(io.RawIOBase):
    """Bytes [start, end) of a file, as a raw stream."""

    def __init__(self, path: Path, start: int, end: int):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._file.readinto(memoryview(b)[: min(len(b), self._left)]) or 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


class _JsonlRange(JsonlSource):
    """JsonlSource over the lines in bytes [start, end), numbered from ``first_line``."""

    def __init__(self, path: Path, start: int, end: int, first_line: int):
        self.start, self.end, self.first_line = start, end, first_line
        self.chunk = -1
        super().__init__(path)

    def _peek_keys(self) -> list[str]:
        self.empty = False
        return []  # the driver checked the whole file's keys (columns_for)

    def _open(self) -> io.BufferedReader:
        return io.BufferedReader(_Window(self.path, self.start, self.end), buffer_size=1 << 20)

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        """JsonlSource.batches over the window, cut where the whole file's chunks are cut (every ``chunk_rows``
        lines from line 1), so each batch lies in one of the embedded reader's chunks (``chunk``)."""
        names = list(wanted)
        with reading(self.path), self._open() as handle:
            line = self.first_line
            while True:
                lines = list(islice(handle, chunk_rows - (line - 1) % chunk_rows))
                if not lines:
                    break
                count, blank_last = len(lines), not lines[-1].strip()
                buf = b"".join(lines)
                del lines
                self.chunk = (line - 1) // chunk_rows
                yield self._chunk(buf, count, blank_last, line, names)
                line += count


class _ParquetRange(ParquetSource):
    """ParquetSource over row groups [start, end), rows numbered from ``first_row``."""

    def __init__(self, path: Path, start: int, end: int, first_row: int):
        super().__init__(path)
        self.row_groups, self.first_row = list(range(start, end)), first_row
        self.chunk = -1

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        """ParquetSource.batches over the row groups, cut where the whole file's chunks are cut (every
        ``chunk_rows`` rows from row 1), so each batch lies in one of the embedded reader's chunks (``chunk``)."""
        rename = {original: canonical for canonical, original in wanted.items()}
        with reading(self.path), pq.ParquetFile(self.path, buffer_size=1 << 20, pre_buffer=False) as parquet:
            row = self.first_row
            for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=self.row_groups, columns=list(rename)):
                offset = 0
                while offset < batch.num_rows:
                    take = min(batch.num_rows - offset, chunk_rows - (row - 1) % chunk_rows)
                    self.chunk = (row - 1) // chunk_rows
                    frame = arrow_to_frame(batch.slice(offset, take)).rename(columns=rename)
                    yield RawChunk(frame, np.arange(row, row + take, dtype=np.int64))
                    row, offset = row + take, offset + take


class _Counted:
    """A whole file's source whose batches are counted: the n-th batch is the embedded reader's n-th chunk."""

    def __init__(self, source: Source):
        self._source, self.chunk = source, -1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def batches(self, wanted: dict[str, str], chunk_rows: int) -> Iterator[RawChunk]:
        for raw in self._source.batches(wanted, chunk_rows):
            self.chunk += 1
            yield raw


class _Collector(Quarantine):
    """A Quarantine that writes nothing: it keeps a split's bad rows (redacted) and intake in memory."""

    def __init__(self) -> None:
        super().__init__(None)
        self.records: list[pd.DataFrame] = []
        self.quarantined = 0
        self.usable = 0
        self.stripped_ids: Counter[str] = Counter()

    def add(self, kind: str, source_file: Path | str, *parts: pd.DataFrame) -> None:
        for part in parts:
            if part is None or not len(part):
                continue
            self.records.append(redact(part))  # Quarantine.add sorts and writes it as it is
            self.quarantined += len(part)

    def file_read(self, kind: str, source_file: Path | str, usable: int, stripped: Counter | None = None) -> None:
        self.usable, self.stripped_ids = int(usable), Counter(stripped or {})

    def no_usable_rows(self, kind: str, source_file: Path | str, detail: str) -> None:
        """Ignored: one split's emptiness says nothing of its file's (the driver uses ``no_usable_detail``)."""


class _OneSource(ExportReader):
    """ExportReader over one given source: its validation and quarantine records, unchanged."""

    def __init__(self, kind: str, path: Path, source: Source, columns: dict[str, str], quarantine: _Collector,
                 chunk_rows: int, max_prompt_chars: int):
        super().__init__(path.parent, quarantine, chunk_rows, max_prompt_chars, files={})
        self.files, self._sources, self._columns = {kind: path}, {kind: source}, {kind: dict(columns)}


def columns_for(kind: str, path: str | Path, max_prompt_chars: int = 32_000) -> dict[str, str]:
    """Contract column -> the file's column, from its header; the embedded reader's InputError if it is bad."""
    path = Path(path)
    reader = ExportReader(path.parent, Quarantine(None), max_prompt_chars=max_prompt_chars, files={kind: path})
    return dict(reader._columns[kind])


class SplitReader:
    """Validated, normalised chunks of one numbered split, as ``ExportReader.chunks`` gives its rows.

    ``take_rejects()``: the bad rows found so far and not yet taken (redacted quarantine frames, row numbers in
    the whole file; a chunk's are found before it is yielded). After ``chunks`` is exhausted: ``usable`` (good
    rows) and ``stripped`` (ids stripped of whitespace, per column) — what ExportReader gives
    ``Quarantine.add`` and ``Quarantine.file_read`` — and ``seen`` (rows read, good or bad).
    """

    def __init__(self, split: Split, columns: dict[str, str], chunk_rows: int = 200_000,
                 max_prompt_chars: int = 32_000):
        if split.first_row < 1:
            raise ValueError(f"{split.path}: split {split.index} is not numbered (number_splits)")
        self.split = split
        self._collector = _Collector()
        path = Path(split.path)
        source: Any
        if split.whole_file:
            source = _Counted(open_source(path, max_prompt_chars))
        elif split.fmt == "jsonl":
            source = _JsonlRange(path, split.start, split.end, split.first_row)
        else:
            source = _ParquetRange(path, split.start, split.end, split.first_row)
        self._source = source
        self._reader = _OneSource(split.kind, path, source, columns, self._collector, chunk_rows, max_prompt_chars)

    @property
    def chunk_index(self) -> int:
        """Which of the whole file's chunks (``chunk_rows`` rows each, as the embedded reader cuts them) the chunk
        just yielded by ``chunks`` belongs to: the embedded engine groups templates chunk by chunk."""
        return int(self._source.chunk)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The split's good rows in file order, ≤ chunk_rows a chunk; its bad rows go to ``rejects``."""
        return self._reader.chunks(self.split.kind)

    def take_rejects(self) -> list[pd.DataFrame]:
        """The redacted bad-row frames found since the last call (for ``Quarantine.add``, in this order)."""
        taken, self._collector.records = self._collector.records, []
        return taken

    @property
    def usable(self) -> int:
        return self._collector.usable

    @property
    def stripped(self) -> Counter[str]:
        return self._collector.stripped_ids

    @property
    def seen(self) -> int:
        return self.usable + self._collector.quarantined


def no_usable_detail(split: Split | str | Path, seen: int) -> str:
    """Why a file whose splits hold no usable row has none (ExportReader's words); ``seen``: the splits' sum.
    ``split``: any split of the file, or the file's path."""
    if seen:
        return f"all {seen} rows quarantined"
    fmt = split.fmt if isinstance(split, Split) else _format(str(split))
    return "header only" if fmt == "csv" else "no rows"
