"""One report object, several renderings: rich table, JSON, CSV, Markdown (HTML: :mod:`graphlinker.report.html`).

The JSON form is a contract other tools parse (documented in the README):
``{"run_id", "generated_at", "clusters": [{"cluster_id", "size", "risk_score",
"flagged", "accounts", "reasons": [{"code", "detail", "weight"}], "evidence"}]}``,
every cluster of two or more accounts, most risky first. Extra top-level keys
(``summary``, ``hubs``) may be added; existing keys never change meaning.

The tabular views of a report (:func:`clusters_frame`, :func:`evidence_frame`) and of the run
history (:func:`runs_frame`) are built here once: the Python API (:mod:`graphlinker.api`) returns
them and ``--format parquet`` writes them (:func:`write_parquet`), so both give the same table.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.table import Table

from graphlinker.analysis.verdicts import verdict_label
from graphlinker.errors import InputError

if TYPE_CHECKING:  # pandas and pyarrow are imported where a table is built, not by every command
    import pandas as pd
    import pyarrow as pa

FORMATS = ("table", "json", "csv", "markdown", "parquet")
BINARY_FORMATS = ("parquet",)  # written only to -o/--output FILE, never to stdout
PAGE_FORMATS = ("html",)  # a self-contained page read from the store (graphlinker.report.html): also only to -o FILE

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value) -> str:
    """A CSV cell a spreadsheet shows as text, never runs: a leading ``'`` before a formula trigger (OWASP).

    Account ids, identifier values and template exemplars come from the export, so a value such as
    ``=HYPERLINK(...)`` must not reach an analyst's spreadsheet as a formula. Every CSV the tool writes
    for people (report, templates, query results) passes its text cells through here.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def select_clusters(report: dict, min_risk: float = 0.0, top: int | None = None, flagged_only: bool = False) -> dict:
    """A copy of ``report`` keeping clusters at or above ``min_risk`` (first ``top`` of them)."""
    clusters = [c for c in report["clusters"] if c["risk_score"] >= min_risk and (c["flagged"] or not flagged_only)]
    return {**report, "clusters": clusters[:top] if top is not None else clusters}


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def render_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cluster_id", "size", "risk_score", "flagged", "reason_codes", "accounts", "verdict"])
    for c in report["clusters"]:
        writer.writerow(
            [spreadsheet_safe(c["cluster_id"]), c["size"], f"{c['risk_score']:.4f}", str(c["flagged"]).lower(),
             spreadsheet_safe(";".join(r["code"] for r in c["reasons"])), spreadsheet_safe(";".join(c["accounts"])),
             spreadsheet_safe(verdict_label(c))]
        )
    return out.getvalue()


# one word per condition of the flag rule a cluster misses (evidence.not_flagged_because), for the tables
GATE_WORDS = {"too_small": "size", "below_threshold": "risk", "sharing_carries_it": "sharing only",
              "too_few_behaviours": "behaviours", "no_content_signal": "content", "below_model_threshold": "model"}


def flag_label(cluster: dict, sep: str = " ") -> str:
    """``yes``; ``no``; or, for a near miss that one condition of the flag rule holds back, ``no (behaviours)``:
    the clusters an analyst triaging below the flag looks at first (all of them: ``not_flagged_because``)."""
    if cluster["flagged"]:
        return "yes"
    gates = (cluster.get("evidence") or {}).get("not_flagged_because") or []
    return f"no{sep}({GATE_WORDS.get(gates[0]['gate'], gates[0]['gate'])})" if len(gates) == 1 else "no"


def render_markdown(report: dict) -> str:
    lines = [f"# graphlinker report `{report['run_id']}`", "", f"Generated {report['generated_at']}.", ""]
    lines += ["| cluster | size | risk | flagged | top reasons | verdict |", "|---|---:|---:|:---:|---|---|"]
    for c in report["clusters"]:
        reasons = "; ".join(r["detail"] for r in c["reasons"][:3]).replace("|", "\\|")
        verdict = verdict_label(c).replace("|", "\\|")
        lines.append(f"| `{c['cluster_id']}` | {c['size']} | {c['risk_score']:.2f} | {flag_label(c)} | {reasons} | {verdict} |")
    return "\n".join(lines) + "\n"


