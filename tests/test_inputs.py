"""The input contract: formats, column matching, quarantine, strictness, header errors, chunking."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphlinker.errors import ConfigError, ExitCode, InputError
from graphlinker.ingest.quarantine import _truncate_partial_line
from graphlinker.ingest.readers import KINDS, SPECS, ExportReader, Quarantine, discover

FORMATS = ("csv", "csv.gz", "jsonl", "jsonl.gz", "parquet")
SECRET = "TOP-SECRET distillation prompt: reveal your chain of thought 0xDEADBEEF"

# Logical rows, typed the way a typed format (JSON numbers, Parquet) would hold them.
ACCOUNTS = [
    {"account_id": " acc-1 ", "created_at": "2024-01-01T00:00:00Z", "email_domain": " Example.COM ", "country": "us", "org_id": "00123"},
    {"account_id": "acc-2", "created_at": None, "email_domain": "gmail.com", "country": "NA", "org_id": None},
    {"account_id": "acc-3", "created_at": "2024-01-02T03:04:05+01:00", "email_domain": None, "country": "de", "org_id": "org-9"},
]
PAYMENTS = [
    {"account_id": "acc-1", "payment_fingerprint": "fp-1", "card_bin": "041111", "billing_country": "us", "added_at": "2024-01-01T00:00:00"},
    {"account_id": "acc-2", "payment_fingerprint": "fp-1", "card_bin": None, "billing_country": None, "added_at": None},
]
REQUESTS = [
    {"account_id": "acc-1", "ts": "2024-03-01T12:00:00Z", "ip": "::ffff:10.0.0.1", "user_agent": "python-requests/2.31",
     "model": "m-large", "prompt": 'Say "hi",\nthen explain,  ', "input_tokens": 10, "output_tokens": 200},
    {"account_id": "acc-2", "ts": "2024-03-01 13:00:00+02:00", "ip": "2001:0DB8:0000::0001", "user_agent": " Mozilla/5.0 ",
     "model": "m-small", "prompt": "Übersetze: 日本語", "input_tokens": 0, "output_tokens": 5},
    {"account_id": "acc-3", "ts": 1709294400, "ip": None, "user_agent": None, "model": None, "prompt": None,
     "input_tokens": None, "output_tokens": None},
    {"account_id": "acc-1", "ts": "2024-03-01T12:00:00.123456", "ip": " 192.168.0.1 ", "user_agent": "curl/8",
     "model": "m-large", "prompt": "x", "input_tokens": 7, "output_tokens": None},
]
IDENTIFIERS = [
    {"account_id": "acc-1", "kind": " Device ", "value": "dev-1", "seen_at": "2024-03-01T00:00:00Z"},
    {"account_id": "acc-2", "kind": "PHONE", "value": " +1555 ", "seen_at": None},
]
DATA = {"accounts": ACCOUNTS, "payments": PAYMENTS, "requests": REQUESTS, "identifiers": IDENTIFIERS}


def _utc(*values):
    return pd.Series(pd.to_datetime(list(values), utc=True, format="ISO8601"), dtype="datetime64[ns, UTC]")


def _expected(kind: str) -> pd.DataFrame:
    s = lambda *v: pd.Series(list(v), dtype="str")  # noqa: E731
    i = lambda *v: pd.Series(list(v), dtype="Int64")  # noqa: E731
    nat = None
    frames = {
        "accounts": {
            "account_id": s("acc-1", "acc-2", "acc-3"),
            "created_at": _utc("2024-01-01T00:00:00Z", nat, "2024-01-02T02:04:05Z"),
            "email_domain": s("example.com", "gmail.com", None),
            "country": s("US", "NA", "DE"),
            "org_id": s("00123", None, "org-9"),
        },
        "payments": {
            "account_id": s("acc-1", "acc-2"),
            "payment_fingerprint": s("fp-1", "fp-1"),
            "card_bin": s("041111", None),
            "billing_country": s("US", None),
            "added_at": _utc("2024-01-01T00:00:00Z", nat),
        },
        "requests": {
            "account_id": s("acc-1", "acc-2", "acc-3", "acc-1"),
            "ts": _utc("2024-03-01T12:00:00Z", "2024-03-01T11:00:00Z", "2024-03-01T12:00:00Z", "2024-03-01T12:00:00.123456Z"),
            "ip": s("10.0.0.1", "2001:db8::1", None, "192.168.0.1"),
            "user_agent": s("python-requests/2.31", "Mozilla/5.0", None, "curl/8"),
            "model": s("m-large", "m-small", None, "m-large"),
            "prompt": s('Say "hi",\nthen explain,  ', "Übersetze: 日本語", None, "x"),
            "input_tokens": i(10, 0, None, 7),
            "output_tokens": i(200, 5, None, None),
        },
        "identifiers": {
            "account_id": s("acc-1", "acc-2"),
            "kind": s("device", "phone"),
            "value": s("dev-1", "+1555"),
            "seen_at": _utc("2024-03-01T00:00:00Z", nat),
        },
    }
    return pd.DataFrame(frames[kind])


# ---------------------------------------------------------------- writers


def _text(value) -> str:
    return "" if value is None else str(value)


def write_csv(path: Path, rows: list[dict]) -> Path:
    header = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(row.get(k)) for k in header])
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_jsonl(path: Path, rows: list[dict], typed: bool = True) -> Path:
    lines = []
    for row in rows:
        if typed:  # JSON types, missing values left out entirely
            record = {k: v for k, v in row.items() if v is not None}
        else:  # everything as text, like a naive export
            record = {k: _text(v) for k, v in row.items()}
        lines.append(json.dumps(record, ensure_ascii=False))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_parquet(path: Path, kind: str, rows: list[dict], typed: bool = True) -> Path:
    """Typed Parquet (timestamp columns, int64 token counts), or every column as text."""
    columns = {}
    for column in SPECS[kind].columns:
        values = [row.get(column.name) for row in rows]
        if not typed:
            columns[column.name] = pa.array([None if v is None else str(v) for v in values], pa.string())
        elif column.type == "timestamp":
            parsed = [
                None if v is None
                else pd.Timestamp(v, unit="s", tz="UTC") if isinstance(v, int)
                else pd.to_datetime(v, utc=True, format="ISO8601")
                for v in values
            ]
            columns[column.name] = pa.array(parsed, pa.timestamp("us", tz="UTC"))
        elif column.type == "tokens":
            columns[column.name] = pa.array(values, pa.int64())
        else:
            columns[column.name] = pa.array(values, pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def write_kind(directory: Path, kind: str, rows: list[dict], fmt: str) -> Path:
    path = directory / f"{kind}.{fmt}"
    if fmt.startswith("csv"):
        return write_csv(path, rows)
    if fmt == "jsonl":
        return write_jsonl(path, rows, typed=True)
    if fmt == "jsonl.gz":
        return write_jsonl(path, rows, typed=False)
    return write_parquet(path, kind, rows)


def make_export(directory: Path, fmt: str = "csv", data: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for kind, rows in (data or DATA).items():
        write_kind(directory, kind, rows, fmt)
    return directory


def quarantine_lines(directory: Path, kind: str) -> list[dict]:
    path = directory / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_to_the_contract_frames(tmp_path, fmt):
    reader = ExportReader(make_export(tmp_path / "in", fmt), Quarantine(tmp_path / "q"))
    for kind in KINDS:
        frame = reader.read(kind)
        pd.testing.assert_frame_equal(frame, _expected(kind), check_dtype=True)
        assert list(frame.columns) == SPECS[kind].names
    assert reader.quarantine.total == 0


def test_formats_agree_with_each_other(tmp_path):
    frames = {}
    for fmt in FORMATS:
        reader = ExportReader(make_export(tmp_path / fmt.replace(".", "_"), fmt), Quarantine(None))
        frames[fmt] = {kind: reader.read(kind) for kind in KINDS}
    for fmt in FORMATS[1:]:
        for kind in KINDS:
            pd.testing.assert_frame_equal(frames[fmt][kind], frames["csv"][kind])


def test_jsonl_fast_and_slow_paths_agree(tmp_path):
    # All-text lines take pyarrow's path; a key whose type changes between lines forces json.loads.
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    for directory, typed in ((fast, False), (slow, True)):
        directory.mkdir()
        write_jsonl(directory / "requests.jsonl", REQUESTS, typed=typed)
        write_csv(directory / "accounts.csv", ACCOUNTS)
        write_csv(directory / "payments.csv", PAYMENTS)
    a = ExportReader(fast, Quarantine(None)).read("requests")
    b = ExportReader(slow, Quarantine(None)).read("requests")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, _expected("requests"))


def test_output_dtypes_follow_the_contract(tmp_path):
    reader = ExportReader(make_export(tmp_path / "in"), Quarantine(None))
    requests = reader.read("requests")
    assert str(requests["ts"].dtype) == "datetime64[ns, UTC]"
    assert str(requests["input_tokens"].dtype) == "Int64"
    assert isinstance(requests["account_id"].dtype, pd.StringDtype)


def test_case_insensitive_and_extra_columns(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "accounts.csv").write_text(
        " Account_ID ,CREATED_AT,Email_Domain,extra_column,Country,ORG_ID\n"
        "acc-1,2024-01-01T00:00:00Z,Example.com,ignored,us,00123\n",
        "utf-8",
    )
    frame = ExportReader(directory, Quarantine(None)).read("accounts")
    assert list(frame.columns) == SPECS["accounts"].names
    assert frame.iloc[0].to_dict()["email_domain"] == "example.com"
    assert frame["org_id"].tolist() == ["00123"]


def test_missing_optional_columns_become_na(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").write_text("account_id,ts\nacc-1,2024-01-01T00:00:00Z\n", "utf-8")
    frame = ExportReader(directory, Quarantine(None)).read("requests")
    assert list(frame.columns) == SPECS["requests"].names
    assert frame[["ip", "prompt", "input_tokens"]].isna().all().all()
    assert str(frame["input_tokens"].dtype) == "Int64"


def test_file_names_match_case_insensitively(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "accounts.csv").rename(directory / "Accounts.CSV")
    assert discover(directory)["accounts"].name == "Accounts.CSV"


def test_absent_optional_kind_is_empty(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "identifiers.csv").unlink()
    reader = ExportReader(directory, Quarantine(None))
    assert "identifiers" not in reader.files
    assert list(reader.chunks("identifiers")) == []
    frame = reader.read("identifiers")
    pd.testing.assert_frame_equal(frame, SPECS["identifiers"].empty_frame())


def test_header_only_csv_reads_empty(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "payments.csv").write_text("account_id,payment_fingerprint\n", "utf-8")
    frame = ExportReader(directory, Quarantine(None)).read("payments")
    assert len(frame) == 0 and list(frame.columns) == SPECS["payments"].names


def test_unknown_kind_is_a_programming_error(tmp_path):
    reader = ExportReader(make_export(tmp_path / "in"), Quarantine(None))
    with pytest.raises(ValueError):
        reader.chunks("devices")


# ---------------------------------------------------------------- bad rows

GOOD_REQUEST = {"account_id": "acc-9", "ts": "2024-03-01T00:00:00Z", "ip": "1.2.3.4", "user_agent": "ua", "model": "m",
                "prompt": "ok", "input_tokens": 1, "output_tokens": 2}

BAD_REQUESTS = [
    ({"account_id": ""}, "missing_account_id"),
    ({"ts": ""}, "missing_ts"),
    ({"ts": "yesterday"}, "bad_timestamp:ts"),
    ({"ts": "2024-13-45T00:00:00"}, "bad_timestamp:ts"),
    ({"ts": "9999-01-01T00:00:00Z"}, "bad_timestamp:ts"),  # outside datetime64[ns]
    ({"ip": "300.1.2.3"}, "invalid_ip"),
    ({"ip": "1.2.3.4:80"}, "invalid_ip"),
    ({"input_tokens": -3}, "negative_tokens"),
    ({"output_tokens": "lots"}, "bad_tokens"),
    ({"output_tokens": "2.5"}, "bad_tokens"),
    ({"prompt": "y" * 101}, "prompt_too_long"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("change", "reason"), BAD_REQUESTS, ids=[r for _, r in BAD_REQUESTS])
def test_each_bad_row_reason_is_quarantined_with_its_row_number(tmp_path, fmt, change, reason):
    rows = [dict(GOOD_REQUEST, account_id=f"acc-{i}") for i in range(5)]
    rows[2] = dict(rows[2], **change)
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    if fmt == "parquet" and ("ts" in change or "output_tokens" in change):
        write_parquet(directory / "requests.parquet", "requests", rows, typed=False)  # typed columns cannot hold it
    elif fmt == "parquet":
        write_parquet(directory / "requests.parquet", "requests", [{k: v or None for k, v in r.items()} for r in rows])
    else:
        write_kind(directory, "requests", rows, fmt)
    quarantine = Quarantine(tmp_path / "q")
    frame = ExportReader(directory, quarantine, max_prompt_chars=100).read("requests")
    assert frame["account_id"].tolist() == ["acc-0", "acc-1", "acc-3", "acc-4"]  # the run went on
    assert quarantine.counts() == {("requests", reason): 1}
    (line,) = quarantine_lines(tmp_path / "q", "requests")
    assert line["row_number"] == 3 and line["reason"] == reason
    assert line["source_file"].endswith(f"requests.{fmt}")
    assert "prompt" not in line and "prompt_chars" in line and "prompt_sha256" in line


@pytest.mark.parametrize(
    ("kind", "row", "reason"),
    [
        ("accounts", {"account_id": "acc-1", "created_at": "not a date"}, "bad_timestamp:created_at"),
        ("accounts", {"account_id": " ", "created_at": ""}, "missing_account_id"),
        ("payments", {"account_id": "acc-1", "payment_fingerprint": "", "added_at": ""}, "missing_payment_fingerprint"),
        ("payments", {"account_id": "acc-1", "payment_fingerprint": "fp", "added_at": "soon"}, "bad_timestamp:added_at"),
        ("identifiers", {"account_id": "acc-1", "kind": "", "value": "v", "seen_at": ""}, "missing_identifier"),
        ("identifiers", {"account_id": "acc-1", "kind": "device", "value": "", "seen_at": ""}, "missing_identifier"),
    ],
)
def test_bad_rows_of_the_small_files(tmp_path, kind, row, reason):
    directory = make_export(tmp_path / "in")
    rows = list(DATA[kind]) + [{**{k: None for k in DATA[kind][0]}, **row}]
    write_csv(directory / f"{kind}.csv", rows)
    quarantine = Quarantine(tmp_path / "q")
    frame = ExportReader(directory, quarantine).read(kind)
    assert len(frame) == len(DATA[kind])
    assert quarantine.counts() == {(kind, reason): 1}
    assert quarantine_lines(tmp_path / "q", kind)[0]["row_number"] == len(rows)


def test_first_failing_column_gives_the_reason(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", [dict(GOOD_REQUEST, account_id="", ip="bad", input_tokens=-1)])
    quarantine = Quarantine(None)
    ExportReader(directory, quarantine).read("requests")
    assert quarantine.counts() == {("requests", "missing_account_id"): 1}


def test_malformed_csv_rows_keep_row_numbers_exact(tmp_path):
    directory = make_export(tmp_path / "in")
    header = "account_id,ts,prompt\n"
    body = [f'acc-{i},2024-03-01T00:00:00Z,"line one\nline two {i}"\n' for i in range(1, 11)]
    body[3] = f"acc-4,2024-03-01T00:00:00Z,{SECRET},extra-field\n"  # row 4: too many fields
    body[6] = "acc-7\n"  # row 7: too few fields
    body[8] = "acc-9,notatime,p\n"  # row 9: a bad value after the malformed ones
    (directory / "requests.csv").write_text(header + "".join(body), "utf-8")
    for chunk_rows in (3, 1000):
        quarantine = Quarantine(tmp_path / f"q{chunk_rows}")
        frame = ExportReader(directory, quarantine, chunk_rows=chunk_rows).read("requests")
        assert frame["account_id"].tolist() == [f"acc-{i}" for i in (1, 2, 3, 5, 6, 8, 10)]
        lines = quarantine_lines(tmp_path / f"q{chunk_rows}", "requests")
        assert [(item["row_number"], item["reason"]) for item in lines] == [
            (4, "malformed_row"), (7, "malformed_row"), (9, "bad_timestamp:ts")
        ]
        assert SECRET.encode() not in (tmp_path / f"q{chunk_rows}" / "requests.jsonl").read_bytes()


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_malformed_csv_rows_at_the_end_or_everywhere(tmp_path, chunk_rows):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").write_text(
        "account_id,ts\nacc-1,2024-03-01T00:00:00Z\nacc-2\nacc-3,2024-03-01T00:00:00Z,x\n", "utf-8"
    )
    quarantine = Quarantine(tmp_path / "q")
    assert ExportReader(directory, quarantine, chunk_rows=chunk_rows).read("requests")["account_id"].tolist() == ["acc-1"]
    assert [item["row_number"] for item in quarantine_lines(tmp_path / "q", "requests")] == [2, 3]
    (directory / "requests.csv").write_text("account_id,ts\nonly-one-field\n", "utf-8")
    quarantine = Quarantine(None)
    frame = ExportReader(directory, quarantine, chunk_rows=chunk_rows).read("requests")
    assert len(frame) == 0 and quarantine.counts() == {("requests", "malformed_row"): 1}


def test_reading_a_kind_twice_does_not_quarantine_twice(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", [dict(GOOD_REQUEST, ip="x"), GOOD_REQUEST, dict(GOOD_REQUEST, ts="")])
    quarantine = Quarantine(tmp_path / "q")
    reader = ExportReader(directory, quarantine, chunk_rows=2)
    first = reader.read("requests")
    pd.testing.assert_frame_equal(reader.read("requests"), first)
    assert quarantine.total == 2 and len(quarantine_lines(tmp_path / "q", "requests")) == 2


def test_strict_mode_raises_on_every_pass(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", [GOOD_REQUEST, dict(GOOD_REQUEST, ip="x")])
    reader = ExportReader(directory, Quarantine(None, strict=True))
    for _ in range(2):
        with pytest.raises(InputError, match="row 2: invalid_ip"):
            reader.read("requests")


def test_jsonl_key_first_seen_after_the_peeked_lines_is_read(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    lines = [{"account_id": f"acc-{i}", "ts": 1709294400} for i in range(1500)]
    lines[1400]["IP"] = "10.0.0.1"
    (directory / "requests.jsonl").write_text("".join(json.dumps(item) + "\n" for item in lines), "utf-8")
    frame = ExportReader(directory, Quarantine(None), chunk_rows=500).read("requests")
    assert frame["ip"].notna().sum() == 1 and frame.loc[1400, "ip"] == "10.0.0.1"


def test_empty_jsonl_is_an_empty_frame(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "payments.csv").unlink()
    (directory / "payments.jsonl").write_bytes(b"")
    frame = ExportReader(directory, Quarantine(None)).read("payments")
    pd.testing.assert_frame_equal(frame, SPECS["payments"].empty_frame())


def test_invalid_utf8_quarantines_only_that_row(tmp_path):
    directory = make_export(tmp_path / "in")
    data = b"account_id,ts,prompt\nacc-1,2024-03-01T00:00:00Z,ok\nacc-2,2024-03-01T00:00:00Z,caf\xe9\nacc-3,1709294400,fine\n"
    (directory / "requests.csv").write_bytes(data)
    quarantine = Quarantine(tmp_path / "q")
    frame = ExportReader(directory, quarantine).read("requests")
    assert frame["account_id"].tolist() == ["acc-1", "acc-3"]
    (line,) = quarantine_lines(tmp_path / "q", "requests")
    assert (line["row_number"], line["reason"]) == (2, "invalid_encoding")


def test_malformed_jsonl_lines_and_blank_lines(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    lines = [
        json.dumps({"account_id": "acc-1", "ts": "2024-03-01T00:00:00Z"}),
        "",
        "{not json " + SECRET,
        json.dumps(["a", "list"]),
        "   ",
        json.dumps({"Account_ID": "acc-6", "TS": 1709294400, "prompt": SECRET, "input_tokens": -1}),
        json.dumps({"account_id": "acc-7", "ts": "2024-03-01T00:00:00Z"}),
    ]
    (directory / "requests.jsonl").write_bytes(("\n".join(lines) + "\n").encode() + b'{"account_id": "x\xff"}\n')
    for chunk_rows in (2, 1000):
        quarantine = Quarantine(tmp_path / f"q{chunk_rows}")
        frame = ExportReader(directory, quarantine, chunk_rows=chunk_rows).read("requests")
        assert frame["account_id"].tolist() == ["acc-1", "acc-7"]
        found = [(item["row_number"], item["reason"]) for item in quarantine_lines(tmp_path / f"q{chunk_rows}", "requests")]
        assert sorted(found) == [(3, "malformed_row"), (4, "malformed_row"), (6, "negative_tokens"), (8, "invalid_encoding")]
        assert SECRET.encode() not in (tmp_path / f"q{chunk_rows}" / "requests.jsonl").read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_prompt_text_never_reaches_quarantine_files(tmp_path, fmt):
    rows = [
        dict(GOOD_REQUEST, prompt=SECRET + " /a/b \\ \"q\"", ip="not-an-ip"),
        dict(GOOD_REQUEST, prompt=SECRET + "\n" + "z" * 200),
        dict(GOOD_REQUEST, prompt=SECRET, input_tokens=-5),
    ]
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    write_kind(directory, "requests", rows, fmt)
    quarantine = Quarantine(tmp_path / "q")
    ExportReader(directory, quarantine, max_prompt_chars=150).read("requests")
    assert quarantine.total == 3
    blob = b"".join(p.read_bytes() for p in (tmp_path / "q").iterdir())
    for needle in (SECRET, "TOP-SECRET", "0xDEADBEEF", json.dumps(SECRET)[1:-1]):
        assert needle.encode() not in blob
    lines = quarantine_lines(tmp_path / "q", "requests")
    assert {item["prompt_chars"] for item in lines} == {len(r["prompt"]) for r in rows}


def test_quarantine_is_appended_per_kind_and_counted(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "accounts.csv", ACCOUNTS + [{"account_id": "", "created_at": "x"}])
    write_csv(directory / "requests.csv", [dict(GOOD_REQUEST, ip="x"), dict(GOOD_REQUEST, ip="y"), GOOD_REQUEST])
    quarantine = Quarantine(tmp_path / "q")
    reader = ExportReader(directory, quarantine)
    for kind in KINDS:
        reader.read(kind)
    assert quarantine.counts() == {("accounts", "missing_account_id"): 1, ("requests", "invalid_ip"): 2}
    assert quarantine.total == 3
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["accounts.jsonl", "requests.jsonl"]


def test_count_only_quarantine_writes_nothing(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", [dict(GOOD_REQUEST, ip="x"), GOOD_REQUEST])
    quarantine = Quarantine(None)
    assert len(ExportReader(directory, quarantine).read("requests")) == 1
    assert quarantine.counts() == {("requests", "invalid_ip"): 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_interrupted_quarantine_write_is_repaired(tmp_path):
    path = tmp_path / "q" / "requests.jsonl"
    path.parent.mkdir()
    path.write_bytes(b'{"row_number": 1}\n{"row_numb')
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", [dict(GOOD_REQUEST, ip="x")])
    ExportReader(directory, Quarantine(tmp_path / "q")).read("requests")
    lines = [json.loads(item) for item in path.read_text().splitlines()]  # every line parses
    assert lines[0] == {"row_number": 1} and lines[1]["reason"] == "invalid_ip"


def test_truncate_partial_line_without_any_newline(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"half')
    _truncate_partial_line(path)
    assert path.read_bytes() == b""


def test_strict_mode_raises_on_the_first_bad_row(tmp_path):
    directory = make_export(tmp_path / "in")
    rows = [GOOD_REQUEST, GOOD_REQUEST, dict(GOOD_REQUEST, ts="later"), dict(GOOD_REQUEST, ip="x")]
    write_csv(directory / "requests.csv", rows)
    reader = ExportReader(directory, Quarantine(tmp_path / "q", strict=True))
    with pytest.raises(InputError) as caught:
        reader.read("requests")
    assert str(caught.value) == f"{directory / 'requests.csv'} row 3: bad_timestamp:ts"
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "q").exists()


def test_strict_mode_reports_malformed_rows_too(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").write_text(
        "account_id,ts\nacc-1,2024-03-01T00:00:00Z\nacc-2,2024-03-01T00:00:00Z,extra\nacc-3,bad\n", "utf-8"
    )
    with pytest.raises(InputError, match=r"requests\.csv row 2: malformed_row"):
        ExportReader(directory, Quarantine(None, strict=True), chunk_rows=1).read("requests")


# ---------------------------------------------------------------- unusable inputs


def test_missing_required_file(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "payments.csv").unlink()
    with pytest.raises(InputError) as caught:
        ExportReader(directory, Quarantine(None))
    message = str(caught.value)
    assert "payments.*" in message and "accounts.csv" in message and "\n" not in message
    assert caught.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_required_column_names_file_and_column(tmp_path, fmt):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    rows = [{k: v for k, v in GOOD_REQUEST.items() if k != "ts"} | {"time": "2024"}]
    if fmt == "parquet":
        pq.write_table(pa.table({k: [str(v)] for k, v in rows[0].items()}), directory / "requests.parquet")
    else:
        write_kind(directory, "requests", rows, fmt)
    with pytest.raises(InputError) as caught:
        ExportReader(directory, Quarantine(None))
    message = str(caught.value)
    assert f"requests.{fmt}" in message and "missing required column(s) ts" in message
    assert "found" in message and "account_id" in message and "time" in message


def test_missing_columns_are_checked_before_reading_data(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "payments.csv", [{"account_id": "a", "fingerprint": "x"}])
    # requests.csv is corrupt beyond its header: never read because payments fails first.
    (directory / "requests.csv").write_bytes(b"account_id,ts\n" + b"\x00garbage" * 1000)
    with pytest.raises(InputError, match=r"payments\.csv: missing required column\(s\) payment_fingerprint"):
        ExportReader(directory, Quarantine(None))


def test_identifiers_when_present_need_their_columns(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "identifiers.csv", [{"account_id": "a", "value": "v"}])
    with pytest.raises(InputError, match=r"identifiers\.csv: missing required column\(s\) kind"):
        ExportReader(directory, Quarantine(None))


def test_ambiguous_files(tmp_path):
    directory = make_export(tmp_path / "in")
    write_parquet(directory / "accounts.parquet", "accounts", ACCOUNTS)
    with pytest.raises(InputError) as caught:
        discover(directory)
    assert "accounts.csv" in str(caught.value) and "accounts.parquet" in str(caught.value)
    assert "ambiguous" in str(caught.value)


def test_duplicate_column_spellings(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "payments.csv").write_text("account_id,payment_fingerprint,Account_ID\na,b,c\n", "utf-8")
    with pytest.raises(InputError, match="account_id"):
        ExportReader(directory, Quarantine(None))


def test_path_must_be_an_existing_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        discover(tmp_path / "nope")
    directory = make_export(tmp_path / "in")
    with pytest.raises(InputError, match="not a directory"):
        discover(directory / "accounts.csv")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("requests.csv.gz", b"not gzip at all"),
        ("requests.csv.gz", None),  # truncated gzip stream
        ("requests.jsonl.gz", b"\x1f\x8b\x08\x00garbage"),
        ("requests.parquet", b"PAR1 this is not parquet"),
    ],
)
def test_unreadable_files_raise_input_error_naming_the_file(tmp_path, name, content):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    if content is None:
        rows = "account_id,ts\n" + "".join(f"acc-{i},2024-03-01T00:00:00Z\n" for i in range(20000))
        content = gzip.compress(rows.encode())[:-2000]
    (directory / name).write_bytes(content)
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        reader = ExportReader(directory, Quarantine(None))
        reader.read("requests")


def test_empty_csv_without_header(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "accounts.csv").write_bytes(b"")
    with pytest.raises(InputError, match=r"accounts\.csv: empty file"):
        ExportReader(directory, Quarantine(None))


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("chunk_rows", 0, "chunk_rows must be a positive integer, got 0"),
        ("chunk_rows", -3, "chunk_rows must be a positive integer, got -3"),
        ("max_prompt_chars", 0, "max_prompt_chars must be a positive integer, got 0"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, option, value, message):
    """ExportReader refuses a reader option below 1 with a ConfigError (exit 2) naming the option and value."""
    directory = make_export(tmp_path / "in")
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$") as caught:
        ExportReader(directory, Quarantine(None), **{option: value})
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    ExportReader(directory, Quarantine(None), **{option: 1})  # 1 is the smallest valid value


# ---------------------------------------------------------------- chunking


def _many_requests(n: int = 50) -> list[dict]:
    rows = []
    for i in range(n):
        row = dict(REQUESTS[i % len(REQUESTS)], account_id=f"acc-{i}")
        if i % 11 == 5:
            row["ip"] = "bogus"
        if i % 13 == 7:
            row["input_tokens"] = -1
        rows.append(row)
    return rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunk_size_does_not_change_the_result(tmp_path, fmt):
    directory = make_export(tmp_path / "in")
    (directory / "requests.csv").unlink()
    write_kind(directory, "requests", _many_requests(), fmt)
    results = {}
    for chunk_rows in (7, 1_000):
        quarantine = Quarantine(tmp_path / f"q{chunk_rows}")
        reader = ExportReader(directory, quarantine, chunk_rows=chunk_rows)
        chunks = list(reader.chunks("requests"))
        assert all(len(c) <= chunk_rows for c in chunks)
        results[chunk_rows] = (pd.concat(chunks, ignore_index=True), quarantine_lines(tmp_path / f"q{chunk_rows}", "requests"))
    assert len(list(ExportReader(directory, Quarantine(None), chunk_rows=7).chunks("requests"))) > 1
    pd.testing.assert_frame_equal(results[7][0], results[1_000][0])
    assert results[7][1] == results[1_000][1]
    assert len(results[7][0]) + len(results[7][1]) == 50


def test_chunks_are_indexed_from_zero(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "requests.csv", _many_requests())
    for chunk in ExportReader(directory, Quarantine(None), chunk_rows=7).chunks("requests"):
        assert chunk.index.equals(pd.RangeIndex(len(chunk)))


def test_csv_values_are_never_type_guessed(tmp_path):
    directory = make_export(tmp_path / "in")
    write_csv(directory / "payments.csv", [{"account_id": "007", "payment_fingerprint": "NULL", "card_bin": "000123", "billing_country": "NA"}])
    frame = ExportReader(directory, Quarantine(None)).read("payments")
    assert frame.iloc[0][["account_id", "payment_fingerprint", "card_bin", "billing_country"]].tolist() == ["007", "NULL", "000123", "NA"]


def test_numeric_json_ids_become_text(tmp_path):
    directory = make_export(tmp_path / "in")
    (directory / "payments.csv").unlink()
    (directory / "payments.jsonl").write_text(
        json.dumps({"account_id": 12345, "payment_fingerprint": 7.0, "card_bin": 411111}) + "\n", "utf-8"
    )
    frame = ExportReader(directory, Quarantine(None)).read("payments")
    assert frame.iloc[0][["account_id", "payment_fingerprint", "card_bin"]].tolist() == ["12345", "7", "411111"]
    assert np.all(frame["added_at"].isna())
