"""The ``graphlinker`` command line: thin wrappers that parse options, call the pipeline and render.

Machine-readable output goes to stdout and nothing else does: progress bars,
logs and warnings go to stderr, so ``graphlinker run DIR --format json > report.json``
is always clean. Exit codes are those of :class:`graphlinker.errors.ExitCode`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path

import typer

from graphlinker import __version__
from graphlinker.cli.common import (
    DEFAULT_WORKSPACE,
    App,
    ConfigOption,
    EngineOption,
    FlaggedOption,
    FormatOption,
    MasterOption,
    MinRiskOption,
    OutputOption,
    RichProgress,
    StoreOption,
    TopOption,
    WorkspaceOption,
    _is_local,
    check_format,
)
from graphlinker.cli.console import err, out, report_quarantine
from graphlinker.cli.errors import handle_errors
from graphlinker.engine import with_engine
from graphlinker.errors import ConfigError, NoRunYet
from graphlinker.report.render import (
    FORMATS,
    clusters_frame,
    output_console,
    render,
    select_clusters,
    write_parquet,
)
from graphlinker.settings import Settings

app = App(
    help="Expose coordinated account rings behind model-distillation campaigns.\n\n"
    "Typical use: `graphlinker run EXPORT_DIR` ingests, links, detects, scores and prints a cluster report.",
    epilog="Exit codes: 0 ok; 1 a bug (traceback); 2 bad input, settings or query (fix, do not retry); "
    "3 refresh found nothing new; 4 another writer holds the store's lock; "
    "5 the store is unreachable or unusable: Neo4j down, disk full or read-only, corrupt workspace (retry later). "
    "Every known failure is one line on stderr; see the README's failure-modes table.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
def _emit(report: dict, fmt: str, min_risk: float, top: int | None, flagged_only: bool, output: Path | None = None) -> None:
    chosen = select_clusters(report, min_risk, top, flagged_only)
    if fmt == "parquet":  # one row per cluster: the Python API's Workspace.clusters()
        write_parquet(clusters_frame(chosen), output, {"run_id": report["run_id"]})
        err.print(f"wrote {len(chosen['clusters'])} clusters to {output}", highlight=False)
        return
    with output_console(output) as console:
        render(chosen, fmt, console)


@app.command()
@handle_errors
def run(
    input_dir: Path = typer.Argument(..., metavar="INPUT_DIR", help="Export directory holding accounts, payments, requests (and optionally identifiers) files."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = FormatOption,
    min_risk: float = MinRiskOption,
    top: int | None = TopOption,
    flagged_only: bool = FlaggedOption,
    strict: bool = typer.Option(False, "--strict", metavar="", help="Treat any bad input row, or a required input file without a usable row, as an error (exit code 2) "
                                "instead of quarantining it or warning."),
    config: Path | None = ConfigOption,
    progress: bool | None = typer.Option(None, "--progress/--no-progress", metavar="", help="Show progress bars on stderr (default: when stderr is a terminal)."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="Wait up to SECONDS for another run or refresh on this store to finish (else exit 4)."),
    output: Path | None = OutputOption,
    bulk: str = typer.Option("auto", "--bulk", metavar="auto|on|off",
                             help="Neo4j store, managed server only: write the graph with neo4j-admin's bulk importer "
                                  "(stops and restarts the server; earlier runs are kept). auto: when the database is "
                                  "empty and the graph large; on: always; off: batched MERGE."),
    engine: str | None = EngineOption,
    master: str | None = MasterOption,
) -> None:
    """Ingest an export directory, link accounts, detect clusters, score them and print the report.

    The workspace's graph is rebuilt from INPUT_DIR; earlier runs stay listed. Bad rows are
    quarantined under WORKSPACE/quarantine/<run_id>/ with their reasons (never with prompt text).
    """
    from datetime import datetime

    from graphlinker.ingest.readers import Quarantine  # heavy imports only when running
    from graphlinker.pipeline import new_run_id
    from graphlinker.pipeline import run as run_pipeline
    from graphlinker.store import open_store

    check_format(fmt, FORMATS, output)
    if bulk not in ("auto", "on", "off"):
        raise ConfigError(f"--bulk must be auto, on or off, got {bulk!r}")
    settings = with_engine(Settings.load(config), engine, master)
    target = open_store(store, workspace, bulk=bulk)
    quarantine_dir = workspace / "quarantine" / new_run_id(datetime.now(UTC))
    quarantine = Quarantine(quarantine_dir, strict=strict)
    show = err.is_terminal if progress is None else progress
    try:
        outcome = run_pipeline(input_dir, target, settings, quarantine, RichProgress(show), wait)
    finally:
        target.close()
    report_quarantine(outcome.quarantine, quarantine_dir)
    from rich.markup import escape

    for note in quarantine.notes(loaded_rows=outcome.new_rows):  # empty required files, stripped ids, duplicates
        err.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
    summary = outcome.report["summary"]
    err.print(
        f"run {outcome.report['run_id']}: {summary['accounts']} accounts, {summary['clusters']} clusters, "
        f"{summary['flagged_clusters']} flagged ({summary['flagged_accounts']} accounts) in {outcome.timings['total_s']:.1f}s",
        highlight=False,
    )
    _emit(outcome.report, fmt, min_risk, top, flagged_only, output)


@app.command()
@handle_errors
def report(
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help=f"Output format: {', '.join(FORMATS)} or html (a self-contained page "
                            "to open in a browser, offline: each cluster's link graph, reasons, activity, history); parquet and html need -o FILE."),
    min_risk: float = MinRiskOption,
    top: int | None = TopOption,
    flagged_only: bool = FlaggedOption,
    output: Path | None = OutputOption,
    run_id: str | None = typer.Option(None, "--run", metavar="RUN_ID", help="Report this earlier run instead of the latest (`graphlinker runs` lists them)."),
) -> None:
    """Print the report of the last run in the workspace (or of --run RUN_ID).

    With --format html -o FILE, write it as one page that opens offline, compared with the run before it.
    """
    from graphlinker.errors import InputError
    from graphlinker.report.render import PAGE_FORMATS
    from graphlinker.store import open_store

    check_format(fmt, (*FORMATS, *PAGE_FORMATS), output)
    if _is_local(store) and not workspace.exists():
        latest = None
    else:
        with open_store(store, workspace) as target:
            if fmt in PAGE_FORMATS:
                from graphlinker.api import Workspace
                from graphlinker.report.html import write_html

                written = write_html(Workspace(workspace, store=target), output, run_id, min_risk=min_risk, top=top, flagged_only=flagged_only)
                err.print(f"wrote {written['clusters']} clusters of run {written['run_id']} to {output} ({written['bytes']:,} bytes)", highlight=False)
                return
            latest = target.latest_report() if run_id is None else target.report_of(run_id)
            if latest is None and run_id is not None:
                raise InputError(f"unknown run {run_id!r}; `graphlinker runs` lists them")
            if latest is not None:
                from graphlinker.analysis.verdicts import show_verdicts

                latest = show_verdicts(latest, target.verdicts())  # verdicts given since the run, beside its clusters
    if latest is None:
        raise NoRunYet("no run yet in this store; run `graphlinker run EXPORT_DIR` first")
    _emit(latest, fmt, min_risk, top, flagged_only, output)


@app.command()
@handle_errors
def templates(
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table, json (lists every account per template), csv "
                            "or parquet (as json, one row per template; needs -o FILE)."),
    top: int | None = typer.Option(None, "--top", min=1, help="Only list the N largest templates (default: all; the table shows 50)."),
    tag: str | None = typer.Option(None, "--tag", help="Only templates with this extraction tag (e.g. cot_elicitation)."),
    min_accounts: int = typer.Option(1, "--min-accounts", min=1, help="Only templates sent by at least this many accounts."),
    output: Path | None = OutputOption,
) -> None:
    """List prompt templates, largest first: prompts, accounts, first and last seen, tags, redacted exemplar.

    Templates group near-duplicate prompts (paraphrases, other slot values). Raw prompts are
    never stored; the exemplar is redacted and withheld when redaction would leave the prompt.
    """
    from graphlinker.report.templates import (
        TEMPLATE_FORMATS,
        accounts_per_template,
        render_templates,
        select_templates,
        templates_frame,
    )
    from graphlinker.store import open_store

    check_format(fmt, TEMPLATE_FORMATS, output)
    if _is_local(store) and not workspace.exists():
        raise NoRunYet("nothing ingested yet in this workspace; run `graphlinker run EXPORT_DIR` first")
    with open_store(store, workspace) as target:
        table = target.templates()
        if table.empty:
            raise NoRunYet("no templates in this store yet; run `graphlinker run EXPORT_DIR` first")
        chosen = select_templates(table, top if top is not None or fmt != "table" else 50, tag, min_accounts)
        accounts = accounts_per_template(target.template_usage(), chosen["template_id"]) if fmt in ("json", "parquet") else None
    if fmt == "parquet":  # the Python API's Workspace.templates(accounts=True)
        write_parquet(templates_frame(chosen, accounts), output)
        err.print(f"wrote {len(chosen)} templates to {output}", highlight=False)
        return
    with output_console(output) as console:
        render_templates(chosen, fmt, console, accounts)


@app.command("init-db")
@handle_errors
def init_db() -> None:
    """Create Neo4j's uniqueness constraints and indexes (idempotent; also done on every connection)."""
    from graphlinker.store import open_store

    with open_store("neo4j", DEFAULT_WORKSPACE):
        pass
    err.print("Neo4j constraints and indexes are in place")


