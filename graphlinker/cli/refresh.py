"""``graphlinker refresh``, ``diff``, ``runs`` and ``schedule``: the commands a scheduler calls.

A scheduler acts on exit codes (:class:`graphlinker.errors.ExitCode`): 0 a new run
was published, 3 nothing new (nothing written), 4 another writer holds the lock,
2 bad input, 5 store unavailable, 1 a bug. stdout carries only the machine-readable
answer (the diff, the run list); messages and progress go to stderr.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from graphlinker.cli.common import (
    ConfigOption,
    EngineOption,
    MasterOption,
    OutputOption,
    RichProgress,
    StoreOption,
    WorkspaceOption,
    _is_local,
    check_format,
)
from graphlinker.cli.console import err, out, report_quarantine
from graphlinker.cli.errors import handle_errors
from graphlinker.engine import with_engine
from graphlinker.errors import ExitCode, GraphlinkerError, InputError, NoRunYet, NothingNew
from graphlinker.settings import Settings

DIFF_FORMATS = ("table", "json")
RUNS_FORMATS = ("table", "json", "parquet")
InputsArgument = typer.Argument(..., metavar="INPUT", help="Export directories and/or single input files (accounts.*, payments.*, "
                                "requests.*, identifiers.*; .csv, .csv.gz, .jsonl, .jsonl.gz, .parquet).")
WaitOption = typer.Option(0.0, "--wait", min=0.0, help="Wait up to SECONDS for another run or refresh to finish, "
                          "instead of exiting with code 4 at once.")


def _refresh_once(inputs: list[Path], workspace: Path, store: str | None, fmt: str, wait: float, strict: bool,
                  config: Path | None, progress: bool | None, engine: str | None = None, master: str | None = None) -> None:
    """One refresh: print the diff (stdout) and a summary (stderr); NothingNew prints its own answer and re-raises."""
    from graphlinker.ingest.readers import Quarantine
    from graphlinker.pipeline import new_run_id
    from graphlinker.pipeline import refresh as refresh_pipeline
    from graphlinker.store import open_store

    settings = with_engine(Settings.load(config), engine, master)
    quarantine_dir = workspace / "quarantine" / new_run_id(datetime.now(UTC))
    show = err.is_terminal if progress is None else progress
    quarantine = Quarantine(quarantine_dir, strict=strict)
    with open_store(store, workspace) as target:
        try:
            outcome = refresh_pipeline(inputs, target, settings, quarantine, RichProgress(show), wait)
        except NothingNew as exc:
            if fmt == "json":
                sys.stdout.write(json.dumps({"outcome": "nothing_new", "message": str(exc)}) + "\n")
            raise
    report_quarantine(outcome.quarantine, quarantine_dir)
    from rich.markup import escape

    for note in quarantine.notes(loaded_rows=outcome.new_rows, refresh=True):  # empty files, stripped ids, duplicates
        err.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
    summary = outcome.report["summary"]
    skipped = f" ({outcome.skipped_files} input file(s) already loaded, skipped)" if outcome.skipped_files else ""
    err.print(f"refresh {outcome.report['run_id']}: {outcome.new_rows:,} new rows{skipped}; {summary['accounts']} accounts, "
              f"{summary['clusters']} clusters, {summary['flagged_clusters']} flagged ({summary['flagged_accounts']} accounts) "
              f"in {outcome.timings['total_s']:.1f}s", highlight=False, soft_wrap=True)
    _print_diff(outcome.diff, fmt)


def _print_diff(diff: dict, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(diff) + "\n")
        return
    from graphlinker.analysis.cluster_history import format_diff_table

    out().print(format_diff_table(diff))


@handle_errors
def refresh(
    inputs: list[Path] = InputsArgument,
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="Output format of what changed: table or json."),
    wait: float = WaitOption,
    strict: bool = typer.Option(False, "--strict", metavar="", help="Treat any bad input row, or a required input file without a usable row, as an error (exit code 2) "
                                "instead of quarantining it or warning."),
    config: Path | None = ConfigOption,
    progress: bool | None = typer.Option(None, "--progress/--no-progress", metavar="", help="Show progress bars on stderr (default: when stderr is a terminal)."),
    engine: str | None = EngineOption,
    master: str | None = MasterOption,
) -> None:
    """Load only new export files and rows, re-detect clusters, publish a run and print what changed.

    Files are recognised by content hash and rows by event key, so repeating a refresh on the
    same input writes nothing and exits 3. Cluster ids carry over to substantially the same
    groups. One writer per store: a second refresh exits 4 (or waits with --wait). Killed at
    any point, a refresh leaves the store at its last published run; run it again.

    Exit codes: 0 published, 2 bad input, 3 nothing new, 4 lock held, 5 store unavailable.
    """
    check_format(fmt, DIFF_FORMATS)
    _refresh_once(inputs, workspace, store, fmt, wait, strict, config, progress, engine, master)


def _open_for_reading(store: str | None, workspace: Path):
    from graphlinker.store import open_store

    if _is_local(store) and not workspace.exists():
        raise NoRunYet("no run yet in this workspace; run `graphlinker run EXPORT_DIR` or `graphlinker refresh INPUT` first")
    return open_store(store, workspace)


@handle_errors
def diff(
    runs: list[str] = typer.Argument(None, metavar="RUN", help="RUN_A RUN_B to compare (default: the last two runs); one RUN compares it with the run before it."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="table, json (for alerting pipelines) or html (the newer run's report as a "
                            "self-contained page, opened on what changed; needs -o FILE)."),
    output: Path | None = OutputOption,
) -> None:
    """What changed between two runs: clusters new, grown, shrunk, merged, split or dissolved, and flag crossings."""
    from graphlinker.analysis.cluster_history import diff_runs

    check_format(fmt, (*DIFF_FORMATS, "html"), output)
    runs = list(runs or [])
    if len(runs) > 2:
        raise InputError("give at most two run ids: RUN_A RUN_B")
    with _open_for_reading(store, workspace) as target:
        history = [r["run_id"] for r in target.runs()]
        if not history:
            raise NoRunYet("no run yet in this store")
        for run_id in runs:
            if run_id not in history:
                raise InputError(f"unknown run {run_id!r}; `graphlinker runs` lists them")
        if len(runs) == 2:
            old_id, new_id = runs
        else:
            new_id = runs[0] if runs else history[-1]
            at = history.index(new_id)
            old_id = history[at - 1] if at > 0 else None
        if fmt == "html":
            from graphlinker.api import Workspace
            from graphlinker.report.html import write_html

            written = write_html(Workspace(workspace, store=target), output, new_id, against=old_id, compare=old_id is not None, focus="changes")
            err.print(f"wrote run {written['run_id']} compared with {written['compared_with'] or 'no earlier run'} to {output} "
                      f"({written['bytes']:,} bytes)", highlight=False)
            return
        old = target.report_of(old_id) if old_id else None
        new = target.report_of(new_id)
    changes = diff_runs(old, new)
    if output is None:
        _print_diff(changes, fmt)
        return
    from graphlinker.analysis.cluster_history import format_diff_table
    from graphlinker.report.render import output_console, output_stream

    if fmt == "json":
        with output_stream(output) as stream:
            stream.write(json.dumps(changes) + "\n")
        return
    with output_console(output) as console:
        console.print(format_diff_table(changes))


@handle_errors
def runs_command(
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or parquet (one row per run; needs -o FILE)."),
    output: Path | None = OutputOption,
) -> None:
    """The run history, oldest first: when, which command and inputs, counts, duration and outcome."""
    from graphlinker.report.render import output_console, output_stream, runs_frame, write_parquet

    check_format(fmt, RUNS_FORMATS, output)
    with _open_for_reading(store, workspace) as target:
        records = target.runs()
    if fmt == "parquet":  # the Python API's Workspace.runs()
        write_parquet(runs_frame(records), output)
        err.print(f"wrote {len(records)} run(s) to {output}", highlight=False)
        return
    if fmt == "json":
        with output_stream(output) as stream:
            stream.write(json.dumps([{k: v for k, v in r.items() if k != "params"} for r in records], default=str) + "\n")
        return
    table = Table(title=f"{len(records)} run(s)")
    for column in ("run", "command", "started", "duration", "inputs", "new rows", "accounts", "clusters", "flagged", "outcome"):
        table.add_column(column, justify="right" if column in ("duration", "new rows", "accounts", "clusters", "flagged") else "left")
    for r in records:
        counts, inputs = r.get("counts", {}), r.get("inputs", [])
        new_rows = sum(int(i.get("new_rows", 0)) for i in inputs)
        table.add_row(r["run_id"], r.get("command", "run"), str(r.get("started_at", ""))[:19], f"{r.get('duration_s', 0):.1f}s",
                      f"{len(inputs)} file(s)", f"{new_rows:,}", str(counts.get("accounts", "")), str(counts.get("clusters", "")),
                      str(counts.get("flagged_clusters", "")), r.get("outcome", ""))
    with output_console(output) as console:
        console.print(table)


@handle_errors
def schedule(
    inputs: list[Path] = InputsArgument,
    every: str = typer.Option(..., "--every", help="Interval between refresh starts: 90s, 15m, 6h, 1d, 1h30m."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="Output format of each refresh's diff: table or json."),
    wait: float = WaitOption,
    config: Path | None = ConfigOption,
    max_runs: int | None = typer.Option(None, "--max-runs", min=1, help="Stop after N refreshes (default: run until SIGTERM/SIGINT)."),
) -> None:
    """Run `graphlinker refresh INPUT…` now and then every --every, until SIGTERM or Ctrl-C.

    A refresh that fails or finds nothing new does not stop the loop; the exit code is the
    last refresh's. For production scheduling prefer cron, a systemd timer or a CronJob (README).
    """
    from graphlinker.cli.schedule import install_signal_handlers, parse_interval, run_every

    check_format(fmt, DIFF_FORMATS)
    try:
        interval = parse_interval(every)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from None

    def job() -> int:
        try:
            _refresh_once(inputs, workspace, store, fmt, wait, False, config, False)
            return int(ExitCode.OK)
        except GraphlinkerError as exc:
            err.print(f"refresh: {' '.join(str(exc).split())} (exit {int(exc.exit_code)})", highlight=False, soft_wrap=True)
            return int(exc.exit_code)

    def report(number: int, code: int, seconds: float) -> None:
        err.print(f"schedule: refresh #{number} exited {code} after {seconds:.1f}s; next in {every}", highlight=False, soft_wrap=True)

    stop = threading.Event()
    install_signal_handlers(stop)
    code = run_every(interval, job, max_runs=max_runs, on_result=report, stop=stop)
    raise typer.Exit(code)
