"""Tests of graphlinker.templates.minhash: shingling, MinHash estimates, near-duplicate grouping, state."""

from __future__ import annotations

import itertools
import random
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphlinker.templates import normalise_prompts
from graphlinker.templates.fingerprint import ExactGrouper
from graphlinker.templates.minhash import MinHashGrouper
from graphlinker.templates.shingles import WIDE_RANGES, WIDE_WEIGHT, shingles
from graphlinker.templates.signatures import candidate_probability, estimated_jaccard

HEX16 = re.compile(r"[0-9a-f]{16}")


# ----------------------------------------------------------------------------- scalar references


def ref_windows(text: str, k: int = 5) -> list[str]:
    """Scalar reference of the windows, in text order: from every character, the shortest window of
    weight >= k inside the text (CJK characters weigh WIDE_WEIGHT, others 1)."""
    weight = [WIDE_WEIGHT if any(lo <= ord(c) <= hi for lo, hi in WIDE_RANGES) else 1 for c in text]
    windows = []
    for i in range(len(text)):
        total, j = 0, i
        while j < len(text) and total < k:
            total += weight[j]
            j += 1
        if total >= k:
            windows.append(text[i:j])
    return windows


def ref_shingles(text: str, k: int = 5) -> set[str]:
    """Scalar reference of the shingling: the set of :func:`ref_windows`; a lighter text is one shingle."""
    return set(ref_windows(text, k)) or {text}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def exact_id(text: str) -> str:
    return ExactGrouper().ids(pd.Series([text]))[0]


def norm(texts: list[str]) -> list[str]:
    return normalise_prompts(pd.Series(texts)).tolist()


def ids_of(grouper: MinHashGrouper, texts: list[str]) -> list[str]:
    return grouper.ids(pd.Series(texts, dtype=object)).tolist()


WORDS = [
    "".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=random.Random(-i).randint(2, 9)))
    for i in range(3000)
]


def random_sentence(rng: random.Random, n_words: int) -> list[str]:
    return rng.choices(WORDS, k=n_words)


def variant(rng: random.Random, words: list[str], edits: int) -> list[str]:
    """The words with ``edits`` random replacements, insertions or deletions."""
    words = list(words)
    for _ in range(edits):
        op, at = rng.randrange(3), rng.randrange(len(words))
        if op == 0:
            words[at] = rng.choice(WORDS)
        elif op == 1:
            words.insert(at, rng.choice(WORDS))
        elif len(words) > 1:
            del words[at]
    return words


def families(seed: int, n_families: int, per_family: int, singles: int) -> list[str]:
    """Shuffled texts: families of variants (1-3 word edits of a 25-word base) and unrelated texts."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n_families):
        base = random_sentence(rng, 25)
        texts += [" ".join(variant(rng, base, rng.randint(0, 3))) for _ in range(per_family)]
    texts += [" ".join(random_sentence(rng, 25)) for _ in range(singles)]
    rng.shuffle(texts)
    return list(dict.fromkeys(texts))


# ----------------------------------------------------------------------------- shingling


MIXED = list("ab c.d<>") + ["中", "文", "字", "の", "한", "국", "ア", "\U00020001", "。"]
mixed_text = st.lists(st.sampled_from(MIXED), max_size=14).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(mixed_text, min_size=1, max_size=6))
def test_shingles_match_the_scalar_reference(texts):
    """Same windows as the reference: equal set sizes and equal pairwise overlaps (hashes are a bijection)."""
    sets = shingles(texts).sets()
    refs = [ref_shingles(t) for t in texts]
    assert [len(s) for s in sets] == [len(r) for r in refs]
    for i, j in itertools.combinations(range(len(texts)), 2):
        assert len(sets[i] & sets[j]) == len(refs[i] & refs[j]), (texts[i], texts[j])


MASK = (1 << 64) - 1


def ref_fmix64(x: int) -> int:
    """MurmurHash3's 64-bit finaliser, in Python integers."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    return x ^ (x >> 33)


