"""Benchmark: ``graphlinker run`` with the embedded engine against ``--engine spark --master local[2]``.

For each size of ``--sizes`` (request rows: default 1M and 5M; ``--quick``: 0.05M) the scenario is taken
from bench_scale's cache (``--work DIR/scenarios/seed{S}-{rows}``, simulated and calibrated by
:func:`bench_scale.scenario_for` when missing; its requests are Parquet). The Spark engine reads a CSV
file in ONE task (a CSV record may hold a quoted line break, so a byte offset cannot be trusted to start
one), so the requests are written once more, in ``--requests-format`` (``jsonl``, the default, is cut into
``--split-mb`` byte ranges; ``csv`` shows the one-task case; ``parquet`` uses the cached scenario as it is),
into a sibling directory ``seed{S}-{rows}-{format}`` holding the same accounts, payments, identifiers and
truth files (hard links). Both engines read that same directory.

Each (size, engine) is one fresh interpreter on a fresh embedded workspace (``--inner``), which does
what ``graphlinker run SCENARIO --workspace WS --format json [--engine spark --master local[2]]`` does
(``Settings.load`` → ``with_engine`` → ``open_store("local")`` → ``pipeline.run``) but with bench_scale's
``StageRecorder`` as the pipeline's ``Progress``, so every stage is timed, then writes the report and
stops the Spark session. Neither engine is pinned to a CPU (local[2] is meant to use both cores; the
embedded engine gets the same two). Measured per run:

* wall seconds of the whole process (interpreter start, imports, JVM start and stop included: what the
  command costs), request rows per second of it, and the pipeline's own clock (``RunOutcome.timings``:
  ``ingest_s`` = reading, validating, fingerprinting, aggregating and writing the graph, Spark session
  start included; the rest = linking, detection, scoring, publishing — the same code for both engines);
  per stage seconds in the JSON (the Spark engine's stages are "reading on Spark", "loading accounts,
  payments, identifiers", "aggregating requests on Spark"; the gap before the first of them is mostly the
  Spark session starting, ``spark_start_s``);
* peak memory of the WHOLE process tree: the parent samples, every ``SAMPLE_S`` (0.2 s), the RSS of the
  child and all its descendants from ``/proc`` (the Spark JVM is a child of the driver, its Python
  workers children of the JVM) and keeps the largest sum, split into driver / JVM / Python workers at
  that moment. RSS counts a page shared by two processes twice (forked Python workers share their
  parent's pages), so the sum is an upper bound. A spike shorter than the sampling period can be missed;
  the Python driver's own peak is also read exactly (``VmHWM``, bench_scale's ``PeakMeter``);
* the CPU seconds other processes on the machine used during the run (``other_cpu_s``, from the same
  samples) and the load average before and after: a busy machine slows every figure;
* whether both engines give the same clusters: the same sorted member lists of the flagged clusters
  and the same report summary (all clusters too, in the JSON), and precision, recall and F1 of each
  report against the scenario's ``truth.csv`` (``graphlinker.sim.evaluate``).

Printed: a table (size, engine, wall, rows/s, ingest s, rest s, peak MiB of the tree and of the driver,
same clusters, F1, load), the ratio spark/embedded per size, and a straight-line fit of wall seconds
(and of ingest seconds) against rows per engine, with where — if ever — Spark local[2] would overtake the
embedded engine. On 2 cores local mode is expected to be slower: every row crosses the JVM/Python
boundary, Spark adds its shuffle and task overhead, and the embedded engine is already columnar on the
same two cores. The point of the engine is a cluster, where the ingest half scales out across machines;
this benchmark measures the overhead it costs on one machine, not its value.

    python bench/bench_spark.py --work /tmp/gls --json bench-spark.json        # 1M and 5M, JSON Lines
    python bench/bench_spark.py --quick                                         # 0.05M, a fast check
    python bench/bench_spark.py --sizes 1M --requests-format csv --split-mb 32  # CSV: one Spark task
    python bench/bench_spark.py --show bench-spark.json                         # the tables again

``--json FILE`` is rewritten after every run. A failed run (its stderr's tail is kept) does not stop the
others. Not a test: it asserts nothing (``tests/test_bench_spark.py`` tests its pure pieces).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_scale and benchutil, also when imported by tests

from bench_scale import (  # noqa: E402
    QUALITY_KEYS,
    PeakMeter,
    StageRecorder,
    machine,
    parse_sizes,
    rate,
    run_recorded,
    scenario_for,
)
from benchutil import status_mib  # noqa: E402

DEFAULT_SIZES = "1M,5M"
QUICK_SIZES = "0.05M"
ENGINES = ("embedded", "spark")
DEFAULT_MASTER = "local[2]"
FORMATS = ("jsonl", "csv", "parquet")
SAMPLE_S = 0.2  # the process tree's RSS is sampled this often
CHUNK_ROWS = 200_000  # rows converted at a time when writing the requests in another format
SMALL_FILES = ("accounts.csv", "payments.csv", "identifiers.csv", "truth.csv")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MIB = 1024 * 1024


# ----------------------------------------------------------------------------- scenarios in another format


def convert_requests(source: Path, target: Path, fmt: str) -> int:
    """``source`` (requests.parquet) written as ``target`` in ``fmt`` (jsonl or csv), chunk by chunk, the way
    the simulator writes those formats (tokens as integers, missing ones null / empty). Returns the rows."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"cannot convert requests to {fmt!r}")
    integers = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype()}.get
    rows = 0
    partial = target.with_name(target.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=CHUNK_ROWS):
            frame = batch.to_pandas(types_mapper=integers)
            if fmt == "jsonl":
                if len(frame):
                    frame.to_json(handle, orient="records", lines=True, force_ascii=False)
            else:
                frame.to_csv(handle, index=False, header=rows == 0, lineterminator="\n")
            rows += len(frame)
    partial.replace(target)
    return rows


