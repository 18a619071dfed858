"""More benign groups that look like rings on one axis or another (truth role ``lookalike``).

* carrier_nat (300 users): a carrier NAT / VPN exit pool: unrelated ordinary users of one country,
  each with their own card, devices, varied prompts and home line, whose traffic goes mostly (75%)
  through a handful of shared carrier IPs and two VPN exits; dense IP sharing, nothing else;
* batch_dev (3 developers, 1-3 accounts each): a developer running a batch job: one card, one SDK,
  one cloud VM, a flat round-the-clock cadence for days, ONE templated prompt (product copy, ticket
  triage, ...) at high volume with short outputs;
* eval_team (12): an evaluation team at a research lab that legitimately sends grader / rubric prompts
  (tagged grader_prompt) through its harness: one org and e-mail domain, a corporate card, office
  IPs, business hours, onboarding burst, mostly SDK;
* jailbreak (40): unrelated users of one public jailbreak template: independent people with their own
  cards, IPs, domains and timezones, each pasting the same famous template now and then among their
  ordinary prompts;
* agency (25): a marketing agency that runs many client accounts: one office IP range and one SDK
  automation, but every client account has its own card and e-mail domain; business-hours traffic of
  varied marketing and content tasks for each client's brand.
* online_course (60): students of an online statistics course: people of many countries and timezones, each
  with their own card (a few on the free tier), home line and device; most on IPv6 broadband with privacy
  addresses (a new address in their home's /64 every day), a request or two per evening session, half of them
  the course's homework templates (some asking to see the working), accounts made the week the course opened.

Every generator takes ``(seed, world, scale, size=None)`` and returns a list of ``Part``; ``size`` is
the total number of accounts of the kind (batch_dev: cut into developers of 1-3 accounts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.sim import text_more
from graphlinker.sim.benign import everyday_models, home_ips, home_of, people, volumes
from graphlinker.sim.common import (
    BROWSER_UA,
    CARRIER_PREFIXES,
    CLOUD_OCTETS,
    DAY,
    MOBILE_UA,
    REQUEST_BUDGET,
    SDK_UA,
    T0,
    WEEKDAYS,
    WINDOW,
    Part,
    World,
    accounts_frame,
    first_seen,
    hex_ids,
    hosts,
    identifiers_frame,
    input_tokens,
    ipv6_privacy,
    output_tokens,
    payments_frame,
    pick,
    population,
    prefixes,
    requests_dict,
    rng_for,
    scaled,
    session_times,
    split_total,
    steady_times,
    truth_frame,
)
from graphlinker.sim.lookalikes import _COUNTRY, _group

LABS = [("US", "evals.meridian-labs.ai", -8.0), ("GB", "eval.northstar-research.org", 0.0)]
_BRAND_STEMS = "Maple|Orbit|Cedar|Pixel|Harbor|Nova|Willow|Quartz|Ember|Falcon|Lumen|Atlas|Juniper|Basil|Coral|Tidal".split("|")
_BRAND_KINDS = "Goods|Supply|Kitchen|Wellness|Outdoors|Home|Pet|Studio|Coffee|Cycles|Skincare|Books".split("|")


def _reprompt(rng, part: Part, rows: np.ndarray, prompts: np.ndarray, out_mean: float | None = None) -> None:
    """Replace the prompts of ``rows`` (and their input token counts; optionally their outputs)."""
    part.requests["prompt"][rows] = prompts
    part.requests["input_tokens"][rows] = input_tokens(rng, prompts)
    if out_mean is not None:
        part.requests["output_tokens"][rows] = output_tokens(rng, len(prompts), out_mean, 0.6)


def carrier_nat(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    op = "lookalike-carrier_nat-1"
    rng = rng_for(seed, op)
    n, act = population(size, 300, scale, 20, 55)
    act *= activity  # the background's --benign-activity applies to look-alikes too
    ids = hex_ids(rng, n, "acct_")
    who = people(rng, n, np.full(n, _COUNTRY["DE"]))  # one national carrier
    created = T0 - rng.integers(3600, 180 * DAY, n)
    counts = np.maximum(1, volumes(rng, n, 55 * act))
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home")
    handful = int(np.clip(round(n / 50), 3, 12))
    nat = hosts(rng, np.repeat(np.array([CARRIER_PREFIXES[3]], dtype=object), handful))
    shared = pd.unique(np.concatenate([nat, pick(rng, world.vpn, 2)]))
    behind = rng.random(len(owner)) < 0.75
    ip = np.where(behind, pick(rng, shared, len(owner)), home_of(rng, *home_ips(rng, world, n), owner))
    mobile = rng.random(n) < 0.6
    ua = np.where(mobile, pick(rng, MOBILE_UA, n), np.where(rng.random(n) < 0.15, pick(rng, SDK_UA, n), pick(rng, BROWSER_UA, n)))
    cards = np.where(rng.random(n) < 0.8, hex_ids(rng, n, "card_", 16), None)
    return [_group(rng, world, ids, who, owner, ts, ip, ua[owner], op, created, cards)]


def batch_dev(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    rng = rng_for(seed, "lookalike-batch_dev")
    if size is None:
        per = rng.integers(1, 4, scaled(3, scale, 1))
    else:
        per = split_total(rng, size, [1, 2, 2, 3])
    devs, n = len(per), int(per.sum())
    dev = np.repeat(np.arange(devs), per)
    act = (1.0 if size is None else min(1.0, REQUEST_BUDGET / (devs * 2250))) * activity  # a job is ~2,250 requests
    ids = hex_ids(rng, n, "acct_")
    who = people(rng, devs)
    first = T0 - rng.integers(10, 150, devs) * DAY
    created = np.minimum(first[dev] + rng.integers(0, 20 * DAY, n), T0 - 3600)
    job = np.round(rng.integers(1500, 3000, devs) * act).astype(np.int64)  # the job's requests, split over its accounts
    counts = np.maximum(1, np.round(job[dev] / per[dev] * rng.uniform(0.7, 1.3, n)).astype(np.int64))
    start = T0 + rng.integers(0, 12 * DAY, devs)
    stop = np.minimum(start + rng.integers(4 * DAY, 18 * DAY, devs), T0 + WINDOW - 1)
    owner, ts = steady_times(rng, counts, start[dev], stop[dev], jitter=0.4)  # round the clock
    vm = hosts(rng, prefixes(rng, devs, CLOUD_OCTETS))
    home = home_of(rng, *home_ips(rng, world, devs, v6_share=0.0), dev[owner])
    ip = np.where(rng.random(len(owner)) < 0.9, vm[dev[owner]], home)
    ua = pick(rng, SDK_UA, devs)[dev][owner]
    template = rng.integers(0, len(text_more.BATCH_JOBS), devs)[dev][owner]
    prompt = text_more.batch_job(rng, template)
    req = requests_dict(rng, ids, owner, ts, ip, ua, everyday_models(rng, owner, ts, n), prompt, 70, 0.4)
    cards = hex_ids(rng, devs, "card_", 16)[dev]
    pay = payments_frame(rng, world, ids, cards, created, who["country"][dev])
    op_ids = np.array([f"lookalike-batch_dev-{d + 1}" for d in range(devs)], dtype=object)[dev]
    devices = identifiers_frame(ids, hex_ids(rng, n, "dev_", 16), first_seen(owner, ts, n))
    accounts = accounts_frame(ids, created, who["domain"][dev], who["country"][dev])
    return [Part(accounts, pay, devices, truth_frame(ids, "", "lookalike").assign(op_id=op_ids), req)]


def eval_team(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    op = "lookalike-eval_team-1"
    rng = rng_for(seed, op)
    country, domain, tz = LABS[int(rng.integers(0, len(LABS)))]
    n, act = population(size, 12, scale, 4, 150)
    act *= activity  # the background's --benign-activity applies to look-alikes too
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n, np.full(n, _COUNTRY[country]))
    who["domain"] = np.full(n, domain, dtype=object)
    who["tz"] = np.full(n, tz)
    onboarding = T0 - rng.integers(40, 150) * DAY + 10 * 3600
    created = np.where(rng.random(n) < 0.6, onboarding + rng.integers(0, 6 * 3600, n), onboarding + rng.integers(DAY, 35 * DAY, n))
    counts = np.maximum(1, volumes(rng, n, 150 * act, 0.8))
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "office", mean_len=10, spread=2400, days=WEEKDAYS)
    office = hosts(rng, np.repeat(prefixes(rng, 1, [38, 50, 65, 199]), 2))
    ip = np.where(rng.random(len(owner)) < 0.9, pick(rng, office, len(owner)), home_of(rng, *home_ips(rng, world, n), owner))
    ua = np.where(rng.random(n) < 0.7, pick(rng, SDK_UA[:4], n), pick(rng, BROWSER_UA, n))[owner]
    card = np.full(n, hex_ids(rng, 1, "card_", 16)[0], dtype=object)
    org = np.full(n, hex_ids(rng, 1, "org_", 8)[0], dtype=object)
    part = _group(rng, world, ids, who, owner, ts, ip, ua, op, created, card, org, 300.0)
    graded = rng.random(len(owner)) < 0.6  # the harness's judge prompts; the rest is ordinary use
    _reprompt(rng, part, graded, text_more.eval_harness(rng, int(graded.sum())), 120)
    return [part]


def jailbreak(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    op = "lookalike-jailbreak-1"
    rng = rng_for(seed, op)
    n, act = population(size, 40, scale, 5, 60)
    act *= activity  # the background's --benign-activity applies to look-alikes too
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n)
    created = T0 - rng.integers(3600, 180 * DAY, n)
    counts = np.maximum(2, volumes(rng, n, 60 * act, 0.9))
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home")
    ip = home_of(rng, *home_ips(rng, world, n), owner)
    ua = np.where(rng.random(n) < 0.75, pick(rng, BROWSER_UA, n), pick(rng, MOBILE_UA, n))[owner]
    cards = np.where(rng.random(n) < 0.75, hex_ids(rng, n, "card_", 16), None)
    part = _group(rng, world, ids, who, owner, ts, ip, ua, op, created, cards)
    pasted = rng.random(len(owner)) < 0.08
    pasted[np.concatenate([[0], np.cumsum(counts)[:-1]])] = True  # everyone pastes it at least once
    _reprompt(rng, part, pasted, text_more.jailbreak(rng, int(pasted.sum())))
    return [part]


def agency(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    op = "lookalike-agency-1"
    rng = rng_for(seed, op)
    n, act = population(size, 25, scale, 3, 90)
    act *= activity  # the background's --benign-activity applies to look-alikes too
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n, np.full(n, _COUNTRY["GB"]))
    combos = len(_BRAND_STEMS) * len(_BRAND_KINDS)
    pick_brand = rng.permutation(combos)[:n] if n <= combos else rng.integers(0, combos, n)
    stem = np.array(_BRAND_STEMS, dtype=object)[pick_brand // len(_BRAND_KINDS)]
    kind = np.array(_BRAND_KINDS, dtype=object)[pick_brand % len(_BRAND_KINDS)]
    brand = stem + " " + kind
    suffix = np.arange(n).astype(str).astype(object) if n > combos else np.full(n, "", dtype=object)  # keep domains distinct
    who["domain"] = (np.char.lower((stem + kind).astype(str)).astype(object) + suffix
                     + pick(rng, [".com", ".co.uk", ".shop", ".io"], n))  # each client's own domain
    product = pick(rng, ["yoga mat", "coffee grinder", "trail running shoe", "dog bed", "face serum", "e-bike",
                         "standing desk", "cookbook", "scented candle", "rain jacket"], n)
    created = T0 - rng.integers(5, 175, n) * DAY + rng.integers(9, 17, n) * 3600  # clients join over the months
    counts = np.maximum(1, volumes(rng, n, 90 * act, 0.7))
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "office", mean_len=6, spread=1800, days=WEEKDAYS)
    office = hosts(rng, np.repeat(prefixes(rng, 1, [62, 80, 81, 195]), 4))
    ip = np.where(rng.random(len(owner)) < 0.95, pick(rng, office, len(owner)), home_of(rng, *home_ips(rng, world, n), owner))
    ua = np.where(rng.random(len(owner)) < 0.85, "python-requests/2.31.0", pick(rng, BROWSER_UA, len(owner)))
    part = _group(rng, world, ids, who, owner, ts, ip, ua, op, created, hex_ids(rng, n, "card_", 16), out_mean=500.0)
    work = rng.random(len(owner)) < 0.85  # client work; the rest is the account managers' own questions
    _reprompt(rng, part, work, text_more.marketing(rng, brand[owner[work]], product[owner[work]]))
    return [part]


def online_course(seed: int, world: World, scale: float, size: int | None = None, activity: float = 1.0) -> list[Part]:
    op = "lookalike-online_course-1"
    rng = rng_for(seed, op)
    n, act = population(size, 60, scale, 6, 40)
    act *= activity  # the background's --benign-activity applies to look-alikes too
    ids, who = hex_ids(rng, n, "acct_"), people(rng, n)
    opened = T0 - rng.integers(20, 60) * DAY + 15 * 3600
    created = opened + rng.integers(0, 7 * DAY, n)  # sign-ups in the course's first week
    counts = np.maximum(2, volumes(rng, n, 40 * act, 0.8))
    owner = np.repeat(np.arange(n), counts)
    ts = session_times(rng, owner, counts, who["tz"], "home", mean_len=1.5, spread=900)
    v6 = (rng.random(n) < 0.8)[owner]  # IPv6 broadband; the others on an IPv4 home line
    ip = np.where(v6, ipv6_privacy(rng, owner, ts, n), home_of(rng, *home_ips(rng, world, n, v6_share=0.0), owner))
    ua = np.where(rng.random(n) < 0.8, pick(rng, BROWSER_UA, n), pick(rng, MOBILE_UA, n))[owner]
    cards = np.where(rng.random(n) < 0.9, hex_ids(rng, n, "card_", 16), None)
    part = _group(rng, world, ids, who, owner, ts, ip, ua, op, created, cards)
    homework = rng.random(len(owner)) < 0.5
    _reprompt(rng, part, homework, text_more.course(rng, int(homework.sum())), 300)
    return [part]


LOOKALIKES_MORE = {"carrier_nat": carrier_nat, "batch_dev": batch_dev, "eval_team": eval_team, "jailbreak": jailbreak,
                   "agency": agency, "online_course": online_course}
