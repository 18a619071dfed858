"""Analysts' verdicts: the rule (graphlinker.analysis.verdicts) on hand-made clusters, then through the CLI
across two runs of the demo, on the embedded store and on Neo4j (where a bulk rebuild must keep them).

Run 2 is tests/test_queries_neo4j.py's second export: the demo plus three accounts joining the naive ring
``cl-1a8c3c5a62`` (8 members in run 1, 11 in run 2, id kept), a new ring, and one shared card. Other rings
are untouched, so their ids and members are the same in both runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphlinker.analysis.verdicts import GROWTH_LIMIT, apply_verdicts, current, judge, new_verdict, show_verdicts
from graphlinker.cli.app import app
from graphlinker.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
NAIVE_RING = "cl-1a8c3c5a62"  # grows from 8 to 11 members in run 2 (three accounts join on its card and device)
STEADY_RING = "cl-e817320f9f"  # flagged in run 1, the same 8 accounts in run 2
QUIET_GROUP = "cl-6a33e96e1a"  # 13 accounts, unflagged (risk ~0) in both runs
TOP_RING = "cl-562c0fc8a0"  # flagged, unchanged


def cluster(cid: str, members: list[str], codes: list[str], flagged: bool) -> dict:
    return {"cluster_id": cid, "size": len(members), "accounts": members, "flagged": flagged, "risk_score": 0.5,
            "reasons": [{"code": c} for c in codes]}


EIGHT = [f"a{i}" for i in range(8)]


# --- the rule -------------------------------------------------------------------------------------------

def test_benign_holds_while_the_group_grows_by_at_most_a_quarter():
    record = new_verdict(cluster("cl-x", EIGHT, ["automation"], True), "run-1", "benign")
    assert int(GROWTH_LIMIT * 8) == 2  # so two new members are allowed, three are not
    two_more = judge(cluster("cl-x", EIGHT + ["n1", "n2"], ["automation"], True), record)
    assert (two_more["flag"], two_more["effect"], two_more["new_members"]) == (False, "kept unflagged", ["n1", "n2"])
    three_more = judge(cluster("cl-x", EIGHT + ["n1", "n2", "n3"], ["automation"], True), record)
    assert (three_more["flag"], three_more["effect"]) == (None, "raised again")
    assert "grew from 8 to 11 accounts" in three_more["why"]


def test_benign_is_raised_again_by_a_new_reason_and_a_small_group_may_gain_one_account():
    record = new_verdict(cluster("cl-x", ["a", "b"], ["automation"], True), "run-1", "benign")
    assert judge(cluster("cl-x", ["a", "b", "c"], ["automation"], True), record)["flag"] is False  # one is always allowed
    gained = judge(cluster("cl-x", ["a", "b"], ["automation", "extraction_prompts"], True), record)
    assert gained["effect"] == "raised again" and "new reasons: extraction_prompts" in gained["why"]
    fewer = judge(cluster("cl-x", ["a", "b"], [], True), record)  # losing reasons or members keeps it benign
    assert fewer["flag"] is False


def test_a_sharing_reason_listed_at_weight_zero_does_not_raise_a_benign_verdict_again():
    """An office judged benign when only automation was listed (before strong sharing reasons were listed at weight 0):
    the same office now also lists its shared card at weight 0, which is no new evidence; a weighted one is."""
    record = new_verdict(cluster("cl-x", EIGHT, ["automation"], False), "run-1", "benign")
    now = {**cluster("cl-x", EIGHT, [], False), "reasons": [{"code": "automation", "weight": 0.05},
                                                             {"code": "shared_payment", "weight": 0.0}]}
    assert (judge(now, record)["flag"], judge(now, record)["effect"]) == (False, "kept unflagged")
    now["reasons"][1]["weight"] = 0.2  # a configuration that weighs sharing
    raised = judge(now, record)
    assert raised["effect"] == "raised again" and "new reasons: shared_payment" in raised["why"]


def test_confirmed_keeps_the_flag_and_names_new_members_unsure_changes_nothing():
    confirmed = new_verdict(cluster("cl-x", EIGHT, [], False), "run-1", "confirmed")
    grown = cluster("cl-x", EIGHT[1:] + ["z9"], [], False)
    judged = judge(grown, confirmed)
    assert (judged["flag"], judged["new_members"], judged["left_members"]) == (True, ["z9"], 1)
    unsure = judge(grown, new_verdict(cluster("cl-x", EIGHT, [], False), "run-1", "unsure"))
    assert (unsure["flag"], unsure["effect"]) == (None, "none")


def test_the_latest_verdict_counts_and_the_summary_is_recounted():
    c = cluster("cl-x", EIGHT, ["automation"], True)
    first = new_verdict(c, "run-1", "confirmed", by="a")
    later = {**new_verdict(c, "run-1", "benign", by="b"), "at": "2999-01-01T00:00:00+00:00"}
    assert current([later, first])["cl-x"]["by"] == "b"  # by time, not by list order
    other = cluster("cl-y", ["p", "q"], [], True)
    report = {"clusters": [c, other], "summary": {"flagged_clusters": 2, "flagged_accounts": 10}}
    applied = apply_verdicts(report, [first, later])
    assert [x["flagged"] for x in applied["clusters"]] == [False, True]
    assert (applied["summary"]["flagged_clusters"], applied["summary"]["flagged_accounts"]) == (1, 2)
    shown = show_verdicts(report, [first])  # a verdict given after the run: shown, flags untouched
    assert shown["clusters"][0]["flagged"] is True and shown["clusters"][0]["verdict"]["effect"] == "given after this run"


def test_a_bad_verdict_or_an_overlong_note_is_bad_input():
    c = cluster("cl-x", EIGHT, [], True)
    with pytest.raises(InputError, match="one of confirmed, benign, unsure"):
        new_verdict(c, "run-1", "fine")
    with pytest.raises(InputError, match="characters"):
        new_verdict(c, "run-1", "benign", note="x" * 5000)


# --- through the CLI, embedded store --------------------------------------------------------------------

def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout


def by_id(report: dict) -> dict[str, dict]:
    return {c["cluster_id"]: c for c in report["clusters"]}


@pytest.fixture(scope="module")
def second_export(tmp_path_factory) -> Path:
    from test_queries_neo4j import build_second_export

    return build_second_export(tmp_path_factory.mktemp("second") / "export")


def give_verdicts(*where: object) -> None:
    for cid, decision, extra in [(NAIVE_RING, "benign", ["--note", "QA <b>load</b> test; T-1", "--by", "alice"]),
                                 (STEADY_RING, "benign", ["--by", "alice"]),
                                 (QUIET_GROUP, "confirmed", ["--by", "bob"]),
                                 (TOP_RING, "unsure", [])]:
        code, out = invoke("verdict", cid, decision, *extra, *where)
        assert code == 0, out
        assert f"{decision} verdict on {cid}" in out


def check_second_run(report: dict) -> None:
    clusters = by_id(report)
    assert clusters[STEADY_RING]["flagged"] is False and clusters[STEADY_RING]["verdict"]["effect"] == "kept unflagged"
    grown = clusters[NAIVE_RING]
    assert grown["size"] == 11 and grown["flagged"] is True  # the scorer flags it; the benign verdict no longer holds
    assert grown["verdict"]["effect"] == "raised again" and "grew from 8 to 11 accounts" in grown["verdict"]["why"]
    assert sorted(grown["verdict"]["new_members"]) == ["acct_grow_0001", "acct_grow_0002", "acct_grow_0003"]
    assert clusters[QUIET_GROUP]["flagged"] is True and clusters[QUIET_GROUP]["verdict"]["effect"] == "kept flagged"
    assert clusters[TOP_RING]["flagged"] is True and clusters[TOP_RING]["verdict"]["effect"] == "none"
    flagged = [c for c in report["clusters"] if c["flagged"]]
    assert report["summary"]["flagged_clusters"] == len(flagged)
    assert report["summary"]["flagged_accounts"] == sum(c["size"] for c in flagged)


def test_verdicts_follow_the_clusters_into_the_next_run(tmp_path, second_export):
    ws = ["-w", tmp_path / "ws"]
    code, out = invoke("run", DEMO, *ws, "--format", "json")
    assert code == 0
    first = by_id(json.loads(out))
    assert first[NAIVE_RING]["flagged"] and first[STEADY_RING]["flagged"] and not first[QUIET_GROUP]["flagged"]
    give_verdicts(*ws)

    code, out = invoke("report", *ws, "--format", "json")  # shown at once, flags of the published run untouched
    shown = by_id(json.loads(out))
    assert shown[STEADY_RING]["flagged"] is True and shown[STEADY_RING]["verdict"]["effect"] == "given after this run"

    code, out = invoke("run", second_export, *ws, "--format", "json")
    assert code == 0
    check_second_run(json.loads(out))

    code, out = invoke("diff", *ws, "--format", "json")
    changes = {c["cluster_id"]: c for c in json.loads(out)["changes"]}
    assert "benign verdict no longer holds: grew from 8 to 11" in changes[NAIVE_RING]["verdict"]
    assert changes[STEADY_RING]["flagged_before"] is True and changes[STEADY_RING]["flagged_after"] is False

    code, out = invoke("report", *ws, "--format", "csv")
    rows = {line.split(",")[0]: line for line in out.splitlines()[1:]}
    assert out.splitlines()[0].endswith(",verdict") and rows[STEADY_RING].endswith(",benign (kept unflagged)")
    code, out = invoke("report", *ws, "--format", "markdown")
    assert "| confirmed (kept flagged) |" in out

    code, out = invoke("verdicts", *ws, "--format", "json")
    listed = {v["cluster_id"]: v for v in json.loads(out)}
    assert set(listed) == {NAIVE_RING, STEADY_RING, QUIET_GROUP, TOP_RING}
    assert listed[NAIVE_RING]["note"] == "QA <b>load</b> test; T-1" and listed[NAIVE_RING]["by"] == "alice"
    assert listed[NAIVE_RING]["size"] == 8 and len(listed[NAIVE_RING]["members"]) == 8  # the cluster as judged
    assert invoke("verdict", NAIVE_RING, "confirmed", *ws)[0] == 0  # judged again: the latest counts, history keeps both
    assert len(json.loads(invoke("verdicts", *ws, "--format", "json")[1])) == 4
    assert len(json.loads(invoke("verdicts", *ws, "--format", "json", "--history")[1])) == 5
    code, out = invoke("verdicts", *ws, "--format", "csv")
    assert out.splitlines()[0] == "cluster_id,verdict,by,at,note,run_id,size,members,reason_codes" and len(out.splitlines()) == 5


def test_verdict_errors_are_bad_input(tmp_path):
    ws = ["-w", tmp_path / "ws"]
    result = CliRunner().invoke(app, ["verdict", NAIVE_RING, "benign", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "no run yet" in result.stderr  # README: "no run yet" is bad input
    assert invoke("run", DEMO, *ws, "--format", "json")[0] == 0
    result = CliRunner().invoke(app, ["verdict", "cl-0000000000", "benign", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "no cluster 'cl-0000000000'" in result.stderr
    result = CliRunner().invoke(app, ["verdict", NAIVE_RING, "fine", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "one of confirmed, benign, unsure" in result.stderr
    assert invoke("verdict", NAIVE_RING, "benign", *ws, "--run", "run-nope")[0] == 2
    assert not (tmp_path / "ws" / "verdicts.json").exists()  # nothing kept by a refused verdict


# --- Neo4j: the same, through a bulk rebuild ------------------------------------------------------------

@pytest.mark.neo4j
def test_verdicts_on_neo4j_survive_a_bulk_rebuild_and_give_the_same_flags(neo4j_clean, neo4j_home, second_export,
                                                                           monkeypatch, tmp_path):
    from graphlinker.store.neo4j import Neo4jStore

    monkeypatch.setenv("NEO4J_URI", neo4j_clean["uri"])
    monkeypatch.setenv("NEO4J_USER", neo4j_clean["user"])
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_clean["password"])
    ws = ["-w", tmp_path / "ws"]
    assert invoke("run", DEMO, *ws, "--format", "json")[0] == 0
    give_verdicts(*ws)
    settings = {**neo4j_clean, "home": str(neo4j_home), "bulk": "on", "mirror": "off"}
    from graphlinker.ingest.readers import Quarantine
    from graphlinker.pipeline import run
    from graphlinker.settings import Settings

    with Neo4jStore(settings) as store:  # the managed server's bulk importer replaces the whole database
        before = store.verdicts()
        report = run(second_export, store, Settings.load(), Quarantine(None)).report
        assert store.verdicts() == before
    check_second_run(report)
    code, out = invoke("verdicts", *ws, "--format", "json")
    assert {v["cluster_id"]: v["verdict"] for v in json.loads(out)} == {
        NAIVE_RING: "benign", STEADY_RING: "benign", QUIET_GROUP: "confirmed", TOP_RING: "unsure"}
    assert next(v for v in before if v["cluster_id"] == NAIVE_RING)["note"] == "QA <b>load</b> test; T-1"
