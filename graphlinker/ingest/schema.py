"""The input contract as data: which columns each input kind has, and how each is checked.

Keeping the contract in one table (not spread through the readers) means the header
check, the per-row validation, the output dtypes and the docs all agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = ("accounts", "payments", "requests", "identifiers")

# File suffixes an input may use, longest first so ``.csv.gz`` wins over ``.gz``.
SUFFIXES = (".csv.gz", ".jsonl.gz", ".parquet", ".jsonl", ".csv")

# Output dtypes (docs/CONTRACTS.md). Strings use pandas' default ``str`` dtype (pyarrow-backed,
# missing = NaN) so frames built by other stages with plain constructors compare equal.
STR = pd.StringDtype("pyarrow", na_value=np.nan)
TIMESTAMP = pd.DatetimeTZDtype("ns", "UTC")
INT = pd.Int64Dtype()

# Column types: how a raw value becomes a contract value.
TEXT = "text"  # stripped; empty -> NA
LOWER = "lower"  # stripped, lower-cased
UPPER = "upper"  # stripped, upper-cased
PROMPT = "prompt"  # raw text kept verbatim (not stripped); empty -> NA; length-capped
TIMESTAMP_COL = "timestamp"  # ISO 8601 or epoch seconds -> UTC
IP = "ip"  # canonical compressed address
TOKENS = "tokens"  # integer >= 0

# A text value longer than this (characters) is quarantined as ``field_too_long:<column>``; prompts have their
# own limit (``[inputs] max_prompt_chars``, reason ``prompt_too_long``). No real id, code or user agent comes close.
MAX_TEXT_CHARS = 8192

# A timestamp given as a number (typed, or bare digits in text) is epoch seconds, accepted only from 2000-01-01
# up to 2100-01-01 UTC: anything else is almost always another unit (milliseconds, days, an Excel serial, yyyymmdd)
# that would otherwise land silently near 1970 or far in the future.
EPOCH_RANGE = (946_684_800.0, 4_102_444_800.0)

DTYPES = {
    TEXT: STR,
    LOWER: STR,
    UPPER: STR,
    PROMPT: STR,
    TIMESTAMP_COL: TIMESTAMP,
    IP: STR,
    TOKENS: INT,
}


@dataclass(frozen=True)
class Column:
    """One contract column.

    ``required``: the header must name it (else the run stops with InputError).
    ``missing_reason``: a row without a value is quarantined with this reason.
    ``free_text``: a text column read as written (user agents); every other text column is an identifier
    or a code, where invisible characters are quarantined and surrounding whitespace is stripped and counted.
    """

    name: str
    type: str = TEXT
    required: bool = False
    missing_reason: str | None = None
    free_text: bool = False

    @property
    def identifier(self) -> bool:
        """An id or code column: checked for hidden characters, whitespace normalisation counted."""
        return self.type in (TEXT, LOWER, UPPER) and not self.free_text

    @property
    def dtype(self):
        return DTYPES[self.type]


@dataclass(frozen=True)
class KindSpec:
    """The contract of one input kind (one file)."""

    kind: str
    file_required: bool
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame with the contract columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in self.columns})


_ACCOUNT_ID = Column("account_id", TEXT, required=True, missing_reason="missing_account_id")

SPECS: dict[str, KindSpec] = {
    "accounts": KindSpec(
        "accounts",
        True,
        (
            _ACCOUNT_ID,
            Column("created_at", TIMESTAMP_COL),
            Column("email_domain", LOWER),
            Column("country", UPPER),
            Column("org_id", TEXT),
        ),
    ),
    "payments": KindSpec(
        "payments",
        True,
        (
            _ACCOUNT_ID,
            Column("payment_fingerprint", TEXT, required=True, missing_reason="missing_payment_fingerprint"),
            Column("card_bin", TEXT),
            Column("billing_country", UPPER),
            Column("added_at", TIMESTAMP_COL),
        ),
    ),
    "requests": KindSpec(
        "requests",
        True,
        (
            _ACCOUNT_ID,
            Column("ts", TIMESTAMP_COL, required=True, missing_reason="missing_ts"),
            Column("ip", IP),
            Column("user_agent", TEXT, free_text=True),
            Column("model", TEXT),
            Column("prompt", PROMPT),
            Column("input_tokens", TOKENS),
            Column("output_tokens", TOKENS),
        ),
    ),
    # The file is optional, but when present a row is useless without account, kind and value,
    # so those columns are required in its header.
    "identifiers": KindSpec(
        "identifiers",
        False,
        (
            _ACCOUNT_ID,
            Column("kind", LOWER, required=True, missing_reason="missing_identifier"),
            Column("value", TEXT, required=True, missing_reason="missing_identifier"),
            Column("seen_at", TIMESTAMP_COL),
        ),
    ),
}


def normalise_name(name: str) -> str:
    """Header names match case-insensitively, ignoring surrounding whitespace and a UTF-8 BOM."""
    return str(name).lstrip("\ufeff").strip().lower()
