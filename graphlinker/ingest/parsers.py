"""Vectorised field parsers: raw column (any dtype, any format) -> contract column + bad-value mask.

Each parser accepts whatever a reader produced — text from CSV, typed values from
Parquet, a mix of both from JSON — so all formats end up with identical values. Work is
done on whole columns; the only Python-level loops run over *unique* IP strings and over
the rare values of mixed-type (object) columns.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import ipaddress
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from graphlinker.ingest.schema import INT, STR, TIMESTAMP

# A bare number is epoch seconds (so "2024" is 1970-01-01T00:33:44Z, not the year 2024).
_EPOCH_TEXT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
# Epoch seconds that fit datetime64[ns] (1677-09-21 .. 2262-04-11).
_EPOCH_LIMIT = 9.2e9
_TS_MIN = pd.Timestamp.min.tz_localize("UTC")
_TS_MAX = pd.Timestamp.max.tz_localize("UTC")
_INT_LIMIT = 2.0**63


def scalar_text(value) -> str | None:
    """Text of one value of a mixed (object) column, spelled as the typed paths spell it."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def column_text(raw: pd.Series) -> pd.Series:
    """Any column as ``str`` dtype, unstripped: 123, 123.0 and "123" all become "123"; a missing value stays
    missing (unlike :func:`graphlinker.templates.normalise.as_text`, where it becomes "": a prompt's empty text)."""
    dtype = raw.dtype
    if isinstance(dtype, pd.StringDtype):
        return raw.astype(STR)
    if ptypes.is_bool_dtype(dtype):
        return raw.map({True: "true", False: "false"}).astype(STR)
    if ptypes.is_integer_dtype(dtype):
        return raw.astype(INT).astype(STR)
    if ptypes.is_float_dtype(dtype):
        values = raw.astype("float64")
        integral = values.notna() & (values % 1 == 0) & (values.abs() < 2**53)
        text = values.map(repr).astype(STR).where(values.notna())
        return text.mask(integral, values.where(integral).astype(INT).astype(STR))
    if ptypes.is_datetime64_any_dtype(dtype):
        return raw.map(lambda t: t.isoformat() if not pd.isna(t) else None).astype(STR)
    return raw.map(scalar_text).astype(STR)


def clean_text(raw: pd.Series, case: str | None = None) -> pd.Series:
    """Strip surrounding whitespace, turn empty strings into NA, optionally fix the case."""
    return _finish_text(column_text(raw).str.strip(), case)


def _finish_text(stripped: pd.Series, case: str | None) -> pd.Series:
    text = stripped.where(stripped != "")
    if case == "lower":
        text = text.str.lower()
    elif case == "upper":
        text = text.str.upper()
    return text


def _arrow(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A text column's Arrow storage as it is (zero-copy: no cast to ``string``, no combining of chunks)."""
    return pa.array(text.astype(STR).array)


def clean_identifier(raw: pd.Series, case: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """``clean_text``, plus a mask of the values whose surrounding whitespace was stripped (and that stay present).

    The mask is what makes the normalisation visible: ``" acc-1"`` and ``"acc-1"`` become one account.
    """
    text = column_text(raw)
    stripped = text.str.strip()
    before, after = pc.binary_length(_arrow(text)), pc.binary_length(_arrow(stripped))
    padded = pc.fill_null(pc.and_(pc.less(after, before), pc.greater(after, 0)), False)
    return _finish_text(stripped, case), padded.to_numpy(zero_copy_only=False)


# Characters that cannot be seen or typed but make two ids differ (or reorder how one is displayed): C0 and C1
# controls (NUL, tab, newline, ...), and Unicode format characters (zero-width space/joiners, bidi embeddings,
# overrides and isolates, word joiner, BOM, soft hyphen, tag characters). RE2 syntax, run by Arrow.
HIDDEN_CHARACTERS = r"[\x00-\x1f\x7f-\x9f\p{Cf}]"


def hidden_characters(text: pd.Series) -> np.ndarray:
    """Mask of values holding a control or invisible format character (NA is not).

    Ids repeat all through a file, so the pattern runs once per distinct value.
    """
    if not len(text):
        return np.zeros(0, dtype=bool)
    arr = _arrow(text)
    distinct = pc.unique(arr)
    hidden = pc.filter(distinct, pc.fill_null(pc.match_substring_regex(distinct, HIDDEN_CHARACTERS), False))
    if not len(hidden):
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.is_in(arr, value_set=hidden), False).to_numpy(zero_copy_only=False)


# What a contract column accepts, by value type (see wrong_type).
ACCEPTS_ID = "id"  # text; whole numbers (their decimal spelling)
ACCEPTS_TEXT = "text"  # text; numbers
ACCEPTS_NUMBER = "number"  # numbers; text (parsed later)
ACCEPTS_TIME = "time"  # timestamps and dates; numbers (epoch seconds); text
_TIMES = (_dt.datetime, _dt.date, _dt.time, np.datetime64)
_DURATIONS = (_dt.timedelta, np.timedelta64)
_WHOLE_LIMIT = 2.0**53  # whole floats above this no longer spell the integer they stand for


def _bad_float(value: float, accepts: str) -> bool:
    if math.isnan(value) or accepts != ACCEPTS_ID:
        return False
    return not (math.isfinite(value) and value.is_integer() and abs(value) < _WHOLE_LIMIT)


def _bad_value(value, accepts: str) -> bool:
    """One value of a mixed (object) column: is its type one the column cannot take?"""
    if value is None or value is pd.NA or value is pd.NaT or isinstance(value, str):
        return False
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, (int, np.integer)):
        return False
    if isinstance(value, (float, np.floating)):
        return _bad_float(float(value), accepts)
    if isinstance(value, decimal.Decimal):
        return _bad_float(float(value), accepts) if value.is_finite() else True
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False
    if isinstance(value, _DURATIONS):
        return True
    if isinstance(value, _TIMES):
        return accepts != ACCEPTS_TIME
    return True  # objects, lists, arrays, sets, anything else


