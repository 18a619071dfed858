"""Ordinary customers: the background every ring and look-alike group hides in.

Heavy-tailed volume (lognormal, a few power users and batch-job developers),
diurnal sessions in the user's own timezone, 1-3 home IPs in residential /24s
drawn from a large shared pool (so unrelated users sometimes share a /24),
~20% mobile users behind a handful of carrier CGNAT IPs shared by hundreds of
accounts, ~5% on commercial VPN exits, a few IPv6 homes, ~15% SDK clients, and
varied multilingual prompts plus popular "hub" templates used by very many users.
Carrier CGNAT users are the fourth look-alike: dense IP sharing, nothing else.
"""

from __future__ import annotations

import numpy as np

from graphlinker.sim import text
from graphlinker.sim.common import (
    BASE_MODELS,
    BROWSER_UA,
    DAY,
    MOBILE_UA,
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
    ipv6,
    payments_frame,
    pick,
    requests_dict,
    rng_for,
    scaled,
    session_times,
    truth_frame,
)

# code, share of users, UTC offset (hours), language, e-mail domains
COUNTRIES = [
    ("US", 0.30, -5, "en", "gmail.com|outlook.com|yahoo.com|icloud.com"), ("GB", 0.07, 0, "en", "gmail.com|outlook.com|btinternet.com"),
    ("IN", 0.10, 5.5, "en", "gmail.com|outlook.com|rediffmail.com"), ("DE", 0.07, 1, "de", "gmx.de|web.de|gmail.com"),
    ("ES", 0.04, 1, "es", "gmail.com|hotmail.es|outlook.com"), ("MX", 0.05, -6, "es", "gmail.com|hotmail.com"),
    ("CN", 0.08, 8, "zh", "qq.com|163.com|126.com"), ("RU", 0.06, 3, "ru", "yandex.ru|mail.ru"),
    ("BR", 0.05, -3, "en", "gmail.com|uol.com.br"), ("FR", 0.05, 1, "en", "gmail.com|orange.fr"),
    ("JP", 0.04, 9, "en", "gmail.com|yahoo.co.jp"), ("CA", 0.04, -5, "en", "gmail.com|outlook.com"),
    ("AU", 0.03, 10, "en", "gmail.com|bigpond.com"), ("NG", 0.02, 1, "en", "gmail.com|yahoo.com"),
]

_STEMS = "maple|orbit|cedar|pixel|harbor|nova|willow|quartz|ember|falcon|lumen|atlas".split("|")


def people(rng, n: int, countries=None) -> dict:
    """Country, timezone, language and personal e-mail domain for ``n`` people."""
    share = np.array([c[1] for c in COUNTRIES])
    c = rng.choice(len(COUNTRIES), n, p=share / share.sum()) if countries is None else np.asarray(countries)
    code = np.array([x[0] for x in COUNTRIES], dtype=object)[c]
    tz = np.array([x[2] for x in COUNTRIES])[c] - np.where(code == "US", rng.integers(0, 4, n), 0)
    lang = np.where(rng.random(n) < 0.8, np.array([x[3] for x in COUNTRIES], dtype=object)[c], "en")
    domain, u = np.empty(n, dtype=object), rng.random(n)
    for i, country in enumerate(COUNTRIES):
        options = np.array(country[4].split("|"), dtype=object)
        domain[c == i] = options[(u[c == i] * len(options)).astype(np.int64)]
    custom = rng.random(n) < 0.08  # a personal or small-business domain
    stems, numbers = pick(rng, _STEMS, custom.sum()), rng.integers(1, 999, custom.sum())
    domain[custom] = [f"{s}{k}.net" for s, k in zip(stems, numbers)]
    return {"country": code, "tz": tz, "lang": lang, "domain": domain}


