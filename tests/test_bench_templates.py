"""Fast checks of the template-grouping benchmark: the labelled generator and the metric/baseline functions."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_templates as B  # noqa: E402
import labelled_prompts as L  # noqa: E402

from graphlinker.templates import ExactGrouper, normalise_prompts  # noqa: E402


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return L.labelled_prompts(3000, seed=5)


# ----------------------------------------------------------------------------- generator


def test_generator_shape_and_determinism(sample):
    assert list(sample.columns) == L.COLUMNS
    assert len(sample) == 3000
    assert sample["prompt"].str.len().min() > 10
    again = L.labelled_prompts(3000, seed=5)
    pd.testing.assert_frame_equal(sample, again)
    other = L.labelled_prompts(3000, seed=6)
    assert not sample["prompt"].equals(other["prompt"])


def test_generator_mix(sample):
    kinds = set(sample["kind"].astype(str))
    assert {"synthetic", "sibling", "wrap-long", "singleton", "generic"} <= kinds
    assert set(sample["lang"].astype(str)) == set(L.LANGS)
    singles = sample[sample["kind"] == "singleton"]
    assert 0.2 <= len(singles) / len(sample) <= 0.3
    assert singles["label"].is_unique
    families = sample.loc[sample["kind"] != "singleton", "label"].nunique()
    assert families >= 100
    # Chinese prompts of families are written without spaces between words
    zh = sample[(sample["lang"] == "zh") & (sample["kind"] == "synthetic")]["prompt"]
    assert len(zh) and (zh.str.count(" ") <= 1).mean() > 0.9


def test_family_prompts_vary_but_keep_their_instruction(sample):
    big = sample[sample["kind"] == "synthetic"]["label"].value_counts().index[0]
    prompts = sample.loc[sample["label"] == big, "prompt"]
    assert prompts.nunique() > 1  # slots and noise vary
    words = [set(p.lower().split()) for p in prompts]
    common = set.intersection(*words)
    assert len(common) >= 3  # ... but the family's instruction is shared


def test_labels_never_share_a_normalised_text(sample):
    norm = normalise_prompts(sample["prompt"])
    per_text = pd.DataFrame({"n": norm, "l": sample["label"]}).groupby("n")["l"].nunique()
    assert (per_text == 1).all()


def test_hard_negatives_share_slot_content():
    """Different wrapper families wrap the very same problems (shared problem bank)."""
    df = L.labelled_prompts(4000, seed=2)
    wrap = df[df["kind"].isin(["wrap-long", "wrap-short", "hydra", "stepwise", "reseller"]) & (df["lang"] == "en")]
    bank = L.Bank(4000, 2)
    frames = [frame.split("{")[0][:25] for frame, _ in bank._problem_bank["en"] if not frame.startswith("{")]
    shared = 0
    for head in set(frames):
        if len(head) >= 12:
            shared += wrap[wrap["prompt"].str.contains(head, regex=False)]["label"].nunique() >= 2
    assert shared >= 3


def test_slot_dominated_flags():
    fam = L.family_table(3000, seed=5)
    by_kind = fam.groupby("kind")["slot_dominated"].mean()
    assert by_kind["generic"] == 1.0 and by_kind["agentic"] == 1.0
    assert by_kind["synthetic"] == 0.0
    assert ((fam["slot_share"] >= 0) & (fam["slot_share"] <= 1)).all()


def test_chunked_generation_covers_n_with_one_bank():
    chunks = list(L.iter_labelled_prompts(2500, seed=3, chunk_size=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    df = pd.concat(chunks, ignore_index=True)
    fam = df[df["kind"] != "singleton"]
    # families recur across chunks (one bank); singletons stay unique across chunks
    per_label_chunks = pd.concat([c.assign(chunk=i) for i, c in enumerate(chunks)]).groupby("label")["chunk"].nunique()
    assert (per_label_chunks[fam["label"].unique()] > 1).any()
    assert df.loc[df["kind"] == "singleton", "label"].is_unique


def test_markup_parsing():
    rng = np.random.default_rng(0)
    pieces = L.parse("((Solve|Work out)) <<a|b>> {problem} now", rng, random_base=False)
    assert isinstance(pieces[0], L.Syn) and pieces[0].alts == ("Solve", "Work out") and pieces[0].base == 0
    assert pieces[1] == " " and pieces[2] in ("a", "b")
    assert isinstance(pieces[4], L.Slot) and pieces[4].name == "problem"
    assert L.auto_markup("Solve this {problem} and explain", "en") == "((Solve|Work out)) this {problem} and ((explain|describe))"


# ----------------------------------------------------------------------------- metrics


def brute_force(truth, predicted) -> tuple[int, int, int]:
    tp = t = p = 0
    for a, b in itertools.combinations(range(len(truth)), 2):
        same_t, same_p = truth[a] == truth[b], predicted[a] == predicted[b]
        t += same_t
        p += same_p
        tp += same_t and same_p
    return tp, t, p


@pytest.mark.parametrize("seed", range(6))
def test_pair_scores_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 60
    truth = rng.integers(0, rng.integers(2, 20), n).astype(str).astype(object)
    predicted = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 15, n).astype(str)).astype(object)
    s = B.pair_scores(truth, predicted)
    tp, t, p = brute_force(truth, predicted)
    assert (s["tp"], s["true_pairs"], s["predicted_pairs"]) == (tp, t, p)
    assert s["precision"] == pytest.approx(tp / p) and s["recall"] == pytest.approx(tp / t)


def test_pair_scores_edge_cases():
    truth = np.array(["a", "a", "b", "b", "b", "c"], dtype=object)
    perfect = B.pair_scores(truth, np.array([1, 1, 2, 2, 2, 3]))
    assert perfect["precision"] == perfect["recall"] == 1.0 and perfect["true_pairs"] == 4
    split = B.pair_scores(truth, np.arange(6))
    assert split["precision"] == 1.0 and split["recall"] == 0.0
    merged = B.pair_scores(truth, np.zeros(6, dtype=int))
    assert merged["recall"] == 1.0 and merged["precision"] == pytest.approx(4 / 15)
    with pytest.raises(ValueError):
        B.pair_scores(truth, np.zeros(5))


def test_group_scores_count_false_merges_across_groups():
    truth = np.array(["a", "a", "b", "b"], dtype=object)
    predicted = np.array([1, 1, 1, 2])  # one b prompt merged into a's template
    group = np.array(["x", "x", "y", "y"], dtype=object)
    g = B.group_scores(truth, predicted, group).set_index("group")
    assert g.loc["x", "recall"] == 1.0
    assert g.loc["x", "precision"] == pytest.approx(1 / 3)  # 3 predicted pairs touch x, 1 true
    assert g.loc["y", "recall"] == 0.0
    assert g.loc["y", "precision"] == 0.0  # the 2 pairs touching y are both false


def test_family_scores_and_confusions():
    truth = np.array(["a", "a", "a", "b", "b"], dtype=object)
    predicted = np.array([1, 1, 2, 2, 3])
    f = B.family_scores(truth, predicted).set_index("label")
    assert f.loc["a", "pieces"] == 2 and f.loc["a", "missed_pairs"] == 2 and f.loc["a", "false_pairs"] == 1
    assert f.loc["b", "recall"] == 0.0 and f.loc["b", "false_pairs"] == 1
    c = B.confusions(truth, predicted)
    assert c.iloc[0].tolist() == ["a", "b", 1]


# ----------------------------------------------------------------------------- exact baseline


def _texts(rng, n):
    words = ["solve", "the", "problem", "step", "by", "explain", "work", "out", "show", "answer", "please", "now", "cat"]
    base = [" ".join(rng.choice(words, rng.integers(3, 14))) for _ in range(n // 3)]
    out = []
    for i in range(n):
        t = base[i % len(base)]
        if rng.random() < 0.5:
            t = t + " " + str(rng.choice(words))
        out.append(t)
    return out + ["", "ab", "解答这道题怎么做"]


@pytest.mark.parametrize("length_filter", [True, False])
@pytest.mark.parametrize("threshold", [0.3, 0.7, 0.95])
def test_exact_pairs_match_python_sets(threshold, length_filter):
    rng = np.random.default_rng(int(threshold * 100))
    texts = _texts(rng, 90)
    indptr, values = B.shingle_sets(texts)
    sets = [set(values[indptr[i]:indptr[i + 1]].tolist()) for i in range(len(texts))]
    expected = {(a, b) for a, b in itertools.combinations(range(len(texts)), 2)
                if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= threshold - 1e-12}
    i, j, jac = B.exact_pairs(indptr, values, threshold, cells_per_block=200,  # tiny blocks: many blocks
                              length_filter=length_filter)
    assert set(zip(i.tolist(), j.tolist())) == expected
    for a, b, v in zip(i.tolist(), j.tolist(), jac.tolist()):
        assert v == pytest.approx(len(sets[a] & sets[b]) / len(sets[a] | sets[b]), abs=1e-6)


def test_shingle_sets_are_deduplicated_and_csr():
    indptr, values = B.shingle_sets(["aaaaaaaaaa", "abcdefg", ""])
    assert indptr[0] == 0 and len(indptr) == 4 and indptr[-1] == len(values)
    assert indptr[1] - indptr[0] == 1  # "aaaaa" repeated is one shingle
    assert indptr[2] - indptr[1] == 3
    assert B.as_csr(([1, 2, 3], [0, 2, 3]))[0].tolist() == [0, 2, 3]
    assert B.as_csr([[5, 6], [7]])[0].tolist() == [0, 2, 3]


def test_components_and_leader_groups():
    i, j = np.array([0, 1, 3]), np.array([1, 2, 4])
    cc = B.components(6, i, j)
    assert cc[0] == cc[1] == cc[2] and cc[3] == cc[4] and len(set(cc.tolist())) == 3
    # chain 0-1-2: leader clustering puts 1 with 0 but 2 founds its own (no edge to 0)
    lead = B.leader_groups(6, i, j)
    assert lead.tolist() == [0, 0, 2, 3, 3, 5]
    # a text paired with two representatives joins the earliest
    assert B.leader_groups(3, np.array([1, 0]), np.array([2, 2])).tolist() == [0, 1, 0]


def test_representative_check_with_exact_grouper():
    texts = ["solve this now", "solve this now please", "another text entirely"]
    ids = ExactGrouper().ids(pd.Series(texts))
    indptr, values = B.shingle_sets(texts)
    pairs = B.exact_pairs(indptr, values, 0.5)
    check = B.representative_check(texts, ids, indptr, values, pairs, 0.5)
    assert check["members"] == 0 and check["representatives"] == 3
    assert check["missed"] == 1  # texts 0 and 1 have Jaccard ≥ 0.5 but exact grouping keeps them apart


def test_production_path_runs_on_a_small_sample(sample):
    small = sample.iloc[:300]
    ids, seconds, templates = B.production_path(small["prompt"], ExactGrouper(), chunk=120)
    assert len(ids) == 300 and seconds > 0 and templates == len(set(ids.tolist()))
    assert B.pair_scores(small["label"].to_numpy(dtype=object), ids)["precision"] > 0.9
