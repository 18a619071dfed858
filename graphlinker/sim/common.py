"""Shared pieces of the simulator: clock, randomness, networks, clients, cards and the ``Part`` container.

Times are int64 epoch seconds until the writer formats them; every array is a
numpy array so each population is generated with a handful of vectorised draws.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

T0 = int(pd.Timestamp("2026-09-01T00:00:00Z").timestamp())  # window start (a Tuesday)
DAY = 86_400
WINDOW_DAYS = 30
WINDOW = WINDOW_DAYS * DAY
RELEASE = T0 + 20 * DAY  # "model-x" becomes available on day 20
BASE_MODELS = np.array(["model-a", "model-b", "model-c"], dtype=object)
NEW_MODEL = "model-x"
WEEKDAYS = np.array([d for d in range(WINDOW_DAYS) if (1 + d) % 7 < 5])  # day 0 is a Tuesday

_P = {
    "home": [2, 1, 0.6, 0.4, 0.3, 0.4, 0.8, 1.5, 2.5, 3.5, 4, 4, 4, 4, 4, 4, 4, 4.5, 5, 5.5, 6, 5.5, 4.5, 3],
    "office": [0.1] * 8 + [3, 6, 6, 6, 4, 6, 6, 6, 5, 2] + [0.5, 0.3, 0.2, 0.2, 0.1, 0.1],
    "class": [0.2] * 8 + [2, 5, 5, 5, 3, 5, 5, 4, 3, 2, 2, 3, 3.5, 3, 1.5, 0.5],
    "flat": [1] * 24,
}
PROFILES = {name: np.asarray(w, dtype=float) / np.sum(w) for name, w in _P.items()}

BROWSER_UA = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0",
], dtype=object)
MOBILE_UA = np.array([
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Mobile Safari/537.36",
], dtype=object)
SDK_UA = np.array([
    "python-requests/2.31.0", "openai-python/1.30.1", "anthropic-sdk-python/0.25.0", "httpx/0.27.0",
    "aiohttp/3.9.5", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "curl/8.5.0", "Go-http-client/2.0",
], dtype=object)

RESIDENTIAL_OCTETS = [24, 67, 68, 69, 71, 73, 75, 76, 81, 82, 84, 86, 88, 90, 92, 94, 98, 99, 174, 176, 178, 186, 187, 188, 190, 201, 217]
DATACENTER_OCTETS = [5, 23, 45, 51, 64, 103, 104, 135, 139, 142, 143, 146, 147, 149, 157, 159, 161, 164, 165, 167, 185, 193, 194, 195, 207, 209]
CLOUD_OCTETS = [3, 13, 18, 34, 35, 52, 54]
CHINA_CLOUD_OCTETS = [43, 47, 119, 120, 121]
CARRIER_PREFIXES = ["172.56.14", "174.224.201", "107.77.199", "109.40.241"]


def rng_for(seed: int, name: str) -> np.random.Generator:
    """Independent stream per population, so changing one group never reshuffles another."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def scaled(n: float, scale: float, minimum: int) -> int:
    return max(minimum, int(round(n * scale)))


def hex_ids(rng: np.random.Generator, n: int, prefix: str, digits: int = 12) -> np.ndarray:
    values = rng.integers(0, 16**digits, n, dtype=np.uint64)
    return np.array([f"{prefix}{v:0{digits}x}" for v in values], dtype=object)


def pick(rng: np.random.Generator, values, n: int, p=None) -> np.ndarray:
    values = np.asarray(values, dtype=object)
    return values[rng.choice(len(values), n, p=p)]


def wrap(ts: np.ndarray) -> np.ndarray:
    """Fold times into the observation window."""
    return T0 + np.mod(np.asarray(ts, dtype=np.int64) - T0, WINDOW)


def clock_times(rng, n: int, tz, profile: str, days=None) -> np.ndarray:
    """Epoch seconds: a window day, a local hour drawn from ``profile``, shifted to UTC by ``tz`` hours."""
    days = np.arange(WINDOW_DAYS) if days is None else np.asarray(days)
    local = rng.choice(days, n) * DAY + rng.choice(24, n, p=PROFILES[profile]) * 3600 + rng.integers(0, 3600, n)
    return wrap(T0 + local - np.round(np.asarray(tz, dtype=float) * 3600).astype(np.int64))


def session_times(rng, owner, counts, tz, profile: str, mean_len: float = 4.0, spread: int = 1200, days=None):
    """Human use: each account's requests fall into sessions of a few requests within ``spread`` seconds."""
    counts = np.asarray(counts)
    n_sess = np.where(counts > 0, np.ceil(counts / rng.uniform(1, 2 * mean_len - 1, len(counts))), 0).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n_sess)[:-1]])
    sess_owner = np.repeat(np.arange(len(counts)), n_sess)
    starts = clock_times(rng, len(sess_owner), np.asarray(tz)[sess_owner], profile, days)
    chosen = first[owner] + (rng.random(len(owner)) * n_sess[owner]).astype(np.int64)
    return wrap(starts[chosen] + rng.integers(0, spread, len(owner)))