def scenario_in_format(scenario: dict, fmt: str, regenerate: bool = False) -> dict:
    """The scenario with its requests in ``fmt``: a sibling directory ``<name>-<fmt>`` (made once, reused)."""
    source = Path(scenario["path"])
    if fmt == "parquet":
        return {**scenario, "requests_format": "parquet"}
    final = source.with_name(f"{source.name}-{fmt}")
    meta_path = final / "scenario.json"  # written last: a directory without it is incomplete
    if meta_path.exists() and not regenerate:
        meta = json.loads(meta_path.read_text())
        print(f"scenario {scenario['label']}: cached {final} (requests as {fmt})", flush=True)
        return {**meta, "path": str(final), "cached": True}
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir(parents=True)
    for name in SMALL_FILES:
        try:
            os.link(source / name, final / name)
        except OSError:
            shutil.copy2(source / name, final / name)
    start = time.perf_counter()
    rows = convert_requests(source / "requests.parquet", final / f"requests.{fmt}", fmt)
    seconds = time.perf_counter() - start
    size = (final / f"requests.{fmt}").stat().st_size
    print(f"scenario {scenario['label']}: wrote {final / f'requests.{fmt}'} ({rows:,} rows, {size / MIB:,.0f} MiB) "
          f"in {seconds:.1f}s", flush=True)
    meta = {**{k: v for k, v in scenario.items() if k not in ("path", "cached")}, "requests_format": fmt,
            "source": str(source), "rows": rows, "convert_s": seconds, "requests_bytes": size}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return {**meta, "path": str(final), "cached": False}


# ----------------------------------------------------------------------------- the process tree's memory


def read_proc(proc: Path = Path("/proc")) -> dict[int, tuple[int, str, int, int]]:
    """Every process: pid → (parent pid, command name, RSS bytes, CPU ticks), from ``/proc/PID/stat``."""
    table = {}
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:  # gone meanwhile
            continue
        parsed = parse_stat(text)
        if parsed is not None:
            table[int(entry.name)] = parsed
    return table


def parse_stat(text: str) -> tuple[int, str, int, int] | None:
    """``/proc/PID/stat`` → (ppid, comm, RSS bytes, utime + stime ticks); the name may hold spaces and parens."""
    open_paren, close_paren = text.find("("), text.rfind(")")
    if open_paren < 0 or close_paren < 0:
        return None
    fields = text[close_paren + 2:].split()  # fields[0] is field 3 (state) of proc(5)
    try:
        return int(fields[1]), text[open_paren + 1:close_paren], int(fields[21]) * PAGE, int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def descendants(table: dict[int, tuple], root: int) -> list[int]:
    """``root`` (if alive) and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def tree_rss(table: dict[int, tuple], root: int) -> dict:
    """RSS (bytes) of ``root``'s tree: total, the driver (``root``), JVMs (``java``) and the rest (Python workers)."""
    parts = {"total": 0, "driver": 0, "jvm": 0, "workers": 0, "processes": 0}
    for pid in descendants(table, root):
        _ppid, comm, rss, _ticks = table[pid]
        group = "driver" if pid == root else "jvm" if comm == "java" else "workers"
        parts[group] += rss
        parts["total"] += rss
        parts["processes"] += 1
    return parts