def home_ips(rng, world: World, n: int, v6_share: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """Up to three home IPs per account (``(n, 3)`` array) and how many each has."""
    ips = hosts(rng, pick(rng, world.residential, 3 * n)).reshape(n, 3)
    v6 = rng.random(n) < v6_share
    ips[v6, 0] = ipv6(rng, int(v6.sum()))
    return ips, rng.choice([1, 2, 3], n, p=[0.5, 0.35, 0.15])


def home_of(rng, ips: np.ndarray, k: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """A home IP per request, the first (main) one most often."""
    j = np.minimum((rng.random(len(owner)) ** 2 * k[owner]).astype(np.int64), k[owner] - 1)
    return ips[owner, j]


def everyday_models(rng, owner: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Mostly each user's favourite model; a fifth of users try model-x after its release."""
    favourite = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    model = BASE_MODELS[np.where(rng.random(len(owner)) < 0.7, favourite[owner], rng.integers(0, 3, len(owner)))]
    adopter = rng.random(n) < 0.2
    model[adopter[owner] & (ts >= RELEASE) & (rng.random(len(owner)) < 0.4)] = NEW_MODEL
    return model


def everyday_prompts(rng, owner: np.ndarray, lang: np.ndarray, hub_share: float = 0.6) -> np.ndarray:
    """Own varied prompts; some users also use popular hub templates or ask for step-by-step solutions."""
    n_acc, n = len(lang), len(owner)
    prompt = text.benign(rng, lang[owner])
    hub = (rng.random(n_acc) < hub_share)[owner] & (rng.random(n) < 0.1)
    prompt[hub] = text.templated(rng, text.HUB_TEMPLATES, rng.integers(0, 3, hub.sum()))
    step = (rng.random(n_acc) < 0.1)[owner] & (rng.random(n) < 0.1) & ~hub
    prompt[step] = text.templated(rng, text.STEPWISE, rng.integers(0, 3, step.sum()))
    return prompt


def volumes(rng, n: int, mean: float, sigma: float = 1.3) -> np.ndarray:
    return np.round(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)).astype(np.int64)


def _requests(rng, world: World, ids, who: dict, activity: float = 1.0) -> tuple[dict, np.ndarray]:
    n = len(ids)
    counts = volumes(rng, n, 55 * activity)
    counts[rng.random(n) < 0.05] = 0  # signed up, never used the API
    counts[rng.random(n) < 0.01] *= 12  # power users
    batch = rng.random(n) < 0.003  # developers running one private batch job, round the clock
    counts[batch] = rng.integers(1500, 3000, batch.sum())
    if activity != 1.0:
        counts[batch] = np.round(counts[batch] * activity).astype(np.int64)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home")
    on_batch = batch[owner]
    ts[on_batch] = clock_times(rng, on_batch.sum(), 0, "flat")

    ips, k = home_ips(rng, world, n)
    ip = home_of(rng, ips, k, owner)
    carrier = np.where(rng.random(n) < 0.2, rng.choice(3, n, p=[0.5, 0.3, 0.2]), -1)
    mobile = (carrier[owner] >= 0) & (rng.random(len(owner)) < 0.6)
    for c, pool in enumerate(world.carriers):
        rows = mobile & (carrier[owner] == c)
        ip[rows] = pick(rng, pool, rows.sum())
    vpn = (rng.random(n) < 0.05)[owner] & (rng.random(len(owner)) < 0.3) & ~mobile
    ip[vpn] = pick(rng, world.vpn, vpn.sum())

    sdk = (rng.random(n) < 0.15) | batch
    ua = np.where(sdk, pick(rng, SDK_UA, n), pick(rng, BROWSER_UA, n))[owner]
    ua[mobile] = pick(rng, MOBILE_UA, n)[owner][mobile]
    prompt = everyday_prompts(rng, owner, who["lang"])
    prompt[on_batch] = text.templated(rng, text.BATCH, rng.integers(0, len(text.BATCH), n)[owner][on_batch])
    req = requests_dict(rng, ids, owner, ts, ip, ua, everyday_models(rng, owner, ts, n), prompt, 350, 0.9)
    req["output_tokens"][on_batch] = np.minimum(req["output_tokens"][on_batch], 40)
    return req, (owner, ts, carrier >= 0)


def benign(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> Part:
    """``size`` accounts (default 2,000 x scale); ``activity`` multiplies everyone's request volume."""
    rng = rng_for(seed, "benign")
    n = scaled(2000, scale, 100) if size is None else int(size)
    ids = hex_ids(rng, n, "acct_")
    who = people(rng, n)
    created = T0 - rng.integers(3600, 180 * DAY, n)
    org = np.full(n, None, dtype=object)
    in_org = rng.random(n) < 0.06
    org[in_org] = pick(rng, hex_ids(rng, max(1, in_org.sum() // 2), "org_", 8), in_org.sum())
    carded = rng.random(n) < 0.8
    pay = payments_frame(rng, world, ids[carded], hex_ids(rng, carded.sum(), "card_", 16), created[carded], who["country"][carded])
    req, (owner, ts, mobile) = _requests(rng, world, ids, who, activity)
    active = np.unique(owner)
    seen = first_seen(owner, ts, n)
    phones = active[mobile[active]]
    devices = identifiers_frame(np.concatenate([ids[active], ids[phones]]), hex_ids(rng, len(active) + len(phones), "dev_", 16),
                                np.concatenate([seen[active], seen[phones]]))
    accounts = accounts_frame(ids, created, who["domain"], who["country"], org)
    return Part(accounts, pay, devices, truth_frame(ids[:0], ""), req)
