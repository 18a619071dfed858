"""A package that installs anywhere (issue 12).

- The wheel: built from the working tree with ``python -m build --wheel``, installed with the
  committed constraints into a fresh venv outside the repository, it carries the query pack, the
  Neo4j pom and the licence as package data, and its ``graphlinker`` runs ``query list``, a run on
  the demo export (with none of the optional engines installed) and ``neo4j start --port 0`` /
  ``neo4j stop`` from a directory outside the repository (the jars come from the cache CI fetched).
- Dependencies: every one has an upper bound, and constraints.txt pins a version inside the
  ranges of every declared dependency and extra.
- Optional engines: selecting one whose package is missing is a one-line ConfigError (exit 2)
  naming the extra to install, through the real CLI (the module is hidden with a ``None`` entry
  in ``sys.modules``); the default path runs with every optional package hidden.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from graphlinker.analysis.detection import ENGINES, OPTIONAL_ENGINES, require_engine
from graphlinker.devserver import server
from graphlinker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
PACK = ROOT / "graphlinker" / "querypack" / "queries"
POM = ROOT / "graphlinker" / "devserver" / "neo4j-server" / "pom.xml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
CONSTRAINTS = ROOT / "constraints.txt"
# Environment variables that would point an installed graphlinker back into the repository.
REPO_POINTERS = ("PYTHONPATH", "GRAPHLINKER_QUERIES", "GRAPHLINKER_NEO4J_POM", "GRAPHLINKER_CONFIG", "GRAPHLINKER_WORKSPACE",
                 "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")
OPTIONAL_MODULES = ("community", "networkx", "leidenalg", "datasketch", "sklearn")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in REPO_POINTERS}
    env.update(extra)
    return env


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


# --------------------------------------------------------------------------- the wheel in a fresh venv
# 45-100 s on 2 cores (build ~4 s, venv ~5 s, installing the wheel's dependencies from pip's cache 15-30 s,
# a first Neo4j start 12-18 s; more when the machine is busy): marked slow, which the default suite runs.


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> dict:
    """The wheel built from a copy of the working tree, installed into a fresh venv: {wheel, venv, python, exe, cwd}."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"  # a copy, so the build writes nothing (build/, egg-info) into the repository
    shutil.copytree(ROOT / "graphlinker", src / "graphlinker", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    env = _clean_env()
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", base / "dist", src], cwd=base, env=env)
    (wheel,) = (base / "dist").glob("graphlinker-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=base, env=env)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", CONSTRAINTS, wheel], cwd=base, env=env)
    cwd = base / "elsewhere"
    cwd.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "exe": venv / "bin" / "graphlinker", "cwd": cwd, "base": base}


