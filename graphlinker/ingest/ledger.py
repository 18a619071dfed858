"""What a store has already loaded: input files by content hash, rows by a stable event key.

A scheduled refresh is handed whatever sits in an export drop: yesterday's files again,
a re-sent file under a new name, an hourly file that overlaps the last one. Loading
only what is new keeps it idempotent: the same input twice changes nothing.

* A **file** is known by the SHA-256 of its bytes (not its name or mtime), so a
  re-delivered file is skipped however it is named.
* A **row** is known by its event key: a 64-bit hash of the input kind and every
  contract column of the validated row. Two rows that agree on every column — same
  account, same nanosecond, same prompt, same tokens — are one event; a row inside a
  new file that an earlier file already held is not counted twice.

The key hashes the raw prompt with the rest of the row; only the 64-bit key is kept.

Event key format 1 (``KEY_FORMAT``)
-----------------------------------
A row of input kind ``kind`` is written as bytes, then hashed::

    key(row)      = xxh3_64(encode(row), seed 0), as an unsigned 64-bit integer
    encode(row)   = field("K", kind) + value(c1) + value(c2) + ... + value(cn)
    value(c)      = b"N"                      the value is missing (NA, NaT, or the column is absent)
                  = field(tag(c), text(c))    otherwise
    field(t, s)   = t + ascii(decimal(len(utf8(s)))) + b":" + utf8(s)

``c1 .. cn`` are the contract columns of ``kind`` in the contract's order (``SPECS[kind].names``,
docs/CONTRACTS.md): every one of them, whether the file had the column or not. By column type:

* ``T`` (timestamp columns): integer nanoseconds since 1970-01-01T00:00:00Z of the UTC instant, in decimal
  (``2026-09-01T00:00:00Z`` is ``T19:1788220800000000000``); a naive timestamp is taken as UTC;
* ``I`` (token counts): the integer in decimal (``I2:42``);
* ``S`` (every text column): the validated contract value — stripped, case-folded, IP-canonicalised, or the raw
  prompt, as the contract says — as UTF-8 (``S5:café`` counts bytes, not characters).

Decimals are ASCII digits with a leading ``-`` for a negative and no leading zeros. For example the requests row
(account ``a1``, ts 2026-09-01T00:00:00Z, ip ``10.0.0.1``, no user agent, no model, prompt ``hi``, 5 input tokens,
no output tokens) is ``K8:requestsS2:a1T19:1788220800000000000S8:10.0.0.1NNS2:hiI1:5N``.

Every value carries its tag and byte length, so the encoding is injective: two rows (of any kinds) with the same
bytes are the same event, and a collision can only come from the 64-bit hash (about n²/2⁶⁵ for n rows).

Why it is stable: the bytes are defined above from the contract values alone — decimal integers and UTF-8 — and
xxh3_64 is a published, versioned hash function with fixed test vectors (xxhash's own), computed here by the
``xxhash`` package. No library's internal hashing or memory layout enters the key: not pandas' (format 0 used
``pandas.util.hash_pandas_object``, whose output is not a documented format), nor the dtype or resolution a
column happens to have (an ``Int64`` 5 and a ``float`` 5.0 are both ``I1:5``; microsecond and nanosecond
timestamps of one instant are one ``T`` value). ``tests/test_event_keys.py`` holds golden keys that must never
change; a change of this encoding must come with a new ``KEY_FORMAT`` and a migration.

Stores written by graphlinker before format 1 hold format-0 keys (``LEGACY_KEY_FORMAT``); see ``SeenKeys``
for how a refresh keeps honouring them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from graphlinker.arrays import contains, distinct, union_distinct
from graphlinker.errors import ExitCode, GraphlinkerError, InputError
from graphlinker.ingest.discovery import discover, discover_present, split_name, unusable_reason
from graphlinker.ingest.schema import INT, KINDS, SPECS, STR, TIMESTAMP_COL, TOKENS

LEDGER_COLUMNS = ["file_hash", "name", "kind", "rows", "new_rows", "run_id"]
LOAD_ORDER = ("accounts", "payments", "identifiers", "requests")  # accounts first: later kinds refer to them

KEY_FORMAT = 1  # event keys from the canonical encoding above, hashed with xxh3_64
LEGACY_KEY_FORMAT = 0  # event keys from pandas.util.hash_pandas_object (graphlinker before format 1)
_KIND_SALT = {kind: np.uint64(int(hashlib.sha256(kind.encode()).hexdigest()[:16], 16)) for kind in KINDS}  # format 0


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


_TEXT = pa.large_string()  # 64-bit offsets: a chunk of long prompts can exceed 2 GiB of text
_TAGS = {TIMESTAMP_COL: "T", TOKENS: "I"}  # every other column type is text: "S"


def _column_text(column, values: pd.Series | None, n: int) -> pa.Array:
    """The canonical text of one contract column (null where missing), as a large_string array."""
    if values is None:
        return pa.nulls(n, _TEXT)
    if column.type == TIMESTAMP_COL:
        instants = pd.to_datetime(values, utc=True).dt.as_unit("ns").dt.tz_convert(None)
        missing = instants.isna().to_numpy()
        nanos = instants.to_numpy(dtype="datetime64[ns]").view(np.int64)
        array = pa.array(nanos, type=pa.int64(), mask=missing)
    elif column.type == TOKENS:
        array = pa.array(values.astype(INT), type=pa.int64(), from_pandas=True)
    else:
        array = pa.array(values.astype(STR), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(_TEXT)  # integers as decimal (Arrow's cast: ASCII digits, "-" for negatives)


def _prefixes(tag: str, text: pa.Array) -> pa.Array:
    """``tag + decimal(byte length) + ":"`` for each present value, ``N`` for each missing one.

    Built from a small dictionary of the distinct lengths (a take), which is several times faster
    than joining strings row by row.
    """
    lengths = pc.binary_length(text).fill_null(-1).to_numpy(zero_copy_only=False)
    distinct, position = np.unique(lengths, return_inverse=True)
    dictionary = pa.array(["N" if length < 0 else f"{tag}{length}:" for length in distinct.tolist()], _TEXT)
    return dictionary.take(pa.array(position.astype(np.int32, copy=False)))


def encode_events(kind: str, rows: pd.DataFrame) -> pa.LargeBinaryArray:
    """The canonical bytes of every row of ``kind`` (event key format 1, see the module docstring)."""
    spec = SPECS[kind]
    n = len(rows)
    parts: list = [pa.scalar(f"K{len(kind.encode())}:{kind}", _TEXT)]
    for column in spec.columns:
        text = _column_text(column, rows[column.name] if column.name in rows.columns else None, n)
        parts += [_prefixes(_TAGS.get(column.type, "S"), text), text]
    if n == 0:
        return pa.array([], pa.large_binary())
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", _TEXT), null_handling="replace", null_replacement="")
    return joined.cast(pa.large_binary())


# Rows encoded at a time by ``event_keys``: the encoding copies every column, prompts included, so a whole
# 200k-row chunk encoded at once raised the process by ~80 MiB during this step at 0.2M request rows, and by
# ~20 MiB in batches (the run's peak comes later, in template grouping, and is unchanged).
EVENT_KEY_BATCH = 16_384


def event_keys(kind: str, rows: pd.DataFrame) -> np.ndarray:
    """The stable 64-bit event key of every validated row of ``kind`` (uint64, format ``KEY_FORMAT``)."""
    out = np.zeros(len(rows), dtype=np.uint64)
    for start in range(0, len(rows), EVENT_KEY_BATCH):
        out[start:start + EVENT_KEY_BATCH] = _hash_events(encode_events(kind, rows.iloc[start:start + EVENT_KEY_BATCH]))
    return out


def _hash_events(encoded: pa.LargeBinaryArray) -> np.ndarray:
    """xxh3_64 of each encoded row, as uint64."""
    n = len(encoded)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _, offsets, data = encoded.buffers()  # hash slices of Arrow's one data buffer: no bytes object per row
    bounds = np.frombuffer(offsets, dtype=np.int64)[encoded.offset:encoded.offset + n + 1].tolist()
    view, digest = memoryview(data), xxhash.xxh3_64_intdigest
    return np.fromiter((digest(view[start:end]) for start, end in zip(bounds[:-1], bounds[1:], strict=True)), dtype=np.uint64, count=n)


def _legacy_event_keys(kind: str, rows: pd.DataFrame) -> np.ndarray:
    """Event keys of format 0 (``LEGACY_KEY_FORMAT``), as graphlinker computed them before format 1.

    Kept only to recognise the rows a store loaded before the upgrade (``SeenKeys``); never written.
    """
    columns = [c for c in SPECS[kind].names if c in rows.columns]
    hashed = pd.util.hash_pandas_object(rows[columns], index=False).to_numpy(dtype=np.uint64)
    return hashed ^ _KIND_SALT[kind]


# Format-0 keys of a few validated rows (contract dtypes), as pandas 2.3 and 3.1 compute them. If this pandas
# computes others, the format-0 keys a store holds can no longer be matched: a refresh would reload every row.
_LEGACY_PROBE_ROWS = {
    "accounts": {"account_id": ["a1", "b-2"], "created_at": ["2026-09-01T00:00:00Z", None],
                 "email_domain": ["example.com", None], "country": ["DE", "FR"], "org_id": [None, "org 7"]},
    "payments": {"account_id": ["a1", "b-2"], "payment_fingerprint": ["fp1", "fp2"], "card_bin": ["424242", None],
                 "billing_country": [None, "FR"], "added_at": ["2026-09-01T12:30:00.123456789Z", None]},
    "requests": {"account_id": ["a1", "b-2"], "ts": ["2026-09-01T00:00:00Z", "2026-09-02T01:02:03.5Z"],
                 "ip": ["10.0.0.1", None], "user_agent": [None, "Mozilla/5.0"], "model": ["m-1", None],
                 "prompt": ["hi", " café ☕ \n"], "input_tokens": [5, None], "output_tokens": [None, 1234567]},
    "identifiers": {"account_id": ["a1", "b-2"], "kind": ["device", "phone"], "value": ["d-1", "+44 20"],
                    "seen_at": [None, "2026-09-01T00:00:00Z"]},
}
_LEGACY_PROBE_KEYS = {
    "accounts": [9901644550997599209, 13695398242448393495],
    "payments": [17111407639507687057, 2995282533298813764],
    "requests": [18205085801295022528, 7816205531525920458],
    "identifiers": [13156930521376755036, 16809952683381468576],
}


def _legacy_probe_frame(kind: str) -> pd.DataFrame:
    """The probe rows of ``kind`` with the contract's dtypes, as the reader hands them to ``event_keys``."""
    frame = pd.DataFrame(_LEGACY_PROBE_ROWS[kind])
    for column in SPECS[kind].columns:
        if column.type == TIMESTAMP_COL:
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True, format="ISO8601")
        frame[column.name] = frame[column.name].astype(column.dtype)
    return frame