def ref_shingle_hashes(text: str, k: int = 5) -> list[int]:
    """Scalar reference of the hash the design documents (docs/template-grouping.md), window by window
    in text order: the codepoint polynomial (multiplier 0x9E3779B97F4A7C15, mod 2^64), plus the
    window's width x 0xD6E8FEB86659FD93, through fmix64; a text without a complete window hashes
    whole; the empty text is the fixed 0x6A09E667F3BCC908. Stored signatures depend on these values,
    so a faster shingler must give exactly them."""

    def one(chars: str) -> int:
        h = 0
        for c in chars:
            h = (h * 0x9E3779B97F4A7C15 + ord(c)) & MASK
        return ref_fmix64((h + len(chars) * 0xD6E8FEB86659FD93) & MASK)

    out = [one(window) for window in ref_windows(text, k)]
    if out:
        return out
    return [0x6A09E667F3BCC908] if not text else [one(text)]


@settings(max_examples=150, deadline=None)
@given(st.lists(mixed_text, min_size=1, max_size=6), st.sampled_from([1, 2, 3, 5, 7]))
def test_shingle_hashes_are_the_documented_values(texts, k):
    sh = shingles(texts, k)
    got = [sh.hashes[lo:hi].tolist() for lo, hi in zip(sh.indptr[:-1], sh.indptr[1:])]
    assert got == [ref_shingle_hashes(t, k) for t in texts]


def test_shingles_of_short_and_empty_texts():
    sh = shingles(["", "abc", "", "abcdefg", "中文"])
    assert np.diff(sh.indptr).tolist() == [1, 1, 1, 3, 1]
    assert sh.hashes[0] == sh.hashes[2]  # the empty text has one fixed shingle
    assert sh.hashes[1] != sh.hashes[0]
    assert shingles(["abc"]).hashes[0] == sh.hashes[1]  # a pure function of the text
    assert shingles(["中文字"]).sets()[0] == shingles(["中文字"]).sets()[0]
    assert len(shingles(["中文字"]).sets()[0]) == 2  # bigrams: 中文, 文字


def test_cjk_windows_are_bigrams_and_latin_windows_five_characters():
    assert ref_shingles("中文字符") == {"中文", "文字", "字符"}
    assert len(shingles(["中文字符"]).sets()[0]) == 3
    assert len(shingles(["abcdefgh"]).sets()[0]) == 4


def test_signature_is_each_permutations_minimum_over_the_shingle_set():
    """Worked in Python integers from the shingle hashes: min over the set of ((a_p·h + b_p) mod 2^64) >> 32."""
    texts = ["solve the following problem step by step", "中文字符串", "x", "abab abab abab abab"]
    grouper = MinHashGrouper()
    a, b = [int(v) for v in grouper._a], [int(v) for v in grouper._b]
    expected = [[min(((ap * h + bp) % 2**64) >> 32 for h in hashes) for ap, bp in zip(a, b)]
                for hashes in shingles(texts).sets()]
    assert grouper.signatures(texts).tolist() == expected


def test_signatures_do_not_depend_on_batching():
    rng = random.Random(3)
    texts = [" ".join(random_sentence(rng, rng.randint(0, 40))) for _ in range(300)] + ["", "中文字符串", "x"]
    grouper = MinHashGrouper()
    whole = grouper.signatures(texts)
    grouper.batch_chars = 97
    assert np.array_equal(grouper.signatures(texts), whole)
    assert np.array_equal(grouper.signatures(texts[::-1]), whole[::-1])  # one text's signature ignores the others
    assert whole.dtype == np.uint32 and whole.shape == (len(texts), 64)
    assert not np.array_equal(MinHashGrouper(seed=2).signatures(texts[:5]), whole[:5])


# ----------------------------------------------------------------------------- MinHash estimates


