"""The Neo4j store: the same interface as the embedded store, over the official driver.

The usage graph is written as Neo4j's native shape —
``(:Account)-[:USED_IP {count, first_seen, last_seen}]->(:IP)`` and so on
(see the README's graph model) — with batched ``UNWIND $rows … MERGE`` in
managed transactions, which the driver retries on transient errors. Every
write *sets* absolute values computed in Python, never increments, so a load
interrupted part-way and run again ends in exactly the state of an
uninterrupted load. Detection reads the graph back through the same
interface, so the projection is computed from what Neo4j holds.
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np
import pandas as pd
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from ..errors import StoreUnavailable
from ..ingest import aggregate_stats, aggregate_usage, empty_usage
from . import cypher
from .base import Store
from ..templates.table import conform, empty_templates, merge_templates, sort_templates, with_usage

BATCH_ROWS = 10_000
NAMED_KINDS = frozenset(cypher.MERGE_USAGE)


def _millis(values: pd.Series) -> pd.Series:
    """UTC timestamps as epoch milliseconds (None for missing; object dtype so ints stay ints), for Cypher's datetime()."""
    ms = values.astype("datetime64[ns, UTC]").astype("int64") // 1_000_000
    return pd.Series([None if missing else int(v) for v, missing in zip(ms.to_numpy(), values.isna().to_numpy())],
                     index=values.index, dtype=object)


def _from_millis(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("Float64"), unit="ms", utc=True).astype("datetime64[ns, UTC]")


