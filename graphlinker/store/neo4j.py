"""The Neo4j store: the same interface as the embedded store, over the official driver.

The usage graph is written as Neo4j's native shape —
``(:Account)-[:USED_IP {count, first_seen, last_seen}]->(:IP)`` and so on
(see the README's graph model) — with batched ``UNWIND $rows … MERGE`` in
managed transactions, which the driver retries on transient errors. Every
write *sets* absolute values computed in Python, never increments, so a load
interrupted part-way and run again ends in exactly the state of an
uninterrupted load. Detection reads the graph through the same interface;
what it reads is what Neo4j holds, kept in memory as it is written and, between
processes, in a verified local copy (:mod:`graphlinker.store.mirror`) instead of
being read back relationship by relationship.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from graphlinker.arrays import distinct
from graphlinker.errors import ConfigError, GraphlinkerError, LockHeld, StoreUnavailable
from graphlinker.ingest.ledger import KEY_FORMAT, Commit, empty_ledger, pack_arrays, unpack_arrays
from graphlinker.ingest.usage import aggregate_stats, empty_usage
from graphlinker.kinds import TEMPLATE
from graphlinker.settings.environment import value as env_value
from graphlinker.store import cypher
from graphlinker.store.base import Store
from graphlinker.store.failures import from_neo4j, redact
from graphlinker.store.locking import describe, holder_description
from graphlinker.store.merge import GraphRows
from graphlinker.store.mirror import GraphTables, Mirror
from graphlinker.templates.table import conform, empty_templates, sort_templates

BATCH_ROWS = 10_000
# "auto" bulk-loads an empty database from this many usage rows. Measured (bench_neo4j.py, 2 cores): the import
# costs ~15 s of stopping and starting plus ~100k rows/s, creating rows into an empty graph ~22-33k rows/s, so
# the importer wins from ~0.6M rows (at 0.33M rows creating took 12.3-15.0 s, the importer's steps 25.8 s;
# at 1.7M rows the importer 35-41 s, creating 51 s).
BULK_MIN_ROWS = 750_000
BULK_MODES = ("auto", "on", "off")
LEASE_SECONDS = 60  # a crashed writer's lock expires this long after its last heartbeat ($GRAPHLINKER_LOCK_TTL)
KEYS_PER_NODE = 200_000  # event keys per (:EventKeys) node
BLOB_PIECE = 8 << 20  # bytes of grouper state per (:GrouperPart) node


def record_time() -> int:
    """Epoch nanoseconds: orders grouper parts by commit even within one second."""
    return time.time_ns()
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

    def __init__(self, settings: dict, batch_rows: int = BATCH_ROWS, lease_seconds: float | None = None):
        self.database = settings.get("database") or None
        auth = (settings["user"], settings["password"]) if settings.get("password") else None
        self.batch_rows = batch_rows
        self.lease_seconds = float(lease_seconds or settings.get("lease_seconds") or env_value("GRAPHLINKER_LOCK_TTL") or LEASE_SECONDS)
        if self.lease_seconds < 3:
            raise ConfigError(f"GRAPHLINKER_LOCK_TTL must be at least 3 seconds, got {self.lease_seconds:g}")
        self._batch: str | None = None  # the graph batch this process is writing (see cypher.ROLLBACK_*)
        self._rebuilding = False  # reset_graph was called: the ledger starts empty with this run
        self._unpublished = False  # this process wrote something no published run covers yet
        self._graph: GraphTables | None = None  # the whole usage graph as Neo4j holds it, once known to this process
        self._mirror_setting = settings.get("mirror")  # a directory, "off", or None for $GRAPHLINKER_NEO4J_MIRROR
        self._mirror: Mirror | None = None
        self._mirror_tried = False  # the mirror was checked since the graph was last forgotten
        self._home = settings.get("home")  # the managed server's home: it can be stopped for a bulk import
        self._bulk = settings.get("bulk") or "auto"
        if self._bulk not in BULK_MODES:
            raise ConfigError(f"bulk must be one of {', '.join(BULK_MODES)}, got {self._bulk!r}")
        self.bulk_seconds: dict[str, float] = {}  # the steps of the last bulk import (for benchmarks)
        self._emptied = False  # the graph was just deleted and nothing written since
        self._reset_deferred = False  # a rebuild whose deletes wait: a bulk import may replace the database instead
        self._auth = auth
        self.uri = settings["uri"]
        try:
            self.driver = GraphDatabase.driver(settings["uri"], auth=auth, notifications_min_severity="OFF")
            self.driver.verify_connectivity()
        except (ServiceUnavailable, AuthError, OSError, ValueError) as exc:
            if getattr(self, "driver", None) is not None:
                self.driver.close()  # a caller that retries (a notebook) leaks no driver
            raise StoreUnavailable(f"cannot reach Neo4j at {redact(settings['uri'])}: {type(exc).__name__}") from None
        self.init_schema()

    def failure(self, exc: Exception) -> GraphlinkerError | None:
        from neo4j.exceptions import DriverError, Neo4jError

        return from_neo4j(exc, self.uri) if isinstance(exc, (DriverError, Neo4jError, ConnectionError)) else None

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
        self._begin_batch(rebuild=True)
        self._rebuilding = True
        self._graph = _empty_tables()
        if self._bulk_possible():
            self._reset_deferred = True  # the import replaces the database, or _delete_graph runs before the first write
        else:
            self._delete_graph()

    def _delete_graph(self) -> None:
        self._reset_deferred = False
        self._emptied = True
        self._auto(cypher.DELETE_USAGE)
        self._auto(cypher.DELETE_IDENTIFIER_NODES)
        self._auto(cypher.DEACTIVATE_ACCOUNTS)

    def _bulk_possible(self) -> bool:
        """A rebuild may go through the bulk importer: the managed server, and ``bulk`` on, or auto on an empty database."""
        if self._home is None or self._bulk == "off":
            return False
        return self._bulk == "on" or bool(self._read(cypher.DATABASE_IS_EMPTY)["empty"].iloc[0])

    def _bulk_load(self, rows: GraphRows) -> None:
        """Write the rebuilt graph with neo4j-admin's importer (:mod:`graphlinker.store.bulk_import`)."""
        from graphlinker.store import bulk_import

        clock = time.perf_counter()
        tables = _as_stored(rows)
        runs, clusters, memberships = bulk_import.history_rows(self._read)
        lock = self._read(cypher.READ_LOCK, name="refresh")
        held = None if lock.empty else {**lock.iloc[0].to_dict(), "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
        history = bulk_import.History(runs=runs, clusters=clusters, memberships=memberships, lock=held,
                                      pending={"name": "graph", "batch": self._batch, "rebuild": True},
                                      verdicts=self._read(cypher.READ_VERDICTS))
        home = Path(self._home)
        files = bulk_import.write_import_files(bulk_import.staging_directory(home), *tables, history, self._batch or "")
        seconds = {"files": time.perf_counter() - clock}
        replaced = self._mirror_dir()  # the copy of the database the import replaces
        try:
            self.driver.close()
            seconds.update(bulk_import.import_and_restart(home, files, self.database or "neo4j"))
        finally:
            bulk_import.remove(files)
            self.driver = GraphDatabase.driver(self.uri, auth=self._auth, notifications_min_severity="OFF")
        self._mirror = None  # a new database: a new id, a new mirror directory
        if replaced is not None and replaced.directory != getattr(self._mirror_dir(), "directory", None):
            replaced.remove()  # that database is gone: its copy would only fill the disk (a full graph per rebuild)
        clock = time.perf_counter()
        self.init_schema()
        self._auto(cypher.RESTORE_EMPTY_LISTS)
        seconds["schema"] = time.perf_counter() - clock
        self.bulk_seconds = {k: round(v, 2) for k, v in {**seconds, "relationships": files.relationship_count}.items()}
        self._graph = _empty_tables().upsert(*tables)

    def _stored_rows(self, accounts, usage, stats, templates) -> GraphRows:
        """Only the rows the delta touches: its accounts, their usage of its identifiers, its templates
        and every sender of those templates (a refresh reads what it adds, not the graph) — from memory
        when this process knows the whole graph (:meth:`_known_graph`)."""
        if (graph := self._known_graph()) is not None:
            return graph.touched(accounts, usage, stats, templates)
        ids = sorted(set(accounts["account_id"].astype(str)) | set(usage["account_id"].astype(str)) | set(stats["account_id"].astype(str)))
        touched = usage[_USAGE_KEY].astype(str).drop_duplicates()
        values = sorted(set(touched["value"]))
        stored_usage = _usage_frame(self._read(cypher.READ_USAGE_OF, ids=ids, values=values))
        stored_usage = stored_usage.astype({c: str for c in _USAGE_KEY}).merge(touched, on=_USAGE_KEY)  # ids x values is a superset
        template_ids = sorted(set(templates["template_id"].astype(str)) | set(touched.loc[touched["kind"] == TEMPLATE, "value"]))
        return GraphRows(accounts=self._accounts_of(ids), stats=self._stats_of(ids), usage=stored_usage,
                         templates=self._templates_of(template_ids),
                         template_usage=_usage_frame(self._read(cypher.READ_TEMPLATE_USAGE_OF, ids=template_ids)))

    def _write_rows(self, rows: GraphRows) -> None:
        """Write the rows' new absolute values in this process's batch (with prev_* to undo)."""
        if self._reset_deferred:
            if self._bulk == "on" or len(rows.usage) >= BULK_MIN_ROWS:
                self._reset_deferred = False
                self._bulk_load(rows)
                return
            self._delete_graph()
        self._begin_batch(rebuild=False)
        self._write_accounts(rows.accounts, rows.stats)
        self._write_usage(rows.usage.astype({c: str for c in _USAGE_KEY}))
        self._write_templates(rows.templates)
        if self._graph is not None:
            self._graph = self._graph.upsert(*_as_stored(rows))

    def _begin_batch(self, rebuild: bool) -> None:
        """Name this process's graph batch in the store before its first write (rollback needs it)."""
        self._unpublished = True
        if self._batch is None:
            self._batch = f"batch-{uuid.uuid4().hex}"
            self._auto(cypher.SET_PENDING, batch=self._batch, rebuild=rebuild)
        elif rebuild:
            self._auto(cypher.SET_PENDING, batch=self._batch, rebuild=True)

    def _accounts_of(self, ids: list[str]) -> pd.DataFrame:
        return self._account_frame(self._read(cypher.READ_ACCOUNTS_OF, ids=ids))

    def _stats_of(self, ids: list[str]) -> pd.DataFrame:
        return self._stats_frame(self._read(cypher.READ_STATS_OF, ids=ids))

    def _templates_of(self, ids: list[str]) -> pd.DataFrame:
        return self._template_frame(self._read(cypher.READ_TEMPLATES_OF, ids=ids))

    def _write_accounts(self, accounts: pd.DataFrame, stats: pd.DataFrame) -> None:
        frame = accounts.reindex(columns=["account_id", "created_at", "email_domain", "country", "org_id"])
        frame = frame.merge(stats, on="account_id", how="outer")
        frame[["requests", "input_tokens", "output_tokens"]] = frame[["requests", "input_tokens", "output_tokens"]].fillna(0).astype("int64")
        frame["created_ms"] = _millis(frame["created_at"])
        self._write_batches(cypher.MERGE_ACCOUNTS, _records(frame.drop(columns="created_at")), batch=self._batch)

    def _write_usage(self, usage: pd.DataFrame) -> None:
        frame = usage.assign(first_ms=_millis(usage["first_seen"]), last_ms=_millis(usage["last_seen"]))
        frame = frame.drop(columns=["first_seen", "last_seen"])
        fresh, self._emptied = self._emptied, False  # the first write after a reset: nothing is stored, create
        for kind, rows in frame.groupby("kind", sort=True):
            if fresh:
                statement = cypher.CREATE_USAGE.get(kind, cypher.CREATE_IDENTIFIER_USAGE)
            else:
                statement = cypher.MERGE_USAGE.get(kind, cypher.MERGE_IDENTIFIER_USAGE)
            self._write_batches(statement, _records(rows), batch=self._batch)

    def _write_templates(self, templates: pd.DataFrame) -> None:
        frame = templates.assign(
            extraction_tags=[[t for t in str(x).split(";") if t] for x in templates["extraction_tags"]],
            first_ms=_millis(templates["first_seen"]),
            last_ms=_millis(templates["last_seen"]),
            signature=[s.tolist() for s in templates["signature"]],  # the driver takes lists, not arrays
        ).drop(columns=["first_seen", "last_seen"])
        self._write_batches(cypher.MERGE_TEMPLATES, _records(frame), batch=self._batch)

    def accounts(self) -> pd.DataFrame:
        if (graph := self._known_graph()) is not None:
            return graph.accounts.copy()
        return self._account_frame(self._read(cypher.READ_ACCOUNTS))

    @staticmethod
    def _account_frame(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({"account_id": pd.Series(dtype="string"), "created_at": pd.Series(dtype="datetime64[ns, UTC]")})
        frame["created_at"] = _from_millis(frame.pop("created_ms"))
        return frame.sort_values("account_id", ignore_index=True)[["account_id", "created_at", "email_domain", "country", "org_id"]]

    def usage(self) -> pd.DataFrame:
        """The whole usage graph: from memory or the verified mirror, else read from Neo4j (with the other tables)."""
        if (graph := self._known_graph()) is None:
            graph = self._graph = GraphTables(accounts=self._account_frame(self._read(cypher.READ_ACCOUNTS)),
                                              stats=self._stats_frame(self._read(cypher.READ_STATS)),
                                              usage=_usage_frame(self._read(cypher.READ_USAGE)),
                                              templates=self._template_frame(self._read(cypher.READ_TEMPLATES)))
        return graph.usage.copy()

    def stats(self) -> pd.DataFrame:
        if (graph := self._known_graph()) is not None:
            return graph.stats.copy()
        return self._stats_frame(self._read(cypher.READ_STATS))

    @staticmethod
    def _stats_frame(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return aggregate_stats([])
        return frame.astype({"requests": "int64", "input_tokens": "int64", "output_tokens": "int64"}).sort_values("account_id", ignore_index=True)

    def templates(self) -> pd.DataFrame:
        if (graph := self._known_graph()) is not None:
            return graph.templates.copy()
        return self._template_frame(self._read(cypher.READ_TEMPLATES))

    @staticmethod
    def _template_frame(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return empty_templates()
        frame["extraction_tags"] = [";".join(sorted(t or [])) for t in frame["extraction_tags"]]
        frame["first_seen"] = _from_millis(frame.pop("first_ms"))
        frame["last_seen"] = _from_millis(frame.pop("last_ms"))
        return sort_templates(conform(frame))

    def template_usage(self) -> pd.DataFrame:
        if (graph := self._known_graph()) is not None:
            return graph.usage[graph.usage["kind"] == TEMPLATE].reset_index(drop=True)
        return _usage_frame(self._read(cypher.READ_TEMPLATE_USAGE))

    # --- the graph in memory and its local mirror (graphlinker.store.mirror) ---------------------------
    def _known_graph(self) -> GraphTables | None:
        """The whole usage graph when this process knows it: written or read by it, or a mirror that still matches."""
        if self._graph is None and not self._mirror_tried and (mirror := self._mirror_dir()) is not None:
            self._mirror_tried = True
            token = self._read(cypher.READ_MIRROR_TOKEN)
            self._graph = mirror.load(None if token.empty else token["token"].iloc[0], self._graph_counts())
        return self._graph

    def _forget_graph(self) -> None:
        self._graph = None
        self._mirror_tried = False
        self._reset_deferred = False
        self._emptied = False

    def _mirror_dir(self) -> Mirror | None:
        """Where this database's mirror lives (one directory per database, named by Neo4j's database id); None when off."""
        if self._mirror is None:
            base = self._mirror_setting or env_value("GRAPHLINKER_NEO4J_MIRROR")
            if str(base).lower() == "off":
                return None
            if base is None:
                from graphlinker.devserver.server import cache_root

                base = cache_root() / "neo4j-mirror"
            database_id = self._read(cypher.READ_DATABASE_ID)["id"].iloc[0]
            name = hashlib.sha256(f"{database_id}/{self.database or ''}".encode()).hexdigest()[:24]
            self._mirror = Mirror(Path(base).expanduser() / name)
        return self._mirror

    def _graph_counts(self) -> dict[str, int]:
        return {name: int(self._read(statement)["n"].iloc[0]) for name, statement in cypher.GRAPH_COUNTS.items()}

    def _save_mirror(self, token: str) -> None:
        """Keep the graph just published beside the database; a copy that cannot be written is dropped, not fatal."""
        mirror = self._mirror_dir()
        if mirror is None or self._graph is None:
            return
        try:
            mirror.save(self._graph, token, self._graph_counts())
        except OSError:
            mirror.clear()  # Neo4j holds the run; the next process reads it from there

    # --- runs ------------------------------------------------------------------------------
    def publish_run(self, report, edges, membership, record, commit=None) -> None:
        """Write the run, its clusters, memberships, links and ledger, then flip `latest` in one transaction.

        Until that transaction commits, readers see the previous run, and the ledger rows
        and run nodes written so far count as unpublished (removed by the next writer).
        """
        run_id = report["run_id"]
        if self._reset_deferred:  # a rebuild that wrote nothing still empties the graph
            self._delete_graph()
        token = uuid.uuid4().hex  # names the mirror of the graph this run publishes
        self._unpublished = True
        # a run's ledger builds on its base: the last full rebuild (ledger reads take the latest run's base)
        latest = self._read(cypher.READ_LATEST_BASE)
        base = run_id if self._rebuilding or latest.empty or latest["base"].isna().iloc[0] else latest["base"].iloc[0]
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
                    record=json.dumps(record),
                    base=base,
                    mirror_token=token,
                    link_signals=_signals(edges) or None,  # Neo4j stores no empty list
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
        self._write_batches(cypher.CREATE_MEMBERSHIP, _records(membership[["account_id", "cluster_id"]]), run_id=run_id)
        self._auto(cypher.DELETE_RUN_LINKS, run_id=run_id)
        self._write_batches(cypher.CREATE_LINKS, list(_link_rows(edges)), run_id=run_id)
        if commit is not None:
            self._write_commit(run_id, commit)
        with self.driver.session(database=self.database) as session:
            session.execute_write(lambda tx: tx.run(cypher.MARK_LATEST, run_id=run_id).consume())
        self._batch = None
        self._rebuilding = False
        self._unpublished = False
        self._auto(cypher.DELETE_STALE_LINKS, run_id=run_id)
        self._save_mirror(token)

    def _write_commit(self, run_id: str, commit: Commit) -> None:
        self._write_batches(cypher.CREATE_LOADED_FILES, _records(commit.files.assign(run_id=run_id)))
        signed = np.asarray(commit.keys, dtype=np.uint64).view(np.int64)  # Neo4j integers are signed 64-bit
        parts = [{"run_id": run_id, "part": i, "format": KEY_FORMAT, "keys": signed[start:start + KEYS_PER_NODE].tolist()}
                 for i, start in enumerate(range(0, len(signed), KEYS_PER_NODE))]
        for part in parts:  # one node per transaction: a 200k-key list is ~2 MB
            self._write_batches(cypher.CREATE_EVENT_KEYS, [part])
        if commit.grouper is not None:  # an opaque .npz blob (MinHash signatures and hashes only), in 8 MB pieces
            blob = pack_arrays(commit.grouper)
            started = record_time()
            for i, start in enumerate(range(0, max(len(blob), 1), BLOB_PIECE)):
                self._write_batches(cypher.CREATE_GROUPER_PART,
                                    [{"run_id": run_id, "started": started, "piece": i, "data": blob[start:start + BLOB_PIECE]}])

    def grouper_state(self) -> list[dict[str, np.ndarray]]:
        frame = pd.DataFrame() if self._rebuilding else self._read(cypher.READ_GROUPER_PARTS)
        if frame.empty:
            return []
        return [unpack_arrays(b"".join(group["data"])) for _, group in frame.groupby(["started", "run_id"], sort=True)]

    def ledger(self) -> pd.DataFrame:
        frame = empty_ledger() if self._rebuilding else self._read(cypher.READ_LEDGER)
        if frame.empty:
            return empty_ledger()
        return frame.astype({"rows": "int64", "new_rows": "int64"}).sort_values(["run_id", "name"], ignore_index=True)

    def seen_keys(self, key_format: int = KEY_FORMAT) -> np.ndarray:
        """Keys of ``key_format`` (each ``(:EventKeys)`` node names its format; none means format 0)."""
        frame = pd.DataFrame() if self._rebuilding else self._read(cypher.READ_EVENT_KEYS, format=key_format)
        if frame.empty:
            return np.zeros(0, dtype=np.uint64)
        return distinct(np.concatenate([np.asarray(k, dtype=np.int64) for k in frame["keys"]]).view(np.uint64))

    def report_of(self, run_id: str) -> dict | None:
        frame = self._read(cypher.READ_REPORT, run_id=run_id)
        return None if frame.empty else json.loads(frame["report"].iloc[0])

    # --- one writer: a lease that a crashed holder loses after lease_seconds ----------------------
    @contextmanager
    def _exclusive(self, holder: str, wait_seconds: float) -> Iterator[None]:
        """A lease node renewed by a heartbeat thread while held; a crashed holder's lease expires."""
        owner = uuid.uuid4().hex
        about = json.dumps(holder_description(holder))
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            free, current = self._try_lock(owner, about)
            if free:
                break
            if time.monotonic() >= deadline:
                raise LockHeld(f"the Neo4j store is locked by {describe(json.loads(current) if current else None)}; "
                               f"wait for it or pass --wait SECONDS (a crashed holder's lock expires after "
                               f"{self.lease_seconds:.0f}s)")
            time.sleep(0.5)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(owner, stop), daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            self._auto(cypher.RELEASE_LOCK, name="refresh", owner=owner)

    def _clear_crash_leftovers(self) -> None:
        self._forget_graph()  # another writer may have changed the graph since this process read it
        self._recover()

    def _drop_unpublished(self) -> None:
        if self._unpublished:  # a failed writer's batch is undone now rather than by the next one
            self._recover()

    def _try_lock(self, owner: str, about: str) -> tuple[bool, str | None]:
        with self.driver.session(database=self.database) as session:
            record = session.execute_write(lambda tx: tx.run(cypher.ACQUIRE_LOCK, name="refresh", owner=owner, holder=about,
                                                             ttl=int(self.lease_seconds)).single())
        return bool(record["free"]), record["holder"]

    def _heartbeat(self, owner: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                self._auto(cypher.RENEW_LOCK, name="refresh", owner=owner, ttl=int(self.lease_seconds))
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease outlives two of them
                pass

    def _recover(self) -> None:
        """Undo an interrupted batch and remove an unpublished run (each step is safe to repeat)."""
        self._forget_graph()  # staged writes are undone: what this process knew is gone
        self._batch = None
        self._rebuilding = False
        self._unpublished = False
        pending = self._read(cypher.READ_PENDING)
        batch = None if pending.empty else pending["batch"].iloc[0]
        self._auto(cypher.DELETE_UNPUBLISHED_LINKS)
        self._auto(cypher.DELETE_UNPUBLISHED_RUNS)
        self._auto(cypher.DELETE_UNPUBLISHED_LEDGER)
        if batch is None or pd.isna(batch):
            return
        if bool(pending["rebuild"].iloc[0]):
            return  # an interrupted full run cannot be undone; refresh refuses, run starts over (interrupted_rebuild)
        for statement in (cypher.ROLLBACK_NEW_USAGE, cypher.ROLLBACK_USAGE, cypher.ROLLBACK_NEW_TEMPLATES, cypher.ROLLBACK_TEMPLATES,
                          cypher.ROLLBACK_NEW_ACCOUNTS, cypher.ROLLBACK_ACCOUNTS, cypher.DELETE_ORPHAN_IDENTIFIERS):
            self._auto(statement, batch=batch)
        self._auto(cypher.CLEAR_PENDING)

    def interrupted_rebuild(self) -> bool:
        """True when a full run was interrupted after it emptied the graph: only a new full run repairs that."""
        pending = self._read(cypher.READ_PENDING)
        return not pending.empty and pending["batch"].notna().iloc[0] and bool(pending["rebuild"].iloc[0])

    def latest_report(self) -> dict | None:
        frame = self._read(cypher.READ_LATEST_REPORT)
        return None if frame.empty else json.loads(frame["report"].iloc[0])

    def runs(self) -> list[dict]:
        frame = self._read(cypher.READ_RUNS)
        return [json.loads(record) for record in frame["record"]] if not frame.empty else []

    def add_verdict(self, record: dict) -> None:
        self._auto(cypher.CREATE_VERDICT, verdict_id=uuid.uuid4().hex, **record)

    def verdicts(self) -> list[dict]:
        frame = self._read(cypher.READ_VERDICTS)
        return [{**{k: v for k, v in row.items() if k != "verdict_id"}, "size": int(row["size"]),
                 "members": list(row["members"]), "reason_codes": list(row["reason_codes"])}
                for row in frame.to_dict("records")]

    def run_links(self, run_id: str) -> pd.DataFrame | None:
        """The latest run's ``LINKED`` relationships (signals rounded to 6 places as stored); None for other runs."""
        frame = self._read(cypher.READ_RUN_LINKS, run_id=run_id)
        if frame.empty:
            return None  # not the latest published run: its links are gone
        links = frame.dropna(subset=["account_a"])
        named = frame["signals"].iloc[0]  # None for a run published before links became sparse
        props = pd.DataFrame([{k: v for k, v in p.items() if k != "run_id"} for p in links["props"]], index=links.index)
        signals = list(named) if named is not None else sorted(c for c in props.columns if c != "weight")
        props = props.reindex(columns=["weight", *signals]).fillna(0.0)  # a link stores its non-zero signals only
        out = pd.concat([links[["account_a", "account_b"]].astype("string"), props], axis=1)
        return out.astype({c: "float64" for c in ["weight", *signals]}).reset_index(drop=True)


_USAGE_KEY = ["account_id", "kind", "value"]


def _empty_tables() -> GraphTables:
    return GraphTables(accounts=Neo4jStore._account_frame(pd.DataFrame()), stats=aggregate_stats([]),
                       usage=empty_usage(), templates=empty_templates())


def _stored_time(values: pd.Series) -> pd.Series:
    """Times as Neo4j gives them back: UTC, whole milliseconds (what ``_millis`` then ``_from_millis`` make of them)."""
    return values.astype("datetime64[ns, UTC]").dt.floor("ms")


def _as_stored(rows: GraphRows) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Accounts, stats, usage and templates as reading them back from Neo4j after ``_write_rows`` returns them."""
    columns = ["account_id", "created_at", "email_domain", "country", "org_id"]
    accounts = rows.accounts.reindex(columns=columns) if rows.accounts is not None else pd.DataFrame(columns=columns)
    written = accounts.merge(rows.stats, on="account_id", how="outer")  # as _write_accounts writes them: every one active
    written = written.assign(account_id=written["account_id"].astype(str), created_at=_stored_time(written["created_at"]))
    totals = ["requests", "input_tokens", "output_tokens"]
    written[totals] = written[totals].fillna(0).astype("int64")
    usage = rows.usage.astype({c: str for c in _USAGE_KEY}).assign(
        count=rows.usage["count"].astype("int64"),
        first_seen=_stored_time(rows.usage["first_seen"]), last_seen=_stored_time(rows.usage["last_seen"]))
    templates = rows.templates.assign(
        extraction_tags=[";".join(sorted(t for t in str(x).split(";") if t)) for x in rows.templates["extraction_tags"].fillna("")],
        first_seen=_stored_time(rows.templates["first_seen"]), last_seen=_stored_time(rows.templates["last_seen"]),
        signature=[list(map(int, s)) for s in rows.templates["signature"]])
    return (written[columns].sort_values("account_id", ignore_index=True),
            written[["account_id", *totals]],
            usage[["account_id", "kind", "value", "count", "first_seen", "last_seen"]],
            conform(templates))


def _usage_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Usage rows as read by Cypher (epoch-millisecond times) in the store's usage layout."""
    if frame.empty:
        return empty_usage()
    frame["first_seen"] = _from_millis(frame.pop("first_ms"))
    frame["last_seen"] = _from_millis(frame.pop("last_ms"))
    frame["count"] = frame["count"].astype("int64")
    return frame.sort_values(["account_id", "kind", "value"], ignore_index=True)


def _signals(edges: pd.DataFrame) -> list[str]:
    return [c for c in edges.columns if c not in ("account_a", "account_b", "weight")]


def _link_rows(edges: pd.DataFrame) -> list[dict]:
    """One row per link: its weight and its non-zero signals, rounded to 6 places."""
    names = ["weight", *_signals(edges)]
    values = edges[names].astype("float64").round(6).to_numpy().tolist()
    props = [{k: v for k, v in zip(names, row) if v != 0 or k == "weight"} for row in values]
    return [{"account_a": a, "account_b": b, "props": p}
            for a, b, p in zip(edges["account_a"].astype(str).tolist(), edges["account_b"].astype(str).tolist(), props)]
