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
from graphlinker.simulate import simulate
from graphlinker.simulate.text import HOMEWORK, HUB_TEMPLATES, NAIVE_COT

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
        "import sys; from graphlinker.simulate import simulate\n"
        "for f in ('csv', 'jsonl', 'parquet'): simulate(sys.argv[1] + '/' + f, seed=7, scale=0.05, file_format=f)\n"
    )
    for run, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / run)], check=True, env=env, cwd=Path(__file__).parents[1])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 15
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
    assert summary.ops == 5 and summary.lookalike_groups == truth.loc[truth["role"] == "lookalike", "op_id"].nunique()
    assert (~data["accounts"]["account_id"].isin(truth["account_id"])).sum() >= 200, "benign background"


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
    assert 150_000 <= summary.requests <= 260_000
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