class LegacyKeysUnusable(GraphlinkerError):
    """The store holds format-0 event keys that this environment can no longer compute."""

    exit_code = ExitCode.BAD_INPUT


def check_legacy_keys_computable() -> None:
    """Raise LegacyKeysUnusable unless ``_legacy_event_keys`` still gives the probe rows' recorded keys."""
    for kind, expected in _LEGACY_PROBE_KEYS.items():
        if _legacy_event_keys(kind, _legacy_probe_frame(kind)).tolist() != expected:
            raise LegacyKeysUnusable(
                f"this store's event keys predate key format {KEY_FORMAT} and pandas {pd.__version__} computes those old "
                "keys differently, so a refresh would load every row again; run a full `graphlinker run` once to "
                "rebuild the store (it then keeps format-1 keys)")


class SeenKeys:
    """A sorted set of event keys (8 bytes a row) that answers "which of these rows are new?".

    **Stores written before key format 1.** Their keys are format 0 (``pandas.util.hash_pandas_object``)
    and cannot be turned into format-1 keys: a key is a hash, and the rows are gone. So they are kept as
    they are, as a *legacy* set (``legacy``) beside the format-1 set, and for as long as a store holds one
    — until its next full ``run``, which starts a new ledger — every refresh computes both keys of each
    incoming row (``take_new_rows``): a row is seen if its format-1 key is in the format-1 set or its
    format-0 key is in the legacy set. Only format-1 keys are ever written, so the legacy set never grows.
    This relies on this environment computing format-0 keys as the old one did:
    ``check_legacy_keys_computable`` compares it with keys recorded for probe rows, and the refresh
    stops (exit 2, asking for a full ``run``) when they differ, rather than reload every old row.
    """

    def __init__(self, keys: np.ndarray | None = None, legacy: np.ndarray | None = None):
        self._sorted = distinct(np.asarray(keys if keys is not None else [], dtype=np.uint64))
        self._legacy = distinct(np.asarray(legacy if legacy is not None else [], dtype=np.uint64))
        self._added: list[np.ndarray] = []  # not yet merged into _sorted
        self._new: list[np.ndarray] = []  # every key taken as new
        self.legacy_matches = 0  # rows recognised by their format-0 key alone

    @property
    def migrating(self) -> bool:
        """True when the store holds format-0 keys (written before key format 1)."""
        return len(self._legacy) > 0

    def __len__(self) -> int:
        self._settle()
        return len(self._sorted)

    def _settle(self) -> None:
        if self._added:
            self._sorted = union_distinct(self._sorted, *self._added)
            self._added = []

    def take_new(self, keys: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
        """Mask of rows that are new (not seen, and the first of their key in ``keys``); remembers them.

        ``known`` (optional mask): rows already seen by other means (their format-0 key), never new.
        """
        self._settle()
        keys = np.asarray(keys, dtype=np.uint64)
        first = np.zeros(len(keys), dtype=bool)
        _, first_at = np.unique(keys, return_index=True)
        first[first_at] = True
        new = first & ~contains(self._sorted, keys)
        if known is not None:
            self.legacy_matches += int((new & known).sum())
            new &= ~known
        if new.any():
            self._added.append(keys[new])
            self._new.append(keys[new])
        return new

    def take_new_rows(self, kind: str, rows: pd.DataFrame) -> np.ndarray:
        """``take_new`` for validated rows of ``kind``: by their format-1 key, and their format-0 key while migrating."""
        known = contains(self._legacy, _legacy_event_keys(kind, rows)) if self.migrating else None
        return self.take_new(event_keys(kind, rows), known)

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
    """What a run records besides its report: the files it loaded, their new event keys (format
    ``KEY_FORMAT``), and the template grouper's new slots (``MinHashGrouper.state``), published
    atomically with the run."""

    files: pd.DataFrame
    keys: np.ndarray
    grouper: dict[str, np.ndarray] | None = None
