"""`graphlinker --help`, the README and the code name the same exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from graphlinker.errors import ExitCode

README = Path(__file__).resolve().parents[1] / "README.md"


def test_help_and_readme_list_every_exit_code():
    help_text = " ".join(subprocess.run([sys.executable, "-m", "graphlinker", "--help"], capture_output=True, text=True,
                                        check=True).stdout.split())
    epilog = help_text.split("Exit codes:", 1)[1]
    in_help = {int(code) for code in re.findall(r"(?:^ ?|; )(\d) ", epilog)}
    table = README.read_text().split("### Exit codes", 1)[1].split("<!-- failure-modes -->", 1)[0]
    in_readme = {int(code) for code in re.findall(r"^\| (\d) \|", table, flags=re.M)}
    assert in_help == in_readme == {int(code) for code in ExitCode}


def test_failure_modes_table_uses_documented_codes_only():
    table = README.read_text().split("<!-- failure-modes -->", 1)[1].split("\n\n", 1)[0]
    codes = [int(code) for code in re.findall(r"\| (\d) \| [^|]*\|$", table, flags=re.M)]
    assert len(codes) >= 6 and set(codes) <= {int(code) for code in ExitCode}
