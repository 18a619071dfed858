"""Quarantine: bad input rows are kept aside with the reason, never crash a run, never vanish.

Each bad row becomes one JSON line in ``<directory>/<kind>.jsonl``:
``source_file``, ``row_number`` (1-based data row in that file), ``reason``, then the
row's raw fields as read. Prompt text is never written anywhere: ``prompt`` is replaced by
``prompt_chars`` and ``prompt_sha256`` (and an unparsable line's ``raw`` text likewise by
``raw_chars``/``raw_sha256``), so quarantine files can be shared with whoever fixes the export.
A CSV row too long to hold (formats.LongRowFilter) has only ``raw_chars``/``raw_sha256`` of the
whole row, plus its short contract fields.

The quarantine is also where a run's intake is noted for the person running it (``notes``): required
files without a usable row (an error under strict mode), ids whose surrounding whitespace was stripped,
and how many rows were read, so the caller can say how many duplicates were skipped.

Durability choice: lines are *appended*, one ``write`` + flush + fsync per chunk. An
interruption can at worst leave a partial last line; the next Quarantine that writes to
the file first truncates it back to its last complete line, so readers only ever see
whole JSON objects. Earlier runs' lines are kept (a quarantine file is a log).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from graphlinker.errors import InputError
from graphlinker.ingest.formats import Fingerprint
from graphlinker.ingest.parsers import scalar_text

# Fields whose text must never be written; replaced by their length and SHA-256.
REDACTED_FIELDS = ("prompt", "raw")


def _fingerprint(value) -> tuple[int | None, str | None]:
    if isinstance(value, Fingerprint):
        return value.chars, value.sha256
    if isinstance(value, bytes):
        return len(value.decode("utf-8", "replace")), hashlib.sha256(value).hexdigest()
    text = scalar_text(value)
    if text is None:
        return None, None
    return len(text), hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def redact(records: pd.DataFrame) -> pd.DataFrame:
    """Replace each redacted text field by ``<field>_chars`` and ``<field>_sha256`` (same position)."""
    records = records.copy()
    for name in REDACTED_FIELDS:
        if name not in records.columns:
            continue
        position = records.columns.get_loc(name)
        prints = [_fingerprint(v) for v in records[name].tolist()]
        records = records.drop(columns=[name])
        records.insert(position, f"{name}_sha256", pd.Series([p[1] for p in prints], index=records.index, dtype=object))
        records.insert(position, f"{name}_chars", pd.Series([p[0] for p in prints], index=records.index, dtype="Int64"))
    return records


def _truncate_partial_line(path: Path) -> None:
    """Cut an interrupted write back to the last newline, so every line is a whole JSON object."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            end = start
        handle.truncate(0)


