"""Template grouping on Spark (graphlinker/engine/spark/templates.py) against the embedded MinHashGrouper.

Every expected value comes from the embedded grouper (or, for exact grouping, ExactGrouper); the
input frame is what the ingest job hands over: distinct normalised texts as hashes, first-appearance
order, MinHash signatures and sorted distinct shingle hashes, all from the embedded code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import labelled_prompts as L  # noqa: E402
from bench_templates import pair_scores  # noqa: E402

from graphlinker.errors import ConfigError  # noqa: E402
from graphlinker.settings.model import TemplatesSettings  # noqa: E402
from graphlinker.templates import ExactGrouper, normalise_prompts  # noqa: E402
from graphlinker.templates.fingerprint import _hash_all  # noqa: E402
from graphlinker.templates.minhash import MinHashGrouper  # noqa: E402
from graphlinker.templates.shingles import shingles  # noqa: E402

SETTINGS = TemplatesSettings.of({"grouping": "minhash", "threshold": 0.7, "num_perm": 64, "bands": 16, "shingle": 5,
                                 "seed": 1, "linkage": "single", "merge_across_chunks": True})  # MinHashGrouper()'s own defaults
GROUPER_ARGS = {"threshold": 0.7, "num_perm": 64, "bands": 16, "shingle": 5, "seed": 1}
N = 20_000


def group_texts(*args):
    """The function under test, imported once the ``spark`` fixture has skipped (or failed) without pyspark."""
    from graphlinker.engine.spark.templates import group_texts

    return group_texts(*args)


def _signed(hex_ids) -> np.ndarray:
    return np.array([int(h, 16) for h in hex_ids], dtype=np.uint64).view(np.int64)


def texts_frame(spark, texts: list[str], start: int = 0, grouper: MinHashGrouper | None = None):
    """The ingest job's frame of distinct normalised texts (no text in it)."""
    grouper = grouper or MinHashGrouper(**GROUPER_ARGS)
    sig = grouper.signatures(texts)
    sh = shingles(texts, grouper.shingle)
    bounds = sh.indptr.tolist()
    sets = [np.unique(sh.hashes[lo:hi]).astype("<u8").tobytes() for lo, hi in zip(bounds[:-1], bounds[1:])]
    return spark.createDataFrame(pa.table({
        "text_hash": _signed(_hash_all(texts)),
        "first_order": np.arange(start, start + len(texts), dtype=np.int64),
        "signature": [row.astype("<u4").tobytes() for row in sig],
        "shingles": sets,
    }))


def spark_ids(result, texts: list[str]) -> np.ndarray:
    """Hex template id of each text, from the Spark mapping."""
    mapping = result.mapping.toArrow()
    ids = dict(zip(mapping["text_hash"].to_pylist(), mapping["template_id"].to_pylist()))
    assert mapping.num_rows == len(ids) == len(texts)  # one row per text
    return np.array([format(ids[h] & (2**64 - 1), "016x") for h in _signed(_hash_all(texts)).tolist()], dtype=object)


def unique_normalised(prompts: pd.Series) -> tuple[list[str], np.ndarray]:
    """Distinct normalised texts in first-appearance order, and each prompt's position among them."""
    codes, uniques = pd.factorize(normalise_prompts(prompts))
    return list(uniques), codes


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return L.labelled_prompts(N, seed=11)


def test_one_batch_groups_as_the_embedded_grouper(spark, labelled):
    texts, codes = unique_normalised(labelled["prompt"])
    embedded = MinHashGrouper()
    expected = embedded.ids(pd.Series(texts))  # the whole batch as one chunk

    result = group_texts(spark, texts_frame(spark, texts), [], SETTINGS)
    got = spark_ids(result, texts)

    scores = pair_scores(expected[codes], got[codes])  # over prompt pairs
    print(f"\n{N} prompts ({len(texts)} distinct texts): pair precision {scores['precision']:.5f}, "
          f"recall {scores['recall']:.5f}, equal ids {np.mean(got == expected):.5f}")
    assert scores["precision"] >= 0.99 and scores["recall"] >= 0.99
    assert scores["predicted_pairs"] > 100_000  # templates with many texts were formed at all
    state = embedded.state()  # the same slots, in the same order: a refresh resumes exactly
    assert set(result.state) == set(state)
    for key in state:
        np.testing.assert_array_equal(result.state[key], state[key], err_msg=key)


