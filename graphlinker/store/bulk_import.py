"""Full runs on the managed Neo4j server through neo4j-admin's bulk importer instead of batched MERGE.

Batched ``UNWIND … MERGE`` wrote about 12k relationships/s on the 2-core machine; ``neo4j-admin
database import full`` wrote 114k/s into a stopped database (issue 14; the Operations Manual's
"Import" chapter). So when a full run rebuilds the managed server's graph, the Neo4j store writes the
graph — and what the database must keep across a rebuild: the published runs with their clusters
and memberships, the writer's lock and the pending-batch marker — as import CSVs, stops the server,
imports them over the database, starts the server again on the same ports and creates the schema.
The ledger, the run and its links are then written as on every run.

Only for the server ``graphlinker neo4j start`` manages (its home is known and nobody else's server is
stopped); for a server run by someone else the README gives the ``neo4j-admin`` command.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graphlinker.errors import StoreUnavailable
from graphlinker.kinds import KINDS

_NODES = {name: kind.node for name, kind in KINDS.items() if kind.node is not None}
# between array elements (--array-delimiter=U+001F): ingest quarantines ids with control characters, so no
# account id, tag or reason code can hold it (";" could be inside an account id a verdict lists)
ARRAY = "\x1f"


@dataclass
class ImportFiles:
    """The CSV files of one import: ``--nodes=Label=file`` and ``--relationships=TYPE=file`` arguments."""

    directory: Path
    nodes: list[tuple[str, Path]] = field(default_factory=list)
    relationships: list[tuple[str, Path]] = field(default_factory=list)
    relationship_count: int = 0

    def arguments(self) -> list[str]:
        return ([f"--nodes={label}={path}" for label, path in self.nodes]
                + [f"--relationships={rel}={path}" for rel, path in self.relationships])


@dataclass
class History:
    """What a rebuild keeps: published runs, their clusters and memberships, analysts' verdicts, the lock and
    the pending marker."""

    runs: pd.DataFrame
    clusters: pd.DataFrame
    memberships: pd.DataFrame  # account_id, key (the cluster's)
    lock: dict | None
    pending: dict
    verdicts: pd.DataFrame | None = None  # cypher.READ_VERDICTS rows


def _times(values: pd.Series) -> np.ndarray:
    """ISO-8601 UTC to the microsecond, empty for missing (the importer's ``datetime`` type)."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    text = np.datetime_as_string(stamps.dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us") + "Z"
    return np.where(stamps.isna().to_numpy(), "", text)


def _write(path: Path, header: list[str], columns: list) -> Path:
    """One CSV with a typed header row; ``None``/empty values become absent properties."""
    frame = pd.DataFrame(dict(zip(header, columns)))
    frame.to_csv(path, index=False, header=True, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return path


def _strings(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def write_import_files(directory: Path, accounts: pd.DataFrame, stats: pd.DataFrame, usage: pd.DataFrame,
                       templates: pd.DataFrame, history: History, batch: str) -> ImportFiles:
    """The graph (in the stored form of the Neo4j store's read methods) and ``history`` as import CSVs.

    Properties are those the batched writes set (``graphlinker/store/cypher.py``); ``batch`` marks every
    node and relationship of this rebuild as its MERGE writes would.
    """
    files = ImportFiles(directory)
    totals = ["requests", "input_tokens", "output_tokens"]
    people = accounts.merge(stats, on="account_id", how="outer")
    people = people.assign(account_id=people["account_id"].astype(str), active="true", batch=batch)
    members = pd.Index(history.memberships["account_id"].astype(str).unique())
    inactive = members.difference(pd.Index(people["account_id"]))  # members of earlier runs only: kept, inactive
    if len(inactive):
        people = pd.concat([people, pd.DataFrame({"account_id": inactive, "active": "false", "batch": None})], ignore_index=True)
    people[totals] = people[totals].fillna(0).astype("int64")
    files.nodes.append(("Account", _write(
        directory / "accounts.csv",
        ["account_id:ID(Account)", "created_at:datetime", "email_domain", "country", "org_id",
         "requests:long", "input_tokens:long", "output_tokens:long", "active:boolean", "batch"],
        [people["account_id"], _times(people["created_at"]), _strings(people["email_domain"]), _strings(people["country"]),
         _strings(people["org_id"]), *(people[c] for c in totals), people["active"], _strings(people["batch"])])))

    table = templates.assign(template_id=templates["template_id"].astype(str))
    sent = pd.Index(usage.loc[usage["kind"] == "template", "value"].astype(str).unique()).difference(pd.Index(table["template_id"]))
    if len(sent):  # sent but not in the table: a node with its id only, as MERGE creates it
        table = pd.concat([table, pd.DataFrame({"template_id": sent})], ignore_index=True)
    files.nodes.append(("PromptTemplate", _write(
        directory / "templates.csv",
        ["template_id:ID(PromptTemplate)", "exemplar", "extraction_tags:string[]", "prompt_count:long", "account_count:long",
         "first_seen:datetime", "last_seen:datetime", "signature:long[]", "batch"],
        [table["template_id"], _strings(table["exemplar"]), table["extraction_tags"].fillna("").astype(str).str.replace(";", ARRAY, regex=False),
         table["prompt_count"].astype("Int64"), table["account_count"].astype("Int64"),
         _times(table["first_seen"]), _times(table["last_seen"]),
         [ARRAY.join(map(str, sig)) if isinstance(sig, (list, np.ndarray)) else "" for sig in table["signature"]],
         np.full(len(table), batch, dtype=object)])))

    for name, rows in usage.groupby("kind", sort=True):
        node = _NODES.get(name)
        values = rows["value"].astype(str)
        if node is None:  # a generic (:Identifier {key, kind, value}) node
            label, relationship, ids = "Identifier", "HAS_IDENTIFIER", name + ":" + values
        else:
            label, relationship, ids = node.label, node.relationship, values
        if label != "PromptTemplate":
            distinct = ids.drop_duplicates()
            if label == "Identifier":
                files.nodes.append((label, _write(directory / f"nodes-{name}.csv", ["key:ID(Identifier)", "kind", "value"],
                                                  [distinct, [name] * len(distinct), values[distinct.index]])))
            else:
                files.nodes.append((label, _write(directory / f"nodes-{name}.csv", [f"{node.key}:ID({label})"], [distinct])))
        files.relationships.append((relationship, _write(
            directory / f"usage-{name}.csv",
            [":START_ID(Account)", f":END_ID({label})", "count:long", "first_seen:datetime", "last_seen:datetime", "batch"],
            [rows["account_id"].astype(str), ids, rows["count"].astype("int64"), _times(rows["first_seen"]),
             _times(rows["last_seen"]), np.full(len(rows), batch, dtype=object)])))
        files.relationship_count += len(rows)
    _history_files(files, history)
    return files


def _history_files(files: ImportFiles, history: History) -> None:
    directory = files.directory
    runs = history.runs
    if len(runs):
        files.nodes.append(("Run", _write(
            directory / "runs.csv",
            ["run_id:ID(Run)", "started_at:datetime", "finished_at:datetime", "params", "counts", "outcome", "report",
             "record", "base", "mirror_token", "link_signals:string[]", "latest:boolean", "published:boolean"],
            [runs["run_id"], _times(runs["started_at"]), _times(runs["finished_at"]), runs["params"], runs["counts"],
             runs["outcome"], runs["report"], runs["record"], _strings(runs["base"]), _strings(runs["mirror_token"]),
             [ARRAY.join(names) if isinstance(names, (list, np.ndarray)) else "" for names in runs["link_signals"]],
             runs["latest"].map({True: "true", False: "false"}), ["true"] * len(runs)])))
    clusters = history.clusters
    if len(clusters):
        files.nodes.append(("Cluster", _write(
            directory / "clusters.csv",
            ["key:ID(Cluster)", "cluster_id", "run_id", "size:long", "risk_score:double", "flagged:boolean",
             "reason_codes:string[]", "reasons", "evidence"],
            [clusters["key"], clusters["cluster_id"], clusters["run_id"], clusters["size"].astype("int64"),
             clusters["risk_score"].astype(float), clusters["flagged"].map({True: "true", False: "false"}),
             [ARRAY.join(codes or []) for codes in clusters["reason_codes"]], clusters["reasons"], clusters["evidence"]])))
        files.relationships.append(("IN_RUN", _write(directory / "in-run.csv", [":START_ID(Cluster)", ":END_ID(Run)"],
                                                     [clusters["key"], clusters["run_id"]])))
    if len(history.memberships):
        files.relationships.append(("MEMBER_OF", _write(
            directory / "member-of.csv", [":START_ID(Account)", ":END_ID(Cluster)"],
            [history.memberships["account_id"].astype(str), history.memberships["key"]])))
    verdicts = history.verdicts
    if verdicts is not None and len(verdicts):
        files.nodes.append(("Verdict", _write(
            directory / "verdicts.csv",
            ["verdict_id:ID(Verdict)", "cluster_id", "verdict", "note", "by", "at", "run_id", "size:long",
             "members:string[]", "reason_codes:string[]"],
            [verdicts["verdict_id"], verdicts["cluster_id"], verdicts["verdict"], _strings(verdicts["note"]),
             _strings(verdicts["by"]), verdicts["at"], verdicts["run_id"], verdicts["size"].astype("int64"),
             [ARRAY.join(m) for m in verdicts["members"]], [ARRAY.join(r) for r in verdicts["reason_codes"]]])))
    markers = [("Pending", "pending.csv", ["name:ID(Pending)", "batch", "rebuild:boolean"],
                [[history.pending["name"]], [history.pending["batch"]], ["true" if history.pending["rebuild"] else "false"]])]
    if history.lock is not None:
        lock = history.lock
        markers.append(("Lock", "lock.csv", ["name:ID(Lock)", "owner", "holder", "expires_at:datetime", "attempts:long"],
                        [[lock["name"]], [lock.get("owner")], [lock.get("holder")], [lock["expires_at"]], [lock.get("attempts") or 0]]))
    for label, name, header, columns in markers:
        files.nodes.append((label, _write(directory / name, header, columns)))


def import_and_restart(home: Path, files: ImportFiles, database: str, log=None) -> dict[str, float]:
    """Stop the managed server in ``home``, import ``files`` over ``database``, start it again as it ran.

    Raises StoreUnavailable (exit 5) with the importer's last lines when the import fails; the server
    is started again either way, so a failed import leaves a running server (with the old database
    when the importer stopped before replacing it). Returns the seconds of each step.
    """
    import time

    from graphlinker.devserver import server

    info = server.status(home)
    if info is None:
        raise StoreUnavailable(f"no Neo4j server is running in {home}: cannot bulk-load it")
    heap = _heap_of(info.pid) or "1g"
    pagecache = _conf_value(home / "conf" / "neo4j.conf", "server.memory.pagecache.size") or "512m"
    restart = {"bolt_port": info.port, "auth": info.auth, "heap": heap, "pagecache": pagecache,
               "http_port": getattr(info, "http_port", None)}
    seconds = {}
    clock = time.perf_counter()
    server.stop(home)
    seconds["stop"] = time.perf_counter() - clock
    failure = None
    try:
        clock = time.perf_counter()
        failure = _run_import(home, files, database)
        seconds["import"] = time.perf_counter() - clock
    finally:
        clock = time.perf_counter()
        server.start(home, timeout=300, log=log, **restart)
        seconds["start"] = time.perf_counter() - clock
    if failure:
        raise StoreUnavailable(failure)
    return seconds


def _run_import(home: Path, files: ImportFiles, database: str) -> str | None:
    """``neo4j-admin database import full`` on the stopped server's data; an error message, or None."""
    from graphlinker.devserver import server

    java = server.java_executable()
    lib = server.jars_dir()
    report = files.directory / "import.report"
    cmd = [java, "-Xms256m", "-Xmx1g", *server.JVM_FLAGS[-3:], "-cp", str(lib / "*"), server.ADMIN_TOOL,
           "database", "import", "full", *files.arguments(), "--overwrite-destination=true", "--multiline-fields=true", "--array-delimiter=U+001F",
           "--skip-duplicate-nodes=false", f"--report-file={report}", "--max-off-heap-memory=1g", database]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    try:
        done = subprocess.run(cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=6 * 3600, umask=server.PRIVATE_UMASK)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run neo4j-admin's bulk import: {type(exc).__name__}"
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])
        return f"the Neo4j bulk import failed (neo4j-admin exit code {done.returncode}): {tail}"
    return None


def _heap_of(pid: int) -> str | None:
    """The running server's ``-Xmx`` (so the restarted server gets the heap it was started with)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    sizes = [a.decode()[4:] for a in args if a.startswith(b"-Xmx")]
    return sizes[-1] if sizes else None


def _conf_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if match := re.match(rf"\s*{re.escape(key)}\s*=\s*(\S+)", line):
            return match.group(1)
    return None


def staging_directory(home: Path) -> Path:
    """A private directory for one import's CSVs, under the server's home (same disk as its data)."""
    base = home / "import"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix="graphlinker-bulk-", dir=base))


def remove(files: ImportFiles) -> None:
    shutil.rmtree(files.directory, ignore_errors=True)


def history_rows(read) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Runs, clusters and memberships through ``read(statement)`` (the store's reader)."""
    from graphlinker.store import cypher

    runs = read(cypher.READ_RUN_HISTORY)
    clusters = read(cypher.READ_CLUSTER_HISTORY)
    memberships = read(cypher.READ_MEMBERSHIP_HISTORY)
    if len(runs):
        runs["started_at"] = [v.to_native() if hasattr(v, "to_native") else v for v in runs["started_at"]]
        runs["finished_at"] = [v.to_native() if hasattr(v, "to_native") else v for v in runs["finished_at"]]
    return runs, clusters, memberships


__all__ = ["ImportFiles", "History", "write_import_files", "import_and_restart", "staging_directory", "remove",
           "history_rows"]