def waves(rng, n_accounts: int, n_waves: int, p: float, mean_k: float, profile: str, tz=0.0, spread: int = 90):
    """Orchestrated bursts: in each wave a random subset of accounts fires within ``spread`` seconds."""
    start = clock_times(rng, n_waves, tz, profile)
    activity = rng.gamma(2.0, 0.5, n_accounts)  # some workers are busier than others
    wave, account = np.nonzero(rng.random((n_waves, n_accounts)) < np.minimum(1.0, p * activity))
    k = 1 + rng.poisson(mean_k - 1, len(wave))
    wave, account = np.repeat(wave, k), np.repeat(account, k)
    return account, wrap(start[wave] + rng.integers(0, spread, len(wave)))


def prefixes(rng, n: int, octets) -> np.ndarray:
    """``n`` distinct "a.b.c" /24 prefixes with a first octet from ``octets``."""
    a = rng.choice(np.asarray(octets), 3 * n + 8)
    b, c = rng.integers(0, 256, 3 * n + 8), rng.integers(0, 256, 3 * n + 8)
    _, first = np.unique((a.astype(np.int64) << 16) | (b << 8) | c, return_index=True)  # first sightings, in draw order
    keep = np.sort(first)[:n]
    text = lambda v: v.astype(str).astype(object)  # noqa: E731
    return text(a[keep]) + "." + text(b[keep]) + "." + text(c[keep])


def hosts(rng, prefix_of_row: np.ndarray) -> np.ndarray:
    """One IPv4 address per row inside the given /24 prefixes."""
    host = rng.integers(2, 255, len(prefix_of_row)).astype(str).astype(object)
    return prefix_of_row.astype(object) + "." + host


def ipv6(rng, n: int, lead: str = "2a02") -> np.ndarray:
    """Canonical (RFC 5952) IPv6 addresses: all groups non-zero so no '::' is needed."""
    g = rng.integers(1, 0x10000, (n, 7))
    return np.array([lead + "".join(f":{x:x}" for x in row) for row in g], dtype=object)


def ipv6_privacy(rng, owner: np.ndarray, ts: np.ndarray, n: int, lead: str = "2a02") -> np.ndarray:
    """Per request, the temporary address of owner's device that day: one /64 per home line, a new interface
    identifier in it each day (IPv6 privacy extensions, RFC 8981: a temporary address is preferred for a day)."""
    prefix = np.array([lead + "".join(f":{x:x}" for x in row) for row in rng.integers(1, 0x10000, (n, 3))], dtype=object)
    day = (np.asarray(ts, dtype=np.int64) + rng.integers(0, DAY, n)[owner]) // DAY  # each device's own renewal hour
    key, slot = np.unique(np.asarray(owner, dtype=np.int64) * 1_000_000 + day, return_inverse=True)
    iid = np.array(["".join(f":{x:x}" for x in row) for row in rng.integers(1, 0x10000, (len(key), 4))], dtype=object)
    return prefix[owner] + iid[slot]


@dataclass(frozen=True)
class World:
    """Infrastructure every population draws from: home broadband /24s, mobile CGNAT, VPN exits, card BINs."""

    residential: np.ndarray
    carriers: list
    vpn: np.ndarray
    bins: np.ndarray
    bin_p: np.ndarray


def build_world(rng, scale: float) -> World:
    residential = prefixes(rng, scaled(25_000, scale, 2_000), RESIDENTIAL_OCTETS)
    per_carrier = scaled(2, scale, 2)
    carriers = [hosts(rng, np.repeat(np.array([p], dtype=object), per_carrier)) for p in CARRIER_PREFIXES[:3]]
    vpn = hosts(rng, np.repeat(prefixes(rng, 4, DATACENTER_OCTETS), scaled(8, scale, 2)))
    bins = np.unique(rng.integers(400_000, 560_000, 300)).astype(str).astype(object)
    bin_p = 1.0 / np.arange(1, len(bins) + 1)  # a few big issuers, a long tail
    return World(residential, carriers, pd.unique(vpn), bins, bin_p / bin_p.sum())


def output_tokens(rng, n: int, mean: float, sigma: float = 0.8) -> np.ndarray:
    mu = np.log(mean) - sigma**2 / 2
    return np.clip(np.round(rng.lognormal(mu, sigma, n)), 1, 8192).astype(np.int64)


def input_tokens(rng, prompts: np.ndarray) -> np.ndarray:
    size = np.fromiter((len(p.encode()) for p in prompts), dtype=np.int64, count=len(prompts))
    return np.ceil(size / 4).astype(np.int64) + rng.integers(0, 24, len(prompts))


@dataclass
class Part:
    """One population's rows: account, payment, identifier and truth frames, request columns as arrays."""

    accounts: pd.DataFrame
    payments: pd.DataFrame
    identifiers: pd.DataFrame
    truth: pd.DataFrame
    requests: dict

    @staticmethod
    def concat(parts: list[Part]) -> Part:
        frames = [pd.concat([getattr(p, name) for p in parts], ignore_index=True) for name in ("accounts", "payments", "identifiers", "truth")]
        requests = {k: np.concatenate([p.requests[k] for p in parts]) for k in parts[0].requests}
        return Part(*frames, requests)