def wrong_type(raw: pd.Series, accepts: str) -> np.ndarray:
    """Mask of present values whose *type* the column does not accept (the reason ``bad_type:<column>``).

    Every column refuses booleans, objects/structs, lists/arrays and durations; only timestamp columns take
    timestamps and dates; id and code columns take whole numbers (as their decimal string) but not fractional
    ones. Text is never refused here (its value is checked later). Works on whole columns by dtype; only mixed
    (object) columns that are not plain text or integers are looked at value by value.
    """
    n = len(raw)
    none = np.zeros(n, dtype=bool)
    if not n:
        return none
    dtype = raw.dtype
    present = lambda: raw.notna().to_numpy(dtype=bool)  # noqa: E731
    if ptypes.is_bool_dtype(dtype):
        return present()
    if isinstance(dtype, pd.StringDtype) or (ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)):
        return none
    if ptypes.is_timedelta64_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return present()
    if ptypes.is_datetime64_any_dtype(dtype):
        return none if accepts == ACCEPTS_TIME else present()
    if ptypes.is_float_dtype(dtype):
        if accepts != ACCEPTS_ID:
            return none
        values = raw.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < _WHOLE_LIMIT)
        return ~np.isnan(values) & ~whole
    if isinstance(dtype, pd.ArrowDtype):
        arrow_type = dtype.pyarrow_dtype
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_integer(arrow_type):
            return none
    elif isinstance(dtype, pd.CategoricalDtype):
        raw = raw.astype(object)
    kind = ptypes.infer_dtype(raw, skipna=True)
    if kind in ("string", "empty", "integer"):
        return none
    if kind == "boolean":
        return present()
    return np.fromiter((_bad_value(v, accepts) for v in raw.to_numpy(dtype=object)), dtype=bool, count=n)


def clean_prompt(raw: pd.Series) -> pd.Series:
    """Prompts are kept verbatim (templates need the raw text); only empty becomes NA."""
    text = column_text(raw)
    return text.where(text != "")


def _bounded(ts: pd.Series) -> pd.Series:
    """datetime64[*, UTC] -> datetime64[ns, UTC]; values outside the ns range become NaT."""
    in_range = ts.isna() | ((ts >= _TS_MIN) & (ts <= _TS_MAX))
    return ts.where(in_range).dt.as_unit("ns").astype(TIMESTAMP)


def _from_epoch(seconds: pd.Series, epoch_range: tuple[float, float] | None = None) -> pd.Series:
    seconds = seconds.astype("float64")
    keep = seconds.abs() < _EPOCH_LIMIT
    if epoch_range is not None:
        keep &= (seconds >= epoch_range[0]) & (seconds < epoch_range[1])
    seconds = seconds.where(keep)
    return _bounded(pd.to_datetime(seconds, unit="s", utc=True, errors="coerce"))


def parse_timestamp(raw: pd.Series, epoch_range: tuple[float, float] | None = None) -> tuple[pd.Series, np.ndarray]:
    """ISO 8601 (naive = UTC, any offset) or epoch seconds -> UTC. Returns (values, bad mask).

    A present value that does not parse (or falls outside 1677..2262) is bad; NA is not. With
    ``epoch_range`` (seconds, [low, high)), a number outside it is bad too (the contract's plausible window).
    """
    dtype = raw.dtype
    if ptypes.is_datetime64_any_dtype(dtype) or (
        (ptypes.is_integer_dtype(dtype) or ptypes.is_float_dtype(dtype)) and not ptypes.is_bool_dtype(dtype)
    ):
        if isinstance(dtype, pd.DatetimeTZDtype):
            values = _bounded(raw.dt.tz_convert("UTC"))
        elif ptypes.is_datetime64_dtype(dtype):
            values = _bounded(raw.dt.tz_localize("UTC"))
        else:
            values = _from_epoch(raw.astype("Float64").astype("float64"), epoch_range)
        return values, (raw.notna() & values.isna()).to_numpy(dtype=bool)
    text = clean_text(raw)
    present = text.notna()
    out = pd.Series(pd.NaT, index=raw.index, dtype=TIMESTAMP)
    epoch = text.str.fullmatch(_EPOCH_TEXT).fillna(False).astype(bool) & present
    if epoch.any():
        out[epoch] = _from_epoch(pd.to_numeric(text[epoch], errors="coerce"), epoch_range)
    iso = present & ~epoch
    if iso.any():
        out[iso] = _bounded(pd.to_datetime(text[iso], utc=True, errors="coerce", format="ISO8601"))
    return out, (present & out.isna()).to_numpy(dtype=bool)