def test_estimated_jaccard_tracks_exact_jaccard():
    """Over many pairs spanning all similarities, estimate - exact behaves like its binomial error."""
    rng = random.Random(11)
    pairs = []
    for _ in range(600):
        base = random_sentence(rng, rng.randint(8, 40))
        pairs.append((" ".join(base), " ".join(variant(rng, base, rng.randint(0, len(base))))))
    grouper = MinHashGrouper()
    a = grouper.signatures([p[0] for p in pairs])
    b = grouper.signatures([p[1] for p in pairs])
    est = estimated_jaccard(a, b)
    exact = np.array([jaccard(ref_shingles(x), ref_shingles(y)) for x, y in pairs])

    assert np.all(est[exact == 1.0] == 1.0)
    inner = (exact > 0.05) & (exact < 0.95)
    assert inner.sum() > 300 and exact[inner].min() < 0.3 and exact[inner].max() > 0.8  # the pairs span the range
    sd = np.sqrt(exact[inner] * (1 - exact[inner]) / 64)
    z = (est[inner] - exact[inner]) / sd
    assert abs(np.mean(est - exact)) < 0.01  # unbiased
    assert 0.6 < np.mean(z**2) < 1.5  # spread as expected for 64 permutations
    assert np.max(np.abs(z)) < 5
    assert np.mean(np.abs(est - exact)) < 0.055  # ~0.044 expected: sqrt(2/pi) * mean sd


def test_estimated_jaccard_is_rowwise_share_of_equal_positions():
    a = np.array([[1, 2, 3, 4], [1, 1, 1, 1]], dtype=np.uint32)
    b = np.array([[1, 2, 0, 0], [2, 2, 2, 2]], dtype=np.uint32)
    assert estimated_jaccard(a, b).tolist() == [0.5, 0.0]


def test_candidate_probability_table():
    assert candidate_probability(0.5, 4, 16) == pytest.approx(0.644, abs=5e-4)
    assert candidate_probability(0.7, 4, 16) == pytest.approx(0.988, abs=5e-4)
    assert candidate_probability(0.3, 4, 16) == pytest.approx(0.122, abs=5e-4)


# ----------------------------------------------------------------------------- grouping

TUTOR = (
    "You are an experienced mathematics tutor. Please {verb} the following word problem step by step, "
    "{clauses}, and finally state the answer on a separate line: a train leaves the station at 3 pm "
    "travelling at 60 km per hour."
)
CLAUSES = (
    "explain the reasoning behind every step in plain language, double-check each calculation",
    "double-check each calculation, explain the reasoning behind every step in plain language",
)
PRODUCT = (
    "Write a short and friendly product description for our {item} that highlights its quality and "
    "craftsmanship, mentions free shipping and easy returns, and ends with a call to action inviting the "
    "customer to order today."
)
CHINESE = (  # 61 characters; the variant changes 名 → 位 and 错误 → 问题 (3 characters)
    "你是一名资深的软件工程师，请仔细阅读以下代码，"
    "找出其中所有可能导致程序崩溃或者数据丢失的错误，并逐条说明修改的方法和理由。"
)
CHINESE_VARIANT = (
    "你是一位资深的软件工程师，请仔细阅读以下代码，"
    "找出其中所有可能导致程序崩溃或者数据丢失的问题，并逐条说明修改的方法和理由。"
)
PROBLEM = (
    "a farmer keeps some cows and goats on a small hill farm, each cow gives milk every morning and the "
    "goats eat grass near the old barn by the river"
)
SOLVE = (
    "Solve the following problem carefully step by step, showing all intermediate results, "
    "and give the final answer at the end:"
)
TRANSLATE = (
    "Translate the following passage into formal German, keeping every number as digits "
    "and preserving the sentence order:"
)


def assert_similar(texts: list[str], at_least: float = 0.8) -> None:
    """Guard: the test pair really is a near-duplicate under the exact Jaccard of the shingles."""
    first = ref_shingles(texts[0])
    for t in texts[1:]:
        assert jaccard(first, ref_shingles(t)) >= at_least


@pytest.mark.parametrize(
    "raw",
    [
        [TUTOR.format(verb="solve", clauses=CLAUSES[0]), TUTOR.format(verb="work out", clauses=CLAUSES[0])],
        [TUTOR.format(verb="solve", clauses=CLAUSES[0]), TUTOR.format(verb="solve", clauses=CLAUSES[1])],
        [PRODUCT.format(item="red leather handbag"), PRODUCT.format(item="blue canvas backpack"),
         PRODUCT.format(item="pair of hiking boots")],
        [CHINESE, CHINESE_VARIANT],
    ],
    ids=["synonym", "reordered-clause", "slot-contents", "chinese"],
)
def test_paraphrases_join_one_template(raw):
    texts = norm(raw)
    assert len(set(texts)) == len(texts)  # normalisation alone does not merge them
    assert_similar(texts)
    ids = ids_of(MinHashGrouper(), texts)
    assert ids == [exact_id(texts[0])] * len(texts)


