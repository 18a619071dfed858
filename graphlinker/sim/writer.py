"""Write a generated scenario in the input contract: small tables as CSV, requests in chunks."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graphlinker.sim.common import Part

FORMATS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
REQUEST_COLUMNS = ["account_id", "ts", "ip", "user_agent", "model", "prompt", "input_tokens", "output_tokens"]
CHUNK_ROWS = 200_000


def iso(seconds) -> np.ndarray:
    """Epoch seconds to ISO-8601 UTC text like ``2026-09-01T00:00:00Z``."""
    text = np.datetime_as_string(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"), unit="s")
    return np.char.add(text, "Z").astype(object)


def _csv(frame: pd.DataFrame, path: Path, sort: list[str], times: tuple[str, ...] = ()) -> Path:
    frame = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    frame = frame.assign(**{c: iso(frame[c].to_numpy()) for c in times})
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def _chunk(requests: dict, rows: np.ndarray) -> pd.DataFrame:
    columns = {name: requests[name][rows] for name in REQUEST_COLUMNS}
    columns["ts"] = iso(columns["ts"])
    for name in ("input_tokens", "output_tokens"):
        values = columns[name]
        columns[name] = pd.array(np.where(values < 0, 0, values), dtype="Int64")
        columns[name][values < 0] = pd.NA
    return pd.DataFrame(columns)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    arrays = {c: pa.array(frame[c].to_numpy(dtype=object), type=pa.string(), from_pandas=True) for c in REQUEST_COLUMNS[:6]}
    for c in REQUEST_COLUMNS[6:]:
        arrays[c] = pa.array(frame[c].to_numpy(dtype="float64", na_value=np.nan), type=pa.int64(), from_pandas=True)
    return pa.table(arrays)


def write_requests(requests: dict, path: Path, file_format: str, progress=None) -> Path:
    """Rows in time order, written chunk by chunk so the text columns are materialised one chunk at a time."""
    order = np.argsort(requests["ts"], kind="stable")
    writer = None
    with open(path, "w", encoding="utf-8", newline="") if file_format != "parquet" else nullcontext() as handle:
        for start in range(0, max(len(order), 1), CHUNK_ROWS):
            frame = _chunk(requests, order[start : start + CHUNK_ROWS])
            if file_format == "csv":
                frame.to_csv(handle, index=False, header=start == 0, lineterminator="\n")
            elif file_format == "jsonl":
                if len(frame):
                    frame.to_json(handle, orient="records", lines=True, force_ascii=False)
            else:
                table = _arrow(frame)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
            if progress is not None and len(frame):
                progress(len(frame))
    if writer is not None:
        writer.close()
    return path


def write_all(out_dir: Path, data: Part, file_format: str, progress=None) -> dict[str, Path]:
    """Write every file of the scenario; stale request files of other formats are removed."""
    for other in FORMATS.values():
        stale = out_dir / f"requests.{other}"
        if other != FORMATS[file_format] and stale.exists():
            stale.unlink()
    paths = {
        "accounts": _csv(data.accounts, out_dir / "accounts.csv", ["created_at", "account_id"], ("created_at",)),
        "payments": _csv(data.payments, out_dir / "payments.csv", ["added_at", "account_id"], ("added_at",)),
        "identifiers": _csv(data.identifiers, out_dir / "identifiers.csv", ["seen_at", "account_id", "value"], ("seen_at",)),
        "truth": _csv(data.truth, out_dir / "truth.csv", ["op_id", "account_id"]),
    }
    paths["requests"] = write_requests(data.requests, out_dir / f"requests.{FORMATS[file_format]}", file_format, progress)
    return paths
