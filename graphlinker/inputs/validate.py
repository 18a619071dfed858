"""Per-kind validation of one raw chunk: normalised contract columns plus one reason per bad row.

Driven entirely by the column specs in schema.py, so every kind follows the same rules.
A row gets the first reason found, checking columns in contract order and, within a
column, "missing" before "malformed" (e.g. ``missing_ts`` before ``bad_timestamp:ts``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import parsers
from .schema import IP, LOWER, PROMPT, TIMESTAMP_COL, TOKENS, UPPER, KindSpec


def validate(
    spec: KindSpec, raw: pd.DataFrame, max_prompt_chars: int, ip_cache: dict | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (frame with exactly the contract columns and dtypes, reasons: object array, None = good row).

    ``raw`` holds canonical column names; a column it lacks is taken as all-missing.
    ``ip_cache`` memoises IP canonicalisation across the chunks of one file.
    """
    n = len(raw)
    index = pd.RangeIndex(n)
    raw = raw.set_axis(index, axis=0)
    checks: list[tuple[np.ndarray, str]] = []
    columns: dict[str, pd.Series] = {}
    for column in spec.columns:
        values = raw[column.name] if column.name in raw.columns else pd.Series([None] * n, index=index, dtype=object)
        if column.type == TIMESTAMP_COL:
            out, bad = parsers.parse_timestamp(values)
            formats = [(bad, f"bad_timestamp:{column.name}")]
        elif column.type == IP:
            out, bad = parsers.parse_ip(values, ip_cache)
            formats = [(bad, "invalid_ip")]
        elif column.type == TOKENS:
            out, bad, negative = parsers.parse_tokens(values)
            formats = [(bad, "bad_tokens"), (negative, "negative_tokens")]
        elif column.type == PROMPT:
            out = parsers.clean_prompt(values)
            formats = [(parsers.text_length(out) > max_prompt_chars, "prompt_too_long")]
        else:
            case = "lower" if column.type == LOWER else "upper" if column.type == UPPER else None
            out = parsers.clean_text(values, case)
            formats = []
        if column.missing_reason:
            missing = out.isna().to_numpy(dtype=bool, copy=True)
            for mask, _ in formats:
                missing &= ~mask
            checks.append((missing, column.missing_reason))
        checks.extend(formats)
        columns[column.name] = out.astype(column.dtype)
    reasons = np.full(n, None, dtype=object)
    for mask, reason in checks:
        reasons[mask & (reasons == None)] = reason  # noqa: E711 - elementwise comparison
    return pd.DataFrame(columns, index=index), reasons
