"""The console command's process: exit codes pass through, and what lives until exit is kept from the collector."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import gc, sys
sys.argv = ["graphlinker", *sys.argv[1:]]
from graphlinker.cli.entry import main
try:
    main()
except SystemExit as stop:
    print(f"exit={stop.code} frozen={gc.get_freeze_count()}", file=sys.stderr)
"""


def _probe(*args: str) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return proc.stdout, proc.stderr.strip().splitlines()[-1]


def test_the_console_script_is_the_entry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"graphlinker": "graphlinker.cli.entry:main"}
    assert "from graphlinker.cli.entry import main" in (ROOT / "graphlinker" / "__main__.py").read_text()


def test_imports_are_frozen_and_the_exit_code_is_the_commands():
    out, last = _probe("--version")
    assert out.startswith("graphlinker ")
    exit_code, frozen = (part.split("=")[1] for part in last.split())
    assert exit_code in ("0", "None") and int(frozen) > 10_000  # typer, rich and the stores' imports: tens of thousands
    _, last = _probe("run", "/nonexistent/export")
    assert last.startswith("exit=2 ")  # bad input stays 2 through the entry


def test_the_python_api_leaves_the_collector_alone():
    proc = subprocess.run([sys.executable, "-c", "import gc, graphlinker, graphlinker.cli.app; print(gc.get_freeze_count())"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "0"


HEAVY = ("pandas", "numpy", "pyarrow", "numba", "scipy", "igraph")
LOADED = """
import sys
sys.argv = ["graphlinker", *sys.argv[1:]]
from graphlinker.cli.app import app
try:
    app(prog_name="graphlinker")
except SystemExit:
    pass
print("loaded=" + ",".join(m for m in HEAVY if m in sys.modules), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def test_help_and_version_load_no_data_library():
    """`--help` of any command, `--version`, `query list` and `config show` answer without pandas, numpy, Arrow,
    numba, scipy or igraph (~0.7 s of imports on the 2-core machine): the stores, the explain module and the
    readers load them when a command needs them, and settings validation takes its choice lists and reason
    codes from modules that import none (analysis/choices.py, analysis/reasons.py)."""
    for args in (["--help"], ["--version"], ["run", "--help"], ["explain", "--help"], ["refresh", "--help"], ["query", "list"],
                 ["config", "show"], ["config", "show", "--format", "json"]):
        proc = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        loaded = [line for line in proc.stderr.splitlines() if line.startswith("loaded=")]
        assert loaded == ["loaded="], (args, proc.stderr[-300:])
