"""Benchmark: MinHash template grouping against exact all-pairs Jaccard on labelled prompts.

On a labelled sample (``bench/labelled_prompts.py``, default 20,000 prompts) the prompts
are normalised (:func:`graphlinker.templates.normalise_prompts`) and the unique normalised
texts are grouped twice:

* **MinHash**: ``MinHashGrouper(threshold, num_perm, bands, shingle, seed).ids(unique)``
  (shingling, signatures, LSH and grouping; a fresh grouper);
* **exact**: the same shingle sets (``graphlinker.templates.shingles.shingles``), the exact
  Jaccard of every pair of texts from a blocked sparse product X·Xᵀ of the text × shingle
  incidence matrix (intersections; Jaccard = inter / (|a| + |b| - inter)), restricted
  only by the length filter (Jaccard ≥ t needs t·|a| ≤ |b| ≤ |a|/t, which loses no pair),
  then connected components of the pairs with Jaccard ≥ threshold ("exact (CC)"), and also
  sequential leader clustering over the same pairs ("exact (leader)": in input order a text
  joins the earliest representative it pairs with, else founds a template), which is the
  grouper's own rule with exact instead of estimated Jaccard and no LSH misses.

Both are timed end to end (shingling included) on one core; speed-up = exact / MinHash, reported
against the length-filtered join and against the literal join of every pair (no length filter).
The grouper is also checked against its own rule: the exact Jaccard of every text with its
template's representative, and representatives that should have joined an earlier one.
Pair precision and recall are over all prompt pairs (prompts, not unique texts), from
contingency counts (Σ C(n_ij, 2)); reported for MinHash vs labels, exact vs labels and
MinHash vs exact (CC and leader; the exact groups taken as the truth), on all families and without the
slot-dominated ones (see ``labelled_prompts``), with a per-family-type breakdown and the
worst families.  The production path (raw prompts → ``TemplateIndex(grouper).assign`` in
200k-row chunks) is timed separately (prompts/s).

The whole process is pinned to one CPU (``sched_setaffinity``) with BLAS/OpenMP/Arrow
thread pools set to one thread before numpy is imported, so every figure is single-core.

``--million`` also generates 1,000,000 prompts (in 200k chunks, to a temporary parquet
file), then streams them through ``TemplateIndex`` in 200k-row chunks in a *separate*
process started with ``taskset -c 0`` and the same single-thread environment, and reports
that process's peak RSS (``ru_maxrss``), its RSS after imports, prompts/s and templates.

    python bench/bench_templates.py                       # 20k prompts, threshold 0.7
    python bench/bench_templates.py --n 20000 --seed 1 --threshold 0.7 --million --json
    python bench/bench_templates.py --thresholds 0.5,0.6,0.7,0.8,0.9

Not a test: it asserts nothing (``tests/test_bench_templates.py`` tests its pieces).
"""

from __future__ import annotations

import os

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "ARROW_NUM_THREADS": "1"}
if __name__ == "__main__":  # before numpy is imported anywhere
    os.environ.update(SINGLE_THREAD_ENV)

import argparse
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import pin_to_one_cpu  # noqa: E402
from labelled_prompts import iter_labelled_prompts, labelled_prompts  # noqa: E402

from graphlinker.templates import TemplateIndex, normalise_prompts  # noqa: E402
from graphlinker.templates.normalise import TEXT_DTYPE  # noqa: E402

CHUNK = 200_000
TARGET = {"recall": 0.95, "precision": 0.95, "speedup": 50.0}

# ----------------------------------------------------------------------------- grouper under test

from graphlinker.templates.minhash import MinHashGrouper  # noqa: E402
from graphlinker.templates.shingles import shingles  # noqa: E402


def make_grouper(threshold: float, num_perm: int = 64, bands: int = 16, shingle: int = 5, seed: int = 1):
    return MinHashGrouper(threshold=threshold, num_perm=num_perm, bands=bands, shingle=shingle, seed=seed)


def grouper_name() -> str:
    return "MinHashGrouper"


# ----------------------------------------------------------------------------- shingles


def shingle_sets(texts, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hash sets of ``texts`` as CSR ``(indptr, hashes)`` with duplicates removed per text.

    Uses the grouper's own :func:`~graphlinker.templates.shingles.shingles`, so both methods see the same sets.
    """
    indptr, values = as_csr(shingles(pd.Series(texts, dtype=TEXT_DTYPE), k))
    return dedupe_rows(indptr, values)


def as_csr(obj) -> tuple[np.ndarray, np.ndarray]:
    """Accept the shapes a shingling function may return: ``(indptr, values)``, ``(values, indptr)``,
    a list of per-text arrays or a scipy sparse matrix (its column indices are the shingles)."""
    if sp.issparse(obj):
        m = obj.tocsr()
        return m.indptr.astype(np.int64), m.indices.astype(np.uint64)
    if isinstance(obj, tuple) and len(obj) == 2:
        a, b = (np.asarray(x) for x in obj)
        if a.ndim == 1 and len(a) and a[0] == 0 and np.all(np.diff(a.astype(np.int64)) >= 0) and a[-1] == len(b):
            return a.astype(np.int64), b.astype(np.uint64)
        if b.ndim == 1 and len(b) and b[0] == 0 and b[-1] == len(a):
            return b.astype(np.int64), a.astype(np.uint64)
    if isinstance(obj, (list, tuple)) or (isinstance(obj, np.ndarray) and obj.dtype == object):
        rows = [np.asarray(r, dtype=np.uint64).ravel() for r in obj]
        indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
        return indptr, (np.concatenate(rows) if rows else np.zeros(0, np.uint64))
    raise TypeError(f"cannot read shingles of type {type(obj).__name__}")


def dedupe_rows(indptr: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove repeated values within each CSR row (order within a row becomes sorted)."""
    n = len(indptr) - 1
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((values, row))
    row, values = row[order], values[order]
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = (row[1:] != row[:-1]) | (values[1:] != values[:-1])
    row, values = row[keep], values[keep]
    return np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))]).astype(np.int64), values


