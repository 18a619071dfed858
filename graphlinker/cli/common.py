"""What the CLI's command modules share: the common options and the progress display.

``app.py`` (run, report, templates, …), ``refresh.py`` (refresh, diff, runs, schedule) and the
other command modules import from here, and ``app.py`` registers every command on the one app: no module of
the CLI imports another command module, so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperCommand, TyperGroup

from graphlinker.cli.console import err
from graphlinker.errors import InputError
from graphlinker.report.render import FORMATS, check_output

DEFAULT_WORKSPACE = Path(".graphlinker")

WorkspaceOption = typer.Option(DEFAULT_WORKSPACE, "--workspace", "-w", help="Workspace directory of the embedded store.", envvar="GRAPHLINKER_WORKSPACE")
FormatOption = typer.Option("table", "--format", "-f", metavar="|".join(FORMATS), help=f"Output format: {', '.join(FORMATS)} (parquet needs -o FILE).")
OutputOption = typer.Option(None, "--output", "-o", dir_okay=False, metavar="FILE",
                            help="Write the output to FILE (whole or not at all) instead of stdout; --format parquet needs it.")
MinRiskOption = typer.Option(0.0, "--min-risk", min=0.0, max=1.0, help="Only list clusters with at least this risk score.")
TopOption = typer.Option(None, "--top", min=1, help="Only list the N riskiest clusters.")
FlaggedOption = typer.Option(False, "--flagged-only", metavar="", help="Only list flagged clusters.")
StoreOption = typer.Option(
    None, "--store", metavar="local|neo4j", help="Store to use: local (the workspace) or neo4j. Default: neo4j when NEO4J_URI is set, else local.", envvar="GRAPHLINKER_STORE"
)
ConfigOption = typer.Option(None, "--config", exists=True, dir_okay=False, help="TOML file overriding default weights, caps and thresholds.", envvar="GRAPHLINKER_CONFIG")
EngineOption = typer.Option(None, "--engine", metavar="embedded|spark",
                            help="Where reading, validation, template fingerprinting and usage aggregation run: embedded (this "
                                 "process) or spark (Spark jobs; pip install 'graphlinker\\[spark]'). Default: the settings' \\[engine] "
                                 "name, embedded unless set.")
MasterOption = typer.Option(None, "--master", metavar="URL",
                            help="Spark master for --engine spark, e.g. spark://host:7077 (default: the settings' \\[engine] master, "
                                 "else $SPARK_MASTER, else local\\[*]).")



class _FlagHelp:
    """``--help`` shown as a flag: typer 0.29 gives every flag a ``<bool>`` placeholder, its own help option too."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class _Command(_FlagHelp, TyperCommand):
    pass


class _Group(_FlagHelp, TyperGroup):
    pass


class App(typer.Typer):
    """``typer.Typer`` whose groups and commands show ``--help`` as a flag (no ``<bool>``), like every other flag."""

    def __init__(self, **kwargs):
        super().__init__(cls=_Group, **kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


class RichProgress:
    """Progress bars on stderr for the pipeline's long stages (only on a terminal, unless forced)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        if not self.enabled:
            yield lambda advance=1: None
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task(name, total=total)
            yield lambda advance=1: bar.advance(task, advance)
            bar.update(task, total=bar.tasks[0].completed or 1, completed=bar.tasks[0].completed or 1)


def _is_local(store: str | None) -> bool:
    from graphlinker.store import store_kind

    return store_kind(store) == "local"


def check_format(fmt: str, allowed: tuple[str, ...], output: Path | None = None) -> None:
    """Refuse, before any work, a ``--format`` the command does not write and an unusable ``-o FILE`` (exit 2)."""
    if fmt not in allowed:
        raise InputError(f"--format '{fmt}' is not one of {', '.join(allowed)}")
    check_output(fmt, output)
