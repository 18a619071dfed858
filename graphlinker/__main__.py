"""``python -m graphlinker`` runs the CLI."""

from .cli import app

app(prog_name="graphlinker")