# ----------------------------------------------------------------------------- exact baseline


def incidence(indptr: np.ndarray, values: np.ndarray) -> sp.csr_matrix:
    """Binary text × shingle matrix (int32) of deduplicated CSR shingle sets."""
    _, cols = np.unique(values, return_inverse=True)
    n = len(indptr) - 1
    data = np.ones(len(cols), dtype=np.int32)
    return sp.csr_matrix((data, cols.astype(np.int32), indptr), shape=(n, int(cols.max()) + 1 if len(cols) else 0))


def exact_pairs(indptr: np.ndarray, values: np.ndarray, threshold: float, cells_per_block: int = 8_000_000,
                length_filter: bool = True):
    """Every pair ``i < j`` of texts with Jaccard ≥ ``threshold`` and its Jaccard: ``(i, j, jaccard)``.

    Rows are sorted by set size; each block of rows is multiplied (sparse X_block · X_candᵀ)
    only with the rows at or after it whose size is within ``size/threshold`` (the length
    filter: a larger set cannot reach the threshold).  ``length_filter=False`` multiplies each
    block with every later row (the literal all-pairs join; same pairs, more work).  Memory is
    bounded by the block.
    """
    x = incidence(indptr, values)
    size = np.diff(indptr).astype(np.int64)
    order = np.argsort(size, kind="stable")
    x = x[order]
    s = size[order]
    n = len(s)
    out_i, out_j, out_v = [], [], []
    start = 0
    t = float(threshold)
    s32 = s.astype(np.float32)

    def reach(stop: int) -> int:  # rows (sorted by size) a block ending at ``stop`` must be compared with
        return n if t <= 0 or not length_filter else int(np.searchsorted(s, s[stop - 1] / t + 1e-9, side="right"))

    while start < n:
        # the block: as many rows as keep block × candidates within the cell budget
        block = n - start
        while block > 16 and block * (reach(start + block) - start) > cells_per_block:
            block = max(16, block // 2)
        stop = start + block
        hi = reach(stop)
        inter = x[start:stop] @ x[start:hi].T  # CSR: intersections of the block with its candidates
        rows = np.repeat(np.arange(start, stop, dtype=np.int32), np.diff(inter.indptr))
        cols = inter.indices.astype(np.int32) + np.int32(start)
        iv = inter.data.astype(np.float32)
        del inter
        # J ≥ t  ⇔  inter·(1 + t) ≥ t·(|a| + |b|): a float32 pre-filter at t - 0.001 (monotone, so no pair
        # at or above t is lost to rounding), upper triangle only; the exact float64 test follows
        tp = np.float32(max(t - 1e-3, 0.0))
        keep = (cols > rows) & (iv * (np.float32(1) + tp) >= tp * (s32[rows] + s32[cols]))
        rows, cols, iv = rows[keep], cols[keep], iv[keep].astype(np.float64)
        jac = iv / (s[rows] + s[cols] - iv)
        ok = jac >= t - 1e-12
        out_i.append(order[rows[ok]])
        out_j.append(order[cols[ok]])
        out_v.append(jac[ok].astype(np.float32))
        start = stop
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    i, j = cat(out_i, np.int64), cat(out_j, np.int64)
    lo, hi_ = np.minimum(i, j), np.maximum(i, j)
    return lo, hi_, cat(out_v, np.float32)


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given edges ``(i, j)``."""
    graph = sp.coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def leader_groups(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Sequential leader clustering over exact pairs: in index order, each text joins the earliest
    representative it is paired with, else becomes a representative (the grouper's rule, exact Jaccard)."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((lo, hi))
    hi_s, lo_s = hi[order], lo[order]
    ptr = np.searchsorted(hi_s, np.arange(n + 1))
    rep = np.arange(n)
    is_rep = np.ones(n, dtype=bool)
    for x in np.flatnonzero(np.diff(ptr) > 0).tolist():
        cands = lo_s[ptr[x]:ptr[x + 1]]  # ascending
        hit = cands[is_rep[cands]]
        if len(hit):
            rep[x] = hit[0]
            is_rep[x] = False
    return rep


def representative_check(texts, ids: np.ndarray, indptr: np.ndarray, values: np.ndarray,
                         pairs: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float) -> dict:
    """How well the grouper's leader clustering matches its own rule under exact Jaccard.

    A template id is the xxhash64 of its representative text (first text of the template), so each
    text's representative is found among the texts.  ``member_ok``: share of non-representative texts
    whose *exact* Jaccard with their representative is ≥ threshold (false joins are the rest);
    ``missed``: representatives with an exact pair ≥ threshold to an *earlier* representative (they
    should have joined it: an LSH miss or an under-estimate)."""
    from graphlinker.templates.fingerprint import _hash_all

    own = _hash_all(list(texts))
    first = {}
    for pos, h in enumerate(own):
        first.setdefault(h, pos)
    rep = np.array([first.get(t, -1) for t in ids.tolist()], dtype=np.int64)
    n = len(rep)
    members = np.flatnonzero((rep >= 0) & (rep != np.arange(n)))
    x = incidence(indptr, values).astype(np.float32)
    size = np.diff(indptr).astype(np.float64)
    inter = np.asarray(x[members].multiply(x[rep[members]]).sum(axis=1)).ravel()
    jac = inter / (size[members] + size[rep[members]] - inter) if len(members) else np.zeros(0)
    is_rep = rep == np.arange(n)
    i, j, _ = pairs
    missed = np.unique(j[is_rep[i] & is_rep[j]]) if len(i) else np.zeros(0, np.int64)
    return {"members": int(len(members)), "member_ok": float((jac >= threshold - 1e-9).mean()) if len(members) else 1.0,
            "member_jaccard_p5": float(np.quantile(jac, 0.05)) if len(members) else 1.0,
            "member_jaccard_min": float(jac.min()) if len(members) else 1.0,
            "representatives": int(is_rep.sum()), "missed": int(len(missed)),
            "unknown_representatives": int((rep < 0).sum())}


def exact_groups(texts, threshold: float, k: int = 5) -> tuple[np.ndarray, dict]:
    """Exact-Jaccard groups (component ids) of unique texts, with timings and the pairs found."""
    t0 = time.perf_counter()
    indptr, values = shingle_sets(texts, k)
    t1 = time.perf_counter()
    i, j, jac = exact_pairs(indptr, values, threshold)
    t2 = time.perf_counter()
    groups = components(len(indptr) - 1, i, j)
    t3 = time.perf_counter()
    leaders = leader_groups(len(indptr) - 1, i, j)
    t4 = time.perf_counter()
    info = {"shingle_s": t1 - t0, "pairs_s": t2 - t1, "components_s": t3 - t2, "total_s": t3 - t0,
            "leader_s": t4 - t3, "leader_groups": leaders,
            "pairs": (i, j, jac), "shingle_sets": (indptr, values), "shingles_per_text": float(np.diff(indptr).mean()) if len(indptr) > 1 else 0.0,
            "vocabulary": int(len(np.unique(values)))}
    return groups, info


# ----------------------------------------------------------------------------- metrics


def _c2(x: np.ndarray) -> int:
    x = np.asarray(x, dtype=np.int64)
    return int((x * (x - 1) // 2).sum())


def contingency(truth, predicted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of ``truth`` and ``predicted`` and the non-zero contingency cells as ``(t, p, count)``."""
    t, _ = pd.factorize(np.asarray(truth, dtype=object) if not isinstance(truth, np.ndarray) else truth)
    p, p_uniques = pd.factorize(np.asarray(predicted, dtype=object) if not isinstance(predicted, np.ndarray) else predicted)
    key = t.astype(np.int64) * (len(p_uniques) + 1) + p
    cells, counts = np.unique(key, return_counts=True)
    return t, p, np.stack([cells // (len(p_uniques) + 1), cells % (len(p_uniques) + 1), counts], axis=1)


def pair_scores(truth, predicted) -> dict:
    """Pair precision/recall of ``predicted`` groups against ``truth`` groups (same length, any hashable labels).

    ``tp`` = pairs together in both, ``true_pairs`` = Σ C(truth group size, 2),
    ``predicted_pairs`` = Σ C(predicted group size, 2).  With no predicted pairs precision is 1;
    with no true pairs recall is 1.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    if len(truth) == 0:
        return _scores(0, 0, 0)
    t, p, cells = contingency(truth, predicted)
    return _scores(_c2(cells[:, 2]), _c2(np.bincount(t)), _c2(np.bincount(p)))


def _scores(tp: int, true_pairs: int, predicted_pairs: int) -> dict:
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "true_pairs": true_pairs,
            "predicted_pairs": predicted_pairs}


def group_scores(truth, predicted, group) -> pd.DataFrame:
    """Per value of ``group`` (e.g. family kind): recall over true pairs inside it and precision over
    predicted pairs with at least one prompt in it (so a false merge with another group counts)."""
    truth, predicted, group = np.asarray(truth), np.asarray(predicted), np.asarray(group, dtype=object)
    all_pred = _c2(np.bincount(pd.factorize(predicted)[0])) if len(predicted) else 0
    rows = []
    for g in pd.unique(group):
        inside = group == g
        sub = pair_scores(truth[inside], predicted[inside])
        outside_pred = _c2(np.bincount(pd.factorize(predicted[~inside])[0])) if (~inside).any() else 0
        touching = all_pred - outside_pred
        rows.append({"group": g, "prompts": int(inside.sum()), "true_pairs": sub["true_pairs"],
                     "recall": sub["recall"], "predicted_pairs": touching,
                     "precision": sub["tp"] / touching if touching else 1.0})
    return pd.DataFrame(rows).sort_values("prompts", ascending=False, ignore_index=True)


def family_scores(truth, predicted) -> pd.DataFrame:
    """Per true family: size, pieces it is split into, recall of its pairs, pairs falsely merged with others."""
    t, p, cells = contingency(truth, predicted)
    t_uniques = pd.factorize(np.asarray(truth, dtype=object))[1]
    b = np.bincount(p)
    fam, grp, cnt = cells[:, 0], cells[:, 1], cells[:, 2]
    size = np.bincount(t)
    tp = np.bincount(fam, weights=cnt * (cnt - 1) / 2, minlength=len(size))
    false = np.bincount(fam, weights=cnt * (b[grp] - cnt), minlength=len(size))  # pairs with prompts of other labels
    pieces = np.bincount(fam, minlength=len(size))
    true_pairs = size * (size - 1) / 2
    return pd.DataFrame({
        "label": np.asarray(t_uniques, dtype=object), "size": size, "pieces": pieces,
        "true_pairs": true_pairs.astype(np.int64), "missed_pairs": (true_pairs - tp).astype(np.int64),
        "recall": np.where(true_pairs > 0, tp / np.maximum(true_pairs, 1), 1.0),
        "false_pairs": false.astype(np.int64),
    })


def confusions(truth, predicted, top: int = 10, max_labels: int = 200) -> pd.DataFrame:
    """The label pairs most often merged into one predicted group (weight: prompt pairs)."""
    df = pd.DataFrame({"t": np.asarray(truth, dtype=object), "p": np.asarray(predicted, dtype=object)})
    counts = df.groupby(["p", "t"], sort=False).size().rename("c").reset_index()
    multi = counts.groupby("p")["t"].transform("size")
    counts = counts[(multi > 1) & (multi <= max_labels)]
    out: dict[tuple, int] = {}
    for _, g in counts.groupby("p", sort=False):
        labels, c = g["t"].to_numpy(), g["c"].to_numpy()
        for a in range(len(labels)):
            for b_ in range(a + 1, len(labels)):
                key = tuple(sorted((labels[a], labels[b_])))
                out[key] = out.get(key, 0) + int(c[a] * c[b_])
    rows = sorted(out.items(), key=lambda kv: -kv[1])[:top]
    return pd.DataFrame([(a, b_, w) for (a, b_), w in rows], columns=["label_a", "label_b", "pairs"])


# ----------------------------------------------------------------------------- helpers


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fmt_scores(s: dict) -> str:
    return f"P {s['precision']:.4f}  R {s['recall']:.4f}  F1 {s['f1']:.4f}   (pairs: true {s['true_pairs']:,}, predicted {s['predicted_pairs']:,})"


def expand(codes: np.ndarray, per_unique) -> np.ndarray:
    return np.asarray(per_unique, dtype=object)[codes]


def timed_ids(grouper, texts: pd.Series) -> tuple[np.ndarray, float]:
    gc.collect()
    t0 = time.perf_counter()
    ids = grouper.ids(texts)
    return np.asarray(ids, dtype=object), time.perf_counter() - t0


def production_path(prompts: pd.Series, grouper, chunk: int = CHUNK) -> tuple[np.ndarray, float, int]:
    """Raw prompts → template ids through ``TemplateIndex.assign`` in chunks; (ids, seconds, templates)."""
    index = TemplateIndex(grouper=grouper)
    out = []
    gc.collect()
    t0 = time.perf_counter()
    for start in range(0, len(prompts), chunk):
        out.append(index.assign(prompts.iloc[start:start + chunk])["template_id"].to_numpy(dtype=object))
    elapsed = time.perf_counter() - t0
    return np.concatenate(out) if out else np.zeros(0, object), elapsed, len(index)


def datasketch_reference(texts: list[str], indptr: np.ndarray, values: np.ndarray, threshold: float, num_perm: int,
                         sample: int, seed: int) -> dict | None:
    """Seconds per text of pure-python datasketch MinHash + MinHashLSH (insert + query) on a subsample."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(texts), min(sample, len(texts)), replace=False)
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sigs = []
    for r in rows:
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([int(v).to_bytes(8, "little") for v in values[indptr[r]:indptr[r + 1]]])
        sigs.append(m)
        lsh.insert(int(r), m)
    for m in sigs:
        lsh.query(m)
    elapsed = time.perf_counter() - t0
    return {"texts": len(rows), "seconds": elapsed, "seconds_per_text": elapsed / max(1, len(rows))}


# ----------------------------------------------------------------------------- the benchmark


def run(args) -> dict:
    result: dict = {"grouper": grouper_name(), "n": args.n, "seed": args.seed, "threshold": args.threshold,
                    "num_perm": args.num_perm, "bands": args.bands, "shingle": args.shingle}
    print(f"graphlinker template grouping benchmark — grouper: {grouper_name()}; {pin_to_one_cpu()}; "
          f"BLAS/OpenMP/Arrow threads: 1")
    print(f"settings: n={args.n:,} seed={args.seed} threshold={args.threshold} num_perm={args.num_perm} "
          f"bands={args.bands} shingle={args.shingle}")

    t0 = time.perf_counter()
    df = labelled_prompts(args.n, args.seed)
    gen_s = time.perf_counter() - t0
    labels = df["label"].to_numpy(dtype=object)
    kinds = df["kind"].astype(str).to_numpy(dtype=object)
    dominated = df["slot_dominated"].to_numpy()

    t0 = time.perf_counter()
    normalised = normalise_prompts(df["prompt"])
    norm_s = time.perf_counter() - t0
    codes, uniques = pd.factorize(normalised)
    unique = pd.Series(np.asarray(uniques, dtype=object), dtype=TEXT_DTYPE)
    n_unique = len(unique)
    # labelling sanity: a normalised text shared by two labels would make the labels self-contradictory
    shared = pd.DataFrame({"c": codes, "l": labels}).groupby("c")["l"].nunique()
    n_families = int(df.loc[df["kind"] != "singleton", "label"].nunique())
    print(f"\nsample: {len(df):,} prompts, {df['label'].nunique():,} labels ({n_families:,} families, "
          f"{int((kinds == 'singleton').sum()):,} singletons), {n_unique:,} unique normalised texts; "
          f"{int(dominated.sum()):,} prompts in slot-dominated families; normalised texts shared by 2+ labels: "
          f"{int((shared > 1).sum())}  [generated in {gen_s:.1f}s, normalised in {norm_s:.1f}s]")
    result.update({"prompts": len(df), "labels": int(df["label"].nunique()), "families": n_families,
                   "unique_normalised": n_unique, "texts_shared_by_labels": int((shared > 1).sum())})

    # --- MinHash grouping alone (fresh grouper, unique normalised texts, shingling included)
    mh_ids, mh_s = timed_ids(make_grouper(args.threshold, args.num_perm, args.bands, args.shingle, args.seed), unique)
    _, mh_s2 = timed_ids(make_grouper(args.threshold, args.num_perm, args.bands, args.shingle, args.seed), unique)
    mh_s = min(mh_s, mh_s2)  # best of two fresh runs
    # --- exact all-pairs Jaccard on the same texts and shingles
    gc.collect()
    ex_groups, ex_info = exact_groups(unique, args.threshold, args.shingle)
    speedup = ex_info["total_s"] / mh_s if mh_s > 0 else float("inf")
    # the literal all-pairs join (no length filter): every pair's intersection, same shingles and threshold
    gc.collect()
    t0 = time.perf_counter()
    full = exact_pairs(*ex_info["shingle_sets"], args.threshold, length_filter=False)
    full_s = ex_info["shingle_s"] + (time.perf_counter() - t0) + ex_info["components_s"]
    if len(full[0]) != len(ex_info["pairs"][0]):
        raise RuntimeError("the length filter lost pairs: the exact baseline is wrong")
    speedup_full = full_s / mh_s if mh_s > 0 else float("inf")
    n_mh_groups = len(pd.unique(mh_ids))
    n_ex_groups = len(np.unique(ex_groups))
    n_ld_groups = len(np.unique(ex_info["leader_groups"]))
    print(f"\ngrouping {n_unique:,} unique normalised texts (single core)")
    print(f"  MinHash       : {mh_s:8.3f} s  ({n_unique / mh_s:,.0f} texts/s, best of 2 fresh groupers)  → {n_mh_groups:,} templates")
    print(f"  exact (CC)    : {ex_info['total_s']:8.3f} s  (shingling {ex_info['shingle_s']:.2f}s, all-pairs {ex_info['pairs_s']:.2f}s, "
          f"components {ex_info['components_s']:.2f}s; {len(ex_info['pairs'][0]):,} pairs ≥ {args.threshold}; "
          f"{ex_info['shingles_per_text']:.0f} shingles/text, vocabulary {ex_info['vocabulary']:,})  → {n_ex_groups:,} templates")
    print(f"  exact (leader): same pairs + {ex_info['leader_s']:.2f}s sequential leader clustering (the grouper's rule with exact "
          f"Jaccard)  → {n_ld_groups:,} templates")
    print(f"  exact, no length filter: {full_s:8.3f} s  (every pair's intersection; same {len(full[0]):,} pairs)")
    print(f"  speed-up      : {speedup:8.1f}×   exact (CC, length-filtered) / MinHash   (target ≥ {TARGET['speedup']:.0f}×)")
    print(f"  speed-up      : {speedup_full:8.1f}×   exact (CC, every pair) / MinHash")
    result.update({"minhash_s": mh_s, "exact_s": ex_info["total_s"], "exact_pairs_s": ex_info["pairs_s"],
                   "exact_all_pairs_s": full_s, "speedup_all_pairs": speedup_full, "speedup": speedup, "minhash_templates": n_mh_groups, "exact_templates": n_ex_groups,
                   "exact_leader_templates": n_ld_groups})

    check = representative_check(unique, mh_ids, *ex_info["shingle_sets"], ex_info["pairs"], args.threshold)
    print(f"  MinHash vs its own rule under exact Jaccard: {check['member_ok']:.2%} of the {check['members']:,} texts that joined a "
          f"template have exact Jaccard ≥ {args.threshold} with its representative (5th percentile {check['member_jaccard_p5']:.3f}, "
          f"min {check['member_jaccard_min']:.3f}); {check['missed']:,} of {check['representatives']:,} representatives "
          f"({check['missed'] / max(1, check['representatives']):.2%}) have exact Jaccard ≥ {args.threshold} with an earlier "
          f"representative (missed joins)")
    result["representative_check"] = check

    # --- metrics over prompts
    mh = expand(codes, mh_ids)
    ex = expand(codes, ex_groups)
    ld = expand(codes, ex_info["leader_groups"])
    keep = ~dominated
    rows = {}
    for suffix, sel in (("", slice(None)), (" (no slot-dominated)", keep)):
        rows["MinHash vs labels" + suffix] = pair_scores(labels[sel], mh[sel])
        rows["exact (CC) vs labels" + suffix] = pair_scores(labels[sel], ex[sel])
        rows["exact (leader) vs labels" + suffix] = pair_scores(labels[sel], ld[sel])
        rows["MinHash vs exact (CC)" + suffix] = pair_scores(ex[sel], mh[sel])
        rows["MinHash vs exact (leader)" + suffix] = pair_scores(ld[sel], mh[sel])
    print(f"\npair precision / recall over {len(df):,} prompts (target P ≥ {TARGET['precision']}, R ≥ {TARGET['recall']}); "
          f"'X vs Y' scores X with Y's groups as the truth")
    for name, sc in rows.items():
        print(f"  {name:50s} {fmt_scores(sc)}")
    result["scores"] = {k: {m: v[m] for m in ("precision", "recall", "f1", "true_pairs", "predicted_pairs")} for k, v in rows.items()}

    # --- by family type and by slot share
    def breakdown(group) -> pd.DataFrame:
        out = None
        for tag, pred in (("minhash", mh), ("leader", ld), ("cc", ex)):
            g = group_scores(labels, pred, group).rename(columns={"recall": f"R_{tag}", "precision": f"P_{tag}"})
            g = g.drop(columns=["predicted_pairs"])
            out = g if out is None else out.merge(g[["group", f"R_{tag}", f"P_{tag}"]], on="group")
        return out

    cols = ["group", "prompts", "true_pairs", "R_minhash", "R_leader", "R_cc", "P_minhash", "P_leader", "P_cc"]
    by_kind = breakdown(kinds)
    share = df.groupby(df["kind"].astype(str), observed=True)["slot_share"].mean()
    by_kind.insert(2, "slot_share", by_kind["group"].map(share).round(2))
    fam_share = df.groupby("label")["slot_share"].mean()
    bucket = pd.cut(df["label"].map(fam_share).to_numpy(dtype=float), [-0.01, 0.05, 0.15, 0.3, 0.5, 1.0],
                    labels=["0-0.05", "0.05-0.15", "0.15-0.3", "0.3-0.5", "0.5-1"]).astype(object)
    bucket = np.where(kinds == "singleton", "singleton", bucket).astype(object)
    by_share = breakdown(bucket)
    order = {b: i for i, b in enumerate(["0-0.05", "0.05-0.15", "0.15-0.3", "0.3-0.5", "0.5-1", "singleton"])}
    by_share = by_share.sort_values("group", key=lambda s: s.map(order), ignore_index=True)
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print("\nby family type (R: recall of the pairs inside the type; P: precision of the predicted pairs touching the type;"
              "\n  minhash = grouper under test, leader = exact leader clustering, cc = exact connected components)")
        print(by_kind[["group", "slot_share", *cols[1:]]].to_string(index=False))
        print("\nby the family's mean share of free-slot characters (slot text the normalisation does not mask)")
        print(by_share[cols].to_string(index=False))
    result["by_kind"] = by_kind[cols].to_dict("records")
    result["by_slot_share"] = by_share[cols].to_dict("records")

    # --- worst families
    fams = df.drop_duplicates("label").set_index("label")[["kind", "lang", "slot_share", "slot_dominated"]]
    fam_mh = family_scores(labels, mh).set_index("label")
    fam_ex = family_scores(labels, ex).set_index("label")
    fam_ld = family_scores(labels, ld).set_index("label")
    worst = fam_mh.join(fams[["kind", "lang"]]).join(fam_share.rename("slot_share"))
    worst["R_leader"] = fam_ld["recall"]
    worst["R_cc"] = fam_ex["recall"]
    worst["false_leader"] = fam_ld["false_pairs"]
    worst["false_cc"] = fam_ex["false_pairs"]
    worst = worst[worst["kind"] != "singleton"]
    show = ["kind", "lang", "slot_share", "size", "pieces", "recall", "R_leader", "R_cc", "missed_pairs", "false_pairs",
            "false_leader", "false_cc"]
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(f"\nworst families by MinHash missed pairs — top {args.top} (pieces: MinHash templates the family is split into)")
        print(worst.sort_values("missed_pairs", ascending=False).head(args.top)[show].to_string())
        print(f"\nworst families by pairs falsely merged with other labels (MinHash) — top {args.top}")
        print(worst.sort_values("false_pairs", ascending=False).head(args.top)[show].to_string())
        sing = fam_mh.join(fams[["kind"]])
        sing = sing[sing["kind"] == "singleton"]
        print(f"\nsingletons put in a template with another prompt: MinHash {int((sing['false_pairs'] > 0).sum()):,} of {len(sing):,} "
              f"(exact leader {int((fam_ld.loc[sing.index, 'false_pairs'] > 0).sum()):,}, "
              f"exact CC {int((fam_ex.loc[sing.index, 'false_pairs'] > 0).sum()):,})")
        conf = confusions(labels, mh, top=args.top)
        if len(conf):
            kind_of = fams["kind"]
            conf.insert(1, "kind_a", conf["label_a"].map(kind_of))
            conf.insert(3, "kind_b", conf["label_b"].map(kind_of))
            print("\nlabel pairs most merged by MinHash (prompt pairs)")
            print(conf.to_string(index=False))
    worst_r = worst.sort_values("missed_pairs", ascending=False).head(args.top).reset_index()
    worst_p = worst.sort_values("false_pairs", ascending=False).head(args.top).reset_index()
    result["worst_recall"] = worst_r[["label", "kind", "lang", "slot_share", "size", "recall", "R_leader", "R_cc"]].to_dict("records")
    result["worst_precision"] = worst_p[["label", "kind", "lang", "size", "false_pairs", "false_leader", "false_cc"]].to_dict("records")

    # --- threshold sensitivity (exact pairs computed once at the lowest threshold)
    if args.thresholds:
        ths = sorted({float(x) for x in args.thresholds.split(",")})
        indptr, values = shingle_sets(unique, args.shingle)
        i, j, jac = exact_pairs(indptr, values, min(ths))
        print("\nthreshold sensitivity (MinHash grouper rebuilt per threshold; exact from one all-pairs pass)")
        print(f"  {'t':>5} {'MinHash vs labels':>18} {'leader vs labels':>18} {'CC vs labels':>18} {'MinHash vs leader':>18} "
              f"{'MinHash vs CC':>18} {'MinHash s':>9}   (each: P / R)")
        sweep = []
        for th in ths:
            ids_t, s_t = timed_ids(make_grouper(th, args.num_perm, args.bands, args.shingle, args.seed), unique)
            sel = jac >= th - 1e-6
            ex_t = expand(codes, components(n_unique, i[sel], j[sel]))
            ld_t = expand(codes, leader_groups(n_unique, i[sel], j[sel]))
            mh_t = expand(codes, ids_t)
            sc = [pair_scores(labels, mh_t), pair_scores(labels, ld_t), pair_scores(labels, ex_t), pair_scores(ld_t, mh_t),
                  pair_scores(ex_t, mh_t)]
            print(f"  {th:5.2f} " + " ".join(f"{x['precision']:8.4f} /{x['recall']:7.4f}" for x in sc) + f" {s_t:9.3f}")
            sweep.append({"threshold": th, **{name: [x["precision"], x["recall"]] for name, x in zip(
                ("minhash_vs_labels", "leader_vs_labels", "cc_vs_labels", "minhash_vs_leader", "minhash_vs_cc"), sc)}})
        result["thresholds"] = sweep

    # --- production path on the sample
    prod_ids, prod_s, prod_templates = production_path(df["prompt"], make_grouper(args.threshold, args.num_perm, args.bands, args.shingle, args.seed))
    prod = pair_scores(labels, prod_ids)
    same = pair_scores(mh, prod_ids)
    print(f"\nproduction path (raw prompts → TemplateIndex.assign, {CHUNK:,}-row chunks, single core): "
          f"{len(df):,} prompts in {prod_s:.2f}s = {len(df) / prod_s:,.0f} prompts/s; {prod_templates:,} templates; "
          f"vs labels P {prod['precision']:.4f} R {prod['recall']:.4f}; agreement with grouping-only run P {same['precision']:.4f} R {same['recall']:.4f}")
    result.update({"production_prompts_per_s": len(df) / prod_s, "production_s": prod_s, "production_templates": prod_templates})

    # --- datasketch reference (pure python), extrapolated
    if args.datasketch:
        indptr, values = shingle_sets(unique, args.shingle)
        ref = datasketch_reference(list(unique), indptr, values, args.threshold, args.num_perm, args.datasketch, args.seed)
        if ref:
            est = ref["seconds_per_text"] * n_unique
            print(f"\ndatasketch MinHash+MinHashLSH (pure python, {ref['texts']:,}-text subsample, shingles given): "
                  f"{ref['seconds_per_text'] * 1e3:.3f} ms/text → ≈{est:.1f}s for {n_unique:,} texts "
                  f"(≈{est / mh_s:.0f}× the grouper under test)")
            result["datasketch_s_per_text"] = ref["seconds_per_text"]

    # --- targets
    def verdict(s: dict) -> str:
        ok = s["precision"] >= TARGET["precision"] and s["recall"] >= TARGET["recall"]
        return "MET" if ok else "NOT MET"

    print("\ntargets (P ≥ 0.95, R ≥ 0.95, speed-up ≥ 50×):")
    print(f"  speed-up {speedup:.1f}× vs the length-filtered join: {'MET' if speedup >= TARGET['speedup'] else 'NOT MET'}")
    print(f"  speed-up {speedup_full:.1f}× vs every pair: {'MET' if speedup_full >= TARGET['speedup'] else 'NOT MET'}")
    for name in ("MinHash vs exact (CC)", "MinHash vs exact (leader)", "MinHash vs labels", "MinHash vs labels (no slot-dominated)"):
        sc = rows[name]
        print(f"  {name:50s} P {sc['precision']:.4f} R {sc['recall']:.4f}: {verdict(sc)}")
    return result


def scaling(args) -> list[dict]:
    """MinHash vs exact timings (grouping step only) at several sample sizes."""
    sizes = [int(x) for x in args.scaling.split(",") if x]
    print("\nspeed-up by sample size (unique normalised texts; MinHash best of 2; single core)")
    print(f"  {'prompts':>8} {'unique':>8} {'MinHash s':>10} {'exact s':>9} {'speed-up':>9}")
    out = []
    for n in sizes:
        df = labelled_prompts(n, args.seed)
        unique = pd.Series(pd.unique(normalise_prompts(df["prompt"])), dtype=TEXT_DTYPE)
        del df
        runs = [timed_ids(make_grouper(args.threshold, args.num_perm, args.bands, args.shingle, args.seed), unique)[1]
                for _ in range(2)]
        gc.collect()
        _, info = exact_groups(unique, args.threshold, args.shingle)
        mh_s = min(runs)
        print(f"  {n:8,} {len(unique):8,} {mh_s:10.3f} {info['total_s']:9.2f} {info['total_s'] / mh_s:8.1f}×")
        out.append({"prompts": n, "unique": len(unique), "minhash_s": mh_s, "exact_s": info["total_s"],
                    "speedup": info["total_s"] / mh_s})
    return out


# ----------------------------------------------------------------------------- 1M prompts


def million(args, result: dict) -> None:
    n = args.million_n
    workdir = Path(tempfile.mkdtemp(prefix="bench-templates-"))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        source = workdir / "prompts.parquet"
        t0 = time.perf_counter()
        writer = None
        labels = []
        for chunk in iter_labelled_prompts(n, args.seed, CHUNK):
            table = pa.Table.from_pandas(chunk[["prompt"]], preserve_index=False)
            writer = writer or pq.ParquetWriter(source, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
            labels.append(chunk["label"].to_numpy(dtype=object))
            del chunk, table
        if writer:
            writer.close()
        gen_s = time.perf_counter() - t0
        labels = np.concatenate(labels)
        ids_path = workdir / "ids.parquet"
        command = [sys.executable, str(Path(__file__).resolve()), "--_stream", str(source), "--_ids", str(ids_path),
                   "--threshold", str(args.threshold), "--num-perm", str(args.num_perm), "--bands", str(args.bands),
                   "--shingle", str(args.shingle), "--seed", str(args.seed)]
        if shutil.which("taskset"):
            command = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *command]
        env = {**os.environ, **SINGLE_THREAD_ENV}
        print(f"\n1M mode: generated {n:,} prompts in {gen_s:.0f}s; streaming them through TemplateIndex in a fresh process: "
              f"{' '.join(command[:3])} …")
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"streaming process failed ({proc.returncode})")
        stream = json.loads(proc.stdout.strip().splitlines()[-1])
        ids = pq.read_table(ids_path).column("template_id").to_numpy(zero_copy_only=False)
        s = pair_scores(labels, ids)
        print(f"  {stream['prompts']:,} prompts in {stream['seconds']:.1f}s = {stream['prompts_per_s']:,.0f} prompts/s (single core, "
              f"assign() only; reading parquet {stream['read_s']:.1f}s extra)")
        print(f"  peak RSS {stream['peak_rss_mib']:.0f} MiB (after imports {stream['rss_after_imports_mib']:.0f} MiB; "
              f"after the stream {stream['rss_end_mib']:.0f} MiB); {stream['templates']:,} templates; "
              f"per-chunk seconds {', '.join(f'{x:.1f}' for x in stream['chunk_s'])}")
        print(f"  time inside assign(): normalisation {stream['normalise_s']:.1f}s, grouping (grouper.ids) {stream['grouping_s']:.1f}s, "
              f"extraction tags {stream['tags_s']:.1f}s, rest {stream['seconds'] - stream['normalise_s'] - stream['grouping_s'] - stream['tags_s']:.1f}s; "
              f"grouper state {stream['grouper_state_mib']:.0f} MiB")
        print(f"  vs labels: {fmt_scores(s)}")
        result["million"] = {**{k: v for k, v in stream.items()}, "generate_s": gen_s,
                             "precision_vs_labels": s["precision"], "recall_vs_labels": s["recall"],
                             "labels": int(len(pd.unique(labels)))}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def stream(args) -> None:
    """Child process of ``--million``: parquet row groups → TemplateIndex.assign; prints one JSON line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pin_to_one_cpu()
    rss_imports = rss_mib()
    index = TemplateIndex(grouper=make_grouper(args.threshold, args.num_perm, args.bands, args.shingle, args.seed))
    # where the time goes: wrap the grouper, the normaliser and the tag matcher of this index with timers
    import graphlinker.templates as templates_pkg

    spent = {"grouping_s": 0.0, "normalise_s": 0.0, "tags_s": 0.0}

    def timer(func, key):
        def wrapped(*a, **kw):
            t = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t
        return wrapped

    index.grouper.ids = timer(index.grouper.ids, "grouping_s")
    index.rules.bits_of_folded = timer(index.rules.bits_of_folded, "tags_s")
    if hasattr(templates_pkg, "fold_and_mask"):
        templates_pkg.fold_and_mask = timer(templates_pkg.fold_and_mask, "normalise_s")
    source = pq.ParquetFile(args._stream)
    writer = None
    total = 0
    read_s = 0.0
    chunk_s = []
    for rg in range(source.num_row_groups):
        t0 = time.perf_counter()
        prompts = source.read_row_group(rg, columns=["prompt"]).column("prompt").to_pandas(types_mapper=pd.ArrowDtype)
        prompts = prompts.astype(TEXT_DTYPE)
        t1 = time.perf_counter()
        out = index.assign(prompts)
        chunk_s.append(time.perf_counter() - t1)
        read_s += t1 - t0
        total += len(prompts)
        table = pa.table({"template_id": pa.array(out["template_id"].array)})
        writer = writer or pq.ParquetWriter(args._ids, table.schema)
        writer.write_table(table)
        del prompts, out, table
    if writer:
        writer.close()
    seconds = sum(chunk_s)
    print(json.dumps({"prompts": total, "seconds": seconds, "prompts_per_s": total / seconds if seconds else 0.0,
                      "chunk_s": chunk_s, "read_s": read_s, "templates": len(index), "peak_rss_mib": peak_rss_mib(),
                      "rss_after_imports_mib": rss_imports, "rss_end_mib": rss_mib(), "grouper": grouper_name(),
                      "grouper_state_mib": getattr(index.grouper, "nbytes", 0) / 2**20, **spent}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="labelled prompts (default 20,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--num-perm", type=int, default=64)
    parser.add_argument("--bands", type=int, default=16)
    parser.add_argument("--shingle", type=int, default=5)
    parser.add_argument("--thresholds", default="0.5,0.6,0.7,0.8,0.9",
                        help="comma-separated thresholds for the sensitivity table ('' to skip)")
    parser.add_argument("--datasketch", type=int, default=2000, metavar="N",
                        help="time pure-python datasketch MinHashLSH on N texts (0: skip)")
    parser.add_argument("--scaling", default="", metavar="N1,N2,...",
                        help="also time MinHash vs exact grouping at these sample sizes, e.g. 5000,10000,20000,40000")
    parser.add_argument("--top", type=int, default=12, help="rows in the worst-families tables")
    parser.add_argument("--million", action="store_true", help="also stream 1M prompts (peak memory, prompts/s)")
    parser.add_argument("--million-n", type=int, default=1_000_000, help="prompts in --million mode (default 1,000,000)")
    parser.add_argument("--skip-sample", action="store_true", help="with --million: skip the labelled-sample benchmark")
    parser.add_argument("--json", action="store_true", help="end with a one-line JSON summary")
    parser.add_argument("--_stream", help=argparse.SUPPRESS)
    parser.add_argument("--_ids", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._stream:
        stream(args)
        return
    result = {} if (args.skip_sample and (args.million or args.scaling)) else run(args)
    if args.scaling:
        if args.skip_sample:
            print(f"template grouping benchmark — grouper: {grouper_name()}; {pin_to_one_cpu()}")
        result["scaling"] = scaling(args)
    if args.million:
        million(args, result)
    if args.json:
        print(json.dumps(_jsonable(result), separators=(",", ":")))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


if __name__ == "__main__":
    main()
