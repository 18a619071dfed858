"""Benchmark: whole runs and refreshes on the Neo4j store against the embedded store (issue 14's figures).

On one scenario, in one process, against a throwaway managed Neo4j server (its own home, free port,
``--heap``/``--pagecache``), each step timed with its stages:

1. **embedded**: ``run`` on a fresh workspace — the baseline every ratio below divides by;
2. **neo4j first load**: ``run`` on the empty database (``bulk = auto``: the bulk importer);
3. **neo4j rerun, bulk**: ``run`` again with ``bulk = on`` (earlier runs kept);
4. **neo4j rerun, merge**: ``run`` again with ``bulk = off`` (delete, then batched MERGE) — with
   the relationships/s of its "writing graph" stage (``--no-merge`` skips it: slow at scale);
5. **refresh**: the scenario cut by time into 99% base and 1% delta (``bench_refresh.cut_export``):
   ``run(base)`` then ``refresh([delta])`` on each store; the refresh's time against the full
   rebuild on the same store (steps 3/4 for Neo4j, step 1 for the embedded store).

Every step uses the mirror (``graphlinker.store.mirror``) as a user's runs do; the clusters of every
Neo4j run are compared with the embedded run's (same account sets, same flags).

    python bench/bench_neo4j.py --scenario /tmp/gls/scenarios/seed1-1000000 --json bench-neo4j.json
    python bench/bench_neo4j.py --scale 1 --seed 1            # simulate a scenario first

Not a test: it asserts nothing (``tests/test_neo4j_bulk.py`` and ``tests/test_neo4j_mirror.py`` test the paths).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_refresh import cut_export  # noqa: E402
from benchutil import status_mib  # noqa: E402

from graphlinker.devserver import server  # noqa: E402
from graphlinker.ingest.readers import Quarantine  # noqa: E402
from graphlinker.pipeline import refresh, run  # noqa: E402
from graphlinker.settings import Settings  # noqa: E402
from graphlinker.sim.scenario import simulate  # noqa: E402
from graphlinker.store import LocalStore  # noqa: E402
from graphlinker.store.neo4j import Neo4jStore  # noqa: E402


class StageTimes:
    """A pipeline progress sink that keeps each stage's wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int | None = None):
        start = time.perf_counter()
        yield lambda advance=1: None
        key = name.split(" (")[0]
        self.seconds[key] = round(self.seconds.get(key, 0.0) + time.perf_counter() - start, 2)


def timed(label: str, action) -> dict:
    stages = StageTimes()
    start = time.perf_counter()
    outcome = action(stages)
    seconds = time.perf_counter() - start
    print(f"  {label:<28} {seconds:7.1f} s   {json.dumps(stages.seconds)}", flush=True)
    return {"seconds": round(seconds, 2), "stages": stages.seconds, "report": outcome.report}


