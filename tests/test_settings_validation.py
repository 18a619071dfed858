"""Settings are validated when they load (issue 11): every key has a type and a range.

A bad value, a wrong type, an unknown key (a typo) or a file that is not UTF-8 stops the
command before any work with exit code 2 and one line on stderr naming the key, never a
traceback and never a silent run (a flag threshold of 1.5 used to flag nothing, exit 0).
Most cases go through the real CLI in-process (typer's CliRunner); the file and
environment cases run ``python -m graphlinker`` as a scheduler would.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlinker.analysis.scoring import REASONS
from graphlinker.cli.app import app
from graphlinker.errors import ConfigError, ExitCode
from graphlinker.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"

# (id, config file text, the message the one stderr line must hold: the key first, then what is wrong)
BAD_SETTINGS = [
    ("negative-signal-weight", "[linking.weights]\nip = -0.5\n",
     "linking.weights.ip: must be a number in [0, 1], got -0.5"),
    ("negative-reason-weight", "[scoring.weights]\nautomation = -0.1\n",
     "scoring.weights.automation: must be a number in [0, 1], got -0.1"),
    ("hub-cap-zero", "[linking.hub_caps]\nip = 0\n",
     "linking.hub_caps.ip: must be an integer >= 1, got 0"),
    ("hub-cap-negative", "[linking.hub_caps]\ndefault = -5\n",
     "linking.hub_caps.default: must be an integer >= 1, got -5"),
    ("flag-threshold-above-1", "[scoring]\nflag_threshold = 1.5\n",
     "scoring.flag_threshold: must be a number in [0, 1], got 1.5"),
    ("flag-threshold-nan", "[scoring]\nflag_threshold = nan\n",
     "scoring.flag_threshold: must be a number in [0, 1], got nan"),
    ("weight-of-wrong-type", '[scoring.weights]\nextraction_prompts = "high"\n',
     'scoring.weights.extraction_prompts: must be a number in [0, 1], got "high"'),
    ("subnet-prefix-v4-40", "[linking]\nsubnet_prefix_v4 = 40\n",
     "linking.subnet_prefix_v4: must be an integer in [0, 32], got 40"),
    ("subnet-prefix-v6-129", "[linking]\nsubnet_prefix_v6 = 129\n",
     "linking.subnet_prefix_v6: must be an integer in [0, 128], got 129"),
    ("resolution-negative", "[detection]\nresolution = -1\n",
     "detection.resolution: must be a number > 0, got -1"),
    ("detection-seed-negative", "[detection]\nseed = -1\n",
     "detection.seed: must be an integer in [0, 2147483647], got -1"),
    ("boolean-as-string", '[detection]\nmerge_fragments = "yes"\n',
     'detection.merge_fragments: must be true or false, got "yes"'),
    ("count-as-float", "[inputs]\nchunk_rows = 1000.5\n",
     "inputs.chunk_rows: must be an integer >= 1, got 1000.5"),
    ("ramp-of-equal-ends", "[scoring.ramps]\nlockstep = [0.5, 0.5]\n",
     "scoring.ramps.lockstep: must be two different numbers [from, to], got [0.5, 0.5]"),
    ("coherence-ramp-one-number", "[linking]\ncoherence_ramp = [0.1]\n",
     "linking.coherence_ramp: must be two different numbers [from, to], got [0.1]"),
    ("table-where-a-value-belongs", "[linking.method]\nname = 1\n",
     'linking.method: must be one of "coherence", "hub_caps", got a table'),
    ("value-where-a-table-belongs", "[linking]\nweights = 3\n",
     "linking.weights: must be a table, got 3"),
    ("linking-method-typo", '[linking]\nmethod = "hubcaps"\n',
     'linking.method: must be one of "coherence", "hub_caps", got "hubcaps" (did you mean "hub_caps"?)'),
    ("detection-engine-unknown", '[detection]\nengine = "fast"\n',
     'detection.engine: must be one of "louvain", "louvain-reference", "leiden", "gds", got "fast"'),
    ("templates-grouping-unknown", '[templates]\ngrouping = "fuzzy"\n',
     'templates.grouping: must be one of "minhash", "exact", got "fuzzy"'),
    ("templates-linkage-unknown", '[templates]\nlinkage = "complete"\n',
     'templates.linkage: must be one of "single", "leader", got "complete"'),
    ("num-perm-not-a-multiple-of-bands", "[templates]\nnum_perm = 50\n",
     "templates.num_perm: must be a multiple of templates.bands (16), got 50"),
    ("unknown-reason-code-in-list", '[scoring]\ninfrastructure_reasons = ["shared_paymnt"]\n',
     'scoring.infrastructure_reasons: unknown reason code "shared_paymnt" (did you mean "shared_payment"?)'),
    ("more-behaviour-reasons-than-exist", "[scoring]\nmin_behaviour_reasons = 13\n",
     "scoring.min_behaviour_reasons: must be at most 12"),
    ("unknown-key-typo", "[linking]\nsubnet_prefix_4 = 24\n",
     "linking.subnet_prefix_4: unknown setting (did you mean linking.subnet_prefix_v4?)"),
    ("key-in-the-wrong-section", "[scoring]\nresolution = 2.0\n",
     "scoring.resolution: unknown setting (did you mean detection.resolution?)"),
    ("unknown-section", "[scorring]\nflag_threshold = 0.5\n",
     "scorring: unknown setting (did you mean scoring?)"),
    ("weight-of-no-reason-code", "[scoring.weights]\nextraction_prompt = 0.5\n",
     "scoring.weights.extraction_prompt: unknown setting (did you mean scoring.weights.extraction_prompts?)"),
]


def _invoke(tmp_path: Path, config: str | bytes, command: str = "run", env: dict | None = None):
    path = tmp_path / "bad.toml"
    path.write_bytes(config if isinstance(config, bytes) else config.encode("utf-8"))
    target = [str(DEMO)] if command == "run" else [str(DEMO / "accounts.csv")]
    args = [command, *target, "--workspace", str(tmp_path / "ws"), "--format", "json", "--no-progress"]
    return CliRunner().invoke(app, args if env else [*args, "--config", str(path)], env=env), path


def _one_line_error(result) -> str:
    """The command failed as a user error: exit 2, no traceback, exactly one line on stderr."""
    assert result.exit_code == ExitCode.BAD_INPUT, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""  # nothing ran, no report
    return lines[0]


@pytest.mark.parametrize("config,expected", [case[1:] for case in BAD_SETTINGS], ids=[case[0] for case in BAD_SETTINGS])
def test_bad_setting_exits_2_naming_the_key(tmp_path, config, expected):
    result, path = _invoke(tmp_path, config)
    line = _one_line_error(result)
    assert expected in line, line
    assert path.name in line  # and which file it came from


def test_refresh_validates_settings_too(tmp_path):
    result, _ = _invoke(tmp_path, "[scoring]\nflag_threshold = 1.5\n", command="refresh")
    assert "scoring.flag_threshold: must be a number in [0, 1], got 1.5" in _one_line_error(result)


def test_settings_named_by_the_environment_are_validated(tmp_path):
    result, path = _invoke(tmp_path, "[linking.hub_caps]\nip = -1\n", env={"GRAPHLINKER_CONFIG": str(tmp_path / "bad.toml")})
    line = _one_line_error(result)
    assert "linking.hub_caps.ip: must be an integer >= 1, got -1" in line and path.name in line


def test_every_problem_of_a_file_is_named_on_one_line(tmp_path):
    result, _ = _invoke(tmp_path, "[detection]\nresolution = 0\n[scoring]\nflag_threshold = 2\nmin_cluster_size = 0\n")
    line = _one_line_error(result)
    for key in ("detection.resolution:", "scoring.flag_threshold:", "scoring.min_cluster_size:"):
        assert key in line, line


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def test_config_file_not_utf8_exits_2_through_the_real_cli(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("# réglages du labo\n[scoring]\nflag_threshold = 0.6\n".encode("latin-1"))
    result = _cli("run", str(DEMO), "--workspace", str(tmp_path / "ws"), "--config", str(path))
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "latin1.toml is not UTF-8" in result.stderr and "line 1" in result.stderr


def test_bad_setting_from_the_environment_through_the_real_cli(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("[detection]\nresolutoin = 2.0\n")
    result = _cli("run", str(DEMO), "--workspace", str(tmp_path / "ws"), env={"GRAPHLINKER_CONFIG": str(path)})
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "detection.resolutoin: unknown setting (did you mean detection.resolution?)" in result.stderr


# --- what still loads ----------------------------------------------------------------------------
VALID_PARTIAL = """\ufeff# saved by a Windows editor: a UTF-8 byte-order mark is tolerated
[linking]
method = "hub_caps"
max_links_per_account = 0         # 0 keeps every link
[linking.weights]
loyalty_card = 0.4                # a lab's own identifier kind (open table)
[linking.hub_caps]
loyalty_card = 50
[scoring]
flag_threshold = 1                # an integer where a number is expected
[scoring.ramps]
round_the_clock = [0.97, 0.88]    # a reversed ramp: strength falls as the feature rises
"""


def test_shipped_defaults_load_and_have_no_problems():
    from graphlinker.settings.schema import problems

    defaults = tomllib.loads(resources.files("graphlinker.settings").joinpath("defaults.toml").read_text("utf-8"))
    assert problems(defaults) == []
    assert Settings.load().as_dict() == defaults


def test_valid_partial_override_loads(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(VALID_PARTIAL, encoding="utf-8")
    settings = Settings.load(path)
    shipped = Settings.load()
    assert settings.linking["method"] == "hub_caps" and settings.signal_weight("loyalty_card") == 0.4
    assert settings.hub_cap("loyalty_card") == 50 and settings.hub_cap("ip") == shipped.hub_cap("ip")
    assert settings.scoring["ramps"]["round_the_clock"] == [0.97, 0.88]
    assert settings.scoring["weights"] == shipped.scoring["weights"]  # untouched keys keep their defaults
    # the object the rest of the code uses is unchanged: plain dicts, dataclasses.replace, as_dict
    moved = replace(settings, scoring={**settings.scoring, "flag_threshold": 0.5})
    assert moved.scoring["flag_threshold"] == 0.5 and set(moved.as_dict()) == set(shipped.as_dict())


def test_valid_partial_override_runs_through_the_cli(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(VALID_PARTIAL, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(DEMO), "--workspace", str(tmp_path / "ws"), "--format", "json",
                                      "--no-progress", "--config", str(path)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert '"clusters"' in result.stdout


# --- the schema itself ---------------------------------------------------------------------------
def _leaves(data: dict, prefix: tuple = ()) -> set[tuple]:
    out = set()
    for key, value in data.items():
        out |= _leaves(value, prefix + (key,)) if isinstance(value, dict) else {prefix + (key,)}
    return out


def test_schema_and_defaults_name_the_same_keys():
    """A key added to defaults.toml needs a type and range; a spec without a default would be a dead rule."""
    from graphlinker.settings.schema import Table, schema

    def spec_leaves(spec: Table, prefix: tuple = ()) -> set[tuple]:
        out = set()
        for key, sub in spec.fields.items():
            out |= spec_leaves(sub, prefix + (key,)) if isinstance(sub, Table) else {prefix + (key,)}
        return out

    defaults = Settings.load().as_dict()
    open_tables = {("linking", "weights"), ("linking", "min_similarity"), ("linking", "min_shared"), ("linking", "hub_caps")}
    closed = {k for k in _leaves(defaults) if k[:2] not in open_tables}
    assert spec_leaves(schema()) - {("linking", "hub_caps", "default")} == closed


def test_scoring_weights_and_ramps_are_exactly_the_reason_codes():
    from graphlinker.settings.schema import problems

    codes = {r.code for r in REASONS}
    shipped = Settings.load()
    assert set(shipped.scoring["weights"]) == codes == set(shipped.scoring["ramps"])
    data = Settings.load().as_dict()
    del data["scoring"]["weights"]["lockstep"]
    del data["scoring"]["ramps"]["automation"]
    messages = [m for _, m in problems(data)]
    assert "scoring.weights.lockstep: missing" in messages and "scoring.ramps.automation: missing" in messages


def test_settings_load_raises_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[scoring]\nflag_threshold = nan\n")
    with pytest.raises(ConfigError, match=r"^scoring\.flag_threshold: must be a number in \[0, 1\], got nan \(in .*bad\.toml\)$"):
        Settings.load(path)
