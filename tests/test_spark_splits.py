"""Splits (graphlinker/engine/spark/splits.py): read part by part, the result is the embedded reader's."""

from __future__ import annotations

import gzip
import json
import pickle
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphlinker.engine.spark.splits import (
    Split,
    SplitReader,
    columns_for,
    count_rows,
    no_usable_detail,
    number_splits,
    plan_splits,
)
from graphlinker.errors import InputError
from graphlinker.ingest.readers import ExportReader, Quarantine

SECRET = "TOP-SECRET distillation prompt: reveal your chain of thought 0xDEADBEEF"
MAX_PROMPT = 40
TS = "2024-03-01T12:00:00Z"

# One line each; the comment is the line's fate in the embedded reader.
JSONL_LINES = [
    b'{"account_id": "a1", "ts": "2024-03-01T12:00:00Z", "ip": "10.0.0.1", "prompt": "hello there", "input_tokens": 3}',
    b"",  # 2: blank, numbered but not a row
    b'{"account_id": "a2", "ts": ',  # 3: malformed_row
    b'{"account_id": "a\xff3", "ts": "2024-03-01T12:00:00Z"}',  # 4: invalid_encoding
    b'{"Account_ID": "a4", "TS": 1709294400, "Prompt": "short one"}',  # 5: good, keys spelled otherwise
    b'{"account_id": "a5", "ts": "yesterday"}',  # 6: bad_timestamp:ts
    b'{"account_id": " a6 ", "ts": "2024-03-01T12:00:00Z"}',  # 7: good, one id stripped
    b'{"account_id": "a7", "ts": "2024-03-01T12:00:00Z", "prompt": "' + SECRET.encode() + b'"}',  # 8: prompt_too_long
    b'{"account_id": "a8", "ts": "2024-03-01T12:00:00Z", "prompt": "\\ud800"}',  # 9: invalid_encoding
    b'{"account_id": 9, "ts": "2024-03-01T12:00:00Z", "input_tokens": -1}',  # 10: negative_tokens
    b"[1, 2]",  # 11: malformed_row
    b'{"account_id": "a10", "ts": "2024-03-01T12:00:00Z", "ip": "999.1.1.1"}',  # 12: invalid_ip
    b"   ",  # 13: blank
    b'{"account_id": "a11", "ts": "2024-03-01T12:00:00Z", "output_tokens": "7"}',  # 14: good, no final newline
]
JSONL_REJECTS = [(3, "malformed_row"), (4, "invalid_encoding"), (6, "bad_timestamp:ts"), (8, "prompt_too_long"),
                 (9, "invalid_encoding"), (10, "negative_tokens"), (11, "malformed_row"), (12, "invalid_ip")]


def quarantine_lines(directory: Path, kind: str) -> list[dict]:
    """The quarantine file's records in row order, without null fields.

    A JSON Lines record is written with every key any line of its chunk has (null where it has none), so
    the embedded reader's own records already change with ``chunk_rows``; a null field says nothing.
    """
    path = directory / f"{kind}.jsonl"
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []
    lines = [{key: value for key, value in item.items() if value is not None} for item in lines]
    return sorted(lines, key=lambda item: (item["row_number"] is None, item["row_number"] or 0, item["reason"]))


def embedded(path: Path, kind: str, qdir: Path, chunk_rows: int):
    """The embedded reader's rows (one frame) and its quarantine."""
    quarantine = Quarantine(qdir)
    reader = ExportReader(path.parent, quarantine, chunk_rows, MAX_PROMPT, files={kind: path})
    return pd.concat(list(reader.chunks(kind)), ignore_index=True), quarantine


