"""The embedded store: a workspace directory of Parquet and JSON files.

No server is needed. The graph is a *snapshot*: one directory of tables
(accounts, usage, stats, templates, and the ledger of loaded files and event
keys). A run or refresh never edits the current snapshot; it builds the next one
in a staging directory (unchanged tables are hard links, every written file goes
to a temporary name first), writes its run directory, and then replaces the
one-line ``HEAD`` pointer with ``os.replace`` (atomic on POSIX). So:

* readers (``report``, ``templates``, queries) always see the last complete run;
* a process killed at any point leaves ``HEAD`` as it was, and the next run or
  refresh (under the workspace lock) deletes the abandoned staging and run
  directories, then starts again from the same state.

Layout::

    WORKSPACE/HEAD                    {"snapshot": "<run_id>", "history": [run ids, oldest first]}
    WORKSPACE/snapshots/<run_id>/     accounts, usage, stats, templates, ledger .parquet;
                                      keys-v1.npy (sorted uint64 event keys of key format 1);
                                      keys.npy (format-0 keys, only in a store written before format 1);
                                      grouper-NNNNNN.npz (template grouper state, one part per run)
    WORKSPACE/runs/<run_id>/          report.json, run.json, edges.parquet, membership.parquet
    WORKSPACE/refresh.lock            the lock (graphlinker.store.locking)
    WORKSPACE/verdicts.json           analysts' verdicts, oldest first (kept across runs; verdicts.lock guards it)
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from graphlinker.arrays import union_distinct
from graphlinker.errors import GraphlinkerError, StoreUnavailable
from graphlinker.ingest.ledger import KEY_FORMAT, LEGACY_KEY_FORMAT, Commit, empty_ledger, pack_arrays, unpack_arrays
from graphlinker.ingest.usage import aggregate_stats, empty_usage
from graphlinker.store.base import Store
from graphlinker.store.failures import from_os_error
from graphlinker.store.locking import file_lock
from graphlinker.store.merge import GraphRows
from graphlinker.templates.table import conform, empty_templates

TABLES = ("accounts", "usage", "stats", "templates", "ledger")
LEGACY_KEYS_FILE = "keys.npy"  # key format 0: graphlinker before format 1 wrote its keys here


def keys_file(key_format: int) -> str:
    """The snapshot file of the event keys of ``key_format``: the format is in the name."""
    return LEGACY_KEYS_FILE if key_format == LEGACY_KEY_FORMAT else f"keys-v{key_format}.npy"


KEYS_FILE = keys_file(KEY_FORMAT)
GROUPER_PREFIX = "grouper-"
STAGE_PREFIX = ".stage-"


PRIVATE_DIR = 0o700  # reports name accounts and clusters: owner-only, whatever the umask
PRIVATE_FILE = 0o600


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.to_parquet(tmp, index=False)
    os.chmod(tmp, PRIVATE_FILE)
    os.replace(tmp, path)


class LocalStore(Store):
    """Snapshots under ``WORKSPACE/snapshots``, runs under ``WORKSPACE/runs``, ``HEAD`` naming the current pair."""

    def __init__(self, workspace: Path):
        self.workspace = Path(workspace)
        try:
            for directory in (self.workspace, self.workspace / "snapshots", self.workspace / "runs"):
                directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
                if directory.stat().st_mode & 0o777 != PRIVATE_DIR:
                    directory.chmod(PRIVATE_DIR)  # an older workspace is tightened on its next use
        except OSError as exc:
            raise from_os_error(exc, self.workspace) from None
        self._stage: Path | None = None

    # --- snapshots ---------------------------------------------------------------------------
    def failure(self, exc: Exception) -> GraphlinkerError | None:
        return from_os_error(exc, self.workspace) if isinstance(exc, OSError) else None

    def _head(self) -> dict:
        path = self.workspace / "HEAD"
        if not path.exists():
            return {"snapshot": None, "history": []}
        try:
            head = json.loads(path.read_text())
            if not (isinstance(head, dict) and isinstance(head.get("history"), list) and "snapshot" in head):
                raise ValueError("not a run pointer")
            return head
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreUnavailable(self._corrupt_head_message(path, exc)) from None

    def _corrupt_head_message(self, path: Path, exc: Exception) -> str:
        """Name the file, the newest run that is still whole, and how to get back to it."""
        intact = sorted(
            run.name for run in (self.workspace / "runs").iterdir()
            if (run / "report.json").exists() and (run / "run.json").exists() and (self.workspace / "snapshots" / run.name).is_dir()
        ) if (self.workspace / "runs").is_dir() else []
        if intact:
            pointer = json.dumps({"snapshot": intact[-1], "history": intact})
            how = f"the newest intact run is {intact[-1]}: restore the pointer with `echo '{pointer}' > {path}`"
        else:
            how = f"no intact run is left: move {self.workspace} aside and run `graphlinker run` again"
        return f"the workspace's run pointer {path} is corrupt ({type(exc).__name__}); {how}"

    def _current_dir(self) -> Path | None:
        name = self._head()["snapshot"]
        return None if name is None else self.workspace / "snapshots" / name

    def _graph_dir(self) -> Path | None:
        """Where reads come from: the staging snapshot while a run builds one, else the current one."""
        return self._stage if self._stage is not None else self._current_dir()

    def _begin(self, empty: bool = False) -> Path:
        """Start (or restart empty) the next snapshot: hard links to the current tables, or nothing."""
        if self._stage is not None and not empty:
            return self._stage
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
        stage = self.workspace / "snapshots" / f"{STAGE_PREFIX}{uuid.uuid4().hex}"
        stage.mkdir(mode=PRIVATE_DIR)
        current = self._current_dir()
        if not empty and current is not None:
            for file in current.iterdir():
                os.link(file, stage / file.name)
        self._stage = stage
        return stage

    def _table_path(self, name: str) -> Path | None:
        directory = self._graph_dir()
        return None if directory is None else directory / f"{name}.parquet"

    def _read(self, name: str) -> pd.DataFrame | None:
        path = self._table_path(name)
        return pd.read_parquet(path) if path is not None and path.exists() else None

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        atomic_write_parquet(self._begin() / f"{name}.parquet", frame)

    # --- the graph -------------------------------------------------------------------------
    def reset_graph(self) -> None:
        self._begin(empty=True)

    def _stored_rows(self, accounts, usage, stats, templates) -> GraphRows:
        """Every stored row: the embedded store rewrites whole tables (one Parquet file each)."""
        old_templates = self._read("templates")
        return GraphRows(accounts=self._read("accounts"), stats=self.stats(), usage=self.usage(),
                         templates=old_templates if old_templates is not None else empty_templates(), template_usage=None)

    def _write_rows(self, rows: GraphRows) -> None:
        for name, frame in (("accounts", rows.accounts), ("usage", rows.usage), ("stats", rows.stats),
                            ("templates", rows.templates)):
            self._write(name, frame)

    def accounts(self) -> pd.DataFrame:
        frame = self._read("accounts")
        return frame if frame is not None else pd.DataFrame({"account_id": pd.Series(dtype="string"), "created_at": pd.Series(dtype="datetime64[ns, UTC]")})

    def usage(self) -> pd.DataFrame:
        frame = self._read("usage")
        return frame if frame is not None else empty_usage()

    def stats(self) -> pd.DataFrame:
        frame = self._read("stats")
        return frame if frame is not None else aggregate_stats([])

    def templates(self) -> pd.DataFrame:
        frame = self._read("templates")
        return empty_templates() if frame is None else conform(frame)

    # --- the ledger --------------------------------------------------------------------------
    def ledger(self) -> pd.DataFrame:
        frame = self._read("ledger")
        return empty_ledger() if frame is None else frame

    def seen_keys(self, key_format: int = KEY_FORMAT) -> np.ndarray:
        directory = self._graph_dir()
        path = None if directory is None else directory / keys_file(key_format)
        if path is None or not path.exists():
            return np.zeros(0, dtype=np.uint64)
        return np.load(path, allow_pickle=False).astype(np.uint64, copy=False)

    def grouper_state(self) -> list[dict[str, np.ndarray]]:
        directory = self._graph_dir()
        if directory is None:
            return []
        return [unpack_arrays(path.read_bytes()) for path in sorted(directory.glob(f"{GROUPER_PREFIX}*.npz"))]

    def _write_commit(self, commit: Commit) -> None:
        """Add the commit's files to the ledger and its keys to the format-1 keys (a format-0 file is carried
        along unchanged: hard-linked into every snapshot until a full run starts an empty one)."""
        ledger = pd.concat([self.ledger(), commit.files], ignore_index=True) if len(commit.files) else self.ledger()
        all_keys = union_distinct(self.seen_keys(), np.asarray(commit.keys, dtype=np.uint64))  # np.union1d hashes: 1 s at 1M rows
        stage = self._begin()
        parts = len(list(stage.glob(f"{GROUPER_PREFIX}*.npz")))  # the next part's number
        self._write("ledger", ledger)
        tmp = stage / f".{KEYS_FILE}.{uuid.uuid4().hex}.tmp.npy"
        np.save(tmp, all_keys)
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, stage / KEYS_FILE)
        if commit.grouper is not None:  # append-only: one part per run, loaded in name order
            atomic_write_bytes(stage / f"{GROUPER_PREFIX}{parts:06d}.npz", pack_arrays(commit.grouper))

    # --- runs ------------------------------------------------------------------------------
    def publish_run(self, report, edges, membership, record, commit=None) -> None:
        run_id = report["run_id"]
        run_dir = self.workspace / "runs" / run_id
        run_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        atomic_write_parquet(run_dir / "edges.parquet", edges)
        atomic_write_parquet(run_dir / "membership.parquet", membership)
        atomic_write_bytes(run_dir / "report.json", json.dumps(report).encode())
        atomic_write_bytes(run_dir / "run.json", json.dumps(record).encode())
        if commit is not None:
            self._write_commit(commit)
        stage = self._begin()  # a run with no graph change still gets its own snapshot (hard links)
        snapshot = self.workspace / "snapshots" / run_id
        os.replace(stage, snapshot)
        self._stage = None
        head = self._head()
        atomic_write_bytes(self.workspace / "HEAD", json.dumps({"snapshot": run_id, "history": [*head["history"], run_id]}).encode())
        self._drop_unreferenced()

    def _drop_unreferenced(self) -> None:
        """Delete crash leftovers and old snapshots: all but the current one and the one before it (a
        reader that opened it just before the switch can finish), and run directories no committed run names."""
        head = self._head()
        keep = {head["snapshot"], *head["history"][-2:]}
        for directory in (self.workspace / "snapshots").iterdir():
            if directory.name not in keep and directory != self._stage:
                shutil.rmtree(directory, ignore_errors=True)
        committed = set(head["history"])
        for directory in (self.workspace / "runs").iterdir():
            if directory.is_dir() and directory.name not in committed:
                shutil.rmtree(directory, ignore_errors=True)

    def latest_report(self) -> dict | None:
        history = self._head()["history"]
        return self.report_of(history[-1]) if history else None

    def report_of(self, run_id: str) -> dict | None:
        if run_id not in self._head()["history"]:
            return None
        return json.loads((self.workspace / "runs" / run_id / "report.json").read_text())

    def runs(self) -> list[dict]:
        return [json.loads((self.workspace / "runs" / run_id / "run.json").read_text()) for run_id in self._head()["history"]]

    def add_verdict(self, record: dict) -> None:
        with file_lock(self.workspace / "verdicts.lock", "graphlinker verdict", wait_seconds=10.0):
            atomic_write_bytes(self.workspace / "verdicts.json", json.dumps([*self.verdicts(), record]).encode())

    def verdicts(self) -> list[dict]:
        path = self.workspace / "verdicts.json"
        return json.loads(path.read_text()) if path.exists() else []

    def run_links(self, run_id: str) -> pd.DataFrame | None:
        if run_id not in self._head()["history"]:
            return None
        path = self.workspace / "runs" / run_id / "edges.parquet"
        return pd.read_parquet(path) if path.exists() else None

    def _exclusive(self, holder: str, wait_seconds: float):
        """The workspace's lock file (:mod:`graphlinker.store.locking`)."""
        return file_lock(self.workspace / "refresh.lock", holder, wait_seconds)

    def _clear_crash_leftovers(self) -> None:
        self._drop_unreferenced()

    def _drop_unpublished(self) -> None:
        """Drop an unpublished staging snapshot (a failed run): readers never saw it."""
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None

    def remove(self) -> None:
        """Delete the whole workspace (used by tests and `--fresh`)."""
        shutil.rmtree(self.workspace, ignore_errors=True)
