"""The simulator writes the input contract deterministically, with every group and its defining structure."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from graphlinker.errors import ConfigError
from graphlinker.sim.scenario import simulate
from graphlinker.sim.text import HOMEWORK, HUB_TEMPLATES, NAIVE_COT

WINDOW_START = pd.Timestamp("2026-09-01T00:00:00Z")
WINDOW_END = WINDOW_START + pd.Timedelta(days=30)
RELEASE = WINDOW_START + pd.Timedelta(days=20)
OPS = {"op-naive-1", "op-reseller-1", "op-hydra-1", "op-agentic-1", "op-zh-1"}
COLUMNS = {
    "accounts.csv": ["account_id", "created_at", "email_domain", "country", "org_id"],
    "payments.csv": ["account_id", "payment_fingerprint", "card_bin", "billing_country", "added_at"],
    "identifiers.csv": ["account_id", "kind", "value", "seen_at"],
    "truth.csv": ["account_id", "op_id", "role"],
}
REQUEST_COLUMNS = ["account_id", "ts", "ip", "user_agent", "model", "prompt", "input_tokens", "output_tokens"]


def at_scale(nominal: int, scale: float, minimum: int) -> int:
    """A population's accounts when no size is given: its scale-1 size x scale, never fewer than its minimum
    (the rule sim/common.py's ``population``/``scaled`` document). The test writes each archetype's scale-1
    size (the sim modules' docstrings list them) and minimum beside the call."""
    return max(minimum, round(nominal * scale))


def load(directory: Path, requests: str = "requests.csv") -> dict[str, pd.DataFrame]:
    frames = {name.split(".")[0]: pd.read_csv(directory / name, dtype=str, keep_default_na=False) for name in COLUMNS}
    path = directory / requests
    if path.suffix == ".parquet":
        req = pd.read_parquet(path)
    elif path.suffix == ".jsonl":
        req = pd.read_json(path, lines=True, dtype=False)
    else:
        req = pd.read_csv(path, dtype={"input_tokens": "Int64", "output_tokens": "Int64"}, keep_default_na=False, na_values={"input_tokens": [""], "output_tokens": [""]})
    req["when"] = pd.to_datetime(req["ts"], utc=True)
    group = frames["truth"].set_index("account_id")["op_id"]
    req["group"] = req["account_id"].map(group).fillna("benign")
    req["subnet"] = req["ip"].str.rsplit(".", n=1).str[0]
    frames["requests"] = req
    return frames


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    rows = []
    summary = simulate(out, seed=0, scale=0.1, progress=rows.append)
    return out, summary, rows, load(out)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    summary = simulate(out, seed=0, scale=1.0, file_format="parquet")
    return summary, load(out, "requests.parquet")


def members(data, op_id):
    truth = data["truth"]
    return set(truth.loc[truth["op_id"] == op_id, "account_id"])


def test_same_seed_is_byte_identical_across_processes(tmp_path):
    """Two fresh interpreters with different hash seeds must write the same bytes in every format."""
    script = (
        "import sys; from graphlinker.sim.scenario import simulate\n"
        "for f in ('csv', 'jsonl', 'parquet'): simulate(sys.argv[1] + '/' + f, seed=7, scale=0.05, file_format=f)\n"
    )
    for run, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True, env=env, cwd=Path(__file__).parents[1])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 3 * (len(COLUMNS) + 1)  # three formats x (accounts, payments, identifiers, truth + requests)
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seed_differs(small, tmp_path):
    out, _, _, _ = small
    simulate(tmp_path, seed=1, scale=0.1)
    for name in ("accounts.csv", "requests.csv", "truth.csv"):
        assert (tmp_path / name).read_bytes() != (out / name).read_bytes()


def test_schema_follows_the_contract(small):
    out, summary, rows, data = small
    for name, columns in COLUMNS.items():
        assert list(data[name.split(".")[0]].columns) == columns
    assert list(pd.read_csv(out / "requests.csv", nrows=1).columns) == REQUEST_COLUMNS
    accounts, req = data["accounts"], data["requests"]
    created = pd.to_datetime(accounts["created_at"], utc=True)
    assert accounts["created_at"].str.endswith("Z").all() and req["ts"].str.endswith("Z").all()
    assert created.between(WINDOW_START - pd.Timedelta(days=181), WINDOW_START).all()
    assert req["when"].between(WINDOW_START, WINDOW_END, inclusive="left").all()
    assert req["when"].is_monotonic_increasing
    assert accounts["account_id"].is_unique
    assert set(req["account_id"]) <= set(accounts["account_id"])
    assert set(data["payments"]["account_id"]) <= set(accounts["account_id"])
    assert (data["identifiers"]["kind"] == "device").all()
    assert (req["input_tokens"].dropna() >= 0).all() and (req["output_tokens"].dropna() >= 1).all()
    assert req["output_tokens"].isna().any()  # errored calls have no token count
    assert (req["prompt"].str.len() > 0).all()
    canonical = req["ip"].map(lambda ip: str(ipaddress.ip_address(ip)) == ip)
    assert canonical.all()
    assert req["ip"].str.contains(":").any(), "some IPv6 addresses"
    assert set(req["model"]) == {"model-a", "model-b", "model-c", "model-x"}
    assert summary.requests == len(req) == sum(rows)
    assert summary.accounts == len(accounts)


def test_every_group_is_present_at_small_scale(small):
    _, summary, _, data = small
    truth = data["truth"]
    assert set(truth.loc[truth["role"] != "lookalike", "op_id"]) == OPS
    kinds = set(truth.loc[truth["role"] == "lookalike", "op_id"].str.extract(r"lookalike-(\w+)-\d+")[0])
    assert kinds == {"company", "university", "family"}
    assert set(truth["role"]) <= {"worker", "payer", "orchestrator", "lookalike"}
    assert set(truth["account_id"]) <= set(data["accounts"]["account_id"])
    senders = set(data["requests"]["account_id"])
    workers = truth.loc[truth["role"].isin(["worker", "lookalike"]), "account_id"]
    assert workers.isin(senders).mean() > 0.95
    assert summary.ops == len(OPS) and summary.lookalike_groups == truth.loc[truth["role"] == "lookalike", "op_id"].nunique()
    background = at_scale(2000, 0.1, 100)  # benign: 2,000 accounts at scale 1, at least 100
    assert (~data["accounts"]["account_id"].isin(truth["account_id"])).sum() >= background, "benign background"


def test_naive_op_is_one_burst_in_one_datacenter_subnet(small):
    _, _, _, data = small
    req = data["requests"]
    naive = req[req["group"] == "op-naive-1"]
    assert naive["subnet"].nunique() == 1
    assert naive["prompt"].str.startswith(NAIVE_COT.split("{")[0]).all()
    accounts = data["accounts"][data["accounts"]["account_id"].isin(members(data, "op-naive-1"))]
    created = pd.to_datetime(accounts["created_at"], utc=True)
    assert created.max() - created.min() <= pd.Timedelta(hours=1)
    cards = data["payments"][data["payments"]["account_id"].isin(members(data, "op-naive-1"))]["payment_fingerprint"]
    assert 1 <= cards.nunique() <= 3
    assert naive["output_tokens"].mean() > 3 * req.loc[req["group"] == "benign", "output_tokens"].mean()


def test_hydra_hides_behind_unique_cards_and_residential_proxies(full):
    _, data = full
    payments, req = data["payments"], data["requests"]
    hydra_ids = members(data, "op-hydra-1")
    cards = payments[payments["account_id"].isin(hydra_ids)]
    assert len(cards) == len(hydra_ids) and cards["payment_fingerprint"].is_unique
    users = payments.groupby("payment_fingerprint")["account_id"].nunique()
    assert (users[cards["payment_fingerprint"]] == 1).all(), "no hydra card is shared with anyone"
    hydra, benign = req[req["group"] == "op-hydra-1"], req[req["group"] == "benign"]
    assert len(set(hydra["subnet"]) & set(benign["subnet"])) >= 20, "proxies live in the /24s benign users use"
    per_account = hydra.groupby("account_id").size()
    assert per_account.median() < benign.groupby("account_id").size().quantile(0.95)
    created = pd.to_datetime(data["accounts"].set_index("account_id").loc[sorted(hydra_ids), "created_at"], utc=True)
    assert created.max() - created.min() > pd.Timedelta(days=45)
    after = hydra[hydra["when"] >= RELEASE]
    assert (after["model"] == "model-x").mean() > 0.7
    assert (req.loc[req["when"] < RELEASE, "model"] != "model-x").all()
    assert hydra["prompt"].str[:25].nunique() >= 8, "many paraphrases, not one template"


def test_reseller_shares_cards_and_fires_in_waves(full):
    _, data = full
    req, payments, truth = data["requests"], data["payments"], data["truth"]
    ids = members(data, "op-reseller-1")
    per_card = payments[payments["account_id"].isin(ids)].groupby("payment_fingerprint")["account_id"].nunique()
    assert len(per_card) <= 12 and per_card.min() >= 10
    assert (truth.loc[truth["account_id"].isin(ids), "role"] == "payer").sum() == len(per_card)
    reseller = req[req["group"] == "op-reseller-1"]
    minute = reseller["when"].dt.floor("min")
    assert reseller.groupby(minute)["account_id"].nunique().max() >= 15


def test_company_team_shares_one_card_org_and_office(small):
    _, _, _, data = small
    for op_id in ("lookalike-company-1", "lookalike-company-2"):
        ids = members(data, op_id)
        accounts = data["accounts"][data["accounts"]["account_id"].isin(ids)]
        assert accounts["org_id"].nunique() == 1 and accounts["org_id"].iloc[0] != ""
        assert accounts["email_domain"].nunique() == 1
        cards = data["payments"][data["payments"]["account_id"].isin(ids)]
        assert len(cards) == len(ids) and cards["payment_fingerprint"].nunique() == 1
        req = data["requests"][data["requests"]["group"] == op_id]
        assert req["ip"].value_counts().head(2).sum() / len(req) > 0.7
        assert not req["prompt"].str.startswith(NAIVE_COT.split("{")[0]).any()


def test_university_class_is_a_creation_burst_with_a_homework_template(small):
    _, _, _, data = small
    for op_id in ("lookalike-university-1", "lookalike-university-2"):
        ids = members(data, op_id)
        accounts = data["accounts"][data["accounts"]["account_id"].isin(ids)]
        created = pd.to_datetime(accounts["created_at"], utc=True)
        assert created.max() - created.min() <= pd.Timedelta(days=7)
        assert accounts["email_domain"].nunique() == 1
        req = data["requests"][data["requests"]["group"] == op_id]
        homework = req[req["prompt"].str.startswith(HOMEWORK.split("{")[0])]
        assert homework["account_id"].nunique() == len(ids)
        campus = req["subnet"].value_counts()
        assert campus.iloc[0] / len(req) > 0.4
        assert req.loc[req["subnet"] == campus.index[0], "ip"].nunique() <= 3


def test_families_share_one_card_and_one_home_ip(small):
    _, _, _, data = small
    truth = data["truth"]
    families = truth.loc[truth["op_id"].str.startswith("lookalike-family-"), "op_id"].unique()
    assert len(families) >= 4
    for op_id in families:
        ids = members(data, op_id)
        assert 2 <= len(ids) <= 5
        assert data["payments"].loc[data["payments"]["account_id"].isin(ids), "payment_fingerprint"].nunique() == 1
        req = data["requests"][data["requests"]["group"] == op_id]
        assert req["ip"].value_counts().iloc[0] / len(req) > 0.5


def test_agentic_and_multilingual_ops(small):
    _, _, _, data = small
    req, ids = data["requests"], data["identifiers"]
    agentic = req[req["group"] == "op-agentic-1"]
    assert agentic["prompt"].str.contains("<tool_call>").all() and agentic["prompt"].str.contains("\n").all()
    devices = ids[ids["account_id"].isin(members(data, "op-agentic-1"))]
    sharing = devices.groupby("value")["account_id"].transform("nunique")
    assert (sharing >= 2).mean() > 0.7
    benign_devices = ids[~ids["account_id"].isin(data["truth"]["account_id"])]
    assert benign_devices["value"].is_unique, "ordinary users do not share device fingerprints"
    zh = req[req["group"] == "op-zh-1"]
    assert zh["subnet"].nunique() == 2
    assert zh["prompt"].str.contains("步").mean() > 0.95


def test_benign_background_is_realistic(full):
    summary, data = full
    req = data["requests"]
    # requests the scenario's parameters lead one to expect (accounts x requests per account): the background's
    # ~133k (2,000 accounts, sim/scenario.py); the operations' naive 40 x 300, reseller 200 x 90, hydra 250 x 52,
    # agentic 50 x 128, zh 50 x 150 (sim/ops.py); the look-alikes' companies 54 x 80, classes 130 x ~25.5,
    # ~63 family members x 50 (sim/lookalikes.py). Volumes are heavy-tailed draws: allow a quarter either way.
    expected = 133_000 + (40 * 300 + 200 * 90 + 250 * 52 + 50 * 128 + 50 * 150) + (54 * 80 + 130 * 25.5 + 63 * 50)
    assert abs(summary.requests - expected) <= 0.25 * expected, (summary.requests, expected)
    benign = req[req["group"] == "benign"]
    sharers = benign.groupby("ip")["account_id"].nunique()
    assert sharers.max() > 100, "carrier CGNAT IPs are shared by hundreds of users"
    volume = benign.groupby("account_id").size()
    assert volume.max() > 20 * volume.median(), "heavy-tailed volume"
    hub = benign[benign["prompt"].str.startswith(tuple(t.split("{")[0] for t in HUB_TEMPLATES))]
    assert hub.groupby(hub["prompt"].str[:12])["account_id"].nunique().min() > 300
    own = benign.drop(hub.index)
    assert own["prompt"].nunique() / len(own) > 0.5, "most benign prompts are distinct"
    sdk = benign["user_agent"].str.contains("python|httpx|aiohttp|curl|node-fetch|Go-http", na=False)
    assert 0.05 < sdk.mean() < 0.5
    op_output = req[req["group"].str.startswith("op-")].groupby("group")["output_tokens"].mean()
    assert (op_output > benign["output_tokens"].mean() * 1.5).all()


def test_other_formats_and_bad_options(tmp_path):
    seen = []
    jsonl = simulate(tmp_path / "j", seed=2, scale=0.05, file_format="jsonl", progress=seen.append)
    parquet = simulate(tmp_path / "p", seed=2, scale=0.05, file_format="parquet")
    a = load(tmp_path / "j", "requests.jsonl")["requests"]
    b = load(tmp_path / "p", "requests.parquet")["requests"]
    assert jsonl.requests == parquet.requests == len(a) == len(b) == sum(seen)
    assert list(b.columns[:8]) == REQUEST_COLUMNS
    assert a["prompt"].tolist() == b["prompt"].tolist()
    with pytest.raises(ConfigError):
        simulate(tmp_path / "x", file_format="xml")
    with pytest.raises(ConfigError):
        simulate(tmp_path / "x", scale=0)


# --------------------------------------------------------------------------- archetypes for the leave-one-out benchmark

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from graphlinker.cli.app import app  # noqa: E402
from graphlinker.sim import lookalikes_more, ops, ops_more  # noqa: E402
from graphlinker.sim.scenario import DEFAULT_LOOKALIKES, DEFAULT_OPERATIONS, LOOKALIKES, OPERATIONS, archetype_of, generate  # noqa: E402
from graphlinker.templates.tags import ExtractionRules  # noqa: E402

NO_TAG_OPS = ("codegen", "translation", "longdoc", "math", "refusal", "release", "lowslow", "dialogue")
# sha256 of simulate(seed=3, scale=0.05) as written before the archetypes were added: the classic scenario must not drift
CLASSIC_DIGESTS = {
    "accounts.csv": "c655656497c7a1be9921362f2cfb905b07adaff94515381e9683e6ead9ae6ee1",
    "identifiers.csv": "9bff8a69ccb7f3a0b74fde18ebf5230bce9632efc3a5ed39527d3557d3afcfce",
    "payments.csv": "a51e8913b2e2b2dbc7e97a6ca276095dbb6caa1c2edbcd6ff8b74ab56a0940a7",
    "requests.csv": "610d4b2acfcead73d1e33376837f0d7c6f0bc66959d16f13f0f8da0a1217e3f3",
    "truth.csv": "f1df918e3b3d17983c7fcec2f00cd7f1b7e1aeea06c3b7133eef5d05f376e180",
}


def frames(data) -> dict[str, pd.DataFrame]:
    """A generated Part as data frames, requests labelled with op id and archetype."""
    req = pd.DataFrame({k: v for k, v in data.requests.items()})
    truth = data.truth.assign(archetype=data.truth["op_id"].map(archetype_of))
    req["op_id"] = req["account_id"].map(truth.set_index("account_id")["op_id"]).fillna("benign")
    req["archetype"] = req["op_id"].map(lambda o: o if o == "benign" else archetype_of(o))
    req["when"] = pd.to_datetime(req["ts"], unit="s", utc=True)
    return {"accounts": data.accounts, "payments": data.payments, "identifiers": data.identifiers, "truth": truth,
            "requests": req}


def one(key: str, n: int, seed: int = 5, **kwargs) -> dict[str, pd.DataFrame]:
    """A scenario with a small background and only archetype ``key`` at ``n`` accounts."""
    is_op = key in OPERATIONS
    data = generate(seed=seed, scale=0.05, operations=[key] if is_op else [], lookalikes=[] if is_op else [key],
                    sizes={key: n, "benign": 60}, **kwargs)
    return frames(data)


def tag_rate(prompts: pd.Series) -> float:
    tags = ExtractionRules.load().tag(pd.Series(prompts.to_numpy(), dtype=object))
    return float((tags != "").mean())


@pytest.fixture(scope="module")
def everything():
    """Every archetype and look-alike kind at half their scale-1 sizes (in memory)."""
    return frames(generate(seed=3, scale=0.5, operations="all", lookalikes="all"))


def test_registries_hold_the_archetypes_with_docstring_lines():
    assert len(OPERATIONS) >= 14 and len(LOOKALIKES) >= 8
    assert DEFAULT_OPERATIONS == ("naive", "reseller", "hydra", "agentic", "zh")
    assert DEFAULT_LOOKALIKES == ("company", "university", "family")
    assert set(DEFAULT_OPERATIONS) <= set(OPERATIONS) and set(DEFAULT_LOOKALIKES) <= set(LOOKALIKES)
    assert not set(OPERATIONS) & set(LOOKALIKES)
    for key in [*OPERATIONS, *LOOKALIKES]:
        assert "-" not in key and key == key.lower(), key
    for key in ops_more.OPERATIONS_MORE:
        assert f"* {key} (" in ops_more.__doc__, key
    for key in lookalikes_more.LOOKALIKES_MORE:
        assert f"* {key} (" in lookalikes_more.__doc__, key
    for key in ("naive", "reseller", "hydra", "agentic", "zh"):
        assert f"* {key}:" in ops.__doc__, key


def test_archetype_of_parses_op_ids():
    assert archetype_of("op-hydra-1") == "hydra"
    assert archetype_of("lookalike-carrier_nat-1") == "carrier_nat"
    assert archetype_of("lookalike-family-17") == "family"
    for bad in ("benign", "op-hydra", "op--1", "x-hydra-1", "op-hydra-reseller-1"):
        with pytest.raises(ValueError):
            archetype_of(bad)


def test_classic_scenario_is_byte_identical_to_before(tmp_path):
    """With default arguments, and with the defaults spelled out, the files are those the simulator always wrote."""
    simulate(tmp_path / "a", seed=3, scale=0.05)
    simulate(tmp_path / "b", seed=3, scale=0.05, operations=DEFAULT_OPERATIONS, lookalikes=list(DEFAULT_LOOKALIKES),
             sizes={}, benign_activity=1.0)
    for name, digest in CLASSIC_DIGESTS.items():
        a, b = (tmp_path / "a" / name).read_bytes(), (tmp_path / "b" / name).read_bytes()
        assert a == b, name
        assert hashlib.sha256(a).hexdigest() == digest, f"{name} drifted from the classic scenario"


def test_explicit_sizes_equal_to_the_defaults_change_nothing():
    default = generate(seed=2, scale=0.1)
    # the scale-0.1 sizes: naive 40 at scale 1, at least 8; hydra 250, at least 20; benign 2,000, at least 100
    same = generate(seed=2, scale=0.1, sizes={"naive": at_scale(40, 0.1, 8), "hydra": at_scale(250, 0.1, 20),
                                              "benign": at_scale(2000, 0.1, 100)})
    assert default.accounts.equals(same.accounts) and default.truth.equals(same.truth)
    for column, values in default.requests.items():
        assert np.array_equal(values, same.requests[column]), column


@pytest.mark.parametrize("key", [*OPERATIONS, *LOOKALIKES])
def test_every_archetype_generates_a_small_group(key):
    data = one(key, 12)
    truth, accounts, req = data["truth"], data["accounts"], data["requests"]
    mine = truth[truth["archetype"] == key]
    assert len(mine) == 12 and set(truth["archetype"]) == {key}
    assert mine["account_id"].is_unique and set(mine["account_id"]) <= set(accounts["account_id"])
    assert accounts["account_id"].is_unique
    assert set(data["payments"]["account_id"]) <= set(accounts["account_id"])
    assert set(req["account_id"]) <= set(accounts["account_id"])
    if key in OPERATIONS:
        assert set(mine["op_id"]) == {f"op-{key}-1"} and set(mine["role"]) <= {"worker", "payer"}
    else:
        assert all(o.startswith(f"lookalike-{key}-") for o in mine["op_id"]) and set(mine["role"]) == {"lookalike"}
    rows = req[req["archetype"] == key]
    assert rows["account_id"].nunique() >= 0.75 * (mine["role"] != "payer").sum()
    assert rows["when"].between(WINDOW_START, WINDOW_END, inclusive="left").all()
    created = pd.to_datetime(accounts["created_at"], unit="s", utc=True)
    assert created.between(WINDOW_START - pd.Timedelta(days=181), WINDOW_START).all()
    assert (rows["prompt"].str.len() > 0).all() and (rows["input_tokens"] >= -1).all()
    assert (req.loc[req["when"] < RELEASE, "model"] != "model-x").all()


@pytest.mark.parametrize("key", ["hydra", "proxy", "lowslow", "carrier_nat"])
@pytest.mark.parametrize("n", [5, 2000])
def test_sizes_from_5_to_2000(key, n):
    data = one(key, n, seed=11)
    mine = data["truth"][data["truth"]["archetype"] == key]
    assert len(mine) == n
    req = data["requests"][data["requests"]["archetype"] == key]
    assert req["account_id"].nunique() >= 0.6 * n
    assert len(req) < 600_000, "explicit sizes stay within the request budget"


def test_sizes_of_multi_group_kinds_add_up():
    for key, n in (("company", 5), ("university", 41), ("family", 23), ("batch_dev", 9)):
        truth = one(key, n)["truth"]
        assert len(truth) == n, key
    families = one("family", 23)["truth"].groupby("op_id").size()
    assert families.between(2, 6).all() and len(families) >= 4


def test_no_tag_archetypes_carry_no_extraction_tag():
    """Detection must not be able to rely on the keyword list for these campaigns."""
    rates = {}
    for key in [*NO_TAG_OPS, "grader", "preference", "proxy", "eval_team"]:
        req = one(key, 40, seed=9)["requests"]
        rates[key] = tag_rate(req.loc[req["archetype"] == key, "prompt"])
    assert all(rates[key] == 0.0 for key in NO_TAG_OPS), rates
    assert len(NO_TAG_OPS) >= 5
    for key in ("grader", "preference", "proxy", "eval_team"):  # the tagger does fire on the tagged ones
        assert 0.15 < rates[key] < 0.95, (key, rates[key])


def test_sizes_override_and_bad_arguments():
    data = generate(seed=1, scale=0.05, operations=["hydra", "math"], lookalikes=["jailbreak"],
                    sizes={"hydra": 33, "jailbreak": 7, "naive": 99})  # naive is not generated: ignored
    sizes = data.truth.groupby("op_id").size().to_dict()
    # hydra and jailbreak as given; math unsized: 60 at scale 1 (sim/ops_more.py), at least 6
    assert sizes == {"op-hydra-1": 33, "op-math-1": at_scale(60, 0.05, 6), "lookalike-jailbreak-1": 7}
    assert set(data.truth["op_id"]) == set(sizes)
    with pytest.raises(ConfigError, match="unknown operation key.*nope.*valid keys: naive, reseller"):
        generate(operations=["naive", "nope"])
    with pytest.raises(ConfigError, match="unknown look-alike key.*carrier-nat.*carrier_nat"):
        generate(lookalikes=["carrier-nat"])
    with pytest.raises(ConfigError, match="unknown size key"):
        generate(sizes={"hydras": 10})
    for bad in (0, -3, 2.5, True, "7"):
        with pytest.raises(ConfigError):
            generate(sizes={"hydra": bad})
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError):
            generate(benign_activity=bad)
    nothing = generate(seed=1, scale=0.05, operations=(), lookalikes="none")
    assert nothing.truth.empty and len(nothing.accounts) == at_scale(2000, 0.05, 100)  # the benign background alone
    assert set(generate(seed=1, scale=0.05, operations="all", lookalikes=()).truth["op_id"]) == {f"op-{k}-1" for k in OPERATIONS}


