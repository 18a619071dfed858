"""Per-kind validation of one raw chunk: normalised contract columns plus one reason per bad row.

Driven entirely by the column specs in schema.py, so every kind follows the same rules.
A row gets the first reason found, checking columns in contract order and, within a
column, "wrong type" before "missing" before "malformed" (e.g. ``missing_ts`` before
``bad_timestamp:ts``).

What each column accepts (typed formats — JSON Lines, Parquet — are checked by value type, not coerced):

- ids and codes (``account_id``, ``payment_fingerprint``, ``kind``, ``value``, ``org_id``, ``model``, ...):
  text, or a whole number (read as its decimal string); surrounding whitespace is stripped (and counted:
  ``Quarantine.normalised``); a control or invisible format character left inside (NUL, zero-width,
  bidi override/isolate, BOM) quarantines the row as ``invisible_character:<column>``;
- ``user_agent`` (free text) and ``prompt``: text or a number;
- timestamps: a timestamp or date, ISO 8601 text, or a number of epoch seconds within ``EPOCH_RANGE``;
- token counts: a whole number >= 0, typed or as text;
- anything else (booleans, objects, lists, fractional ids, a timestamp in a text column) is ``bad_type:<column>``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from graphlinker.ingest import parsers
from graphlinker.ingest.schema import EPOCH_RANGE, IP, LOWER, MAX_TEXT_CHARS, PROMPT, TIMESTAMP_COL, TOKENS, UPPER, KindSpec

_ACCEPTS = {TIMESTAMP_COL: parsers.ACCEPTS_TIME, TOKENS: parsers.ACCEPTS_NUMBER, IP: parsers.ACCEPTS_TEXT,
            PROMPT: parsers.ACCEPTS_TEXT}


def validate(
    spec: KindSpec, raw: pd.DataFrame, max_prompt_chars: int, ip_cache: dict | None = None,
    normalised: Counter | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (frame with exactly the contract columns and dtypes, reasons: object array, None = good row).

    ``raw`` holds canonical column names; a column it lacks is taken as all-missing.
    ``ip_cache`` memoises IP canonicalisation across the chunks of one file.
    ``normalised`` (column -> n) counts the good rows whose id had surrounding whitespace stripped.
    """
    n = len(raw)
    index = pd.RangeIndex(n)
    raw = raw.set_axis(index, axis=0)
    checks: list[tuple[np.ndarray, str]] = []
    columns: dict[str, pd.Series] = {}
    padded: dict[str, np.ndarray] = {}
    for column in spec.columns:
        values = raw[column.name] if column.name in raw.columns else pd.Series([None] * n, index=index, dtype=object)
        accepts = _ACCEPTS.get(column.type, parsers.ACCEPTS_TEXT if column.free_text else parsers.ACCEPTS_ID)
        wrong = parsers.wrong_type(values, accepts)
        if wrong.any():
            values = values.astype(object).where(~wrong, None)
        if column.type == TIMESTAMP_COL:
            out, bad = parsers.parse_timestamp(values, EPOCH_RANGE)
            formats = [(bad, f"bad_timestamp:{column.name}")]
        elif column.type == IP:
            out, bad = parsers.parse_ip(values, ip_cache)
            formats = [(bad, "invalid_ip")]
        elif column.type == TOKENS:
            out, bad, negative = parsers.parse_tokens(values)
            formats = [(bad, "bad_tokens"), (negative, "negative_tokens")]
        elif column.type == PROMPT:
            out = parsers.clean_prompt(values)
            formats = [(parsers.longer_than(out, max_prompt_chars), "prompt_too_long")]
        else:
            case = "lower" if column.type == LOWER else "upper" if column.type == UPPER else None
            if column.identifier:
                out, padded[column.name] = parsers.clean_identifier(values, case)
                formats = [(parsers.hidden_characters(out), f"invisible_character:{column.name}")]
            else:
                out = parsers.clean_text(values, case)
                formats = []
            formats.append((parsers.longer_than(out, MAX_TEXT_CHARS), f"field_too_long:{column.name}"))
        checks.append((wrong, f"bad_type:{column.name}"))
        if column.missing_reason:
            missing = out.isna().to_numpy(dtype=bool, copy=True) & ~wrong
            for mask, _ in formats:
                missing &= ~mask
            checks.append((missing, column.missing_reason))
        checks.extend(formats)
        columns[column.name] = out.astype(column.dtype)
    reasons = np.full(n, None, dtype=object)
    for mask, reason in checks:
        reasons[mask & (reasons == None)] = reason  # noqa: E711 - elementwise comparison
    if normalised is not None:
        good = reasons == None  # noqa: E711
        for name, mask in padded.items():
            count = int((mask & good).sum())
            if count:
                normalised[name] += count
    return pd.DataFrame(columns, index=index), reasons