class TreeSampler:
    """Samples ``pid``'s process tree every ``interval`` seconds in a thread: the peak RSS sum (with its
    breakdown), each group's own peak, a 1-second timeline, and the CPU other processes used meanwhile."""

    def __init__(self, pid: int, interval: float = SAMPLE_S, exclude: tuple[int, ...] = ()):
        self.pid, self.interval = pid, interval
        self.exclude = {os.getpid(), *exclude}
        self.peak = {"total": 0, "driver": 0, "jvm": 0, "workers": 0, "processes": 0, "at_s": 0.0}
        self.group_peaks = {"driver": 0, "jvm": 0, "workers": 0}
        self.timeline: list[tuple[float, float]] = []  # (seconds since start, largest tree MiB in that second)
        self.samples = 0
        self._tree: set[int] = set()
        self._cpu: dict[int, list] = {}  # other processes: pid → [first ticks, last ticks, comm]
        self._first = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._start = time.perf_counter()

    def start(self) -> TreeSampler:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        table = read_proc()
        now = time.perf_counter() - self._start
        parts = tree_rss(table, self.pid)
        self._tree.update(descendants(table, self.pid))
        self.samples += 1
        if parts["total"] > self.peak["total"]:
            self.peak = {**parts, "at_s": round(now, 2)}
        for group in self.group_peaks:
            self.group_peaks[group] = max(self.group_peaks[group], parts[group])
        second = float(int(now))
        if self.timeline and self.timeline[-1][0] == second:
            self.timeline[-1] = (second, max(self.timeline[-1][1], round(parts["total"] / MIB, 1)))
        else:
            self.timeline.append((second, round(parts["total"] / MIB, 1)))
        for pid, (_ppid, comm, _rss, ticks) in table.items():
            if pid in self._tree or pid in self.exclude:
                continue
            seen = self._cpu.get(pid)
            if seen is None:  # a process started after the first sample counts from zero
                self._cpu[pid] = [ticks if self._first else 0, ticks, comm]
            else:
                seen[1] = ticks
        self._first = False

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception as exc:  # never let the meter kill the benchmark  # pragma: no cover
                print(f"sampler: {exc!r}", file=sys.stderr)
            self._stop.wait(self.interval)

    def result(self) -> dict:
        others = sorted(((last - first) / TICKS, comm) for pid, (first, last, comm) in self._cpu.items()
                        if pid not in self._tree)
        busiest: dict[str, float] = {}
        for seconds, comm in others:
            busiest[comm] = busiest.get(comm, 0.0) + seconds
        return {"peak_tree_mib": self.peak["total"] / MIB,
                "peak_breakdown_mib": {k: self.peak[k] / MIB for k in ("driver", "jvm", "workers")},
                "peak_processes": self.peak["processes"], "peak_at_s": self.peak["at_s"],
                "group_peaks_mib": {k: v / MIB for k, v in self.group_peaks.items()},
                "samples": self.samples, "sample_interval_s": self.interval, "timeline_mib": self.timeline,
                "other_cpu_s": round(sum(s for s, _ in others), 2),
                "other_busiest": [{"command": c, "cpu_s": round(s, 2)}
                                  for c, s in sorted(busiest.items(), key=lambda kv: -kv[1])[:5] if s > 0]}


# ----------------------------------------------------------------------------- the child: one measured run


