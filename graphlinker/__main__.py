"""``python -m graphlinker`` runs the CLI."""

from graphlinker.cli.entry import main

main()
