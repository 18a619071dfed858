"""Benchmark: a refresh with 1% new data against a full rebuild on the same scenario.

A simulated scenario (``graphlinker.sim.scenario``, CSV) is cut by time into

* **base**: the first 99% of requests by time, plus every account, payment and
  identifier row timestamped before the cut (rows without a timestamp go here too);
* **delta**: everything from the cut on (the last ``--new-share``, default 1%, of requests).

Rows are copied unchanged, under the same file names. Then, each measurement in a
fresh process (peak RSS is per measurement) and each scenario in a fresh workspace:

a. **full**: ``pipeline.run(whole scenario)`` — the full rebuild on the same scenario;
b. **base** + **refresh**: ``run(base)`` (timed, but not the point), then
   ``pipeline.refresh([delta])``, timed alone, with its ingest/analysis split
   (``outcome.timings``) and the time of each progress stage;
c. **no-op**: the same refresh again, which raises ``NothingNew`` (the idempotent no-op).

Reported: refresh wall time / full rebuild wall time (the ratio), new rows, where the
refresh time goes, peak RSS of each process, and how close the refreshed clusters are
to the full run's: the adjusted Rand index over the accounts flagged by either run
(an account outside any cluster is its own singleton), the Jaccard of the flagged account
sets, and the number of flagged clusters of each (plus precision/recall against the
scenario's truth). With ``--repeat N`` every measurement is taken N times and the
fastest is reported (all are kept in the JSON). Each measurement also reports the CPU
seconds of its Python process and the seconds spent in each store call (``usage``,
``merge_graph``, ``publish_run``, taking and releasing the lock, ...; nested calls count once).

``--store neo4j`` takes every measurement against a real Neo4j 5.26 server instead of a
LocalStore: a throwaway server (``graphlinker.devserver.server``) is started in a temporary home
on a free loopback port, as ``bench_neo4j_load.py`` does, and stopped at the end; the
database is emptied (every node detached and deleted, schema kept) before each scenario (the
full run, and ``run(base)``), and each child opens ``Neo4jStore(connection_settings())`` from
``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``/``NEO4J_DATABASE`` in its environment (the
password is never on a command line nor printed). Peak RSS is still the Python process's;
the server's CPU seconds during each measurement are reported beside it (the server is not
pinned: it uses the machine's other cores while the Python process waits on it), and so are
the seconds of each Cypher statement. A fresh server is first warmed by an unmeasured
``run(base)`` (``--neo4j-warmup none`` skips it): otherwise the first scenario, the full
rebuild, would also pay for the cold JVM and query caches.

Every child is pinned to one CPU (``sched_setaffinity``) with BLAS/OpenMP/Arrow thread
pools at one thread, as in ``bench_templates.py``. Peak RSS is the child's ``VmHWM``
(``/proc/self/status``): a child's ``ru_maxrss`` on Linux starts at its parent's peak
(exec keeps the high-water mark of the forked image), which would hide the figure.

    python bench/bench_refresh.py --scale 1 --seed 1
    python bench/bench_refresh.py --scale 3 --seed 1 --json
    python bench/bench_refresh.py --scenario DIR --new-share 0.01 --repeat 3
    python bench/bench_refresh.py --store neo4j --scale 0.3 --seed 1 --json
    python bench/bench_refresh.py --scale 1 --repeat 3 --baseline 004d610   # against an earlier revision

``--baseline REV`` then runs the benchmark of revision ``REV`` (its own ``bench_refresh.py``, from a git
worktree under ``--workdir``, with its graphlinker on ``PYTHONPATH``) on the same scenario with the same
options, in the same session, and prints this tree's wall times and peaks as ratios to its: "the refresh
path and the Neo4j store do not get slower" is a ratio of at most 1.

Not a test: it asserts nothing (``tests/test_bench_refresh.py`` tests its pieces).
"""

from __future__ import annotations

import os

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}
if __name__ == "__main__":  # before numpy is imported anywhere
    os.environ.update(SINGLE_THREAD_ENV)

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from benchutil import checkout, pin_to_one_cpu, status_mib

from graphlinker.ingest.discovery import discover
from graphlinker.sim.slices import TIME_COLUMN, read_rows, write_rows

KINDS = ("accounts", "payments", "identifiers", "requests")

# ----------------------------------------------------------------------------- the 99/1 cut


