"""What a store has already loaded: input files by content hash, rows by a stable event key.

A scheduled refresh is handed whatever sits in an export drop: yesterday's files again,
a re-sent file under a new name, an hourly file that overlaps the last one. Loading
only what is new keeps it idempotent: the same input twice changes nothing.

* A **file** is known by the SHA-256 of its bytes (not its name or mtime), so a
  re-delivered file is skipped however it is named.
* A **row** is known by its event key: a 64-bit hash of the input kind and every
  contract column of the validated row (``pandas.util.hash_pandas_object``, which is
  seeded with a fixed key and so stable across processes). Two rows that agree on
  every column — same account, same millisecond, same prompt, same tokens — are one
  event; a row inside a new file that an earlier file already held is not counted twice.

The key hashes the raw prompt with the rest of the row; only the 64-bit key is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .inputs.discovery import discover, discover_present, split_name, unusable_reason
from .inputs.schema import KINDS, SPECS

LEDGER_COLUMNS = ["file_hash", "name", "kind", "rows", "new_rows", "run_id"]
LOAD_ORDER = ("accounts", "payments", "identifiers", "requests")  # accounts first: later kinds refer to them
_KIND_SALT = {kind: np.uint64(int(hashlib.sha256(kind.encode()).hexdigest()[:16], 16)) for kind in KINDS}


@dataclass(frozen=True)
class InputFile:
    """One input file of a refresh: its kind, where it is, and the hash of its bytes."""

    kind: str
    path: Path
    file_hash: str


def file_hash(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_inputs(paths: list[Path]) -> list[InputFile]:
    """Input files named by ``paths`` (export directories or single ``kind.ext`` files), in load order.

    Load order is by kind (accounts, payments, identifiers, requests), then as given, so
    the accounts of every input are known before their requests. InputError names the
    first path that is missing or is not an input file.
    """
    found: list[tuple[str, Path]] = []
    for path in map(Path, paths):
        if not path.exists():
            reason = unusable_reason(path)  # a dangling link or a loop "does not exist" only in part
            raise InputError(f"input {path} {reason or 'does not exist'}")
        if path.is_dir() and split_name(path.name) is not None:  # a directory named like a file: not an export
            raise InputError(f"input {path}: {unusable_reason(path)}; a {split_name(path.name)[0]} input must be a file")
        if path.is_dir():
            present = discover_present(path)
            if not present:
                raise InputError(f"{path}: no input files (accounts, payments, requests or identifiers .csv/.jsonl/.parquet)")
            found.extend((kind, file) for kind, file in present.items())
        else:
            parsed = split_name(path.name)
            if parsed is None:
                raise InputError(f"{path}: not an input file (expected accounts, payments, requests or identifiers "
                                 "with .csv, .csv.gz, .jsonl, .jsonl.gz or .parquet)")
            found.append((parsed[0], path))
    found.sort(key=lambda item: LOAD_ORDER.index(item[0]))  # stable: as given within a kind
    unique: dict[Path, InputFile] = {}
    for kind, path in found:
        resolved = path.resolve()
        if resolved not in unique:
            unique[resolved] = InputFile(kind, path, file_hash(path))
    return list(unique.values())


def export_inputs(path: Path) -> list[InputFile]:
    """The files of one complete export directory (every required kind present), in load order."""
    files = discover(path)
    return [InputFile(kind, files[kind], file_hash(files[kind])) for kind in LOAD_ORDER if kind in files]


def event_keys(kind: str, rows: pd.DataFrame) -> np.ndarray:
    """The stable 64-bit event key of every validated row of ``kind`` (uint64)."""
    columns = [c for c in SPECS[kind].names if c in rows.columns]
    hashed = pd.util.hash_pandas_object(rows[columns], index=False).to_numpy(dtype=np.uint64)
    return hashed ^ _KIND_SALT[kind]


class SeenKeys:
    """A sorted set of event keys (8 bytes a row) that answers "which of these rows are new?"."""

    def __init__(self, keys: np.ndarray | None = None):
        self._sorted = np.unique(np.asarray(keys if keys is not None else [], dtype=np.uint64))
        self._added: list[np.ndarray] = []  # not yet merged into _sorted
        self._new: list[np.ndarray] = []  # every key taken as new

    def __len__(self) -> int:
        self._settle()
        return len(self._sorted)

    def _settle(self) -> None:
        if self._added:
            self._sorted = np.union1d(self._sorted, np.concatenate(self._added))
            self._added = []

    def take_new(self, keys: np.ndarray) -> np.ndarray:
        """Mask of rows that are new (not seen, and the first of their key in ``keys``); remembers them."""
        self._settle()
        keys = np.asarray(keys, dtype=np.uint64)
        first = np.zeros(len(keys), dtype=bool)
        _, first_at = np.unique(keys, return_index=True)
        first[first_at] = True
        new = first & ~np.isin(keys, self._sorted, assume_unique=False)
        if new.any():
            self._added.append(keys[new])
            self._new.append(keys[new])
        return new

    def new_keys(self) -> np.ndarray:
        """The keys taken as new so far, sorted."""
        return np.sort(np.concatenate(self._new)) if self._new else np.zeros(0, dtype=np.uint64)

    def keys(self) -> np.ndarray:
        self._settle()
        return self._sorted


def empty_ledger() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("rows", "new_rows") else "string") for c in LEDGER_COLUMNS})


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as one ``.npz`` blob (no pickles), for stores that keep grouper state as bytes."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    import io

    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


@dataclass
class Commit:
    """What a run records besides its report: the files it loaded, their new event keys, and the
    template grouper's new slots (``MinHashGrouper.state``), published atomically with the run."""

    files: pd.DataFrame
    keys: np.ndarray
    grouper: dict[str, np.ndarray] | None = None