def same_clusters(a: dict, b: dict) -> bool:
    def key(report):
        return {frozenset(c["accounts"]): c["flagged"] for c in report["clusters"]}
    return key(a) == key(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, help="an export directory (default: simulate one with --scale/--seed)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument("--no-merge", action="store_true", help="skip the batched-MERGE rerun (minutes at 1M rows)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings.load()
    work = Path(tempfile.mkdtemp(prefix="graphlinker-bench-neo4j-"))
    scenario = args.scenario or work / "scenario"
    if args.scenario is None:
        simulate(scenario, seed=args.seed, scale=args.scale, file_format="parquet")
    cut = cut_export(scenario, work / "cut")
    base, delta = Path(cut["base"]), Path(cut["delta"])
    result: dict = {"scenario": str(scenario), "cut": {k: v for k, v in cut.items() if k not in ("base", "delta")}}
    print(f"scenario {scenario}; work in {work}", flush=True)

    result["embedded"] = timed("embedded run", lambda p: run(scenario, LocalStore(work / "ws-full"), settings, Quarantine(None), p))
    home = work / "home"
    server.start(home, bolt_port=0, auth=True, heap=args.heap, pagecache=args.pagecache, timeout=600)
    try:
        connection = {**server.server_settings(home), "home": str(home), "mirror": str(work / "mirror")}

        def on_neo4j(bulk: str, action):
            def go(progress):
                with Neo4jStore({**connection, "bulk": bulk}) as store:
                    return action(store, progress)
            return go

        graph_rows: dict[str, int] = {}

        def full(store, progress):
            outcome = run(scenario, store, settings, Quarantine(None), progress)
            graph_rows["usage"] = len(store.usage())  # from memory: the run just wrote it
            if store.bulk_seconds:
                print(f"    bulk import steps: {json.dumps(store.bulk_seconds)}", flush=True)
                graph_rows.setdefault("bulk", store.bulk_seconds)
            return outcome

        result["first_load"] = timed("neo4j first load (bulk auto)", on_neo4j("auto", full))
        result["rerun_bulk"] = timed("neo4j rerun (bulk on)", on_neo4j("on", full))
        if not args.no_merge:
            result["rerun_merge"] = timed("neo4j rerun (bulk off, MERGE)", on_neo4j("off", full))
        timed("neo4j run(base) (bulk on)", on_neo4j("on", lambda store, p: run(base, store, settings, Quarantine(None), p)))
        result["refresh"] = timed("neo4j refresh (1%)", on_neo4j("auto", lambda store, p: refresh([delta], store, settings, Quarantine(None), p)))
    finally:
        server.stop(home)
    local = LocalStore(work / "ws-refresh")
    timed("embedded run(base)", lambda p: run(base, local, settings, Quarantine(None), p))
    result["embedded_refresh"] = timed("embedded refresh (1%)", lambda p: refresh([delta], local, settings, Quarantine(None), p))

    embedded = result["embedded"]["seconds"]
    summary = {
        "embedded_s": embedded,
        "first_load_ratio": round(result["first_load"]["seconds"] / embedded, 2),
        "rerun_bulk_ratio": round(result["rerun_bulk"]["seconds"] / embedded, 2),
        "refresh_vs_bulk_rebuild": round(result["refresh"]["seconds"] / result["rerun_bulk"]["seconds"], 2),
        "embedded_refresh_vs_rebuild": round(result["embedded_refresh"]["seconds"] / embedded, 2),
        "same_clusters_as_embedded": all(same_clusters(result["embedded"]["report"], result[k]["report"])
                                         for k in ("first_load", "rerun_bulk", "rerun_merge") if k in result),
        "refresh_same_clusters": same_clusters(result["refresh"]["report"], result["embedded_refresh"]["report"]),
        "peak_rss_mib": status_mib("VmHWM"),
    }
    if "rerun_merge" in result:
        merge = result["rerun_merge"]
        rows = graph_rows.get("usage")
        summary["rerun_merge_ratio"] = round(merge["seconds"] / embedded, 2)
        summary["refresh_vs_merge_rebuild"] = round(result["refresh"]["seconds"] / merge["seconds"], 2)
        summary["merge_write_stage_s"] = merge["stages"].get("writing graph")
        summary["usage_rows"] = rows
        if rows and merge["stages"].get("writing graph"):
            summary["merge_relationships_per_s"] = round(rows / merge["stages"]["writing graph"])
    if graph_rows.get("usage") and result["first_load"]["stages"].get("writing graph"):
        summary["bulk_relationships_per_s"] = round(graph_rows["usage"] / result["first_load"]["stages"]["writing graph"])
    if "bulk" in graph_rows:
        steps = graph_rows["bulk"]
        summary["bulk_steps_s"] = steps
        summary["bulk_import_only_relationships_per_s"] = round(steps["relationships"] / steps["import"]) if steps.get("import") else None
    result["summary"] = summary
    print(json.dumps(summary, indent=2))
    if args.json:
        for step in result.values():
            if isinstance(step, dict):
                step.pop("report", None)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