def parse_times(values: pd.Series) -> pd.Series:
    """UTC timestamps of a time column (ISO 8601 text or epoch seconds, as the input contract); NaT if missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
        return out.reset_index(drop=True)
    text = pd.Series(values, dtype="string").reset_index(drop=True).str.strip()
    text = text.mask(text == "")
    numeric = pd.to_numeric(text, errors="coerce")
    iso = pd.to_datetime(text.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601")
    epoch = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    return iso.where(iso.notna(), epoch)


def cut_export(export_dir: Path, out_dir: Path, new_share: float = 0.01) -> dict:
    """Write ``out_dir/base`` and ``out_dir/delta``: the last ``new_share`` of requests by time go to delta.

    The cut is the request time at the (1 - new_share) quantile: a row of any kind timestamped
    at or after it goes to delta, every other row (and every row without a timestamp) to base,
    so each delta row is later than every base request. Delta holds a file of a kind only if it
    has rows of that kind. Returns the directories, the cut and per-kind row counts.
    """
    if not 0 < new_share < 1:
        raise ValueError("new_share must be between 0 and 1")
    files = discover(Path(export_dir))
    base_dir, delta_dir = Path(out_dir) / "base", Path(out_dir) / "delta"
    base_dir.mkdir(parents=True, exist_ok=True)
    delta_dir.mkdir(parents=True, exist_ok=True)
    frames = {kind: read_rows(path) for kind, path in files.items()}
    times = {kind: (parse_times(frame[TIME_COLUMN[kind]]) if TIME_COLUMN[kind] in frame.columns
                    else pd.Series(pd.NaT, index=range(len(frame)), dtype="datetime64[ns, UTC]"))
             for kind, frame in frames.items()}
    request_times = times["requests"].dropna().sort_values(ignore_index=True)
    cut = None
    if len(request_times):
        cut = request_times.iloc[min(int(np.floor(len(request_times) * (1 - new_share))), len(request_times) - 1)]
    rows = {}
    for kind, frame in frames.items():
        later = (times[kind] >= cut).fillna(False).to_numpy(dtype=bool) if cut is not None else np.zeros(len(frame), bool)
        write_rows(frame[~later], base_dir / files[kind].name)
        if later.any():
            write_rows(frame[later], delta_dir / files[kind].name)
        rows[kind] = {"base": int((~later).sum()), "delta": int(later.sum())}
    return {"base": base_dir, "delta": delta_dir, "cut": None if cut is None else cut.isoformat(), "rows": rows}


# ----------------------------------------------------------------------------- comparing partitions


def _comb2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1) / 2


def adjusted_rand_numpy(a, b) -> float:
    """Hubert & Arabie's adjusted Rand index of two labelings, from their contingency table."""
    if len(a) != len(b):
        raise ValueError("labelings differ in length")
    if len(a) < 2:
        return 1.0
    ia, _ = pd.factorize(pd.Series(list(a), dtype=object))
    ib, nb = pd.factorize(pd.Series(list(b), dtype=object))
    table = np.bincount(ia * len(nb) + ib, minlength=(ia.max() + 1) * len(nb)).reshape(-1, len(nb))
    index = _comb2(table).sum()
    rows, cols = _comb2(table.sum(axis=1)).sum(), _comb2(table.sum(axis=0)).sum()
    expected = rows * cols / _comb2(len(a))
    maximum = (rows + cols) / 2
    if maximum == expected:  # both partitions trivial (all singletons, or one block) and equal
        return 1.0
    return float((index - expected) / (maximum - expected))


def adjusted_rand(a, b) -> float:
    """ARI by scikit-learn when it is installed, else :func:`adjusted_rand_numpy` (the same figure)."""
    try:
        from sklearn.metrics import adjusted_rand_score
    except ImportError:
        return adjusted_rand_numpy(a, b)
    return float(adjusted_rand_score(list(a), list(b))) if len(a) else 1.0


def flagged_labels(report: dict) -> tuple[dict, set]:
    """Cluster id of every clustered account, and the set of accounts in flagged clusters."""
    cluster_of = {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}
    flagged = {a for c in report["clusters"] if c["flagged"] for a in c["accounts"]}
    return cluster_of, flagged


def compare_reports(full: dict, other: dict) -> dict:
    """ARI over the accounts flagged by either report (unclustered = singleton), Jaccard of the flagged sets,
    and the ARI over every account either report puts in a cluster (flagged or not)."""
    full_of, full_flagged = flagged_labels(full)
    other_of, other_flagged = flagged_labels(other)
    accounts = sorted(full_flagged | other_flagged)
    ari = adjusted_rand([full_of.get(a, "-" + a) for a in accounts], [other_of.get(a, "-" + a) for a in accounts])
    union = len(accounts)
    clustered = sorted(set(full_of) | set(other_of))
    ari_all = adjusted_rand([full_of.get(a, "-" + a) for a in clustered], [other_of.get(a, "-" + a) for a in clustered])
    return {"ari": ari, "flagged_union": union,
            "flagged_jaccard": len(full_flagged & other_flagged) / union if union else 1.0,
            "ari_all_clustered": ari_all, "clustered_union": len(clustered)}


# ----------------------------------------------------------------------------- child processes


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM); ru_maxrss where /proc is missing."""
    hwm = status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StageClock:
    """A pipeline Progress that records the seconds spent in each stage."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        start = time.perf_counter()
        try:
            yield lambda advance=1: None
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


STORE_CALLS = ("reset_graph", "merge_graph", "accounts", "usage", "stats", "templates", "template_usage", "ledger",
               "seen_keys", "grouper_state", "publish_run", "latest_report", "report_of", "interrupted_rebuild", "runs")


