"""Scoring: ramps, noisy-OR combination, the coordination gate (and the earlier content gate), reason codes."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from graphlinker.analysis.features import FEATURE_COLUMNS
from graphlinker.analysis.scoring import REASONS, SHARING_LISTED_FROM, ramp, score_clusters
from graphlinker.settings import Settings


@pytest.fixture(scope="module")
def settings(hand_settings):
    return hand_settings


def features(**values) -> pd.DataFrame:
    row = {c: 0.0 for c in FEATURE_COLUMNS}
    row.update(size=20, requests=1000, output_tokens=10_000, under_p95_share=1.0)
    row.update(values)
    return pd.DataFrame([row], index=pd.Index([0], name="cluster"))


def test_ramp_is_clipped_linear():
    assert ramp(pd.Series([0.0, 0.25, 0.5, 1.0]), 0.2, 0.4).tolist() == pytest.approx([0.0, 0.25, 1.0, 1.0])


def test_every_reason_has_weight_and_ramp_in_config():
    shipped = Settings.load()
    for reason in REASONS:
        assert reason.code in shipped.scoring["weights"] and reason.code in shipped.scoring["ramps"]


def test_shipped_weights_let_no_single_reason_flag_a_cluster():
    """The shipped weights are fitted with each weight at most 0.5 and the threshold above every weight."""
    shipped = Settings.load().scoring
    assert max(shipped["weights"].values()) <= 0.5 < shipped["flag_threshold"]


def test_office_team_with_shared_card_and_nat_is_not_flagged(settings):
    """Shared payment, shared infrastructure and a creation burst, but ordinary varied prompts."""
    office = features(shared_payment_share=1.0, infrastructure_share=1.0, creation_burst_share=1.0, sdk_share=0.4)
    scored = score_clusters(office, settings).iloc[0]
    assert not scored["flagged"]
    assert {r["code"] for r in scored["reasons"]} >= {"shared_payment", "shared_infrastructure", "creation_burst"}


EVERYTHING_BUT_CONTENT = dict(
    shared_payment_share=1.0, infrastructure_share=1.0, creation_burst_share=1.0, sdk_share=1.0,
    hour_entropy=1.0, synchronised_share=1.0, output_per_account_ratio=10, pooled_volume_ratio=30, new_model_lift=5,
)


def test_sharing_alone_ranks_high_but_never_flags(settings):
    """Shared card, IPs, creation day, strong links and SDK use: risk past the threshold, but the
    behaviour reasons alone (automation here) are not, so the cluster is not flagged."""
    shared = features(shared_payment_share=1.0, infrastructure_share=1.0, creation_burst_share=1.0, cohesion=2.0, sdk_share=1.0)
    scored = score_clusters(shared, settings).iloc[0]
    assert scored["risk_score"] >= settings.scoring["flag_threshold"]
    assert not scored["flagged"]


def test_ring_of_independent_accounts_is_flagged_without_any_extraction_tag(settings):
    ring = features(independence=1.0, extraction_share=0.0, **EVERYTHING_BUT_CONTENT)
    scored = score_clusters(ring, settings).iloc[0]
    assert scored["flagged"] and "extraction_prompts" not in {r["code"] for r in scored["reasons"]}


def test_earlier_content_gate_is_reachable_by_settings(tmp_path):
    """``require_content_signal = true``: without extraction-tagged traffic nothing is flagged, as before."""
    (tmp_path / "old.toml").write_text("[scoring]\nrequire_content_signal = true\n")
    old = Settings.load(tmp_path / "old.toml")
    batch = features(templated_share=1.0, sdk_share=1.0, hour_entropy=1.0, synchronised_share=1.0, output_per_account_ratio=8)
    assert score_clusters(batch, old).iloc[0]["risk_score"] >= old.scoring["flag_threshold"]
    assert not score_clusters(batch, old).iloc[0]["flagged"]
    assert score_clusters(batch.assign(extraction_share=0.9), old).iloc[0]["flagged"]


def test_extraction_ring_is_flagged_with_reasons_in_contribution_order(settings):
    ring = features(independence=1.0, extraction_share=0.9, templated_share=0.95, sdk_share=0.9, synchronised_share=0.8,
                    shared_payment_share=0.5)
    scored = score_clusters(ring, settings).iloc[0]
    assert scored["flagged"] and scored["risk_score"] > 0.8
    weights = [r["weight"] for r in scored["reasons"]]
    assert weights == sorted(weights, reverse=True) and scored["reasons"][0]["code"] == "extraction_prompts"
    assert "90%" in scored["reasons"][0]["detail"]


def test_noisy_or_bounds(settings):
    single = score_clusters(features(extraction_share=1.0), settings).iloc[0]
    assert single["risk_score"] == pytest.approx(settings.scoring["weights"]["extraction_prompts"])
    everything = features(**{c: 100.0 for c in FEATURE_COLUMNS if c not in ("size", "requests", "output_tokens")})
    expected = 1.0
    for weight in settings.scoring["weights"].values():
        expected *= 1.0 - weight
    assert score_clusters(everything, settings).iloc[0]["risk_score"] == pytest.approx(1.0 - expected, abs=1e-4)


def test_small_pairs_are_never_flagged(settings):
    pair = features(size=2, extraction_share=1.0, templated_share=1.0, sdk_share=1.0, synchronised_share=1.0)
    assert not score_clusters(pair, settings).iloc[0]["flagged"]


def test_one_strong_behaviour_reason_plus_a_trace_is_still_one_reason(settings):
    """A batch job: output volume at full strength and a trace of automation, risk past the threshold."""
    strong = replace(settings, scoring={**settings.scoring, "weights": {**settings.scoring["weights"], "high_output_volume": 0.6},
                                        "flag_threshold": 0.6})
    batch = features(output_per_account_ratio=10, sdk_share=0.36)  # automation strength 0.1 -> contribution 0.025
    scored = score_clusters(batch, strong).iloc[0]
    assert scored["risk_score"] >= 0.6 and not scored["flagged"]
    both = score_clusters(features(output_per_account_ratio=10, sdk_share=1.0), strong).iloc[0]
    assert both["flagged"]  # automation at full strength contributes 0.25: two reasons


def test_risk_is_shrunk_by_size_as_n_over_n_plus_the_prior(settings):
    """Few members are weaker evidence than many: risk x n / (n + size_prior), by hand 2/3 for a pair, 3/4 for
    three, 19/20 for nineteen (size_prior 1); a pair is never flagged (min_cluster_size 3)."""
    strong = dict(independence=1.0, extraction_share=0.9, synchronised_share=0.8, sdk_share=0.9)
    shrunk = replace(settings, scoring={**settings.scoring, "size_prior": 1.0, "flag_threshold": 0.3})
    raw = replace(shrunk, scoring={**shrunk.scoring, "size_prior": 1e-12})  # n / (n + ~0): no shrinkage
    unshrunk = score_clusters(features(**strong), raw).iloc[0]["risk_score"]
    for size, factor in ((2, 2 / 3), (3, 3 / 4), (19, 19 / 20)):
        scored = score_clusters(features(**strong).assign(size=size), shrunk).iloc[0]
        assert scored["risk_score"] == pytest.approx(unshrunk * factor, abs=1e-4)
        assert scored["flagged"] == (size >= 3)


def test_size_prior_zero_restores_the_discount_of_pairs_only(settings):
    """The earlier rule: clusters below min_cluster_size (3) in proportion (a pair x 2/3), larger ones untouched."""
    strong = dict(independence=1.0, extraction_share=0.9, synchronised_share=0.8, sdk_share=0.9)
    earlier = replace(settings, scoring={**settings.scoring, "size_prior": 0.0})
    ring = score_clusters(features(**strong).assign(size=3), earlier).iloc[0]
    big = score_clusters(features(**strong).assign(size=80), earlier).iloc[0]
    pair = score_clusters(features(**strong).assign(size=2), earlier).iloc[0]
    assert ring["flagged"] and not pair["flagged"]
    assert ring["risk_score"] == big["risk_score"]
    assert pair["risk_score"] == pytest.approx(ring["risk_score"] * 2 / 3, abs=1e-4)


def test_strong_sharing_reasons_are_listed_at_weight_zero_and_change_no_score(settings):
    """With sharing weighted 0 (as the shipped fit has it), a shared card at full strength is still cited, a weak one
    (strength below SHARING_LISTED_FROM) is not, and a zero-weight behaviour reason is not: risk and flag stay those of
    the weighted reasons alone."""
    weights = {**settings.scoring.weights, "shared_payment": 0.0, "shared_identifiers": 0.0, "round_the_clock": 0.0}
    zero = replace(settings, scoring={**settings.scoring, "weights": weights})
    low, high = zero.scoring.ramps["shared_payment"]
    weak_share = low + 0.5 * SHARING_LISTED_FROM * (high - low)  # strength SHARING_LISTED_FROM / 2
    clusters = pd.concat([features(shared_payment_share=1.0, shared_identifier_share=1.0, hour_entropy=1.0),
                          features(shared_payment_share=weak_share, hour_entropy=1.0)]).set_axis(pd.Index([0, 1], name="cluster"))
    words = pd.DataFrame({"shared_identifier_kinds": ["phone, address"]}, index=[0])
    scored = score_clusters(clusters, zero, words)
    listed = [(r["code"], r["weight"]) for r in scored.loc[0, "reasons"]]
    assert listed == [("shared_payment", 0.0), ("shared_identifiers", 0.0)]
    assert scored.loc[0, "reasons"][1]["detail"] == "100% of accounts share an identifier on file (phone, address) with another member"
    assert scored.loc[1, "reasons"] == []
    assert scored["risk_score"].tolist() == [0.0, 0.0] and not scored["flagged"].any()
    # without words the detail still reads
    assert "(identifiers)" in score_clusters(clusters, zero).loc[0, "reasons"][1]["detail"]


def test_shared_identifiers_is_a_sharing_reason_in_the_shipped_settings():
    """Sharing never flags: an office's phones and devices on file must not count towards the behaviour gate."""
    assert "shared_identifiers" in Settings.load().scoring["infrastructure_reasons"]


