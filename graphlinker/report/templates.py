"""`graphlinker templates`: the template table as an analyst reads it (table, JSON or CSV).

The JSON form lists every account that sent each template, so an alerting
pipeline can go from "this rare reasoning-harvest template" to the accounts
without a second query.  Only redacted exemplars are shown; a template's
exemplar is empty when redaction would have left the raw prompt.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
from rich.console import Console
from rich.table import Table

from graphlinker.errors import InputError
from graphlinker.report.render import BINARY_FORMATS, spreadsheet_safe

TEMPLATE_FORMATS = ("table", "json", "csv", "parquet")
CSV_COLUMNS = ["template_id", "prompt_count", "account_count", "first_seen", "last_seen", "extraction_tags", "exemplar"]


def select_templates(templates: pd.DataFrame, top: int | None = None, tag: str | None = None, min_accounts: int = 1) -> pd.DataFrame:
    """Templates sent by at least ``min_accounts`` accounts (and carrying ``tag``), largest first, first ``top``."""
    keep = templates["account_count"] >= min_accounts
    if tag:
        keep &= templates["extraction_tags"].str.split(";").map(lambda tags: tag in tags)
    chosen = templates[keep]
    return chosen.head(top) if top is not None else chosen


def accounts_per_template(template_usage: pd.DataFrame, template_ids) -> dict[str, list[str]]:
    """Sorted account ids of each template in ``template_ids``."""
    wanted = template_usage[template_usage["value"].isin(set(template_ids))]
    return {t: sorted(a) for t, a in wanted.groupby("value", sort=False)["account_id"]}


def templates_frame(templates: pd.DataFrame, accounts: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The template table as the API and ``--format parquet`` give it: the CSV's columns, tags as a list.

    ``template_id, prompt_count, account_count, first_seen, last_seen`` (UTC), ``extraction_tags`` (list),
    ``exemplar`` (redacted; empty when redaction would have left the prompt), and with ``accounts`` an
    ``accounts`` column (sorted ids of every account that sent the template). No signature, no prompt.
    """
    frame = templates.reindex(columns=CSV_COLUMNS).reset_index(drop=True)
    frame["extraction_tags"] = [[t for t in str(x).split(";") if t] if not pd.isna(x) else [] for x in frame["extraction_tags"]]
    frame = frame.astype({"template_id": "string", "exemplar": "string", "prompt_count": "int64", "account_count": "int64"})
    for column in ("first_seen", "last_seen"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    if accounts is not None:
        frame["accounts"] = [list(accounts.get(t, [])) for t in frame["template_id"]]
    return frame


def _time(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat().replace("+00:00", "Z")


def render_templates(templates: pd.DataFrame, fmt: str, console: Console, accounts: dict[str, list[str]] | None = None) -> None:
    """Write ``templates`` to ``console`` as ``fmt`` (``accounts`` is needed for JSON; parquet: :func:`templates_frame`)."""
    if fmt in BINARY_FORMATS:
        raise InputError(f"--format {fmt} writes a binary file: pass -o/--output FILE")
    if fmt == "json":
        rows = [
            {
                "template_id": row.template_id,
                "prompt_count": int(row.prompt_count),
                "account_count": int(row.account_count),
                "first_seen": _time(row.first_seen),
                "last_seen": _time(row.last_seen),
                "extraction_tags": [t for t in str(row.extraction_tags).split(";") if t],
                "exemplar": row.exemplar,
                "accounts": (accounts or {}).get(row.template_id, []),
            }
            for row in templates.itertuples(index=False)
        ]
        console.file.write(json.dumps({"templates": rows}, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in templates.itertuples(index=False):
            writer.writerow([spreadsheet_safe(row.template_id), int(row.prompt_count), int(row.account_count),
                             _time(row.first_seen) or "", _time(row.last_seen) or "", spreadsheet_safe(row.extraction_tags),
                             spreadsheet_safe(row.exemplar)])
        console.file.write(out.getvalue())
    else:
        table = Table(title=f"{len(templates)} templates, largest first")
        for column in ("template", "prompts", "accounts", "first seen", "last seen", "tags", "redacted exemplar"):
            table.add_column(column, overflow="fold")
        for row in templates.itertuples(index=False):
            table.add_row(row.template_id, f"{row.prompt_count:,}", f"{row.account_count:,}", _time(row.first_seen) or "",
                          _time(row.last_seen) or "", str(row.extraction_tags).replace(";", " "), row.exemplar[:120])
        console.print(table)
