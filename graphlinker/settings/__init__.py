"""Settings as data: packaged defaults overlaid by a user TOML file.

Weights, hub caps and thresholds change with each lab's data; keeping them in
TOML (not constants in code) lets analysts tune and review them like evidence.
"""

from __future__ import annotations

import tomllib
from copy import deepcopy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from graphlinker.errors import ConfigError
from graphlinker.settings import environment
from graphlinker.settings.model import (
    SECTIONS as SECTION_TYPES,
)
from graphlinker.settings.model import (
    DetectionSettings,
    EngineSettings,
    InputsSettings,
    LinkingSettings,
    ScoringSettings,
    TemplatesSettings,
)
from graphlinker.settings.schema import validate

CONFIG_ENV = "GRAPHLINKER_CONFIG"


def _defaults() -> dict[str, Any]:
    text = resources.files("graphlinker.settings").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def _overlay(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base`` (tables merge key by key; anything else replaces).

    Unknown keys and wrong types are not judged here: :func:`~graphlinker.settings.schema.validate`
    checks the merged result, naming each bad key (and, for a typo, the closest known one).
    """
    merged = deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _overlay(base[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every setting as ``{"section.key": value}`` (tables flattened; lists such as ramps are values)."""
    flat: dict[str, Any] = {}
    for key, item in data.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _read(path: Path) -> dict[str, Any]:
    """The user's TOML file, or a one-line ConfigError (exit 2) saying why it cannot be used."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # TOML is UTF-8; a leading byte-order mark (Notepad) is tolerated
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


SECTIONS = ("inputs", "engine", "templates", "linking", "detection", "scoring")


@dataclass(frozen=True)
class Settings:
    """All tunable settings, grouped by stage: one typed section per ``defaults.toml`` table
    (:mod:`graphlinker.settings.model`). Built from plain tables too (``replace(settings,
    scoring={**settings.scoring, "flag_threshold": 0.5})``); a key a section does not have is an error."""

    inputs: InputsSettings
    engine: EngineSettings
    templates: TemplatesSettings
    linking: LinkingSettings
    detection: DetectionSettings
    scoring: ScoringSettings

    def __post_init__(self) -> None:
        for name, section in SECTION_TYPES.items():
            object.__setattr__(self, name, section.of(getattr(self, name)))

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Defaults, overlaid by ``path`` or else by the file named in $GRAPHLINKER_CONFIG, then validated.

        Every key's type and range is checked (:mod:`graphlinker.settings.schema`); a bad or
        unknown key raises :class:`~graphlinker.errors.ConfigError` (exit 2) naming it.
        """
        return cls.load_with_sources(path)[0]

    @classmethod
    def load_with_sources(cls, path: Path | None = None) -> tuple[Settings, dict[str, str]]:
        """:meth:`load`, and where each setting came from: ``{"linking.min_edge_weight": "defaults" | FILE}``."""
        data = _defaults()
        configured = environment.value(CONFIG_ENV)
        path = path or (Path(configured) if configured else None)
        override = None
        if path is not None:
            override = _read(Path(path))
            data = _overlay(data, override)
        validate(data, override, source=str(path) if path is not None else None)
        overridden = set(flatten(override or {}))
        sources = {key: (str(path) if key in overridden else "defaults") for key in flatten(data)}
        return cls(**{section: data[section] for section in SECTIONS}), sources

    def signal_weight(self, kind: str) -> float:
        return float(self.linking.weights.get(kind, self.linking.default_identifier_weight))

    def hub_cap(self, kind: str) -> int:
        caps = self.linking.hub_caps
        return int(caps.get(kind, caps["default"]))

    def min_similarity(self, kind: str) -> float:
        return float(self.linking.min_similarity.get(kind, self.linking.default_min_similarity))

    def as_dict(self) -> dict[str, Any]:
        """Every section as a plain table (what ``config show`` prints and a run record keeps)."""
        return {section: getattr(self, section).as_dict() for section in SECTIONS}