def test_unrelated_texts_and_different_instructions_around_one_problem_stay_apart():
    raw = [
        TUTOR.format(verb="solve", clauses=CLAUSES[0]),
        PRODUCT.format(item="red leather handbag"),
        CHINESE,
        f"{SOLVE} {PROBLEM}",
        f"{TRANSLATE} {PROBLEM}",
        "hello",
    ]
    texts = norm(raw)
    assert jaccard(ref_shingles(texts[3]), ref_shingles(texts[4])) < 0.5  # the shared problem is not enough
    ids = ids_of(MinHashGrouper(), texts)
    assert ids == [exact_id(t) for t in texts]


def test_singletons_and_exact_duplicates_get_the_exact_grouper_id():
    texts = norm([PRODUCT.format(item="lamp"), CHINESE, "what is <num> + <num>?", "hi"])
    grouper = MinHashGrouper()
    expected = ExactGrouper().ids(pd.Series(texts)).tolist()
    assert ids_of(grouper, texts) == expected
    assert ids_of(grouper, texts[::-1] + texts) == expected[::-1] + expected
    assert ids_of(grouper, ["hi", "hi", texts[1]]) == [expected[3], expected[3], expected[1]]
    assert len(grouper) == 4


def test_exact_duplicates_of_a_representative_need_no_lsh_candidate():
    texts = families(5, 10, 5, 20)
    grouper = MinHashGrouper()
    first = ids_of(grouper, texts)
    grouper.max_bucket = 0  # no band bucket yields a candidate any more
    reps = [t for t, i in zip(texts, first) if i == exact_id(t)]
    assert ids_of(grouper, reps) == [exact_id(t) for t in reps]
    assert len(grouper) == len(set(first))


def test_empty_texts_form_their_own_template():
    grouper = MinHashGrouper()
    empty = exact_id("")
    out = grouper.ids(pd.Series(["", "abc", None, "", "x"], dtype=object)).tolist()
    assert out == [empty, exact_id("abc"), empty, empty, exact_id("x")]
    assert ids_of(grouper, ["", "a"]) == [empty, exact_id("a")]
    assert grouper.ids(pd.Series([], dtype=object)).tolist() == []


def test_a_family_is_named_after_its_first_text_in_input_order():
    texts = norm([PRODUCT.format(item=item) for item in ("red bag", "blue bag", "green bag")])
    assert ids_of(MinHashGrouper(), texts) == [exact_id(texts[0])] * 3
    assert ids_of(MinHashGrouper(), texts[::-1]) == [exact_id(texts[2])] * 3
    assert ids_of(MinHashGrouper(), texts) == ids_of(MinHashGrouper(), texts)  # deterministic across instances


def test_ids_output_type():
    out = MinHashGrouper().ids(pd.Series(["a b c d e f", "g"], dtype="string[pyarrow]"))
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert all(isinstance(i, str) and HEX16.fullmatch(i) for i in out)


# ----------------------------------------------------------------------------- state across chunks


def test_chunking_does_not_change_ids_and_equals_one_text_at_a_time():
    """Under leader linkage, ids do not depend on chunking (single linkage cannot merge templates
    already named in an earlier chunk, so there they may)."""
    texts = families(1, 40, 8, 150)
    whole = ids_of(MinHashGrouper(linkage="leader"), texts)
    assert len(set(whole)) < len(texts) - 150  # families did merge
    for parts in (2, 7, 31):
        grouper = MinHashGrouper(linkage="leader")
        split = sum((ids_of(grouper, list(c)) for c in np.array_split(np.array(texts, dtype=object), parts)), [])
        assert split == whole
    sequential = MinHashGrouper(linkage="leader")
    assert [ids_of(sequential, [t])[0] for t in texts] == whole


