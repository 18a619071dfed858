"""Planted distillation operations, from blatant to camouflaged (truth roles ``worker``/``payer``).

* naive: one burst of accounts, 1-3 cards, one datacenter /24, one chain-of-thought
  template, SDK, uniform round-the-clock, high volume and long outputs — the easy case;
* reseller: a proxy network on ~20 accounts per card (plus "payer" accounts that only
  hold a card), datacenter IPs in a few /24s, grader/reward-model/CoT templates, fired
  in orchestrated waves (a random subset of workers within the same 1-2 minutes);
* hydra: every account has its own card and looks small; requests rotate over a
  residential proxy pool inside the /24s benign users live in, prompts are 11
  paraphrases of a reasoning-harvest template plus 30% benign filler, creation is
  spread over 60 days, and traffic pivots to the new model-x on release — only
  the waves, the paraphrase family and the model pivot tie it together;
* agentic: tool-use trajectories, device fingerprints shared by groups of accounts;
* zh: Chinese chain-of-thought harvesting from two cloud subnets on a few cards.

Each generator takes ``(seed, world, scale, size=None)``: ``size`` fixes the number of
accounts instead of the scale-1 size x scale (see ``common.population``). More
archetypes live in ``ops_more.py``.
"""

from __future__ import annotations

import numpy as np

from graphlinker.sim import text
from graphlinker.sim.benign import volumes
from graphlinker.sim.common import (
    BASE_MODELS,
    BROWSER_UA,
    CHINA_CLOUD_OCTETS,
    CLOUD_OCTETS,
    DATACENTER_OCTETS,
    DAY,
    NEW_MODEL,
    RELEASE,
    SDK_UA,
    T0,
    Part,
    World,
    accounts_frame,
    clock_times,
    first_seen,
    hex_ids,
    hosts,
    identifiers_frame,
    output_tokens,
    payments_frame,
    pick,
    population,
    prefixes,
    requests_dict,
    rng_for,
    truth_frame,
    waves,
    wrap,
)

THROWAWAY = ["gmail.com", "outlook.com", "proton.me", "mail.com", "tutamail.com", "yahoo.com"]
PREPAID_BINS = ["485953", "531993", "559666"]  # virtual/prepaid card issuers


def _assemble(rng, world: World, op_id: str, ids, created, cards, owner, ts, ip, ua, model, prompt, out_mean: float,
              devices, country="US", roles="worker", bins=None, domains=THROWAWAY) -> Part:
    req = requests_dict(rng, ids, owner, ts, ip, ua, model, prompt, out_mean, 0.5)
    pay = payments_frame(rng, world, ids, cards, created, country, bins)
    active = np.unique(owner)
    ident = identifiers_frame(ids[active], np.asarray(devices, dtype=object)[active], first_seen(owner, ts, len(ids))[active])
    accounts = accounts_frame(ids, created, pick(rng, domains, len(ids)), country)
    return Part(accounts, pay, ident, truth_frame(ids, op_id, roles), req)


def _ips_per_account(rng, pool: np.ndarray, n: int, k: int, owner: np.ndarray) -> np.ndarray:
    """Each account holds ``k`` IPs from ``pool`` and each request uses one of them."""
    held = pick(rng, pool, n * k).reshape(n, k)
    return held[owner, rng.integers(0, k, len(owner))]


def _models(rng, n: int, p_a: float) -> np.ndarray:
    return np.where(rng.random(n) < p_a, BASE_MODELS[0], BASE_MODELS[1])