def _statement_names() -> dict[str, str]:
    """Cypher text -> its name in ``graphlinker.store.cypher`` (``MERGE_USAGE[ip]`` for a dict entry)."""
    from graphlinker.store import cypher

    names = {}
    for name, value in vars(cypher).items():
        if not name.isupper():
            continue
        if isinstance(value, str):
            names[value] = name
        elif isinstance(value, dict):
            names.update({text: f"{name}[{key}]" for key, text in value.items() if isinstance(text, str)})
        elif isinstance(value, (list, tuple)):
            names.update({text: name for text in value if isinstance(text, str)})
    return names


def time_store_calls(store) -> tuple[dict[str, float], dict[str, dict]]:
    """Wrap ``store``'s interface methods (on the instance) to add up their seconds; returns (calls, statements).

    A call made inside another timed call (``template_usage`` calling ``usage``) counts once, in the
    outer one. The lock is timed as ``lock (take)`` (entering it, with its crash recovery) and
    ``lock (release)`` (leaving it), not the work done while it is held. On a Neo4j store, each Cypher
    statement sent through the store's ``_read``/``_write_batches``/``_auto`` is timed too (seconds,
    calls, rows sent or read back), named as in ``graphlinker.store.cypher``; the few statements
    ``publish_run`` and the lock run directly in a transaction function are not among them.
    """
    seconds: dict[str, float] = {}
    statements: dict[str, dict] = {}
    depth = [0]

    def add(name: str, start: float) -> None:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

    def wrap(name: str, method: Callable) -> Callable:
        def timed(*args, **kwargs):
            depth[0] += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    add(name, start)
        return timed

    for name in STORE_CALLS:
        setattr(store, name, wrap(name, getattr(store, name)))
    lock = store.lock

    @contextmanager
    def timed_lock(*args, **kwargs):
        manager = lock(*args, **kwargs)
        start = time.perf_counter()
        manager.__enter__()
        add("lock (take)", start)
        exc_info = (None, None, None)
        try:
            yield
        except BaseException:
            exc_info = sys.exc_info()
            raise
        finally:
            start = time.perf_counter()
            manager.__exit__(*exc_info)
            add("lock (release)", start)

    store.lock = timed_lock
    if all(hasattr(store, name) for name in ("_read", "_write_batches", "_auto")):
        names = _statement_names()

        def tally(statement: str, start: float, rows: int) -> None:
            name = names.get(statement) or " ".join(statement.split())[:50]
            entry = statements.setdefault(name, {"s": 0.0, "calls": 0, "rows": 0})
            entry["s"] += time.perf_counter() - start
            entry["calls"] += 1
            entry["rows"] += rows

        read, write_batches, auto = store._read, store._write_batches, store._auto

        def timed_read(statement, **params):
            start = time.perf_counter()
            frame = read(statement, **params)
            tally(statement, start, len(frame))
            return frame

        def timed_write_batches(statement, rows, **params):
            start = time.perf_counter()
            write_batches(statement, rows, **params)
            tally(statement, start, len(rows))

        def timed_auto(statement, **params):
            start = time.perf_counter()
            auto(statement, **params)
            tally(statement, start, 0)

        store._read, store._write_batches, store._auto = timed_read, timed_write_batches, timed_auto
    return seconds, statements


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads) so far, from /proc; None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15
    except (OSError, ValueError, IndexError):
        return None


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(mode: str, workspace: Path, inputs: list[Path], report_path: Path | None, pin: bool,
          store_kind: str = "local", server_pid: int | None = None) -> dict:
    """One measurement in this process: ``run`` (inputs[0]), ``refresh`` or ``noop`` (a refresh expecting NothingNew).

    ``store_kind`` ``local`` works on a LocalStore in ``workspace``; ``neo4j`` on
    ``Neo4jStore(connection_settings())`` (the ``NEO4J_*`` variables), whose server process
    ``server_pid`` is sampled for CPU seconds.
    """
    pinned = pin_to_one_cpu() if pin else "not pinned"
    started = time.perf_counter()
    from graphlinker.errors import NothingNew
    from graphlinker.ingest.readers import Quarantine
    from graphlinker.pipeline import refresh, run
    from graphlinker.settings import Settings
    from graphlinker.store import LocalStore

    if store_kind == "neo4j":
        from graphlinker.devserver.server import connection_settings
        from graphlinker.store.neo4j import Neo4jStore
    import_s = time.perf_counter() - started
    rss_imports = status_mib("VmRSS")
    settings, quarantine, clock = Settings.load(), Quarantine(None), StageClock()
    start = time.perf_counter()
    store = Neo4jStore(connection_settings()) if store_kind == "neo4j" else LocalStore(workspace)
    open_s = time.perf_counter() - start
    calls, statements = time_store_calls(store)
    result = {"mode": mode, "store": store_kind, "pinned": pinned, "import_s": import_s, "open_s": open_s,
              "rss_after_imports_mib": rss_imports, "nothing_new": False}
    server_before = process_cpu_s(server_pid) if server_pid else None
    cpu_before = _own_cpu_s()
    start = time.perf_counter()

    def finish(wall: float) -> None:
        server_after = process_cpu_s(server_pid) if server_pid else None
        result.update(wall_s=wall, cpu_s=_own_cpu_s() - cpu_before, stages=clock.seconds, store_calls=calls,
                      cypher=statements,
                      server_cpu_s=None if server_before is None or server_after is None else server_after - server_before,
                      peak_rss_mib=peak_rss_mib())

    try:
        try:
            if mode == "run":
                outcome = run(inputs[0], store, settings, quarantine, progress=clock)
            else:
                outcome = refresh(inputs, store, settings, quarantine, progress=clock)
        except NothingNew as exc:
            finish(time.perf_counter() - start)
            result.update(nothing_new=True, message=str(exc))
            return result
        finish(time.perf_counter() - start)
    finally:
        store.close()
    if report_path is not None:
        report_path.write_text(json.dumps(outcome.report))
    result.update(timings=outcome.timings, new_rows=outcome.new_rows, skipped_files=outcome.skipped_files,
                  summary=outcome.report["summary"])
    return result