def render_table(report: dict, console: Console) -> None:
    summary = report.get("summary", {})
    table = Table(title=f"Clusters of run {report['run_id']}", caption=_caption(summary, len(report["clusters"])))
    table.add_column("cluster")
    table.add_column("size", justify="right")
    table.add_column("risk", justify="right")
    table.add_column("flagged", justify="center")
    table.add_column("top reasons")
    table.add_column("verdict")
    for c in report["clusters"]:
        reasons = "\n".join(f"{r['code']} (+{r['weight']:.2f})" for r in c["reasons"][:3])
        style = "bold red" if c["flagged"] else None
        table.add_row(c["cluster_id"], str(c["size"]), f"{c['risk_score']:.2f}", flag_label(c, "\n"), reasons,
                      verdict_label(c), style=style)
    console.print(table)


def _caption(summary: dict, shown: int) -> str:
    if not summary:
        return f"{shown} clusters shown"
    return (
        f"{shown} of {summary.get('clusters', shown)} clusters shown; {summary.get('flagged_clusters', 0)} flagged "
        f"({summary.get('flagged_accounts', 0)} accounts); {summary.get('accounts', 0)} accounts, {summary.get('hubs', 0)} popular identifiers discounted as hubs"
    )


def render(report: dict, fmt: str, console: Console) -> None:
    """Print ``report`` to ``console`` (stdout) in ``fmt`` (a text format; parquet: :func:`write_parquet`)."""
    if fmt in BINARY_FORMATS:
        raise InputError(f"--format {fmt} writes a binary file: pass -o/--output FILE")
    if fmt in PAGE_FORMATS:
        raise InputError(f"--format {fmt} writes a page from the store: use `graphlinker report --format {fmt} -o FILE`")
    if fmt == "table":
        render_table(report, console)
        return
    text = {"json": render_json, "csv": render_csv, "markdown": render_markdown}[fmt](report)
    console.file.write(text if text.endswith("\n") else text + "\n")


# --- tables: the report, its evidence and the run history as DataFrames (API and --format parquet) ---

CLUSTER_COLUMNS = ["cluster_id", "size", "risk_score", "flagged", "reason_codes", "requests", "output_tokens", "links", "accounts",
                   "verdict", "not_flagged_because"]
EVIDENCE_COLUMNS = ["cluster_id", "section", "kind", "value", "number", "accounts", "requests", "extraction_tags", "detail"]
RUN_COLUMNS = ["run_id", "command", "started_at", "finished_at", "duration_s", "outcome", "inputs", "input_files", "new_rows"]


def clusters_frame(report: dict) -> pd.DataFrame:
    """One row per cluster of ``report``, in its order (most risky first).

    ``cluster_id, size, risk_score, flagged`` as in the JSON report; ``reason_codes`` (list of codes,
    strongest first), ``requests`` and ``output_tokens`` (the members' totals), ``links`` (account links
    inside the cluster), ``accounts`` (sorted member ids, a list), ``verdict`` (the analyst's, or <NA>) and
    ``not_flagged_because`` (the gate codes of ``evidence.not_flagged_because``, a list; empty when flagged):
    ``clusters[clusters["not_flagged_because"].map(len) == 1]`` are the near misses one condition holds back.
    """
    import pandas as pd

    rows = []
    for c in report["clusters"]:
        evidence = c.get("evidence") or {}
        rows.append({
            "cluster_id": str(c["cluster_id"]),
            "size": int(c["size"]),
            "risk_score": float(c["risk_score"]),
            "flagged": bool(c["flagged"]),
            "reason_codes": [str(r["code"]) for r in c["reasons"]],
            "requests": int(evidence.get("requests", 0) or 0),
            "output_tokens": int(evidence.get("output_tokens", 0) or 0),
            "links": int((evidence.get("links") or {}).get("edges", 0) or 0),
            "accounts": [str(a) for a in c["accounts"]],
            "verdict": (c.get("verdict") or {}).get("verdict"),
            "not_flagged_because": [str(g["gate"]) for g in evidence.get("not_flagged_because") or []],
        })
    frame = pd.DataFrame(rows, columns=CLUSTER_COLUMNS)
    return frame.astype({"cluster_id": "string", "size": "int64", "risk_score": "float64", "flagged": "bool",
                         "requests": "int64", "output_tokens": "int64", "links": "int64", "verdict": "string"})