@app.command()
@handle_errors
def simulate(
    out_dir: Path = typer.Argument(..., metavar="OUT_DIR", help="Directory to write the scenario into (created if missing)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed and scale give byte-identical files."),
    scale: float = typer.Option(1.0, "--scale", min=0.01, help="Population scale: 1.0 is about 2,000 benign accounts and 200k requests."),
    requests_format: str = typer.Option("csv", "--requests-format", help="File format of requests: csv, jsonl or parquet."),
    slices: int = typer.Option(0, "--slices", min=0, help="Also cut the scenario into N time slices under OUT_DIR/slices/01..N "
                               "(equal request counts), to replay it with `graphlinker refresh`."),
    ops: str | None = typer.Option(
        None, "--ops", metavar="KEY,KEY|all|none",
        help="Operation archetypes to plant (truth op id op-KEY-1): comma-separated keys, 'all' or 'none'. "
        "Default: the classic five (naive, reseller, hydra, agentic, zh). Also: grader, codegen, translation, preference, "
        "longdoc, math, refusal, release, proxy, lowslow, dialogue."),
    lookalikes: str | None = typer.Option(
        None, "--lookalikes", metavar="KEY,KEY|all|none",
        help="Benign look-alike kinds (truth role lookalike, op id lookalike-KEY-N): comma-separated keys, 'all' or 'none'. "
        "Default: company, university, family. Also: carrier_nat, batch_dev, eval_team, jailbreak, agency, online_course."),
    size: list[str] = typer.Option(
        [], "--size", metavar="KEY=N",
        help="Accounts of one operation, look-alike kind (all its groups together) or of 'benign', instead of its "
        "scale-1 size x --scale. Repeatable, e.g. --size hydra=20000 --size carrier_nat=5000. Above 500k expected "
        "requests an operation's accounts each send proportionally less."),
    benign_activity: float = typer.Option(
        1.0, "--benign-activity", metavar="X",
        help="Multiply the requests per account of the benign background and the look-alikes by X "
             "(e.g. 0.1 for a large, lighter population); operations keep theirs."),
) -> None:
    """Write a realistic scenario (benign users, look-alike groups, planted operations) plus truth.csv.

    With only --seed and --scale the scenario is the classic one (five operations, three look-alike kinds), byte for byte; --ops, --lookalikes, --size and --benign-activity build benchmark scenarios.
    """
    from graphlinker.sim.scenario import simulate as simulate_scenario
    from graphlinker.sim.slices import split_by_time

    if requests_format not in ("csv", "jsonl", "parquet"):
        raise typer.BadParameter("choose csv, jsonl or parquet", param_hint="--requests-format")
    sizes: dict[str, int] = {}
    for item in size:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip().isdigit():
            raise ConfigError(f"--size expects KEY=N with a whole number N, got {item!r}")
        sizes[key.strip()] = int(value)
    summary = simulate_scenario(out_dir, seed=seed, scale=scale, file_format=requests_format, operations=ops,
                                lookalikes=lookalikes, sizes=sizes, benign_activity=benign_activity)
    err.print(f"wrote scenario to {out_dir}: {summary}", highlight=False)
    if slices:
        written = split_by_time(out_dir, out_dir / "slices", slices)
        err.print(f"wrote {len(written)} time slices under {out_dir / 'slices'}", highlight=False)