def canonical_ip(value: str) -> str | None:
    """Compressed canonical form; an IPv4-mapped IPv6 address becomes the IPv4 address; None if invalid."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Exactly the IPv4 spellings ``ipaddress`` accepts that are already canonical (no leading zeros).
_CANONICAL_IPV4 = rf"^{_OCTET}(?:\.{_OCTET}){{3}}$"
IP_CACHE_MAX = 1_000_000
_MISSING = object()


def parse_ip(raw: pd.Series, cache: dict | None = None) -> tuple[pd.Series, np.ndarray]:
    """Canonicalise IPs. Returns (values, bad mask).

    Canonical dotted-quad IPv4 (the bulk of traffic) is recognised by one vectorised regex;
    every other distinct value goes through ``ipaddress`` once, memoised in ``cache``
    across chunks (the same IPs recur all through a file).
    """
    text = clean_text(raw)
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    plain_v4 = pc.fill_null(pc.match_substring_regex(arr, _CANONICAL_IPV4), False)
    others = pc.unique(pc.filter(arr, pc.and_(pc.invert(plain_v4), pc.is_valid(arr)))).to_pylist()
    cache = {} if cache is None else cache
    if len(cache) + len(others) > IP_CACHE_MAX:
        cache.clear()
    values = []
    for value in others:
        result = cache.get(value, _MISSING)
        if result is _MISSING:
            result = cache[value] = canonical_ip(value)
        values.append(result)
    if others:
        positions = pc.index_in(arr, value_set=pa.array(others, pa.string()))
        mapped = pc.take(pa.array(values, pa.string()), positions)
    else:
        mapped = pa.nulls(len(arr), pa.string())
    canonical = pc.if_else(plain_v4, arr, mapped)
    out = pd.Series(canonical.to_pandas(), index=text.index).astype(STR)
    return out, (text.notna() & out.isna()).to_numpy(dtype=bool)


_EXACT_INT = r"\+?[0-9]{1,18}"  # fits int64: parsed exactly, without going through float


def parse_tokens(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Token counts as Int64 >= 0. Returns (values, bad mask, negative mask).

    Not a number, not a whole number or too large -> bad; a negative number -> negative.
    Whole numbers of up to 18 digits are exact; anything else goes through float64.
    """
    dtype = raw.dtype
    if ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
        values = raw.astype(INT)
        negative = (values < 0).fillna(False).to_numpy(dtype=bool)
        return values.mask(negative), np.zeros(len(raw), dtype=bool), negative
    out = pd.Series(pd.NA, index=raw.index, dtype=INT)
    if ptypes.is_float_dtype(dtype):
        rest = raw.notna().to_numpy(dtype=bool)
        numbers = raw.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = clean_text(raw)
        present = text.notna().to_numpy(dtype=bool)
        exact = text.str.fullmatch(_EXACT_INT).fillna(False).to_numpy(dtype=bool) & present
        if exact.any():
            ints = pc.cast(pa.array(text[exact], type=pa.string(), from_pandas=True), pa.int64())
            out[exact] = ints.to_numpy(zero_copy_only=False)
        rest = present & ~exact
        numbers = np.full(len(raw), np.nan)
        if rest.any():
            parsed = pd.to_numeric(text[rest], errors="coerce")
            numbers[rest] = parsed.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        not_number = rest & np.isnan(numbers)
        negative = rest & ~not_number & (numbers < 0)
        too_odd = ~np.isfinite(numbers) | (numbers % 1 != 0) | (numbers >= _INT_LIMIT)
        bad_value = rest & ~not_number & ~negative & too_odd
    ok = rest & ~(not_number | negative | bad_value)
    if ok.any():
        out[ok] = numbers[ok].astype(np.int64)
    return out, not_number | bad_value, negative


def longer_than(text: pd.Series, limit: int) -> np.ndarray:
    """Mask of values longer than ``limit`` characters. A character takes at least a byte, so a column whose
    values all fit in ``limit`` bytes (nearly always) is answered from Arrow's offsets without counting."""
    if not len(text):
        return np.zeros(0, dtype=bool)
    arr = _arrow(text)
    longest = pc.max(pc.binary_length(arr)).as_py()
    if longest is None or longest <= limit:
        return np.zeros(len(text), dtype=bool)
    return pc.fill_null(pc.greater(pc.utf8_length(arr), limit), False).to_numpy(zero_copy_only=False)


def text_length(text: pd.Series) -> np.ndarray:
    """Length in characters (code points, as Python's ``len``); 0 for NA."""
    if not len(text):
        return np.zeros(0, dtype=np.int64)
    return pc.fill_null(pc.utf8_length(_arrow(text)), 0).to_numpy(zero_copy_only=False).astype(np.int64)