@pytest.mark.parametrize("linkage", ["single", "leader"])
def test_looking_texts_up_in_batches_changes_no_id(monkeypatch, linkage):
    """Known templates (and, under leader linkage, earlier representatives) are looked up LOOKUP_BATCH texts
    at a time; batches of 3 give the ids and state of one batch, over several chunks."""
    import graphlinker.templates.minhash as minhash_module

    texts = families(2, 40, 8, 150)
    chunks = [list(c) for c in np.array_split(np.array(texts, dtype=object), 5)]
    whole = MinHashGrouper(linkage=linkage)
    expected = sum((ids_of(whole, c) for c in chunks), [])
    monkeypatch.setattr(minhash_module, "LOOKUP_BATCH", 3)
    batched = MinHashGrouper(linkage=linkage)
    got = sum((ids_of(batched, c) for c in chunks), [])
    assert len(set(expected)) < len(texts) - 150  # families did merge, across chunks too
    assert got == expected and len(batched) == len(whole)


def test_every_text_joins_the_earliest_verifying_representative():
    """Brute-force check of leader clustering (no LSH shortcut): each text's template is the earliest
    representative before it with estimated Jaccard >= threshold, and representatives have none."""
    texts = families(2, 30, 6, 60)
    grouper = MinHashGrouper(linkage="leader")
    ids = ids_of(grouper, texts)
    sig = grouper.signatures(texts)
    own = [exact_id(t) for t in texts]
    reps = [i for i in range(len(texts)) if ids[i] == own[i]]
    need = 0.7
    for i in range(len(texts)):
        earlier = [r for r in reps if r < i and estimated_jaccard(sig[i], sig[r]) >= need - 1e-9]
        if ids[i] == own[i]:
            assert not earlier, i
        else:
            assert earlier and ids[i] == own[earlier[0]], i


def replace_words(rng: random.Random, words: list[str], n: int) -> list[str]:
    words = list(words)
    for at in rng.sample(range(len(words)), n):
        words[at] = rng.choice(WORDS)
    return words


def test_a_text_joins_the_earliest_representative_even_one_confirmed_in_a_later_round():
    """A drifting chain q ~ p ~ r2 ~ m ~ r (3 of 30 words replaced per step), in the order q p r2 r m.

    Round 1: q is a representative and p joins it; r2 waits (p, pending, verifies against it) and does
    not verify against q; r is a representative; m verifies against r.  Round 2: r2 becomes a
    representative, earlier than r, so m must end up with r2, as when fed one text at a time.
    """
    rng = random.Random(1)
    steps = [random_sentence(rng, 30)]
    for _ in range(4):
        steps.append(replace_words(rng, steps[-1], 3))
    q, p, r2, m, r = (" ".join(w) for w in steps)
    order = [q, p, r2, r, m]
    grouper = MinHashGrouper(linkage="leader")
    sig = grouper.signatures(order)
    close = {(a, b) for a, b in itertools.combinations(range(5), 2) if estimated_jaccard(sig[a], sig[b]) >= 0.7}
    assert close == {(0, 1), (1, 2), (2, 4), (3, 4)}  # guard: the chain is as described
    expected = [exact_id(q), exact_id(q), exact_id(r2), exact_id(r), exact_id(r2)]
    assert ids_of(grouper, order) == expected
    one_by_one = MinHashGrouper(linkage="leader")
    assert [ids_of(one_by_one, [t])[0] for t in order] == expected


def drift_chain() -> list[str]:
    """q ~ p ~ r2 ~ m ~ r: each step replaces 3 of 30 words (the chain of the test above)."""
    rng = random.Random(1)
    steps = [random_sentence(rng, 30)]
    for _ in range(4):
        steps.append(replace_words(rng, steps[-1], 3))
    return [" ".join(w) for w in steps]