# --- why a cluster is not flagged (evidence.not_flagged_because) ---------------------------------------------


def _gates(scored) -> list[str]:
    return [g["gate"] for g in scored["not_flagged_because"]]


def test_one_behaviour_reason_names_the_rule_it_misses():
    """Output volume alone (the shipped weight 0.5 at full strength, 80 members): risk 0.5 x 80/81 = 0.4938,
    under the threshold, and one behaviour reason where two are needed."""
    shipped = Settings.load()
    scored = score_clusters(features(size=80, output_per_account_ratio=6.0), shipped).iloc[0]
    assert not scored["flagged"] and scored["risk_score"] == pytest.approx(0.4938, abs=1e-4)
    assert _gates(scored) == ["below_threshold", "too_few_behaviours"]
    below, few = scored["not_flagged_because"]
    assert "risk 0.4938 is below flag_threshold" in below["detail"]
    assert few["detail"].startswith("1 behaviour reason(s) contribute 0.1 or more (high_output_volume 0.50)")


def test_risk_that_only_sharing_carries_is_named_as_such():
    """A shared card weighing 0.5 lifts the risk past the threshold (0.75 x 20/21 = 0.714), but the behaviour
    reasons alone give 0.5: the cluster is held back by the sharing rule, not by its risk."""
    shipped = Settings.load()
    sharing = replace(shipped, scoring={**shipped.scoring, "weights": {**shipped.scoring["weights"], "shared_payment": 0.5}})
    scored = score_clusters(features(output_per_account_ratio=6.0, shared_payment_share=1.0), sharing).iloc[0]
    assert scored["risk_score"] == pytest.approx(0.7143, abs=1e-4) and not scored["flagged"]
    assert _gates(scored) == ["sharing_carries_it", "too_few_behaviours"]
    assert "alone give 0.5000" in scored["not_flagged_because"][0]["detail"]


