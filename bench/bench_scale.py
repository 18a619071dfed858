"""Benchmark suite: how each stage of `graphlinker run` grows with input size, and the quality beside it.

For each size of ``--sizes`` (request rows: default 0.2M, 1M, 2M and 5M) a scenario is simulated
(``python -m graphlinker simulate DIR --seed S --scale X --requests-format parquet``) and kept in
``--work DIR/scenarios``, so a rerun skips generation. The simulator makes about ``ROWS_PER_SCALE``
(200k) request rows per unit of scale from scale 0.5 up (seed 1: scale 0.25 → 50,704 rows, scale 1 →
198,778), more per unit below it, noisily (heavy-tailed volumes), and never fewer than about 15k (seed 1:
15,630; the populations' floor sizes). So the first scale tried is target / 200k, and a scenario more than
10% off its target is made again at the corrected scale (at most ``CALIBRATION_TRIES`` times, or until
the floor; the closest is kept). The scenario's actual row count, not the target, is what every figure
is computed from.

Each size then runs ``graphlinker.pipeline.run`` on the embedded store, in a fresh workspace and a
fresh interpreter (``--inner``), so no memory figure leaks from one size into the next. The child is
pinned to one CPU (BLAS/OpenMP/Arrow pools at one thread, as the other benchmarks; ``--no-pin`` lets
it use every core) and records, through the pipeline's ``Progress`` hooks, per stage:

* wall seconds and CPU seconds;
* peak RSS during the stage: ``5`` is written to ``/proc/self/clear_refs`` as the stage starts
  (which resets ``VmHWM`` to the current RSS) and ``VmHWM`` is read as it ends. It counts what the
  process still holds from earlier stages (the allocator rarely returns memory), so it is the
  process's footprint during the stage, not what the stage allocated;
* for the reading stages, the rows the pipeline reported reading (``items``; ``rows_read`` for requests).

Stage names are normalised (``reading requests (requests.parquet)`` → ``reading requests``). The time
between stages (opening the store, taking the lock, reading the store back before linking, building
the report, closing) is the ``other`` row (its parts are in the JSON), so the stages add up to the
wall time of the run (store opened → closed; imports are reported apart). The process's peak RSS is
the largest of all segments' peaks, imports included.

Printed: per size, request rows, wall seconds, rows/s, peak RSS and the report's precision, recall
and F1 against the scenario's ``truth.csv`` (``graphlinker.sim.evaluate``) — a faster method only
counts at the same quality; per stage, seconds and rows/s (always *request* rows of the scenario per
second of the stage, so stages compare) at each size, and the growth exponent between consecutive
sizes, log(t2/t1) / log(n2/n1): 1 is linear; above ``SUPER_LINEAR`` (1.15) the stage is called out as
SUPER-LINEAR (as "super-linear?" when it took under ``SHORT_S`` at either size, where timer noise and
one-off costs dominate); then peak RSS per stage. ``--json PATH`` writes every figure, the machine
(CPUs, memory, Python, graphlinker's git commit) and the load average around each run (other work on
the machine slows it), rewritten after each size.

    python bench/bench_scale.py --work /tmp/gl-scale --json bench-scale.json       # 0.2M, 1M, 2M, 5M
    python bench/bench_scale.py --sizes 0.05M,0.2M                                  # a quick look
    python bench/bench_scale.py --sizes 5M,20M --work /big/disk --json scale-20m.json  # if the machine allows

A 20M-row run needs room for its scenario and workspace under ``--work`` and memory several times
the 5M run's peak (see the 5M figure first); a child killed by the kernel is reported as failed and
the larger sizes are skipped.

Not a test: it asserts nothing (``tests/test_bench_scale.py`` runs a tiny one).
"""

from __future__ import annotations

import os

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}

import argparse
import json
import math
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchutil import checkout, pin_to_one_cpu, status_mib

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_SCALE = 200_000  # request rows per unit of simulator scale (scale >= 0.5; see the docstring)
CALIBRATION_TOLERANCE = 0.10  # a scenario within 10% of its target row count is kept
CALIBRATION_TRIES = 4
SUPER_LINEAR = 1.15  # growth exponent above which a stage is called out
SHORT_S = 0.1  # an exponent from a stage shorter than this (at either size) is mostly noise
DEFAULT_SIZES = "0.2M,1M,2M,5M"
# the pipeline's stages in the order they run (reading: one per input kind the export holds), then the gaps
STAGES = ("reading accounts", "reading payments", "reading identifiers", "reading requests", "merging templates",
          "writing graph", "linking accounts", "detecting communities", "scoring clusters", "publishing run", "other")