def test_single_linkage_follows_a_chain_of_paraphrases():
    """Single linkage (the default): within a chunk, templates are the connected components of the
    verified pairs, so the drifting chain q p r2 m r (each close only to its neighbours) is one
    template; across chunks a text joins the earliest template it links to."""
    q, p, r2, m, r = drift_chain()
    assert ids_of(MinHashGrouper(), [q, p, r2, r, m]) == [exact_id(q)] * 5  # one chunk: its connected component
    one_by_one = MinHashGrouper()  # r came before m linked it: an emitted id is never merged
    assert [ids_of(one_by_one, [t])[0] for t in (q, p, r2, r, m)] == [exact_id(q)] * 3 + [exact_id(r), exact_id(q)]
    assert ids_of(MinHashGrouper(linkage="leader"), [q, p, r2, r, m]) != [exact_id(q)] * 5


def test_single_linkage_links_through_members_of_earlier_chunks():
    q, p, r2, _, _ = drift_chain()
    grouper = MinHashGrouper()
    assert ids_of(grouper, [q, p]) == [exact_id(q)] * 2
    assert ids_of(grouper, [r2]) == [exact_id(q)]  # close to the member p only
    assert len(grouper) == 1
    leader = MinHashGrouper(linkage="leader")
    ids_of(leader, [q, p])
    assert ids_of(leader, [r2]) == [exact_id(r2)]


def test_a_near_duplicate_in_a_later_chunk_joins_the_earlier_template():
    texts = norm([TUTOR.format(verb="solve", clauses=CLAUSES[0]), TUTOR.format(verb="work out", clauses=CLAUSES[1])])
    grouper = MinHashGrouper()
    first = ids_of(grouper, [texts[0], "unrelated text number one"])
    assert ids_of(grouper, ["something else entirely", texts[1]]) == [exact_id("something else entirely"), first[0]]
    assert len(grouper) == 3


def test_restore_reproduces_later_chunks():
    texts = families(3, 30, 8, 100)
    chunks = [list(c) for c in np.array_split(np.array(texts, dtype=object), 4)]
    original = MinHashGrouper(linkage="leader")
    ids_of(original, chunks[0])
    known = original.template_ids()
    assert known == list(dict.fromkeys(ids_of(MinHashGrouper(linkage="leader"), chunks[0])))  # creation = first appearance order
    resumed = MinHashGrouper(linkage="leader")
    resumed.restore(known, original.signature_of(known))
    assert len(resumed) == len(original)
    for chunk in chunks[1:]:
        assert ids_of(resumed, chunk) == ids_of(original, chunk)
    resumed.restore(known[:3], original.signature_of(known[:3]))  # known ids are skipped
    assert len(resumed) == len(original)


def test_restore_and_signature_of_validate():
    grouper = MinHashGrouper()
    ids_of(grouper, ["some text here"])
    with pytest.raises(KeyError):
        grouper.signature_of(["0123456789abcdef"])
    with pytest.raises(ValueError):
        grouper.restore(["0123456789abcdef"], np.zeros((1, 32), dtype=np.uint32))
    with pytest.raises(ValueError):
        grouper.restore(["not-an-id"], np.zeros((1, 64), dtype=np.uint32))
    assert np.array_equal(grouper.signature_of([exact_id("some text here")]), grouper.signatures(["some text here"]))
    with pytest.raises(ValueError):
        MinHashGrouper(num_perm=64, bands=10)


# ----------------------------------------------------------------------------- properties

BASES = [
    "please summarise the following article in three short bullet points for a busy executive",
    "list five interesting facts about the history of the city and cite a source for each one",
    "请用简单的语言解释下面这段代码的作用，并指出其中可能存在的性能问题。",
]


@st.composite
def near_duplicate_texts(draw):
    """Texts mostly derived from a few bases by small character edits, plus arbitrary ones.

    At most 16 texts, so no band bucket holds more than ``max_bucket`` entries and grouping is
    exactly sequential (the cap is the one documented source of chunking dependence).
    """
    out = []
    for _ in range(draw(st.integers(0, MinHashGrouper.max_bucket))):
        if draw(st.booleans()):
            text = list(draw(st.sampled_from(BASES)))
            for _ in range(draw(st.integers(0, 6))):
                at = draw(st.integers(0, len(text) - 1))
                text[at] = draw(st.sampled_from(list("abcxyz 中文")))
            out.append("".join(text))
        else:
            out.append(draw(st.one_of(st.text(max_size=40), st.sampled_from(["", "a", "hello world"]))))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_duplicate_texts(), st.lists(st.integers(0, 16), max_size=4), st.sampled_from(["single", "leader"]))