@pytest.fixture(scope="module")
def halves(labelled) -> tuple[list[str], list[str]]:
    half = len(labelled) // 2
    first, _ = unique_normalised(labelled["prompt"].iloc[:half])
    second, _ = unique_normalised(labelled["prompt"].iloc[half:])
    assert len(set(first) & set(second)) > 100  # part 2 repeats texts of part 1: the known-text step runs
    return first, second


@pytest.fixture(scope="module")
def embedded_halves(halves) -> tuple[MinHashGrouper, np.ndarray, np.ndarray]:
    """Part 1 then part 2 on one embedded grouper: what a refresh must reproduce."""
    grouper = MinHashGrouper()
    first = grouper.ids(pd.Series(halves[0]))
    return grouper, first, grouper.ids(pd.Series(halves[1]))


def _assert_same_grouping(got: np.ndarray, expected: np.ndarray) -> None:
    scores = pair_scores(expected, got)
    print(f"\nresumed part 2: pair precision {scores['precision']:.5f}, recall {scores['recall']:.5f}, "
          f"equal ids {np.mean(got == expected):.5f}")
    assert np.mean(got == expected) >= 0.99
    assert scores["precision"] >= 0.99 and scores["recall"] >= 0.99


def test_spark_resumes_from_embedded_state(spark, halves, embedded_halves):
    grouper, _, expected = embedded_halves
    part1 = MinHashGrouper()
    part1.ids(pd.Series(halves[0]))
    old = part1.state()

    result = group_texts(spark, texts_frame(spark, halves[1], start=len(halves[0])), [old], SETTINGS)
    _assert_same_grouping(spark_ids(result, halves[1]), expected)

    resumed = MinHashGrouper()  # the new part loads after the old one, as the store hands them back
    assert resumed.load_state([old, result.state])
    assert resumed.slot_count == grouper.slot_count
    assert resumed.template_ids() == grouper.template_ids()


def test_embedded_resumes_from_spark_state(spark, halves, embedded_halves):
    _, expected_first, expected = embedded_halves
    result = group_texts(spark, texts_frame(spark, halves[0]), [], SETTINGS)
    np.testing.assert_array_equal(spark_ids(result, halves[0]), expected_first)

    resumed = MinHashGrouper()
    assert resumed.load_state([result.state])
    _assert_same_grouping(resumed.ids(pd.Series(halves[1])), expected)


def test_state_of_other_settings_is_not_resumed(spark, halves):
    texts = halves[0][:2000]
    other = MinHashGrouper(**{**GROUPER_ARGS, "seed": 2})
    other.ids(pd.Series(texts))

    result = group_texts(spark, texts_frame(spark, texts), [other.state()], SETTINGS)
    assert result.state is None  # nothing to store, as MinHashGrouper.load_state refuses such parts
    np.testing.assert_array_equal(spark_ids(result, texts), MinHashGrouper().ids(pd.Series(texts)))


def test_exact_grouping_ids_are_text_hashes(spark, halves):
    texts = halves[0][:500]
    settings = TemplatesSettings.of({**SETTINGS.as_dict(), "grouping": "exact"})
    result = group_texts(spark, texts_frame(spark, texts), [], settings)
    assert result.state is None
    np.testing.assert_array_equal(spark_ids(result, texts), ExactGrouper().ids(pd.Series(texts)))


def test_leader_linkage_is_refused(spark, halves):
    settings = TemplatesSettings.of({**SETTINGS.as_dict(), "linkage": "leader"})
    with pytest.raises(ConfigError, match='linkage = "single"'):
        group_texts(spark, texts_frame(spark, halves[0][:10]), [], settings)


def test_index_runs_are_the_sorted_run_index_runs():
    """The embedded bucket index caps a crowded bucket per sorted run; index_runs must name its runs exactly."""
    import numpy as np

    from graphlinker.engine.spark.templates import index_runs
    from graphlinker.templates.run_index import SortedRunIndex

    assert index_runs([8, 4, 0, 4]) == [(0, 12), (12, 16)]  # 8 <= 2 x 4: merged; then 12 > 2 x 4: a new run
    assert index_runs([10, 2, 1]) == [(0, 10), (10, 13)]  # 2 <= 2 x 1: merged; 10 > 2 x 3
    rng = np.random.default_rng(0)
    for _ in range(300):
        sizes = [int(n) for n in rng.integers(0, 50, size=int(rng.integers(1, 12)))]
        index, start = SortedRunIndex(), 0
        for n in sizes:
            index.add(np.full(n, 7, dtype=np.uint64), np.arange(start, start + n))
            start += n
        assert [(int(v.min()), int(v.max()) + 1) for _, v in index._runs] == index_runs(sizes), sizes