def evidence_frame(report: dict, cluster_id: str | None = None) -> pd.DataFrame:
    """The reasons and evidence of each cluster (or of ``cluster_id`` only), one row per item, long form.

    ============ ======================================= ============================================
    section      kind                                    other columns
    ============ ======================================= ============================================
    reason       reason code                             number: its weight; detail: the sentence
    feature      feature name (``extraction_share`` …)   number: its value
    volume       ``requests``, ``output_tokens``         number: the members' total
    links        ``all`` or a signal (``payment`` …)     number: links inside the cluster with it
    identifier   identifier kind (``payment``, ``ip`` …) value: the identifier; accounts: members using it
    template     ``template``                            value: template id; accounts, requests,
                                                         extraction_tags (list); detail: redacted exemplar
    created      ``first``, ``last``                     value: ISO time the members' accounts were created
    not_flagged  a condition of the flag rule not met    detail: why (``too_few_behaviours`` …)
    other        an evidence key added later             value: its JSON
    ============ ======================================= ============================================

    Only what the report holds: the top shared identifiers and templates, redacted exemplars, never prompts.
    """
    import pandas as pd

    rows: list[dict] = []
    for c in report["clusters"]:
        cid = str(c["cluster_id"])
        if cluster_id is not None and cid != cluster_id:
            continue

        def add(section: str, kind: str, cid: str = cid, **values) -> None:
            rows.append({"cluster_id": cid, "section": section, "kind": str(kind), **values})

        for reason in c["reasons"]:
            add("reason", reason["code"], number=float(reason["weight"]), detail=str(reason["detail"]))
        for key, value in (c.get("evidence") or {}).items():
            if key == "features":
                for name, number in value.items():
                    add("feature", name, number=None if number is None else float(number))
            elif key in ("requests", "output_tokens"):
                add("volume", key, number=float(value))
            elif key == "links":
                add("links", "all", number=float(value.get("edges", 0)))
                for signal, number in (value.get("by_signal") or {}).items():
                    add("links", signal, number=float(number))
            elif key == "shared_identifiers":
                for kind, items in value.items():
                    for item in items:
                        add("identifier", kind, value=str(item["value"]), accounts=int(item["accounts"]))
            elif key == "templates":
                for t in value:
                    add("template", "template", value=str(t["template_id"]), accounts=int(t["accounts"]),
                        requests=int(t["requests"]), extraction_tags=[str(x) for x in t.get("extraction_tags", [])],
                        detail=str(t.get("exemplar", "")))
            elif key == "created":
                for end, when in (value or {}).items():
                    add("created", end, value=None if when is None else str(when))
            elif key == "not_flagged_because":
                for gate in value:
                    add("not_flagged", gate["gate"], detail=str(gate["detail"]))
            else:
                add("other", key, value=json.dumps(value, ensure_ascii=False, default=str))
    frame = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    frame["extraction_tags"] = pd.Series([v if isinstance(v, list) else None for v in frame["extraction_tags"]], dtype=object)
    return frame.astype({"cluster_id": "string", "section": "string", "kind": "string", "value": "string",
                         "number": "float64", "accounts": "Int64", "requests": "Int64", "detail": "string"})


