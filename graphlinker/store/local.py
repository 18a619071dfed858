"""The embedded store: a workspace directory of Parquet and JSON files.

No server is needed. Every file is written to a temporary name and moved into
place with ``os.replace`` (atomic on POSIX), so a crash never leaves a
half-written table; a run becomes visible only when its ``LATEST`` pointer is
replaced, after all of its files exist.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd

from ..errors import StoreUnavailable
from ..ingest import aggregate_stats, aggregate_usage, empty_usage
from ..templates.table import conform, empty_templates, merge_templates, with_usage
from .base import Store

TABLES = ("accounts", "usage", "stats", "templates")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


class LocalStore(Store):
    """Graph tables under ``WORKSPACE/graph``, runs under ``WORKSPACE/runs/<run_id>``."""

    def __init__(self, workspace: Path):
        self.workspace = Path(workspace)
        try:
            (self.workspace / "graph").mkdir(parents=True, exist_ok=True)
            (self.workspace / "runs").mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use workspace {self.workspace}: {exc.strerror}") from None

    def _table_path(self, name: str) -> Path:
        return self.workspace / "graph" / f"{name}.parquet"

    def _read(self, name: str) -> pd.DataFrame | None:
        path = self._table_path(name)
        return pd.read_parquet(path) if path.exists() else None

    # --- the graph -------------------------------------------------------------------------
    def reset_graph(self) -> None:
        for name in TABLES:
            self._table_path(name).unlink(missing_ok=True)

    def merge_graph(self, accounts, usage, stats, templates) -> None:
        old_accounts = self._read("accounts")
        if old_accounts is not None:
            accounts = pd.concat([old_accounts, accounts], ignore_index=True)
        accounts = accounts.drop_duplicates("account_id", keep="last").sort_values("account_id", ignore_index=True)
        usage = aggregate_usage([self.usage(), usage])
        stats = aggregate_stats([self.stats(), stats])
        old_templates = self._read("templates")
        templates = merge_templates(old_templates if old_templates is not None else empty_templates(), templates)
        templates = with_usage(templates, usage)
        for name, frame in (("accounts", accounts), ("usage", usage), ("stats", stats), ("templates", templates)):
            atomic_write_parquet(self._table_path(name), frame)

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

    # --- runs ------------------------------------------------------------------------------
    def publish_run(self, report, edges, membership, record) -> None:
        run_dir = self.workspace / "runs" / report["run_id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(run_dir / "edges.parquet", edges)
        atomic_write_parquet(run_dir / "membership.parquet", membership)
        atomic_write_bytes(run_dir / "report.json", json.dumps(report).encode())
        atomic_write_bytes(run_dir / "run.json", json.dumps(record).encode())
        atomic_write_bytes(self.workspace / "runs" / "LATEST", report["run_id"].encode())

    def latest_report(self) -> dict | None:
        pointer = self.workspace / "runs" / "LATEST"
        if not pointer.exists():
            return None
        return json.loads((self.workspace / "runs" / pointer.read_text().strip() / "report.json").read_text())

    def runs(self) -> list[dict]:
        records = [json.loads(p.read_text()) for p in (self.workspace / "runs").glob("*/run.json")]
        return sorted(records, key=lambda r: r["started_at"])

    def remove(self) -> None:
        """Delete the whole workspace (used by tests and `--fresh`)."""
        shutil.rmtree(self.workspace, ignore_errors=True)