def test_adding_a_population_reshuffles_no_other():
    classic = generate(seed=4, scale=0.05)
    more = generate(seed=4, scale=0.05, operations=[*DEFAULT_OPERATIONS, "grader", "release"], lookalikes=[*DEFAULT_LOOKALIKES, "agency"])
    n, k = len(classic.requests["ts"]), len(classic.accounts)
    assert more.accounts.iloc[:k].reset_index(drop=True).equals(classic.accounts)
    for column, values in classic.requests.items():
        assert np.array_equal(more.requests[column][:n], values), column
    alone = frames(generate(seed=4, scale=0.05, operations=["release"], lookalikes=()))["requests"]
    together = frames(more)["requests"]
    columns = ["account_id", "ts", "ip", "prompt", "output_tokens", "input_tokens"]
    a = alone[alone["archetype"] == "release"][columns].reset_index(drop=True)
    b = together[together["archetype"] == "release"][columns].reset_index(drop=True)
    assert a.equals(b)


def test_benign_activity_scales_the_background_only():
    base = frames(generate(seed=6, scale=0.1))
    light = frames(generate(seed=6, scale=0.1, benign_activity=0.3))
    ratio = (light["requests"]["archetype"] == "benign").sum() / (base["requests"]["archetype"] == "benign").sum()
    assert 0.2 < ratio < 0.45
    assert light["accounts"]["account_id"].equals(base["accounts"]["account_id"])
    ops_rows = lambda f: f["requests"][f["requests"]["archetype"] == "hydra"]["prompt"].tolist()  # noqa: E731
    assert ops_rows(light) == ops_rows(base)


