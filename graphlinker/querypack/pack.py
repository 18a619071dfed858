"""The analyst Cypher pack: curated read-only queries over the Neo4j graph, one file per query.

Like BloodHound's query library, every query is a file with structured metadata
that CI checks (it parses, its metadata is valid, its parameters match the Cypher,
it cannot write, and it returns the expected rows on fixture data), so analysts
can trust a query by its name. Queries live in ``graphlinker/querypack/queries/NAME.cypher``,
package data that an installed wheel carries (``$GRAPHLINKER_QUERIES`` points elsewhere).

Header format
-------------
A query file starts with a header of ``//`` comment lines, then the Cypher::

    // name: riskiest-clusters
    // title: Riskiest clusters of the latest run
    // description: Clusters of the latest run, most risky first (ties: larger first).
    //   A description may continue on lines indented by two or more spaces.
    // param: limit: int in 1..1000 = 20 — how many clusters (example: 10)
    // param: flagged_only: bool = false — only flagged clusters (example: true)
    // returns: cluster_id, size, risk_score, flagged, reason_codes
    // tags: clusters, triage
    MATCH (run:Run {latest: true}) ...

Rules (anything else is a :class:`~graphlinker.errors.ConfigError` naming the file and line):

- The header is every ``//`` line at the top of the file; it ends at the first other line.
  Each header line is ``// key: value``, a bare ``//`` (ignored), or a continuation line
  (``//`` followed by at least two spaces), which is allowed only after ``description``.
- Keys: ``name`` (required; lower-case kebab-case, equal to the file stem and unique),
  ``title`` (required, one line), ``description`` (required), ``returns`` (required;
  comma-separated column names, exactly the columns the query returns, in order),
  ``tags`` (optional; comma-separated lower-case words), ``param`` (zero or more).
  Each key but ``param`` appears at most once.
- ``param: NAME: TYPE [in LO..HI] [= DEFAULT] — DOC (example: VALUE)``. TYPE is one of
  ``str``, ``int``, ``float``, ``bool``, ``list[str]``; ``in LO..HI`` bounds an int or
  float (inclusive). Without ``= DEFAULT`` the parameter is required. DEFAULT and VALUE
  are written as on the command line (``--param NAME=VALUE``): lists comma-separated,
  booleans ``true``/``false``; the default ``null`` passes Cypher ``null`` (meaning "any"
  or "the latest run" as the description says), ``""`` is the empty string. The separator
  before DOC is an em dash ``—`` or `` -- ``. Every parameter needs an example, which
  must itself be a valid value.
- The Cypher uses every declared parameter as ``$NAME`` and no undeclared one; user values
  are never formatted into Cypher text. It contains no write clause (``CREATE``, ``MERGE``,
  ``SET``, ``DELETE``, ``REMOVE``, ``DROP``, ``FOREACH``, ``LOAD CSV``, ``IN TRANSACTIONS``,
  procedure ``CALL``s ...) outside strings and comments; and it runs in a READ transaction,
  so the server refuses writes regardless. The only procedures it may ``CALL`` are the read-only
  ones of :data:`PACK_PROCEDURES` (GDS streaming algorithms and ``gds.graph.drop``, APOC's path
  expanders and ``apoc.algo.cover``); a query that projects a GDS graph (``gds.graph.project``)
  must drop it (``CALL gds.graph.drop``) before it returns, and sets the algorithm's concurrency.

Running a query (``graphlinker query run`` and ``graphlinker cypher``)
--------------------------------------------------------------------------
:func:`run_cypher` is an analyst's tool, not an open door to the server. Before a query runs:

1. a statement-level check on the text (no server needed) refuses ``LOAD CSV`` and the
   administration commands (``SHOW USERS|ROLES|PRIVILEGES|DATABASES|SERVERS|TRANSACTIONS|SETTINGS``,
   ``TERMINATE TRANSACTIONS``, ``CREATE|DROP|ALTER|RENAME|GRANT|DENY|REVOKE|START|STOP ...``);
2. the server plans it with ``EXPLAIN`` (nothing runs) and graphlinker reads that plan: any
   ``LoadCSV`` operator, administration or transaction/settings command operator, a procedure
   of a refused namespace (``dbms.*``, ``db.clearQueryCaches``, APOC's load/import/export/
   cypher/periodic ...), or a query type other than ``r`` (read) is refused;
3. the query runs in a READ transaction with a transaction timeout
   (:data:`DEFAULT_QUERY_TIMEOUT`, ``--timeout SECONDS``), which the server enforces.

A refusal or a timeout is an :class:`~graphlinker.errors.InputError` (exit 2, one line).
The managed server (``graphlinker neo4j start``) is also configured so that ``LOAD CSV``
cannot read files or reach any host (:mod:`graphlinker.devserver.server`).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from graphlinker.errors import ConfigError, InputError, StoreUnavailable
from graphlinker.settings.environment import value as env_value
from graphlinker.store.failures import from_neo4j, one_line, redact

PARAM_TYPES = ("str", "int", "float", "bool", "list[str]")
HEADER_KEYS = ("name", "title", "description", "param", "returns", "tags")
REQUIRED_KEYS = ("name", "title", "description", "returns")
QUERIES_ENV = "GRAPHLINKER_QUERIES"
PACK_RESOURCE = "queries"  # package data of graphlinker.querypack: one NAME.cypher per query
# Seconds an analyst query may run before the server stops it (``--timeout``; 0 = no limit).
# Meant to become the setting ``[query] timeout_seconds`` once settings carry it.
DEFAULT_QUERY_TIMEOUT = 60.0
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")

NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PARAM_NAME = r"[a-z_][a-z0-9_]*"
_NUMBER = r"-?\d+(?:\.\d+)?"
_PARAM_RE = re.compile(
    rf"^(?P<name>{_PARAM_NAME})\s*:\s*(?P<type>list\[str\]|str|int|float|bool)"
    rf"(?:\s+in\s+(?P<lo>{_NUMBER})\.\.(?P<hi>{_NUMBER}))?"
    r"(?:\s*=\s*(?P<default>.*?))?"
    r"\s+(?:—|--)\s+(?P<doc>.+?)\s*\(example:\s*(?P<example>[^()]*?)\s*\)$"
)
_HEADER_LINE = re.compile(r"^// (?P<key>[a-z]+):(?:[ \t]+(?P<value>.*))?$")
_COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class Param:
    """One declared query parameter; ``default`` is already converted (``None`` = Cypher null)."""

    name: str
    type: str
    default: Any
    example: str
    doc: str
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        bounds = f" in {_fmt_bound(self.minimum)}..{_fmt_bound(self.maximum)}" if self.minimum is not None else ""
        default = "" if self.required else f" = {format_value(self.default)}"
        return f"{self.name}: {self.type}{bounds}{default}"


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    description: str
    params: list[Param]
    returns: list[str]
    tags: list[str]
    cypher: str
    path: Path

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                    "example": p.example,
                    "doc": p.doc,
                }
                for p in self.params
            ],
            "returns": list(self.returns),
            "tags": list(self.tags),
            "path": str(self.path),
        }


def _fmt_bound(value: float | None) -> str:
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def format_value(value: Any) -> str:
    """A value as it would be written on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    if value == "":
        return '""'
    return str(value)


