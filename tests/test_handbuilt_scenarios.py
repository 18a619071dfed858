"""End-to-end detection on small hand-built scenarios, written without `graphlinker simulate`.

Every other detection-quality assertion in the suite runs on our own simulator's output, whose
authors also wrote the detector. These five scenarios are literal CSV files in tests/handbuilt/
(written by tests/handbuilt/make.py, standard library only, every shared card, IP and identifier
spelled out there); tests/handbuilt/README.md states each one's expectation and why. Each is run
as a user runs it, `python -m graphlinker run DIR --format json` with a fresh workspace and the
shipped settings, and the tests read the JSON report: cluster membership, flags and reason codes.

Where the detector does not meet a scenario's expectation, the test keeps the expectation and is
marked xfail(strict=True) with what the detector does instead.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphlinker as gl

HANDBUILT = Path(__file__).resolve().parent / "handbuilt"

# The people in each scenario, as tests/handbuilt/make.py names them (and README.md lists them).
BACKGROUND = {f"bg-{n:02d}" for n in range(1, 41)}  # 40 unrelated people, in every scenario
RING = {"ring-1", "ring-2", "ring-3", "ring-4"}
RING_CARD = "card_7Q2mXv"
RING_SUBNET = "203.0.113.0/24"
OFFICE = {f"office-{n:02d}" for n in range(1, 31)}
HOUSEHOLD = {"home-parent-1", "home-parent-2", "home-teen-1", "home-teen-2"}
CARRIER = {f"mobile-{n:03d}" for n in range(1, 301)}
FRAUD = {"fraud-1", "fraud-2", "fraud-3", "fraud-4", "fraud-5"}
FRAUD_IDENTIFIERS = {"address": "Flat 2, 17 Quarry Lane, Exampleton EX1 2AB", "phone": "+44 7700 900417",
                     "national_id": "ZZ-000417-C"}

# The group each scenario is about; the background is in every one.
PEOPLE = {"ring_grader": RING, "office_nat": OFFICE, "household_card": HOUSEHOLD, "carrier_nat": CARRIER,
          "fraud_ring_identifiers": FRAUD}


def read_csv(scenario: str, kind: str) -> list[dict[str, str]]:
    with open(HANDBUILT / scenario / f"{kind}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """Each scenario run once through the CLI, all five at once: report and workspace.

    The embedded store (``--store local``: $NEO4J_URI would otherwise pick Neo4j) and the shipped
    settings ($GRAPHLINKER_CONFIG, if the caller has one, is not passed on).
    """
    environment = {k: v for k, v in os.environ.items() if k not in ("GRAPHLINKER_CONFIG", "GRAPHLINKER_STORE")}
    started = {}
    for scenario in PEOPLE:
        workspace = tmp_path_factory.mktemp(f"ws-{scenario}")
        command = [sys.executable, "-m", "graphlinker", "run", str(HANDBUILT / scenario), "--workspace", str(workspace),
                   "--store", "local", "--format", "json"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        started[scenario] = (process, workspace)
    results = {}
    try:
        for scenario, (process, workspace) in started.items():
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, f"{scenario}: {stderr}"
            results[scenario] = (json.loads(stdout), workspace)
    finally:
        for process, _ in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def clusters_holding(report: dict, accounts: set[str]) -> list[dict]:
    return [c for c in report["clusters"] if accounts & set(c["accounts"])]


def flagged(report: dict) -> list[list[str]]:
    return [sorted(c["accounts"]) for c in report["clusters"] if c["flagged"]]


def codes(cluster: dict) -> set[str]:
    return {reason["code"] for reason in cluster["reasons"]}


@pytest.mark.parametrize("scenario", list(PEOPLE))
def test_every_row_of_the_scenario_is_loaded(runs, scenario):
    """Every row was written to be valid, so nothing is quarantined and every account counts:
    40 background people plus the scenario's group (4, 30, 4, 300 or 5)."""
    report = runs[scenario][0]
    assert report["summary"]["quarantined_rows"] == 0
    assert report["summary"]["accounts"] == len(BACKGROUND) + len(PEOPLE[scenario])


# --- a. A four-account ring on one card and one /24, sending grader and chain-of-thought prompts ---

def test_ring_is_one_cluster_of_exactly_its_four_accounts(runs):
    """One card, one /24 and one script driving all four in the same minutes: one cluster, nobody else in it."""
    report = runs["ring_grader"][0]
    assert [sorted(c["accounts"]) for c in clusters_holding(report, RING)] == [sorted(RING)]