def by_splits(path: Path, kind: str, qdir: Path, chunk_rows: int, target: int, file_index: int = 0):
    """Plan, count, number and read every split (as Spark tasks would), then quarantine as the driver would."""
    splits = plan_splits(kind, path, file_index, target_bytes=target)
    counts = [count_rows(s) for s in splits]
    splits = pickle.loads(pickle.dumps(number_splits(splits, counts)))  # what travels to a task
    columns = columns_for(kind, path, MAX_PROMPT)
    chunks, readers, rejects = [], [], []
    for split in splits:
        reader = SplitReader(split, columns, chunk_rows, MAX_PROMPT)
        for chunk in reader.chunks():
            assert 0 < len(chunk) <= chunk_rows
            chunks.append(chunk)
            rejects.append(reader.take_rejects())
        rejects.append(reader.take_rejects())
        assert reader.take_rejects() == []
        readers.append(reader)
    rejects = pickle.loads(pickle.dumps(rejects))  # what travels back to the driver
    assert SECRET.encode() not in pickle.dumps(rejects)
    quarantine = Quarantine(qdir)
    for frames in rejects:
        quarantine.add(kind, path, *frames)
    frame = pd.concat(chunks, ignore_index=True) if chunks else None
    return splits, frame, quarantine, readers


def assert_same_as_embedded(path: Path, kind: str, tmp_path: Path, chunk_rows: int, target: int):
    expected, eq = embedded(path, kind, tmp_path / "embedded", chunk_rows)
    splits, got, sq, readers = by_splits(path, kind, tmp_path / "splits", chunk_rows, target)
    pd.testing.assert_frame_equal(got, expected)
    assert quarantine_lines(tmp_path / "splits", kind) == quarantine_lines(tmp_path / "embedded", kind)
    assert sq.counts() == eq.counts()
    assert sum(r.usable for r in readers) == eq.rows_read
    stripped = sum((r.stripped for r in readers), Counter())
    assert {(kind, column): n for column, n in stripped.items()} == eq.stripped()
    return splits, got, quarantine_lines(tmp_path / "splits", kind)


def write_jsonl(path: Path, lines: list[bytes], repeat: int = 1) -> Path:
    path.write_bytes(b"\n".join(lines * repeat))
    return path


# ---------------------------------------------------------------- JSON Lines


@pytest.mark.parametrize("target", [1, 37, 150, 10**9])
@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_jsonl_ranges_read_as_the_embedded_reader(tmp_path, target, chunk_rows):
    path = write_jsonl(tmp_path / "requests.jsonl", JSONL_LINES)
    splits, frame, lines = assert_same_as_embedded(path, "requests", tmp_path, chunk_rows, target)
    assert frame["account_id"].tolist() == ["a1", "a4", "a6", "a11"]
    assert [(item["row_number"], item["reason"]) for item in lines] == JSONL_REJECTS
    assert all(SECRET not in json.dumps(item) for item in lines)
    if target == 1:  # a split per line
        assert [s.first_row for s in splits] == list(range(1, 15))


@pytest.mark.parametrize("target", [1, 200, 1000])
def test_jsonl_ranges_of_a_longer_file(tmp_path, target):
    path = write_jsonl(tmp_path / "requests.jsonl", JSONL_LINES, repeat=7)
    splits, _, lines = assert_same_as_embedded(path, "requests", tmp_path, 4, target)
    assert len(splits) > 3
    assert [(item["row_number"], item["reason"]) for item in lines] == [
        (14 * block + number, reason) for block in range(7) for number, reason in JSONL_REJECTS
    ]


def test_jsonl_ranges_cut_at_line_starts_and_cover_the_file(tmp_path):
    path = write_jsonl(tmp_path / "requests.jsonl", JSONL_LINES, repeat=3)
    data = path.read_bytes()
    splits = plan_splits("requests", path, 4, target_bytes=100)
    assert [(s.kind, s.file_index, s.index, s.fmt) for s in splits] == [
        ("requests", 4, i, "jsonl") for i in range(len(splits))
    ]
    assert splits[0].start == 0 and splits[-1].end == len(data)
    for before, after in zip(splits, splits[1:]):
        assert before.end == after.start
        assert data[after.start - 1 : after.start] == b"\n"
        assert after.start - before.start >= 100
    assert [s.first_row for s in splits] == [1] + [0] * (len(splits) - 1)


