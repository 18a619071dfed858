"""Normalise raw prompts into template text: fold, then mask the slots.

Extraction operations send thousands of prompts that are one template with the
slots changed.  Normalising a prompt keeps its template and masks the slots, so
prompts that differ only in slot values normalise to the same text.

Steps, in this order (order matters: a URL contains digits and a code block can
contain anything, so those are masked before numbers):

1. **Missing → empty.**  NA / None become ``""``.
2. **Fold** (:func:`fold_prompts`): Unicode NFKC, case folding (``str.casefold``,
   so ``ß`` → ``ss``), NFKC again (case folding can leave a string that is not
   NFKC), then every run of whitespace (Python's ``\\s``, incl. newlines, tabs
   and Unicode spaces) becomes one space and the text is stripped.  ``ＳＯＬＶＥ``
   and ``solve`` fold to the same text.  Extraction tags are matched on this
   folded but *unmasked* text.
3. **Mask** (:func:`mask_slots`), each masked span replaced by a placeholder:

   ``<code>``
       fenced code blocks (```` ``` ```` … ```` ``` ````; an unterminated fence
       runs to the end of the prompt), then inline code (a run of backticks,
       text without backticks, a run of backticks).
   ``<url>``
       ``scheme://…`` (any ``[a-z][a-z0-9+.-]*`` scheme) or ``www.…``; the URL
       body is ASCII URL characters, and trailing ``.,;:!?)]`` is left out so
       the full stop after a link stays text.
   ``<email>``
       ``local@domain.tld``: a local part of ASCII letters, digits, ``._%+-``
       and Latin letters ``À``–``ɏ``, an ASCII domain with at least one dot.
   ``<quote>``
       a quoted span, its quotes included: ``"…"``, ``“…”``, ``„…“``/``„…”``,
       ``‘…’``, ``«…»``, ``‹…›``, ``「…」``, ``『…』``; then ``'…'`` when the
       opening quote does not follow a word character or ``>`` and the closing
       quote is not followed by a word character or ``<`` (placeholders count
       as words), so ``don't`` and ``students' work`` are not quotes,
       repeated until nothing changes (so ``''x''`` becomes ``<quote>``).
       Fullwidth quotes are plain quotes after NFKC.
   ``<num>``
       a number: runs of decimal digits of any script (Python's ``\\d``) joined
       by single ``.``, ``,`` or ``_`` (``1,234,567.89``, ``3,14``, ``1_000``
       and ``1.2.3`` are one number each).  ``1'000`` is two numbers: an
       apostrophe may close a quote.  Digits inside words are masked too
       (``item42`` → ``item<num>``).  Signs are kept as text.

4. Combining marks directly after a ``>`` are dropped (a mark that followed a
   masked span would otherwise compose with the placeholder's ``>`` under NFKC).

Normalisation is idempotent: ``normalise(normalise(x)) == normalise(x)``.

The vectorised path runs every step as a pandas ``.str`` method over a pyarrow
string array.  Patterns are written so pandas can hand them to pyarrow's RE2
engine (digit and whitespace classes are spelled as explicit character
classes, not ``\\d``/``\\s``); pandas falls back to Python's ``re`` with the same
semantics for the few patterns that need look-around, and those run only on the
rows that contain their trigger character.  :func:`normalise_text` is the
scalar reference with identical results.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

PLACEHOLDERS = ("<code>", "<url>", "<email>", "<quote>", "<num>")


def _char_class(codepoints: list[int]) -> str:
    """A ``[...]`` class of literal characters (ranges merged) valid for both Python re and RE2."""
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = []
    for lo, hi in ranges:
        for cp in (lo, hi):
            if chr(cp) in "\\]^-[":
                raise AssertionError(f"character U+{cp:04X} needs escaping")  # never for digits/space/marks
        parts.append(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}")
    return "[" + "".join(parts) + "]"


# Every character Python's ``\d`` and ``\s`` match (all lie below U+20000), spelled
# out so that RE2 (ASCII-only ``\d``) can run the pattern with Python's semantics.
_DIGIT_CODEPOINTS = [cp for cp in range(0x20000) if chr(cp).isdecimal()]
_SPACE_CODEPOINTS = [cp for cp in range(0x3001) if chr(cp).isspace() or re.match(r"\s", chr(cp))]
_MARK_CODEPOINTS = [cp for cp in range(0x20000) if unicodedata.combining(chr(cp))]

DIGIT = _char_class(_DIGIT_CODEPOINTS)
SPACE = _char_class(_SPACE_CODEPOINTS)
MARK = _char_class(_MARK_CODEPOINTS)

# --- slot patterns (applied to folded text: lower case, single spaces, no newlines) ---
CODE_FENCE = r"```.*?(?:```|\Z)"
CODE_INLINE = r"`+[^`]+`+"
_URL_BODY = r"[a-z0-9\-._~:/?#\[\]@!$&()*+,;=%]"
_URL_END = r"[a-z0-9\-_~/#@$&*+=%]"
URL = rf"(?:[a-z][a-z0-9+.\-]*://|www\.){_URL_BODY}*{_URL_END}"
# local part: ASCII and Latin letters (À-ɏ), so RE2 can run it and CJK text
# written right before an address is not swallowed
EMAIL = r"[a-z0-9._%+\-À-ɏ]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+"
QUOTE_PAIRED = r'"[^"]*"|“[^”]*”|„[^“”]*[“”]|‘[^’]*’|«[^»]*»|‹[^›]*›|「[^」]*」|『[^』]*』'
# the look-behind is written after the opening quote so that Python's re can
# search for the literal quote instead of testing every position
QUOTE_SINGLE = r"'(?<![\w>]')[^']*'(?![\w<])"
QUOTE_SINGLE_CANDIDATE = r"'[^']*'"  # RE2: a row QUOTE_SINGLE can change
# (no apostrophe separator: removing a quote character here could create a new quoted span)
NUMBER = rf"{DIGIT}+(?:[.,_]{DIGIT}+)*"
MARK_AFTER_PLACEHOLDER = rf">{MARK}+"  # replaced by ">"
WHITESPACE = rf"{SPACE}+"
# The same runs, but a lone blank is left alone (replacing every blank by itself is slow).
WHITESPACE_TO_COLLAPSE = rf"{SPACE}{{2,}}|{_char_class([cp for cp in _SPACE_CODEPOINTS if cp != 0x20])}"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# ----------------------------------------------------------------------------- scalar reference


def fold_text(text: object) -> str:
    """NFKC, case fold, NFKC, collapse whitespace, strip (one string)."""
    if not isinstance(text, str):
        return ""
    text = _clean_surrogates(text)
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _compiled(WHITESPACE).sub(" ", text).strip(" ")


def mask_text(folded: str) -> str:
    """Mask the slots of one folded text (see the module docstring)."""
    text = folded
    text = _compiled(CODE_FENCE).sub("<code>", text)
    text = _compiled(CODE_INLINE).sub("<code>", text)
    text = _compiled(URL).sub("<url>", text)
    text = _compiled(EMAIL).sub("<email>", text)
    text = _compiled(QUOTE_PAIRED).sub("<quote>", text)
    text = sub_to_fixpoint(QUOTE_SINGLE, "<quote>", text)
    text = _compiled(NUMBER).sub("<num>", text)
    if not text.isascii():
        text = _compiled(MARK_AFTER_PLACEHOLDER).sub(">", text)
    return text


def normalise_text(text: object) -> str:
    """Normalise one prompt; the scalar twin of :func:`normalise_prompts`."""
    return mask_text(fold_text(text))


def sub_to_fixpoint(pattern: str, repl: str, text: str) -> str:
    """Substitute until nothing changes (masking a quote can expose an enclosing one)."""
    compiled = _compiled(pattern)
    while True:
        new = compiled.sub(repl, text)
        if new == text:
            return text
        text = new


def _clean_surrogates(text: str) -> str:
    """Pair escaped surrogates and replace lone ones with U+FFFD (they cannot be UTF-8 encoded)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# ----------------------------------------------------------------------------- vectorised


