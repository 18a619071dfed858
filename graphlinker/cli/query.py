"""``graphlinker query list|show|run`` and ``graphlinker cypher``: the analyst Cypher pack on the command line.

Every query runs in a READ transaction against the Neo4j server of
:func:`graphlinker.devserver.server.connection_settings` ($NEO4J_URI or the locally
started server). Results go to stdout (``--format table|json|csv``) and nothing
else does; errors are one line on stderr with the exit codes of
:class:`graphlinker.errors.ExitCode`.
"""

from __future__ import annotations

import csv
import errno
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from graphlinker.cli.common import App
from graphlinker.errors import InputError
from graphlinker.querypack.pack import (
    DEFAULT_QUERY_TIMEOUT,
    bind,
    browser_favourite,
    check_statement,
    load_pack,
    parse_assignments,
    resolve,
    run_cypher,
    run_query,
)

OUTPUT_FORMATS = ("table", "json", "csv", "parquet")
LIST_FORMATS = ("table", "json")
MAX_CELL = 300  # table cells longer than this are cut (json and csv keep everything)

query_app = App(
    help="The analyst Cypher pack (queries/*.cypher): list the queries, show one, run one read-only against Neo4j.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamOption = typer.Option(None, "--param", "-p", help="A query parameter as key=value (repeat for more).", show_default=False)
OutputOption = typer.Option("table", "--format", "-f", help="Output format: table, json, csv or parquet (needs -o FILE).")
OutputFileOption = typer.Option(None, "--output", "-o", dir_okay=False, metavar="FILE",
                                help="Write the result to FILE (whole or not at all) instead of stdout; --format parquet needs it.")
TimeoutOption = typer.Option(
    DEFAULT_QUERY_TIMEOUT, "--timeout", min=0,
    help="Seconds the query may run before the server stops it (exit 2); 0: no limit.",
)


from graphlinker.cli.common import check_format  # noqa: E402
from graphlinker.cli.console import err, out  # noqa: E402
from graphlinker.cli.errors import handle_errors as _one_line_errors  # noqa: E402


def _connection() -> dict:
    from graphlinker.devserver.server import connection_settings  # imported late: it is only needed to run

    return connection_settings()


# --- rendering ---------------------------------------------------------------------------------

def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table_cell(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(_table_cell(v) if not isinstance(v, (list, dict)) else json.dumps(v, ensure_ascii=False) for v in value)
    elif isinstance(value, dict):
        if all(not isinstance(v, (list, dict)) for v in value.values()):
            text = "{" + ", ".join(f"{k}: {_scalar_text(v)}" for k, v in value.items()) + "}"
        else:
            text = json.dumps(value, ensure_ascii=False)
    else:
        text = _scalar_text(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _csv_cell(value: Any) -> str:
    """One CSV cell: numbers as numbers; text a spreadsheet would run as a formula gets a leading quote."""
    from graphlinker.report.render import spreadsheet_safe

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _scalar_text(value)  # a typed number (even negative) is shown as a number, never run
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return spreadsheet_safe(";".join(_scalar_text(v) for v in value))
    if isinstance(value, (list, dict)):
        return spreadsheet_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return spreadsheet_safe(_scalar_text(value))


def render(columns: list[str], rows: list[dict], fmt: str, title: str | None = None, meta: dict | None = None,
           output: Path | None = None) -> None:
    """Write a result to stdout (or to ``output``) as a rich table, a JSON document or CSV; parquet only to ``output``."""
    from graphlinker.report.render import output_stream, write_parquet

    if fmt == "parquet":  # one column per returned column; nested values as Arrow lists/structs, else JSON text
        import pandas as pd

        frame = pd.DataFrame([[row.get(c) for c in columns] for row in rows], columns=columns, dtype=object)
        write_parquet(frame.infer_objects(), output, {k: json.dumps(v, ensure_ascii=False, default=str) for k, v in (meta or {}).items()})
        err.print(f"wrote {len(rows)} row{'s' if len(rows) != 1 else ''} to {output}", highlight=False)
        return
    with output_stream(output) as stream:
        if fmt == "json":
            document = {**(meta or {}), "columns": columns, "rows": rows}
            stream.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        elif fmt == "csv":
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow([_csv_cell(str(c)) for c in columns])
            for row in rows:
                writer.writerow([_csv_cell(row.get(c)) for c in columns])
        else:
            table = Table(title=title, show_lines=False, header_style="bold")
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*(_table_cell(row.get(c)) for c in columns))
            Console(file=stream, width=None if stream is sys.stdout and sys.stdout.isatty() else 200).print(table)
            err.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", highlight=False)


# --- commands ----------------------------------------------------------------------------------

@query_app.command("list")
@_one_line_errors
def list_queries(
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table or json."),
    tag: str | None = typer.Option(None, "--tag", help="Only queries carrying this tag."),
) -> None:
    """List the queries of the pack: name, title, parameters and tags."""
    check_format(fmt, LIST_FORMATS)
    queries = [q for q in load_pack().values() if tag is None or tag in q.tags]
    if fmt == "json":
        sys.stdout.write(json.dumps([q.as_dict() for q in queries], indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(header_style="bold")
    for column in ("name", "title", "params", "tags"):
        table.add_column(column, overflow="fold")
    for query in queries:
        params = "\n".join(p.describe() for p in query.params) or "—"
        table.add_row(query.name, query.title, params, ", ".join(query.tags))
    out(piped_width=200).print(table)


@query_app.command("show")
@_one_line_errors
def show_query(name: str = typer.Argument(..., metavar="NAME", help="Query name, as in `graphlinker query list`.")) -> None:
    """Print one query's file: its header (title, description, parameters, columns) and Cypher."""
    query = resolve(name, load_pack())
    sys.stdout.write(query.path.read_text("utf-8"))


@query_app.command("run")
@_one_line_errors
def run_command(
    name: str = typer.Argument(..., metavar="NAME", help="Query name, as in `graphlinker query list`."),
    param: list[str] | None = ParamOption,
    fmt: str = OutputOption,
    timeout: float = TimeoutOption,
    output: Path | None = OutputFileOption,
) -> None:
    """Run one query of the pack read-only, e.g. `graphlinker query run cluster-members -p cluster_id=cl-1a8c3c5a62`.

    Parameter values are converted to the types the query declares (int, float, bool,
    comma-separated lists); see `graphlinker query show NAME`. Like `graphlinker cypher`, the
    query is refused (exit 2) if the server plans anything but a read, and stopped after
    --timeout seconds (exit 2).
    """
    check_format(fmt, OUTPUT_FORMATS, output)
    query = resolve(name, load_pack())
    params = bind(query, parse_assignments(param))
    check_statement(query.cypher)  # refused without a server; run_query checks the server's plan too
    columns, rows = run_query(_connection(), query, params, timeout=timeout)
    render(columns, rows, fmt, title=query.title, meta={"query": query.name, "params": params}, output=output)


@query_app.command("favourites")
@_one_line_errors
def favourites_command(
    output: Path = typer.Option(
        Path("graphlinker-queries.zip"), "--output", "-o", dir_okay=False, metavar="FILE",
        help="The zip file to write (replaced whole).",
    ),
) -> None:
    """Write the pack as Neo4j Browser favourites: a zip to drop on Browser's Favorites drawer.

    One `graphlinker/NAME.cypher` per query: its title (Browser's name for it), `:param` lines
    with an example or the default for each parameter (edit them), then the query. Clicking a
    favourite puts it in the editor; running it sets the parameters and runs the query.
    """
    import os
    import zipfile

    queries = load_pack()
    output = output.expanduser()
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for query in queries.values():
                archive.writestr(f"graphlinker/{query.name}.cypher", browser_favourite(query))
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
            raise
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"Wrote {len(queries)} queries to {output}: open Neo4j Browser's Favorites (the star), "
              "and drop the file on its import area", highlight=False)


@_one_line_errors
def cypher_command(
    text: str = typer.Argument(..., metavar="CYPHER", help="Cypher to run, with $name parameters for values."),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="A parameter as key=value; the value is read as JSON when it parses, else as a string.", show_default=False
    ),
    fmt: str = OutputOption,
    timeout: float = TimeoutOption,
    output: Path | None = OutputFileOption,
) -> None:
    """Run ad-hoc Cypher read-only (the server refuses any write), e.g. `graphlinker cypher "MATCH (c:Cluster) RETURN count(c)"`.

    Only reads run: LOAD CSV, administration commands (SHOW USERS, TERMINATE TRANSACTIONS,
    CREATE/DROP/ALTER ..., dbms.* procedures) and writes are refused with exit 2, and a query
    is stopped after --timeout seconds (exit 2).
    """
    check_format(fmt, OUTPUT_FORMATS, output)
    if not text.strip():
        raise InputError("no Cypher given")
    params = parse_assignments(param, parse_json=True)
    check_statement(text)  # refused without a server; run_cypher checks the server's plan too
    columns, rows = run_cypher(_connection(), text, params, timeout=timeout)
    render(columns, rows, fmt, meta={"params": params}, output=output)


__all__ = ["query_app", "cypher_command", "render"]
