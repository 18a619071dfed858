"""Read an export directory into validated, normalised frames (docs/CONTRACTS.md), chunk by chunk.

The input contract: one directory with ``accounts.*``, ``payments.*``, ``requests.*``
(required) and ``identifiers.*`` (optional), each ``.csv``, ``.csv.gz``, ``.jsonl``,
``.jsonl.gz`` or ``.parquet``. Column names are case-insensitive; extra columns are ignored.

Usage::

    quarantine = Quarantine(workdir / "quarantine")
    reader = ExportReader(export_dir, quarantine)     # checks every header now: fail fast
    accounts = reader.read("accounts")
    for chunk in reader.chunks("requests"):           # bounded memory for the big file
        ...
    quarantine.counts()                               # {(kind, reason): n}

Modules: ``schema`` (the contract as data), ``discovery`` (which file is which kind),
``formats`` (streaming readers), ``parsers`` (vectorised field parsing), ``validate``
(per-kind rules and reasons), ``quarantine`` (where bad rows go).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from graphlinker.errors import ConfigError, InputError
from graphlinker.ingest.discovery import discover
from graphlinker.ingest.formats import CsvSource, open_source
from graphlinker.ingest.quarantine import Quarantine
from graphlinker.ingest.schema import KINDS, SPECS, KindSpec, normalise_name
from graphlinker.ingest.validate import validate

__all__ = ["KINDS", "SPECS", "ExportReader", "Quarantine", "discover"]


def _column_map(
    spec: KindSpec, header: list[str], path: Path, check_required: bool = True, found_label: str = "found"
) -> dict[str, str]:
    """Contract column -> the file's spelling of it. InputError on missing required or duplicate names."""
    found: dict[str, list[str]] = {}
    for name in header:
        found.setdefault(normalise_name(name), []).append(name)
    for name in spec.names:
        if len(found.get(name, [])) > 1:
            spelled = ", ".join(repr(n) for n in found[name])
            raise InputError(f"{path}: columns {spelled} all name column {name} (keep exactly one)")
    missing = [name for name in spec.required_columns if name not in found]
    if missing and check_required:
        listed = ", ".join(str(n) for n in header[:40]) or "no columns"
        more = f", ... ({len(header) - 40} more)" if len(header) > 40 else ""
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}; {found_label}: {listed}{more}")
    return {name: found[name][0] for name in spec.names if name in found}


class ExportReader:
    """Validated chunks of each input kind; every header is checked in the constructor.

    Bad rows go to ``quarantine`` (or raise there under strict mode); they never stop a run.
    """

    def __init__(
        self,
        path: Path,
        quarantine: Quarantine,
        chunk_rows: int = 200_000,
        max_prompt_chars: int = 32_000,
        files: dict[str, Path] | None = None,
    ):
        """``files`` (kind -> file) reads exactly those files instead of discovering ``path``'s export."""
        if int(chunk_rows) < 1:
            raise ConfigError(f"chunk_rows must be a positive integer, got {chunk_rows}")
        if int(max_prompt_chars) < 1:
            raise ConfigError(f"max_prompt_chars must be a positive integer, got {max_prompt_chars}")
        self.path = Path(path)
        self.quarantine = quarantine
        self.chunk_rows = int(chunk_rows)
        self.max_prompt_chars = int(max_prompt_chars)
        self.files: dict[str, Path] = dict(files) if files is not None else discover(self.path)
        self._sources = {kind: open_source(file, self.max_prompt_chars) for kind, file in self.files.items()}
        self._columns: dict[str, dict[str, str]] = {}
        self._reported: dict[str, int] = {}  # kind -> highest row number already quarantined
        self.check()

    def check(self) -> None:
        """Check every file's header (names only, no data) so a bad export fails before the big read."""
        for kind, source in self._sources.items():
            # A JSON Lines file without a single record has no keys to check: it is simply empty.
            empty = getattr(source, "empty", False)
            self._columns[kind] = _column_map(
                SPECS[kind], source.header, self.files[kind], check_required=not empty, found_label=source.found_label
            )

    def chunks(self, kind: str) -> Iterator[pd.DataFrame]:
        """Validated, normalised chunks (≤ chunk_rows rows; chunks left empty by bad rows are skipped).

        An absent optional kind gives an empty iterator. Bad rows go to the quarantine as
        each chunk is read. After a whole pass the quarantine notes the file's usable rows, and a
        required file without any is a warning there (an InputError under strict mode).
        """
        spec = self._spec(kind)
        if kind not in self._sources:
            return iter(())
        return self._chunks(kind, spec)

    def _chunks(self, kind: str, spec: KindSpec) -> Iterator[pd.DataFrame]:
        source, path = self._sources[kind], self.files[kind]
        wanted = self._columns[kind]
        if source.keys_vary:  # JSON Lines: look for every contract column in every chunk
            wanted = {name: wanted.get(name, name) for name in spec.names}
        ip_cache: dict[str, str | None] = {}
        stripped: Counter[str] = Counter()
        usable = seen = 0
        for raw in source.batches(wanted, self.chunk_rows):
            frame, reasons = validate(spec, raw.frame, self.max_prompt_chars, ip_cache, stripped)
            bad = reasons != None  # noqa: E711 - elementwise comparison
            seen += len(raw.frame) + len(raw.rejects)
            records = None
            if bad.any():
                records = raw.frame.set_axis(pd.RangeIndex(len(raw.frame)), axis=0)[bad]
                records.insert(0, "reason", reasons[bad])
                records.insert(0, "row_number", raw.row_numbers[bad])
            self._report(kind, path, raw.rejects, records)
            if bad.any():
                frame = frame[~bad].reset_index(drop=True)
            usable += len(frame)
            if len(frame):
                yield frame
        self.quarantine.file_read(kind, path, usable, stripped)
        if spec.file_required and not usable:
            if seen:
                detail = f"all {seen} rows quarantined"
            else:
                detail = "header only" if isinstance(source, CsvSource) else "no rows"
            self.quarantine.no_usable_rows(kind, path, detail)

    def _report(self, kind: str, path: Path, *parts: pd.DataFrame | None) -> None:
        """Quarantine bad rows once: a second pass over a kind (or a re-read) does not count them again."""
        done = highest = self._reported.get(kind, 0)
        fresh = []
        for part in parts:
            if part is None or not len(part):
                continue
            numbers = pd.to_numeric(part["row_number"], errors="coerce")
            fresh.append(part[numbers.isna() | (numbers > done)])
            if numbers.notna().any():
                highest = max(highest, int(numbers.max()))
        self.quarantine.add(kind, path, *fresh)  # may raise (strict): then nothing counts as reported
        self._reported[kind] = highest

    def read(self, kind: str) -> pd.DataFrame:
        """The whole kind as one frame (for the small files; use ``chunks`` for requests)."""
        spec = self._spec(kind)
        parts = list(self.chunks(kind))
        if not parts:
            return spec.empty_frame()
        if len(parts) == 1:
            return parts[0]
        return pd.concat(parts, ignore_index=True)

    @staticmethod
    def _spec(kind: str) -> KindSpec:
        if kind not in SPECS:
            raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(KINDS)}")
        return SPECS[kind]