def spawn(mode: str, workspace: Path, inputs: list[Path], report_path: Path | None, pin: bool,
          store_kind: str = "local", neo4j: Neo4jServer | None = None) -> dict:
    """Run :func:`child` in a fresh interpreter; returns its JSON line.

    With ``neo4j`` the connection settings go to the child in its environment (never on the command line).
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--_child", mode, "--_workspace", str(workspace),
               "--_store", store_kind]
    for path in inputs:
        command += ["--_input", str(path)]
    if report_path is not None:
        command += ["--_report", str(report_path)]
    if not pin:
        command.append("--no-pin")
    env = {**os.environ, **SINGLE_THREAD_ENV}
    if store_kind == "neo4j":
        if neo4j is None:
            raise ValueError("a neo4j measurement needs the server")
        command += ["--_server-pid", str(neo4j.pid)]
        env.update(neo4j.child_env())
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} process failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- a throwaway Neo4j server

EMPTY_DATABASE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


class Neo4jServer:
    """A throwaway Neo4j 5.26 server in ``home`` on a free loopback port (as ``bench_neo4j_load.py`` starts one)."""

    def __init__(self, home: Path, heap: str, pagecache: str):
        self.home, self.heap, self.pagecache = Path(home), heap, pagecache
        self.info = None
        self.settings: dict | None = None
        self.start_s = None
        self.empty_s: list[float] = []
        self.warmup_s: float | None = None

    def start(self) -> Neo4jServer:
        from graphlinker.devserver import server

        began = time.perf_counter()
        self.info = server.start(self.home, bolt_port=0, auth=True, heap=self.heap, pagecache=self.pagecache, timeout=300)
        self.settings = server.server_settings(self.home)
        self.start_s = time.perf_counter() - began
        return self

    def stop(self) -> None:
        from graphlinker.devserver import server

        server.stop(self.home)

    @property
    def pid(self) -> int:
        return self.info.pid

    def describe(self) -> dict:
        from graphlinker.devserver.server import NEO4J_VERSION

        return {"version": NEO4J_VERSION, "uri": self.settings["uri"], "database": self.settings["database"],
                "heap": self.heap, "pagecache": self.pagecache, "start_s": self.start_s, "empty_s": self.empty_s,
                "warmup_s": self.warmup_s,
                "server_peak_rss_mib": self.peak_rss_mib()}

    def child_env(self) -> dict:
        """The ``NEO4J_*`` variables :func:`graphlinker.devserver.server.connection_settings` reads."""
        s = self.settings
        return {"NEO4J_URI": s["uri"], "NEO4J_USER": s["user"], "NEO4J_PASSWORD": s["password"],
                "NEO4J_DATABASE": s["database"]}

    def empty(self) -> float:
        """Delete every node and relationship (constraints and indexes stay); returns the seconds it took."""
        from neo4j import GraphDatabase

        s = self.settings
        began = time.perf_counter()
        with GraphDatabase.driver(s["uri"], auth=(s["user"], s["password"])) as driver:
            with driver.session(database=s["database"]) as session:  # auto-commit: CALL IN TRANSACTIONS needs it
                session.run(EMPTY_DATABASE).consume()
                left = session.run("MATCH (n) RETURN count(n) AS n").single()["n"]
        if left:
            raise SystemExit(f"emptying the Neo4j database left {left} nodes")
        self.empty_s.append(time.perf_counter() - began)
        return self.empty_s[-1]

    def peak_rss_mib(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
        return None


# ----------------------------------------------------------------------------- the benchmark


def split_seconds(measured: dict) -> dict:
    """Wall, ingest, analysis and outside-the-pipeline seconds of one measurement, plus grouped stage times."""
    timings = measured.get("timings", {})
    stages = measured.get("stages", {})
    reading = sum(s for name, s in stages.items() if name.startswith("reading "))
    out = {"wall_s": measured["wall_s"], "ingest_s": timings.get("ingest_s"), "total_s": timings.get("total_s"),
           "analysis_s": (timings["total_s"] - timings["ingest_s"]) if timings else None,
           "outside_s": (measured["wall_s"] - timings["total_s"]) if timings else None,
           "reading_s": reading, "writing_graph_s": stages.get("writing graph", 0.0)}
    for key, name in (("linking_s", "linking accounts"), ("detection_s", "detecting communities"),
                      ("scoring_s", "scoring clusters"), ("publishing_s", "publishing run")):
        out[key] = stages.get(name, 0.0)
    if timings:
        out["ingest_other_s"] = timings["ingest_s"] - reading - out["writing_graph_s"]
        out["analysis_other_s"] = out["analysis_s"] - sum(out[k] for k in ("linking_s", "detection_s", "scoring_s", "publishing_s"))
    return out


def fastest(measurements: list[dict]) -> dict:
    best = min(measurements, key=lambda m: m["wall_s"])
    return {**best, "peak_rss_mib": max(m["peak_rss_mib"] for m in measurements),
            "all_wall_s": [m["wall_s"] for m in measurements]}


def quality(report: dict, truth: Path) -> dict | None:
    if not truth.exists():
        return None
    from graphlinker.sim.evaluate import evaluate

    result = evaluate(report, truth)
    return {"precision": result.precision, "recall": result.recall, "f1": result.f1}


def benchmark(args) -> dict:
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="graphlinker-bench-refresh-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.store != "neo4j":
            return _benchmark(args, workdir)
        neo4j = Neo4jServer(workdir / "neo4j-home", args.neo4j_heap, args.neo4j_pagecache)
        try:
            neo4j.start()
            print(f"neo4j: {neo4j.settings['uri']} (pid {neo4j.pid}, heap {neo4j.heap}, page cache {neo4j.pagecache}) "
                  f"up in {neo4j.start_s:.1f}s")
            return _benchmark(args, workdir, neo4j)
        finally:
            neo4j.stop()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _benchmark(args, workdir: Path, neo4j: Neo4jServer | None = None) -> dict:
    pin = not args.no_pin
    store = args.store
    if args.scenario:
        scenario = Path(args.scenario)
        print(f"scenario: {scenario}")
    else:
        from graphlinker.sim.scenario import simulate

        scenario = workdir / "scenario"
        start = time.perf_counter()
        summary = simulate(scenario, seed=args.seed, scale=args.scale, file_format="csv")
        print(f"simulate: scale {args.scale} seed {args.seed}: {summary} in {time.perf_counter() - start:.1f}s")
    start = time.perf_counter()
    cut = cut_export(scenario, workdir / "cut", args.new_share)
    rows = cut["rows"]
    requests = rows["requests"]["base"] + rows["requests"]["delta"]
    print(f"cut at {cut['cut']} ({time.perf_counter() - start:.1f}s): "
          + ", ".join(f"{kind} {r['base']:,} + {r['delta']:,}" for kind, r in rows.items())
          + f"  (base + delta; delta {rows['requests']['delta'] / max(requests, 1):.2%} of requests)")

    full_runs, base_runs, refreshes, noops = [], [], [], []
    reports = {}
    def empty() -> None:
        if neo4j is not None:
            print(f"  (neo4j database emptied in {neo4j.empty():.1f}s)")

    if neo4j is not None and args.neo4j_warmup == "base":
        # a fresh server is cold (JVM JIT, Cypher plan cache, store files): the first scenario on it would pay for that
        warm = spawn("run", workdir / "ws-warmup", [cut["base"]], None, pin, store, neo4j)
        neo4j.warmup_s = warm["wall_s"]
        print(f"  (neo4j warm-up, unmeasured: run(base) in {warm['wall_s']:.1f}s wall, pipeline {warm['timings']['total_s']:.1f}s)")
    for i in range(args.repeat):
        ws_full, ws_inc = workdir / f"ws-full-{i}", workdir / f"ws-incremental-{i}"
        for ws in (ws_full, ws_inc):
            shutil.rmtree(ws, ignore_errors=True)
        empty()
        full_runs.append(spawn("run", ws_full, [scenario], workdir / "report-full.json", pin, store, neo4j))
        empty()
        base_runs.append(spawn("run", ws_inc, [cut["base"]], workdir / "report-base.json", pin, store, neo4j))
        refreshes.append(spawn("refresh", ws_inc, [cut["delta"]], workdir / "report-refresh.json", pin, store, neo4j))
        noops.append(spawn("noop", ws_inc, [cut["delta"]], None, pin, store, neo4j))
        if not args.workdir:
            for ws in (ws_full, ws_inc):
                shutil.rmtree(ws, ignore_errors=True)
    for name in ("full", "base", "refresh"):
        reports[name] = json.loads((workdir / f"report-{name}.json").read_text())
    full, base, fresh, noop = (fastest(m) for m in (full_runs, base_runs, refreshes, noops))
    if fresh.get("nothing_new"):
        raise SystemExit(f"the refresh found nothing new: {fresh.get('message')}")

    times = {name: split_seconds(m) for name, m in (("full", full), ("base", base), ("refresh", fresh))}
    times["noop"] = {"wall_s": noop["wall_s"], "nothing_new": noop["nothing_new"], "stages": noop["stages"]}
    for name, m in (("full", full), ("base", base), ("refresh", fresh), ("noop", noop)):
        times[name].update({key: m.get(key) for key in ("cpu_s", "server_cpu_s", "open_s", "store_calls", "cypher")})
    ratio = fresh["wall_s"] / full["wall_s"]
    ratio_pipeline = times["refresh"]["total_s"] / times["full"]["total_s"]
    versus_full = {name: compare_reports(reports["full"], reports[name]) for name in ("refresh", "base")}
    truth = scenario / "truth.csv"
    result = {
        "store": store, "neo4j": neo4j.describe() if neo4j is not None else None,
        "scale": args.scale if not args.scenario else None, "seed": args.seed if not args.scenario else None,
        "scenario": str(scenario) if args.scenario else None, "new_share": args.new_share, "repeat": args.repeat,
        "pinned": full["pinned"], "cut": cut["cut"], "rows": rows, "requests": requests,
        "ratio": ratio, "ratio_pipeline": ratio_pipeline,
        "new_rows": fresh["new_rows"], "full_rows": full["new_rows"], "base_rows": base["new_rows"],
        "full": {**times["full"], "peak_rss_mib": full["peak_rss_mib"], "all_wall_s": full["all_wall_s"]},
        "base": {**times["base"], "peak_rss_mib": base["peak_rss_mib"], "all_wall_s": base["all_wall_s"]},
        "refresh": {**times["refresh"], "peak_rss_mib": fresh["peak_rss_mib"], "all_wall_s": fresh["all_wall_s"],
                    "stages": fresh["stages"], "skipped_files": fresh["skipped_files"]},
        "noop": {**times["noop"], "peak_rss_mib": noop["peak_rss_mib"], "all_wall_s": noop["all_wall_s"]},
        "rss_after_imports_mib": full["rss_after_imports_mib"],
        "ari": versus_full["refresh"]["ari"], "flagged_jaccard": versus_full["refresh"]["flagged_jaccard"],
        "flagged_union": versus_full["refresh"]["flagged_union"],
        "ari_all_clustered": versus_full["refresh"]["ari_all_clustered"], "clustered_union": versus_full["refresh"]["clustered_union"],
        "base_vs_full": versus_full["base"],
        "flagged_clusters": {name: reports[name]["summary"]["flagged_clusters"] for name in ("full", "refresh", "base")},
        "flagged_accounts": {name: reports[name]["summary"]["flagged_accounts"] for name in ("full", "refresh", "base")},
        "clusters": {name: reports[name]["summary"]["clusters"] for name in ("full", "refresh", "base")},
        "quality": {name: quality(reports[name], truth) for name in ("full", "refresh")},
    }
    print_summary(result)
    if args.workdir:
        print(f"artefacts in {workdir}")
    return result


def print_summary(r: dict) -> None:
    full, base, fresh, noop = r["full"], r["base"], r["refresh"], r["noop"]

    store = r.get("store", "local")
    label = f"[{store}] "

    def cpu(t: dict) -> str:
        text = f"  CPU python {t['cpu_s']:6.2f}s" if t.get("cpu_s") is not None else ""
        if t.get("server_cpu_s") is not None:
            text += f", neo4j server {t['server_cpu_s']:6.2f}s"
        return text

    def line(name: str, t: dict, rows: int) -> str:
        return (f"  {name:<22} {t['wall_s']:7.2f}s wall  (pipeline {t['total_s']:6.2f}s = ingest {t['ingest_s']:6.2f}s + "
                f"analysis {t['analysis_s']:6.2f}s)  {rows:>10,} rows  peak RSS {t['peak_rss_mib']:6.0f} MiB{cpu(t)}")

    where = "embedded LocalStore workspaces"
    if r.get("neo4j"):
        n = r["neo4j"]
        where = f"Neo4j {n['version']} at {n['uri']}, heap {n['heap']}, page cache {n['pagecache']}, emptied before each scenario"
    print(f"\n{label}measurements on the {store} store ({where}; {r['pinned']}; one process each; fastest of "
          f"{r['repeat']}; RSS after imports {r['rss_after_imports_mib']:.0f} MiB; peak RSS is the Python process's):")
    print(line("full rebuild run(all)", full, r["full_rows"]))
    print(line("run(base)", base, r["base_rows"]))
    print(line("refresh([delta])", fresh, r["new_rows"]))
    print(f"  {'refresh again (no-op)':<22} {noop['wall_s']:7.2f}s wall  (raised NothingNew: {noop['nothing_new']}; "
          f"peak RSS {noop['peak_rss_mib']:.0f} MiB){cpu(noop)}")
    if r.get("neo4j") and r["neo4j"].get("server_peak_rss_mib"):
        print(f"  (neo4j server peak RSS over the whole benchmark {r['neo4j']['server_peak_rss_mib']:.0f} MiB)")
    print(f"\n{label}ratio refresh / full rebuild: {r['ratio']:.3f} wall ({r['ratio_pipeline']:.3f} on the pipeline's own total_s); "
          f"new rows {r['new_rows']:,} of {r['full_rows']:,} ({r['new_rows'] / max(r['full_rows'], 1):.2%})")
    total = fresh["wall_s"]
    parts = [("reading new files", fresh["reading_s"]), ("writing graph", fresh["writing_graph_s"]),
             ("other ingest (store reads, grouper state)", fresh["ingest_other_s"]),
             ("linking", fresh["linking_s"]), ("detection", fresh["detection_s"]), ("scoring", fresh["scoring_s"]),
             ("publishing", fresh["publishing_s"]), ("other analysis (store reads, report)", fresh["analysis_other_s"]),
             ("outside the pipeline (hashing inputs, lock)", fresh["outside_s"])]
    print(f"{label}where the refresh goes ({total:.2f}s): ingest {fresh['ingest_s']:.2f}s ({fresh['ingest_s'] / total:.0%}), "
          f"analysis {fresh['analysis_s']:.2f}s ({fresh['analysis_s'] / total:.0%})")
    for name, seconds in parts:
        print(f"  {name:<45} {seconds:7.2f}s  {seconds / total:5.1%}")
    full_parts = [("reading files", full["reading_s"]), ("writing graph", full["writing_graph_s"]),
                  ("linking", full["linking_s"]), ("detection", full["detection_s"]), ("scoring", full["scoring_s"]),
                  ("publishing", full["publishing_s"])]
    print("full rebuild for comparison: " + ", ".join(f"{n} {s:.2f}s" for n, s in full_parts))
    for name, t in (("refresh", fresh), ("full rebuild", full), ("no-op refresh", noop)):
        calls = t.get("store_calls") or {}
        if calls:
            shown = sorted(calls.items(), key=lambda kv: -kv[1])
            print(f"{label}store calls in the {name} ({sum(calls.values()):.2f}s of {t['wall_s']:.2f}s wall; they overlap "
                  f"the stages above): " + ", ".join(f"{k} {v:.2f}s" for k, v in shown if v >= 0.005))
        statements = t.get("cypher") or {}
        if statements and name != "no-op refresh":
            top = sorted(statements.items(), key=lambda kv: -kv[1]["s"])[:10]
            print(f"  top Cypher statements ({sum(e['s'] for e in statements.values()):.2f}s in all, incl. driver and "
                  f"frame building): " + ", ".join(f"{k} {e['s']:.2f}s/{e['calls']}x/{e['rows']:,} rows" for k, e in top))
    print(f"\n{label}clusters: refresh vs full: ARI {r['ari']:.4f} over {r['flagged_union']:,} accounts flagged by either, "
          f"flagged-set Jaccard {r['flagged_jaccard']:.4f}; ARI over all {r['clustered_union']:,} clustered accounts "
          f"{r['ari_all_clustered']:.4f}")
    print(f"  flagged clusters: full {r['flagged_clusters']['full']}, refresh {r['flagged_clusters']['refresh']}, "
          f"base only {r['flagged_clusters']['base']}; flagged accounts: full {r['flagged_accounts']['full']:,}, "
          f"refresh {r['flagged_accounts']['refresh']:,}, base only {r['flagged_accounts']['base']:,}; all clusters: "
          f"full {r['clusters']['full']}, refresh {r['clusters']['refresh']}, base only {r['clusters']['base']}")
    b = r["base_vs_full"]
    print(f"  (base run alone vs full: ARI {b['ari']:.4f}, flagged-set Jaccard {b['flagged_jaccard']:.4f}, "
          f"ARI over all clustered {b['ari_all_clustered']:.4f})")
    for name, q in r["quality"].items():
        if q:
            print(f"  vs truth, {name}: precision {q['precision']:.3f} recall {q['recall']:.3f} F1 {q['f1']:.3f}")


ROOT = Path(__file__).resolve().parents[1]


def run_baseline(args) -> dict:
    """Revision ``args.baseline``'s own benchmark, in a fresh interpreter, on ``args.scenario`` with the same options."""
    code = checkout(ROOT, Path(args.workdir), args.baseline)
    command = [sys.executable, str(code["path"] / "bench" / "bench_refresh.py"), "--scenario", str(args.scenario),
               "--new-share", str(args.new_share), "--repeat", str(args.repeat), "--store", args.store,
               "--workdir", str(Path(args.workdir) / "baseline-run"), "--json"]
    if args.store == "neo4j":
        command += ["--neo4j-heap", args.neo4j_heap, "--neo4j-pagecache", args.neo4j_pagecache,
                    "--neo4j-warmup", args.neo4j_warmup]
    if args.no_pin:
        command.append("--no-pin")
    print(f"\nbaseline {args.baseline} = {code['commit'][:12]} (worktree {code['path']}), same scenario and options:", flush=True)
    env = {**os.environ, "PYTHONPATH": str(code["path"])}
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the baseline's benchmark failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    print("\n".join("  | " + line for line in lines[:-1]), flush=True)
    return {**json.loads(lines[-1]), "rev": args.baseline, "commit": code["commit"]}