def as_text(values: pd.Series) -> pd.Series:
    """The values as a pyarrow-backed string Series on a RangeIndex, NA → ``""``."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    series = series.reset_index(drop=True)
    try:
        text = series.astype(TEXT_DTYPE)
    except (UnicodeEncodeError, pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        # lone surrogates (from badly decoded JSON) or odd objects: clean element-wise
        text = series.map(lambda v: _clean_surrogates(v if isinstance(v, str) else str(v)) if pd.notna(v) else v)
        text = text.astype(TEXT_DTYPE)
    return text.fillna("")


# Byte flags: one numpy pass over the UTF-8 buffer says which trigger characters
# each row contains, so a pattern runs only on rows that could match it.
F_BACKTICK, F_AT, F_APOS, F_DQUOTE, F_COLON, F_SLASH, F_W, F_DOT = (1 << i for i in range(8))
F_NON_ASCII, F_DIGIT, F_SPACE_RUN, F_EQ = (1 << i for i in range(8, 12))
F_ALL = (1 << 12) - 1
_LUT = np.zeros(256, dtype=np.uint16)
for _char, _flag in {"`": F_BACKTICK, "@": F_AT, "'": F_APOS, '"': F_DQUOTE, ":": F_COLON, "/": F_SLASH,
                     "w": F_W, "W": F_W, ".": F_DOT, "=": F_EQ}.items():
    _LUT[ord(_char)] = _flag
_LUT[ord("0") : ord("9") + 1] = F_DIGIT
_LUT[0x80:] = F_NON_ASCII
for _cp in _SPACE_CODEPOINTS:
    if _cp < 0x80 and _cp != 0x20:
        _LUT[_cp] = F_SPACE_RUN  # tabs, newlines...: whitespace other than a single blank


def arrow_array(series: pd.Series) -> pa.Array:
    """The string values of a pyarrow-backed Series as one (large_string) arrow Array."""
    arr = pa.array(series.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def byte_flags(series: pd.Series) -> np.ndarray:
    """Per row, the OR of the flags of its UTF-8 bytes (``F_*`` bits)."""
    arr = arrow_array(series)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint16)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1].astype(np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    if hi == lo:
        return np.zeros(n, dtype=np.uint16)
    data = np.frombuffer(data_buf, dtype=np.uint8)[lo:hi]
    # a zero sentinel at the end keeps every start index valid (trailing empty rows)
    byte_bits = np.concatenate([_LUT[data], np.zeros(1, dtype=np.uint16)])
    flags = np.bitwise_or.reduceat(byte_bits, offsets[:-1] - lo)
    flags[offsets[1:] == offsets[:-1]] = 0  # empty (or missing) rows
    # a run of two blanks is whitespace to collapse too
    pairs = (data[:-1] == 0x20) & (data[1:] == 0x20)
    if pairs.any():
        rows = np.searchsorted(offsets, np.flatnonzero(pairs) + lo, side="right") - 1
        flags[rows] |= F_SPACE_RUN
    return flags


def _has(flags: np.ndarray, bits: int) -> np.ndarray:
    return (flags & bits) != 0


def _where(series: pd.Series, rows: np.ndarray | None, func) -> pd.Series:
    """Apply ``func`` (a Series → Series transform) to the rows selected by ``rows`` only."""
    if rows is None or rows.all():
        return func(series)
    if not rows.any():
        return series
    positions = np.flatnonzero(rows)
    changed = func(series.iloc[positions])
    out = pc.replace_with_mask(arrow_array(series), pa.array(rows), arrow_array(changed))
    return pd.Series(pd.array(out, dtype=TEXT_DTYPE), index=series.index)


def _sub(pattern: str, repl: str):
    # A *string* pattern lets pandas pick pyarrow's RE2 when its semantics match
    # Python's, and fall back to ``re`` otherwise (look-around, \w on non-ASCII).
    return lambda s: s.str.replace(pattern, repl, regex=True)


def _sub_to_fixpoint(pattern: str, repl: str, candidate: str):
    """Vectorised :func:`sub_to_fixpoint`; ``candidate`` (RE2) must match wherever ``pattern`` can."""

    def apply(text: pd.Series) -> pd.Series:
        rows = np.ones(len(text), dtype=bool)
        while rows.any():
            new = _where(text, rows, _sub(pattern, repl))
            changed = (new != text).to_numpy(dtype=bool, na_value=False)
            text = new
            rows = changed & text.str.contains(candidate, regex=True).to_numpy(dtype=bool, na_value=False)
        return text

    return apply


def fold_prompts(prompts: pd.Series) -> pd.Series:
    """NFKC + case fold + whitespace collapse, vectorised; index aligned with the input."""
    text = as_text(prompts)
    folded = _fold(text, byte_flags(text))
    folded.index = _index_of(prompts)
    return folded


def mask_slots(folded: pd.Series) -> pd.Series:
    """Mask code, URLs, e-mails, quotes and numbers in folded text (vectorised)."""
    text = as_text(folded)
    masked = _mask(text, byte_flags(text))
    masked.index = _index_of(folded)
    return masked


def normalise_prompts(prompts: pd.Series) -> pd.Series:
    """Template text of each prompt: folded, slots masked.  NA → ``""``; index kept."""
    return fold_and_mask(prompts)[1]


def fold_and_mask(prompts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Folded (unmasked) and normalised (masked) text of each prompt, with one flag pass."""
    text = as_text(prompts)
    flags = byte_flags(text)
    folded = _fold(text, flags)
    # Folding lower-cases ASCII (no trigger changes) and rewrites non-ASCII rows
    # (NFKC can turn ＠ into @), so those rows are treated as containing every trigger.
    masked = _mask(folded, np.where(_has(flags, F_NON_ASCII), F_ALL, flags).astype(np.uint16))
    folded.index = masked.index = _index_of(prompts)
    return folded, masked


