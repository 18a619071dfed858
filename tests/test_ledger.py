"""The ledger's pieces: which files and rows are new, and the embedded store's lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlinker.errors import InputError, LockHeld
from graphlinker.ingest.ledger import SeenKeys, event_keys, file_hash, resolve_inputs
from graphlinker.store.locking import file_lock

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def _requests(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "ts": pd.to_datetime(["2026-09-01T00:00:00Z"] * n),
                         "ip": ["10.0.0.1"] * n, "prompt": ["solve x"] * n, "input_tokens": [5] * n})


def test_event_keys_depend_on_every_column_and_the_kind():
    rows = _requests()
    keys = event_keys("requests", rows)
    assert keys.dtype == np.uint64 and len(set(keys.tolist())) == 3
    changed = rows.assign(prompt=["solve x", "solve y", "solve x"])
    assert (event_keys("requests", changed) != keys).tolist() == [False, True, False]
    assert (event_keys("requests", rows.assign(input_tokens=[5, 5, 6])) != keys).tolist() == [False, False, True]
    same_columns = rows.rename(columns={"ts": "seen_at", "prompt": "value"})[["account_id", "seen_at", "value"]]
    assert not set(event_keys("identifiers", same_columns.assign(kind="x")).tolist()) & set(keys.tolist())


def test_event_keys_are_stable_across_processes():
    code = ("import pandas as pd; from graphlinker.ingest.ledger import event_keys; "
            "rows = pd.DataFrame({'account_id': ['a'], 'ts': pd.to_datetime(['2026-09-01T00:00:00Z']), 'prompt': ['p']}); "
            "print(int(event_keys('requests', rows)[0]))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    rows = pd.DataFrame({"account_id": ["a"], "ts": pd.to_datetime(["2026-09-01T00:00:00Z"]), "prompt": ["p"]})
    assert outputs == {f"{int(event_keys('requests', rows)[0])}\n"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=6))
def test_seen_keys_take_each_key_once(batches):
    seen = SeenKeys(np.array([1, 2, 3], dtype=np.uint64))
    taken: list[int] = []
    for batch in batches:
        keys = np.array(batch, dtype=np.uint64)
        mask = seen.take_new(keys)
        taken.extend(keys[mask].tolist())
    everything = {k for b in batches for k in b}
    assert sorted(taken) == sorted(everything - {1, 2, 3})  # each unseen key exactly once, in its first occurrence
    assert seen.new_keys().tolist() == sorted(taken)
    assert set(seen.keys().tolist()) == everything | {1, 2, 3}


def test_resolve_inputs_orders_kinds_and_dedupes(tmp_path):
    (tmp_path / "hour").mkdir()
    requests = tmp_path / "hour" / "requests.csv"
    requests.write_text("account_id,ts\na,2026-09-01T00:00:00Z\n")
    files = resolve_inputs([requests, DEMO, requests])
    assert [f.kind for f in files] == ["accounts", "payments", "identifiers", "requests", "requests"]
    assert files[-2].path.name == "requests.csv" and files[-1].path.parent == DEMO  # given order within a kind
    assert files[0].file_hash == file_hash(DEMO / "accounts.csv")


@pytest.mark.parametrize("name, message", [("missing", "does not exist"), ("notes.txt", "not an input file"), ("empty", "no input files")])
def test_resolve_inputs_errors(tmp_path, name, message):
    if name == "notes.txt":
        (tmp_path / name).write_text("x")
    if name == "empty":
        (tmp_path / name).mkdir()
    with pytest.raises(InputError, match=message):
        resolve_inputs([tmp_path / name])


def test_file_lock_refuses_a_second_holder_and_waits(tmp_path):
    path = tmp_path / "lock"
    with file_lock(path, "first"):
        with pytest.raises(LockHeld, match="first"):
            with file_lock(path, "second"):
                pass
        started = time.monotonic()
        with pytest.raises(LockHeld):
            with file_lock(path, "second", wait_seconds=1.0):
                pass
        assert time.monotonic() - started >= 1.0
    with file_lock(path, "second"):  # released
        pass


def test_file_lock_dies_with_its_holder(tmp_path):
    path = tmp_path / "lock"
    code = ("import sys, time; from graphlinker.store.locking import file_lock\n"
            f"with file_lock(__import__('pathlib').Path({str(path)!r}), 'child'):\n"
            "    print('held', flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    with pytest.raises(LockHeld, match="child"):
        with file_lock(path, "parent"):
            pass
    child.kill()  # SIGKILL: no cleanup code runs
    child.wait()
    with file_lock(path, "parent"):
        pass
