"""Event keys: the canonical encoding (key format 1), golden keys that must never change, and the
migration of stores written with format-0 keys (``pandas.util.hash_pandas_object``), on both stores."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlinker.errors import ExitCode, NothingNew
from graphlinker.ingest import ledger
from graphlinker.ingest.ledger import (
    KEY_FORMAT,
    LEGACY_KEY_FORMAT,
    LegacyKeysUnusable,
    SeenKeys,
    _legacy_event_keys,
    encode_events,
    event_keys,
)
from graphlinker.ingest.readers import Quarantine
from graphlinker.ingest.schema import SPECS, TIMESTAMP_COL, TOKENS
from graphlinker.pipeline import refresh, run
from graphlinker.settings import Settings
from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]
OLD_COMMIT = "cccf595e83e72c0759ce5557b5d295831402bcf5"  # the last commit whose stores hold format-0 keys only


# --------------------------------------------------------------------------- the encoding, from its documented rules

def field(tag: str, text: str) -> bytes:
    """``field(t, s) = t + ascii(decimal(len(utf8(s)))) + b":" + utf8(s)`` (graphlinker.ingest.ledger's docstring)."""
    data = text.encode("utf-8")
    return tag.encode() + str(len(data)).encode() + b":" + data


def reference_encoding(kind: str, row: dict) -> bytes:
    """The documented encoding of one row, value by value, in plain Python (no pandas, no Arrow)."""
    out = field("K", kind)
    for column in SPECS[kind].columns:
        value = row.get(column.name)
        if value is None:
            out += b"N"
        elif column.type == TIMESTAMP_COL:
            out += field("T", str(pd.Timestamp(value).value))  # UTC nanoseconds since the epoch
        elif column.type == TOKENS:
            out += field("I", str(int(value)))
        else:
            out += field("S", value)
    return out


def frame(kind: str, rows: list[dict]) -> pd.DataFrame:
    """Rows as the reader yields them: every contract column, the contract's dtypes."""
    out = {}
    for column in SPECS[kind].columns:
        values = [r.get(column.name) for r in rows]
        if column.type == TIMESTAMP_COL:
            values = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        out[column.name] = pd.Series(values, dtype=object if column.type != TIMESTAMP_COL else None).astype(column.dtype)
    return pd.DataFrame(out)


ROW = {"account_id": "a1", "ts": "2026-09-01T00:00:00Z", "ip": "10.0.0.1", "prompt": "hi", "input_tokens": 5}


def test_one_row_encodes_to_the_documented_bytes():
    # 2026-09-01T00:00:00Z = 1788220800 s after the epoch; user_agent, model and output_tokens are missing: "N"
    expected = b"K8:requests" b"S2:a1" b"T19:1788220800000000000" b"S8:10.0.0.1" b"N" b"N" b"S2:hi" b"I1:5" b"N"
    assert reference_encoding("requests", ROW) == expected
    assert encode_events("requests", frame("requests", [ROW])).to_pylist() == [expected]
    assert event_keys("requests", frame("requests", [ROW])).tolist() == [xxhash.xxh3_64_intdigest(expected)]
    assert ledger.__doc__.count(expected.decode()) == 1  # the module docstring shows this very row


def test_xxh3_64_is_the_published_function():
    assert xxhash.xxh3_64_intdigest(b"") == 0x2D06800538D394C2  # XXH3_64bits("", seed 0): xxHash's own test vector


# Hard-coded keys: a change here makes every stored key of format 1 look new to a refresh. Never update them;
# a new encoding needs a new KEY_FORMAT and a migration. Each is xxh3_64 (seed 0) of the bytes beside it.
GOLDEN = [
    # K8:requests S2:a1 T19:1788220800000000000 S8:10.0.0.1 N N S2:hi I1:5 N
    ("requests", ROW, 0x5CDFBD69948CB867),
    # the same row with a non-ASCII prompt: lengths count UTF-8 bytes ("café ☕" is 6 characters, 9 bytes: S9:)
    ("requests", {**ROW, "prompt": "café ☕"}, 0xF325BB834124DAEA),
    # K8:accounts S2:a1 N N N N: every optional column missing
    ("accounts", {"account_id": "a1"}, 0xA4CE8C9CBDD6A4A0),
    # K8:payments S2:a1 S4:fp-1 S6:424242 S2:GB T19:1788265800123456789: nanoseconds kept exactly
    ("payments", {"account_id": "a1", "payment_fingerprint": "fp-1", "card_bin": "424242", "billing_country": "GB",
                  "added_at": "2026-09-01T12:30:00.123456789Z"}, 0xAEEF1F758E7BAB8E),
    # K11:identifiers S2:a1 S6:device S3:d-1 N
    ("identifiers", {"account_id": "a1", "kind": "device", "value": "d-1"}, 0xE278928D112293F5),
    # zero tokens are a value ("I1:0"), not a missing one ("N")
    ("requests", {**ROW, "input_tokens": 0, "output_tokens": 0}, 0x60FCE07D9A22818A),
]


@pytest.mark.parametrize("kind,row,key", GOLDEN, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(GOLDEN)])
def test_golden_keys(kind, row, key):
    encoded = reference_encoding(kind, row)
    assert encode_events(kind, frame(kind, [row])).to_pylist() == [encoded]
    assert xxhash.xxh3_64_intdigest(encoded) == key
    assert event_keys(kind, frame(kind, [row])).tolist() == [key]


