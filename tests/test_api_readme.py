"""The README's Python API example runs as printed, against fixtures/demo, so it cannot rot.

The block after the ``<!-- python-api-example ... -->`` marker is extracted and run with a fresh
interpreter in an empty directory that sees the repository's ``fixtures/`` (as a reader in the
repository root would), and the section's table must name every public method of ``Workspace``.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import graphlinker as gl

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- python-api-example"


def api_section() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("\n## Python API\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def example() -> str:
    section = api_section()
    after = section[section.index(MARKER):]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match, "no ```python block after the marker"
    return match.group(1)


def test_the_readme_example_runs(tmp_path):
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    script = tmp_path / "example.py"
    script.write_text(example())
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_") and not k.startswith("GRAPHLINKER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "flagged_clusters" in result.stdout and "cl-" in result.stdout
    assert re.search(r"\d+ templates; 1 run\(s\); \d+ clusters", result.stdout), result.stdout
    assert (tmp_path / "demo-workspace" / "HEAD").is_file()  # it wrote where the reader is, nowhere else
    with gl.open_workspace(tmp_path / "demo-workspace") as ws:
        assert ws.clusters(flagged_only=True)["cluster_id"].iloc[0] in result.stdout


def test_the_readme_names_the_whole_api():
    section = api_section()
    methods = [name for name, _ in inspect.getmembers(gl.Workspace, inspect.isfunction) if not name.startswith("_")]
    for name in methods:
        assert f"ws.{name}(" in section, f"Workspace.{name} is not in the README's Python API section"
    for name in ("open_workspace", "open_neo4j", "load_settings", "Workspace", "RunResult", "Settings", "NoRunYet",
                 "NothingNew", "GraphlinkerError"):
        assert name in gl.__all__ and name in section, name
    assert "--format parquet" in section and "-o/--output FILE" in section