def test_flagged_and_too_small_clusters():
    """Two full behaviour reasons flag 20 accounts (no gate listed); the same pair of accounts is too small."""
    shipped = Settings.load()
    ring = features(output_per_account_ratio=6.0, synchronised_share=0.7)
    assert score_clusters(ring, shipped).iloc[0]["flagged"] and score_clusters(ring, shipped).iloc[0]["not_flagged_because"] == []
    pair = score_clusters(ring.assign(size=2), shipped).iloc[0]
    assert not pair["flagged"] and _gates(pair)[0] == "too_small"
    assert pair["not_flagged_because"][0]["detail"] == "2 accounts, fewer than min_cluster_size (3)"


def test_the_long_evidence_table_carries_each_unmet_condition():
    """`ws.evidence()` / `evidence_frame`: one ``not_flagged`` row per condition, its code as kind, its sentence as detail."""
    from graphlinker.report.render import evidence_frame

    gates = [{"gate": "below_threshold", "detail": "risk 0.3 is below flag_threshold 0.5412"},
             {"gate": "too_few_behaviours", "detail": "1 behaviour reason(s) ..."}]
    report = {"clusters": [{"cluster_id": "cl-a", "reasons": [], "evidence": {"not_flagged_because": gates}},
                           {"cluster_id": "cl-b", "reasons": [], "evidence": {}}]}
    rows = evidence_frame(report)
    assert rows[["cluster_id", "section", "kind", "detail"]].values.tolist() == [
        ["cl-a", "not_flagged", "below_threshold", "risk 0.3 is below flag_threshold 0.5412"],
        ["cl-a", "not_flagged", "too_few_behaviours", "1 behaviour reason(s) ..."]]