def cypher_literal(value: Any) -> str:
    """A parameter value as a Cypher literal (for Neo4j Browser's ``:param name => literal``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no Cypher literal")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    raise ValueError(f"{value!r} has no Cypher literal")


def browser_favourite(query: Query) -> str:
    """One query as a Neo4j Browser favourite: a title line, ``:param`` lines, then the Cypher.

    Browser names a favourite by its first comment line and runs the whole text in its
    multi-statement editor, so the ``:param`` lines (a required parameter's example, else its
    default) set the parameters the Cypher reads; the analyst edits them before running it.
    """
    lines = [f"// {query.title}", f"// graphlinker query {query.name}: {query.description}"]
    for param in query.params:
        note = "required, an example" if param.required else "the default"
        lines.append(f"// {param.name}: {param.type}, {param.doc} ({note}; edit it)")
    lines += [f":param {p.name} => {cypher_literal(convert(p.type, p.example, p.name) if p.required else p.default)};"
              for p in query.params]
    lines.append(query.cypher + ";")
    return "\n".join(lines) + "\n"


# --- static checks over Cypher text ----------------------------------------------------------

def strip_literals(cypher: str) -> str:
    """The Cypher with string literals, backticked names and comments blanked out (same length)."""
    out = []
    i, n = 0, len(cypher)
    while i < n:
        ch = cypher[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n and cypher[j] != ch:
                j += 2 if cypher[j] == "\\" and ch != "`" else 1
            j = min(j + 1, n)
            out.append(ch + " " * max(j - i - 2, 0) + (ch if j - i >= 2 else ""))
            i = j
        elif cypher.startswith("//", i):
            j = cypher.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif cypher.startswith("/*", i):
            j = cypher.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(c if c == "\n" else " " for c in cypher[i:j]))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# Procedures a pack query may CALL: they only read the graph. GDS's streaming algorithms run on an
# in-memory graph the query projects itself (the gds.graph.project aggregation function) and drops
# with gds.graph.drop before it returns (parse_query checks that it does); APOC's path expanders
# and cover read. Every other CALL of a procedure is refused in a pack file.
PACK_PROCEDURES = r"gds\.(?:\w+\.)+stream|gds\.graph\.drop|apoc\.path\.\w+|apoc\.algo\.cover"
_WRITE_RE = re.compile(
    r"(?<![.$:\w])(?:CREATE|MERGE|SET|DELETE|DETACH|REMOVE|DROP|FOREACH|ALTER|GRANT|DENY|REVOKE|RENAME"
    r"|LOAD\s+CSV|IN\s+TRANSACTIONS|USING\s+PERIODIC\s+COMMIT|TERMINATE|ENABLE|DEALLOCATE|REALLOCATE)(?!\w)(?!\s*:)"
    rf"|(?<![.$:\w])CALL\s+(?!(?:{PACK_PROCEDURES})\s*\()(?=[A-Za-z_`])",
    re.IGNORECASE,
)
_PROJECT_RE = re.compile(r"(?<![\w$.])gds\.graph\.project(?:\.\w+)*\s*\(", re.IGNORECASE)
_DROP_RE = re.compile(r"(?<![.$:\w])CALL\s+gds\.graph\.drop\s*\(", re.IGNORECASE)
_PARAM_USE_RE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|`([^`]*)`)")


def write_clauses(cypher: str) -> list[str]:
    """Write (or procedure) clauses found outside strings and comments; empty for a read-only query.

    A ``CALL`` of a procedure counts, except of the read-only ones of :data:`PACK_PROCEDURES`.
    """
    return [" ".join(m.group(0).split()).upper() for m in _WRITE_RE.finditer(strip_literals(cypher))]


def leaves_projection(cypher: str) -> bool:
    """Whether the Cypher projects a GDS in-memory graph (``gds.graph.project``) but never drops one."""
    text = strip_literals(cypher)
    return bool(_PROJECT_RE.search(text)) and not _DROP_RE.search(text)


def parameters_used(cypher: str) -> set[str]:
    """Names of ``$parameters`` the Cypher refers to (outside strings and comments)."""
    text = strip_literals(cypher)
    # backticked parameter names were blanked by strip_literals; read them from the original text
    names = set()
    for match in _PARAM_USE_RE.finditer(text):
        if match.group(1):
            names.add(match.group(1))
        else:
            names.add(_PARAM_USE_RE.match(cypher, match.start()).group(2))
    return names


# --- what an analyst query may do ----------------------------------------------------------------

# SHOW commands that only describe the schema and the callable procedures/functions; every other
# SHOW (USERS, ROLES, PRIVILEGES, DATABASES, SERVERS, TRANSACTIONS, SETTINGS, ALIASES, ...) is refused.
_ALLOWED_SHOW = {"INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS", "PROCEDURE", "PROCEDURES", "FUNCTION", "FUNCTIONS"}
_SHOW_ENDS = {"YIELD", "WHERE", "RETURN", "EXECUTABLE"}
# Leading keywords of schema commands (writes) and of administration commands, by the word that follows.
_SCHEMA_OBJECTS = {"INDEX", "CONSTRAINT", "RANGE", "TEXT", "POINT", "LOOKUP", "FULLTEXT", "VECTOR", "BTREE"}
_ADMIN_FIRST = {"TERMINATE", "GRANT", "DENY", "REVOKE", "ALTER", "RENAME", "START", "STOP", "ENABLE",
                "DEALLOCATE", "REALLOCATE", "DRYRUN"}
_ADMIN_CREATE_DROP = {"USER", "ROLE", "ROLES", "DATABASE", "ALIAS", "COMPOSITE", "OR", "SERVER"}
# The statement prefix: CYPHER options, EXPLAIN/PROFILE, and a USE clause.
_PREFIX_RE = re.compile(
    r"\s*(?:CYPHER(?:\s+(?:\d+(?:\.\d+)?|[A-Za-z_][\w.]*\s*=\s*[\w.]+))*\s+)?"
    r"(?:(?P<mode>EXPLAIN|PROFILE)\s+)?"
    r"(?:USE\s+(?:`[^`]*`|[\w.]+)\s+)?",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[A-Za-z_]\w*")
_LOAD_CSV_RE = re.compile(r"(?<![.$:\w])LOAD\s+CSV(?!\w)", re.IGNORECASE)
# Procedures (and functions) that reach files, URLs or the DBMS, run other Cypher, or change
# server state: refused by name whatever mode the server gives them.
DENIED_PROCEDURES = (
    "dbms.",
    "db.clearQueryCaches",
    "db.checkpoint",
    "db.prepareForReplanning",
    "db.resample",
    "db.create",
    "tx.",
    "apoc.load.",
    "apoc.import.",
    "apoc.export.",
    "apoc.cypher.",
    "apoc.periodic.",
    "apoc.systemdb.",
    "apoc.trigger.",
    "apoc.custom.",
    "apoc.config.",
    "apoc.log.",
    "apoc.util.sleep",
    "gds.graph.export",
)
_CALLABLE_RE = re.compile(r"(?<![\w$])((?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*)\s*\(")
# Plan operators (Neo4j 5 names, before the "@database" suffix) that are commands, not reads.
_ALLOWED_SHOW_OPERATORS = {"ShowIndexes", "ShowConstraints", "ShowProcedures", "ShowFunctions"}
_READ_ONLY_HINT = "analyst queries only read the graph"


class QueryRefused(InputError):
    """An analyst query asked for something other than reading the graph (exit 2)."""


def _refuse_admin(what: str) -> QueryRefused:
    return QueryRefused(f"administration commands are not allowed ({what}): {_READ_ONLY_HINT}")


def _refuse_url() -> QueryRefused:
    return QueryRefused(f"LOAD CSV is not allowed (it makes the server read files and URLs): {_READ_ONLY_HINT}")


def _denied_callable(name: str) -> str | None:
    lowered = name.lower()
    return next((d for d in DENIED_PROCEDURES if lowered.startswith(d.lower())), None)


def check_statement(cypher: str) -> None:
    """Refuse LOAD CSV, administration commands and refused procedures from the text alone (QueryRefused).

    A first line of defence that needs no server; :func:`check_plan` is the one that cannot be
    talked around, because it reads the server's own plan of the query.
    """
    text = strip_literals(cypher)
    if _LOAD_CSV_RE.search(text):
        raise _refuse_url()
    for match in _CALLABLE_RE.finditer(text):
        if _denied_callable(match.group(1)):
            raise QueryRefused(f"procedure or function {match.group(1)} is not allowed: {_READ_ONLY_HINT}")
    prefix = _PREFIX_RE.match(text)
    words = [w.upper() for w in _WORD_RE.findall(text[prefix.end():])[:8]] if prefix else []
    if not words:
        return
    first, rest = words[0], words[1:]
    if first == "SHOW":
        subject = []
        for word in rest:
            if word in _SHOW_ENDS:
                break
            subject.append(word)
        if not subject or subject[-1] not in _ALLOWED_SHOW:
            raise _refuse_admin(" ".join(["SHOW", *subject]) or "SHOW")
    elif first in _ADMIN_FIRST:
        raise _refuse_admin(" ".join(words[:2]))
    elif first in ("CREATE", "DROP") and rest:
        if rest[0] in _SCHEMA_OBJECTS:
            raise QueryRefused(f"query tried to write: {first} {rest[0]} changes the schema; {_READ_ONLY_HINT}")
        if rest[0] in _ADMIN_CREATE_DROP:
            raise _refuse_admin(f"{first} {rest[0]}")


def _explain_text(cypher: str) -> str:
    """The query with EXPLAIN in front (or in place of PROFILE): planned by the server, never run."""
    prefix = _PREFIX_RE.match(strip_literals(cypher))
    if prefix and prefix.group("mode"):
        start, end = prefix.span("mode")
        return cypher[:start] + "EXPLAIN" + cypher[end:]
    return "EXPLAIN " + cypher


def _operators(plan: dict | None) -> list[tuple[str, str]]:
    """``(operator type, details)`` of every operator of a plan, root first."""
    if not plan:
        return []
    found = [(str(plan.get("operatorType", "")), str((plan.get("args") or {}).get("Details") or ""))]
    for child in plan.get("children") or []:
        found += _operators(child)
    return found


def check_plan(query_type: str | None, plan: dict | None) -> None:
    """Refuse a query from the server's EXPLAIN of it: its operators and its query type (QueryRefused).

    Neo4j reports the query type as ``r`` (read), ``rw`` (read and write), ``w`` (write) or
    ``s`` (schema/administration: index and user commands, and DBMS procedures such as
    ``dbms.listConfig`` and ``db.clearQueryCaches``). Transaction and settings commands
    (``SHOW TRANSACTIONS``, ``TERMINATE TRANSACTIONS``, ``SHOW SETTINGS``) are typed ``r``,
    so the operators are read too.
    """
    for operator, details in _operators(plan):
        name, _, database = operator.partition("@")
        if name == "LoadCSV":
            raise _refuse_url()
        if name == "AdministrationCommand" or database == "system":
            raise _refuse_admin("a command on the system database")
        if name.startswith(("Show", "Terminate")) and name not in _ALLOWED_SHOW_OPERATORS:
            raise _refuse_admin(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper())
        if name == "ProcedureCall":
            called = _CALLABLE_RE.match(details.strip())
            if called and _denied_callable(called.group(1)):
                raise QueryRefused(f"procedure {called.group(1)} is not allowed: {_READ_ONLY_HINT}")
    if query_type in ("w", "rw"):
        raise QueryRefused(f"query tried to write: the server plans it as a write (query type {query_type}); {_READ_ONLY_HINT}")
    if query_type == "s":
        raise _refuse_admin("the server plans it as a schema or administration command, query type s")


# --- parsing -----------------------------------------------------------------------------------

def convert(type_: str, text: str, what: str, minimum: float | None = None, maximum: float | None = None) -> Any:
    """Convert one command-line value to ``type_``; ``ValueError`` with a readable message when it is not one."""
    value: Any
    if type_ == "str":
        value = text
    elif type_ == "int":
        if not re.fullmatch(r"\s*[+-]?\d+\s*", text):
            raise ValueError(f"{what} must be an integer, not '{text}'")
        value = int(text)
    elif type_ == "float":
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what} must be a number, not '{text}'") from None
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, not '{text}'")
    elif type_ == "bool":
        lowered = text.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{what} must be true or false, not '{text}'")
        value = lowered in _TRUE
    elif type_ == "list[str]":
        value = [item.strip() for item in text.split(",") if item.strip()]
    else:  # pragma: no cover - types are checked when parsing
        raise ValueError(f"unknown type {type_}")
    if minimum is not None and (value < minimum or value > maximum):
        raise ValueError(f"{what} must be between {_fmt_bound(minimum)} and {_fmt_bound(maximum)}, not {text}")
    return value


def _parse_param(text: str, where: str) -> Param:
    match = _PARAM_RE.match(text.strip())
    if not match:
        raise ConfigError(
            f"{where}: malformed param '{text}' (expected 'NAME: TYPE [in LO..HI] [= DEFAULT] — DOC (example: VALUE)' "
            f"with TYPE one of {', '.join(PARAM_TYPES)})"
        )
    name, type_ = match["name"], match["type"]
    lo = hi = None
    if match["lo"] is not None:
        if type_ not in ("int", "float"):
            raise ConfigError(f"{where}: param '{name}': a range 'in LO..HI' needs an int or float")
        lo, hi = float(match["lo"]), float(match["hi"])
        if type_ == "int" and not (lo.is_integer() and hi.is_integer()):
            raise ConfigError(f"{where}: param '{name}': an int range needs whole bounds")
        if lo > hi:
            raise ConfigError(f"{where}: param '{name}': empty range {match['lo']}..{match['hi']}")
        if type_ == "int":
            lo, hi = int(lo), int(hi)
    try:
        example_text = match["example"]
        if example_text == "":
            raise ValueError(f"param '{name}' needs an example")
        convert(type_, example_text, f"example of '{name}'", lo, hi)
        default_text = match["default"]
        required = default_text is None
        if required:
            default = None
        elif default_text == "null":
            default = None
        elif default_text == '""':
            if type_ != "str":
                raise ValueError(f"default of '{name}': \"\" is only a str value")
            default = ""
        else:
            default = convert(type_, default_text, f"default of '{name}'", lo, hi)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return Param(name, type_, default, example_text, match["doc"], required, lo, hi)


def _split_list(value: str, pattern: re.Pattern, what: str, where: str) -> list[str]:
    items = [item.strip() for item in value.split(",")]
    if not items or any(not pattern.match(item) for item in items):
        raise ConfigError(f"{where}: malformed {what} '{value}'")
    if len(set(items)) != len(items):
        raise ConfigError(f"{where}: repeated item in {what} '{value}'")
    return items


def parse_query(text: str, path: Path) -> Query:
    """Parse one query file (header and Cypher); ConfigError on anything malformed."""
    lines = text.splitlines()
    fields: dict[str, Any] = {"param": []}
    last_key = None
    body_start = len(lines)
    for number, line in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        stripped = line.rstrip()
        if not stripped.startswith("//"):
            body_start = number - 1
            break
        if stripped == "//":
            last_key = None
            continue
        if re.match(r"^//  +\S", stripped):
            if last_key != "description":
                raise ConfigError(f"{where}: continuation line outside a description")
            fields["description"] += " " + stripped[2:].strip()
            continue
        match = _HEADER_LINE.match(stripped)
        if not match:
            raise ConfigError(f"{where}: malformed header line '{stripped}' (expected '// key: value')")
        key, value = match["key"], (match["value"] or "").strip()
        if key not in HEADER_KEYS:
            close = difflib.get_close_matches(key, HEADER_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown header key '{key}'{hint}; keys are {', '.join(HEADER_KEYS)}")
        if not value:
            raise ConfigError(f"{where}: header key '{key}' has no value")
        if key == "param":
            fields["param"].append(_parse_param(value, where))
        elif key in fields:
            raise ConfigError(f"{where}: header key '{key}' given twice")
        elif key == "returns":
            fields[key] = _split_list(value, _COLUMN_RE, "returns", where)
        elif key == "tags":
            fields[key] = _split_list(value, _TAG_RE, "tags", where)
        else:
            fields[key] = value
        last_key = key
    missing = [k for k in REQUIRED_KEYS if k not in fields]
    if missing:
        raise ConfigError(f"{path.name}: header lacks {', '.join(missing)}")
    name = fields["name"]
    if not NAME_RE.match(name):
        raise ConfigError(f"{path.name}: query name '{name}' must be lower-case kebab-case")
    if name != path.stem:
        raise ConfigError(f"{path.name}: query name '{name}' differs from the file name '{path.stem}'")
    seen = set()
    for param in fields["param"]:
        if param.name in seen:
            raise ConfigError(f"{path.name}: param '{param.name}' declared twice")
        seen.add(param.name)
    cypher = "\n".join(lines[body_start:]).strip()
    cypher = re.sub(r";\s*$", "", cypher).strip()
    if not cypher:
        raise ConfigError(f"{path.name}: no Cypher after the header")
    used = parameters_used(cypher)
    if used - seen:
        raise ConfigError(f"{path.name}: Cypher uses undeclared parameter(s) {', '.join(sorted('$' + u for u in used - seen))}")
    if seen - used:
        raise ConfigError(f"{path.name}: declared parameter(s) {', '.join(sorted(seen - used))} not used in the Cypher")
    writes = write_clauses(cypher)
    if writes:
        raise ConfigError(f"{path.name}: the pack is read-only, but the Cypher has {', '.join(sorted(set(writes)))}")
    if leaves_projection(cypher):
        raise ConfigError(f"{path.name}: the Cypher projects a GDS graph (gds.graph.project) but never drops it (CALL gds.graph.drop)")
    return Query(
        name=name,
        title=fields["title"],
        description=fields["description"],
        params=fields["param"],
        returns=fields["returns"],
        tags=fields.get("tags", []),
        cypher=cypher,
        path=path,
    )


def default_directory() -> Path:
    """``$GRAPHLINKER_QUERIES``, else the pack shipped as package data (``graphlinker/querypack/queries``)."""
    if configured := env_value(QUERIES_ENV):
        return Path(configured)
    return Path(str(resources.files("graphlinker.querypack").joinpath(PACK_RESOURCE)))


def load_pack(directory: Path | None = None) -> dict[str, Query]:
    """Every ``*.cypher`` query of the pack, by name (sorted); ConfigError if any file is malformed."""
    directory = Path(directory) if directory is not None else default_directory()
    if not directory.is_dir():
        raise ConfigError(f"query pack directory {directory} does not exist")
    pack: dict[str, Query] = {}
    for path in sorted(directory.glob("*.cypher")):
        try:
            text = path.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read query file {path}: {exc}") from None
        query = parse_query(text, path)
        if query.name in pack:
            raise ConfigError(f"{path.name}: query name '{query.name}' also used by {pack[query.name].path.name}")
        pack[query.name] = query
    return pack


def resolve(name: str, pack: dict[str, Query]) -> Query:
    """The query called ``name``; InputError for a path-like or unknown name (with close matches)."""
    if any(sep in name for sep in ("/", "\\", os.sep)) or ".." in name or name.startswith("."):
        raise InputError(f"'{name}' is not a query name: give a name from `graphlinker query list`, not a path")
    if name.endswith(".cypher"):
        raise InputError(f"'{name}' is a file name: give the query name '{name[:-len('.cypher')]}'")
    if name in pack:
        return pack[name]
    close = difflib.get_close_matches(name, list(pack), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; see `graphlinker query list`"
    raise InputError(f"unknown query '{name}'{hint}")


def bind(query: Query, raw: dict[str, Any]) -> dict[str, Any]:
    """Convert ``name -> value`` strings to the declared types, adding defaults; InputError on any mismatch."""
    declared = {p.name: p for p in query.params}
    unknown = [k for k in raw if k not in declared]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(declared), n=1)
        hint = f"did you mean '{close[0]}'?" if close else (
            f"it takes {', '.join(declared)}" if declared else "it takes no parameters"
        )
        raise InputError(f"query '{query.name}' has no parameter '{key}'; {hint}")
    bound: dict[str, Any] = {}
    for param in query.params:
        if param.name in raw:
            value = raw[param.name]
            try:
                bound[param.name] = _coerce(param, value)
            except ValueError as exc:
                raise InputError(f"query '{query.name}': {exc}") from None
        elif param.required:
            raise InputError(
                f"query '{query.name}' needs --param {param.name}=VALUE ({param.type}: {param.doc}; e.g. {param.name}={param.example})"
            )
        else:
            bound[param.name] = list(param.default) if isinstance(param.default, list) else param.default
    return bound


def _coerce(param: Param, value: Any) -> Any:
    what = f"parameter '{param.name}'"
    if isinstance(value, str):
        return convert(param.type, value, what, param.minimum, param.maximum)
    expected = {"str": str, "int": int, "float": (int, float), "bool": bool, "list[str]": list}[param.type]
    if value is None or not isinstance(value, expected) or (param.type in ("int", "float") and isinstance(value, bool)):
        raise ValueError(f"{what} must be {param.type}, not {value!r}")
    if param.type == "list[str]":
        if not all(isinstance(v, str) for v in value):
            raise ValueError(f"{what} must be a list of strings, not {value!r}")
        return list(value)
    if param.type == "float":
        value = float(value)
    if param.minimum is not None and not (param.minimum <= value <= param.maximum):
        raise ValueError(f"{what} must be between {_fmt_bound(param.minimum)} and {_fmt_bound(param.maximum)}, not {value}")
    return value


def parse_assignments(items: list[str] | None, parse_json: bool = False) -> dict[str, Any]:
    """``["key=value", ...]`` into a dict; values stay strings unless ``parse_json`` (then JSON when it parses)."""
    import json

    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(_PARAM_NAME, key, re.IGNORECASE):
            raise InputError(f"--param wants key=value, not '{item}'")
        if key in result:
            raise InputError(f"--param {key} given twice")
        if parse_json:
            try:
                value = json.loads(value)
            except ValueError:
                pass
        result[key] = value
    return result


# --- execution ---------------------------------------------------------------------------------

def to_jsonable(value: Any) -> Any:
    """Neo4j values (temporal, graph, spatial) as plain JSON-friendly Python values."""
    from neo4j import graph
    from neo4j import time as neo_time
    from neo4j.spatial import Point

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (neo_time.DateTime, neo_time.Date, neo_time.Time)):
        try:
            return value.to_native().isoformat()
        except (ValueError, OverflowError):
            return value.iso_format()
    if isinstance(value, neo_time.Duration):
        return value.iso_format()
    if isinstance(value, graph.Node):
        return {"element_id": value.element_id, "labels": sorted(value.labels), "properties": to_jsonable(dict(value))}
    if isinstance(value, graph.Relationship):
        return {
            "element_id": value.element_id,
            "type": value.type,
            "start": value.start_node.element_id if value.start_node is not None else None,
            "end": value.end_node.element_id if value.end_node is not None else None,
            "properties": to_jsonable(dict(value)),
        }
    if isinstance(value, graph.Path):
        return {"nodes": [to_jsonable(n) for n in value.nodes], "relationships": [to_jsonable(r) for r in value.relationships]}
    if isinstance(value, Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _driver(settings: dict):
    from neo4j import GraphDatabase

    uri = settings.get("uri")
    if not uri:
        raise ConfigError("no Neo4j URI: set NEO4J_URI or start the local server")
    password = settings.get("password")
    auth = (settings.get("user") or "neo4j", password) if password else None
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme not in BOLT_SCHEMES:
        raise ConfigError(f"bad Neo4j URI '{_safe_uri(uri)}': use one of {', '.join(s + '://' for s in BOLT_SCHEMES)}")
    try:
        # notifications (deprecations, unknown labels on an empty graph) would only clutter stderr
        return GraphDatabase.driver(
            uri, auth=auth, connection_timeout=15, connection_acquisition_timeout=30, notifications_min_severity="OFF"
        )
    except ValueError as exc:  # neo4j.exceptions.ConfigurationError is a ValueError too
        raise ConfigError(f"bad Neo4j URI '{_safe_uri(uri)}': {one_line(exc)}") from None


def run_cypher(
    driver_settings: dict, text: str, params: dict | None = None, timeout: float | None = None
) -> tuple[list[str], list[dict]]:
    """Run an analyst's Cypher read-only; returns (columns, rows as dicts).

    The query is checked first (:func:`check_statement`, then the server's EXPLAIN of it with
    :func:`check_plan`), then runs in a READ transaction (the server refuses writes) with a
    transaction timeout of ``timeout`` seconds (None: :data:`DEFAULT_QUERY_TIMEOUT`; 0: none).
    Refusals and timeouts are :class:`InputError` (exit 2); an unreachable server is
    :class:`StoreUnavailable` (exit 5).
    """
    from neo4j import READ_ACCESS
    from neo4j.exceptions import (
        CypherSyntaxError,
        DriverError,
        Neo4jError,
        ServiceUnavailable,
        SessionExpired,
    )

    timeout = DEFAULT_QUERY_TIMEOUT if timeout is None else float(timeout)
    if not math.isfinite(timeout) or timeout < 0:
        raise InputError(f"--timeout must be a number of seconds, 0 or more, not {timeout:g}")
    check_statement(text)
    uri = _safe_uri(driver_settings.get("uri"))
    tx_timeout = timeout if timeout > 0 else 0  # 0: the driver asks the server for no limit
    try:
        with _driver(driver_settings) as driver:
            with driver.session(database=driver_settings.get("database") or None, default_access_mode=READ_ACCESS) as session:
                with session.begin_transaction(timeout=tx_timeout) as tx:
                    summary = tx.run(_explain_text(text), params or {}).consume()
                    tx.rollback()
                check_plan(summary.query_type, summary.plan)
                with session.begin_transaction(timeout=tx_timeout) as tx:
                    result = tx.run(text, params or {})
                    columns = list(result.keys())
                    rows = [{key: to_jsonable(value) for key, value in zip(columns, record.values())} for record in result]
                    tx.rollback()  # nothing to keep: the query only read
        return columns, rows
    except (ServiceUnavailable, SessionExpired) as exc:
        raise StoreUnavailable(f"cannot reach Neo4j at {uri}: {one_line(exc)}") from None
    except CypherSyntaxError as exc:
        raise InputError(f"Cypher error: {one_line(exc)}") from None
    except Neo4jError as exc:
        code = exc.code or ""
        if code in TIMEOUT_CODES:
            raise InputError(
                f"query stopped by its {timeout:g} s timeout; narrow it (a WHERE, a LIMIT, no cartesian product) "
                "or pass --timeout SECONDS (0: no limit)"
            ) from None
        if code.endswith("AccessMode") or "read access mode" in one_line(exc).lower() or code.endswith("ForbiddenOnReadOnlyDatabase"):
            raise InputError(f"query tried to write: {one_line(exc)}") from None
        if code.startswith("Neo.ClientError.Database.DatabaseNotFound"):
            raise StoreUnavailable(f"Neo4j at {uri} has no database '{driver_settings.get('database')}'") from None
        # the rest by what the status code means: refused credentials, a transaction terminated on the
        # server or a server failure is the store's (5), a query over the memory limit the query's (2)
        raise from_neo4j(exc, uri) from None
    except DriverError as exc:  # anything else the driver reports: by what it means (failures.from_neo4j)
        raise from_neo4j(exc, uri) from None


def run_query(driver_settings: dict, query: Query, params: dict, timeout: float | None = None) -> tuple[list[str], list[dict]]:
    """Run one pack query with already-bound parameters (see :func:`bind`), checked like any Cypher."""
    return run_cypher(driver_settings, query.cypher, params, timeout=timeout)


# Server status codes of a transaction stopped by its timeout (the client's, or db.transaction.timeout).
TIMEOUT_CODES = (
    "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    "Neo.ClientError.Transaction.TransactionTimedOut",
)


def _safe_uri(uri: str | None) -> str | None:
    """The URI without a password in it (``bolt://user:***@host``)."""
    return redact(uri) if uri else uri