def test_golden_bytes_of_the_other_rows():
    assert reference_encoding("requests", GOLDEN[1][1]).endswith(b"S9:caf\xc3\xa9 \xe2\x98\x95I1:5N")
    assert reference_encoding("accounts", GOLDEN[2][1]) == b"K8:accountsS2:a1NNNN"
    assert reference_encoding("payments", GOLDEN[3][1]) == b"K8:paymentsS2:a1S4:fp-1S6:424242S2:GBT19:1788265800123456789"
    assert reference_encoding("identifiers", GOLDEN[4][1]) == b"K11:identifiersS2:a1S6:deviceS3:d-1N"
    assert reference_encoding("requests", GOLDEN[5][1]).endswith(b"S2:hiI1:0I1:0")


def test_the_key_ignores_dtypes_and_resolution():
    """One contract value, one key: whatever dtype or resolution a frame happens to carry it in."""
    rows = [ROW, {**ROW, "account_id": "b2", "input_tokens": None, "ts": "2026-09-01T00:00:00.000001Z"}]
    keys = event_keys("requests", frame("requests", rows))
    loose = pd.DataFrame({
        "account_id": pd.Series(["a1", "b2"], dtype=object),
        "ts": pd.to_datetime(["2026-09-01T00:00:00", "2026-09-01T00:00:00.000001"], format="ISO8601").as_unit("us"),  # naive: UTC
        "ip": ["10.0.0.1", "10.0.0.1"],
        "prompt": ["hi", "hi"],
        "input_tokens": [5.0, np.nan],  # float with NaN
        "output_tokens": [None, None],  # an all-missing column is an absent one
    })
    assert event_keys("requests", loose).tolist() == keys.tolist()
    assert event_keys("requests", loose.drop(columns="output_tokens")).tolist() == keys.tolist()
    chunked = pd.concat([frame("requests", rows[:1]), frame("requests", rows[1:])], ignore_index=True)
    assert event_keys("requests", chunked).tolist() == keys.tolist()
    assert event_keys("requests", chunked.iloc[1:]).tolist() == keys[1:].tolist()  # a slice: Arrow offsets


def test_values_cannot_run_into_each_other():
    base = {"account_id": "a1", "kind": "ab", "value": "c"}
    pairs = [({"kind": "a", "value": "bc"}, "shifted text between columns"),
             ({"kind": ""}, "an empty string is not a missing value"),
             ({"value": "c", "seen_at": "2026-09-01T00:00:00Z"}, "a timestamp appears")]
    key = event_keys("identifiers", frame("identifiers", [base]))[0]
    for change, why in pairs:
        assert event_keys("identifiers", frame("identifiers", [{**base, **change}]))[0] != key, why
    accounts = frame("accounts", [{"account_id": "a1"}])
    assert event_keys("accounts", accounts)[0] != xxhash.xxh3_64_intdigest(b"K8:paymentsS2:a1NNNN")  # the kind counts