def test_release_pivot_is_one_hour_of_mass_switching(everything):
    req = everything["requests"]
    rel = req[req["archetype"] == "release"]
    x = rel[rel["model"] == "model-x"]
    first = x.groupby("account_id")["when"].min()
    assert (first - RELEASE).max() <= pd.Timedelta(hours=1.1)
    assert first.size == rel["account_id"].nunique()
    assert (rel["when"] < RELEASE).mean() < 0.05, "dormant before the release"
    assert (rel.loc[rel["when"] >= RELEASE, "model"] == "model-x").all()


def test_codegen_runs_at_machine_cadence(everything):
    req = everything["requests"]
    def cv(group):
        gaps = group.sort_values().diff().dropna().dt.total_seconds()
        return gaps.std() / gaps.mean()
    code = req[req["archetype"] == "codegen"].groupby("account_id")["when"].apply(cv)
    human = req[req["archetype"] == "benign"].groupby("account_id").filter(lambda g: len(g) > 30).groupby("account_id")["when"].apply(cv)
    assert code.median() < 0.3 < human.median()
    assert req.loc[req["archetype"] == "codegen", "user_agent"].str.contains("node-fetch|Go-http|curl", na=True).all()


def test_business_hours_mimicry_and_human_pacing(everything):
    req = everything["requests"]
    tr = req[req["archetype"] == "translation"]
    local = tr["when"] + pd.Timedelta(hours=8)
    assert (local.dt.day_of_week < 5).mean() > 0.97 and local.dt.hour.between(7, 19).mean() > 0.85
    slow = req[req["archetype"] == "lowslow"]
    per_day = slow.groupby(["account_id", slow["when"].dt.date]).size()
    assert per_day.median() <= 3
    assert slow.groupby("account_id")["when"].apply(lambda w: w.dt.date.nunique()).median() >= 10
    assert not slow["user_agent"].str.contains("python|httpx|aiohttp|curl|Go-http", na=False).any()


