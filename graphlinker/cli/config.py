"""`graphlinker config show`: the effective settings, where each came from, and the environment.

When a run flags something unexpected, the first question is "with which settings?" —
this answers it without reading TOML merges by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from graphlinker.cli.common import App, check_format
from graphlinker.cli.console import out
from graphlinker.cli.errors import handle_errors
from graphlinker.settings import Settings, environment, flatten

config_app = App(help="Inspect settings: `graphlinker config show`.", no_args_is_help=True)
FORMATS = ("table", "json")


@config_app.command("show")
@handle_errors
def show(
    config: Path | None = typer.Option(None, "--config", dir_okay=False, envvar="GRAPHLINKER_CONFIG",
                                          help="TOML file overriding the defaults (as for run)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    changed: bool = typer.Option(False, "--changed", metavar="", help="Only the settings the file changes."),
) -> None:
    """Print every setting's effective value and its source (the packaged defaults or your file), then the
    environment variables graphlinker reads (secrets masked). Exit 2 when the settings are invalid."""
    check_format(fmt, FORMATS)
    settings, sources = Settings.load_with_sources(config)
    values = flatten(settings.as_dict())
    keys = [k for k in values if not changed or sources[k] != "defaults"]
    if fmt == "json":
        typer.echo(json.dumps({"settings": {k: values[k] for k in keys}, "sources": {k: sources[k] for k in keys},
                               "environment": environment.describe()}, indent=2, default=str))
        return
    stdout = out(piped_width=None, soft_wrap=True)
    table = Table("setting", "value", "source", title="settings")
    for key in keys:
        table.add_row(key, json.dumps(values[key], default=str), sources[key])
    stdout.print(table)
    rows = [row for row in environment.describe() if row["value"] is not None]
    env = Table("variable", "value", "meaning", title="environment (set)")
    for row in rows:
        env.add_row(row["name"], row["value"], row["meaning"])
    if rows:
        stdout.print(env)
    stdout.print(f"{len(rows)} of the {len(environment.VARIABLES)} environment variables graphlinker reads are set; "
              "`--format json` lists them all with their meaning and what applies when unset.", highlight=False)
