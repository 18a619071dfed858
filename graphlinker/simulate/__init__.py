"""Seeded scenario generator: a month of API traffic with planted distillation rings and benign look-alikes.

``simulate(out_dir, seed, scale)`` writes the input contract (``accounts.csv``,
``payments.csv``, ``identifiers.csv``, ``requests.<csv|jsonl|parquet>``) plus the
ground truth ``truth.csv`` for a 30-day window starting 2026-09-01T00:00Z.
The output is byte-identical for the same (seed, scale).

Why each group exists (scale 1 sizes):

* ``benign`` (2,000 accounts, ~133k requests) — the background. Heavy-tailed
  volume, diurnal sessions, residential /24s drawn from a shared pool, ~20% of
  users behind carrier CGNAT IPs shared by 100+ accounts, VPN exits, IPv6, SDK
  clients, five languages, popular "hub" templates and some benign step-by-step
  homework questions. Tests that hub identifiers do not glue strangers together.
* look-alikes (``lookalikes.py``, truth role ``lookalike``) — a company team (shared
  corporate card, office NAT, onboarding burst), a university class (campus NAT,
  creation week, lab machines, a shared homework template, lab-session co-activity)
  and families (shared card, IP and tablet). They share infrastructure like rings but
  send varied, non-extraction prompts: flagging them is a false positive.
* operations (``ops.py``) — naive, reseller, hydra, agentic and zh rings, from
  blatant to camouflaged. Recall on the hydra (one card per account, residential
  proxies, paraphrased templates, small accounts) is the real test.

Every population draws from its own random stream (seed, population name), so
groups are independent and each is generated with a few vectorised numpy draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from ..errors import ConfigError
from .benign import benign
from .common import Part, build_world, rng_for
from .lookalikes import lookalikes
from .ops import operations
from .writer import FORMATS, write_all

__all__ = ["SimulationSummary", "simulate"]


@dataclass(frozen=True)
class SimulationSummary:
    """Counts of what was generated and where it was written."""

    accounts: int
    requests: int
    ops: int
    lookalike_groups: int
    paths: dict[str, Path]
    groups: dict[str, int] = field(default_factory=dict)  # op_id -> accounts, ops and look-alikes

    def __str__(self) -> str:
        return (f"{self.accounts:,} accounts, {self.requests:,} requests, {self.ops} operations, "
                f"{self.lookalike_groups} look-alike groups")

    def to_dict(self) -> dict:
        return {"accounts": self.accounts, "requests": self.requests, "ops": self.ops,
                "lookalike_groups": self.lookalike_groups, "paths": {k: str(v) for k, v in self.paths.items()},
                "groups": dict(self.groups)}


def _gaps(rng, requests: dict) -> None:
    """Real logs have holes: a few requests lack a user agent or token counts (errored calls)."""
    n = len(requests["ts"])
    requests["user_agent"][rng.random(n) < 0.003] = None
    requests["output_tokens"][rng.random(n) < 0.002] = -1  # written as missing
    requests["input_tokens"][rng.random(n) < 0.001] = -1


def generate(seed: int = 0, scale: float = 1.0) -> Part:
    """All populations of the scenario in memory (no files written)."""
    if not scale > 0:
        raise ConfigError(f"scale must be positive, got {scale}")
    world = build_world(rng_for(seed, "world"), scale)
    data = Part.concat([benign(seed, world, scale), *lookalikes(seed, world, scale), *operations(seed, world, scale)])
    _gaps(rng_for(seed, "gaps"), data.requests)
    ids = data.accounts["account_id"]
    if ids.duplicated().any():  # 48-bit random ids: practically never, but never silently
        raise RuntimeError(f"account id collision for seed {seed}; choose another seed")
    return data


def simulate(out_dir: Path, seed: int = 0, scale: float = 1.0, file_format: str = "csv", progress=None) -> SimulationSummary:
    """Generate the scenario for (seed, scale) and write it to ``out_dir``.

    ``file_format`` (csv, jsonl, parquet) applies to the requests file; the other tables
    are CSV. ``progress`` is called with the number of request rows as they are written.
    """
    if file_format not in FORMATS:
        raise ConfigError(f"unknown format '{file_format}' (choose from {', '.join(FORMATS)})")
    data = generate(int(seed), float(scale))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_all(out_dir, data, file_format, progress)
    sizes = data.truth.groupby("op_id").size()
    groups = {str(k): int(v) for k, v in sizes.items()}
    return SimulationSummary(
        accounts=len(data.accounts),
        requests=len(data.requests["ts"]),
        ops=sum(1 for k in groups if not k.startswith("lookalike-")),
        lookalike_groups=sum(1 for k in groups if k.startswith("lookalike-")),
        paths=paths,
        groups=groups,
    )