def test_no_rows_no_keys():
    keys = event_keys("requests", SPECS["requests"].empty_frame())
    assert keys.dtype == np.uint64 and len(keys) == 0


TEXT = st.one_of(st.none(), st.text(min_size=1, max_size=12))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "account_id": st.text(min_size=1, max_size=8), "ts": st.one_of(st.none(), st.integers(946_684_800_000_000_000, 4_102_444_799_999_999_999)),
    "ip": TEXT, "user_agent": TEXT, "model": TEXT, "prompt": TEXT,
    "input_tokens": st.one_of(st.none(), st.integers(0, 2**62)), "output_tokens": st.one_of(st.none(), st.integers(0, 10**12)),
}), min_size=1, max_size=20))
def test_vectorised_encoding_is_the_documented_one(rows):
    rows = [{**r, "ts": None if r["ts"] is None else pd.Timestamp(r["ts"], unit="ns", tz="UTC").isoformat()} for r in rows]
    got = encode_events("requests", frame("requests", rows)).to_pylist()
    assert got == [reference_encoding("requests", r) for r in rows]
    assert event_keys("requests", frame("requests", rows)).tolist() == [xxhash.xxh3_64_intdigest(b) for b in got]


def test_keys_are_the_same_in_another_process():
    code = ("from graphlinker.ingest.schema import SPECS; import pandas as pd; from graphlinker.ingest.ledger import event_keys; "
            "rows = pd.DataFrame({'account_id': ['a1'], 'ts': pd.to_datetime(['2026-09-01T00:00:00Z'])}); "
            "print(int(event_keys('requests', rows)[0]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    expected = xxhash.xxh3_64_intdigest(b"K8:requestsS2:a1T19:1788220800000000000NNNNNN")
    assert int(out) == expected


# --------------------------------------------------------------------------- format 0 and the probe

def test_legacy_keys_are_the_old_function():
    rows = frame("requests", [ROW])
    columns = SPECS["requests"].names
    old = pd.util.hash_pandas_object(rows[columns], index=False).to_numpy(np.uint64) ^ ledger._KIND_SALT["requests"]
    assert _legacy_event_keys("requests", rows).tolist() == old.tolist()
    ledger.check_legacy_keys_computable()  # this pandas computes the recorded probe keys


def test_seen_keys_treat_a_legacy_match_as_seen():
    rows = frame("requests", [ROW, {**ROW, "account_id": "b2"}, {**ROW, "account_id": "c3"}])
    legacy = _legacy_event_keys("requests", rows)
    seen = SeenKeys(keys=event_keys("requests", rows.iloc[2:]), legacy=legacy[:1])
    assert seen.migrating
    assert seen.take_new_rows("requests", rows).tolist() == [False, True, False]  # a1 by format 0, c3 by format 1
    assert seen.legacy_matches == 1
    assert seen.new_keys().tolist() == event_keys("requests", rows.iloc[1:2]).tolist()  # only format-1 keys are written
    assert not SeenKeys(keys=legacy).migrating


# --------------------------------------------------------------------------- migrating stores written with format 0

@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 3)


@pytest.fixture(scope="module")
def resent(slices, tmp_path_factory) -> Path:
    """Slice 3 with slice 2's requests sent again in its requests file (new bytes, so a new file hash)."""
    out = tmp_path_factory.mktemp("resent") / "03-resent"
    shutil.copytree(slices[2], out)
    both = pd.concat([pd.read_csv(s / "requests.csv.gz", dtype=str, keep_default_na=False) for s in slices[1:]],
                     ignore_index=True)
    (out / "requests.csv.gz").unlink()
    both.to_csv(out / "requests.csv", index=False)
    return out