BASELINE_ROWS = (("full rebuild, wall", ("full", "wall_s")), ("refresh, wall", ("refresh", "wall_s")),
                 ("refresh, pipeline total", ("refresh", "total_s")), ("no-op refresh, wall", ("noop", "wall_s")),
                 ("full rebuild, peak RSS MiB", ("full", "peak_rss_mib")),
                 ("refresh, peak RSS MiB", ("refresh", "peak_rss_mib")))


def against_baseline(this: dict, baseline: dict) -> dict:
    """This tree's figures beside the baseline's, each with the ratio this / baseline (at most 1: not slower)."""
    rows = {}
    for name, (part, key) in BASELINE_ROWS:
        mine, theirs = this[part][key], baseline[part][key]
        rows[name] = {"this": mine, "baseline": theirs, "ratio": mine / theirs if theirs else None}
    rows["refresh / full rebuild"] = {"this": this["ratio"], "baseline": baseline["ratio"],
                                      "ratio": this["ratio"] / baseline["ratio"] if baseline["ratio"] else None}
    rows["flagged clusters, refresh"] = {"this": this["flagged_clusters"]["refresh"],
                                         "baseline": baseline["flagged_clusters"]["refresh"], "ratio": None}
    rows["refresh vs full, ARI"] = {"this": this["ari"], "baseline": baseline["ari"], "ratio": None}
    return rows