def inner(scenario: Path, workspace: Path, out: Path, engine: str, master: str | None, split_mb: int | None,
          config: Path | None) -> None:
    """One ``graphlinker run`` of ``scenario`` on ``engine`` into a fresh ``workspace``; writes ``out`` and
    the report (``report.json``) beside it."""
    started = time.perf_counter()
    meter = PeakMeter()

    import graphlinker.pipeline  # noqa: F401 - the heavy imports, timed as import_s
    import graphlinker.store  # noqa: F401
    from graphlinker.engine import with_engine
    from graphlinker.settings import Settings
    import_s = time.perf_counter() - started
    import_peak = meter.peak_mib()
    recorder = StageRecorder(meter)
    recorder.begin()
    start = time.perf_counter()
    settings = with_engine(Settings.load(config), engine, master if engine == "spark" else None)
    if split_mb is not None:
        settings = replace(settings, engine={**settings.engine, "split_mb": split_mb})
    outcome = run_recorded(scenario, workspace, settings, recorder)
    recorder.finish()
    wall = time.perf_counter() - start
    stop_s = None
    if engine == "spark":
        from graphlinker.engine.spark.session import stop_session

        clock = time.perf_counter()
        stop_session()
        stop_s = time.perf_counter() - clock
    report_path = out.with_name("report.json")
    report_path.write_text(json.dumps(outcome.report))
    peaks = [p for p in (import_peak, *recorder.peaks) if p is not None]
    gap = next((s for key, s in recorder.other_parts.items() if key.startswith("open → ") and "Spark" in key), None)
    result = {"engine": engine, "settings_engine": dict(settings.engine), "import_s": import_s, "pipeline_wall_s": wall,
              "spark_stop_s": stop_s, "spark_start_s": gap, "driver_peak_rss_mib": max(peaks) if peaks else None,
              "driver_rss_end_mib": status_mib("VmRSS"), "stages": recorder.stages, "other_parts": recorder.other_parts,
              "timings": outcome.timings, "new_rows": outcome.new_rows, "quarantine": outcome.quarantine,
              "summary": outcome.report["summary"], "report": str(report_path)}
    out.write_text(json.dumps(result, indent=2) + "\n")


def cli_equivalent(scenario: Path, workspace: Path, engine: str, master: str, split_mb: int | None,
                   config: Path | None) -> str:
    """The ``graphlinker run`` command the child stands for (``[engine] split_mb`` has no flag: a config file)."""
    parts = ["graphlinker", "run", str(scenario), "--workspace", str(workspace), "--format", "json"]
    if engine == "spark":
        parts += ["--engine", "spark", "--master", master]
    if config is not None:
        parts += ["--config", str(config)]
    if split_mb is not None and engine == "spark":
        parts.append(f"# [engine] split_mb = {split_mb}")
    return " ".join(parts)


def spawn(scenario: Path, run_dir: Path, engine: str, master: str, split_mb: int | None, config: Path | None,
          timeout: float) -> dict:
    """:func:`inner` in a fresh interpreter, its process tree sampled meanwhile; what it wrote plus the
    sampler's figures and the process's wall seconds (or the failure, with its stderr's tail)."""
    workspace = run_dir / "workspace"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    out = run_dir / "measure.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--inner", str(scenario), str(workspace), str(out),
               "--engine", engine, "--master", master]
    if split_mb is not None:
        command += ["--split-mb", str(split_mb)]
    if config is not None:
        command += ["--config", str(config)]
    stdout_path, stderr_path = run_dir / "stdout.txt", run_dir / "stderr.txt"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, start_new_session=True)
        sampler = TreeSampler(proc.pid).start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: the driver, its JVM and the workers
            proc.wait()
        wall = time.perf_counter() - start
        sampler.stop()
    memory = sampler.result()
    if proc.returncode != 0 or not out.exists():
        error = stderr_path.read_text(errors="replace")
        reason = (f"timed out after {timeout:.0f}s" if timed_out else
                  f"killed by signal {-proc.returncode} (out of memory?)" if proc.returncode < 0 else
                  f"exit code {proc.returncode}")
        return {"failed": True, "returncode": proc.returncode, "reason": reason, "error": error[-4000:],
                "error_line": last_error_line(error), "stderr": str(stderr_path), "process_wall_s": wall, **memory}
    return {**json.loads(out.read_text()), "process_wall_s": wall, **memory}