def _clean(value):
    """Driver-safe scalars: NA → None, numpy scalars → Python."""
    if value is None or (not isinstance(value, (list, str)) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _records(frame: pd.DataFrame) -> list[dict]:
    columns = list(frame.columns)
    return [dict(zip(columns, (_clean(v) for v in row))) for row in frame.itertuples(index=False, name=None)]


class Neo4jStore(Store):
    """The usage graph and published runs in a Neo4j 5 database."""

    def __init__(self, settings: dict, batch_rows: int = BATCH_ROWS):
        self.database = settings.get("database") or None
        auth = (settings["user"], settings["password"]) if settings.get("password") else None
        self.batch_rows = batch_rows
        try:
            self.driver = GraphDatabase.driver(settings["uri"], auth=auth, notifications_min_severity="OFF")
            self.driver.verify_connectivity()
        except (ServiceUnavailable, AuthError, OSError, ValueError) as exc:
            raise StoreUnavailable(f"cannot reach Neo4j at {settings['uri']}: {type(exc).__name__}") from None
        self.init_schema()

    # --- plumbing --------------------------------------------------------------------------
    def init_schema(self) -> None:
        """Uniqueness constraints and indexes; idempotent, safe on every start (`graphlinker init-db`)."""
        for statement in cypher.SCHEMA:
            self._auto(statement)

    def _auto(self, statement: str, **params) -> None:
        """An auto-commit query: needed for CALL { } IN TRANSACTIONS and schema commands."""
        with self.driver.session(database=self.database) as session:
            session.run(statement, params).consume()

    def _write_batches(self, statement: str, rows: list[dict], **params) -> None:
        with self.driver.session(database=self.database) as session:
            for start in range(0, len(rows), self.batch_rows):
                batch = rows[start : start + self.batch_rows]
                session.execute_write(lambda tx, b=batch: tx.run(statement, rows=b, **params).consume())

    def _read(self, statement: str, **params) -> pd.DataFrame:
        with self.driver.session(database=self.database) as session:
            result = session.run(statement, params)
            keys = result.keys()
            return pd.DataFrame(result.values(), columns=keys)

    def close(self) -> None:
        self.driver.close()

    # --- the graph -------------------------------------------------------------------------
    def reset_graph(self) -> None:
        self._auto(cypher.DELETE_USAGE)
        self._auto(cypher.DELETE_IDENTIFIER_NODES)
        self._auto(cypher.DEACTIVATE_ACCOUNTS)

    def merge_graph(self, accounts, usage, stats, templates) -> None:
        old_accounts = self.accounts()
        accounts = pd.concat([old_accounts, accounts], ignore_index=True).drop_duplicates("account_id", keep="last")
        usage = aggregate_usage([self.usage(), usage])
        stats = aggregate_stats([self.stats(), stats])
        templates = with_usage(merge_templates(self.templates(), templates), usage)
        self._write_accounts(accounts, stats)
        self._write_usage(usage)
        self._write_templates(templates)

    def _write_accounts(self, accounts: pd.DataFrame, stats: pd.DataFrame) -> None:
        frame = accounts.reindex(columns=["account_id", "created_at", "email_domain", "country", "org_id"])
        frame = frame.merge(stats, on="account_id", how="outer")
        frame[["requests", "input_tokens", "output_tokens"]] = frame[["requests", "input_tokens", "output_tokens"]].fillna(0).astype("int64")
        frame["created_ms"] = _millis(frame["created_at"])
        self._write_batches(cypher.MERGE_ACCOUNTS, _records(frame.drop(columns="created_at")))

    def _write_usage(self, usage: pd.DataFrame) -> None:
        frame = usage.assign(first_ms=_millis(usage["first_seen"]), last_ms=_millis(usage["last_seen"]))
        frame = frame.drop(columns=["first_seen", "last_seen"])
        for kind, rows in frame.groupby("kind", sort=True):
            statement = cypher.MERGE_USAGE.get(kind, cypher.MERGE_IDENTIFIER_USAGE)
            self._write_batches(statement, _records(rows))

    def _write_templates(self, templates: pd.DataFrame) -> None:
        frame = templates.assign(
            extraction_tags=[[t for t in str(x).split(";") if t] for x in templates["extraction_tags"]],
            first_ms=_millis(templates["first_seen"]),
            last_ms=_millis(templates["last_seen"]),
            signature=[s.tolist() for s in templates["signature"]],  # the driver takes lists, not arrays
        ).drop(columns=["first_seen", "last_seen"])
        self._write_batches(cypher.MERGE_TEMPLATES, _records(frame))

    def accounts(self) -> pd.DataFrame:
        frame = self._read(cypher.READ_ACCOUNTS)
        if frame.empty:
            return pd.DataFrame({"account_id": pd.Series(dtype="string"), "created_at": pd.Series(dtype="datetime64[ns, UTC]")})
        frame["created_at"] = _from_millis(frame.pop("created_ms"))
        return frame.sort_values("account_id", ignore_index=True)[["account_id", "created_at", "email_domain", "country", "org_id"]]

    def usage(self) -> pd.DataFrame:
        return _usage_frame(self._read(cypher.READ_USAGE))

    def stats(self) -> pd.DataFrame:
        frame = self._read(cypher.READ_STATS)
        if frame.empty:
            return aggregate_stats([])
        return frame.astype({"requests": "int64", "input_tokens": "int64", "output_tokens": "int64"}).sort_values("account_id", ignore_index=True)

    def templates(self) -> pd.DataFrame:
        frame = self._read(cypher.READ_TEMPLATES)
        if frame.empty:
            return empty_templates()
        frame["extraction_tags"] = [";".join(sorted(t or [])) for t in frame["extraction_tags"]]
        frame["first_seen"] = _from_millis(frame.pop("first_ms"))
        frame["last_seen"] = _from_millis(frame.pop("last_ms"))
        return sort_templates(conform(frame))

    def template_usage(self) -> pd.DataFrame:
        return _usage_frame(self._read(cypher.READ_TEMPLATE_USAGE))

    # --- runs ------------------------------------------------------------------------------
    def publish_run(self, report, edges, membership, record) -> None:
        """Write the run, its clusters, memberships and links, then flip `latest` in one transaction."""
        run_id = report["run_id"]
        with self.driver.session(database=self.database) as session:
            session.execute_write(
                lambda tx: tx.run(
                    cypher.CREATE_RUN,
                    run_id=run_id,
                    started_at=record["started_at"],
                    finished_at=record["finished_at"],
                    params=json.dumps(record["params"]),
                    counts=json.dumps(record["counts"]),
                    outcome=record["outcome"],
                    report=json.dumps(report),
                ).consume()
            )
        clusters = [
            {
                "cluster_id": c["cluster_id"],
                "size": c["size"],
                "risk_score": c["risk_score"],
                "flagged": c["flagged"],
                "reason_codes": [r["code"] for r in c["reasons"]],
                "reasons": json.dumps(c["reasons"]),
                "evidence": json.dumps(c["evidence"]),
            }
            for c in report["clusters"]
        ]
        self._write_batches(cypher.MERGE_CLUSTERS, clusters, run_id=run_id)
        self._write_batches(cypher.MERGE_MEMBERSHIP, _records(membership[["account_id", "cluster_id"]]), run_id=run_id)
        self._auto(cypher.DELETE_RUN_LINKS, run_id=run_id)
        self._write_batches(cypher.CREATE_LINKS, list(_link_rows(edges)), run_id=run_id)
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(cypher.MARK_LATEST, run_id=run_id).consume())
        self._auto(cypher.DELETE_STALE_LINKS, run_id=run_id)

    def latest_report(self) -> dict | None:
        frame = self._read(cypher.READ_LATEST_REPORT)
        return None if frame.empty else json.loads(frame["report"].iloc[0])

    def runs(self) -> list[dict]:
        frame = self._read(cypher.READ_RUNS)
        return [
            {**row, "params": json.loads(row["params"] or "{}"), "counts": json.loads(row["counts"] or "{}")}
            for row in frame.to_dict("records")
        ]


def _usage_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Usage rows as read by Cypher (epoch-millisecond times) in the store's usage layout."""
    if frame.empty:
        return empty_usage()
    frame["first_seen"] = _from_millis(frame.pop("first_ms"))
    frame["last_seen"] = _from_millis(frame.pop("last_ms"))
    frame["count"] = frame["count"].astype("int64")
    return frame.sort_values(["account_id", "kind", "value"], ignore_index=True)


def _link_rows(edges: pd.DataFrame) -> Iterable[dict]:
    signals = [c for c in edges.columns if c not in ("account_a", "account_b")]
    for row in edges.itertuples(index=False):
        values = row._asdict()
        yield {
            "account_a": values["account_a"],
            "account_b": values["account_b"],
            "props": {k: round(float(values[k]), 6) for k in signals},
        }