OTHER = "other"
QUALITY_KEYS = ("precision", "recall", "f1", "operations_recovered", "operations_total", "lookalike_share_flagged",
                "average_precision")


# ----------------------------------------------------------------------------- sizes and scenarios


def parse_size(text: str) -> int:
    """``0.2M`` → 200000, ``50k`` → 50000, ``120000`` → 120000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write e.g. 0.2M, 50k or 120000)")
    rows = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if rows < 1:
        raise argparse.ArgumentTypeError(f"a size must be at least one row, got {text!r}")
    return round(rows)


def parse_sizes(text: str) -> list[tuple[str, int]]:
    sizes = [(part.strip(), parse_size(part)) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError("no size given")
    return sorted(sizes, key=lambda s: s[1])


def request_rows(scenario: Path) -> int:
    """Request rows of a simulated scenario (its parquet footer)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(scenario / "requests.parquet").metadata.num_rows


def simulate(out: Path, seed: int, scale: float) -> float:
    """``graphlinker simulate`` into ``out`` (replaced); returns its wall seconds."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "graphlinker", "simulate", str(out), "--seed", str(seed), "--scale", f"{scale:.6g}",
               "--requests-format", "parquet"]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"simulate failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def scenario_for(work: Path, label: str, target: int, seed: int, regenerate: bool = False) -> dict:
    """The cached scenario of about ``target`` request rows (made, and calibrated, if missing)."""
    final = work / "scenarios" / f"seed{seed}-{target}"
    meta_path = final / "scenario.json"  # written last: a scenario without it is incomplete
    if meta_path.exists() and not regenerate:
        meta = json.loads(meta_path.read_text())
        print(f"scenario {label}: cached {final} (scale {meta['scale']:g}, {meta['rows']:,} request rows)", flush=True)
        return {**meta, "path": str(final), "cached": True}
    shutil.rmtree(final, ignore_errors=True)
    scale, tries, seconds = target / ROWS_PER_SCALE, [], 0.0
    for attempt in range(CALIBRATION_TRIES):
        out = work / "scenarios" / f".partial-seed{seed}-{target}-{attempt}"
        seconds += simulate(out, seed, scale)
        rows = request_rows(out)
        tries.append({"scale": scale, "rows": rows, "path": out})
        print(f"scenario {label}: simulate --scale {scale:.4g} --seed {seed}: {rows:,} request rows "
              f"({rows / target - 1:+.1%} of the target)", flush=True)
        if abs(rows / target - 1) <= CALIBRATION_TOLERANCE:
            break
        if len(tries) > 1 and rows == tries[-2]["rows"]:  # populations at their floor sizes: a smaller scale changes nothing
            print(f"scenario {label}: the simulator makes no fewer rows than this (its populations' floor sizes)")
            break
        scale *= target / rows
    best = min(tries, key=lambda t: abs(math.log(t["rows"] / target)))
    for t in tries:
        if t is not best:
            shutil.rmtree(t["path"], ignore_errors=True)
    best["path"].rename(final)
    meta = {"label": label, "target_rows": target, "seed": seed, "scale": best["scale"], "rows": best["rows"],
            "simulate_s": seconds, "attempts": [{"scale": t["scale"], "rows": t["rows"]} for t in tries],
            "graphlinker_commit": git_commit()["commit"]}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return {**meta, "path": str(final), "cached": False}


# ----------------------------------------------------------------------------- the machine


def git_commit() -> dict:
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if changes is None else bool(changes)}


def machine() -> dict:
    import graphlinker

    def meminfo_gib(field: str) -> float | None:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024**2, 1)
        except OSError:
            pass
        return None

    model = None
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), None)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = None
    return {"cpu_count": os.cpu_count(), "usable_cpus": usable, "cpu_model": model, "memory_gib": meminfo_gib("MemTotal"),
            "memory_available_gib": meminfo_gib("MemAvailable"), "platform": platform.platform(),
            "python": platform.python_version(), "graphlinker": graphlinker.__version__, "git": git_commit()}


# ----------------------------------------------------------------------------- the child: one measured run


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PeakMeter:
    """This process's peak RSS since the last ``reset`` (VmHWM, reset through /proc/self/clear_refs)."""

    def __init__(self):
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            return True
        except OSError:  # not Linux, or a kernel without it: only the whole process's peak is known
            return False

    def reset(self) -> None:
        if self.resettable:
            self._reset()

    def peak_mib(self) -> float | None:
        hwm = status_mib("VmHWM")
        if hwm is None:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return hwm