def last_error_line(text: str) -> str | None:
    """The last line of a traceback or a Java stack that names an error or exception."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if ("Error" in line or "Exception" in line) and not line.startswith(("at ", "File ")):
            return line
    return lines[-1] if lines else None


# ----------------------------------------------------------------------------- comparing the reports


def flagged_members(report: dict) -> list[list[str]]:
    """The flagged clusters as sorted member lists, sorted."""
    return sorted(sorted(map(str, c.get("accounts", []))) for c in report.get("clusters", []) if c.get("flagged"))


def all_members(report: dict) -> list[list[str]]:
    return sorted(sorted(map(str, c.get("accounts", []))) for c in report.get("clusters", []))


def compare_reports(embedded: dict, spark: dict) -> dict:
    """Same flagged clusters (sorted member lists) and the same summary? Plus what differs, if anything."""
    a, b = flagged_members(embedded), flagged_members(spark)
    only_a = [m for m in a if m not in b]
    only_b = [m for m in b if m not in a]
    summary_a, summary_b = embedded.get("summary", {}), spark.get("summary", {})
    summary_diff = {k: [summary_a.get(k), summary_b.get(k)] for k in sorted({*summary_a, *summary_b})
                    if summary_a.get(k) != summary_b.get(k)}
    same_flagged = a == b
    return {"same_clusters": same_flagged and not summary_diff, "same_flagged": same_flagged,
            "same_summary": not summary_diff, "same_all_clusters": all_members(embedded) == all_members(spark),
            "flagged_clusters": [len(a), len(b)], "flagged_only_embedded": len(only_a), "flagged_only_spark": len(only_b),
            "summary_diff": summary_diff}


# ----------------------------------------------------------------------------- ratios and extrapolation


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares ``seconds = fixed + per_row * rows`` over (rows, seconds); None for fewer than two sizes."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def crossover(embedded: list[tuple[float, float]], spark: list[tuple[float, float]]) -> dict:
    """Where the straight lines through each engine's (rows, seconds) cross, and what that means."""
    fit_e, fit_s = linear_fit(embedded), linear_fit(spark)
    if fit_e is None or fit_s is None:
        return {"fit": None, "rows": None, "verdict": "needs two sizes or more"}
    (a_e, b_e), (a_s, b_s) = fit_e, fit_s
    fit = {"embedded": {"fixed_s": a_e, "s_per_million_rows": b_e * 1e6},
           "spark": {"fixed_s": a_s, "s_per_million_rows": b_s * 1e6}}
    if b_s < b_e:
        rows = (a_s - a_e) / (b_e - b_s)
        if rows <= 0:
            return {"fit": fit, "rows": None, "verdict": "Spark is faster at every size on these lines"}
        return {"fit": fit, "rows": rows, "verdict": f"Spark would be faster beyond about {rows / 1e6:,.1f}M request rows"}
    if a_s < a_e:
        rows = (a_e - a_s) / (b_s - b_e)
        return {"fit": fit, "rows": rows, "verdict": f"Spark is faster only below about {rows / 1e6:,.2f}M rows, slower above"}
    return {"fit": fit, "rows": None,
            "verdict": "never: Spark costs more per row and more fixed time, so the gap only grows with size"}


def _ratio(spark: float | None, embedded: float | None) -> float | None:
    return spark / embedded if embedded and spark is not None else None


def ratios(runs: list[dict]) -> list[dict]:
    """Per size with both engines measured: spark / embedded for wall, ingest, rest and peak memory."""
    out = []
    for label in dict.fromkeys(r["label"] for r in runs):
        pair = {r["engine"]: r for r in runs if r["label"] == label and not r.get("failed")}
        if set(pair) != set(ENGINES):
            continue
        e, s = pair["embedded"], pair["spark"]
        out.append({"label": label, "rows": e["rows"], **{name: _ratio(s.get(key), e.get(key)) for name, key in
                    (("wall", "wall_s"), ("ingest", "ingest_s"), ("rest", "rest_s"), ("peak_tree", "peak_tree_mib"))}})
    return out


def extrapolate(runs: list[dict]) -> dict:
    ok = [r for r in runs if not r.get("failed")]
    points = {engine: {key: [(r["rows"], r[key]) for r in ok if r["engine"] == engine] for key in ("wall_s", "ingest_s")}
              for engine in ENGINES}
    return {key: crossover(points["embedded"][key], points["spark"][key]) for key in ("wall_s", "ingest_s")}


# ----------------------------------------------------------------------------- the tables