def test_ring_is_the_only_flagged_cluster_and_flagged_for_extraction(runs):
    """Its traffic is what distillation looks like: grader and step-by-step prompts (extraction_prompts),
    sent in lockstep; the 40 background people ask everyday questions and are never flagged."""
    report = runs["ring_grader"][0]
    assert flagged(report) == [sorted(RING)]
    (ring,) = clusters_holding(report, RING)
    assert "extraction_prompts" in codes(ring)
    tags = {tag for template in ring["evidence"]["templates"] for tag in template["extraction_tags"]}
    assert "grader_prompt" in tags  # "You are a strict grader. Score the following answer ..."


def test_ring_evidence_shows_the_shared_card_and_subnet(runs):
    """All four pay with RING_CARD and send from four addresses in 203.0.113.0/24 (make.py: RING_CARD, RING_IPS)."""
    report = runs["ring_grader"][0]
    (ring,) = clusters_holding(report, RING)
    shared = ring["evidence"]["shared_identifiers"]
    assert {"value": RING_CARD, "accounts": 4} in shared.get("payment", [])
    assert {"value": RING_SUBNET, "accounts": 4} in shared.get("subnet", [])
    assert ring["evidence"]["features"]["shared_payment_share"] == 1.0  # 4 of 4 members share the card


def test_ring_reasons_name_the_shared_card_and_subnet(runs):
    """The brief's expectation: reason codes for the shared payment and the subnet, beside the extraction templates.

    Sharing reasons are listed whenever they are strong, even at weight 0 (they say what ties the members
    together; graphlinker/analysis/scoring.py, SHARING_LISTED_FROM)."""
    report = runs["ring_grader"][0]
    (ring,) = clusters_holding(report, RING)
    assert {"extraction_prompts", "shared_payment", "shared_infrastructure"} <= codes(ring)


# --- b, c. An office on one NAT and one corporate card; a household on one card: benign --------------

def test_office_on_one_nat_and_one_corporate_card_is_not_flagged(runs):
    """30 colleagues share an IP and a card (so they may well be clustered), but they send varied,
    ordinary questions from browsers during office hours: nothing there is extraction behaviour."""
    report = runs["office_nat"][0]
    assert flagged(report) == []
    # the report says why: the office's clusters show no behaviour reason at all, only what it shares
    office = [c for c in report["clusters"] if set(c["accounts"]) & OFFICE]
    assert office
    for cluster in office:
        gates = {g["gate"]: g["detail"] for g in cluster["evidence"]["not_flagged_because"]}
        assert set(gates) >= {"below_threshold", "too_few_behaviours"}, gates
        assert gates["too_few_behaviours"].startswith("0 behaviour reason(s)")


def test_household_sharing_one_card_is_not_flagged(runs):
    """Two parents and two teenagers on the family card and home connection, asking everyday and homework questions."""
    report = runs["household_card"][0]
    assert flagged(report) == []


# --- d. Hundreds of unrelated people behind one carrier NAT --------------------------------------------

def test_carrier_nat_joins_no_cluster_wholesale_and_flags_nothing(runs):
    """300 strangers share four NAT addresses in one /24 and nothing else (own cards, own questions).

    Strangers may be paired by coincidence (two people asking two of the same everyday questions),
    but a cluster holding more than a tenth of the NAT's users (30) has no explanation but the NAT:
    no household, team or chance overlap of everyday questions is that large.
    """
    report = runs["carrier_nat"][0]
    largest = max((len(CARRIER & set(c["accounts"])) for c in report["clusters"]), default=0)
    assert largest <= len(CARRIER) // 10
    assert flagged(report) == []


def test_carrier_nat_links_few_pairs_of_its_users(runs):
    """Fewer links among the 300 than there are users: the NAT links each to every other one, so if it
    counted, every user would carry several links (up to max_links_per_account); a stranger has at most
    the odd coincidental one."""
    with gl.open_workspace(runs["carrier_nat"][1]) as workspace:
        links = workspace.links()
    among = links[links["account_a"].isin(CARRIER) & links["account_b"].isin(CARRIER)]
    assert len(among) < len(CARRIER)


# --- e. A first-party fraud ring sharing an address, a phone and a national id -----------------------