@pytest.fixture(params=["local", "neo4j"])
def opener(request, tmp_path):
    if request.param == "local":
        return "local", (lambda: LocalStore(tmp_path / "ws")), tmp_path / "ws"
    from graphlinker.store.neo4j import Neo4jStore

    settings = request.getfixturevalue("neo4j_clean")
    return "neo4j", (lambda: Neo4jStore(settings, lease_seconds=5)), settings


def _refresh(paths, store):
    return refresh(list(paths), store, Settings.load(), Quarantine(None))


def _to_format_0(kind: str, where) -> None:
    """Give a store the layout graphlinker wrote before key format 1: keys.npy / (:EventKeys) without `format`."""
    if kind == "local":
        snapshot = where / "snapshots" / json.loads((where / "HEAD").read_text())["snapshot"]
        (snapshot / "keys-v1.npy").rename(snapshot / "keys.npy")
        return
    from neo4j import GraphDatabase

    with GraphDatabase.driver(where["uri"], auth=(where["user"], where["password"])) as driver:
        with driver.session(database=where["database"]) as session:
            session.run("MATCH (k:EventKeys) REMOVE k.format").consume()


def _write_with_old_keys(kind: str, open_store, where, paths: list[Path], monkeypatch) -> None:
    """Refreshes by the old code path: format-0 keys (``_legacy_event_keys``), stored in the old layout."""
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "event_keys", _legacy_event_keys)
        with open_store() as store:
            for path in paths:
                _refresh([path], store)
    _to_format_0(kind, where)


def _graph(store) -> dict:
    return {"usage": store.usage().astype({k: str for k in USAGE_KEY}).sort_values(USAGE_KEY, ignore_index=True),
            "stats": store.stats().astype({"account_id": str}).sort_values("account_id", ignore_index=True)}


@pytest.fixture(scope="module")
def reference(slices, resent, tmp_path_factory) -> dict:
    """The same three refreshes on a store that only ever had format-1 keys."""
    with LocalStore(tmp_path_factory.mktemp("reference")) as store:
        for path in (slices[0], slices[1]):
            _refresh([path], store)
        outcome = _refresh([resent], store)
        return {"new_rows": outcome.new_rows, **_graph(store)}


def _assert_migrated(kind, open_store, resent, reference, legacy_before: np.ndarray) -> None:
    with open_store() as store:
        assert store.seen_keys(KEY_FORMAT).size == 0 and store.seen_keys(LEGACY_KEY_FORMAT).size == legacy_before.size
        outcome = _refresh([resent], store)
        # only slice 3's rows are new: slice 2's rows were recognised by their format-0 keys
        assert outcome.new_rows == reference["new_rows"]
        mine = _graph(store)
        for name in ("usage", "stats"):
            pd.testing.assert_frame_equal(mine[name], reference[name], check_dtype=False, obj=name)
        assert store.seen_keys(KEY_FORMAT).size == outcome.new_rows  # new rows get format-1 keys ...
        assert np.array_equal(store.seen_keys(LEGACY_KEY_FORMAT), legacy_before)  # ... the format-0 set is kept
    renamed = resent.parent / "03-again"
    if not renamed.exists():
        shutil.copytree(resent, renamed)
        (renamed / "requests.csv").write_text((resent / "requests.csv").read_text() + "\n")  # new bytes, same rows
    with open_store() as store, pytest.raises(NothingNew):
        _refresh([renamed], store)  # old rows by format 0, rows loaded since by format 1


def test_a_store_with_format_0_keys_keeps_working(opener, slices, resent, reference, monkeypatch):
    kind, open_store, where = opener
    _write_with_old_keys(kind, open_store, where, slices[:2], monkeypatch)
    with open_store() as store:
        legacy = store.seen_keys(LEGACY_KEY_FORMAT)
    assert legacy.size > 1000
    _assert_migrated(kind, open_store, resent, reference, legacy)
    with open_store() as store:  # a full run starts a new ledger: format 1 only
        run(DEMO, store, Settings.load(), Quarantine(None))
        assert store.seen_keys(LEGACY_KEY_FORMAT).size == 0 and store.seen_keys(KEY_FORMAT).size > legacy.size