def test_count_rows_counts_lines_as_the_reader_numbers_them(tmp_path):
    path = tmp_path / "accounts.jsonl"
    path.write_bytes(b'{"account_id": "x"}\n\n   \n{"account_id": "y"}')  # 4 lines: two blank, one unended
    assert count_rows(plan_splits("accounts", path, 0, target_bytes=10**9)[0]) == 4
    splits = plan_splits("accounts", path, 0, target_bytes=1)
    assert [count_rows(s) for s in splits] == [1, 1, 1, 1]
    path.write_bytes(b'{"account_id": "x"}\n\n')
    assert sum(count_rows(s) for s in plan_splits("accounts", path, 0, target_bytes=1)) == 2
    gz = tmp_path / "payments.jsonl.gz"
    gz.write_bytes(gzip.compress(b"{}\n\n{}"))
    assert count_rows(plan_splits("payments", gz, 0)[0]) is None  # a whole file: starts at row 1, needs no count


def test_gzip_jsonl_is_one_split_read_by_the_embedded_reader(tmp_path):
    path = tmp_path / "requests.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(JSONL_LINES)))
    splits, frame, lines = assert_same_as_embedded(path, "requests", tmp_path, 2, target=1)
    assert [(s.start, s.end, s.first_row) for s in splits] == [(0, path.stat().st_size, 1)]
    assert [(item["row_number"], item["reason"]) for item in lines] == JSONL_REJECTS


# ---------------------------------------------------------------- Parquet


def parquet_file(path: Path) -> Path:
    ts = [datetime(2024, 3, 1, 12, i, tzinfo=UTC) for i in range(10)]
    table = pa.table({
        "Account_ID": ["p1", None, "p3", "p4", "p5", " p6 ", "p7", "p8", "p9", "p10"],  # 2: missing_account_id
        "ts": ts,
        "prompt": ["hi", "x", "y", "z", "w", "v", "u", "t", SECRET, "s"],  # 9: prompt_too_long
        "input_tokens": pa.array([1, 2, 3, 4, -5, 6, 7, 8, 9, None], pa.int64()),  # 5: negative_tokens
        "ip": ["10.0.0.1", None, None, "bad-ip", None, None, None, None, None, "::1"],  # 4: invalid_ip
    })
    pq.write_table(table, path, row_group_size=3)  # row groups of 3, 3, 3, 1 rows
    return path


@pytest.mark.parametrize("target", [1, 10**9])
@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_parquet_row_group_ranges_read_as_the_embedded_reader(tmp_path, target, chunk_rows):
    path = parquet_file(tmp_path / "requests.parquet")
    splits, frame, lines = assert_same_as_embedded(path, "requests", tmp_path, chunk_rows, target)
    assert frame["account_id"].tolist() == ["p1", "p3", "p6", "p7", "p8", "p10"]
    assert [(item["row_number"], item["reason"]) for item in lines] == [
        (2, "missing_account_id"), (4, "invalid_ip"), (5, "negative_tokens"), (9, "prompt_too_long")]
    if target == 1:
        assert [(s.start, s.end, s.first_row) for s in splits] == [(0, 1, 1), (1, 2, 4), (2, 3, 7), (3, 4, 10)]
        assert [count_rows(s) for s in splits] == [3, 3, 3, 1]
    else:
        assert [(s.start, s.end, s.first_row) for s in splits] == [(0, 4, 1)]


def test_parquet_groups_row_groups_to_the_target(tmp_path):
    path = parquet_file(tmp_path / "requests.parquet")
    meta = pq.ParquetFile(path).metadata
    two = meta.row_group(0).total_byte_size + meta.row_group(1).total_byte_size
    splits = plan_splits("requests", path, 0, target_bytes=two)
    assert [(s.start, s.end, s.first_row) for s in splits][0] == (0, 2, 1)
    assert splits[-1].end == 4


# ---------------------------------------------------------------- CSV


def csv_bytes() -> bytes:
    rows = [
        b"Account_ID,TS,ip,prompt,input_tokens",
        b'c1,2024-03-01T12:00:00Z,10.0.0.1,"line one\nline two, quoted",3',  # 1: good, a quoted newline
        b"c2,2024-03-01T12:00:00Z,10.0.0.2,hello,4,extra,fields",  # 2: malformed_row
        b"c\xff3,2024-03-01T12:00:00Z,,hello,5",  # 3: invalid_encoding
        b"c4,2024-03-01T12:00:00Z,,\"" + b"A" * 1_500_000 + b'",6',  # 4: past the 1 MiB block: prompt_too_long
        b" c5 ,2024-03-01T12:00:00Z,,\"" + SECRET.encode() + b'",7',  # 5: prompt_too_long
        b"c6,1709294400,::1,,8",  # 6: good
    ]
    return b"\n".join(rows) + b"\n"


