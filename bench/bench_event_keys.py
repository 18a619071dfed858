"""Benchmark: event keys of format 1 (canonical bytes + xxh3_64) against format 0 (``hash_pandas_object``).

Builds ``--rows`` (default 1,000,000) validated ``requests`` rows with the contract's dtypes (the frames
``ExportReader.chunks`` yields): 20,000 accounts, microsecond timestamps over 30 days, IPv4 addresses (5%
missing), user agents (10% missing), models, realistic prompts (``bench/labelled_prompts.py``; a 200k bank
drawn with replacement, so templates repeat as they do in traffic) and token counts (5% missing). Then, in
200,000-row chunks as a refresh reads them, times

* **before**: ``graphlinker.ingest.ledger._legacy_event_keys`` (format 0, ``pandas.util.hash_pandas_object``);
* **after**: ``graphlinker.ingest.ledger.event_keys`` (format 1), split into encoding and hashing;

each the fastest of ``--repeat`` passes, on one CPU. Prints keys/s before and after and the ratio
(after / before keys/s: above 1 is faster). ``--ingest`` also writes the rows to a CSV and times the reader
(``ExportReader.chunks``: parse and validate, no keys) on them, to show the key's share of ingest.

    python bench/bench_event_keys.py                  # 1M rows, best of 3
    python bench/bench_event_keys.py --rows 1000000 --repeat 5 --ingest --json

Not a test: it asserts nothing (``tests/test_event_keys.py`` tests the keys).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy/pyarrow are imported anywhere
    os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "ARROW_NUM_THREADS": "1"})

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import pin_to_one_cpu  # noqa: E402
from labelled_prompts import labelled_prompts  # noqa: E402

from graphlinker.ingest.ledger import _legacy_event_keys, encode_events, event_keys  # noqa: E402
from graphlinker.ingest.schema import SPECS  # noqa: E402

CHUNK = 200_000
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
          "python-requests/2.32.3", "curl/8.5.0", "openai-python/1.40.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)"]
MODELS = ["model-small", "model-large", "model-mini", "model-vision"]


def requests_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` validated requests rows with the contract's columns and dtypes."""
    rng = np.random.default_rng(seed)
    bank = labelled_prompts(min(n, 200_000), seed=seed)["prompt"].to_numpy(dtype=object)
    start = pd.Timestamp("2026-09-01T00:00:00Z").value
    ts = pd.to_datetime(start + rng.integers(0, 30 * 86_400 * 10**6, n) * 1000, utc=True)  # microseconds, as exports give
    ips = np.array([f"10.{a}.{b}.{c}" for a, b, c in rng.integers(0, 256, (50_000, 3))], dtype=object)
    frame = pd.DataFrame({
        "account_id": np.char.add("acct-", rng.integers(0, 20_000, n).astype(str)).astype(object),
        "ts": ts,
        "ip": np.where(rng.random(n) < 0.05, None, ips[rng.integers(0, len(ips), n)]),
        "user_agent": np.where(rng.random(n) < 0.10, None, np.array(AGENTS, dtype=object)[rng.integers(0, len(AGENTS), n)]),
        "model": np.array(MODELS, dtype=object)[rng.integers(0, len(MODELS), n)],
        "prompt": bank[rng.integers(0, len(bank), n)],
        "input_tokens": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(1, 4000, n)), dtype="Int64"),
        "output_tokens": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(1, 2000, n)), dtype="Int64"),
    })
    return frame.astype({c.name: c.dtype for c in SPECS["requests"].columns})


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(rows: pd.DataFrame, repeat: int) -> dict:
    chunks = [rows.iloc[i:i + CHUNK].reset_index(drop=True) for i in range(0, len(rows), CHUNK)]

    def over_chunks(function):
        return lambda: [function("requests", chunk) for chunk in chunks]

    n = len(rows)
    before = best_of(repeat, over_chunks(_legacy_event_keys))
    after = best_of(repeat, over_chunks(event_keys))
    encode = best_of(repeat, over_chunks(encode_events))
    return {"rows": n, "chunk_rows": CHUNK, "repeat": repeat,
            "before_s": round(before, 3), "after_s": round(after, 3), "after_encode_s": round(encode, 3),
            "before_keys_per_s": round(n / before), "after_keys_per_s": round(n / after),
            "ratio": round(before / after, 3)}


def measure_ingest(rows: pd.DataFrame, repeat: int) -> dict:
    from graphlinker.ingest.readers import ExportReader, Quarantine

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.csv"
        rows.assign(ts=rows["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).to_csv(path, index=False)

        def read():
            reader = ExportReader(Path(tmp), Quarantine(Path(tmp) / "quarantine"), chunk_rows=CHUNK, files={"requests": path})
            for _ in reader.chunks("requests"):
                pass

        seconds = best_of(repeat, read)
    return {"ingest_read_validate_s": round(seconds, 3), "ingest_rows_per_s": round(len(rows) / seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ingest", action="store_true", help="also time reading + validating the rows from CSV")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    pinned = pin_to_one_cpu()
    rows = requests_rows(args.rows, args.seed)
    result = {"pinned": pinned, "pandas": pd.__version__, **measure(rows, args.repeat)}
    if args.ingest:
        result.update(measure_ingest(rows, args.repeat))
        result["after_share_of_ingest"] = round(result["after_s"] / result["ingest_read_validate_s"], 3)
        result["before_share_of_ingest"] = round(result["before_s"] / result["ingest_read_validate_s"], 3)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['rows']:,} requests rows in {CHUNK:,}-row chunks, best of {args.repeat} ({pinned}; pandas {pd.__version__})")
    print(f"  before (format 0, hash_pandas_object): {result['before_s']:.3f} s  {result['before_keys_per_s']:>12,} keys/s")
    print(f"  after  (format 1, bytes + xxh3_64):    {result['after_s']:.3f} s  {result['after_keys_per_s']:>12,} keys/s"
          f"  (encoding {result['after_encode_s']:.3f} s)")
    print(f"  ratio after/before keys/s: {result['ratio']:.2f}")
    if args.ingest:
        print(f"  reading + validating the same rows from CSV: {result['ingest_read_validate_s']:.3f} s "
              f"({result['ingest_rows_per_s']:,} rows/s); keys add {100 * result['after_share_of_ingest']:.1f}% "
              f"(before: {100 * result['before_share_of_ingest']:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
