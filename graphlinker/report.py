"""One report object, several renderings: rich table, JSON, CSV, Markdown.

The JSON form is a contract other tools parse (documented in the README):
``{"run_id", "generated_at", "clusters": [{"cluster_id", "size", "risk_score",
"flagged", "accounts", "reasons": [{"code", "detail", "weight"}], "evidence"}]}``,
every cluster of two or more accounts, most risky first. Extra top-level keys
(``summary``, ``hubs``) may be added; existing keys never change meaning.
"""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv", "markdown")

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
    writer.writerow(["cluster_id", "size", "risk_score", "flagged", "reason_codes", "accounts"])
    for c in report["clusters"]:
        writer.writerow(
            [spreadsheet_safe(c["cluster_id"]), c["size"], f"{c['risk_score']:.4f}", str(c["flagged"]).lower(),
             spreadsheet_safe(";".join(r["code"] for r in c["reasons"])), spreadsheet_safe(";".join(c["accounts"]))]
        )
    return out.getvalue()


def render_markdown(report: dict) -> str:
    lines = [f"# graphlinker report `{report['run_id']}`", "", f"Generated {report['generated_at']}.", ""]
    lines += ["| cluster | size | risk | flagged | top reasons |", "|---|---:|---:|:---:|---|"]
    for c in report["clusters"]:
        reasons = "; ".join(r["detail"] for r in c["reasons"][:3]).replace("|", "\\|")
        lines.append(f"| `{c['cluster_id']}` | {c['size']} | {c['risk_score']:.2f} | {'yes' if c['flagged'] else 'no'} | {reasons} |")
    return "\n".join(lines) + "\n"


def render_table(report: dict, console: Console) -> None:
    summary = report.get("summary", {})
    table = Table(title=f"Clusters of run {report['run_id']}", caption=_caption(summary, len(report["clusters"])))
    table.add_column("cluster")
    table.add_column("size", justify="right")
    table.add_column("risk", justify="right")
    table.add_column("flagged", justify="center")
    table.add_column("top reasons")
    for c in report["clusters"]:
        reasons = "\n".join(f"{r['code']} (+{r['weight']:.2f})" for r in c["reasons"][:3])
        style = "bold red" if c["flagged"] else None
        table.add_row(c["cluster_id"], str(c["size"]), f"{c['risk_score']:.2f}", "yes" if c["flagged"] else "no", reasons, style=style)
    console.print(table)


def _caption(summary: dict, shown: int) -> str:
    if not summary:
        return f"{shown} clusters shown"
    return (
        f"{shown} of {summary.get('clusters', shown)} clusters shown; {summary.get('flagged_clusters', 0)} flagged "
        f"({summary.get('flagged_accounts', 0)} accounts); {summary.get('accounts', 0)} accounts, {summary.get('hubs', 0)} popular identifiers discounted as hubs"
    )


def render(report: dict, fmt: str, console: Console) -> None:
    """Print ``report`` to ``console`` (stdout) in ``fmt``."""
    if fmt == "table":
        render_table(report, console)
        return
    text = {"json": render_json, "csv": render_csv, "markdown": render_markdown}[fmt](report)
    console.file.write(text if text.endswith("\n") else text + "\n")
