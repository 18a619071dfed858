"""Settings as data: packaged defaults overlaid by a user TOML file.

Weights, hub caps and thresholds change with each lab's data; keeping them in
TOML (not constants in code) lets analysts tune and review them like evidence.
"""

from __future__ import annotations

import os
import tomllib
from copy import deepcopy
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_ENV = "GRAPHLINKER_CONFIG"


def _defaults() -> dict[str, Any]:
    text = resources.files("graphlinker").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def _overlay(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``; unknown keys are an error (typos must not pass silently)."""
    merged = deepcopy(base)
    for key, value in override.items():
        where = f"{path}{key}"
        if key not in base and path.rstrip(".") not in _OPEN_SECTIONS:
            raise ConfigError(f"unknown setting '{where}' in config file")
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _overlay(base[key], value, where + ".")
        else:
            merged[key] = value
    return merged


SECTIONS = ("inputs", "templates", "linking", "detection", "scoring")

# Sections whose keys are open-ended (e.g. weights of identifier kinds a lab adds).
_OPEN_SECTIONS = {"linking.weights", "linking.min_similarity", "linking.hub_caps", "linking.min_shared"}


@dataclass(frozen=True)
class Settings:
    """All tunable settings, grouped by stage."""

    inputs: dict[str, Any]
    templates: dict[str, Any]
    linking: dict[str, Any]
    detection: dict[str, Any]
    scoring: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """Defaults, overlaid by ``path`` or else by the file named in $GRAPHLINKER_CONFIG."""
        data = _defaults()
        path = path or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
        if path is not None:
            try:
                override = tomllib.loads(Path(path).read_text("utf-8"))
            except FileNotFoundError:
                raise ConfigError(f"config file not found: {path}") from None
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
            data = _overlay(data, override)
        return cls(**{section: data[section] for section in SECTIONS})

    def signal_weight(self, kind: str) -> float:
        return float(self.linking["weights"].get(kind, self.linking["default_identifier_weight"]))

    def hub_cap(self, kind: str) -> int:
        caps = self.linking["hub_caps"]
        return int(caps.get(kind, caps["default"]))

    def min_similarity(self, kind: str) -> float:
        return float(self.linking["min_similarity"].get(kind, 0.2))

    def as_dict(self) -> dict[str, Any]:
        return {section: getattr(self, section) for section in SECTIONS}