def test_ids_properties(texts, cuts, linkage):
    cuts = sorted({c for c in cuts if 0 < c < len(texts)})
    chunks = [texts[a:b] for a, b in zip([0] + cuts, cuts + [len(texts)])]
    grouper = MinHashGrouper(linkage=linkage)
    out = []
    for chunk in chunks:
        got = grouper.ids(pd.Series(chunk, dtype=object))
        assert isinstance(got, np.ndarray) and got.dtype == object and len(got) == len(chunk)
        out += got.tolist()
    assert all(isinstance(i, str) and HEX16.fullmatch(i) for i in out)
    own = [exact_id(t) for t in texts]
    for i, tid in enumerate(out):
        assert tid in own[: i + 1]  # a template is named after a text seen at or before this one
    assert ids_of(grouper, texts) == out  # idempotent: the same texts again get the same ids
    if linkage == "leader":
        assert ids_of(MinHashGrouper(linkage=linkage), texts) == out  # and cutting into chunks changes nothing
    assert len(grouper) == len(set(out))


def test_settings_choose_the_grouper():
    from graphlinker.settings import Settings
    from graphlinker.templates import ExactGrouper, grouper_from_settings

    section = Settings.load().templates
    default = grouper_from_settings(section)
    assert isinstance(default, MinHashGrouper) and (default.linkage, default.threshold, default.num_perm) == ("single", 0.7, 64)
    assert grouper_from_settings({**section, "linkage": "leader"}).linkage == "leader"
    assert isinstance(grouper_from_settings({**section, "grouping": "exact"}), ExactGrouper)
    from graphlinker.errors import ConfigError

    for bad in ({"grouping": "fuzzy"}, {"threshold": 1.5}, {"bands": 7}, {"linkage": "complete"}):
        with pytest.raises(ConfigError):
            grouper_from_settings({**section, **bad})


def test_exact_jaccard_of_the_shingle_sets_matches_python_sets():
    from graphlinker.templates.shingles import ExactSets

    rng = random.Random(4)
    texts = [" ".join(replace_words(rng, random_sentence(random.Random(i % 5), 20), rng.randint(0, 8))) for i in range(40)]
    texts += ["", "ab", "请用简单的语言解释下面这段代码"]
    sets = shingles(texts).sets()
    a = np.array([rng.randrange(len(texts)) for _ in range(300)])
    b = np.array([rng.randrange(len(texts)) for _ in range(300)])
    expected = [len(sets[i] & sets[j]) / len(sets[i] | sets[j]) for i, j in zip(a, b)]
    exact = ExactSets(shingles(texts))
    assert np.allclose(exact.jaccard(a, b), expected)
    assert np.allclose(exact.jaccard(a, b), expected)  # again, on the slices sorted by the first call


def test_exact_jaccard_holds_across_sort_batches_and_length_classes(monkeypatch):
    """Slices are sorted as rows of padded matrices, in batches of SORT_BATCH hashes per length class:
    texts of 1 to ~3,000 shingles, with repeated windows, in batches far smaller than one class."""
    import graphlinker.templates.shingles as shingles_module

    monkeypatch.setattr(shingles_module, "SORT_BATCH", 64)
    rng = random.Random(9)
    texts = [" ".join(random_sentence(rng, rng.choice([1, 3, 10, 40, 200, 600]))) for _ in range(60)]
    texts += ["abab " * 300, "x", "请用简单的语言解释下面这段代码" * 20]
    sets = shingles(texts).sets()
    a = np.array([rng.randrange(len(texts)) for _ in range(400)])
    b = np.array([rng.randrange(len(texts)) for _ in range(400)])
    expected = [len(sets[i] & sets[j]) / len(sets[i] | sets[j]) for i, j in zip(a, b)]
    exact = shingles_module.ExactSets(shingles(texts))
    assert np.allclose(exact.jaccard(a[:150], b[:150]), expected[:150])  # some texts sorted, the rest not yet
    assert np.allclose(exact.jaccard(a, b), expected)


