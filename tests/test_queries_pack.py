"""The analyst Cypher pack without a server: every file parses, its metadata is valid and strict,
its parameters match the Cypher, it cannot write, and the runner's binding and name resolution
refuse what they must. (tests/test_queries_neo4j.py runs every query against a real server.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlinker.errors import ConfigError, ExitCode, InputError
from graphlinker.querypack.pack import (
    PARAM_TYPES,
    bind,
    load_pack,
    parameters_used,
    parse_assignments,
    parse_query,
    resolve,
    strip_literals,
    write_clauses,
)

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "graphlinker" / "querypack" / "queries"
PACK = load_pack(QUERIES)

# What analysts were promised (the brief of issue "analyst Cypher pack"): the pack must keep these.
REQUIRED_QUERIES = {
    "cluster-members",
    "cluster-links",
    "account-neighbourhood",
    "accounts-by-payment",
    "accounts-by-ip",
    "accounts-by-subnet",
    "evidence-path",
    "cluster-templates",
    "riskiest-clusters",
    "new-or-grown-clusters",
    "hub-identifiers",
    "creation-burst",
    "new-model-pivot",
    "account-cluster-history",
    "clusters-sharing-payment",
    "extraction-templates",
}

GOOD = """// name: sample
// title: A sample
// description: Something useful
//   that continues here.
// param: limit: int in 1..50 = 10 — how many (example: 5)
// param: who: str — an account (example: acct_1)
// param: kinds: list[str] = ip,payment — which kinds (example: ip)
// param: strict: bool = false — be strict (example: true)
// param: score: float in 0..1 = null — minimum score (example: 0.5)
// returns: a, b
// tags: demo, test
MATCH (a:Account {account_id: $who})
WHERE $strict OR a.kind IN $kinds OR a.score >= $score
RETURN a.account_id AS a, 1 AS b LIMIT $limit;
"""


def parse(text: str, name: str = "sample") -> object:
    return parse_query(text, Path(f"{name}.cypher"))


def final_return_columns(text: str) -> list[str]:
    """Column names of the last top-level RETURN (outside any subquery braces), in order."""
    depth, final = 0, None
    for match in re.finditer(r"[(){}\[\]]|\bRETURN\b", text, re.IGNORECASE):
        token = match.group(0)
        if token in "({[":
            depth += 1
        elif token in ")}]":
            depth -= 1
        elif depth == 0:
            final = match.end()
    assert final is not None, "no top-level RETURN"
    items, depth, current, i, tail = [], 0, "", 0, text[final:]
    while i < len(tail):
        ch = tail[i]
        if depth == 0 and re.match(r"\s(ORDER\s+BY|LIMIT|SKIP|UNION)\b", tail[i:], re.IGNORECASE):
            break
        depth += 1 if ch in "({[" else -1 if ch in ")}]" else 0
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
        i += 1
    items.append(current)
    columns = []
    for item in items:
        alias = re.search(r"\bAS\s+(\w+)\s*$", item.strip(), re.IGNORECASE)
        columns.append(alias.group(1) if alias else item.strip())
    return columns


# --- the committed pack ------------------------------------------------------------------------

def test_pack_has_the_promised_queries():
    assert len(PACK) >= 14
    assert REQUIRED_QUERIES <= set(PACK)


def test_every_file_in_the_directory_is_a_loaded_query():
    files = sorted(p.stem for p in QUERIES.glob("*.cypher"))
    assert files == sorted(PACK)
    assert not [p for p in QUERIES.iterdir() if p.suffix not in (".cypher", ".md")], "stray files in queries/"


def test_default_directory_is_the_repository_pack():
    assert set(load_pack()) == set(PACK)


@pytest.mark.parametrize("name", sorted(PACK))
def test_query_metadata_is_complete(name):
    query = PACK[name]
    assert query.name == query.path.stem == name
    assert query.title and len(query.title) <= 80 and "\n" not in query.title
    assert len(query.description) >= 40
    assert query.returns and len(set(query.returns)) == len(query.returns)
    assert query.tags, "every query is tagged"
    examples = {p.name: p.example for p in query.params}
    for param in query.params:
        assert param.type in PARAM_TYPES
        assert param.doc and param.example != ""
    bind(query, examples)  # every example is a valid value
    required = {p.name: p.example for p in query.params if p.required}
    assert set(bind(query, required)) == set(examples)  # defaults fill the rest


@pytest.mark.parametrize("name", sorted(PACK))
def test_declared_parameters_are_exactly_those_used(name):
    query = PACK[name]
    assert parameters_used(query.cypher) == {p.name for p in query.params}


@pytest.mark.parametrize("name", sorted(PACK))
def test_query_is_read_only_by_static_check(name):
    assert write_clauses(PACK[name].cypher) == []


@pytest.mark.parametrize("name", sorted(PACK))
def test_returns_header_matches_the_final_return(name):
    """The columns of the last RETURN, in order, are the declared `returns` (the server test checks it too)."""
    columns = final_return_columns(strip_literals(PACK[name].cypher))
    assert columns == PACK[name].returns


# One row per TYPE of the header format (querypack/pack.py's docstring: "TYPE is one of str, int, float,
# bool, list[str]; in LO..HI bounds an int or float (inclusive) ... DEFAULT and VALUE are written as on
# the command line: lists comma-separated, booleans true/false"). Each row: the declaration after
# "p: ", the example, (given, bound) pairs, the default bound when p is not given, and refused values with
# the message bind() must give. Values arrive as command-line text (--param) or already typed (the API).
TYPED_BINDS = [
    ("str", 'str = ""', "acct_1",
     [("acct_1", "acct_1"), ("two words", "two words"), ("42", "42"), ("", "")],  # a digit string stays a string
     "",
     [(42, "parameter 'p' must be str, not 42"), (None, "parameter 'p' must be str, not None")]),
    ("int", "int in -5..100 = 20", "3",
     [("7", 7), (" -5 ", -5), ("+100", 100), (12, 12)],  # both bounds are inclusive
     20,
     [("7.0", "parameter 'p' must be an integer, not '7.0'"), ("seven", "parameter 'p' must be an integer, not 'seven'"),
      ("101", "parameter 'p' must be between -5 and 100, not 101"), ("-6", "parameter 'p' must be between -5 and 100, not -6"),
      (101, "parameter 'p' must be between -5 and 100, not 101"), (True, "parameter 'p' must be int, not True"),
      (7.0, "parameter 'p' must be int, not 7.0")]),
    ("float", "float in 0..2.5 = 0.5", "0.1",
     [("0.25", 0.25), ("1", 1.0), ("1e-1", 0.1), ("2.5", 2.5), (0, 0.0), (2, 2.0)],  # whole numbers become floats
     0.5,
     [("half", "parameter 'p' must be a number, not 'half'"), ("inf", "parameter 'p' must be a finite number, not 'inf'"),
      ("2.51", "parameter 'p' must be between 0 and 2.5, not 2.51"), (-1, "parameter 'p' must be between 0 and 2.5, not -1.0"),
      (False, "parameter 'p' must be float, not False")]),
    ("bool", "bool = true", "false",
     [("false", False), ("No", False), ("OFF", False), ("0", False), ("true", True), (" yes ", True), ("On", True),
      ("1", True), (False, False)],
     True,
     [("2", "parameter 'p' must be true or false, not '2'"), ("", "parameter 'p' must be true or false, not ''"),
      (1, "parameter 'p' must be bool, not 1")]),
    ("list[str]", "list[str] = ip,payment", "ip",
     [("card, ip ,,subnet", ["card", "ip", "subnet"]), ("one", ["one"]), ("", []), (["a b", "c"], ["a b", "c"])],
     ["ip", "payment"],
     [(["a", 1], "parameter 'p' must be a list of strings, not ['a', 1]"), (5, "parameter 'p' must be list[str], not 5")]),
]


def one_param_query(declaration: str, example: str) -> object:
    return parse(f"// name: one\n// title: One\n// description: One parameter.\n"
                 f"// param: p: {declaration} — the value (example: {example})\n// returns: p\nRETURN $p AS p\n", "one")


def test_every_parameter_type_has_a_bind_case():
    """A type added to the format must come with its conversions in TYPED_BINDS below."""
    assert [row[0] for row in TYPED_BINDS] == list(PARAM_TYPES)


@pytest.mark.parametrize("type_, declaration, example, accepted, default, refused", TYPED_BINDS,
                         ids=[row[0] for row in TYPED_BINDS])
def test_bind_converts_each_parameter_type(type_, declaration, example, accepted, default, refused):
    query = one_param_query(declaration, example)
    (param,) = query.params
    assert param.type == type_ and not param.required
    for given, expected in accepted:
        bound = bind(query, {"p": given})
        # the type matters as much as the value: 1 == 1.0 == True in Python, but not to Cypher
        assert bound == {"p": expected} and type(bound["p"]) is type(expected), (given, bound)
    defaulted = bind(query, {})
    assert defaulted == {"p": default} and type(defaulted["p"]) is type(default)
    for given, message in refused:
        with pytest.raises(InputError, match=re.escape(f"query 'one': {message}")) as caught:
            bind(query, {"p": given})
        assert caught.value.exit_code == ExitCode.BAD_INPUT
    required = one_param_query(declaration.split(" =")[0], example)
    assert required.params[0].required
    assert bind(required, {"p": example})["p"] == bind(query, {"p": example})["p"]
    with pytest.raises(InputError, match=re.escape(f"query 'one' needs --param p=VALUE ({type_}: the value; e.g. p={example})")):
        bind(required, {})


# --- the header parser ---------------------------------------------------------------------------

def test_parser_reads_a_full_header():
    query = parse(GOOD)
    assert query.name == "sample"
    assert query.description == "Something useful that continues here."
    assert query.returns == ["a", "b"] and query.tags == ["demo", "test"]
    assert [p.name for p in query.params] == ["limit", "who", "kinds", "strict", "score"]
    limit, who, kinds, strict, score = query.params
    assert (limit.type, limit.default, limit.required, limit.minimum, limit.maximum) == ("int", 10, False, 1, 50)
    assert who.required and who.example == "acct_1" and who.doc == "an account"
    assert kinds.default == ["ip", "payment"]
    assert strict.default is False
    assert score.default is None and not score.required
    assert query.cypher.endswith("LIMIT $limit")  # trailing semicolon dropped


@pytest.mark.parametrize(
    "change, message",
    [
        (("// tags: demo, test\n", "// tags: demo, test\n// author: me\n"), "unknown header key 'author'"),
        (("// title: A sample\n", "// titel: A sample\n"), "did you mean 'title'"),
        (("int in 1..50 = 10", "integer = 10"), "malformed param"),
        (("int in 1..50 = 10", "dict = 10"), "malformed param"),
        (("// name: sample\n", ""), "lacks name"),
        (("// returns: a, b\n", ""), "lacks returns"),
        (("// title: A sample\n", ""), "lacks title"),
        (("// name: sample\n", "// name: other\n"), "differs from the file name"),
        (("// name: sample\n", "// name: Sample_Query\n"), "kebab-case"),
        (("(example: 5)", ""), "malformed param"),
        (("(example: 5)", "(example: five)"), "must be an integer"),
        (("(example: 5)", "(example: 99)"), "between 1 and 50"),
        (("= 10 —", "= ten —"), "must be an integer"),
        (("bool = false", "bool = maybe"), "must be true or false"),
        (("int in 1..50", "str in 1..50"), "needs an int or float"),
        (("int in 1..50", "int in 50..1"), "empty range"),
        (("// returns: a, b\n", "// returns: a, b\n// returns: c\n"), "given twice"),
        (("// returns: a, b\n", "// returns: a, a\n"), "repeated item"),
        (("// returns: a, b\n", "// returns: a b\n"), "malformed returns"),
        (("// tags: demo, test\n", "// tags: Demo Tag\n"), "malformed tags"),
        (("// tags: demo, test\n", "// tags: demo\n//   continued\n"), "continuation line outside a description"),
        (("// tags: demo, test\n", "// tags: demo, test\n//tags: x\n"), "malformed header line"),
        (("// tags: demo, test\n", "// tags:\n"), "has no value"),
        (("$who", "$whom"), "undeclared parameter"),
        (("OR a.score >= $score", ""), "not used in the Cypher"),
        (("RETURN a.account_id", "SET a.x = 1 RETURN a.account_id"), "read-only"),
        (("RETURN a.account_id AS a, 1 AS b LIMIT $limit;", ""), "no Cypher"),
    ],
)
def test_parser_refuses_malformed_headers(change, message):
    old, new = change
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    if message == "no Cypher":
        text = text.split("MATCH")[0]
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(text)


def test_duplicate_param_is_refused():
    text = GOOD.replace("// param: who:", "// param: limit: int — again (example: 1)\n// param: who:")
    with pytest.raises(ConfigError, match="declared twice"):
        parse(text)


def test_load_pack_refuses_a_bad_file_and_names_it(tmp_path):
    (tmp_path / "sample.cypher").write_text(GOOD)
    (tmp_path / "broken.cypher").write_text(GOOD.replace("// name: sample", "// name: broken").replace("// title: A sample\n", ""))
    with pytest.raises(ConfigError, match=r"broken\.cypher.*lacks title"):
        load_pack(tmp_path)
    (tmp_path / "broken.cypher").unlink()
    assert list(load_pack(tmp_path)) == ["sample"]


def test_load_pack_refuses_a_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_pack(tmp_path / "nowhere")


def test_load_pack_honours_the_environment(tmp_path, monkeypatch):
    (tmp_path / "sample.cypher").write_text(GOOD)
    monkeypatch.setenv("GRAPHLINKER_QUERIES", str(tmp_path))
    assert list(load_pack()) == ["sample"]


# --- static checks ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "cypher",
    [
        "CREATE (n:X)",
        "MATCH (n) SET n.x = 1",
        "MATCH (n) DETACH DELETE n",
        "MATCH (n) DELETE n",
        "MERGE (n:X {a: 1})",
        "MATCH (n) REMOVE n.x",
        "DROP INDEX x",
        "LOAD CSV FROM 'file:///x' AS row RETURN row",
        "load  csv with headers from $url AS row RETURN row",
        "MATCH (n) CALL (n) { WITH n RETURN n } IN TRANSACTIONS RETURN 1",
        "MATCH (n) FOREACH (x IN [1] | SET n.y = x)",
        "CALL db.labels()",
        "CALL apoc.create.node(['X'], {})",
    ],
)
def test_write_clauses_are_found(cypher):
    assert write_clauses(cypher)


@pytest.mark.parametrize(
    "cypher",
    [
        "MATCH (n) WHERE n.name = 'CREATE (x)' RETURN n",
        'MATCH (n) WHERE n.note = "SET it; DELETE it" RETURN n',
        "MATCH (n) // we never DELETE here\nRETURN n",
        "MATCH (n) /* MERGE nothing */ RETURN n.`set` AS `delete`",
        "MATCH (r:Run) WHERE r.started_at > datetime() RETURN r.settings, r.created_at AS created",
        "MATCH (n) RETURN {set: 1, delete: 2} AS m",
        "MATCH (n) WHERE n.name STARTS WITH 'x' RETURN COUNT { (n)--() } AS c, COLLECT { MATCH (n)--(m) RETURN m } AS ms",
        "CALL { MATCH (n) RETURN n } RETURN n",
        "MATCH (n:Create)-[:MERGE]->(m:Delete) RETURN n",
        "MATCH (n) CALL (n) { MATCH (n)--(m) RETURN m } RETURN m",
    ],
)
def test_read_queries_pass_the_static_check(cypher):
    assert write_clauses(cypher) == []


def test_parameters_are_found_outside_strings_only():
    text = "MATCH (a {id: $id}) WHERE a.note <> '$notaparam' // $comment\nRETURN $limit, $`odd name`"
    assert parameters_used(text) == {"id", "limit", "odd name"}


def test_strip_literals_keeps_positions():
    text = "RETURN 'a\\'b' AS `x y`, \"q\" // c\n/* d */ 1"
    stripped = strip_literals(text)
    assert len(stripped) == len(text)
    assert "a" not in stripped.split("AS")[0].replace("RETURN", "")


# --- resolve --------------------------------------------------------------------------------------

def test_resolve_finds_a_query():
    assert resolve("riskiest-clusters", PACK).name == "riskiest-clusters"


@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "queries/riskiest-clusters", "..", ".hidden", "a\\b", "/abs"])
def test_resolve_refuses_paths(name):
    with pytest.raises(InputError, match="not a query name"):
        resolve(name, PACK)


def test_resolve_refuses_file_names():
    with pytest.raises(InputError, match="give the query name 'riskiest-clusters'"):
        resolve("riskiest-clusters.cypher", PACK)


def test_resolve_suggests_close_names():
    with pytest.raises(InputError, match="unknown query 'riskiest-cluster'.*did you mean 'riskiest-clusters'"):
        resolve("riskiest-cluster", PACK)
    with pytest.raises(InputError, match="unknown query 'zzz'; see `graphlinker query list`"):
        resolve("zzz", PACK)


# --- bind -------------------------------------------------------------------------------------------

SAMPLE = parse(GOOD)


def test_bind_converts_declared_types_and_fills_defaults():
    assert bind(SAMPLE, {"who": "acct_9"}) == {"limit": 10, "who": "acct_9", "kinds": ["ip", "payment"], "strict": False, "score": None}
    bound = bind(SAMPLE, {"who": "x", "limit": "7", "kinds": " ip, subnet ,,", "strict": "YES", "score": "0.25"})
    assert bound == {"limit": 7, "who": "x", "kinds": ["ip", "subnet"], "strict": True, "score": 0.25}
    assert bind(SAMPLE, {"who": "x", "kinds": ""})["kinds"] == []
    assert bind(SAMPLE, {"who": "x", "strict": "0"})["strict"] is False


def test_bind_defaults_are_not_shared_between_calls():
    first = bind(SAMPLE, {"who": "x"})
    first["kinds"].append("mutated")
    assert bind(SAMPLE, {"who": "x"})["kinds"] == ["ip", "payment"]


def test_bind_accepts_already_typed_values():
    assert bind(SAMPLE, {"who": "x", "limit": 3, "score": 1, "kinds": ["a"], "strict": True})["score"] == 1.0


@pytest.mark.parametrize(
    "raw, message",
    [
        ({}, "needs --param who=VALUE"),
        ({"who": "x", "whom": "y"}, "no parameter 'whom'; did you mean 'who'"),
        ({"who": "x", "nothing_like_it": "1"}, "no parameter 'nothing_like_it'; it takes limit, who"),
        ({"who": "x", "limit": "ten"}, "'limit' must be an integer"),
        ({"who": "x", "limit": "1.5"}, "'limit' must be an integer"),
        ({"who": "x", "limit": "0"}, "between 1 and 50"),
        ({"who": "x", "limit": "51"}, "between 1 and 50"),
        ({"who": "x", "score": "high"}, "'score' must be a number"),
        ({"who": "x", "score": "nan"}, "finite number"),
        ({"who": "x", "score": "1.5"}, "between 0 and 1"),
        ({"who": "x", "strict": "maybe"}, "'strict' must be true or false"),
        ({"who": "x", "limit": True}, "'limit' must be int"),
        ({"who": None}, "'who' must be str"),
    ],
)
def test_bind_refuses_bad_values(raw, message):
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        bind(SAMPLE, raw)
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_query_without_params_refuses_any():
    runs = PACK["runs"]
    with pytest.raises(InputError, match="no parameter 'x'"):
        bind(runs, {"x": "1"})


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    assert parse_assignments(["a=1", "b=[1, 2]", "c=x", "d=null", "e=\"s\""], parse_json=True) == {
        "a": 1, "b": [1, 2], "c": "x", "d": None, "e": "s"}
    with pytest.raises(InputError, match="key=value"):
        parse_assignments(["novalue"])
    with pytest.raises(InputError, match="given twice"):
        parse_assignments(["a=1", "a=2"])


# --- the CLI without a server -------------------------------------------------------------------------

def test_cli_list_json_and_table():
    from graphlinker.cli.query import query_app

    runner = CliRunner()
    result = runner.invoke(query_app, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [q["name"] for q in listed] == sorted(PACK)
    assert all(set(q) >= {"name", "title", "description", "params", "returns", "tags"} for q in listed)
    table = runner.invoke(query_app, ["list"])
    assert table.exit_code == 0 and "riskiest-clusters" in table.stdout


def test_cli_show_prints_the_cypher():
    from graphlinker.cli.query import query_app

    result = CliRunner().invoke(query_app, ["show", "riskiest-clusters"])
    assert result.exit_code == 0
    assert PACK["riskiest-clusters"].cypher in result.stdout


def test_cli_errors_are_one_line_with_exit_code(monkeypatch):
    from graphlinker.cli.query import query_app

    runner = CliRunner()
    for args, code in (
        (["run", "../etc/passwd"], ExitCode.BAD_INPUT),
        (["run", "riskiest-cluster"], ExitCode.BAD_INPUT),
        (["run", "cluster-members"], ExitCode.BAD_INPUT),  # missing required param, caught before connecting
        (["run", "riskiest-clusters", "--param", "limit=many"], ExitCode.BAD_INPUT),
        (["run", "riskiest-clusters", "--param", "nolimit"], ExitCode.BAD_INPUT),
        (["run", "riskiest-clusters", "--format", "xml"], ExitCode.BAD_INPUT),
    ):
        result = runner.invoke(query_app, args)
        assert result.exit_code == code, (args, result.output)
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "error" in result.stderr


def test_cli_unreachable_store_exits_5(monkeypatch):
    from graphlinker.cli.query import query_app

    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.setenv("NEO4J_PASSWORD", "")
    result = CliRunner().invoke(query_app, ["run", "riskiest-clusters"])
    assert result.exit_code == ExitCode.STORE_UNAVAILABLE, result.output
    assert result.stdout == "" and "cannot reach Neo4j" in result.stderr