def normalise_stage(name: str) -> str:
    """``reading requests (requests.parquet)`` → ``reading requests``; other names unchanged."""
    return re.sub(r"\s*\(.*\)\s*$", "", name).strip()


class StageRecorder:
    """A pipeline ``Progress`` that times each stage and the gaps between them, with each one's peak RSS.

    ``begin()`` starts the measured interval and ``finish()`` ends it; every moment between them is in
    exactly one stage or in ``other``, so the stages' seconds add up to the interval's.
    """

    def __init__(self, meter: PeakMeter):
        self.meter = meter
        self.stages: dict[str, dict] = {}
        self.other_parts: dict[str, float] = {}
        self.peaks: list[float] = []
        self._last = "open"
        self._mark = self._cpu_mark = 0.0

    def _segment(self, name: str, seconds: float, cpu: float, items: int | None = None) -> None:
        peak = self.meter.peak_mib()
        self.meter.reset()
        if peak is not None:
            self.peaks.append(peak)
        entry = self.stages.setdefault(name, {"s": 0.0, "cpu_s": 0.0, "peak_rss_mib": None, "calls": 0, "items": None})
        entry["s"] += seconds
        entry["cpu_s"] += cpu
        entry["calls"] += 1
        if peak is not None and self.meter.resettable:
            entry["peak_rss_mib"] = max(entry["peak_rss_mib"] or 0.0, peak)
        if items is not None:
            entry["items"] = (entry["items"] or 0) + items

    def _close_gap(self, following: str) -> None:
        now, cpu = time.perf_counter(), _cpu_s()
        self._segment(OTHER, now - self._mark, cpu - self._cpu_mark)
        key = f"{self._last} → {following}"
        self.other_parts[key] = self.other_parts.get(key, 0.0) + now - self._mark
        self._mark, self._cpu_mark = now, cpu

    def begin(self) -> None:
        self.meter.reset()
        self._mark, self._cpu_mark = time.perf_counter(), _cpu_s()

    def finish(self) -> None:
        self._close_gap("close")

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        name = normalise_stage(name)
        self._close_gap(name)
        items = [0]

        def advance(n: int = 1) -> None:
            items[0] += n

        try:
            yield advance
        finally:
            now, cpu = time.perf_counter(), _cpu_s()
            self._segment(name, now - self._mark, cpu - self._cpu_mark, items[0])
            self._mark, self._cpu_mark, self._last = now, cpu, name


def run_recorded(scenario: Path, workspace: Path, settings, recorder):
    """``pipeline.run`` as ``graphlinker run`` calls it (the embedded store, a quarantine under the workspace),
    every stage timed by ``recorder``; the RunOutcome."""
    from datetime import UTC, datetime

    from graphlinker.ingest.readers import Quarantine
    from graphlinker.pipeline import new_run_id
    from graphlinker.pipeline import run as run_pipeline
    from graphlinker.store import open_store

    store = open_store("local", workspace)
    quarantine = Quarantine(workspace / "quarantine" / new_run_id(datetime.now(UTC)), strict=False)
    try:
        return run_pipeline(scenario, store, settings, quarantine, progress=recorder)
    finally:
        store.close()