@pytest.mark.parametrize("suffix", ["csv", "csv.gz"])
def test_csv_is_one_split_read_by_the_embedded_reader(tmp_path, suffix):
    path = tmp_path / f"requests.{suffix}"
    path.write_bytes(gzip.compress(csv_bytes()) if suffix.endswith("gz") else csv_bytes())
    splits, frame, lines = assert_same_as_embedded(path, "requests", tmp_path, 2, target=1)
    assert [(s.fmt, s.start, s.end, s.first_row) for s in splits] == [("csv", 0, path.stat().st_size, 1)]
    assert frame["account_id"].tolist() == ["c1", "c6"]
    assert [(item["row_number"], item["reason"]) for item in lines] == [
        (2, "malformed_row"), (3, "invalid_encoding"), (4, "prompt_too_long"), (5, "prompt_too_long")]
    assert count_rows(splits[0]) is None


def test_columns_for_raises_the_embedded_readers_error(tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text("ACCOUNT_ID,card_bin\nx,1\n")
    with pytest.raises(InputError) as embedded_error:
        ExportReader(tmp_path, Quarantine(None), files={"payments": path})
    with pytest.raises(InputError) as split_error:
        columns_for("payments", path)
    assert str(split_error.value) == str(embedded_error.value)
    assert "missing required column(s) payment_fingerprint" in str(split_error.value)
    path.write_text("ACCOUNT_ID,Payment_Fingerprint\nx,1\n")
    assert columns_for("payments", path) == {"account_id": "ACCOUNT_ID", "payment_fingerprint": "Payment_Fingerprint"}


# ---------------------------------------------------------------- numbering, empty files


def test_number_splits_adds_up_counts_per_file():
    def split(file_index, index, first_row, fmt="jsonl"):
        return Split("requests", f"f{file_index}.{fmt}", file_index, index, fmt, 0, 0, first_row)

    splits = [split(1, 1, 0), split(0, 0, 1, "parquet"), split(1, 0, 1), split(0, 1, 4, "parquet"), split(1, 2, 0)]
    numbered = number_splits(splits, [5, None, 7, None, 2])
    assert [(s.file_index, s.index, s.first_row) for s in numbered] == [(1, 1, 8), (0, 0, 1), (1, 0, 1), (0, 1, 4),
                                                                       (1, 2, 13)]
    with pytest.raises(ValueError, match="without a count"):
        number_splits(splits, [5, None, None, None, 2])
    with pytest.raises(ValueError, match="not numbered"):
        SplitReader(splits[0], {})


def test_a_file_without_usable_rows_is_decided_over_its_splits(tmp_path):
    path = write_jsonl(tmp_path / "accounts.jsonl", [b'{"account_id": ""}', b"", b"{bad", b'{"account_id": null}'])
    quarantine = Quarantine(None)
    list(ExportReader(tmp_path, quarantine, files={"accounts": path}).chunks("accounts"))
    _, frame, _, readers = by_splits(path, "accounts", tmp_path / "q", 1000, target=1)
    assert frame is None and [r.usable for r in readers] == [0, 0, 0, 0]
    seen = sum(r.seen for r in readers)
    assert seen == 3
    note = f"{path}: no usable row ({no_usable_detail(readers[0].split, seen)}); no accounts loaded from it"
    assert quarantine.notes() == [note] and "all 3 rows quarantined" in note
    header_only = tmp_path / "payments.csv"
    header_only.write_text("account_id,payment_fingerprint\n")
    reader = SplitReader(plan_splits("payments", header_only, 0)[0], columns_for("payments", header_only))
    assert list(reader.chunks()) == [] and reader.seen == 0
    assert no_usable_detail(reader.split, reader.seen) == "header only"
    empty = tmp_path / "requests.jsonl"
    empty.write_bytes(b"")
    [split] = plan_splits("requests", empty, 0)
    assert (split.start, split.end, split.first_row, count_rows(split)) == (0, 0, 1, 0)
    reader = SplitReader(split, columns_for("requests", empty))
    assert list(reader.chunks()) == [] and no_usable_detail(split, reader.seen) == "no rows"
