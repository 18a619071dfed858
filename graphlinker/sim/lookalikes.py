"""Benign groups that share infrastructure like a ring does (truth role ``lookalike``).

* company teams: one org and e-mail domain, ONE corporate card, 1-2 office NAT IPs,
  business hours, half the team onboarded on one day, some SDK use — but varied prompts;
* university classes: one e-mail domain, a few campus NAT IPs in one /24, all accounts
  created within a week, lab machines with shared device fingerprints, and a shared
  homework template sent by every student, partly in the same lab-session minutes;
* families: 2-5 accounts on one card, one home IP and one shared tablet.
A detector that links on cards, IPs, devices, creation bursts or co-activity alone
flags all of these; what they send (varied, non-extraction prompts) sets them apart.

``companies``, ``universities`` and ``families`` generate a whole kind, ``(seed, world,
scale, size=None)`` -> list of Parts, where ``size`` is the kind's total number of
accounts. More kinds live in ``lookalikes_more.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.sim import text
from graphlinker.sim.benign import COUNTRIES, everyday_models, everyday_prompts, home_ips, home_of, people, volumes
from graphlinker.sim.common import (
    BROWSER_UA,
    DAY,
    REQUEST_BUDGET,
    SDK_UA,
    T0,
    WEEKDAYS,
    Part,
    World,
    accounts_frame,
    first_seen,
    hex_ids,
    hosts,
    identifiers_frame,
    payments_frame,
    pick,
    prefixes,
    requests_dict,
    rng_for,
    scaled,
    session_times,
    split_total,
    truth_frame,
)

_COUNTRY = {c[0]: i for i, c in enumerate(COUNTRIES)}
COMPANIES = [("US", "northwind-analytics.com", 36), ("DE", "kessler-logistik.de", 18)]
FAMILY_SIZES = [2, 2, 3, 3, 4, 5]
UNIVERSITIES = [("US", "cs.uni-x.edu", 90, [128, 129, 130]), ("GB", "cs.westmoor.ac.uk", 40, [131, 137, 144])]


def _group(rng, world: World, ids, who, owner, ts, ip, ua, op_id: str, created, cards, org=None, out_mean=380.0) -> Part:
    """Accounts, payments (``cards`` aligned with ``ids``, None = no card), one own device each, truth rows."""
    n = len(ids)
    prompt = everyday_prompts(rng, owner, who["lang"])
    req = requests_dict(rng, ids, owner, ts, ip, ua, everyday_models(rng, owner, ts, n), prompt, out_mean, 0.9)
    has = np.array([c is not None for c in cards])
    pay = payments_frame(rng, world, ids[has], cards[has], created[has], who["country"][has])
    seen = first_seen(owner, ts, n)
    devices = identifiers_frame(ids, hex_ids(rng, n, "dev_", 16), seen)
    return Part(accounts_frame(ids, created, who["domain"], who["country"], org), pay, devices, truth_frame(ids, op_id, "lookalike"), req)


def company(seed: int, world: World, k: int, scale: float, n: int | None = None, act: float = 1.0) -> Part:
    rng = rng_for(seed, f"company-{k}")
    country, domain, size = COMPANIES[(k - 1) % len(COMPANIES)]
    n = scaled(size, scale, 6) if n is None else n
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n, np.full(n, _COUNTRY[country]))
    who["domain"] = np.full(n, domain, dtype=object)
    onboarding = T0 - rng.integers(40, 150) * DAY + 9 * 3600
    created = np.where(rng.random(n) < 0.5, onboarding + rng.integers(0, 8 * 3600, n), onboarding + rng.integers(DAY, 35 * DAY, n))
    counts = volumes(rng, n, 80 * act, 1.0)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "office", days=WEEKDAYS)
    office = hosts(rng, np.repeat(prefixes(rng, 1, [63, 66, 96, 208]), rng.integers(1, 3)))
    ip = np.where(rng.random(len(owner)) < 0.8, pick(rng, office, len(owner)), home_of(rng, *home_ips(rng, world, n), owner))
    ua = np.where(rng.random(n) < 0.3, pick(rng, SDK_UA, n), pick(rng, BROWSER_UA, n))[owner]
    card = np.full(n, hex_ids(rng, 1, "card_", 16)[0], dtype=object)  # the corporate card
    org = np.full(n, hex_ids(rng, 1, "org_", 8)[0], dtype=object)
    return _group(rng, world, ids, who, owner, ts, ip, ua, f"lookalike-company-{k}", created, card, org, 420.0)


def university(seed: int, world: World, k: int, scale: float, n: int | None = None, act: float = 1.0) -> Part:
    rng = rng_for(seed, f"university-{k}")
    country, domain, size, octets = UNIVERSITIES[(k - 1) % len(UNIVERSITIES)]
    n = scaled(size, scale, 10) if n is None else n
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n, np.full(n, _COUNTRY[country]))
    who["domain"] = np.full(n, domain, dtype=object)
    term = T0 - rng.integers(10, 25) * DAY + 8 * 3600
    created = term + np.where(rng.random(n) < 0.5, rng.integers(0, 10 * 3600, n), rng.integers(0, 7 * DAY - 10 * 3600, n))
    campus = hosts(rng, np.repeat(prefixes(rng, 1, octets), 3))
    counts = volumes(rng, n, 22 * act, 0.9)
    homework = rng.integers(2, 6, n)
    owner = np.repeat(np.arange(n), counts + homework)
    start = np.concatenate([[0], np.cumsum(counts + homework)[:-1]])
    is_hw = np.arange(len(owner)) - start[owner] >= counts[owner]  # each student's last few requests
    ts = session_times(rng, owner, counts + homework, who["tz"], "class")
    lab = is_hw & (rng.random(len(owner)) < 0.6)  # sent during one of two two-hour lab sessions
    lab_day = rng.choice([8, 22], lab.sum())
    local_two_pm = np.round((14 - who["tz"][owner[lab]]) * 3600).astype(np.int64)
    ts[lab] = T0 + lab_day * DAY + local_two_pm + rng.integers(0, 7200, lab.sum())
    on_campus = lab | (rng.random(len(owner)) < 0.5)
    ip = np.where(on_campus, pick(rng, campus, len(owner)), home_of(rng, *home_ips(rng, world, n), owner))
    ua = pick(rng, BROWSER_UA, n)[owner]
    cards = np.where(rng.random(n) < 0.4, hex_ids(rng, n, "card_", 16), None)
    part = _group(rng, world, ids, who, owner, ts, ip, ua, f"lookalike-university-{k}", created, cards, out_mean=330.0)
    part.requests["prompt"][is_hw] = text.templated(rng, [text.HOMEWORK], np.zeros(is_hw.sum(), np.int64))
    machines = hex_ids(rng, 8, "dev_", 16)  # identical lab PCs fingerprint identically
    students = np.unique(owner[lab])
    lab_devices = identifiers_frame(ids[students], pick(rng, machines, len(students)), first_seen(owner[lab], ts[lab], n)[students])
    part.identifiers = pd.concat([part.identifiers, lab_devices], ignore_index=True)
    return part


def family(seed: int, world: World, k: int, n: int | None = None, act: float = 1.0) -> Part:
    rng = rng_for(seed, f"family-{k}")
    drawn = int(rng.choice(FAMILY_SIZES))
    n = drawn if n is None else n
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n, np.full(n, rng.choice(len(COUNTRIES))))
    created = T0 - rng.integers(DAY, 180 * DAY, n)
    counts = volumes(rng, n, 50 * act)
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home")
    ips, kk = home_ips(rng, world, n, v6_share=0.0)
    ip = np.where(rng.random(len(owner)) < 0.8, ips[0, 0], home_of(rng, ips, kk, owner))  # the shared home line
    ua = pick(rng, BROWSER_UA, n)[owner]
    card = np.full(n, hex_ids(rng, 1, "card_", 16)[0], dtype=object)
    part = _group(rng, world, ids, who, owner, ts, ip, ua, f"lookalike-family-{k}", created, card)
    tablet = identifiers_frame(ids, np.full(n, hex_ids(rng, 1, "dev_", 16)[0], dtype=object), first_seen(owner, ts, n))
    part.identifiers = pd.concat([part.identifiers, tablet], ignore_index=True)
    return part


def lookalikes(seed: int, world: World, scale: float) -> list[Part]:
    parts = [company(seed, world, k, scale) for k in (1, 2)] + [university(seed, world, k, scale) for k in (1, 2)]
    return parts + [family(seed, world, k) for k in range(1, scaled(20, scale, 4) + 1)]


def _shares(total: int, weights) -> list[int]:
    """``total`` accounts split over groups in proportion to ``weights`` (every group keeps at least one while it can)."""
    weights = np.asarray(weights, dtype=float)
    k = min(len(weights), max(1, total))
    raw = np.floor(total * weights[:k] / weights[:k].sum()).astype(int)
    raw = np.maximum(raw, 1)
    raw[0] += total - raw.sum()
    return [int(x) for x in raw]


def companies(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    """Two company teams; ``size`` accounts in total are split between them as 36:18."""
    if size is None:
        return [company(seed, world, k, scale, act=activity) for k in (1, 2)]
    act = min(1.0, REQUEST_BUDGET / (size * 80)) * activity
    return [company(seed, world, k, scale, m, act) for k, m in enumerate(_shares(size, [c[2] for c in COMPANIES]), 1)]


def universities(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    """Two university classes; ``size`` accounts in total are split between them as 90:40."""
    if size is None:
        return [university(seed, world, k, scale, act=activity) for k in (1, 2)]
    act = min(1.0, REQUEST_BUDGET / (size * 26)) * activity
    return [university(seed, world, k, scale, m, act) for k, m in enumerate(_shares(size, [u[2] for u in UNIVERSITIES]), 1)]


def families(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    """Households of 2-5; ``size`` accounts in total are cut into households (about one per 3.2 accounts)."""
    if size is None:
        return [family(seed, world, k, act=activity) for k in range(1, scaled(20, scale, 4) + 1)]
    households = split_total(rng_for(seed, "family-sizes"), size, FAMILY_SIZES)
    act = min(1.0, REQUEST_BUDGET / (size * 50)) * activity
    return [family(seed, world, k, int(m), act) for k, m in enumerate(households, 1)]