def inner(scenario: Path, workspace: Path, out: Path, pin: bool, config: Path | None) -> None:
    """One measured ``pipeline.run`` of ``scenario`` in ``workspace`` (fresh); writes ``out`` (and the report beside it)."""
    started = time.perf_counter()
    meter = PeakMeter()
    pinned = "not pinned"
    if pin:
        pinned = pin_to_one_cpu()
    import graphlinker.pipeline  # noqa: F401 - the heavy imports, timed as import_s
    import graphlinker.store  # noqa: F401
    from graphlinker.settings import Settings
    import_s = time.perf_counter() - started
    import_peak, rss_after_imports = meter.peak_mib(), status_mib("VmRSS")
    recorder = StageRecorder(meter)
    recorder.begin()
    start = time.perf_counter()
    outcome = run_recorded(scenario, workspace, Settings.load(config), recorder)
    recorder.finish()
    wall = time.perf_counter() - start
    report_path = out.with_name("report.json")
    report_path.write_text(json.dumps(outcome.report))
    peaks = [p for p in (import_peak, *recorder.peaks) if p is not None]
    result = {"pinned": pinned, "import_s": import_s, "import_peak_rss_mib": import_peak,
              "rss_after_imports_mib": rss_after_imports, "wall_s": wall, "cpu_s": _cpu_s(),
              "peak_rss_mib": max(peaks) if peaks else None, "per_stage_peaks": meter.resettable,
              "stages": recorder.stages, "other_parts": recorder.other_parts, "timings": outcome.timings,
              "new_rows": outcome.new_rows, "quarantine": outcome.quarantine, "summary": outcome.report["summary"],
              "report": str(report_path)}
    out.write_text(json.dumps(result, indent=2) + "\n")