@pytest.mark.slow
def test_wheel_carries_the_package_data_and_metadata(wheel_venv):
    with zipfile.ZipFile(wheel_venv["wheel"]) as wheel:
        names = set(wheel.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = wheel.read(metadata).decode()
    packed = {Path(n).name for n in names if n.startswith("graphlinker/querypack/queries/") and n.endswith(".cypher")}
    assert packed == {p.name for p in PACK.glob("*.cypher")} and len(packed) >= 14
    assert {"graphlinker/devserver/neo4j-server/pom.xml", "graphlinker/devserver/neo4j-plugins/pom.xml"} <= names
    assert {"graphlinker/settings/defaults.toml", "graphlinker/templates/rules.toml"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in meta
    assert {"leiden", "louvain-reference", "networkx", "bench"} <= set(re.findall(r"^Provides-Extra: (\S+)$", meta, re.M))
    hard = [Requirement(r) for r in re.findall(r"^Requires-Dist: (.+)$", meta, re.M) if "extra ==" not in r]
    assert {canonicalize_name(r.name) for r in hard}.isdisjoint({"leidenalg", "python-louvain", "networkx", "datasketch"})


@pytest.mark.slow
def test_installed_package_is_the_wheel_not_the_repository(wheel_venv):
    done = _run([wheel_venv["python"], "-c", "import graphlinker, sys; print(graphlinker.__file__)"],
                cwd=wheel_venv["cwd"], env=_clean_env())
    location = Path(done.stdout.strip()).resolve()
    assert wheel_venv["venv"].resolve() in location.parents and ROOT not in location.parents


@pytest.mark.slow
def test_installed_query_list_finds_the_packaged_pack(wheel_venv):
    done = _run([wheel_venv["exe"], "query", "list", "--format", "json"], cwd=wheel_venv["cwd"], env=_clean_env())
    listed = json.loads(done.stdout)
    assert sorted(q["name"] for q in listed) == sorted(p.stem for p in PACK.glob("*.cypher"))
    table = _run([wheel_venv["exe"], "query", "list"], cwd=wheel_venv["cwd"], env=_clean_env(COLUMNS="200"))
    assert "riskiest-clusters" in table.stdout


@pytest.mark.slow
def test_installed_run_needs_no_optional_package(wheel_venv):
    """The default path (run on the demo export, louvain engine) with only the hard dependencies installed."""
    python = wheel_venv["python"]
    probe = f"import importlib.util as u; print([m for m in {OPTIONAL_MODULES!r} if u.find_spec(m)])"
    assert _run([python, "-c", probe], cwd=wheel_venv["cwd"], env=_clean_env()).stdout.strip() == "[]"
    workspace = wheel_venv["base"] / "workspace"
    done = _run([wheel_venv["exe"], "run", DEMO, "--workspace", workspace, "--format", "json", "--no-progress"],
                cwd=wheel_venv["cwd"], env=_clean_env())
    assert json.loads(done.stdout)["summary"]["clusters"] > 0


@pytest.mark.slow
def test_installed_neo4j_start_and_stop(wheel_venv):
    """`graphlinker neo4j start --port 0` / `stop` from the venv: the packaged poms match the cache's jars."""
    fetched = server.is_fetched()  # the repository's pom; CI fetched the jars before the tests
    home = wheel_venv["base"] / "neo4j-home"
    env = _clean_env(GRAPHLINKER_NEO4J_HOME=str(home))
    exe, cwd = wheel_venv["exe"], wheel_venv["cwd"]
    try:
        started = _run([exe, "neo4j", "start", "--port", "0", "--heap", "512m", "--pagecache", "64m"], cwd=cwd, env=env)
        if fetched:  # the same pom bytes, so the same cache: nothing fetched again
            assert "Fetching" not in started.stderr, started.stderr
        assert "running at bolt://127.0.0.1:" in started.stderr
        status = json.loads(_run([exe, "neo4j", "status", "--json"], cwd=cwd, env=env).stdout)
        assert status["running"] and Path(status["home"]) == home.resolve()
        versions = _run([wheel_venv["python"], "-c", (  # the packaged plugins pom: GDS and APOC load
            "from neo4j import GraphDatabase; from graphlinker.devserver import server as s; c = s.server_settings(); "
            "d = GraphDatabase.driver(c['uri'], auth=(c['user'], c['password'])); "
            "print(*d.execute_query('RETURN [gds.version(), apoc.version()] AS v').records[0]['v']); d.close()")],
            cwd=cwd, env=env)
        assert versions.stdout.split() == [server.GDS_VERSION, server.APOC_VERSION]
    finally:
        stopped = subprocess.run([str(exe), "neo4j", "stop"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr, stopped.stderr
    assert server.status(home) is None


# --------------------------------------------------------------------------- bounds and constraints


def _declared() -> list[Requirement]:
    own = canonicalize_name(PYPROJECT["project"]["name"])
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return [r for r in reqs if canonicalize_name(r.name) != own]


def test_every_dependency_has_an_upper_bound():
    unbounded = [str(r) for r in _declared() if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert unbounded == []
    build = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert all(any(s.operator == "<" for s in r.specifier) for r in build)


def test_constraints_pin_every_declared_dependency_within_its_range():
    pins = {}
    for line in CONSTRAINTS.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version.strip()
    assert "graphlinker" not in pins
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared but not pinned in constraints.txt (run .ci/lock)"
        assert req.specifier.contains(pins[name]), f"constraints.txt pins {req.name}=={pins[name]} outside {req.specifier}"


def test_extras_name_every_optional_engine():
    extras = PYPROJECT["project"]["optional-dependencies"]
    for engine, (extra, modules) in OPTIONAL_ENGINES.items():
        assert engine in ENGINES
        declared = {canonicalize_name(Requirement(r).name) for r in extras[extra]}
        assert {canonicalize_name(dist) for _, dist in modules} <= declared
    own = [Requirement(r) for r in extras["test"] if canonicalize_name(Requirement(r).name) == "graphlinker"]
    assert len(own) == 1 and {"louvain-reference", "leiden", "networkx", "bench"} <= own[0].extras  # the suite needs them all


# --------------------------------------------------------------------------- optional engines through the CLI

# Runs the CLI as `python -m graphlinker` would, after hiding the given modules (a None entry in
# sys.modules makes `import X` raise ModuleNotFoundError, as if X were not installed).
HIDE_AND_RUN = "import runpy, sys; [sys.modules.__setitem__(m, None) for m in sys.argv.pop(1).split(',')]; " \
               "sys.argv[0] = 'graphlinker'; runpy.run_module('graphlinker', run_name='__main__')"


def _cli_without(modules: tuple[str, ...], *args, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", HIDE_AND_RUN, ",".join(modules), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("engine", "hidden", "package"), [
    ("leiden", ("leidenalg",), "leidenalg"),
    ("louvain-reference", ("community",), "python-louvain"),
    ("louvain-reference", ("networkx",), "networkx"),
])
def test_engine_without_its_package_is_a_one_line_config_error(tmp_path, engine, hidden, package):
    config = tmp_path / "settings.toml"
    config.write_text(f'[detection]\nengine = "{engine}"\n')
    done = _cli_without(hidden, "run", DEMO, "--workspace", tmp_path / "ws", "--config", config, "--no-progress", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"error: detection engine '{engine}' needs the package {package}, which is not installed: "
                                   f"pip install 'graphlinker[{engine}]'")
    assert done.stdout == ""


def test_default_engine_runs_with_every_optional_package_hidden(tmp_path):
    done = _cli_without(OPTIONAL_MODULES, "run", DEMO, "--workspace", tmp_path / "ws", "--format", "json", "--no-progress",
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["clusters"] > 0


def test_require_engine_in_process():
    for engine in ENGINES:
        require_engine(engine)  # the test extra installs every engine
    saved = sys.modules.get("leidenalg")
    sys.modules["leidenalg"] = None
    try:
        with pytest.raises(ConfigError, match=re.escape("pip install 'graphlinker[leiden]'")):
            require_engine("leiden")
    finally:
        if saved is None:
            del sys.modules["leidenalg"]
        else:
            sys.modules["leidenalg"] = saved
