"""`graphlinker config show`: effective settings, their sources, and the environment (secrets masked)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from graphlinker.settings import environment

ROOT = Path(__file__).resolve().parents[1]


def _show(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", "config", "show", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_defaults_are_shown_with_their_source():
    result = _show("--format", "json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    defaults = _flatten(tomllib.loads((ROOT / "graphlinker" / "settings" / "defaults.toml").read_text()))
    assert shown["settings"] == defaults
    assert set(shown["sources"].values()) == {"defaults"}


def test_a_file_overrides_and_is_named_as_the_source(tmp_path):
    config = tmp_path / "lab.toml"
    config.write_text("[linking]\nmin_edge_weight = 0.2\n[scoring.weights]\nautomation = 0.3\n")
    shown = json.loads(_show("--config", str(config), "--format", "json", "--changed").stdout)
    assert shown["settings"] == {"linking.min_edge_weight": 0.2, "scoring.weights.automation": 0.3}
    assert shown["sources"] == {"linking.min_edge_weight": str(config), "scoring.weights.automation": str(config)}


def test_environment_is_listed_with_secrets_masked():
    result = _show("--format", "json", env={"NEO4J_PASSWORD": "hunter22-secret", "NEO4J_USER": "analyst"})
    rows = {row["name"]: row for row in json.loads(result.stdout)["environment"]}
    assert rows["NEO4J_PASSWORD"]["value"] == "***" and rows["NEO4J_USER"]["value"] == "analyst"
    table = _show(env={"NEO4J_PASSWORD": "hunter22-secret"})
    assert "hunter22-secret" not in table.stdout + table.stderr and "NEO4J_PASSWORD" in table.stdout


def test_invalid_settings_are_exit_2(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[scoring]\nflag_threshold = 1.5\n")
    result = _show("--config", str(config))
    assert result.returncode == 2 and "scoring.flag_threshold" in result.stderr


def test_every_environment_variable_the_code_reads_is_registered():
    """The registry is the one list: every read goes through environment.value (which refuses an
    unregistered name), and typer's envvar= names must be registered too."""
    source = "\n".join(p.read_text() for p in (ROOT / "graphlinker").rglob("*.py"))
    read = set(re.findall(r"""env_value\(\s*["']([A-Z_]+)["']""", source))
    read |= set(re.findall(r"""envvar=["']([A-Z_]+)["']""", source))
    read |= set(re.findall(r"""_user_dir\(\s*["']([A-Z_]+)["']""", source))
    registered = {v.name for v in environment.VARIABLES}
    assert read and read <= registered, read - registered


def test_only_the_registry_reads_the_environment():
    """No module reads os.environ or os.getenv itself (passing the environment on to a child process is not a read)."""
    readers = []
    for path in (ROOT / "graphlinker").rglob("*.py"):
        if path.name == "environment.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ\s*[\[.]|os\.getenv\(", line):
                readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not readers, "\n".join(readers)
