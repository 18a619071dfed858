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

Archetypes for benchmarks: ``OPERATIONS`` (16 operation archetypes: today's five plus
``ops_more.py``) and ``LOOKALIKES`` (9 look-alike kinds: today's three plus
``lookalikes_more.py``) map a key to its generator. ``generate``/``simulate`` take
``operations`` and ``lookalikes`` (keys; None = ``DEFAULT_OPERATIONS`` /
``DEFAULT_LOOKALIKES``, today's scenario), ``sizes`` (key -> accounts, overriding
the archetype's scale-1 size x scale; "benign" sizes the background) and
``benign_activity`` (multiplies the background's requests per account). With the
defaults the files are byte-identical to what earlier versions wrote. op ids are
``op-<key>-1`` and ``lookalike-<key>-<k>``; ``archetype_of`` maps them back.

The missing-value gaps (``_gaps``) of today's populations are drawn over them
together, as before; every added population draws its own from ``gaps-<key>``, so
adding one changes no other population's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from graphlinker.errors import ConfigError
from graphlinker.sim.benign import benign
from graphlinker.sim.common import Part, build_world, rng_for
from graphlinker.sim.lookalikes import companies, families, universities
from graphlinker.sim.lookalikes_more import LOOKALIKES_MORE
from graphlinker.sim.ops import agentic, hydra, multilingual, naive, reseller
from graphlinker.sim.ops_more import OPERATIONS_MORE
from graphlinker.sim.writer import FORMATS, write_all

__all__ = ["DEFAULT_LOOKALIKES", "DEFAULT_OPERATIONS", "LOOKALIKES", "OPERATIONS", "SimulationSummary", "archetype_of",
           "generate", "simulate"]

# key -> generator(seed, world, scale, size=None) -> Part; the op id is f"op-{key}-1"
OPERATIONS: dict[str, Callable] = {"naive": naive, "reseller": reseller, "hydra": hydra, "agentic": agentic,
                                   "zh": multilingual, **OPERATIONS_MORE}
# key -> generator(seed, world, scale, size=None) -> list[Part]; op ids f"lookalike-{key}-{k}", k = 1, 2, ...
LOOKALIKES: dict[str, Callable] = {"company": companies, "university": universities, "family": families, **LOOKALIKES_MORE}
DEFAULT_OPERATIONS: tuple[str, ...] = ("naive", "reseller", "hydra", "agentic", "zh")
DEFAULT_LOOKALIKES: tuple[str, ...] = ("company", "university", "family")
BENIGN = "benign"  # the key of the background in ``sizes``
assert not set(OPERATIONS) & set(LOOKALIKES) and all("-" not in k for k in [*OPERATIONS, *LOOKALIKES])


def archetype_of(op_id: str) -> str:
    """The archetype key of an op id: ``op-hydra-1`` -> ``hydra``, ``lookalike-carrier_nat-1`` -> ``carrier_nat``."""
    parts = str(op_id).split("-")
    if len(parts) != 3 or parts[0] not in ("op", "lookalike") or not parts[1]:
        raise ValueError(f"not an operation or look-alike id: {op_id!r}")
    return parts[1]


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


def _keys(chosen: Iterable[str] | str | None, registry: Mapping[str, Callable], default: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Validated keys in registry order; None = the defaults, "all"/"none" as on the command line."""
    if chosen is None:
        return default
    if isinstance(chosen, str):
        chosen = {"all": list(registry), "none": []}.get(chosen.strip().lower(), [k for k in chosen.split(",") if k.strip()])
    wanted = {str(k).strip() for k in chosen}
    unknown = sorted(wanted - set(registry))
    if unknown:
        raise ConfigError(f"unknown {what} key(s) {', '.join(unknown)}; valid keys: {', '.join(registry)}")
    return tuple(k for k in registry if k in wanted)


def _sizes(sizes: Mapping[str, int] | None) -> dict[str, int]:
    valid = [*OPERATIONS, *LOOKALIKES, BENIGN]
    out = {}
    for key, value in (sizes or {}).items():
        if key not in valid:
            raise ConfigError(f"unknown size key {key!r}; valid keys: {', '.join(valid)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
            raise ConfigError(f"size of {key} must be a whole number of accounts of at least 1, got {value!r}")
        out[key] = int(value)
    return out


def generate(seed: int = 0, scale: float = 1.0, operations: Iterable[str] | None = None, lookalikes: Iterable[str] | None = None,
             sizes: Mapping[str, int] | None = None, benign_activity: float = 1.0) -> Part:
    """All populations of the scenario in memory (no files written).

    ``operations``/``lookalikes``: keys of ``OPERATIONS``/``LOOKALIKES`` (None = the defaults,
    ``()`` = none). ``sizes``: key -> number of accounts of that operation or look-alike kind
    (all its groups together) or of the "benign" background; keys of kinds not generated are
    ignored. ``benign_activity`` multiplies the requests per account of the background and of the
    look-alikes (legitimate users all), never of the operations.
    """
    if not scale > 0:
        raise ConfigError(f"scale must be positive, got {scale}")
    if not benign_activity > 0 or benign_activity == float("inf"):
        raise ConfigError(f"benign activity must be a positive number, got {benign_activity}")
    ops = _keys(operations, OPERATIONS, DEFAULT_OPERATIONS, "operation")
    kinds = _keys(lookalikes, LOOKALIKES, DEFAULT_LOOKALIKES, "look-alike")
    size = _sizes(sizes)
    world = build_world(rng_for(seed, "world"), scale)
    # today's populations, in today's order, share one stream of gaps (byte-identical defaults)
    parts = [benign(seed, world, scale, size.get(BENIGN), float(benign_activity))]
    activity = float(benign_activity)  # look-alikes are legitimate users: as active as the background
    parts += [p for k in DEFAULT_LOOKALIKES if k in kinds for p in LOOKALIKES[k](seed, world, scale, size.get(k), activity)]
    parts += [OPERATIONS[k](seed, world, scale, size.get(k)) for k in DEFAULT_OPERATIONS if k in ops]
    data = Part.concat(parts)
    _gaps(rng_for(seed, "gaps"), data.requests)
    added = []
    todo = [(k, partial(LOOKALIKES[k], activity=activity)) for k in kinds if k not in DEFAULT_LOOKALIKES]
    todo += [(k, OPERATIONS[k]) for k in ops if k not in DEFAULT_OPERATIONS]
    for key, generator in todo:  # each added population with its own stream and its own gaps
        made = generator(seed, world, scale, size.get(key))
        made = Part.concat(made) if isinstance(made, list) else made
        _gaps(rng_for(seed, f"gaps-{key}"), made.requests)
        added.append(made)
    if added:
        data = Part.concat([data, *added])
    ids = data.accounts["account_id"]
    if ids.duplicated().any():  # 48-bit random ids: practically never, but never silently
        raise RuntimeError(f"account id collision for seed {seed}; choose another seed")
    return data


def simulate(out_dir: Path, seed: int = 0, scale: float = 1.0, file_format: str = "csv", progress=None,
             operations: Iterable[str] | None = None, lookalikes: Iterable[str] | None = None,
             sizes: Mapping[str, int] | None = None, benign_activity: float = 1.0) -> SimulationSummary:
    """Generate the scenario for (seed, scale, populations) and write it to ``out_dir``.

    ``file_format`` (csv, jsonl, parquet) applies to the requests file; the other tables
    are CSV. ``progress`` is called with the number of request rows as they are written.
    The other arguments are those of :func:`generate`.
    """
    if file_format not in FORMATS:
        raise ConfigError(f"unknown format '{file_format}' (choose from {', '.join(FORMATS)})")
    data = generate(int(seed), float(scale), operations, lookalikes, sizes, float(benign_activity))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_all(out_dir, data, file_format, progress)
    counts = data.truth.groupby("op_id").size()
    groups = {str(k): int(v) for k, v in counts.items()}
    return SimulationSummary(
        accounts=len(data.accounts),
        requests=len(data.requests["ts"]),
        ops=sum(1 for k in groups if not k.startswith("lookalike-")),
        lookalike_groups=sum(1 for k in groups if k.startswith("lookalike-")),
        paths=paths,
        groups=groups,
    )
