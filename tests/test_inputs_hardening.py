"""Issue 11, inputs: one bad row is one quarantined row, and the tool says what it did with the export.

Each test goes through the real CLI (``python -m graphlinker`` or typer's CliRunner on the same app)
and fails on the code before the hardening: a CSV row longer than pyarrow's block, typed values
coerced silently, hidden characters in ids, silent deduplication, empty required files, spreadsheet
formulas in ``--format csv``, and a ``requests.csv`` that is not a file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from graphlinker.cli.app import app
from graphlinker.errors import ExitCode
from graphlinker.ingest import formats
from graphlinker.ingest.formats import CsvSource, LongRowFilter
from graphlinker.ingest.readers import ExportReader, Quarantine
from graphlinker.report.render import spreadsheet_safe

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
SECRET = "TOP-SECRET distillation prompt 0xC0FFEE: "
csv.field_size_limit(1 << 30)


# ---------------------------------------------------------------- helpers


def cli(*args: str) -> subprocess.CompletedProcess:
    """The installed entry point exactly as a scheduler runs it."""
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True, cwd=ROOT)


def invoke(*args: str):
    """The same app in-process (faster); stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(text.split())


def assert_one_line_error(stderr: str, *fragments: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def demo_copy(directory: Path) -> Path:
    """The committed demo export with requests as plain CSV (so tests can edit it)."""
    shutil.copytree(DEMO, directory, ignore=shutil.ignore_patterns("truth.csv"))
    with gzip.open(directory / "requests.csv.gz", "rb") as packed:
        (directory / "requests.csv").write_bytes(packed.read())
    (directory / "requests.csv.gz").unlink()
    return directory


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def tiny_export(directory: Path, **files: str) -> Path:
    """A few good rows of every required kind; ``files`` replaces a file's text (name -> content)."""
    directory.mkdir(parents=True, exist_ok=True)
    texts = {
        "accounts.csv": "account_id,created_at,email_domain,country\n"
        "acc-1,2024-01-01T00:00:00Z,example.com,US\nacc-2,2024-01-01T00:01:00Z,example.com,US\n"
        "acc-3,2024-01-02T00:00:00Z,mail.test,DE\n",
        "payments.csv": "account_id,payment_fingerprint,added_at\n"
        "acc-1,fp-1,2024-01-01T00:00:00Z\nacc-2,fp-1,2024-01-01T00:05:00Z\nacc-3,fp-3,2024-01-02T00:00:00Z\n",
        "requests.csv": "account_id,ts,ip,prompt,input_tokens,output_tokens\n"
        "acc-1,2024-03-01T12:00:00Z,10.0.0.1,hello there,10,20\n"
        "acc-2,2024-03-01T12:00:30Z,10.0.0.1,hello again,10,20\n"
        "acc-3,2024-03-02T12:00:00Z,10.0.9.9,something else,5,5\n",
    }
    texts.update(files)
    for name, text in texts.items():
        (directory / name).write_text(text, "utf-8")
    return directory


def quarantined(workspace: Path, kind: str) -> list[dict]:
    lines = []
    for path in sorted((workspace / "quarantine").glob(f"*/{kind}.jsonl")):
        lines += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return lines


def run_args(export: Path, workspace: Path, *extra: str) -> list[str]:
    return ["run", str(export), "--workspace", str(workspace), "--store", "local", "--format", "json", *extra]


# ---------------------------------------------------------------- 1. a CSV row longer than pyarrow's block


LONG_ROW = 9000  # well past pyarrow's first 1 MiB block of the demo's requests


@pytest.fixture(scope="module")
def long_prompt_export(tmp_path_factory) -> Path:
    export = demo_copy(tmp_path_factory.mktemp("long") / "export")
    rows = read_rows(export / "requests.csv")
    assert len(rows) > LONG_ROW + 1
    rows[LONG_ROW][5] = SECRET + "x" * (2 << 20)  # a 2 MB prompt
    write_rows(export / "requests.csv", rows)
    return export


def test_a_2mb_prompt_in_csv_is_quarantined_and_the_run_goes_on(long_prompt_export, tmp_path):
    result = cli(*run_args(long_prompt_export, tmp_path / "ws"))
    assert result.returncode == 0, result.stderr
    assert "straddl" not in result.stderr
    assert "requests/prompt_too_long 1" in flat(result.stderr)
    report = json.loads(result.stdout)
    assert report["summary"]["quarantined_rows"] == 1 and report["clusters"]
    [line] = quarantined(tmp_path / "ws", "requests")
    assert (line["row_number"], line["reason"]) == (LONG_ROW, "prompt_too_long")
    assert line["raw_chars"] > 2 << 20 and len(line["raw_sha256"]) == 64
    assert line["account_id"].startswith("acct_") and "prompt" not in line
    for place in (result.stdout, result.stderr, json.dumps(line)):
        assert SECRET not in place


def test_a_2mb_prompt_under_strict_is_a_one_line_error(long_prompt_export, tmp_path):
    result = cli(*run_args(long_prompt_export, tmp_path / "ws", "--strict"))
    assert result.returncode == ExitCode.BAD_INPUT
    assert_one_line_error(result.stderr, f"requests.csv row {LONG_ROW}: prompt_too_long")
    assert SECRET not in result.stderr and result.stdout == ""


def test_any_long_field_is_quarantined_with_its_reason(tmp_path):
    """Long user agent, long ignored column, long prompt, in plain and gzip CSV; the other rows are kept exactly."""
    header = "account_id,ts,user_agent,notes,prompt\n"
    good = [f"acc-{i},2024-03-01T00:00:{i % 60:02d}Z,curl/8,n{i},p{i}\n" for i in range(1, 3001)]
    rows = list(good)
    rows[500] = f'acc-501,2024-03-01T00:00:21Z,"{"u" * (3 << 20)}",n501,p501\n'  # row 501
    rows[1200] = f'acc-1201,2024-03-01T00:00:01Z,curl/8,"{"n" * (3 << 20)}",p1201\n'  # row 1201
    rows[2500] = f'acc-2501,2024-03-01T00:00:41Z,curl/8,n2501,"{SECRET}{"é" * (2 << 20)}\nline ""2"""\n'  # row 2501
    rows.insert(2000, "\n")  # a blank line is not a row
    text = (header + "".join(rows)).encode()
    for name in ("requests.csv", "requests.csv.gz"):
        export = tiny_export(tmp_path / name)
        (export / "requests.csv").unlink()
        (export / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
        quarantine = Quarantine(tmp_path / f"q-{name}")
        frame = ExportReader(export, quarantine, chunk_rows=700).read("requests")
        assert quarantine.counts() == {("requests", "field_too_long:user_agent"): 1, ("requests", "row_too_long"): 1,
                                       ("requests", "prompt_too_long"): 1}
        kept = [f"acc-{i}" for i in range(1, 3001) if i not in (501, 1201, 2501)]
        assert frame["account_id"].tolist() == kept
        lines = [json.loads(line) for line in (tmp_path / f"q-{name}" / "requests.jsonl").read_text().splitlines()]
        assert sorted((line["row_number"], line["reason"]) for line in lines) == [
            (501, "field_too_long:user_agent"), (1201, "row_too_long"), (2501, "prompt_too_long")]
        assert SECRET not in (tmp_path / f"q-{name}" / "requests.jsonl").read_text()


def test_normal_files_never_take_the_long_row_path(tmp_path, monkeypatch):
    """The filter costs a Python pass over the bytes: only a file pyarrow refuses may pay for it."""
    def refuse(*args, **kwargs):
        raise AssertionError("LongRowFilter used on a normal file")

    monkeypatch.setattr(formats, "LongRowFilter", refuse)
    export = demo_copy(tmp_path / "export")
    frame = ExportReader(export, Quarantine(None)).read("requests")
    assert len(frame) == len(read_rows(export / "requests.csv")) - 1


def test_memory_stays_bounded_whatever_the_row_length(tmp_path):
    """A 128 MiB field costs about what a 1 MiB one does (the row is hashed as it streams by, never held)."""
    path = tmp_path / "requests.csv"
    with open(path, "wb") as handle:
        handle.write(b"account_id,ts,prompt\n")
        handle.write(b"".join(b"a%d,2024-03-01T00:00:00Z,hello %d\n" % (i, i) for i in range(20000)))
        handle.write(b'big,2024-03-01T00:00:00Z,"' + b"x" * (128 << 20) + b'"\n')
        handle.write(b"".join(b"b%d,2024-03-01T00:00:00Z,hello %d\n" % (i, i) for i in range(20000)))
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from graphlinker.ingest.formats import CsvSource\n"
        "source = CsvSource(Path(sys.argv[1]))\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "rows = rejects = 0\n"
        "for chunk in source.batches({'account_id': 'account_id', 'ts': 'ts', 'prompt': 'prompt'}, 10000):\n"
        "    rows += len(chunk.frame); rejects += len(chunk.rejects)\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(rows, rejects, grown // 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows, rejects, grown_mib = map(int, result.stdout.split())
    assert (rows, rejects) == (40000, 1)
    assert grown_mib < 100, f"peak memory grew by {grown_mib} MiB reading a 128 MiB field"


def _random_csv(rng: random.Random, limit: int) -> bytes:
    rows = []
    for i in range(rng.randint(1, 50)):
        fields = []
        for _ in range(rng.choice([2, 2, 2, 1, 3])):
            pick = rng.random()
            if pick < 0.12:
                body = "".join(rng.choice('ab,\n"é') for _ in range(rng.randint(0, 3 * limit)))
                fields.append('"' + body.replace('"', '""') + '"')
            elif pick < 0.25:
                fields.append("z" * rng.randint(0, 2 * limit))
            elif pick < 0.35:
                fields.append('x"y')  # a quote inside an unquoted field is literal
            elif pick < 0.45:
                fields.append('"q""r"s')  # text after a closing quote
            else:
                fields.append(f"v{i}")
        rows.append(",".join(fields) + rng.choice(["\n", "\r\n", "\r", "\n\n"]))
    text = "a,b\n" + "".join(rows)
    return (text.rstrip("\r\n") if rng.random() < 0.3 else text).encode()


def _parse(data: bytes) -> tuple[list[tuple], list[int]]:
    """pyarrow with a block larger than any row: the reference rows, and the malformed rows' numbers."""
    bad: list[int] = []

    def handler(row):
        bad.append(row.number - 1)
        return "skip"

    table = pacsv.open_csv(
        io.BytesIO(data), read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(column_types={"a": pa.binary(), "b": pa.binary()}),
    ).read_all()
    return list(zip(table.column("a").to_pylist(), table.column("b").to_pylist())), bad


def test_long_row_filter_drops_exactly_the_long_records_as_pyarrow_sees_them():
    """Differential: the filtered stream parses to the reference rows minus the cut ones, numbered alike."""
    rng = random.Random(11)
    for _ in range(150):
        data = _random_csv(rng, 256)
        rows, bad = _parse(data)
        numbers = sorted(set(range(1, len(rows) + len(bad) + 1)) - set(bad))
        reference = dict(zip(numbers, rows))
        stream = LongRowFilter(io.BytesIO(data), 256, read_bytes=rng.choice([5, 64, 300, 4096]))
        kept_rows, kept_bad = _parse(stream.read())
        cut = [number for number, _, _ in stream.cuts]
        remaining = [n for n in range(1, len(rows) + len(bad) + 1) if n not in cut]
        kept_numbers = [n for i, n in enumerate(remaining, 1) if i not in set(kept_bad)]
        assert dict(zip(kept_numbers, kept_rows)) == {n: r for n, r in reference.items() if n not in cut}
        for _number, head, fingerprint in stream.cuts:
            assert len(head) == 256 and fingerprint.chars > 0


def test_the_second_pass_hands_out_each_row_once(tmp_path):
    """A straddle after some chunks were handed out: the retry goes on after them, numbers stay exact."""
    path = tmp_path / "requests.csv"
    body = [f"acc-{i},2024-03-01T00:00:00Z,p{i}\n" for i in range(1, 2001)]
    body[1499] = f"acc-1500,2024-03-01T00:00:00Z,{'y' * 20000}\n"
    body[99] = "acc-100\n"  # malformed, handed out by the first pass
    body[1799] = "acc-1800\n"  # malformed, after the long row
    path.write_text("account_id,ts,prompt\n" + "".join(body))
    source = CsvSource(path, block_bytes=4096)
    numbers, rejects = [], []
    for chunk in source.batches({"account_id": "account_id", "ts": "ts", "prompt": "prompt"}, 300):
        numbers += chunk.row_numbers.tolist()
        rejects += [(r["row_number"], r["reason"]) for r in chunk.rejects.to_dict("records")] if len(chunk.rejects) else []
        assert chunk.frame["account_id"].tolist() == [f"acc-{n}" for n in chunk.row_numbers.tolist()]
    assert numbers == [n for n in range(1, 2001) if n not in (100, 1500, 1800)]
    assert sorted(rejects) == [(100, "malformed_row"), (1500, "prompt_too_long"), (1800, "malformed_row")]


# ---------------------------------------------------------------- 2. typed formats are not coerced silently


def typed_export(directory: Path) -> Path:
    export = tiny_export(directory)
    (export / "accounts.csv").unlink()
    pq.write_table(pa.table({
        "account_id": pa.array([1, 2, 3, 7], pa.int64()),  # whole numbers are ids: "1", "2", "3", "7"
        "created_at": pa.array([1.5, 1709294400.0, 1709294400.0, 1709294400.5], pa.float64()),  # 1.5 s: 1970
        "email_domain": pa.array([None, ["b.com", "c.com"], None, None], pa.list_(pa.string())),
        "country": pa.array([None, None, True, None], pa.bool_()),
    }), export / "accounts.parquet")
    (export / "payments.csv").unlink()
    records = [{"account_id": {"nested": 1}, "payment_fingerprint": "fp-1"},
               {"account_id": True, "payment_fingerprint": "fp-1"},
               {"account_id": 12, "payment_fingerprint": "fp-1"},
               {"account_id": 1.5, "payment_fingerprint": "fp-1"},
               {"account_id": "acc-1", "payment_fingerprint": ["fp", "1"]},
               {"account_id": "acc-2", "payment_fingerprint": "fp-1", "added_at": 1709294400000}]  # milliseconds
    (export / "payments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return export


def test_typed_values_a_column_cannot_take_are_quarantined(tmp_path):
    result = invoke(*run_args(typed_export(tmp_path / "export"), tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    reasons = {(line["row_number"], line["reason"]) for line in quarantined(tmp_path / "ws", "accounts")}
    assert reasons == {(1, "bad_timestamp:created_at"), (2, "bad_type:email_domain"), (3, "bad_type:country")}
    reasons = {(line["row_number"], line["reason"]) for line in quarantined(tmp_path / "ws", "payments")}
    assert reasons == {(1, "bad_type:account_id"), (2, "bad_type:account_id"), (4, "bad_type:account_id"),
                       (5, "bad_type:payment_fingerprint"), (6, "bad_timestamp:added_at")}
    summary = json.loads(result.stdout)["summary"]
    # acc-1..3 (requests), "7" (accounts: an integer id), "12" (payments): never "{'nested': 1}" nor "True"
    assert summary["accounts"] == 5 and summary["quarantined_rows"] == 8


def test_typed_values_under_strict_are_an_error(tmp_path):
    result = invoke(*run_args(typed_export(tmp_path / "export"), tmp_path / "ws", "--strict"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert_one_line_error(result.stderr, "accounts.parquet row 1: bad_timestamp:created_at")


def test_what_each_column_accepts(tmp_path):
    """Integers (and whole floats) as ids become their decimal string; booleans, objects, lists never do."""
    export = tiny_export(tmp_path / "export")
    (export / "requests.csv").unlink()
    lines = [
        {"account_id": 42, "ts": 1709294400},  # 1: fine, id "42"
        {"account_id": 43.0, "ts": "2024-03-01T00:00:00Z"},  # 2: fine, id "43"
        {"account_id": "acc-1", "ts": True},  # 3: bad_type:ts
        {"account_id": "acc-1", "ts": 2024},  # 4: a year is not epoch seconds: bad_timestamp:ts
        {"account_id": "acc-1", "ts": 1709294400, "prompt": {"role": "user"}},  # 5: bad_type:prompt
        {"account_id": "acc-1", "ts": 1709294400, "input_tokens": False},  # 6: bad_type:input_tokens
        {"account_id": "acc-1", "ts": 1709294400, "model": ["m"]},  # 7: bad_type:model
        {"account_id": "acc-1", "ts": 1709294400, "ip": 167772161},  # 8: invalid_ip (a number is no address)
    ]
    (export / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    quarantine = Quarantine(None)
    frame = ExportReader(export, quarantine).read("requests")
    assert frame["account_id"].tolist() == ["42", "43"]
    assert quarantine.counts() == {("requests", r): 1 for r in (
        "bad_type:ts", "bad_timestamp:ts", "bad_type:prompt", "bad_type:input_tokens", "bad_type:model", "invalid_ip")}


# ---------------------------------------------------------------- 3. hidden characters and padding in ids


def test_ids_with_hidden_characters_are_quarantined_and_padding_is_counted(tmp_path):
    export = tiny_export(
        tmp_path / "export",
        **{"identifiers.csv": "account_id,kind,value\n"
           "acc-1,device,dev-1\n"
           "acc-2,device,dev\x00-1\n"  # NUL
           "acc-3,device,dev-\u202e1\n"  # right-to-left override
           "acc-1\u200b,device,dev-2\n"  # zero-width space in the account id
           "acc-2,device,\ufeffdev-2\n"  # BOM (zero-width no-break space)
           " acc-3 ,device, dev-1 \n"  # padding: stripped, so acc-3 shares dev-1 with acc-1
           "acc-2,device,dev-1\t\n"},
    )
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    reasons = sorted((line["row_number"], line["reason"]) for line in quarantined(tmp_path / "ws", "identifiers"))
    assert reasons == [(2, "invisible_character:value"), (3, "invisible_character:value"),
                       (4, "invisible_character:account_id"), (5, "invisible_character:value")]
    stderr = flat(result.stderr)
    assert "identifiers/invisible_character:value 3" in stderr
    assert "stripped surrounding whitespace from 3 id value(s) (identifiers/account_id 1, identifiers/value 2)" in stderr
    strict = invoke(*run_args(export, tmp_path / "ws2", "--strict"))
    assert strict.exit_code == ExitCode.BAD_INPUT
    assert_one_line_error(strict.stderr, "identifiers.csv row 2: invisible_character:value")


# ---------------------------------------------------------------- 4. duplicates are counted out loud


def test_skipped_duplicate_rows_are_counted_on_stderr(tmp_path):
    export = tiny_export(tmp_path / "export")
    payments = (export / "payments.csv").read_text()
    (export / "payments.csv").write_text(payments + "acc-1,fp-1,2024-01-01T00:00:00Z\n" * 2)
    requests = (export / "requests.csv").read_text()
    (export / "requests.csv").write_text(requests + "acc-3,2024-03-02T12:00:00Z,10.0.9.9,something else,5,5\n")
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "duplicate" in line]
    assert len(notes) == 1 and "skipped 3 duplicate row(s)" in notes[0], result.stderr
    clean = invoke(*run_args(tiny_export(tmp_path / "clean"), tmp_path / "ws2"))
    assert clean.exit_code == 0 and "duplicate" not in clean.stderr


def test_a_refresh_counts_rows_it_already_had(tmp_path):
    first = tiny_export(tmp_path / "first")
    assert invoke(*run_args(first, tmp_path / "ws")).exit_code == 0
    later = tmp_path / "later"
    later.mkdir()
    (later / "requests.csv").write_text((first / "requests.csv").read_text()
                                        + "acc-1,2024-03-03T12:00:00Z,10.0.0.1,new one,1,1\n")
    result = invoke("refresh", str(later), "--workspace", str(tmp_path / "ws"), "--store", "local")
    assert result.exit_code == 0, result.output
    assert "skipped 3 duplicate row(s) (already loaded or repeated" in flat(result.stderr)


# ---------------------------------------------------------------- 5. a required file without a usable row


@pytest.mark.parametrize("kind", ["requests", "accounts"])
def test_a_header_only_required_file_warns_and_fails_under_strict(tmp_path, kind):
    export = tiny_export(tmp_path / "export")
    header = (export / f"{kind}.csv").read_text().splitlines()[0]
    (export / f"{kind}.csv").write_text(header + "\n")
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0, result.output  # accounts: exit 1 (KeyError 'created_at') before
    assert f"{kind}.csv: no usable row (header only); no {kind} loaded from it" in flat(result.stderr)
    strict = invoke(*run_args(export, tmp_path / "ws2", "--strict"))
    assert strict.exit_code == ExitCode.BAD_INPUT
    assert_one_line_error(strict.stderr, f"{kind}.csv: no usable row (header only)", "--strict")


def test_a_required_file_whose_every_row_is_quarantined_warns(tmp_path):
    export = tiny_export(tmp_path / "export", **{"payments.csv": "account_id,payment_fingerprint\n,fp-1\nacc-1,\n"})
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    stderr = flat(result.stderr)
    assert "payments.csv: no usable row (all 2 rows quarantined); no payments loaded from it" in stderr
    assert "quarantined 2 bad rows" in stderr


def test_an_empty_jsonl_required_file_warns(tmp_path):
    export = tiny_export(tmp_path / "export")
    (export / "requests.csv").unlink()
    (export / "requests.jsonl").write_text("")
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0 and "requests.jsonl: no usable row (no rows)" in flat(result.stderr)


# ---------------------------------------------------------------- 6. no spreadsheet formulas in --format csv


TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def assert_no_formula_cells(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS), cell
    return rows


def test_spreadsheet_safe():
    assert [spreadsheet_safe(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "acc-1", "", None, 5)] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "acc-1", "", "", "5"]


def test_report_and_templates_csv_never_start_a_cell_with_a_formula(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    for name in ("accounts.csv", "payments.csv", "identifiers.csv"):
        rows = read_rows(DEMO / name)
        for row in rows[1:]:
            row[0] = "=" + row[0]
        write_rows(export / name, rows)
    with gzip.open(DEMO / "requests.csv.gz", "rt", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        row[0], row[5] = "=" + row[0], "=cmd|' /C calc'!A0 " + row[5]
    write_rows(export / "requests.csv", rows)
    result = invoke("run", str(export), "--workspace", str(tmp_path / "ws"), "--store", "local", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = assert_no_formula_cells(result.stdout)
    assert len(rows) > 2 and all(row[5].startswith("'=acct_") for row in rows[1:])
    again = invoke("report", "--workspace", str(tmp_path / "ws"), "--store", "local", "--format", "csv")
    assert again.exit_code == 0 and again.stdout == result.stdout
    templates = invoke("templates", "--workspace", str(tmp_path / "ws"), "--store", "local", "--format", "csv")
    assert templates.exit_code == 0, templates.output
    rows = assert_no_formula_cells(templates.stdout)
    assert any(row[6].startswith("'=cmd") for row in rows[1:])


def test_query_results_as_csv_never_start_a_cell_with_a_formula(neo4j_server):
    """Through the real CLI and a real server: the values come back from Neo4j as an analyst would get them."""
    import subprocess
    import sys

    env = {**os.environ, "NEO4J_URI": neo4j_server["uri"], "NEO4J_USER": neo4j_server["user"],
           "NEO4J_PASSWORD": neo4j_server["password"], "NEO4J_DATABASE": neo4j_server["database"] or "neo4j"}
    query = ("UNWIND [{x: '=HYPERLINK(\"http://evil\")', n: -5, ids: ['-1+2', 'b'], m: {`@`: 1}}, "
             "{x: '\tcmd', n: 1.5, ids: [], m: null}] AS row "
             "RETURN row.x AS `=x`, row.n AS n, row.ids AS ids, row.m AS m")
    result = subprocess.run([sys.executable, "-m", "graphlinker", "cypher", query, "--format", "csv"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert lines == [["'=x", "n", "ids", "m"], ["'=HYPERLINK(\"http://evil\")", "-5", "'-1+2;b", '{"@":1}'],
                     ["'\tcmd", "1.5", "", ""]]


# ---------------------------------------------------------------- 7. an input name that is not a file


@pytest.mark.parametrize("case, expected", [
    ("directory", "requests.csv: is a directory, not a file"),
    ("dangling", "requests.csv: is a dangling symbolic link (its target nowhere.csv does not exist)"),
    ("loop", "requests.csv: is a symbolic link loop"),
])
def test_a_requests_csv_that_is_not_a_file_names_the_cause(tmp_path, case, expected):
    export = tiny_export(tmp_path / "export")
    target = export / "requests.csv"
    target.unlink()
    if case == "directory":
        target.mkdir()
    elif case == "dangling":
        os.symlink("nowhere.csv", target)
    else:
        os.symlink("requests.csv", target)
    result = cli(*run_args(export, tmp_path / "ws"))
    assert result.returncode == ExitCode.BAD_INPUT and result.stdout == ""
    line = assert_one_line_error(result.stderr, expected)
    assert "missing" not in line and "found:" not in line
    refresh = cli("refresh", str(export), "--workspace", str(tmp_path / "ws"), "--store", "local")
    assert refresh.returncode == ExitCode.BAD_INPUT
    assert_one_line_error(refresh.stderr, expected)


def test_a_symlink_to_a_real_file_is_still_read(tmp_path):
    export = tiny_export(tmp_path / "export")
    (export / "requests.csv").rename(tmp_path / "elsewhere.csv")
    os.symlink(tmp_path / "elsewhere.csv", export / "requests.csv")
    result = invoke(*run_args(export, tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "elsewhere.csv").shape[0] == 3


@pytest.mark.parametrize("case, expected", [
    ("directory", "requests.csv: is a directory, not a file; a requests input must be a file"),
    ("dangling", "requests.csv is a dangling symbolic link (its target nowhere.csv does not exist)"),
    ("loop", "requests.csv is a symbolic link loop"),
])
def test_refresh_of_a_single_input_that_is_not_a_file_names_the_cause(tmp_path, case, expected):
    """`refresh FILE` names the cause too, not "does not exist" or "no input files"."""
    target = tmp_path / "drop" / "requests.csv"
    target.parent.mkdir()
    if case == "directory":
        target.mkdir()
    elif case == "dangling":
        os.symlink("nowhere.csv", target)
    else:
        os.symlink("requests.csv", target)
    result = invoke("refresh", str(target), "--workspace", str(tmp_path / "ws"))
    assert result.exit_code == 2, result.output
    assert expected in flat(result.stderr) and "Traceback" not in result.output