def test_refusal_probing_walks_the_framings_systematically(everything):
    from graphlinker.sim.text_more import REFUSAL_FRAME

    req = everything["requests"]
    ref = req[req["archetype"] == "refusal"]
    heads = [f.split("{")[0] for f in REFUSAL_FRAME if not f.startswith("{")]
    assert ref["prompt"].str.startswith(tuple(heads)).mean() > 0.8
    assert ref["account_id"].nunique() == len(everything["truth"].query("archetype == 'refusal'"))
    cards = everything["payments"][everything["payments"]["account_id"].isin(ref["account_id"])]
    assert cards["payment_fingerprint"].is_unique


def test_proxy_and_dialogue_share_infrastructure(everything):
    req, truth, payments = everything["requests"], everything["truth"], everything["payments"]
    proxy = req[req["archetype"] == "proxy"]
    ids = truth.loc[truth["archetype"] == "proxy", "account_id"]
    per_card = payments[payments["account_id"].isin(ids)].groupby("payment_fingerprint")["account_id"].nunique()
    assert (truth.loc[truth["archetype"] == "proxy", "role"] == "payer").sum() == len(per_card) and per_card.min() >= 5
    assert proxy.groupby("ip")["account_id"].nunique().median() > 0.3 * proxy["account_id"].nunique()
    assert 0.2 < tag_rate(proxy["prompt"]) < 0.6, "harvest template mixed with customers' traffic"
    dialogue = req[req["archetype"] == "dialogue"]
    assert dialogue["user_agent"].str.contains("Mobile", na=True).all()
    assert len(set(dialogue["ip"]) & set(req.loc[req["archetype"] == "benign", "ip"])) >= 3, "carrier NAT shared with real phones"