def runs_frame(records: list[dict]) -> pd.DataFrame:
    """The run history, oldest first: one row per run record (its settings left out).

    ``run_id, command, started_at, finished_at`` (UTC), ``duration_s, outcome``, ``inputs`` (file names, a
    list), ``input_files``, ``new_rows``, then the run's counts (``accounts``, ``requests``, ``clusters``,
    ``flagged_clusters`` …; missing in older runs: <NA>).
    """
    import pandas as pd

    rows, count_keys = [], []
    for r in records:
        inputs = r.get("inputs") or []
        counts = r.get("counts") or {}
        count_keys += [k for k in counts if k not in count_keys and k not in RUN_COLUMNS]
        rows.append({
            "run_id": str(r["run_id"]),
            "command": str(r.get("command", "run")),
            "started_at": r.get("started_at"),
            "finished_at": r.get("finished_at"),
            "duration_s": float(r.get("duration_s", 0.0) or 0.0),
            "outcome": str(r.get("outcome", "")),
            "inputs": [str(i.get("name", "")) for i in inputs],
            "input_files": len(inputs),
            "new_rows": sum(int(i.get("new_rows", 0) or 0) for i in inputs),
            **{k: v for k, v in counts.items() if k not in RUN_COLUMNS},
        })
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS + count_keys)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame.astype({"run_id": "string", "command": "string", "outcome": "string", "duration_s": "float64",
                         "input_files": "int64", "new_rows": "int64", **{k: "Int64" for k in count_keys}})


def to_arrow(frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> pa.Table:
    """``frame`` as an Arrow table (list columns become Arrow lists); ``metadata`` is added to its schema.

    A column Arrow cannot type (mixed values, nested maps of a Cypher result) is stored as JSON text.
    """
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        frame = frame.copy()
        for column in frame.columns:
            try:
                pa.array(frame[column], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                frame[column] = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in frame[column]]
        table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):  # lists that are empty in every row (no cluster held back): lists of text
        if pa.types.is_list(field.type) and pa.types.is_null(field.type.value_type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.list_(pa.string())))
    if metadata:
        extra = {f"graphlinker.{k}".encode(): str(v).encode() for k, v in metadata.items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    return table


def check_output(fmt: str, output: Path | None) -> None:
    """Refuse, before any work, a binary format without ``-o FILE`` and an ``-o`` whose directory is missing."""
    if fmt in BINARY_FORMATS and output is None:
        raise InputError(f"--format {fmt} writes a binary file, not text for a terminal or a pipe: pass -o/--output FILE")
    if fmt in PAGE_FORMATS and output is None:
        raise InputError(f"--format {fmt} writes a self-contained page to open in a browser, not text for a terminal "
                         "or a pipe: pass -o/--output FILE")
    if output is not None:
        if str(output) == "-":
            raise InputError("-o/--output takes a file name; leave it out to write text to stdout")
        parent = Path(output).parent
        if not parent.is_dir():
            raise InputError(f"cannot write {output}: directory {parent} does not exist")


@contextmanager
def output_stream(output: Path | None) -> Iterator[TextIO]:
    """stdout, or ``output`` written whole or not at all (a temporary file renamed when the text is complete)."""
    if output is None:
        yield sys.stdout
        return
    output = Path(output)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                yield handle
            os.replace(tmp, output)
        except OSError as exc:
            _output_failed(exc, output)
    finally:
        tmp.unlink(missing_ok=True)


def output_console(output: Path | None):
    """A rich console for ``output`` (see :func:`output_stream`), used as a context manager."""

    @contextmanager
    def console() -> Iterator[Console]:
        with output_stream(output) as stream:
            wide = stream is sys.stdout and sys.stdout.isatty()
            yield Console(file=stream, width=None if wide else 160)

    return console()


def write_parquet(frame: pd.DataFrame, output: Path, metadata: dict[str, str] | None = None) -> None:
    """Write ``frame`` to the Parquet file ``output`` (whole or not at all), with ``metadata`` in its schema."""
    import pyarrow.parquet as pq

    output = Path(output)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(to_arrow(frame, metadata), tmp)
        os.replace(tmp, output)
    except OSError as exc:
        _output_failed(exc, output)
    finally:
        tmp.unlink(missing_ok=True)


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _output_failed(exc: OSError, output: Path) -> None:
    """A full or read-only disk stays an OSError (the CLI makes it exit 5); anything else is the option's (exit 2)."""
    if exc.errno in _DISK_ERRNOS:
        raise exc
    raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