def spawn(scenario: Path, workspace: Path, out: Path, pin: bool, config: Path | None, code: Path | None = None) -> dict:
    """:func:`inner` in a fresh interpreter (importing graphlinker from ``code``, a checkout, when given);
    returns what it wrote (or the failure)."""
    shutil.rmtree(workspace, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--inner", str(scenario), str(workspace), str(out)]
    if not pin:
        command.append("--no-pin")
    if config is not None:
        command += ["--config", str(config)]
    env = {**os.environ, **SINGLE_THREAD_ENV}
    if code is not None:  # ahead of the installed (editable) package
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        killed = proc.returncode < 0
        return {"failed": True, "returncode": proc.returncode,
                "error": f"killed by signal {-proc.returncode} (out of memory?)" if killed else proc.stderr[-3000:]}
    return json.loads(out.read_text())


# ----------------------------------------------------------------------------- the tables


def exponent(t1: float, t2: float, n1: int, n2: int) -> float | None:
    if min(t1, t2) <= 0 or n1 <= 0 or n2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def stage_order(runs: list[dict]) -> list[str]:
    seen = {name for run in runs for name in run["stages"]}
    return [s for s in STAGES if s in seen] + sorted(seen - set(STAGES))


def growth(runs: list[dict]) -> list[dict]:
    """Exponents between consecutive sizes: per stage, the whole run, and the peak RSS above the imports' RSS."""
    out = []
    names = stage_order(runs)
    for a, b in zip(runs, runs[1:]):
        n1, n2 = a["rows"], b["rows"]
        stages = {}
        for name in names:
            if name not in a["stages"] or name not in b["stages"]:
                continue
            t1, t2 = a["stages"][name]["s"], b["stages"][name]["s"]
            e = exponent(t1, t2, n1, n2)
            short = min(t1, t2) < SHORT_S
            stages[name] = {"exponent": e, "super_linear": e is not None and e > SUPER_LINEAR and not short,
                            "short": short}
        wall = exponent(a["wall_s"], b["wall_s"], n1, n2)
        memory = None
        if a.get("peak_rss_mib") and b.get("peak_rss_mib"):
            memory = exponent(a["peak_rss_mib"] - a["rss_after_imports_mib"], b["peak_rss_mib"] - b["rss_after_imports_mib"], n1, n2)
        out.append({"from": a["label"], "to": b["label"], "rows_from": n1, "rows_to": n2, "stages": stages,
                    "wall": {"exponent": wall, "super_linear": wall is not None and wall > SUPER_LINEAR},
                    "peak_rss_above_imports": {"exponent": memory,
                                               "super_linear": memory is not None and memory > SUPER_LINEAR}})
    return out


def rate(rows: int, seconds: float) -> str:
    if seconds <= 0:
        return "-"
    r = rows / seconds
    return f"{r / 1e6:.2f}M" if r >= 1e6 else f"{r / 1e3:.0f}k" if r >= 1e3 else f"{r:.0f}"


def mark(entry: dict | None) -> str:
    if not entry or entry["exponent"] is None:
        return "-"
    e = entry["exponent"]
    if entry.get("super_linear"):
        return f"{e:.2f} SUPER-LINEAR"
    if e > SUPER_LINEAR:  # only a short stage gets here
        return f"{e:.2f} super-linear? (<{SHORT_S:g}s)"
    return f"{e:.2f}"


def print_tables(runs: list[dict], grow: list[dict]) -> None:
    print("\nper size (wall: store opened → closed; peak RSS: the whole child process; quality: report vs truth.csv)")
    print(f"{'size':>7} {'request rows':>13} {'scale':>7} {'wall s':>8} {'rows/s':>8} {'peak RSS MiB':>13} "
          f"{'precision':>9} {'recall':>7} {'F1':>6}  {'ops':>5}  {'load':>5}")
    for r in runs:
        q = r["quality"]
        print(f"{r['label']:>7} {r['rows']:>13,} {r['scale']:>7.3g} {r['wall_s']:>8.2f} {rate(r['rows'], r['wall_s']):>8} "
              f"{r['peak_rss_mib']:>13.0f} {q['precision']:>9.3f} {q['recall']:>7.3f} {q['f1']:>6.3f}  "
              f"{q['operations_recovered']:>2}/{q['operations_total']:<2}  {r['loadavg_before'][0]:>5.2f}")
    if grow:
        print("whole-run growth: " + "; ".join(
            f"{g['from']}→{g['to']}: wall {mark(g['wall'])}, peak RSS above imports {mark(g['peak_rss_above_imports'])}"
            for g in grow))
    names = stage_order(runs)
    width = max(len(n) for n in [*names, "total"]) + 1
    print("\nper stage: seconds and request rows/s at each size; growth exponent log(t2/t1)/log(n2/n1) between "
          f"consecutive sizes (1 = linear; > {SUPER_LINEAR} called out)")
    head = f"{'stage':<{width}}" + "".join(f"{r['label'] + ' s':>10} {'rows/s':>8}" for r in runs)
    head += "".join(f"  {'exp ' + g['from'] + '→' + g['to']:<22}" for g in grow)
    print(head)
    for name in [*names, "total"]:
        line = f"{name:<{width}}"
        for r in runs:
            s = r["wall_s"] if name == "total" else r["stages"].get(name, {}).get("s")
            line += f"{'-':>10} {'-':>8}" if s is None else f"{s:>10.3f} {rate(r['rows'], s):>8}"
        for g in grow:
            line += f"  {mark(g['wall'] if name == 'total' else g['stages'].get(name)):<22}"
        print(line)
    print("\nper stage: peak RSS MiB during the stage (" + ", ".join(
        f"{r['label']}: {r['rss_after_imports_mib']:.0f} MiB after imports" for r in runs) + ")")
    print(f"{'stage':<{width}}" + "".join(f"{r['label']:>10}" for r in runs))
    for name in names:
        cells = []
        for r in runs:
            peak = r["stages"].get(name, {}).get("peak_rss_mib")
            cells.append(f"{'-' if peak is None else f'{peak:.0f}':>10}")
        print(f"{name:<{width}}" + "".join(cells))
    flagged = [f"{name} ({g['from']}→{g['to']}: {e['exponent']:.2f})" for g in grow for name, e in g["stages"].items()
               if e["super_linear"]]
    flagged += [f"whole run ({g['from']}→{g['to']}: {g['wall']['exponent']:.2f})" for g in grow if g["wall"]["super_linear"]]
    print("\nsuper-linear: " + ("; ".join(flagged) if flagged else f"none (no stage over {SHORT_S:g}s grew faster than "
                                                                   f"n^{SUPER_LINEAR})"))


# ----------------------------------------------------------------------------- the suite


def benchmark(args) -> dict:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    info = machine()
    git = info["git"]
    print(f"graphlinker scale benchmark: sizes {', '.join(label for label, _ in args.sizes)}; seed {args.seed}; "
          f"{'one CPU per run' if not args.no_pin else 'not pinned'}; work dir {work}")
    print(f"machine: {info['cpu_count']} CPUs ({info['cpu_model']}), {info['memory_gib']} GiB, Python {info['python']}, "
          f"graphlinker {info['graphlinker']} at {(git['commit'] or 'unknown')[:12]}{' (dirty)' if git['dirty'] else ''}",
          flush=True)
    result = {"benchmark": "bench_scale", "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "sizes": [label for label, _ in args.sizes], "seed": args.seed, "pinned": not args.no_pin,
              "config": str(args.config) if args.config else None, "machine": info,
              "thresholds": {"super_linear": SUPER_LINEAR, "short_s": SHORT_S}, "runs": [], "failed": [], "growth": []}
    runs = result["runs"]
    baseline = checkout(ROOT, work, args.baseline) if args.baseline else None
    if baseline:
        result["baseline"] = {"rev": args.baseline, "commit": baseline["commit"], "runs": []}
        print(f"baseline: {args.baseline} = {baseline['commit'][:12]}, checked out at {baseline['path']}; each size runs "
              "with it too, in the same session", flush=True)
    # numba compiles a kernel on its first call in a checkout and caches it beside the code: a warm-up
    # run of each tree on a tiny scenario keeps compilation out of the first size's figures
    warm = scenario_for(work, "0.02M", 20_000, args.seed, False)
    for code in [None, *([baseline["path"]] if baseline else [])]:  # this tree, then the baseline
        spawn(Path(warm["path"]), work / "runs" / "warm-up" / "workspace", work / "runs" / "warm-up" / "measure.json",
              not args.no_pin, args.config, code=code)
    shutil.rmtree(work / "runs" / "warm-up", ignore_errors=True)
    for label, target in args.sizes:
        scenario = scenario_for(work, label, target, args.seed, args.regenerate)
        path = Path(scenario["path"])
        run_dir = work / "runs" / f"seed{args.seed}-{target}"
        run_dir.mkdir(parents=True, exist_ok=True)
        load_before = os.getloadavg()
        measured = spawn(path, run_dir / "workspace", run_dir / "measure.json", not args.no_pin, args.config)
        load_after = os.getloadavg()
        if not args.keep_workspaces:
            shutil.rmtree(run_dir / "workspace", ignore_errors=True)
        if measured.get("failed"):
            print(f"run {label}: FAILED ({measured['returncode']}): {measured['error']}", flush=True)
            result["failed"].append({"label": label, "target_rows": target, "rows": scenario["rows"], **measured})
            if args.json:
                args.json.write_text(json.dumps(result, indent=2) + "\n")
            if (label, target) != args.sizes[-1]:
                print("  larger sizes skipped")
            break
        from graphlinker.sim.evaluate import evaluate

        evaluation = evaluate(json.loads(Path(measured["report"]).read_text()), path / "truth.csv").to_dict()
        rows = scenario["rows"]
        read = measured["stages"].get("reading requests", {}).get("items")
        if read is not None and read != rows:
            print(f"  note: the pipeline read {read:,} request rows, the file holds {rows:,}")
        run = {"label": label, "target_rows": target, "rows": rows, "rows_read": read, "scale": scenario["scale"],
               "scenario": str(path), "scenario_cached": scenario["cached"], "simulate_s": scenario.get("simulate_s"),
               **{k: v for k, v in measured.items() if k != "report"},
               "rows_per_s": rows / measured["wall_s"], "loadavg_before": load_before, "loadavg_after": load_after,
               "quality": {k: evaluation.get(k) for k in QUALITY_KEYS}}
        for entry in run["stages"].values():
            entry["rows_per_s"] = rows / entry["s"] if entry["s"] > 0 else None
        runs.append(run)
        q = run["quality"]
        print(f"run {label}: {rows:,} request rows in {run['wall_s']:.2f}s ({rate(rows, run['wall_s'])} rows/s), "
              f"peak RSS {run['peak_rss_mib']:.0f} MiB; precision {q['precision']:.3f} recall {q['recall']:.3f} "
              f"F1 {q['f1']:.3f}; load {load_before[0]:.2f} → {load_after[0]:.2f}", flush=True)
        if baseline:
            result["baseline"]["runs"].append(compare_with_baseline(run, path, run_dir, args, baseline["path"]))
        result["growth"] = growth(runs)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
    if runs:
        print_tables(runs, result["growth"])
    if baseline and result["baseline"]["runs"]:
        print_baseline(result["baseline"])
    if args.json:
        print(f"\nwrote {args.json}")
    return result


def compare_with_baseline(run: dict, scenario: Path, run_dir: Path, args, code: Path) -> dict:
    """The same scenario through the baseline's pipeline in a fresh interpreter; its wall, peak and quality."""
    from graphlinker.sim.evaluate import evaluate

    measured = spawn(scenario, run_dir / "baseline-workspace", run_dir / "baseline" / "measure.json",
                     not args.no_pin, args.config, code=code)
    shutil.rmtree(run_dir / "baseline-workspace", ignore_errors=True)
    if measured.get("failed"):
        print(f"  baseline {run['label']}: FAILED ({measured['returncode']}): {measured['error'][-300:]}", flush=True)
        return {"label": run["label"], "failed": True}
    evaluation = evaluate(json.loads(Path(measured["report"]).read_text()), scenario / "truth.csv").to_dict()
    entry = {"label": run["label"], "rows": run["rows"], "wall_s": measured["wall_s"], "peak_rss_mib": measured["peak_rss_mib"],
             "stages": {k: v["s"] for k, v in measured["stages"].items()},
             "quality": {k: evaluation.get(k) for k in QUALITY_KEYS},
             "speedup": measured["wall_s"] / run["wall_s"], "memory_ratio": run["peak_rss_mib"] / measured["peak_rss_mib"],
             "this_f1": run["quality"]["f1"]}
    print(f"  baseline {run['label']}: {measured['wall_s']:.2f}s, peak RSS {measured['peak_rss_mib']:.0f} MiB, "
          f"F1 {entry['quality']['f1']:.3f} → this tree {entry['speedup']:.2f}x as fast, {entry['memory_ratio']:.2f} of the memory",
          flush=True)
    return entry


def print_baseline(baseline: dict) -> None:
    print(f"\nagainst the baseline {baseline['rev']} ({baseline['commit'][:12]}), same scenarios, same session")
    print(f"{'size':>7} {'base s':>8} {'this s':>8} {'speedup':>8} {'base MiB':>9} {'this MiB':>9} {'mem ratio':>9} "
          f"{'base F1':>8} {'this F1':>8}")
    for b in baseline["runs"]:
        if b.get("failed"):
            print(f"{b['label']:>7}  baseline failed")
            continue
        this_s, this_mib = b["wall_s"] / b["speedup"], b["peak_rss_mib"] * b["memory_ratio"]
        print(f"{b['label']:>7} {b['wall_s']:>8.2f} {this_s:>8.2f} {b['speedup']:>7.2f}x {b['peak_rss_mib']:>9.0f} "
              f"{this_mib:>9.0f} {b['memory_ratio']:>9.2f} {b['quality']['f1']:>8.3f} {b['this_f1']:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES),
                        help=f"request rows per scenario, comma-separated: 0.2M, 50k, 120000 (default {DEFAULT_SIZES})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "graphlinker-bench-scale",
                        help="scenarios (kept and reused) and run artefacts (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    parser.add_argument("--config", type=Path, default=None, help="settings file for the runs (as `graphlinker run --config`)")
    parser.add_argument("--no-pin", action="store_true", help="let each run use every CPU (default: pinned to one)")
    parser.add_argument("--regenerate", action="store_true", help="simulate the scenarios again, even when cached")
    parser.add_argument("--keep-workspaces", action="store_true", help="keep each run's workspace under --work/runs")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also run each size with graphlinker at this git revision (a worktree under --work), same session; "
                             "prints speed-up, memory ratio and both F1")
    parser.add_argument("--inner", nargs=3, type=Path, metavar=("SCENARIO", "WORKSPACE", "OUT_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(*args.inner, pin=not args.no_pin, config=args.config)
        return
    benchmark(args)


if __name__ == "__main__":
    main()
