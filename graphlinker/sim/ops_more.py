"""More distillation campaigns, for a leave-one-archetype-out benchmark (truth roles ``worker``/``payer``).

Each archetype differs from the others in what it sends and in how it hides (scale-1 sizes):

* grader (60): grader / reward-model labels ("score this response 1-10", rubrics, 7 phrasings, ~70% tagged);
  ~6 accounts per card, cloud /24s, orchestrated waves round the clock, SDK, weekly creation batches;
* codegen (120): code generation at scale (20 languages, algorithms, endpoints, ports, reviews; no tags);
  4 accounts per card, one datacenter VM per account, steady machine cadence for weeks, two creation
  bursts, SDK, output-heavy;
* translation (80): translation and multilingual harvesting (8 source x 14 target languages, English
  or Chinese instructions; no tags); prepaid cards shared by pairs, cloud IPs, business-hours mimicry
  in UTC+8 on weekdays, browser user agents (headless browsers), creation spread over 50 days;
* preference (70): preference pairs ("two answers, pick the better", 6 phrasings, ~1/3 tagged); one
  card per account, rotating residential proxies, waves in US evening hours, half browser;
* longdoc (40): long-document Q&A (pasted 2-8 KB contracts, reports, postmortems + a question; no
  tags); poses as a start-up: one org, one domain, one corporate card, office hours, cloud IPs;
* math (60): competition maths with full solutions (AMC/AIME/olympiad problems; no tags); one prepaid
  card per account, commercial VPN exits shared with ordinary VPN users, waves, output-heavy;
* refusal (30): refusal probing (15 borderline requests x 10 framings, walked through systematically
  by each account; no tags); looks human: own card, own home IPs, browser, evening sessions, small
  volumes, accounts made in clumps of ~5 over three months;
* release (150): release-day pivot: aged, dormant accounts (a trickle of ordinary prompts from home
  IPs) that switch en masse onto model-x within an hour of RELEASE and then run at machine cadence
  from cloud IPs with capability-probe prompts (no tags); 5 accounts per card, output-heavy;
* proxy (300): a reseller / proxy network that resells API access: ~15 accounts per card plus payer
  accounts, one egress pool of datacenter IPs that every account rotates through, its own harvesting
  template in waves (tagged) mixed with its customers' varied traffic (languages, code, batch jobs,
  all user agents) at customers' hours;
* lowslow (400): low-and-slow: a couple of requests a day per account at human hours in the account's
  own timezone for the whole month, own card and home IPs, browser, 40% everyday filler, knowledge
  harvesting in 10 paraphrases (no tags), creation spread over four months, half pivot to model-x;
* dialogue (80): synthetic multi-turn chats (support role-plays, continuations; no tags); a phone farm:
  mobile user agents, carrier CGNAT IPs shared with ordinary mobile users, devices shared by groups of
  four, prepaid cards shared by ten, one creation afternoon, business-hours mimicry.

Every generator takes ``(seed, world, scale, size=None)`` and returns one ``Part``; ``size`` fixes the
number of accounts (see ``common.population`` for the request budget of explicit sizes).
"""

from __future__ import annotations

import numpy as np

from graphlinker.sim import text, text_more
from graphlinker.sim.benign import everyday_models, home_ips, home_of, people, volumes
from graphlinker.sim.common import (
    BASE_MODELS,
    BROWSER_UA,
    CLOUD_OCTETS,
    DATACENTER_OCTETS,
    DAY,
    MOBILE_UA,
    NEW_MODEL,
    RELEASE,
    SDK_UA,
    T0,
    WEEKDAYS,
    WINDOW,
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
    rank_in_account,
    requests_dict,
    rng_for,
    session_times,
    steady_times,
    truth_frame,
    waves,
)
from graphlinker.sim.ops import PREPAID_BINS, THROWAWAY, _ips_per_account, _models


def _part(rng, world: World, op_id: str, ids, created, cards, owner, ts, ip, ua, model, prompt, out_mean: float,
          devices, country, domain, roles="worker", bins=None, org=None, out_sigma: float = 0.5) -> Part:
    """Accounts, cards (``cards`` aligned with ``ids``), devices of active accounts, truth and requests."""
    n = len(ids)
    country = np.broadcast_to(np.asarray(country, dtype=object), n)
    req = requests_dict(rng, ids, owner, ts, ip, ua, model, prompt, out_mean, out_sigma)
    pay = payments_frame(rng, world, ids, cards, created, country, bins)
    active = np.unique(owner)
    ident = identifiers_frame(ids[active], np.asarray(devices, dtype=object)[active], first_seen(owner, ts, n)[active])
    return Part(accounts_frame(ids, created, domain, country, org), pay, ident, truth_frame(ids, op_id, roles), req)