def test_reach_says_what_the_exact_jaccard_says_at_every_threshold():
    """The early-stopping check against the full value, at thresholds on and between the pairs' own values."""
    from graphlinker.templates.shingles import ExactSets

    rng = random.Random(12)
    base = [random_sentence(random.Random(i % 7), rng.randint(2, 60)) for i in range(70)]
    texts = [" ".join(replace_words(rng, words, rng.randint(0, 6))) for words in base] + ["", "ab", "abab abab abab"]
    a = np.array([rng.randrange(len(texts)) for _ in range(600)])
    b = np.array([rng.randrange(len(texts)) for _ in range(600)])
    values = ExactSets(shingles(texts)).jaccard(a, b)
    for threshold in sorted({0.0, 0.3, 0.5, 0.7, 0.7 - 1e-12, 0.9, 1.0, *values[:40].tolist()}):
        reached = ExactSets(shingles(texts)).reach(a, b, threshold)
        assert reached.tolist() == (values >= threshold).tolist(), threshold


# --- templates a later chunk bridges (merge_run) ---------------------------------------------------------------------

def test_merge_run_joins_templates_that_a_later_chunk_bridges(bridge_texts):
    x, y, m, c1, c2 = bridge_texts
    whole = MinHashGrouper().ids(pd.Series([x, y, c1, m, c2]))
    assert len(set(whole)) == 1
    grouper = MinHashGrouper()
    first = grouper.ids(pd.Series([x, y]))
    assert first[0] != first[1]
    assert set(grouper.ids(pd.Series([c1, m, c2]))) == {first[0]}
    alias = grouper.merge_run(0)
    assert alias == {int(first[1], 16): int(first[0], 16)}  # Y's template into X's, the earlier
    assert len(grouper) == 1 and grouper.template_ids() == [first[0]]
    state = grouper.state()
    assert {format(t, "016x") for t in state["template_ids"]} == {first[0]} and state["representative"].sum() == 1
    assert list(grouper.ids(pd.Series([y]))) == [whole[0]]  # Y itself now names the merged template


def test_merge_run_never_merges_two_templates_of_earlier_runs(bridge_texts):
    x, y, m, c1, c2 = bridge_texts
    grouper = MinHashGrouper()
    first = grouper.ids(pd.Series([x, y]))
    since = grouper.slot_count  # X's and Y's templates were stored by an earlier run
    grouper.ids(pd.Series([c1, m, c2]))
    assert grouper.merge_run(since) == {} and len(grouper) == 2
    assert sorted(grouper.template_ids()) == sorted(first)


def test_merge_run_merges_nothing_inside_one_chunk_or_under_leader_linkage(bridge_texts):
    x, y, m, c1, c2 = bridge_texts
    one = MinHashGrouper()
    one.ids(pd.Series([x, y, c1, m, c2]))
    assert one.merge_run(0) == {}  # in-chunk pairs were settled by the chunk's own grouping
    leader = MinHashGrouper(linkage="leader")
    leader.ids(pd.Series([x, y]))
    leader.ids(pd.Series([c1, m, c2]))
    assert leader.merge_run(0) == {}


def test_distinct_template_pairs_match_numpys_rows():
    """Merging across chunks reads each pair of template ids once, in the order ``np.unique(axis=0)`` gives
    (the union of ``_merged_templates`` depends on it), with ids over the whole uint64 range."""
    from graphlinker.templates.minhash import _distinct_pairs

    rng = np.random.default_rng(7)
    ids = np.concatenate([rng.integers(0, 2**64 - 1, size=300, dtype=np.uint64), np.array([0, 2**64 - 1], dtype=np.uint64)])
    pairs = ids[rng.integers(0, len(ids), (5_000, 2))]
    assert np.array_equal(_distinct_pairs(pairs), np.unique(pairs, axis=0))
    assert _distinct_pairs(pairs).dtype == np.uint64
