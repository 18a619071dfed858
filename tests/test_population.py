"""The population relative features are measured against, and the second measurement without flagged rings."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from graphlinker.analysis.features import FEATURE_COLUMNS
from graphlinker.analysis.population import RELATIVE_COLUMNS, Population, relative_features
from graphlinker.analysis.scoring import score_against_population


def population(outputs: dict[str, float], requests: float = 10.0) -> Population:
    """Accounts with the given output tokens, 10 requests, 100 input tokens and 2 requests per template each;
    the ``new…`` ones send half their requests to a new model."""
    rows = {a: {"requests": requests, "output_tokens": out, "input_tokens": 100.0, "template_reuse": 2.0,
                "model_requests": 10.0, "new_model_requests": 5.0 if a.startswith("new") else 0.0}
            for a, out in outputs.items()}
    return Population(pd.DataFrame.from_dict(rows, orient="index"), pd.Index(["model-x"]))


def test_relative_features_by_hand():
    """Members' medians and sums against the reference's median, quantiles and shares, worked by hand."""
    pop = population({"o1": 100, "o2": 200, "o3": 300, "new1": 900, "new2": 1100})
    cluster_of = pd.Series({"new1": 7, "new2": 7, "o1": 8})
    got = relative_features(cluster_of, pop)
    # median output of the five: 300; cluster 7's median 1000
    assert got.at[7, "output_per_account_ratio"] == pytest.approx(1000 / 300)
    assert got.at[8, "output_per_account_ratio"] == pytest.approx(100 / 300)
    # output/input: members 9 and 11 (median 10) against the population's median 3
    assert got.at[7, "output_input_ratio"] == pytest.approx(10 / 3)
    # new-model share: 10 of 20 requests; the population's 10 of 50
    assert got.at[7, "new_model_share"] == pytest.approx(0.5)
    assert got.at[7, "new_model_lift"] == pytest.approx(0.5 / 0.2)
    assert got.at[7, "template_reuse_ratio"] == pytest.approx(1.0)
    assert got.at[7, "pooled_volume_ratio"] == pytest.approx(20 / 10)


def test_a_reference_without_the_ring_measures_everyone_against_ordinary_accounts():
    pop = population({"o1": 100, "o2": 200, "o3": 300, "new1": 900, "new2": 1100})
    cluster_of = pd.Series({"new1": 7, "new2": 7, "o1": 8})
    got = relative_features(cluster_of, pop, pop.without(["new1", "new2"]))
    assert got.at[7, "output_per_account_ratio"] == pytest.approx(1000 / 200)  # median of o1..o3
    assert got.at[8, "output_per_account_ratio"] == pytest.approx(100 / 200)
    assert got.at[7, "new_model_lift"] == 0.0  # no new-model traffic left in the reference: no lift measured


def test_without_everyone_keeps_the_whole_population():
    pop = population({"a": 1, "b": 2})
    assert pop.without(["a", "b"]) is pop


def features(**values) -> dict:
    row = {c: 0.0 for c in FEATURE_COLUMNS}
    row.update(size=20, requests=1000, output_tokens=10_000, under_p95_share=1.0)
    row.update(values)
    return row


def test_a_big_ring_no_longer_hides_a_second_ring_behind_the_median(hand_settings):
    """Ring A (60 of 110 accounts, 50,000 output tokens each) is most of the accounts, so the median account
    is one of its own and ring B's 20,000 tokens read as 0.4x the population. Measured again without A
    (flagged first), B reads 20,000 / 1,000 = 20x the median account (and 200 / 10 output per input token),
    and its output volume and synchrony flag it; with ``population = "all"`` they do not."""
    accounts = {f"a{i}": 50_000 for i in range(60)} | {f"b{i}": 20_000 for i in range(20)} | {f"o{i}": 1_000 for i in range(30)}
    pop = population(accounts)
    cluster_of = pd.Series({a: ("A" if a[0] == "a" else "B") for a in accounts if a[0] in "ab"})
    frame = pd.DataFrame([features(size=60, synchronised_share=1.0, extraction_share=0.6),
                          features(size=20, synchronised_share=1.0)], index=pd.Index(["A", "B"], name="cluster"))
    frame[RELATIVE_COLUMNS] = relative_features(cluster_of, pop)
    assert frame.at["B", "output_per_account_ratio"] == pytest.approx(0.4)  # median account: one of A's

    earlier = replace(hand_settings, scoring={**hand_settings.scoring, "population": "all"})
    _, scores = score_against_population(frame, cluster_of, pop, earlier)
    assert scores["flagged"].tolist() == [True, False]

    unflagged = replace(hand_settings, scoring={**hand_settings.scoring, "population": "unflagged"})
    measured, scores = score_against_population(frame, cluster_of, pop, unflagged)
    assert measured.at["B", "output_per_account_ratio"] == pytest.approx(20.0)
    assert scores["flagged"].tolist() == [True, True]
    assert frame.at["B", "output_per_account_ratio"] == pytest.approx(0.4)  # the caller's frame is left alone


def test_nothing_flagged_first_means_nothing_measured_again(hand_settings):
    pop = population({"a": 100, "b": 200, "c": 300})
    cluster_of = pd.Series({"a": 0, "b": 0, "c": 0})
    frame = pd.DataFrame([features(size=3)], index=pd.Index([0], name="cluster"))
    measured, scores = score_against_population(frame, cluster_of, pop, hand_settings)
    assert not scores["flagged"].any() and measured is frame