def test_fraud_ring_is_one_cluster_of_exactly_its_five_accounts(runs):
    """Five accounts with their own cards, connections and e-mail, but one address, phone and national id on file;
    no background person (each with an address, phone and national id of their own) is flagged."""
    report = runs["fraud_ring_identifiers"][0]
    assert [sorted(c["accounts"]) for c in clusters_holding(report, FRAUD)] == [sorted(FRAUD)]
    assert not any(c["flagged"] for c in clusters_holding(report, BACKGROUND))


def test_fraud_ring_evidence_names_the_shared_address_phone_and_national_id(runs):
    """Each of the three values is on file for all five (identifiers.csv), so every one of the C(5, 2) = 10
    pairs is linked by each kind."""
    report = runs["fraud_ring_identifiers"][0]
    (ring,) = clusters_holding(report, FRAUD)
    shared = ring["evidence"]["shared_identifiers"]
    for kind, value in FRAUD_IDENTIFIERS.items():
        assert shared.get(kind) == [{"value": value, "accounts": 5}], kind
        assert ring["evidence"]["links"]["by_signal"].get(kind) == 10, kind


def test_fraud_ring_reasons_name_the_shared_identifiers(runs):
    """The brief's expectation: the cluster's reason codes cite the shared identifiers (``shared_identifiers``
    names the kinds the members share)."""
    report = runs["fraud_ring_identifiers"][0]
    (ring,) = clusters_holding(report, FRAUD)
    cited = " ".join(f"{r['code']} {r['detail']}" for r in ring["reasons"]).lower().replace("_", " ")
    assert [kind for kind in FRAUD_IDENTIFIERS if kind.replace("_", " ") not in cited] == []


# --- The fixtures are what their README and make.py say ---------------------------------------------

def test_committed_csvs_are_exactly_what_make_py_writes(tmp_path):
    """The CSVs are readable on their own, but make.py is their source: an edit to one must be made there."""
    subprocess.run([sys.executable, str(HANDBUILT / "make.py"), str(tmp_path)], check=True)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    committed = sorted(p.relative_to(HANDBUILT) for p in HANDBUILT.rglob("*.csv"))
    assert written == committed
    for path in written:
        assert (tmp_path / path).read_bytes() == (HANDBUILT / path).read_bytes(), path


@pytest.mark.parametrize("scenario", list(PEOPLE))
def test_scenario_is_small(scenario):
    """Each scenario stays well under 1 MB of plain CSV (the brief's bound), small enough to read and to commit."""
    assert sum(p.stat().st_size for p in (HANDBUILT / scenario).iterdir()) < 1_000_000


def test_scenarios_share_what_their_descriptions_say():
    """Who shares what, read straight from the CSVs (a change to make.py that broke a description fails here)."""
    def cards(scenario):
        return {row["account_id"]: row["payment_fingerprint"] for row in read_csv(scenario, "payments")}

    def ips(scenario, accounts):
        return {row["ip"] for row in read_csv(scenario, "requests") if row["account_id"] in accounts}

    ring_cards = cards("ring_grader")
    assert {ring_cards[a] for a in RING} == {RING_CARD} and list(ring_cards.values()).count(RING_CARD) == 4
    ring_ips = ips("ring_grader", RING)
    assert len(ring_ips) == 4 and all(ipaddress.ip_address(ip) in ipaddress.ip_network(RING_SUBNET) for ip in ring_ips)

    office_cards = cards("office_nat")
    assert len({office_cards[a] for a in OFFICE}) == 1 and len(ips("office_nat", OFFICE)) == 1

    home_cards = cards("household_card")
    assert len({home_cards[a] for a in HOUSEHOLD}) == 1

    carrier_cards = cards("carrier_nat")
    assert len({carrier_cards[a] for a in CARRIER}) == 300  # a card each
    nat = ips("carrier_nat", CARRIER)
    assert len(nat) <= 4 and len({ipaddress.ip_network(f"{ip}/24", strict=False) for ip in nat}) == 1

    fraud_cards = cards("fraud_ring_identifiers")
    assert len({fraud_cards[a] for a in FRAUD}) == 5
    assert len({ipaddress.ip_network(f"{ip}/24", strict=False) for ip in ips("fraud_ring_identifiers", FRAUD)}) == 5
    on_file = {}
    for row in read_csv("fraud_ring_identifiers", "identifiers"):
        on_file.setdefault((row["kind"], row["value"]), set()).add(row["account_id"])
    for kind, value in FRAUD_IDENTIFIERS.items():
        assert on_file[(kind, value)] == FRAUD
    assert all(len(holders) == 1 for key, holders in on_file.items() if key[1] not in FRAUD_IDENTIFIERS.values())
