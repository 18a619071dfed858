"""Shared fixtures: paths to committed fixtures and the shared LFR data.

Every test that needs a Neo4j server is marked ``neo4j`` here, at collection, whatever its file says,
so ``-m "not neo4j"`` is a loop that never starts one (see ``pytest_collection_modifyitems``); a test
the marking missed fails loudly the moment it starts a server (see ``_starting_a_server_needs_the_mark``).
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def lfr_dir() -> Path:
    """The shared LFR benchmark graphs; CI has them beside the clone, so there they must exist
    (``.ci/run`` sets ``GRAPHLINKER_CI``; ``CI`` is what hosted runners set)."""
    path = SHARED / "data" / "lfr"
    if not path.exists():
        if os.environ.get("CI") or os.environ.get("GRAPHLINKER_CI"):
            pytest.fail(f"LFR data missing at {path}")
        pytest.skip("shared LFR data not available")
    return path


# The real Neo4j server fixtures (a throwaway server per test session; never skipped).
import neo4j_fixtures  # noqa: E402
from neo4j_fixtures import *  # noqa: E402,F401,F403

STORE_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE", "GRAPHLINKER_STORE")


@pytest.fixture
def no_store_from_env(monkeypatch):
    """The CLI and the API as on a machine without NEO4J_* or GRAPHLINKER_STORE set (each test opens the store it means)."""
    for name in STORE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def hand_settings():
    """The shipped settings with the hand-set weights, threshold 0.6 and no size shrinkage (``size_prior`` 0: only
    pairs discounted): tests of the scoring *mechanism*, independent of the fitted numbers the defaults ship (the
    shrinkage has tests of its own in ``test_scoring.py``)."""
    from dataclasses import replace

    from graphlinker.analysis.scoring_fit import HAND_SET_WEIGHTS
    from graphlinker.settings import Settings

    shipped = Settings.load()
    return replace(shipped, scoring={**shipped.scoring, "weights": dict(HAND_SET_WEIGHTS), "flag_threshold": 0.6, "size_prior": 0.0})


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores, loopback only) for the whole test session: starting one takes ~10 s.

    Without pyspark (installed by the ``test`` extra) the Spark tests skip, except under CI
    (``GRAPHLINKER_CI``), where a missing engine is a failure."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("GRAPHLINKER_CI"):
            pytest.fail("pyspark is not installed: the Spark engine's tests need it under CI")
        pytest.skip("pyspark not installed (pip install -e '.[test]')")
    from graphlinker.engine.spark.session import spark_session, stop_session

    session = spark_session("local[2]", shuffle_partitions=4)
    yield session
    stop_session()


# --------------------------------------------------------------------------- the neo4j marker, structurally

TESTS = Path(__file__).resolve().parent
# A parametrised fixture whose param is this string opens the session server with request.getfixturevalue
# (tests/test_store_contract.py, test_refresh.py, test_event_keys.py, test_refresh_crash.py): invisible
# to the fixture closure, so the param is what says so.
SERVER_PARAM = "neo4j"
# The `neo4j start` command: ``[exe, "neo4j", "start"``, ``cli("neo4j", "start"``, and
# tests/test_neo4j_server.py's ``cli("start"``, whose helper invokes the neo4j sub-app.
CLI_START = r"""["']neo4j["']\s*,\s*["']start["']|\bcli\(\s*["']start["']"""


@functools.cache
def _start_pattern(module) -> re.Pattern:
    """devserver.server.start( under any name ``module`` binds the module to (server, neo4j_server, ...), or the CLI."""
    from graphlinker.devserver import server

    names = {"server"} | {name for name, value in vars(module).items() if value is server}
    return re.compile(rf"\b(?:{'|'.join(sorted(map(re.escape, names)))})\.start\(|{CLI_START}")


@functools.cache
def _source(function) -> str:
    """The source of a test or fixture function written in tests/ ('' for pytest's own fixtures)."""
    try:
        function = inspect.unwrap(function)
        if not Path(inspect.getsourcefile(function) or "").resolve().is_relative_to(TESTS):
            return ""
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def needs_neo4j(item: pytest.Item) -> str | None:
    """Why ``item`` needs a Neo4j server, or None: it uses (directly or through other fixtures) a fixture of
    tests/neo4j_fixtures.py, is the "neo4j" variant of a store fixture, or starts a server itself."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    used = sorted(name for name, defs in definitions.items() if name in getattr(item, "fixturenames", ())
                  and any(getattr(inspect.unwrap(d.func), "__module__", None) == neo4j_fixtures.__name__ for d in defs))
    if used:
        return f"uses {', '.join(used)}"
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(value == SERVER_PARAM for value in callspec.params.values() if isinstance(value, str)):
        return f"is the {SERVER_PARAM!r} variant of a store fixture"
    module = getattr(item, "module", None)
    if module is None:
        return None
    pattern = _start_pattern(module)
    for function in [item.function, *(d.func for defs in definitions.values() for d in defs)]:
        if pattern.search(_source(function)):
            return f"starts a server in {function.__name__}"
    return None


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("neo4j") is None and needs_neo4j(item):
            item.add_marker(pytest.mark.neo4j)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """Remember whose setup, call and teardown is running, for neo4j_fixtures.refuse_unmarked."""
    neo4j_fixtures.RUNNING.append(item)
    try:
        return (yield)
    finally:
        neo4j_fixtures.RUNNING.pop()


def pytest_configure(config: pytest.Config) -> None:
    """Every Neo4j JVM this process starts goes through devserver.server._launch (the session server,
    `neo4j start` through CliRunner, a test's own server.start, a bulk import's restart): refuse it
    for a test not marked neo4j. Servers a subprocess starts (the wheel's `neo4j start` in
    tests/test_packaging.py) are out of reach here; the source scan in needs_neo4j marks those."""
    from graphlinker.devserver import server

    launch = server._launch

    def guarded(*args, **kwargs):
        neo4j_fixtures.refuse_unmarked("starts a Neo4j server")
        return launch(*args, **kwargs)

    guarded.unguarded = launch
    server._launch = guarded


def pytest_unconfigure(config: pytest.Config) -> None:
    from graphlinker.devserver import server

    server._launch = getattr(server._launch, "unguarded", server._launch)


@pytest.fixture
def bridge_texts() -> tuple[str, str, str, str, str]:
    """``(X, Y, M, C1, C2)``: X and Y share about half their words (two templates); M is between them (~0.7 to
    each); C1 and C2 are X and Y with a word added (~0.95). In one chunk all five are one template; chunk by chunk
    ([X, Y], then [C1, M, C2]) the second chunk joins X's template and Y's stays apart, although C2 is a near-copy
    of Y, until ``MinHashGrouper.merge_run``."""
    import numpy as np

    rng = np.random.default_rng(7)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 6)) for _ in range(60)]
    x, y, m = " ".join(words[0:40]), " ".join(words[12:52]), " ".join(words[6:46])
    return x, y, m, x + " " + words[55], y + " " + words[56]
