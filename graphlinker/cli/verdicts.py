"""``graphlinker verdict`` and ``verdicts``: an analyst's decision on a cluster, remembered by the store.

What a verdict does to later runs is :mod:`graphlinker.analysis.verdicts`'s rule (benign keeps a group
unflagged while it stays materially the same; confirmed keeps it flagged and names its new members).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from graphlinker.analysis.verdicts import VERDICTS, verdicts_frame
from graphlinker.cli.common import OutputOption, StoreOption, WorkspaceOption, _is_local, check_format
from graphlinker.cli.console import err, out
from graphlinker.cli.errors import handle_errors
from graphlinker.errors import NoRunYet
from graphlinker.report.render import output_stream

VERDICT_FORMATS = ("table", "json", "csv")


def _workspace(store: str | None, workspace: Path):
    from graphlinker.api import Workspace
    from graphlinker.store import open_store

    if _is_local(store) and not workspace.exists():
        raise NoRunYet(f"no run yet in {workspace}; run `graphlinker run EXPORT_DIR` first")
    return Workspace(workspace, store=open_store(store, workspace))


@handle_errors
def verdict(
    cluster_id: str = typer.Argument(..., metavar="CLUSTER_ID", help="The cluster's id as the report shows it (cl-…)."),
    decision: str = typer.Argument(..., metavar="VERDICT", help=f"One of: {', '.join(VERDICTS)}."),
    note: str | None = typer.Option(None, "--note", help="Why, in a sentence or two (a ticket reference helps)."),
    by: str | None = typer.Option(None, "--by", help="Who decides (default: your login name)."),
    run_id: str | None = typer.Option(None, "--run", help="The run whose cluster you judged (default: the latest)."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help="table (a line) or json (the record kept)."),
) -> None:
    """Keep a verdict on a cluster: benign keeps it unflagged while it stays the same group, confirmed keeps it flagged.

    The verdict is kept against the cluster's stable id, so it follows the group through refreshes and
    reruns; the next run applies it (`graphlinker report` shows it at once).
    """
    check_format(fmt, ("table", "json"))
    with _workspace(store, workspace) as ws:
        record = ws.verdict(cluster_id, decision, note=note, by=by, run_id=run_id)
    if fmt == "json":
        sys.stdout.write(json.dumps(record) + "\n")
        return
    who = f" by {record['by']}" if record["by"] else ""
    out(soft_wrap=True).print(f"{record['verdict']} verdict on {escape(record['cluster_id'])} ({record['size']} accounts in "
              f"{record['run_id']}){escape(who)} kept; it applies from the next run", highlight=False)


@handle_errors
def verdicts_command(
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    fmt: str = typer.Option("table", "--format", "-f", help=f"Output format: {', '.join(VERDICT_FORMATS)}."),
    history: bool = typer.Option(False, "--history", metavar="", help="Every verdict ever given, not only each cluster's latest."),
    output: Path | None = OutputOption,
) -> None:
    """List analysts' verdicts, newest first: each cluster's current one (or --history)."""
    check_format(fmt, VERDICT_FORMATS, output)
    if _is_local(store) and not workspace.exists():
        frame = verdicts_frame([], history)
    else:
        with _workspace(store, workspace) as ws:
            frame = ws.verdicts(history=history)
    if fmt == "json":
        text = json.dumps([{k: (None if v is None or v != v else v) for k, v in row.items()} for row in _records(frame)], indent=2)
    elif fmt == "csv":
        from graphlinker.report.render import spreadsheet_safe

        flat = frame.assign(members=[";".join(m) for m in frame["members"]],
                            reason_codes=[";".join(r) for r in frame["reason_codes"]])
        text = flat.map(lambda v: spreadsheet_safe(v) if isinstance(v, str) else v).to_csv(index=False, lineterminator="\n")
    else:
        table = Table(title="Verdicts", caption=f"{len(frame)} verdict(s)" + (" (history)" if history else ""))
        for column in ("cluster", "verdict", "by", "at", "size", "note"):
            table.add_column(column)
        for row in _records(frame):
            table.add_row(row["cluster_id"], row["verdict"], row["by"] or "", row["at"][:19], str(row["size"]), row["note"] or "")
        if output is None:
            out().print(table)
            return
        with output_stream(output) as stream:
            from rich.console import Console

            Console(file=stream, width=160).print(table)
        err.print(f"wrote {output}")
        return
    with output_stream(output) as stream:
        stream.write(text if text.endswith("\n") else text + "\n")
    if output is not None:
        err.print(f"wrote {output}")


def _records(frame) -> list[dict]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{**row, "members": list(row["members"]), "reason_codes": list(row["reason_codes"])} for row in rows]