def test_a_store_written_by_the_old_release(opener, slices, resent, reference, tmp_path):
    """The same upgrade from a store the previous graphlinker itself wrote (its source from git history)."""
    kind, open_store, where = opener
    old = tmp_path / "old-graphlinker"
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "graphlinker"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"the git history with {OLD_COMMIT[:7]} is not available")
    old.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(old, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    target = f"LocalStore({str(where)!r})" if kind == "local" else "Neo4jStore(json.loads(os.environ['TEST_NEO4J']))"
    code = (f"import json, os, sys; sys.path.insert(0, {str(old)!r})\n"
            "import graphlinker\n"
            f"assert graphlinker.__file__.startswith({str(old)!r})\n"
            "from graphlinker.config import Settings; from graphlinker.inputs import Quarantine\n"
            "from graphlinker.pipeline import refresh; from graphlinker.store import LocalStore\n"
            "from graphlinker.store.neo4j import Neo4jStore\n"
            f"with {target} as store:\n"
            f"    for path in {[str(s) for s in slices[:2]]!r}:\n"
            "        refresh([path], store, Settings.load(), Quarantine(None))\n")
    env = {**os.environ, "TEST_NEO4J": json.dumps(where) if kind == "neo4j" else ""}  # no password on a command line
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)
    if kind == "local":
        snapshot = where / "snapshots" / json.loads((where / "HEAD").read_text())["snapshot"]
        assert sorted(p.name for p in snapshot.glob("keys*")) == ["keys.npy"]  # the old layout
    with open_store() as store:
        legacy = store.seen_keys(LEGACY_KEY_FORMAT)
    assert legacy.size > 1000
    _assert_migrated(kind, open_store, resent, reference, legacy)


def test_refresh_stops_when_format_0_keys_cannot_be_computed(opener, slices, resent, monkeypatch):
    """A pandas that hashes differently would make every old row new: exit 2 and a full run instead."""
    kind, open_store, where = opener
    _write_with_old_keys(kind, open_store, where, slices[:1], monkeypatch)
    monkeypatch.setitem(ledger._LEGACY_PROBE_KEYS, "requests", [1, 2])  # as if pandas now hashed otherwise
    with open_store() as store:
        runs = store.runs()
        with pytest.raises(LegacyKeysUnusable) as caught:
            _refresh([slices[1]], store)
        assert caught.value.exit_code == ExitCode.BAD_INPUT == 2
        assert "run a full `graphlinker run`" in str(caught.value) and "\n" not in str(caught.value)
        assert store.runs() == runs  # nothing written
        run(DEMO, store, Settings.load(), Quarantine(None))  # the way out
        assert store.seen_keys(LEGACY_KEY_FORMAT).size == 0


def test_cli_says_so_in_one_line(slices, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    _write_with_old_keys("local", lambda: LocalStore(ws), ws, slices[:1], monkeypatch)
    code = ("import sys; import graphlinker.ingest.ledger as ledger; ledger._LEGACY_PROBE_KEYS['requests'] = [1, 2]\n"
            "from graphlinker.cli.app import app; sys.argv[0] = 'graphlinker'; app(prog_name='graphlinker')")
    done = subprocess.run([sys.executable, "-c", code, "refresh", str(slices[1]), "-w", str(ws)], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "graphlinker run" in lines[0] and "Traceback" not in done.stderr


def test_keys_do_not_depend_on_the_encoding_batch(monkeypatch):
    """Rows are encoded a batch at a time (memory); the keys are each row's own, whatever the batch size."""
    rows = [{**ROW, "account_id": f"a{i}", "input_tokens": i} for i in range(7)]
    whole = event_keys("requests", frame("requests", rows))
    one_by_one = [event_keys("requests", frame("requests", [row])).item() for row in rows]
    monkeypatch.setattr(ledger, "EVENT_KEY_BATCH", 3)  # 3 + 3 + 1: a short last batch
    assert event_keys("requests", frame("requests", rows)).tolist() == whole.tolist() == one_by_one
    assert len(set(one_by_one)) == 7