class Quarantine:
    """Collects bad rows per (kind, reason); writes them to ``directory`` (None = count only).

    ``strict=True`` turns the first bad row into an InputError ("<file> row <n>: <reason>").
    """

    def __init__(self, directory: Path | None, strict: bool = False):
        self.directory = Path(directory) if directory is not None else None
        self.strict = strict
        self._counts: Counter[tuple[str, str]] = Counter()
        self._prepared: set[Path] = set()
        self._read: dict[tuple[str, str], tuple[int, Counter]] = {}  # (kind, file) -> (usable rows, stripped ids)
        self._empty: dict[tuple[str, str], str] = {}  # (kind, file) -> why it has no usable row

    def file_read(self, kind: str, source_file: Path | str, usable: int, stripped: Counter | None = None) -> None:
        """Note a whole pass over one file: its usable rows, and per column the ids stripped of whitespace.

        A second pass over the same file replaces the first (reading twice does not count twice).
        """
        self._read[(kind, str(source_file))] = (int(usable), Counter(stripped or {}))

    def no_usable_rows(self, kind: str, source_file: Path | str, detail: str) -> None:
        """A required file gave no usable row: a warning (``notes``), or an InputError under strict mode."""
        if self.strict:
            raise InputError(f"{source_file}: no usable row ({detail}); --strict requires every required input "
                             "file to hold at least one")
        self._empty[(kind, str(source_file))] = detail

    @property
    def rows_read(self) -> int:
        """Usable rows read (after quarantine, before removing duplicates), over every file read in full."""
        return sum(usable for usable, _ in self._read.values())

    def stripped(self) -> dict[tuple[str, str], int]:
        """Ids whose surrounding whitespace was stripped, keyed by (kind, column)."""
        total: Counter[tuple[str, str]] = Counter()
        for (kind, _), (_, columns) in self._read.items():
            total.update({(kind, column): n for column, n in columns.items()})
        return dict(total)

    def notes(self, loaded_rows: int | None = None, refresh: bool = False) -> list[str]:
        """One-line notes on this intake for stderr (no row content).

        ``loaded_rows`` is how many rows the store took as new; the rest of ``rows_read`` were skipped as
        duplicates by their event key (for a refresh: also rows an earlier run loaded).
        """
        lines = [f"{file}: no usable row ({detail}); no {kind} loaded from it"
                 for (kind, file), detail in sorted(self._empty.items())]
        stripped = self.stripped()
        if stripped:
            detail = ", ".join(f"{kind}/{column} {n}" for (kind, column), n in sorted(stripped.items()))
            lines.append(f"stripped surrounding whitespace from {sum(stripped.values())} id value(s) ({detail}); "
                         "ids that differ only by it are one id")
        if loaded_rows is not None and self.rows_read > loaded_rows:
            skipped = self.rows_read - int(loaded_rows)
            what = "already loaded or repeated" if refresh else "exact repeats of an earlier row"
            lines.append(f"skipped {skipped} duplicate row(s) ({what}: same event key, counted once)")
        return lines

    def add(self, kind: str, source_file: Path | str, *parts: pd.DataFrame) -> None:
        """Take one chunk's bad rows: frames with ``row_number``, ``reason`` and the raw fields.

        Several frames (e.g. unparsable lines and rows failing validation) may be given at
        once so strict mode reports the earliest bad row of the chunk; each frame is written
        with its own fields.
        """
        parts = tuple(p for p in parts if p is not None and len(p))
        if not parts:
            return
        prepared = []
        for records in parts:
            records = records.copy()
            records["row_number"] = pd.array(records["row_number"].tolist(), dtype="Int64")
            prepared.append(records.sort_values("row_number", kind="stable", na_position="last").reset_index(drop=True))
        if self.strict:
            firsts = [(r["row_number"].iloc[0], str(r["reason"].iloc[0])) for r in prepared]
            known = [f for f in firsts if not pd.isna(f[0])]
            number, reason = min(known, key=lambda f: int(f[0])) if known else firsts[0]
            where = "?" if pd.isna(number) else int(number)
            raise InputError(f"{source_file} row {where}: {reason}")
        for records in prepared:
            self._counts.update(Counter((kind, str(reason)) for reason in records["reason"].tolist()))
            if self.directory is not None:
                self._write(kind, source_file, records)

    def _write(self, kind: str, source_file: Path | str, records: pd.DataFrame) -> None:
        fields = [c for c in records.columns if c not in ("row_number", "reason")]
        frame = redact(records[["row_number", "reason", *fields]])
        frame.insert(0, "source_file", str(source_file))
        text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=True, default_handler=str)
        # pandas escapes every "/" as "\\/"; every such pair is that escape, so undoing it is exact.
        text = text.replace("\\/", "/")
        if not text.endswith("\n"):
            text += "\n"
        path = self.directory / f"{kind}.jsonl"
        if path not in self._prepared:
            # bad rows hold account ids and identifiers: owner-only, as the rest of the workspace
            self.directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.directory.mkdir(mode=0o700, exist_ok=True)
            _truncate_partial_line(path)
            self._prepared.add(path)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as handle:
            handle.write(text.encode("utf-8", "surrogatepass"))
            handle.flush()
            os.fsync(handle.fileno())

    def counts(self) -> dict[tuple[str, str], int]:
        """Bad rows so far, keyed by (kind, reason)."""
        return dict(self._counts)

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def files(self) -> list[Path]:
        """Quarantine files written by this run."""
        return sorted(p for p in self._prepared if p.exists())
