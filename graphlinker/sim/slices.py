"""Cut an export into time slices, as a scheduled export would deliver it.

Refreshing the slices in order must give the clusters of one full run on the whole
export (the refresh contract); this writes the slices that check is run on.
Slice boundaries are quantiles of request time, so every slice holds about the same
number of requests; every other row goes to the slice whose window holds its own
timestamp (rows before the first boundary, or without a time, go to the first slice).
Rows are copied unchanged, in the source file's format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from graphlinker.ingest.discovery import discover

TIME_COLUMN = {"accounts": "created_at", "payments": "added_at", "requests": "ts", "identifiers": "seen_at"}


def read_rows(path: Path) -> pd.DataFrame:
    """An input file's rows as they are (CSV as text), to copy into slices unchanged."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if ".jsonl" in name:
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_rows(frame: pd.DataFrame, path: Path) -> None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif ".jsonl" in name:
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        frame.to_csv(path, index=False, lineterminator="\n")  # compression from the name (.csv.gz)


def split_by_time(export_dir: Path, out_dir: Path, slices: int) -> list[Path]:
    """Write ``out_dir/01 … NN``, one directory per time slice; returns them in time order."""
    if slices < 1:
        raise ValueError("slices must be at least 1")
    files = discover(Path(export_dir))
    frames = {kind: read_rows(path) for kind, path in files.items()}
    times = {kind: pd.to_datetime(frame[TIME_COLUMN[kind]].replace("", None), utc=True, errors="coerce", format="ISO8601")
             for kind, frame in frames.items()}
    nanos = {kind: t.dt.tz_convert(None).to_numpy().astype("int64") for kind, t in times.items()}  # NaT: int64 min
    request_times = np.sort(nanos["requests"][times["requests"].notna().to_numpy()])
    cuts = np.array([request_times[int(len(request_times) * i / slices)] for i in range(1, slices)] if len(request_times) else [],
                    dtype=np.int64)
    directories = [Path(out_dir) / f"{i + 1:02d}" for i in range(slices)]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    for kind, frame in frames.items():
        stamp = times[kind]
        slot = np.where(stamp.isna().to_numpy(), 0, np.searchsorted(cuts, nanos[kind], side="right"))
        for i, directory in enumerate(directories):
            write_rows(frame[slot == i], directory / files[kind].name)
    return directories