def cell(value, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def print_tables(result: dict) -> None:
    runs = result["runs"]
    print("\nper run (wall: the whole process; ingest/rest: the pipeline's clock; peak: RSS sum of the process tree, "
          "sampled every 0.2 s, and the Python driver's own VmHWM)")
    print(f"{'size':>6} {'engine':>9} {'wall s':>8} {'rows/s':>7} {'ingest s':>9} {'rest s':>7} {'peak MiB (tree)':>16} "
          f"{'driver MiB':>11} {'same clusters':>14} {'F1':>6} {'load':>5}")
    same = {c["label"]: c for c in result["comparisons"]}
    for r in runs:
        if r.get("failed"):
            print(f"{r['label']:>6} {r['engine']:>9}  FAILED ({r['reason']}): {r.get('error_line')}")
            continue
        c = same.get(r["label"])
        verdict = "(reference)" if r["engine"] == "embedded" else "-" if c is None else "yes" if c["same_clusters"] else "NO"
        print(f"{r['label']:>6} {r['engine']:>9} {r['wall_s']:>8.1f} {rate(r['rows'], r['wall_s']):>7} "
              f"{r['ingest_s']:>9.1f} {r['rest_s']:>7.1f} {r['peak_tree_mib']:>16,.0f} {cell(r['driver_peak_rss_mib'], ',.0f', 11)} "
              f"{verdict:>14} {cell(r['quality']['f1'], '.3f', 6)} {r['loadavg_before'][0]:>5.2f}")
    for c in result["comparisons"]:
        if not c["same_clusters"]:
            print(f"  {c['label']}: clusters differ: flagged {c['flagged_clusters'][0]} vs {c['flagged_clusters'][1]}, "
                  f"{c['flagged_only_embedded']} only in embedded, {c['flagged_only_spark']} only in spark; "
                  f"summary differences {c['summary_diff'] or 'none'}")
    if result["ratios"]:
        print("\nspark / embedded (above 1: Spark slower or larger)")
        print(f"{'size':>6} {'rows':>11} {'wall':>6} {'ingest':>7} {'rest':>6} {'peak tree':>10}")
        for q in result["ratios"]:
            print(f"{q['label']:>6} {q['rows']:>11,} {cell(q['wall'], '.2f', 6)} {cell(q['ingest'], '.2f', 7)} "
                  f"{cell(q['rest'], '.2f', 6)} {cell(q['peak_tree'], '.2f', 10)}")
    print(f"\nstraight-line fit per engine (seconds = fixed + per-row cost x rows) and where Spark {result['master']} "
          "would overtake the embedded engine:")
    for key, name in (("wall_s", "whole run"), ("ingest_s", "ingest only")):
        x = result["extrapolation"][key]
        if x["fit"]:
            f = x["fit"]
            print(f"  {name}: embedded {f['embedded']['fixed_s']:.1f}s + {f['embedded']['s_per_million_rows']:.1f}s/M rows; "
                  f"spark {f['spark']['fixed_s']:.1f}s + {f['spark']['s_per_million_rows']:.1f}s/M rows → {x['verdict']}")
        else:
            print(f"  {name}: {x['verdict']}")
    print(f"  On {result['machine']['cpu_count']} cores Spark's local mode is expected to be slower than the embedded "
          "engine: the same two cores do the work plus Spark's JVM/Python hand-offs, shuffles and task scheduling. "
          "The point of --engine spark is a cluster, where ingest scales out over machines; a straight line fitted to "
          "two sizes is a rough guide only (it ignores memory limits, which end the embedded engine first).")


# ----------------------------------------------------------------------------- the suite


def code_state() -> dict:
    """What code was measured beyond the commit: a digest of the engine's sources and the tree's changed files
    (the Spark engine is young and edited often; ``machine()``'s dirty flag ignores untracked files)."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted((root / "graphlinker" / "engine").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    try:
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "graphlinker"], capture_output=True,
                                text=True, timeout=30).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        status = None
    try:
        from importlib.metadata import version

        pyspark = version("pyspark")
    except Exception:  # not installed
        pyspark = None
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        java = None
    return {"engine_sources_sha256": digest.hexdigest()[:16], "graphlinker_changes": status, "pyspark": pyspark,
            "java": java}


def wait_for_quiet(max_load: float, wait_s: float) -> tuple[float, float, float]:
    """The load average, after waiting (up to ``wait_s``) for its 1-minute figure to fall to ``max_load``."""
    deadline = time.monotonic() + wait_s
    load = os.getloadavg()
    if load[0] > max_load:
        print(f"  load {load[0]:.2f} > {max_load:g}" + (f"; waiting up to {wait_s:.0f}s for it to fall" if wait_s else
                                                        " (measuring anyway: --wait-quiet to wait)"), flush=True)
    while load[0] > max_load and time.monotonic() < deadline:
        time.sleep(15)
        load = os.getloadavg()
    return load


def measure(args, label: str, scenario: dict, engine: str, run_dir: Path) -> dict:
    path = Path(scenario["path"])
    load_before = wait_for_quiet(args.max_load, args.wait_quiet)
    split_mb = args.split_mb if engine == "spark" else None
    print(f"run {label} {engine}: {cli_equivalent(path, run_dir / 'workspace', engine, args.master, split_mb, args.config)}",
          flush=True)
    measured = spawn(path, run_dir, engine, args.master, split_mb, args.config, args.timeout)
    load_after = os.getloadavg()
    run = {"label": label, "engine": engine, "rows": scenario["rows"], "scenario": str(path),
           "requests_format": scenario.get("requests_format"), "master": args.master if engine == "spark" else None,
           "split_mb": split_mb, "loadavg_before": load_before, "loadavg_after": load_after,
           "command": cli_equivalent(path, run_dir / "workspace", engine, args.master, split_mb, args.config)}
    if measured.get("failed"):
        run.update(measured)
        print(f"run {label} {engine}: FAILED ({measured['reason']}) after {measured['process_wall_s']:.1f}s: "
              f"{measured['error_line']}\n  stderr: {measured['stderr']}", flush=True)
        return run
    from graphlinker.sim.evaluate import evaluate

    evaluation = evaluate(json.loads(Path(measured["report"]).read_text()), path / "truth.csv").to_dict()
    timings = measured["timings"]
    run.update({k: v for k, v in measured.items() if k != "report"})
    run.update({"wall_s": measured["process_wall_s"], "rows_per_s": scenario["rows"] / measured["process_wall_s"],
                "ingest_s": timings["ingest_s"], "rest_s": timings["total_s"] - timings["ingest_s"],
                "quality": {k: evaluation.get(k) for k in QUALITY_KEYS}, "report": measured["report"]})
    print(f"run {label} {engine}: {run['wall_s']:.1f}s ({rate(run['rows'], run['wall_s'])} rows/s), ingest "
          f"{run['ingest_s']:.1f}s, rest {run['rest_s']:.1f}s; peak tree {run['peak_tree_mib']:,.0f} MiB (driver "
          f"{run['peak_breakdown_mib']['driver']:,.0f}, JVM {run['peak_breakdown_mib']['jvm']:,.0f}, workers "
          f"{run['peak_breakdown_mib']['workers']:,.0f}; {run['peak_processes']} processes), driver VmHWM "
          f"{run['driver_peak_rss_mib']:,.0f} MiB; F1 {run['quality']['f1']:.3f}; load {load_before[0]:.2f} → "
          f"{load_after[0]:.2f}; other processes {run['other_cpu_s']:.0f} CPU-s", flush=True)
    return run


def benchmark(args) -> dict:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    info = machine()
    git = info["git"]
    load = os.getloadavg()
    print(f"graphlinker Spark benchmark: sizes {', '.join(label for label, _ in args.sizes)}; engines embedded and "
          f"spark {args.master} (split {args.split_mb or 'default 64'} MB); requests as {args.requests_format}; "
          f"work dir {work}")
    print(f"machine: {info['cpu_count']} CPUs ({info['cpu_model']}), {info['memory_gib']} GiB, Python {info['python']}, "
          f"graphlinker {info['graphlinker']} at {(git['commit'] or 'unknown')[:12]}{' (dirty)' if git['dirty'] else ''}; "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    code = code_state()
    print(f"code: engine sources {code['engine_sources_sha256']}, uncommitted {code['graphlinker_changes'] or 'none'}; "
          f"pyspark {code['pyspark']}, {code['java']}", flush=True)
    result = {"benchmark": "bench_spark", "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "sizes": [label for label, _ in args.sizes], "seed": args.seed, "requests_format": args.requests_format,
              "master": args.master, "split_mb": args.split_mb, "config": str(args.config) if args.config else None,
              "sample_interval_s": SAMPLE_S, "machine": info, "code": code, "loadavg_start": load, "warm_up": not args.no_warm_up,
              "runs": [], "comparisons": [], "ratios": [], "extrapolation": {}}

    def save() -> None:
        result["ratios"] = ratios(result["runs"])
        result["extrapolation"] = extrapolate(result["runs"])
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")

    runs_root = work / "spark-runs"
    if not args.no_warm_up:  # numba's kernels and the JVM's and the OS's caches: kept out of the first measured run
        warm = scenario_in_format(scenario_for(work, "0.02M", 20_000, args.seed), args.requests_format)
        for engine in ENGINES:
            started = time.perf_counter()
            warmed = spawn(Path(warm["path"]), runs_root / "warm-up" / engine, engine, args.master, args.split_mb,
                           args.config, args.timeout)
            state = f"FAILED: {warmed.get('error_line')}" if warmed.get("failed") else "ok"
            print(f"warm-up {engine}: {time.perf_counter() - started:.1f}s, {state}", flush=True)
        shutil.rmtree(runs_root / "warm-up", ignore_errors=True)
    for label, target in args.sizes:
        scenario = scenario_in_format(scenario_for(work, label, target, args.seed, args.regenerate), args.requests_format,
                                      args.regenerate)
        reports = {}
        for engine in args.engines:
            run_dir = runs_root / f"seed{args.seed}-{target}-{args.requests_format}" / engine
            run = measure(args, label, scenario, engine, run_dir)
            result["runs"].append(run)
            if not run.get("failed"):
                reports[engine] = json.loads(Path(run["report"]).read_text())
            if not args.keep_workspaces:
                shutil.rmtree(run_dir / "workspace", ignore_errors=True)
            save()
        if set(reports) == set(ENGINES):
            comparison = {"label": label, **compare_reports(reports["embedded"], reports["spark"])}
            result["comparisons"].append(comparison)
            print(f"size {label}: same clusters: {'yes' if comparison['same_clusters'] else 'NO'} (flagged "
                  f"{comparison['flagged_clusters'][0]} / {comparison['flagged_clusters'][1]}; all clusters "
                  f"{'same' if comparison['same_all_clusters'] else 'differ'})", flush=True)
            save()
    print_tables(result)
    if args.json:
        print(f"\nwrote {args.json}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=None,
                        help=f"request rows per scenario, comma-separated: 1M, 50k, 120000 (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"a fast check: --sizes {QUICK_SIZES}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "graphlinker-bench-scale",
                        help="scenarios (shared with bench_scale, kept and reused) and run artefacts (default: %(default)s)")
    parser.add_argument("--requests-format", choices=FORMATS, default="jsonl",
                        help="format of the requests file both engines read (default jsonl: Spark cuts it into splits; "
                             "csv is read in one task; parquet is the cached scenario itself)")
    parser.add_argument("--master", default=DEFAULT_MASTER, help="Spark master (default %(default)s)")
    parser.add_argument("--split-mb", type=int, default=None, help="[engine] split_mb for the Spark runs (default: the setting, 64)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="engines to run, comma-separated (default: both)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    parser.add_argument("--config", type=Path, default=None, help="settings file for the runs (as `graphlinker run --config`)")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds before a run is killed (default %(default)g)")
    parser.add_argument("--max-load", type=float, default=1.0, help="1-minute load average above which a run is "
                        "reported as on a busy machine (and waited for with --wait-quiet; default %(default)g)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each run, wait up to this long for the load to fall to --max-load")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the unmeasured warm-up runs on a 0.02M scenario")
    parser.add_argument("--regenerate", action="store_true", help="make the scenarios (and their copies) again")
    parser.add_argument("--keep-workspaces", action="store_true", help="keep each run's workspace under --work/spark-runs")
    parser.add_argument("--show", type=Path, default=None, metavar="JSON", help="print the tables of an earlier --json file")
    parser.add_argument("--inner", nargs=3, type=Path, metavar=("SCENARIO", "WORKSPACE", "OUT_JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, default="embedded", help=argparse.SUPPRESS)  # --inner only
    args = parser.parse_args()
    if args.inner:
        inner(*args.inner, engine=args.engine, master=args.master, split_mb=args.split_mb, config=args.config)
        return
    if args.show:
        print_tables(json.loads(args.show.read_text()))
        return
    if args.sizes is None:
        args.sizes = parse_sizes(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown or not args.engines:
        parser.error(f"--engines: choose from {', '.join(ENGINES)}")
    benchmark(args)


if __name__ == "__main__":
    main()