def naive(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    rng = rng_for(seed, "op-naive-1")
    n, act = population(size, 40, scale, 8, 300)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - 2 * DAY + rng.integers(0, 20) * 3600 + rng.integers(0, 3600, n)  # one burst within an hour
    group = np.arange(n) % rng.integers(1, 4)
    cards = hex_ids(rng, 3, "card_", 16)[group]
    counts = volumes(rng, n, 300 * act, 0.4)
    owner = np.repeat(np.arange(n), counts)
    ts = clock_times(rng, len(owner), 0, "flat")
    ip = _ips_per_account(rng, hosts(rng, np.repeat(prefixes(rng, 1, DATACENTER_OCTETS), 12)), n, 2, owner)
    ua = pick(rng, SDK_UA[:2], n)[owner]
    prompt = text.templated(rng, [text.NAIVE_COT], np.zeros(len(owner), np.int64))
    devices = hex_ids(rng, 3, "dev_", 16)[group]  # the script host behind each card
    return _assemble(rng, world, "op-naive-1", ids, created, cards, owner, ts, ip, ua, _models(rng, len(owner), 0.7),
                     prompt, 2200, devices)


def reseller(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    rng = rng_for(seed, "op-reseller-1")
    n, act = population(size, 200, scale, 20, 90)
    n_cards = max(1, min(max(2, round(n / 20)), n - 1))
    ids = hex_ids(rng, n, "acct_")
    bursts = T0 - np.array([50, 30, 10]) * DAY + rng.integers(0, 24, 3) * 3600
    created = bursts[rng.integers(0, 3, n)] + rng.integers(0, 3600, n)
    cards = hex_ids(rng, n_cards, "card_", 16)[np.arange(n) % n_cards]
    roles = np.where(np.arange(n) < n_cards, "payer", "worker").astype(object)  # payers hold a card, barely send
    worker, ts = waves(rng, n - n_cards, 300, 0.15 * act, 2.0, "flat")
    payer_owner = np.repeat(np.arange(n_cards), rng.integers(0, 4, n_cards))
    owner = np.concatenate([worker + n_cards, payer_owner])
    ts = np.concatenate([ts, clock_times(rng, len(payer_owner), 0, "flat")])
    pool = hosts(rng, np.repeat(prefixes(rng, 4, DATACENTER_OCTETS), max(2, n // 16)))
    ip = _ips_per_account(rng, pool, n, 3, owner)
    ua = pick(rng, ["httpx/0.27.0", "aiohttp/3.9.5", "openai-python/1.30.1"], n)[owner]
    prompt = text.templated(rng, text.RESELLER, rng.choice(5, len(owner), p=[0.3, 0.25, 0.25, 0.1, 0.1]))
    devices = hex_ids(rng, max(2, n // 10), "dev_", 16)[rng.integers(0, max(2, n // 10), n)]
    return _assemble(rng, world, "op-reseller-1", ids, created, cards, owner, ts, ip, ua, _models(rng, len(owner), 0.6),
                     prompt, 1300, devices, country=pick(rng, ["US", "GB", "SG"], n), roles=roles)


def hydra(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    rng = rng_for(seed, "op-hydra-1")
    n, act = population(size, 250, scale, 20, 52)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - rng.integers(3600, 60 * DAY, n)
    wave_owner, wave_ts = waves(rng, n, 400, 0.06 * act, 1.5, "home", tz=-5)
    filler_counts = rng.poisson(0.43 * np.bincount(wave_owner, minlength=n))  # ~30% benign-looking filler
    filler_owner = np.repeat(np.arange(n), filler_counts)
    owner = np.concatenate([wave_owner, filler_owner])
    ts = np.concatenate([wave_ts, clock_times(rng, len(filler_owner), -5, "home")])
    filler = np.arange(len(owner)) >= len(wave_owner)
    ip = hosts(rng, pick(rng, world.residential, 2 * n))[rng.integers(0, 2 * n, len(owner))]  # rotating residential proxies
    ua = np.where(rng.random(n) < 0.5, pick(rng, BROWSER_UA, n), pick(rng, SDK_UA, n))[owner]
    variants = np.argsort(rng.random((n, len(text.HYDRA))), axis=1)[:, :5]  # each account's paraphrases
    n_used = rng.integers(3, 6, n)
    choice = variants[owner, (rng.random(len(owner)) * n_used[owner]).astype(np.int64)]
    prompt = text.templated(rng, text.HYDRA, choice)
    prompt[filler] = text.benign(rng, np.full(filler.sum(), "en", dtype=object))
    model = _models(rng, len(owner), 0.6)
    model[(ts >= RELEASE) & (rng.random(len(owner)) < 0.85)] = NEW_MODEL  # pivot to the new model at once
    part = _assemble(rng, world, "op-hydra-1", ids, created, hex_ids(rng, n, "card_", 16), owner, ts, ip, ua, model,
                     prompt, 1400, hex_ids(rng, n, "dev_", 16), country=pick(rng, ["US", "US", "GB", "CA"], n),
                     bins=PREPAID_BINS)
    part.requests["output_tokens"][filler] = output_tokens(rng, filler.sum(), 350, 0.9)
    return part


def agentic(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    rng = rng_for(seed, "op-agentic-1")
    n, act = population(size, 50, scale, 8, 128)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - np.array([28, 20, 12, 4])[rng.integers(0, 4, n)] * DAY + rng.integers(0, 6 * 3600, n)
    cards = hex_ids(rng, 4, "card_", 16)[rng.integers(0, rng.integers(2, 5), n)]
    episodes = rng.poisson(15 * act, n)
    episode_owner = np.repeat(np.arange(n), episodes)
    steps = rng.integers(4, 13, len(episode_owner))
    owner = np.repeat(episode_owner, steps)
    first = np.concatenate([[0], np.cumsum(steps)[:-1]])
    gap = rng.integers(5, 30, len(owner))
    gap[first] = 0
    episode = np.repeat(np.arange(len(steps)), steps)
    ts = wrap(clock_times(rng, len(steps), 0, "flat")[episode] + np.cumsum(gap) - np.cumsum(gap)[first][episode])
    ip = _ips_per_account(rng, hosts(rng, np.repeat(prefixes(rng, 6, CLOUD_OCTETS), 6)), n, 2, owner)
    ua = pick(rng, ["anthropic-sdk-python/0.25.0", "openai-python/1.30.1", "python-requests/2.31.0"], n)[owner]
    devices = hex_ids(rng, n, "dev_", 16)[np.sort(rng.integers(0, max(2, n // 7), n))]  # groups share a machine
    return _assemble(rng, world, "op-agentic-1", ids, created, cards, owner, ts, ip, ua, _models(rng, len(owner), 0.8),
                     text.agentic(rng, len(owner)), 900, devices)


def multilingual(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    rng = rng_for(seed, "op-zh-1")
    n, act = population(size, 50, scale, 8, 150)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - 15 * DAY + rng.integers(0, 10, n) * DAY + rng.integers(0, 2 * 3600, n)  # daily batches
    cards = hex_ids(rng, 3, "card_", 16)[rng.integers(0, 3, n)]
    counts = volumes(rng, n, 150 * act, 0.5)
    owner = np.repeat(np.arange(n), counts)
    ts = clock_times(rng, len(owner), 0, "flat")
    subnet = prefixes(rng, 2, CHINA_CLOUD_OCTETS)
    pools = [hosts(rng, np.repeat(subnet[s : s + 1], 10)) for s in (0, 1)]
    home = rng.integers(0, 2, n)
    ip = np.where(home[owner] == 0, _ips_per_account(rng, pools[0], n, 2, owner), _ips_per_account(rng, pools[1], n, 2, owner))
    ua = np.where(rng.random(n) < 0.7, pick(rng, SDK_UA[:3], n), pick(rng, BROWSER_UA, n))[owner]
    prompt = text.templated(rng, text.ZH_COT, rng.choice(2, len(owner), p=[0.8, 0.2]), zh=True)
    devices = hex_ids(rng, 4, "dev_", 16)[rng.integers(0, 4, n)]
    return _assemble(rng, world, "op-zh-1", ids, created, cards, owner, ts, ip, ua, _models(rng, len(owner), 0.5), prompt,
                     1800, devices, country=pick(rng, ["CN", "SG", "US"], n), domains=["qq.com", "163.com", "outlook.com", "gmail.com"])


def operations(seed: int, world: World, scale: float) -> list[Part]:
    return [f(seed, world, scale) for f in (naive, reseller, hydra, agentic, multilingual)]
