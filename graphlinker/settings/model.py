"""The settings as typed sections: one frozen dataclass per ``defaults.toml`` table.

Values come from ``defaults.toml`` overlaid by the user's file, checked against
:mod:`graphlinker.settings.schema` (ranges, unknown keys) before a section is built, so a
section always holds valid, typed values: ``settings.linking.min_edge_weight`` is a float.
Sections also read like the TOML table they came from (``settings.linking["min_edge_weight"]``,
``{**settings.scoring, "flag_threshold": 0.5}``), which the Python API documented first; new
code reads attributes. Open tables (weights per identifier kind, per reason code) stay mappings.
``tests/test_settings_model.py`` checks that every field matches the schema's type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from graphlinker.errors import ConfigError


class Section(Mapping[str, Any]):
    """A settings table with typed attributes that also reads as a mapping of its keys."""

    table: ClassVar[str]

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Section:
        """The section from a table of exactly its keys (a section is returned as it is)."""
        if isinstance(data, cls):
            return data
        names = cls._names()
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data]
        if unknown or missing:
            problem = f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing key(s) {', '.join(missing)}"
            raise ConfigError(f"[{cls.table}] settings: {problem}")
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            value = data[f.name]
            values[f.name] = float(value) if f.type == "float" and not isinstance(value, bool) else value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._names()}


@dataclass(frozen=True, eq=True)
class InputsSettings(Section):
    table: ClassVar[str] = "inputs"
    chunk_rows: int
    max_prompt_chars: int


@dataclass(frozen=True, eq=True)
class EngineSettings(Section):
    table: ClassVar[str] = "engine"
    name: str
    master: str
    split_mb: int
    shuffle_partitions: int
    work_dir: str
    template_batch_chunks: int


@dataclass(frozen=True, eq=True)
class TemplatesSettings(Section):
    table: ClassVar[str] = "templates"
    grouping: str
    threshold: float
    num_perm: int
    bands: int
    shingle: int
    seed: int
    linkage: str
    merge_across_chunks: bool


@dataclass(frozen=True, eq=True)
class LinkingSettings(Section):
    table: ClassVar[str] = "linking"
    method: str
    expand_limit: int
    neighbour_window: int
    candidate_pairs: str
    coherence_samples: int
    coherence_ramp: list[float]
    max_links_per_account: int
    subnet_prefix_v4: int
    subnet_prefix_v6: int
    time_window_seconds: int
    created_window_seconds: int
    min_edge_weight: float
    min_active_windows: int
    default_identifier_weight: float
    default_min_similarity: float
    weights: dict[str, float]
    min_similarity: dict[str, float]
    min_shared: dict[str, int]
    hub_caps: dict[str, int]


@dataclass(frozen=True, eq=True)
class DetectionSettings(Section):
    table: ClassVar[str] = "detection"
    engine: str
    resolution: float
    seed: int
    merge_fragments: bool
    fragment_ratio: float
    keep_waves_together: bool
    wave_alpha: float
    gds_algorithm: str
    gds_concurrency: int


@dataclass(frozen=True, eq=True)
class ScoringSettings(Section):
    table: ClassVar[str] = "scoring"
    flag_threshold: float
    min_cluster_size: int
    size_prior: float
    require_behaviour: bool
    infrastructure_reasons: list[str]
    min_behaviour_reasons: int
    reason_min_contribution: float
    require_content_signal: bool
    content_reasons: list[str]
    content_signal_min: float
    new_model_min_days: int
    synchrony: str
    synchrony_alpha: float
    population: str
    model: str
    weights: dict[str, float]
    ramps: dict[str, list[float]]


SECTIONS: dict[str, type[Section]] = {cls.table: cls for cls in
                                      (InputsSettings, EngineSettings, TemplatesSettings, LinkingSettings, DetectionSettings, ScoringSettings)}
