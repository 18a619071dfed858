"""Redacted exemplars: a prompt as it may be shown to an analyst or stored.

An exemplar shows what a template asks without its slot values or personal
data.  Steps, in order (original case is kept; NFKC and whitespace collapsing
are applied first so fullwidth or oddly spaced data cannot slip through):

``<code>``    code blocks and inline code (as in normalisation)
``<url>``     URLs (query strings and tokens in them go with them)
``<email>``   e-mail addresses
``<secret>``  API-key-like strings: ``sk-``/``pk-``/``rk-`` keys, GitHub, Slack,
              AWS and Google key formats, JWTs, ``Bearer`` tokens, values of
              ``api_key=`` / ``token:`` / ``password=`` …, hex runs of 24+ chars,
              and base64-like runs of 24+ chars that mix letters and digits
``<ip>``      IPv4 and IPv6 addresses
``<card>``    card-like numbers: 13–19 digits, optionally separated by spaces or dashes
``<phone>``   phone numbers: ``+`` international, ``00`` international,
              ``(area) …``, and ``123-456-7890`` style
``<quote>``   quoted spans (as in normalisation)
``<num>``     every remaining number (as in normalisation)

Because every digit ends up masked, digit-based personal data (phones, cards,
IPs, account numbers) cannot survive even in a format the patterns miss.  Text
that is not a slot (names, free prose) is kept: an exemplar of a one-off
free-text prompt is that prompt, redacted.  The result is truncated to
:data:`MAX_CHARS` characters, ending with "…".
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from graphlinker.templates.normalise import (
    CODE_FENCE,
    CODE_INLINE,
    F_APOS,
    F_AT,
    F_BACKTICK,
    F_COLON,
    F_DIGIT,
    F_DOT,
    F_DQUOTE,
    F_EQ,
    F_NON_ASCII,
    F_SLASH,
    F_SPACE_RUN,
    F_W,
    MARK_AFTER_PLACEHOLDER,
    NUMBER,
    QUOTE_PAIRED,
    QUOTE_SINGLE,
    WHITESPACE,
    WHITESPACE_TO_COLLAPSE,
    _clean_surrogates,
    _compiled,
    _has,
    _sub,
    _where,
    as_text,
    byte_flags,
)

MAX_CHARS = 200
ELLIPSIS = "…"

_URL_BODY = r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#@$&*+=%]"
URL = rf"(?:[A-Za-z][A-Za-z0-9+.\-]*://|[Ww][Ww][Ww]\.){_URL_BODY}*{_URL_END}"
EMAIL = r"[\w.%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"

_KEY_NAMES = (
    r"api[_ -]?key|api[_ -]?secret|access[_ -]?key|secret[_ -]?key|access[_ -]?token|auth[_ -]?token"
    r"|refresh[_ -]?token|client[_ -]?secret|private[_ -]?key|password|passwd|pwd|token|secret"
)
SECRET_ASSIGNMENT = rf"""(?i)((?:{_KEY_NAMES})["']? ?[:=] ?)(?:"[^"]*"|'[^']*'|[^ "',;]+)"""
SECRET_BEARER = r"(?i)(bearer )[A-Za-z0-9._~+/=\-]{8,}"
SECRET_FORMATS = (
    r"(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"
    r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"
    r"|[0-9a-fA-F]{24,}"
)
_TOKEN = r"[A-Za-z0-9+/_\-]"
LONG_TOKEN = rf"{_TOKEN}{{24,}}"  # cheap RE2 pre-filter for SECRET_TOKEN
SECRET_TOKEN = rf"(?<!{_TOKEN})(?={_TOKEN}*[0-9])(?={_TOKEN}*[A-Za-z]){_TOKEN}{{24,}}={{0,2}}"

_H = r"[0-9A-Fa-f]{1,4}"
IP = (
    rf"{_H}(?::{_H}){{7}}"  # full IPv6
    rf"|{_H}(?::{_H}){{1,6}}::(?:{_H}(?::{_H}){{0,5}})?"  # compressed IPv6, 2+ groups before ::
    rf"|(?:{_H}(?::{_H}){{0,5}})?::{_H}(?::{_H}){{1,6}}"  # compressed IPv6, 2+ groups after ::
    r"|(?:[0-9]{1,3}\.){3}[0-9]{1,3}"  # IPv4
)
CARD = r"[0-9](?:[ \-]?[0-9]){12,18}"
PHONE = (
    r"\+[0-9][0-9 ().\-]{5,}[0-9]"
    r"|00[1-9][0-9 .\-]{6,}[0-9]"
    r"|\([0-9]{2,5}\) ?[0-9]{3,4}[ .\-]?[0-9]{3,4}"
    r"|[0-9]{3}[ .\-][0-9]{3}[ .\-][0-9]{4}"
)
_PARTIAL_PLACEHOLDER = r"<[a-z]{0,6}\Z"

# (pattern, replacement, rows it can match: flags that must be present, or None = any row)
_STEPS: list[tuple[str, str, int | None]] = [
    (CODE_FENCE, "<code>", F_BACKTICK),
    (CODE_INLINE, "<code>", F_BACKTICK),
    (URL, "<url>", -1),  # -1: the URL pre-filter, see _rows
    (EMAIL, "<email>", F_AT),
    (SECRET_ASSIGNMENT, r"\1<secret>", F_COLON | F_EQ),
    (SECRET_BEARER, r"\1<secret>", None),
    (SECRET_FORMATS, "<secret>", None),
    (SECRET_TOKEN, "<secret>", -2),  # -2: rows with a long token (RE2 pre-filter)
    (IP, "<ip>", F_DIGIT | F_COLON),
    (CARD, "<card>", F_DIGIT),
    (PHONE, "<phone>", F_DIGIT),
    (QUOTE_PAIRED, "<quote>", F_DQUOTE | F_NON_ASCII),
    (QUOTE_SINGLE, "<quote>", F_APOS),
    (NUMBER, "<num>", F_DIGIT | F_NON_ASCII),
    (MARK_AFTER_PLACEHOLDER, ">", F_NON_ASCII),
]


def redact(text: str) -> str:
    """Redacted exemplar of one prompt (see the module docstring); non-strings give ''."""
    if not isinstance(text, str):
        return ""
    text = _clean_surrogates(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _compiled(WHITESPACE).sub(" ", text).strip(" ")
    for pattern, repl, _ in _STEPS:
        text = _compiled(pattern).sub(repl, text)
    return _truncate(text)


def _truncate(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    head = _compiled(_PARTIAL_PLACEHOLDER).sub("", text[: MAX_CHARS - len(ELLIPSIS)]).rstrip(" ")
    return head + ELLIPSIS


def redact_series(texts: pd.Series) -> pd.Series:
    """:func:`redact` over a Series, vectorised (``.str`` methods, RE2 where possible); index kept."""
    index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
    text = as_text(texts)
    flags = byte_flags(text)
    non_ascii = _has(flags, F_NON_ASCII)
    text = _where(text, non_ascii, lambda s: s.str.normalize("NFKC"))
    text = _where(text, _has(flags, F_SPACE_RUN | F_NON_ASCII), _sub(WHITESPACE_TO_COLLAPSE, " ")).str.strip(" ")
    flags = np.where(non_ascii, np.uint16(0xFFFF), byte_flags(text)).astype(np.uint16)  # NFKC may add triggers
    # Flags describe the text before masking; masking only removes characters and
    # adds placeholders (no triggers), so they stay a superset of the matchable rows.
    for pattern, repl, need in _STEPS:
        text = _where(text, _rows(text, flags, need), _sub(pattern, repl))
    long = (text.str.len() > MAX_CHARS).to_numpy(dtype=bool, na_value=False)
    text = _where(text, long, _truncate_series)
    text.index = index
    return text


def _rows(text: pd.Series, flags: np.ndarray, need: int | None) -> np.ndarray | None:
    if need is None:
        return None
    if need == -1:
        return (_has(flags, F_COLON) & _has(flags, F_SLASH)) | (_has(flags, F_W) & _has(flags, F_DOT))
    if need == -2:
        return text.str.contains(LONG_TOKEN, regex=True).to_numpy(dtype=bool, na_value=False)
    return _has(flags, need)


def _truncate_series(text: pd.Series) -> pd.Series:
    head = text.str.slice(0, MAX_CHARS - len(ELLIPSIS)).str.replace(_PARTIAL_PLACEHOLDER, "", regex=True)
    return head.str.rstrip(" ") + ELLIPSIS
