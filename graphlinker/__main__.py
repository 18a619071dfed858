"""``python -m graphlinker`` runs the CLI."""

from graphlinker.cli.app import app

app(prog_name="graphlinker")
