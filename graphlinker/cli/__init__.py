"""The command line: one module per command group, one error convention and shared options; app.py registers every command."""