def _shared(rng, n: int, per: int, prefix: str) -> np.ndarray:
    """One id per group of ``per`` consecutive accounts (cards, devices)."""
    k = max(1, -(-n // per))
    return hex_ids(rng, k, prefix, 16)[np.arange(n) // per]


def _pool(rng, octets, subnets: int, per_subnet: int) -> np.ndarray:
    return hosts(rng, np.repeat(prefixes(rng, subnets, octets), per_subnet))


def _set_outputs(rng, part: Part, rows: np.ndarray, mean: float, sigma: float = 0.9) -> None:
    part.requests["output_tokens"][rows] = output_tokens(rng, int(np.sum(rows)), mean, sigma)


def grader(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-grader-1"
    rng = rng_for(seed, op)
    n, act = population(size, 60, scale, 6, 120)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - np.array([35, 28, 21, 14])[rng.integers(0, 4, n)] * DAY + rng.integers(0, 4 * 3600, n)
    owner, ts = waves(rng, n, 250, 0.12 * act, 4.0, "flat", spread=120)
    ip = _ips_per_account(rng, _pool(rng, CLOUD_OCTETS, 3, max(3, n // 8)), n, 2, owner)
    ua = pick(rng, ["httpx/0.27.0", "aiohttp/3.9.5", "openai-python/1.30.1"], n)[owner]
    return _part(rng, world, op, ids, created, _shared(rng, n, 6, "card_"), owner, ts, ip, ua, _models(rng, len(owner), 0.5),
                 text_more.grader(rng, len(owner)), 450, _shared(rng, n, 8, "dev_"), pick(rng, ["US", "IN", "US", "GB"], n),
                 pick(rng, THROWAWAY, n))


def codegen(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-codegen-1"
    rng = rng_for(seed, op)
    n, act = population(size, 120, scale, 8, 150)
    ids = hex_ids(rng, n, "acct_")
    bursts = T0 - np.array([25, 9]) * DAY + rng.integers(8, 20, 2) * 3600
    created = bursts[rng.integers(0, 2, n)] + rng.integers(0, 2 * 3600, n)
    counts = volumes(rng, n, 150 * act, 0.3)
    start = T0 + rng.integers(0, 3 * DAY, n)
    owner, ts = steady_times(rng, counts, start, T0 + WINDOW - rng.integers(1, 3 * DAY, n))
    ip = pick(rng, _pool(rng, DATACENTER_OCTETS, 3, max(4, n // 3)), n)[owner]  # one VM per account
    group = np.arange(n) // 4
    ua = pick(rng, ["node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "Go-http-client/2.0", "curl/8.5.0"],
              int(group[-1]) + 1)[group][owner]
    return _part(rng, world, op, ids, created, _shared(rng, n, 4, "card_"), owner, ts, ip, ua,
                 _models(rng, len(owner), 0.3), text_more.codegen(rng, len(owner)), 2600, _shared(rng, n, 4, "dev_"), "US",
                 pick(rng, THROWAWAY, n))


def translation(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-translation-1"
    rng = rng_for(seed, op)
    n, act = population(size, 80, scale, 6, 100)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - rng.integers(3600, 50 * DAY, n)
    counts = volumes(rng, n, 100 * act, 0.5)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, np.full(n, 8.0), "office", mean_len=8, spread=2400, days=WEEKDAYS)
    ip = _ips_per_account(rng, _pool(rng, CLOUD_OCTETS, 4, max(4, n // 6)), n, 3, owner)
    ua = pick(rng, BROWSER_UA[:3], n)[owner]  # headless Chrome
    return _part(rng, world, op, ids, created, _shared(rng, n, 2, "card_"), owner, ts, ip, ua, _models(rng, len(owner), 0.4),
                 text_more.translation(rng, len(owner)), 500, _shared(rng, n, 10, "dev_"),
                 pick(rng, ["CN", "HK", "SG", "TW"], n), pick(rng, ["qq.com", "163.com", "gmail.com", "outlook.com"], n),
                 bins=PREPAID_BINS)


def preference(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-preference-1"
    rng = rng_for(seed, op)
    n, act = population(size, 70, scale, 6, 60)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - rng.integers(3600, 45 * DAY, n)
    owner, ts = waves(rng, n, 300, 0.05 * act, 4.0, "home", tz=-5, spread=300)
    ip = hosts(rng, pick(rng, world.residential, 2 * n))[rng.integers(0, 2 * n, len(owner))]  # rotating residential proxies
    ua = np.where(rng.random(n) < 0.5, pick(rng, BROWSER_UA, n), pick(rng, SDK_UA, n))[owner]
    return _part(rng, world, op, ids, created, hex_ids(rng, n, "card_", 16), owner, ts, ip, ua,
                 _models(rng, len(owner), 0.6), text_more.preference(rng, len(owner)), 220, hex_ids(rng, n, "dev_", 16),
                 pick(rng, ["US", "US", "CA", "GB"], n), pick(rng, THROWAWAY, n))


def longdoc(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-longdoc-1"
    rng = rng_for(seed, op)
    n, act = population(size, 40, scale, 4, 50, budget=40_000)  # 2-8 KB prompts: a smaller budget
    ids = hex_ids(rng, n, "acct_")
    onboarding = T0 - rng.integers(30, 60) * DAY + 17 * 3600
    created = onboarding + rng.integers(0, 14 * DAY, n)
    counts = volumes(rng, n, 50 * act, 0.6)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, np.full(n, -8.0), "office", mean_len=5, spread=3600, days=WEEKDAYS)
    ip = pick(rng, _pool(rng, CLOUD_OCTETS, 2, 4), len(owner))
    ua = pick(rng, ["anthropic-sdk-python/0.25.0", "openai-python/1.30.1"], n)[owner]
    card = np.full(n, hex_ids(rng, 1, "card_", 16)[0], dtype=object)
    org = np.full(n, hex_ids(rng, 1, "org_", 8)[0], dtype=object)
    domain = pick(rng, ["docuquery.ai", "lexiread.io", "paperpilot.app"], 1)[0]
    return _part(rng, world, op, ids, created, card, owner, ts, ip, ua, _models(rng, len(owner), 0.5),
                 text_more.long_documents(rng, len(owner)), 500, hex_ids(rng, n, "dev_", 16), "US", domain, org=org)


def math(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-math-1"
    rng = rng_for(seed, op)
    n, act = population(size, 60, scale, 6, 90)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - np.array([21, 14, 7])[rng.integers(0, 3, n)] * DAY + rng.integers(0, 12 * 3600, n)
    owner, ts = waves(rng, n, 300, 0.1 * act, 3.0, "flat", spread=60)
    ip = _ips_per_account(rng, world.vpn, n, 3, owner)  # commercial VPN exits ordinary users share too
    ua = pick(rng, SDK_UA[:4], n)[owner]
    return _part(rng, world, op, ids, created, hex_ids(rng, n, "card_", 16), owner, ts, ip, ua,
                 _models(rng, len(owner), 0.7), text_more.competition(rng, len(owner)), 3000, hex_ids(rng, n, "dev_", 16),
                 pick(rng, ["US", "DE", "KR", "VN", "IN"], n), pick(rng, THROWAWAY, n), bins=PREPAID_BINS)


def refusal(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-refusal-1"
    rng = rng_for(seed, op)
    n, act = population(size, 30, scale, 5, 40)
    ids = hex_ids(rng, n, "acct_")
    clump = np.arange(n) // 5  # the operator sits down and makes ~5 accounts at a time
    when = T0 - rng.integers(1, 90, int(clump[-1]) + 1) * DAY + rng.integers(17, 23, int(clump[-1]) + 1) * 3600
    created = when[clump] + rng.integers(0, 1800, n)
    counts = np.maximum(1, volumes(rng, n, 40 * act, 0.5))
    owner = np.repeat(np.arange(n), counts)
    tz = pick(rng, [-5.0, -6.0, -8.0, 0.0, 1.0], n).astype(float)
    ts = session_times(rng, owner, counts, tz, "home", mean_len=3, spread=900)
    ip = home_of(rng, *home_ips(rng, world, n, v6_share=0.0), owner)
    ua = pick(rng, BROWSER_UA, n)[owner]
    # systematic probing: every account walks the requests x framings grid from its own starting point
    k = rank_in_account(counts)
    frames = len(text_more.REFUSAL_FRAME)
    ask = (rng.integers(0, len(text_more.REFUSAL_ASK), n)[owner] + k // frames) % len(text_more.REFUSAL_ASK)
    prompt = text_more.refusal(rng, ask, k % frames)
    return _part(rng, world, op, ids, created, hex_ids(rng, n, "card_", 16), owner, ts, ip, ua,
                 _models(rng, len(owner), 0.5), prompt, 250, hex_ids(rng, n, "dev_", 16),
                 pick(rng, ["US", "US", "GB", "CA"], n), pick(rng, THROWAWAY, n), out_sigma=0.7)


def release(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-release-1"
    rng = rng_for(seed, op)
    n, act = population(size, 150, scale, 8, 82)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - rng.integers(30, 120, n) * DAY + rng.integers(0, DAY, n)
    quiet = rng.poisson(1.5, n)  # dormant: a trickle of ordinary use before the release
    quiet_owner = np.repeat(np.arange(n), quiet)
    quiet_ts = session_times(rng, quiet_owner, quiet, np.full(n, -5.0), "home", days=np.arange(20))
    start = RELEASE + rng.integers(0, 3600, n)  # every account switches within the first hour
    busy = np.maximum(1, volumes(rng, n, 80 * act, 0.4))
    busy_owner, busy_ts = steady_times(rng, busy, start, start + rng.integers(3 * DAY, 6 * DAY, n))
    busy_ts[rank_in_account(busy) == 0] = start  # the first call on model-x comes the moment the account switches
    owner = np.concatenate([quiet_owner, busy_owner])
    ts = np.concatenate([quiet_ts, busy_ts])
    busy = np.arange(len(owner)) >= len(quiet_owner)
    home = home_of(rng, *home_ips(rng, world, n, v6_share=0.0), owner)
    ip = np.where(busy, _ips_per_account(rng, _pool(rng, CLOUD_OCTETS, 5, max(3, n // 10)), n, 2, owner), home)
    ua = np.where(busy, pick(rng, SDK_UA[:3], n)[owner], pick(rng, BROWSER_UA, n)[owner])
    model = np.where(busy, NEW_MODEL, BASE_MODELS[rng.integers(0, 3, len(owner))])
    prompt = text_more.release(rng, len(owner))
    prompt[~busy] = text.benign(rng, np.full(int((~busy).sum()), "en", dtype=object))
    part = _part(rng, world, op, ids, created, _shared(rng, n, 5, "card_"), owner, ts, ip, ua, model, prompt, 2000,
                 hex_ids(rng, n, "dev_", 16), pick(rng, ["US", "GB", "SG", "AE"], n), pick(rng, THROWAWAY, n))
    _set_outputs(rng, part, ~busy, 350)
    return part


def proxy(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-proxy-1"
    rng = rng_for(seed, op)
    n, act = population(size, 300, scale, 12, 70)
    n_cards = max(1, min(max(2, round(n / 15)), n - 1))
    ids = hex_ids(rng, n, "acct_")
    created = T0 - rng.integers(10, 90, n) * DAY + rng.integers(0, DAY, n)
    cards = hex_ids(rng, n_cards, "card_", 16)[np.arange(n) % n_cards]
    roles = np.where(np.arange(n) < n_cards, "payer", "worker").astype(object)
    workers = n - n_cards
    who = people(rng, workers)  # the customers behind the workers: their languages and timezones
    harvest_owner, harvest_ts = waves(rng, workers, 200, 0.06 * act, 2.0, "flat")
    counts = volumes(rng, workers, 46 * act, 1.0)
    customer_owner = np.repeat(np.arange(workers), counts)
    customer_ts = session_times(rng, customer_owner, counts, who["tz"], "home")
    payer_owner = np.repeat(np.arange(n_cards), rng.integers(0, 3, n_cards))
    owner = np.concatenate([harvest_owner + n_cards, customer_owner + n_cards, payer_owner])
    ts = np.concatenate([harvest_ts, customer_ts, clock_times(rng, len(payer_owner), 0, "flat")])
    harvest = np.arange(len(owner)) < len(harvest_owner)
    customer = ~harvest & (np.arange(len(owner)) < len(harvest_owner) + len(customer_owner))
    egress = np.concatenate([_pool(rng, DATACENTER_OCTETS, 4, max(3, n // 25)), _pool(rng, CLOUD_OCTETS, 2, max(3, n // 50))])
    ip = pick(rng, egress, len(owner))  # every account rotates through the whole egress pool
    ua = pick(rng, np.concatenate([SDK_UA, BROWSER_UA, MOBILE_UA]), len(owner))  # customers' own clients
    ua[harvest] = "python-requests/2.31.0"
    model = _models(rng, len(owner), 0.6)
    model[customer] = everyday_models(rng, customer_owner, customer_ts, workers)
    prompt = text_more.proxy_harvest(rng, len(owner))
    c_rows = np.flatnonzero(customer)
    kind = rng.choice(3, len(c_rows), p=[0.6, 0.2, 0.2])
    prompt[c_rows[kind == 0]] = text.benign(rng, who["lang"][customer_owner[kind == 0]])
    prompt[c_rows[kind == 1]] = text_more.codegen(rng, int((kind == 1).sum()))
    prompt[c_rows[kind == 2]] = text.templated(rng, text.BATCH, rng.integers(0, len(text.BATCH), int((kind == 2).sum())))
    part = _part(rng, world, op, ids, created, cards, owner, ts, ip, ua, model, prompt, 1500,
                 _shared(rng, n, 30, "dev_"), pick(rng, ["US", "SG", "HK", "RU", "GB"], n), pick(rng, THROWAWAY, n), roles)
    _set_outputs(rng, part, ~harvest, 350)
    return part


def lowslow(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-lowslow-1"
    rng = rng_for(seed, op)
    n, act = population(size, 400, scale, 10, 60)
    ids = hex_ids(rng, n, "acct_")
    who = people(rng, n)
    created = T0 - rng.integers(DAY, 120 * DAY, n)
    counts = volumes(rng, n, 60 * act, 0.35)  # about two a day, every day
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home", mean_len=1.6, spread=900)
    ip = home_of(rng, *home_ips(rng, world, n), owner)  # sticky residential IPs, like a home line
    ua = np.where(rng.random(n) < 0.85, pick(rng, BROWSER_UA, n), pick(rng, MOBILE_UA, n))[owner]
    filler = rng.random(len(owner)) < 0.4
    prompt = text_more.lowslow(rng, len(owner))
    prompt[filler] = text.benign(rng, who["lang"][owner[filler]])
    model = _models(rng, len(owner), 0.5)
    pivot = (rng.random(n) < 0.5)[owner] & (ts >= RELEASE) & (rng.random(len(owner)) < 0.8)
    model[pivot] = NEW_MODEL
    part = _part(rng, world, op, ids, created, hex_ids(rng, n, "card_", 16), owner, ts, ip, ua, model, prompt, 900,
                 hex_ids(rng, n, "dev_", 16), who["country"], who["domain"], out_sigma=0.8)
    _set_outputs(rng, part, filler, 350)
    return part


def dialogue(seed: int, world: World, scale: float, size: int | None = None) -> Part:
    op = "op-dialogue-1"
    rng = rng_for(seed, op)
    n, act = population(size, 80, scale, 6, 100)
    ids = hex_ids(rng, n, "acct_")
    created = T0 - 6 * DAY + 13 * 3600 + rng.integers(0, 4 * 3600, n)  # one afternoon
    counts = volumes(rng, n, 100 * act, 0.5)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, np.full(n, -5.0), "office", mean_len=6, spread=1800, days=WEEKDAYS)
    carrier = rng.integers(0, len(world.carriers), n)[owner]  # mobile proxies: carrier CGNAT shared with real phones
    ip = np.empty(len(owner), dtype=object)
    for c, pool in enumerate(world.carriers):
        rows = carrier == c
        ip[rows] = pick(rng, pool, int(rows.sum()))
    ua = pick(rng, MOBILE_UA, n)[owner]
    return _part(rng, world, op, ids, created, _shared(rng, n, 10, "card_"), owner, ts, ip, ua,
                 _models(rng, len(owner), 0.6), text_more.dialogue(rng, len(owner)), 1200, _shared(rng, n, 4, "dev_"), "US",
                 pick(rng, THROWAWAY, n), bins=PREPAID_BINS)


OPERATIONS_MORE = {"grader": grader, "codegen": codegen, "translation": translation, "preference": preference,
                   "longdoc": longdoc, "math": math, "refusal": refusal, "release": release, "proxy": proxy,
                   "lowslow": lowslow, "dialogue": dialogue}
