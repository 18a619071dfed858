"""The type and range of every setting, checked when settings load.

Settings stay plain TOML data (``defaults.toml`` overlaid by the user's file); this
module only *checks* the merged data, so the :class:`~graphlinker.settings.Settings`
the rest of the code reads is unchanged. Each problem becomes one line naming the
key, e.g. ``scoring.weights.extraction_prompts: must be a number in [0, 1], got "high"``;
an unknown key (a typo) names the closest known one.

Ranges follow how the code reads each value: weights, similarity floors, thresholds
and shares are fractions in [0, 1]; counts are integers with a lower bound (0 where the
code reads 0 as "off"); prefixes fit their address family; a ramp is two different
numbers (a reversed ramp, low > high, is allowed); names are one of the values the
code understands. The checks that depend on two keys are below :func:`problems`.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphlinker.errors import ConfigError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(parts: tuple[str, ...]) -> str:
    """A dotted TOML key; parts that are not bare keys are quoted, so the message stays one line."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else json.dumps(p) for p in parts)


def show(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it in TOML (strings quoted), on one short line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    elif isinstance(value, (int, str)):
        text = json.dumps(value) if isinstance(value, str) else str(value)
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(show(v, limit) for v in value) + "]"
    elif isinstance(value, Mapping):
        return "a table"
    else:  # TOML dates and times
        text = f"{type(value).__name__} {value}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- value specs: check() returns None (valid) or what the value must be and what it is ----------
@dataclass(frozen=True)
class Number:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself excluded

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"a number in {'(' if self.low_open else '['}{_bound(self.low)}, {_bound(self.high)}]"
        if self.low is not None:
            return f"a number {'>' if self.low_open else '>='} {_bound(self.low)}"
        return "a finite number"

    def check(self, value: Any) -> str | None:
        ok = _is_number(value) and math.isfinite(value)
        ok = ok and (self.low is None or (value > self.low if self.low_open else value >= self.low))
        ok = ok and (self.high is None or value <= self.high)
        return None if ok else f"must be {self.describe()}, got {show(value)}"


@dataclass(frozen=True)
class Integer:
    low: int
    high: int | None = None
    note: str = ""

    def check(self, value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and value >= self.low and (self.high is None or value <= self.high)
        if ok:
            return None
        what = f"an integer in [{self.low}, {self.high}]" if self.high is not None else f"an integer >= {self.low}"
        return f"must be {what}{self.note}, got {show(value)}"


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def check(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.options:
            return None
        hint = _suggest(value, self.options) if isinstance(value, str) else None
        return (f"must be one of {', '.join(json.dumps(o) for o in self.options)}, got {show(value)}"
                + (f" (did you mean {json.dumps(hint)}?)" if hint else ""))


@dataclass(frozen=True)
class Boolean:
    def check(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {show(value)}"


@dataclass(frozen=True)
class Ramp:
    """``[low, high]``: strength 0 at the first value, 1 at the second (either order, not equal)."""

    def check(self, value: Any) -> str | None:
        ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) and math.isfinite(v) for v in value)
        return None if ok and value[0] != value[1] else f"must be two different numbers [from, to], got {show(value)}"


@dataclass(frozen=True)
class CodeList:
    """A list of names, each one of ``codes`` (reason codes of graphlinker/analysis/reasons.py)."""

    codes: tuple[str, ...]

    def check(self, value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return f"must be a list of reason codes, got {show(value)}"
        for item in value:
            if item not in self.codes:
                hint = _suggest(item, self.codes)
                return f"unknown reason code {json.dumps(item)}" + (f" (did you mean {json.dumps(hint)}?)" if hint else "")
        return None


@dataclass(frozen=True)
class ModelFile:
    """A scoring model's file (``graphlinker train`` writes it), or "" for none; the file is read by the cross-checks."""

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, str) else f"must be the path of a model file (a string; \"\" for none), got {show(value)}"


class Text:
    """Free text, e.g. a Spark master URL ("" for the default)."""

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, str) else f"must be a string, got {show(value)}"


@dataclass(frozen=True)
class Table:
    """A TOML table: ``fields`` are its known keys; ``other`` (if given) checks any further key's value."""

    fields: dict[str, Any] = field(default_factory=dict)
    other: Any = None


Spec = Any  # Number | Integer | Choice | Boolean | Ramp | CodeList | ModelFile | Text | Table


def _suggest(name: str, options) -> str | None:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


# --- the schema ----------------------------------------------------------------------------------
FRACTION = Number(0.0, 1.0)
SEED = Integer(0, 2**31 - 1)


def schema() -> Table:
    """Every setting of ``defaults.toml`` with its type and range."""
    from graphlinker.analysis import choices
    from graphlinker.analysis.reasons import REASONS

    codes = tuple(r.code for r in REASONS)
    return Table({
        "inputs": Table({
            "chunk_rows": Integer(1),
            "max_prompt_chars": Integer(1),
        }),
        "engine": Table({
            "name": Choice(("embedded", "spark")),
            "master": Text(),
            "split_mb": Integer(1),
            "shuffle_partitions": Integer(0, note=" (0 chooses)"),
            "work_dir": Text(),
            "template_batch_chunks": Integer(1),
        }),
        "templates": Table({
            "grouping": Choice(("minhash", "exact")),
            "threshold": Number(0.0, 1.0, low_open=True),
            "num_perm": Integer(1),
            "bands": Integer(1),
            "shingle": Integer(1),
            "seed": SEED,
            "linkage": Choice(("single", "leader")),
            "merge_across_chunks": Boolean(),
        }),
        "linking": Table({
            "method": Choice(tuple(choices.LINKING_METHODS)),
            "expand_limit": Integer(1),
            "neighbour_window": Integer(1),
            "candidate_pairs": Choice(choices.CANDIDATE_PAIRS),
            "coherence_samples": Integer(1),
            "coherence_ramp": Ramp(),
            "max_links_per_account": Integer(0, note=" (0 keeps every link)"),
            "subnet_prefix_v4": Integer(0, 32),
            "subnet_prefix_v6": Integer(0, 128),
            "time_window_seconds": Integer(1),
            "created_window_seconds": Integer(1),
            # a link's weight sums weight x similarity over kinds, so it can exceed 1
            "min_edge_weight": Number(0.0, low_open=True),
            "min_active_windows": Integer(0),
            "default_identifier_weight": FRACTION,
            "default_min_similarity": FRACTION,
            # open tables: a lab may add identifier kinds of its own
            "weights": Table(other=FRACTION),
            "min_similarity": Table(other=FRACTION),
            "min_shared": Table(other=Integer(1)),
            "hub_caps": Table({"default": Integer(1)}, other=Integer(1)),
        }),
        "detection": Table({
            "engine": Choice(tuple(choices.ENGINES)),
            "resolution": Number(0.0, low_open=True),
            "seed": SEED,
            "merge_fragments": Boolean(),
            "fragment_ratio": FRACTION,
            "keep_waves_together": Boolean(),
            "wave_alpha": Number(0.0, 1.0, low_open=True),
            "gds_algorithm": Choice(choices.GDS_ALGORITHMS),
            "gds_concurrency": Integer(0, note=" (0 chooses for the server's CPUs)"),
        }),
        "scoring": Table({
            "flag_threshold": FRACTION,
            "min_cluster_size": Integer(1),
            "size_prior": Number(0.0),
            "require_behaviour": Boolean(),
            "infrastructure_reasons": CodeList(codes),
            "min_behaviour_reasons": Integer(0),
            "reason_min_contribution": FRACTION,
            "require_content_signal": Boolean(),
            "content_reasons": CodeList(codes),
            "content_signal_min": FRACTION,
            "new_model_min_days": Integer(0),
            "synchrony": Choice(choices.SYNCHRONY_MEASURES),
            "synchrony_alpha": Number(0.0, 1.0, low_open=True),
            "population": Choice(choices.POPULATION_MEASURES),
            "model": ModelFile(),
            # closed tables: every reason code of graphlinker/analysis/reasons.py, and nothing else
            "weights": Table({c: FRACTION for c in codes}),
            "ramps": Table({c: Ramp() for c in codes}),
        }),
    })


def _all_keys(spec: Table, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    keys = []
    for name, sub in spec.fields.items():
        keys.append(prefix + (name,))
        if isinstance(sub, Table):
            keys += _all_keys(sub, prefix + (name,))
    return keys


def _unknown(path: tuple[str, ...], spec: Table, root: Table) -> str:
    """``unknown setting``, with the same name in another table (a key in the wrong section), or else the
    closest known key of the same table (a typo)."""
    name = path[-1]
    elsewhere = [k for k in _all_keys(root) if k[-1] == name]
    hint = _suggest(name, spec.fields)
    guess = elsewhere[0] if elsewhere else (path[:-1] + (hint,) if hint is not None else None)
    message = f"{key_path(path)}: unknown setting"
    return message + (f" (did you mean {key_path(guess)}?)" if guess else " (see graphlinker/settings/defaults.toml for every setting)")


def _walk(data: Any, spec: Spec, path: tuple[str, ...], root: Table, out: list[tuple[tuple[str, ...], str]]) -> None:
    if isinstance(spec, Table):
        if not isinstance(data, Mapping):
            out.append((path, f"{key_path(path)}: must be a table, got {show(data)}"))
            return
        for name, value in data.items():
            sub = spec.fields.get(name, spec.other)
            if sub is None:
                out.append((path + (name,), _unknown(path + (name,), spec, root)))
            else:
                _walk(value, sub, path + (name,), root, out)
        for name in spec.fields:
            if name not in data:
                out.append((path + (name,), f"{key_path(path + (name,))}: missing"))
        return
    problem = spec.check(data)
    if problem is not None:
        out.append((path, f"{key_path(path)}: {problem}"))


def _cross_checks(data: Mapping[str, Any], out: list[tuple[tuple[str, ...], str]]) -> None:
    """Ranges that depend on another key (run only when each key alone is valid); the path is the section."""
    from graphlinker.analysis.reasons import REASONS

    templates = data["templates"]
    if templates["num_perm"] % templates["bands"]:
        out.append((("templates",), f"templates.num_perm: must be a multiple of templates.bands "
                                                f"({templates['bands']}), got {templates['num_perm']}"))
    scoring = data["scoring"]
    behaviour = len({r.code for r in REASONS} - set(scoring["infrastructure_reasons"]))
    if scoring["require_behaviour"] and scoring["min_behaviour_reasons"] > behaviour:
        out.append((("scoring",),
                    f"scoring.min_behaviour_reasons: must be at most {behaviour} (the reason codes not in "
                    f"scoring.infrastructure_reasons), got {scoring['min_behaviour_reasons']}"))
    if scoring["model"]:
        from graphlinker.analysis.scoring_model import model_problem

        problem = model_problem(scoring["model"])
        if problem is not None:
            out.append((("scoring", "model"), f"scoring.model: {problem}"))


def problems(data: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every problem of the merged settings ``data`` as ``(key path, one-line message)``; empty when valid."""
    root = schema()
    out: list[tuple[tuple[str, ...], str]] = []
    _walk(data, root, (), root, out)
    if not out:
        _cross_checks(data, out)
    return out


def has_key(data: Any, path: tuple[str, ...]) -> bool:
    """Whether ``data`` (e.g. the user's file) sets the key, or touches the table, at ``path``."""
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return False
        data = data[part]
    return True


def validate(data: Mapping[str, Any], override: Mapping[str, Any] | None = None, source: str | None = None) -> None:
    """Raise a :class:`ConfigError` (exit 2), one line naming the first problems of ``data``, if any.

    ``override`` is the user's file (named ``source``): a problem whose key it sets is
    attributed to it, any other to the packaged defaults.
    """
    found = problems(data)
    if not found:
        return
    first = found[:3]
    where = [source if override is not None and source and has_key(override, path) else "the packaged defaults"
             for path, _ in first]
    if len(set(where)) == 1:
        text = "; ".join(message for _, message in first) + f" (in {where[0]})"
    else:
        text = "; ".join(f"{message} (in {w})" for (_, message), w in zip(first, where))
    more = f"; and {len(found) - 3} more problem(s)" if len(found) > 3 else ""
    raise ConfigError(text + more)