def print_against_baseline(rows: dict, rev: str, commit: str) -> None:
    def figure(x) -> str:
        return f"{x:,}" if isinstance(x, int) else f"{x:.2f}"

    print(f"\nthis tree against {rev} ({commit[:12]}), same scenario, same session (ratio = this / baseline; "
          f"at most 1: not slower, not larger):")
    print(f"  {'':<28} {'this tree':>10}  {'baseline':>10}  {'ratio':>6}")
    for name, r in rows.items():
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        print(f"  {name:<28} {figure(r['this']):>10}  {figure(r['baseline']):>10}  {ratio:>6}")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, Path):
        return str(x)
    return x


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=None, help="reuse this export directory instead of simulating")
    parser.add_argument("--new-share", type=float, default=0.01, help="share of requests (by time) in the delta")
    parser.add_argument("--repeat", type=int, default=1, help="take every measurement N times; report the fastest")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the cut, workspaces and reports here")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the measured processes to one CPU")
    parser.add_argument("--json", action="store_true", help="end with a one-line JSON summary")
    parser.add_argument("--store", choices=("local", "neo4j"), default="local",
                        help="measure on the embedded store (default) or a throwaway local Neo4j 5.26 server")
    parser.add_argument("--neo4j-heap", default="2g", help="the throwaway server's JVM heap (with --store neo4j)")
    parser.add_argument("--neo4j-pagecache", default="1g", help="the throwaway server's page cache (with --store neo4j)")
    parser.add_argument("--neo4j-warmup", choices=("base", "none"), default="base",
                        help="with --store neo4j: first warm the fresh server with an unmeasured run(base) (default), or not")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="then run revision REV's own benchmark (a git worktree under --workdir) on the same scenario "
                             "with the same options, and print this tree's figures as ratios to its")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_input", type=Path, action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--_report", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_store", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--_server-pid", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        print(json.dumps(_jsonable(child(args._child, args._workspace, args._input, args._report, not args.no_pin,
                                         args._store, args._server_pid))))
        return
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.baseline and not args.workdir:
        parser.error("--baseline needs --workdir (the scenario and the baseline's worktree are kept there)")
    if args.baseline and not args.scenario:  # both revisions must see the same export
        from graphlinker.sim.scenario import simulate

        args.scenario = Path(args.workdir) / f"scenario-x{args.scale:g}-s{args.seed}"
        if not (args.scenario / "truth.csv").exists():
            print(f"simulate: scale {args.scale} seed {args.seed}: {simulate(args.scenario, seed=args.seed, scale=args.scale, file_format='csv')}")
    result = benchmark(args)
    if args.baseline:
        result["baseline"] = run_baseline(args)
        result["against_baseline"] = against_baseline(result, result["baseline"])
        print_against_baseline(result["against_baseline"], args.baseline, result["baseline"]["commit"])
    if args.json:
        print(json.dumps(_jsonable(result), separators=(",", ":")))


if __name__ == "__main__":
    main()