def test_carrier_nat_scales_and_funnels_through_a_handful_of_ips():
    data = one("carrier_nat", 5000, seed=2)
    req = data["requests"][data["requests"]["archetype"] == "carrier_nat"]
    top = req["ip"].value_counts().head(14)
    assert top.sum() / len(req) > 0.65
    assert req[req["ip"].isin(top.index)].groupby("ip")["account_id"].nunique().min() > 500
    assert req["account_id"].nunique() > 4500
    cards = data["payments"][data["payments"]["account_id"].isin(req["account_id"])]
    assert cards["payment_fingerprint"].is_unique, "unrelated users: their own cards"


def test_lookalike_kinds_have_their_defining_structure(everything):
    req, truth, accounts, payments = (everything[k] for k in ("requests", "truth", "accounts", "payments"))
    def members(key):
        return set(truth.loc[truth["archetype"] == key, "account_id"])
    for _op_id, group in truth[truth["archetype"] == "batch_dev"].groupby("op_id"):
        rows = req[req["account_id"].isin(group["account_id"])]
        assert 1 <= len(group) <= 3 and len(rows) > 500
        assert rows["prompt"].str[:25].nunique() == 1, "one batch template"
        assert payments[payments["account_id"].isin(group["account_id"])]["payment_fingerprint"].nunique() == 1
    team = accounts[accounts["account_id"].isin(members("eval_team"))]
    assert team["org_id"].nunique() == 1 and team["email_domain"].nunique() == 1
    assert payments[payments["account_id"].isin(team["account_id"])]["payment_fingerprint"].nunique() == 1
    assert tag_rate(req.loc[req["archetype"] == "eval_team", "prompt"]) > 0.25, "legitimate grader prompts"
    jail = req[req["archetype"] == "jailbreak"]
    pasted = jail[jail["prompt"].str.startswith("Hello. From now on you are going to act as NOVA")]
    assert pasted["account_id"].nunique() == len(members("jailbreak")) and len(pasted) < 0.3 * len(jail)
    assert jail.groupby("ip")["account_id"].nunique().max() <= 2
    agency = accounts[accounts["account_id"].isin(members("agency"))]
    assert agency["email_domain"].is_unique
    assert payments[payments["account_id"].isin(agency["account_id"])]["payment_fingerprint"].is_unique
    work = req[req["archetype"] == "agency"]
    assert work["ip"].value_counts().head(4).sum() / len(work) > 0.9
    longdoc = req[req["archetype"] == "longdoc"]
    assert longdoc["input_tokens"].median() > 500
    course = req[req["archetype"] == "online_course"]
    students = accounts[accounts["account_id"].isin(members("online_course"))]
    assert students["email_domain"].nunique() > 1 and students["country"].nunique() > 1, "people of many countries"
    v6 = course[course["ip"].str.contains(":")]
    assert len(v6) > 0.6 * len(course), "mostly IPv6 broadband"
    slash64 = v6["ip"].str.split(":").str[:4].str.join(":")
    assert slash64.groupby(v6["account_id"]).nunique().max() == 1, "one home /64 per student"
    assert v6.groupby("account_id")["ip"].nunique().median() > 5, "a new privacy address in it day after day"
    assert course.groupby("ip")["account_id"].nunique().max() == 1
    homework = course["prompt"].str.contains("exercise|homework|quiz|lab:", case=False)
    assert 0.3 < homework.mean() < 0.7 and homework.groupby(course["account_id"]).any().all()