@app.command()
@handle_errors
def evaluate(
    report_path: Path = typer.Argument(..., exists=True, dir_okay=False, metavar="REPORT", help="A JSON report (graphlinker run --format json)."),
    truth: Path = typer.Argument(..., exists=True, dir_okay=False, metavar="TRUTH", help="truth.csv written by graphlinker simulate."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Score a report against ground truth: precision, recall, F1, per-operation recovery, look-alikes flagged,
    and the ranking quality of the risk order (average precision, precision@10/50)."""
    from graphlinker.errors import InputError
    from graphlinker.sim.evaluate import evaluate as evaluate_report

    try:
        loaded = json.loads(report_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{report_path} is not a JSON report: {exc}") from None
    result = evaluate_report(loaded, truth)
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    _render_evaluation(result.to_dict())


def _render_evaluation(result: dict) -> None:
    from rich.table import Table

    def number(value) -> str:
        return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    stdout = out()
    stdout.print(f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  F1 {result['f1']:.3f}")
    keys = ("op_id", "size", "recall", "clusters", "purity", "one_cluster_share", "largest_cluster_share")
    headers = ("op_id", "size", "recall", "clusters", "purity", "one flagged cluster", "largest any cluster")
    ops = Table(title="operations")
    for header in headers:
        ops.add_column(header)
    for op in result.get("operations", []):
        ops.add_row(*(number(op.get(k)) if k in op else "" for k in keys))
    stdout.print(ops)
    stdout.print(f"operations recovered (recall >= 0.9, one flagged cluster >= 0.8): "
              f"{result.get('operations_recovered', 0)} of {result.get('operations_total', 0)}", highlight=False)
    stdout.print(f"look-alike accounts flagged: {result.get('lookalike_share_flagged', 0):.3f} "
              f"({result.get('lookalike_groups_flagged', 0)} groups)")
    stdout.print(f"ranking of {result.get('ranked_clusters', 0)} clusters by risk ({result.get('positive_clusters', 0)} positive): "
              f"average precision {number(result.get('average_precision'))}  "
              f"precision@10 {number(result.get('precision_at_10'))}  precision@50 {number(result.get('precision_at_50'))}",
              highlight=False)


from graphlinker.cli import refresh as refresh_cli  # noqa: E402  (refresh, diff, runs, schedule: registered here, in one place)

app.command()(refresh_cli.refresh)
app.command()(refresh_cli.diff)
app.command("runs")(refresh_cli.runs_command)
app.command()(refresh_cli.schedule)
from graphlinker.cli import verdicts as verdicts_cli  # noqa: E402

app.command()(verdicts_cli.verdict)
app.command("verdicts")(verdicts_cli.verdicts_command)
from graphlinker.cli import train as train_cli  # noqa: E402

app.command()(train_cli.train)
from graphlinker.cli import explain as explain_cli  # noqa: E402

app.command()(explain_cli.explain)
from graphlinker.cli.config import config_app  # noqa: E402

app.add_typer(config_app, name="config")
from graphlinker.cli.neo4j import neo4j_app  # noqa: E402  (sub-apps register after the main commands)
from graphlinker.cli.query import cypher_command, query_app  # noqa: E402

app.add_typer(neo4j_app, name="neo4j", help="Fetch, start, stop and inspect a local Neo4j 5.26 server.")
app.add_typer(query_app, name="query", help="The analyst Cypher pack: list, show and run curated read-only queries.")
app.command("cypher")(cypher_command)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"graphlinker {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, metavar="", help="Show the version and exit.")) -> None:
    """graphlinker: find the whole ring, with evidence an analyst can defend."""