def accounts_frame(ids, created, domain, country, org=None) -> pd.DataFrame:
    n = len(ids)
    org = np.full(n, None, dtype=object) if org is None else org
    return pd.DataFrame({"account_id": ids, "created_at": np.asarray(created, dtype=np.int64),
                         "email_domain": np.broadcast_to(np.asarray(domain, dtype=object), n),
                         "country": np.broadcast_to(np.asarray(country, dtype=object), n),
                         "org_id": np.broadcast_to(np.asarray(org, dtype=object), n)})


def payments_frame(rng, world: World, ids, cards, created, country, bins=None) -> pd.DataFrame:
    """One card row per account; accounts sharing a fingerprint share its BIN."""
    cards = np.asarray(cards, dtype=object)
    unique, inverse = np.unique(cards, return_inverse=True)
    card_bins = pick(rng, world.bins, len(unique), world.bin_p) if bins is None else pick(rng, bins, len(unique))
    added = np.asarray(created, dtype=np.int64) + rng.integers(30, 3 * DAY, len(cards))
    return pd.DataFrame({"account_id": ids, "payment_fingerprint": cards, "card_bin": card_bins[inverse],
                         "billing_country": np.broadcast_to(np.asarray(country, dtype=object), len(cards)),
                         "added_at": added})


def identifiers_frame(ids, devices, seen) -> pd.DataFrame:
    return pd.DataFrame({"account_id": ids, "kind": "device", "value": devices, "seen_at": np.asarray(seen, dtype=np.int64)})


def first_seen(owner: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Each account's first request time (window end when it sent none)."""
    first = np.full(n, T0 + WINDOW, dtype=np.int64)
    np.minimum.at(first, owner, ts)
    return first


def truth_frame(ids, op_id: str, role="worker") -> pd.DataFrame:
    return pd.DataFrame({"account_id": ids, "op_id": op_id, "role": np.broadcast_to(np.asarray(role, dtype=object), len(ids))})


def requests_dict(rng, ids, owner, ts, ip, ua, model, prompt, out_mean: float, out_sigma: float = 0.8) -> dict:
    n = len(owner)
    return {"account_id": np.asarray(ids, dtype=object)[owner], "ts": np.asarray(ts, dtype=np.int64),
            "ip": np.asarray(ip, dtype=object), "user_agent": np.broadcast_to(np.asarray(ua, dtype=object), n).copy(),
            "model": np.broadcast_to(np.asarray(model, dtype=object), n).copy(), "prompt": prompt,
            "input_tokens": input_tokens(rng, prompt), "output_tokens": output_tokens(rng, n, out_mean, out_sigma)}


# --------------------------------------------------------------------------- sizes and cadences of added populations

REQUEST_BUDGET = 500_000  # expected requests of one population whose size was given explicitly


def population(size, nominal: float, scale: float, minimum: int, per_account: float,
               budget: float = REQUEST_BUDGET) -> tuple[int, float]:
    """(accounts, activity) of a population: ``nominal`` x ``scale`` accounts, or exactly ``size``.

    An explicit ``size`` keeps the archetype's per-account behaviour unless the expected
    total (``size`` x ``per_account`` requests) would exceed ``budget``; then every
    account sends proportionally less (``activity`` < 1), so a 20,000-account operation
    stays a few hundred thousand rows. Scale-derived sizes always have activity 1.
    """
    if size is None:
        return scaled(nominal, scale, minimum), 1.0
    n = int(size)
    return n, min(1.0, budget / max(1.0, n * per_account))


def rank_in_account(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each account for rows laid out as ``np.repeat(np.arange(n), counts)``."""
    counts = np.asarray(counts, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.arange(int(counts.sum())) - np.repeat(first, counts)


def steady_times(rng, counts, start, stop, jitter: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Machine cadence: each account's requests evenly spaced over [start, stop) with a little jitter.

    Returns ``(owner, ts)`` with ``owner = np.repeat(np.arange(n), counts)``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    step = (np.asarray(stop, dtype=np.int64) - np.asarray(start, dtype=np.int64)) / np.maximum(counts, 1)
    k = rank_in_account(counts) + 0.5 + rng.uniform(-jitter, jitter, len(owner))
    ts = np.asarray(start, dtype=np.int64)[owner] + np.floor(k * step[owner]).astype(np.int64)
    return owner, wrap(ts)


def split_total(rng, total: int, sizes, p=None) -> np.ndarray:
    """Group sizes drawn from ``sizes`` (a group of 1 is merged into the one before) that add up to ``total``."""
    total = int(total)
    draws = rng.choice(np.asarray(sizes), max(1, total), p=p)
    cut = int(np.searchsorted(np.cumsum(draws), total))
    groups = draws[: cut + 1].copy()
    groups[-1] -= groups.sum() - total
    if len(groups) > 1 and groups[-1] == 1:
        groups = np.concatenate([groups[:-2], [groups[-2] + 1]])
    return groups.astype(np.int64)