def test_cli_selects_archetypes_sizes_and_rejects_unknown_keys(tmp_path):
    runner = CliRunner()
    out = tmp_path / "s"
    result = runner.invoke(app, ["simulate", str(out), "--scale", "0.05", "--ops", "hydra,codegen", "--lookalikes", "agency",
                                 "--size", "hydra=9", "--size", "benign=80", "--benign-activity", "0.5"])
    assert result.exit_code == 0, result.output
    truth = pd.read_csv(out / "truth.csv")
    # hydra as given; codegen 120 at scale 1, at least 8 (sim/ops_more.py); agency 25, at least 3 (sim/lookalikes_more.py)
    groups = {"lookalike-agency-1": at_scale(25, 0.05, 3), "op-codegen-1": at_scale(120, 0.05, 8), "op-hydra-1": 9}
    assert truth.groupby("op_id").size().to_dict() == groups
    assert len(pd.read_csv(out / "accounts.csv")) == 80 + sum(groups.values())  # --size benign=80 plus the groups
    for args in (["--ops", "naive,bogus"], ["--lookalikes", "bogus"], ["--size", "hydra"], ["--size", "bogus=3"],
                 ["--benign-activity", "0"]):
        result = runner.invoke(app, ["simulate", str(tmp_path / "x"), *args])
        assert result.exit_code == 2, (args, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
    summary = simulate(tmp_path / "n", seed=1, scale=0.05, operations="none", lookalikes="none")
    assert summary.ops == 0 and summary.lookalike_groups == 0 and summary.groups == {}


def test_cli_help_names_every_key():
    result = CliRunner().invoke(app, ["simulate", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for key in [*OPERATIONS, *LOOKALIKES]:
        assert key in result.output, key


def test_summary_lists_every_group_with_its_size(tmp_path):
    summary = simulate(tmp_path, seed=8, scale=0.05, operations="all", lookalikes="all", sizes={"family": 10})
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert summary.groups == truth.groupby("op_id").size().to_dict()
    assert summary.ops == len(OPERATIONS)
    assert {archetype_of(o) for o in summary.groups} == set(OPERATIONS) | set(LOOKALIKES)
    assert sum(v for k, v in summary.groups.items() if k.startswith("lookalike-family-")) == 10