def _index_of(values) -> pd.Index:
    return values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(values))


def _fold(text: pd.Series, flags: np.ndarray) -> pd.Series:
    non_ascii = _has(flags, F_NON_ASCII)
    # ASCII is already NFKC and its case folding is plain lower-casing (an arrow kernel).
    text = _where(text, ~non_ascii, lambda s: s.str.lower())
    text = _where(text, non_ascii, _fold_unicode)
    text = _where(text, _has(flags, F_SPACE_RUN | F_NON_ASCII), _sub(WHITESPACE_TO_COLLAPSE, " "))
    return text.str.strip(" ")


def _fold_unicode(text: pd.Series) -> pd.Series:
    return text.str.normalize("NFKC").str.casefold().str.normalize("NFKC")


def _mask(text: pd.Series, flags: np.ndarray) -> pd.Series:
    # Trigger flags describe the text before masking: masking only removes
    # characters and adds placeholders (which carry no trigger), so the flags
    # stay a superset of the rows each later pattern can match.
    non_ascii = _has(flags, F_NON_ASCII)
    text = _where(text, _has(flags, F_BACKTICK), lambda s: _sub(CODE_INLINE, "<code>")(_sub(CODE_FENCE, "<code>")(s)))
    url_rows = (_has(flags, F_COLON) & _has(flags, F_SLASH)) | (_has(flags, F_W) & _has(flags, F_DOT))
    text = _where(text, url_rows, _sub(URL, "<url>"))
    text = _where(text, _has(flags, F_AT), _sub(EMAIL, "<email>"))
    text = _where(text, _has(flags, F_DQUOTE | F_NON_ASCII), _sub(QUOTE_PAIRED, "<quote>"))
    text = _where(text, _has(flags, F_APOS), _sub_to_fixpoint(QUOTE_SINGLE, "<quote>", QUOTE_SINGLE_CANDIDATE))
    text = _where(text, _has(flags, F_DIGIT | F_NON_ASCII), _sub(NUMBER, "<num>"))
    return _where(text, non_ascii, _sub(MARK_AFTER_PLACEHOLDER, ">"))
