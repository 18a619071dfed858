"""Benchmark: loading the usage graph into a real Neo4j, batched UNWIND/MERGE vs naive per-row MERGE.

Starts a throwaway server (graphlinker.devserver.server) in a temporary home, builds the
usage graph of a simulated scenario in memory, then measures in the same run:
- the batched load (Neo4jStore.merge_graph) at several batch sizes, on the full graph;
- the naive load, one auto-committed MERGE per usage row, on a sample (it is too slow for all).
Prints rows/s and relationships/s, and the time split between Python and the server.

    python bench/bench_neo4j_load.py --scale 5          # ~1M request rows, ~2M usage rows
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from graphlinker.devserver import server
from graphlinker.ingest.readers import ExportReader, Quarantine
from graphlinker.ingest.usage import UsageBuilder
from graphlinker.settings import Settings
from graphlinker.sim.scenario import simulate
from graphlinker.store import cypher
from graphlinker.store.neo4j import Neo4jStore, _millis, _records
from graphlinker.templates import TemplateIndex


def build_graph(scenario: Path):
    settings = Settings.load()
    reader = ExportReader(scenario, Quarantine(None))
    builder = UsageBuilder(settings, TemplateIndex())
    for kind, add in (("accounts", builder.add_accounts), ("payments", builder.add_payments),
                      ("identifiers", builder.add_identifiers), ("requests", builder.add_requests)):
        for chunk in reader.chunks(kind):
            add(chunk)
    return builder.accounts(), builder.usage(), builder.stats(), builder.templates.table()


def naive_load(store: Neo4jStore, usage, sample: int) -> tuple[int, float]:
    rows = usage[usage["kind"].isin(["payment", "ip", "subnet", "template"])].head(sample)
    rows = rows.assign(first_ms=_millis(rows["first_seen"]), last_ms=_millis(rows["last_seen"])).drop(columns=["first_seen", "last_seen"])
    start = time.perf_counter()
    with store.driver.session(database=store.database) as session:
        for row in _records(rows):
            session.run(cypher.MERGE_USAGE[row["kind"]], rows=[row]).consume()
    return len(rows), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batches", default="2000,10000,50000")
    parser.add_argument("--naive-sample", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="graphlinker-neo4j-bench-"))
    simulate(work / "scenario", seed=args.seed, scale=args.scale, file_format="parquet")
    start = time.perf_counter()
    accounts, usage, stats, templates = build_graph(work / "scenario")
    print(f"usage graph: {len(accounts):,} accounts, {len(usage):,} usage rows (relationships), built in {time.perf_counter() - start:.1f}s")
    server.start(work / "home", bolt_port=0, auth=True, heap="2g", pagecache="1g", timeout=300)
    try:
        settings = server.server_settings(work / "home")
        for batch in (int(b) for b in args.batches.split(",")):
            store = Neo4jStore(settings, batch_rows=batch)
            store.reset_graph()
            start = time.perf_counter()
            store.merge_graph(accounts, usage, stats, templates)
            seconds = time.perf_counter() - start
            rows = len(usage) + len(accounts) + len(templates)
            print(f"batched UNWIND/MERGE, batch {batch:>6}: {seconds:7.1f}s  {rows / seconds:9,.0f} rows/s  {len(usage) / seconds:9,.0f} relationships/s")
            start = time.perf_counter()
            read = store.usage()
            print(f"  read back {len(read):,} usage rows in {time.perf_counter() - start:.1f}s")
            store.close()
        store = Neo4jStore(settings)
        store.reset_graph()
        store._write_accounts(accounts, stats)
        n, seconds = naive_load(store, usage, args.naive_sample)
        print(f"naive per-row MERGE (one auto-commit transaction per row), {n:,} rows: {seconds:.1f}s  {n / seconds:,.0f} rows/s")
        store.close()
    finally:
        server.stop(work / "home")
    print(f"artefacts in {work}")


if __name__ == "__main__":
    main()
