"""``graphlinker neo4j start|stop|status``: a local Neo4j server the project fetches and runs itself.

Mounted by the main app with ``app.add_typer(neo4j_app, name="neo4j")``. Messages go to stderr;
only ``status --json`` writes to stdout. The password is never printed: it stays in HOME/password
(0600, in an owner-only home), and it is set before the server's first start, so Neo4j's default
``neo4j/neo4j`` never works. The server's LOAD CSV (and APOC's loaders) read no file and reach no host.
``start --browser`` also serves Neo4j Browser, on 127.0.0.1 only.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from graphlinker.cli.common import App
from graphlinker.errors import ExitCode

neo4j_app = App(
    help="Run a local Neo4j 5.26 Community server (fetched from Maven Central on first use) for the Neo4j store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
from graphlinker.cli.console import err  # noqa: E402
from graphlinker.cli.errors import handle_errors  # noqa: E402

HomeOption = typer.Option(
    None, "--home", file_okay=False,
    help="Server home (data, logs, conf, password). Default: $GRAPHLINKER_NEO4J_HOME, else ~/.local/share/graphlinker/neo4j.",
)


def _say(message: str) -> None:
    err.print(escape(message))


@neo4j_app.command()
@handle_errors
def start(
    home: Path | None = HomeOption,
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Bolt port on 127.0.0.1 (default 7687; 0 picks a free port)."),
    heap: str = typer.Option("1g", "--heap", help="JVM heap size."),
    pagecache: str = typer.Option("512m", "--pagecache", help="Neo4j page cache size."),
    timeout: float = typer.Option(180, "--timeout", min=1, help="Seconds to wait for the server to answer."),
    browser: bool = typer.Option(False, "--browser", metavar="", help="Also serve Neo4j Browser (HTTP connector) on 127.0.0.1."),
    http_port: int | None = typer.Option(
        None, "--http-port", min=0, max=65535, help="Browser's HTTP port on 127.0.0.1 (implies --browser; default 7474; 0 picks a free port).",
    ),
) -> None:
    """Start the server in the background (fetching it and its plugins first if needed); harmless if it already runs.

    Every server has Graph Data Science and APOC. The first start sets a random password (kept in
    HOME/password) before Neo4j first starts. A port is "in use" only while something listens on
    it: a server just stopped can be started again on its port at once.
    """
    from graphlinker.devserver import server

    if browser and http_port is None:
        http_port = server.DEFAULT_HTTP_PORT
    info = server.start(home, bolt_port=port, heap=heap, pagecache=pagecache, timeout=timeout, log=_say, http_port=http_port)
    password_note = f"; password in {info.home / server.PASSWORD_FILE}" if info.auth else ""
    _say(f"Neo4j {info.version} running at {info.uri} (pid {info.pid}, home {info.home}); user {server.DEFAULT_USER}{password_note}")
    if info.browser_url:
        _say(f"Neo4j Browser: {info.browser_url} (connect to {info.uri} as {server.DEFAULT_USER})")


@neo4j_app.command()
@handle_errors
def stop(
    home: Path | None = HomeOption,
    timeout: float = typer.Option(60, "--timeout", min=1, help="Seconds to wait before killing the server."),
) -> None:
    """Stop the server (harmless if it is not running)."""
    from graphlinker.devserver import server

    home_dir = server.default_home(home)
    if server.stop(home_dir, timeout=timeout):
        _say(f"Neo4j in {home_dir} stopped")
    else:
        _say(f"Neo4j in {home_dir} was not running")


@neo4j_app.command()
@handle_errors
def status(
    home: Path | None = HomeOption,
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the server's uri, pid, port, home and browser_url as JSON on stdout."),
) -> None:
    """Report whether the server runs (exit code 0) or not (exit code 5)."""
    from graphlinker.devserver import server

    home_dir = server.default_home(home)
    info = server.status(home_dir)
    if as_json:
        typer.echo(json.dumps({"running": info is not None, **(info.to_json() if info else {"home": str(home_dir)})}))
    if info is None:
        _say(f"Neo4j in {home_dir} is not running (start it with `graphlinker neo4j start`)")
        raise typer.Exit(int(ExitCode.STORE_UNAVAILABLE))
    _say(f"Neo4j {info.version} running at {info.uri} (pid {info.pid}, home {info.home}, since {info.started_at})")
    if info.browser_url:
        _say(f"Neo4j Browser: {info.browser_url}")