def test_tables_single_out_near_misses():
    """The CLI table and Markdown say which one condition holds a near miss back; with several, just "no"."""
    from graphlinker.report.render import flag_label

    def cluster(flagged, *gates):
        return {"flagged": flagged, "evidence": {"not_flagged_because": [{"gate": g, "detail": ""} for g in gates]}}

    assert flag_label(cluster(True)) == "yes"
    assert flag_label(cluster(False, "too_few_behaviours")) == "no (behaviours)"
    assert flag_label(cluster(False, "sharing_carries_it"), "\n") == "no\n(sharing only)"
    assert flag_label(cluster(False, "below_threshold", "too_few_behaviours")) == "no"
    assert flag_label({"flagged": False, "evidence": {}}) == "no"  # a report written before the field existed


def test_the_clusters_table_lists_the_gate_codes_and_keeps_its_arrow_type():
    """`ws.clusters()` / `--format parquet`: ``not_flagged_because`` is a list of gate codes (empty when flagged),
    an Arrow list of strings even when no cluster of the run is held back."""
    from graphlinker.report.render import clusters_frame, to_arrow

    def cluster(cid, flagged, *gates):
        return {"cluster_id": cid, "size": 3, "risk_score": 0.5, "flagged": flagged, "reasons": [], "accounts": ["x"],
                "evidence": {"not_flagged_because": [{"gate": g, "detail": "…"} for g in gates]} if gates else {}}

    frame = clusters_frame({"clusters": [cluster("a", True), cluster("b", False, "too_few_behaviours")]})
    assert frame["not_flagged_because"].tolist() == [[], ["too_few_behaviours"]]
    all_flagged = to_arrow(clusters_frame({"clusters": [cluster("a", True)]}))
    assert str(all_flagged.schema.field("not_flagged_because").type) == "list<item: string>"


def test_the_earlier_content_gate_is_named_too(tmp_path):
    """With ``require_content_signal``, a cluster without extraction content says so, beside the other conditions."""
    (tmp_path / "old.toml").write_text("[scoring]\nrequire_content_signal = true\n")
    old = Settings.load(tmp_path / "old.toml")
    ring = features(output_per_account_ratio=6.0, synchronised_share=0.7)  # flagged by the shipped rule
    scored = score_clusters(ring, old).iloc[0]
    assert not scored["flagged"] and _gates(scored) == ["no_content_signal"]
    assert score_clusters(ring.assign(extraction_share=0.9), old).iloc[0]["not_flagged_because"] == []


def test_rescored_evidence_carries_only_the_new_rules_gates():
    """A report re-scored under other settings (the detection benchmark's folds) states the gates of that rule:
    the ones it was first scored with are replaced, or dropped when the cluster now flags."""
    from graphlinker.report.build import with_gates

    first = {"members": 12, "not_flagged_because": [{"gate": "below_threshold", "detail": "risk 0.50 ..."}]}
    now = [{"gate": "too_few_behaviours", "detail": "1 behaviour reason(s) ..."}]
    assert with_gates(first, now) == {"members": 12, "not_flagged_because": now}
    assert with_gates(first, []) == {"members": 12}
    assert with_gates({"members": 12}, None) == {"members": 12}
