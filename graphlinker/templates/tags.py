"""Extraction-style tags: rules kept as data (``rules.toml``), applied vectorised.

A rules file is TOML with one ``[[tag]]`` table per tag::

    [[tag]]
    name = "cot_elicitation"          # [a-z][a-z0-9_]*, unique
    weight = 0.8                      # 0..1, how strongly the tag suggests extraction
    description = "..."
    patterns = ['step[ -]by[ -]step', '逐步']

Patterns are regular expressions in Python ``re`` syntax, matched
case-insensitively anywhere in the text after NFKC, case folding and whitespace
collapsing (:func:`~graphlinker.templates.normalise.fold_prompts`) but before
slot masking.  A tag fires when any of its patterns matches.

Speed: the patterns of a tag are joined into one alternation and run with
``Series.str.contains``, which hands them to pyarrow's RE2 engine whenever that
gives Python's semantics.  Patterns that need Python's engine (look-around,
back-references, ``\\s``/``\\w``/``\\d``/``\\b`` on non-ASCII text) are run one by one
so that they do not drag the rest of their tag onto the slow path.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from graphlinker.errors import ConfigError
from graphlinker.templates.normalise import TEXT_DTYPE, as_text, fold_prompts

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_TAG_KEYS = {"name", "weight", "description", "patterns"}
# Syntax pandas (and we) cannot give to RE2 without changing semantics.
_NEEDS_PYTHON = re.compile(r"\\[sSwWdDbBZAuUNx0-9]|\(\?[=!]|\(\?<[=!]|\(\?P=|\(\?\(|\$|\(\?>|[*+?}]\+")
_MAX_TAGS = 63


@dataclass(frozen=True)
class TagRule:
    name: str
    weight: float
    description: str
    patterns: tuple[str, ...]


class ExtractionRules:
    """A validated set of tag rules; tags texts in bulk.

    ``bits`` below are uint64 masks with bit ``i`` set when ``names[i]`` fired
    (names are sorted, so ';'-joined tag strings come out sorted).
    """

    def __init__(self, rules: list[TagRule] | tuple[TagRule, ...], source: str = "<rules>"):
        rules = sorted(rules, key=lambda r: r.name)
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"{source}: duplicate tag name(s): {', '.join(dupes)}")
        if len(rules) > _MAX_TAGS:
            raise ConfigError(f"{source}: at most {_MAX_TAGS} tags are supported, got {len(rules)}")
        self.source = source
        self.rules: tuple[TagRule, ...] = tuple(rules)
        self.names: tuple[str, ...] = tuple(names)
        # per tag: (its RE2-friendly patterns as one alternation or None, its Python-only patterns)
        self._groups: list[tuple[str | None, list[str]]] = [_pattern_groups(rule, source) for rule in rules]
        # One RE2 pass with every fast pattern finds the rows worth testing tag by tag.
        fast = [g for g, _ in self._groups if g]
        self._prefilter = "|".join(fast) if len(fast) > 1 else None
        if self._prefilter and not _usable(self._prefilter):
            self._prefilter = None  # e.g. inline flags that only work at the start of a pattern
        self._strings: dict[int, str] = {0: ""}

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | str | None = None) -> ExtractionRules:
        """Rules from ``path``, or the packaged ``rules.toml`` when ``path`` is None."""
        if path is None:
            source = "graphlinker/templates/rules.toml"
            text = resources.files("graphlinker.templates").joinpath("rules.toml").read_text(encoding="utf-8")
        else:
            source = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read extraction rules {source}: {exc}") from None
        return cls.from_toml(text, source)

    @classmethod
    def from_toml(cls, text: str, source: str = "<rules>") -> ExtractionRules:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: invalid TOML: {exc}") from None
        unknown = set(data) - {"tag"}
        if unknown:
            raise ConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected [[tag]] tables")
        tags = data.get("tag")
        if not isinstance(tags, list) or not tags:
            raise ConfigError(f"{source}: no [[tag]] tables")
        return cls([_parse_tag(entry, i, source) for i, entry in enumerate(tags)], source)

    # ------------------------------------------------------------------ properties

    @property
    def weights(self) -> dict[str, float]:
        return {r.name: r.weight for r in self.rules}

    def __repr__(self) -> str:
        return f"ExtractionRules({', '.join(self.names)} from {self.source})"

    # ------------------------------------------------------------------ tagging

    def tag(self, texts: pd.Series) -> pd.Series:
        """';'-joined sorted tag names of each text ('' when none); index kept.

        ``texts`` may be raw prompts: they are folded first (folding is idempotent).
        """
        folded = fold_prompts(texts)
        codes, uniques = pd.factorize(folded)
        bits = self.bits_of_folded(pd.Series(uniques, dtype=TEXT_DTYPE))
        strings = pd.array(self.strings_of(bits), dtype=TEXT_DTYPE)
        out = pd.Series(strings.take(codes), dtype=TEXT_DTYPE)
        out.index = folded.index
        return out

    def bits_of_folded(self, folded: pd.Series) -> np.ndarray:
        """uint64 tag masks of already-folded texts (one evaluation per row: pass unique texts)."""
        text = as_text(folded)
        bits = np.zeros(len(text), dtype=np.uint64)
        if not len(text):
            return bits
        if self._prefilter:
            candidates = _contains(text, self._prefilter)
            subset = text[candidates] if candidates.any() else None
        else:
            candidates, subset = np.ones(len(text), dtype=bool), text
        for i, (fast, slow) in enumerate(self._groups):
            hit = np.zeros(len(text), dtype=bool)
            if fast and subset is not None:  # a fast pattern can only match a candidate row
                hit[candidates] = _contains(subset, fast)
            for pattern in slow:
                hit |= _contains(text, pattern)
            bits[hit] |= np.uint64(1 << i)
        return bits

    def strings_of(self, bits: np.ndarray) -> list[str]:
        """The ';'-joined tag names of each mask."""
        cache = self._strings
        out = []
        for b in bits.tolist():
            s = cache.get(b)
            if s is None:
                s = cache[b] = ";".join(n for i, n in enumerate(self.names) if b >> i & 1)
            out.append(s)
        return out

    def bits_of_strings(self, strings) -> np.ndarray:
        """Inverse of :meth:`strings_of`; unknown tag names are ignored."""
        position = {n: i for i, n in enumerate(self.names)}
        out = np.zeros(len(strings), dtype=np.uint64)
        for row, s in enumerate(strings):
            if isinstance(s, str) and s:
                for name in s.split(";"):
                    if name in position:
                        out[row] |= np.uint64(1 << position[name])
        return out


def _contains(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.contains(pattern, case=False, regex=True).to_numpy(dtype=bool, na_value=False)


def _parse_tag(entry: object, i: int, source: str) -> TagRule:
    where = f"{source}: tag #{i + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a [[tag]] table")
    name = entry.get("name")
    if isinstance(name, str):
        where = f"{source}: tag {name!r}"
    unknown = set(entry) - _TAG_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TAG_KEYS)}")
    missing = _TAG_KEYS - set(entry)
    if missing:
        raise ConfigError(f"{where}: missing key(s) {sorted(missing)}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: name must match [a-z][a-z0-9_]*, got {name!r}")
    weight = entry["weight"]
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= float(weight) <= 1.0:
        raise ConfigError(f"{where}: weight must be a number in [0, 1], got {weight!r}")
    description = entry["description"]
    if not isinstance(description, str):
        raise ConfigError(f"{where}: description must be a string")
    patterns = entry["patterns"]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ConfigError(f"{where}: patterns must be a non-empty list of non-empty strings")
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: pattern {pattern!r} is not a valid regular expression: {exc}") from None
        if compiled.search(""):
            raise ConfigError(f"{where}: pattern {pattern!r} matches the empty text, so it would tag every prompt")
    return TagRule(name, float(weight), description, tuple(patterns))


_PROBE = ["", "a", "é 中 1"]


def _usable(pattern: str) -> bool:
    try:
        re.compile(pattern)
        _contains(pd.Series(_PROBE, dtype=TEXT_DTYPE), pattern)
        return True
    except Exception:  # re.error, or an engine error from pyarrow
        return False


def _pattern_groups(rule: TagRule, source: str) -> tuple[str | None, list[str]]:
    """A tag's RE2-friendly patterns joined into one alternation, and its Python-only ones."""
    fast = [p for p in rule.patterns if not _NEEDS_PYTHON.search(p)]
    slow = [p for p in rule.patterns if _NEEDS_PYTHON.search(p)]
    joined = "|".join(f"(?:{p})" for p in fast) if fast else None
    probe = pd.Series(_PROBE, dtype=TEXT_DTYPE)
    for group in ([joined] if joined else []) + slow:
        try:
            re.compile(group)
            _contains(probe, group)
        except Exception as exc:  # re.error, or an engine error from pyarrow
            raise ConfigError(f"{source}: tag {rule.name!r}: pattern(s) {group!r} cannot be run: {exc}") from None
    return joined, slow
