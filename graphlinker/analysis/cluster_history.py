"""Cluster identity across runs, and what changed between two runs.

A cluster id is a hash of its member set (:func:`cluster_id_for`), so one
account joining or leaving gives a brand-new id and analysts lose track of a
ring they are watching. ``assign_stable_ids`` carries the previous run's id
over to the new cluster that is substantially the same group; ``diff_runs``
then compares two reports by id and says what happened to each cluster.

Matching rule (``assign_stable_ids``)
-------------------------------------
Let ``overlap(N, O) = |N ∩ O|`` for a new cluster N and an old cluster O.

1. Candidates: N may inherit O's id only when ``overlap ≥ 1`` and
   ``overlap ≥ 0.5·|O|`` — N contains at least half of the OLD group — and
   ``overlap ≥ 2`` (one shared account is no continuity for a pair). There is
   deliberately no condition on the share of N: an operation that ramps up
   from 10 to 40 accounts across time slices is still the same ring, and
   "at least half of N" would hand it a new id exactly when it matters most.
2. Greedy one-to-one assignment over the candidates, in this order:
   overlap descending, then larger old cluster, then smaller old id
   (string order), then the new cluster's order — by its smallest member
   account id, then ``str(key)``, then input position. The member-based order
   does not depend on dict insertion order, so shuffled inputs give the same
   answer. Each old id is used at most once; each new cluster takes at most
   one old id. Consequences:

   * split — every part containing ≥ half of O is a candidate, and the part
     with the largest overlap wins; the other parts get fresh ids;
   * merge — the merged cluster takes the id of the old cluster it overlaps
     most (ties: larger old cluster, then smaller id); the other old ids
     disappear and ``diff_runs`` reports them as merged into it.
3. A new cluster left without an old id gets ``fresh_id(sorted members)``. If
   that id is already taken — by an id assigned in this run or by any id of
   the previous run (reusing a vanished id for a different group would fake
   continuity in ``diff_runs``) — the suffixes ``-2``, ``-3``, ... are tried
   in order. Fresh ids are handed out in the new-cluster order above, so the
   suffixes are deterministic.

Overlaps come from one pandas merge of the two membership frames on account
id plus a groupby count; only the candidate pairs (at most a few per old
cluster) reach the Python greedy loop, so 20k clusters over 100k accounts
take a fraction of a second.

Change categories (``diff_runs``)
---------------------------------
Clusters are matched by ``cluster_id`` (refresh already used
``assign_stable_ids``). "Before" fields come from the old run's cluster with
that id and "after" fields from the new run's; either side is ``None`` when
the id is absent there. ``accounts_added``/``accounts_removed`` compare the
member sets under that same id.

* ``merged`` — an id in the new run that absorbed ≥ 1 old cluster whose id
  disappeared, i.e. that old cluster has ≥ 50% of its members here (if
  several new clusters qualify, the one holding most of it, then the smaller
  id). ``related`` = the absorbed old ids.
* ``split`` — an old cluster whose members now sit in ≥ 2 new clusters that
  each hold ≥ 2 of them. Reported on the old id; ``related`` = those new ids
  other than the old id itself (largest share first). A vanished id can be
  both merged (half of it went to one cluster) and split (the rest formed
  another cluster of ≥ 2): both entries are emitted.
* ``dissolved`` — an old id that is gone and neither merged nor split: its
  members are in no cluster or scattered. ``related`` = every new cluster
  holding any of its members (largest share first), possibly empty.
* ``new`` — an id only in the new run that is not a merge target and whose
  members were not mostly (> 50%) from any single old cluster. As a safety
  net, a new-only id that would otherwise appear nowhere in the diff (not
  even in a ``related`` list) is also reported as ``new``.
* ``grown`` / ``shrunk`` — same id in both runs, size changed, and the change
  is not already explained by a ``merged`` or ``split`` entry for that id.
* ``flagged`` / ``unflagged`` — same id in both runs and the flagged bool
  crossed. With ``flag_threshold`` both runs are re-flagged as
  ``risk_score ≥ flag_threshold``, so runs scored under different thresholds
  compare fairly. Emitted in addition to any size entry.

Order: flag crossings first, then ``risk_after`` descending (``None`` last),
then ``cluster_id``, then category name.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from itertools import chain
from typing import NamedTuple

import numpy as np
import pandas as pd
import xxhash
from rich.table import Table

CHANGES = ("new", "grown", "shrunk", "merged", "split", "dissolved", "flagged", "unflagged")


# --------------------------------------------------------------------------- membership and overlaps


def _memberships(*sides: list[Iterable[str]]) -> tuple[list[pd.DataFrame], np.ndarray]:
    """One ``cluster, account`` frame per side (cluster = position, duplicates dropped), and the
    account behind each code.

    Accounts are coded jointly across the sides as int64 so merges and dedups skip string hashing.
    """
    members = [[m if isinstance(m, (list, tuple)) else list(m) for m in side] for side in sides]
    flat = np.array(list(chain.from_iterable(chain.from_iterable(members))), dtype=object)
    codes, accounts = pd.factorize(flat) if len(flat) else (np.empty(0, np.int64), flat)
    codes = np.asarray(codes, dtype=np.int64)
    frames, start = [], 0
    for side in members:
        lengths = np.fromiter((len(m) for m in side), dtype=np.int64, count=len(side))
        stop = start + int(lengths.sum())
        cluster = np.repeat(np.arange(len(side), dtype=np.int64), lengths)
        frames.append(pd.DataFrame({"cluster": cluster, "account": codes[start:stop]}).drop_duplicates(ignore_index=True))
        start = stop
    return frames, np.asarray(accounts, dtype=object)


def _sizes(membership: pd.DataFrame, count: int) -> np.ndarray:
    """Distinct members per cluster position (0 for empty clusters)."""
    return membership.groupby("cluster").size().reindex(range(count), fill_value=0).to_numpy()


def _overlaps(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """``new, old, overlap`` for every pair of cluster positions sharing at least one account."""
    pairs = new.merge(old, on="account", suffixes=("_new", "_old"))
    counts = pairs.groupby(["cluster_new", "cluster_old"]).size()
    frame = counts.rename("overlap").reset_index().rename(columns={"cluster_new": "new", "cluster_old": "old"})
    return frame.astype({"new": np.int64, "old": np.int64, "overlap": np.int64})


# --------------------------------------------------------------------------- stable ids


def _new_order(keys: list[Hashable], membership: pd.DataFrame, accounts: np.ndarray) -> np.ndarray:
    """Rank of each new cluster for tie-breaks: smallest member, then str(key), then position.

    Content-based, so shuffling the input dict does not change which part of a tie wins.
    """
    smallest: dict[int, str] = {}
    names = accounts.tolist()
    for cluster, code in zip(membership["cluster"].tolist(), membership["account"].tolist()):
        account = names[code]
        if cluster not in smallest or account < smallest[cluster]:
            smallest[cluster] = account
    order = sorted(range(len(keys)), key=lambda i: (i not in smallest, smallest.get(i, ""), str(keys[i]), i))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    return rank


MIN_SHARED = 2  # one shared account is no continuity: an old pair must not lend its id for one member


def _candidates(overlaps: pd.DataFrame, old_ids: list[str], old_sizes: np.ndarray, rank: np.ndarray) -> pd.DataFrame:
    """Pairs where the new cluster contains at least half of the old one, in greedy order."""
    cand = overlaps.assign(old_size=old_sizes[overlaps["old"].to_numpy()])
    cand = cand[(2 * cand["overlap"] >= cand["old_size"]) & (cand["overlap"] >= MIN_SHARED)]
    cand = cand.assign(old_id=[old_ids[o] for o in cand["old"]], rank=rank[cand["new"].to_numpy()])
    return cand.sort_values(
        ["overlap", "old_size", "old_id", "rank"], ascending=[False, False, True, True], kind="stable"
    )


def _greedy(cand: pd.DataFrame) -> dict[int, str]:
    """One-to-one: walk the sorted candidates, skipping pairs whose either side is already used."""
    taken_new: dict[int, str] = {}
    used_old: set[str] = set()
    for new, old_id in zip(cand["new"].tolist(), cand["old_id"].tolist()):
        if new in taken_new or old_id in used_old:
            continue
        taken_new[new] = old_id
        used_old.add(old_id)
    return taken_new


def _unique(base: str, taken: set[str]) -> str:
    """``base``, or the first of ``base-2``, ``base-3``, ... not yet taken."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def assign_stable_ids(
    new_clusters: dict[Hashable, list[str]],
    previous: dict[str, list[str]],
    fresh_id: Callable[[list[str]], str],
) -> dict[Hashable, str]:
    """Give each new cluster the previous id of the group it continues, else a fresh one.

    See the module docstring for the exact rule. Returns new key -> id in the order of ``new_clusters``.
    """
    keys = list(new_clusters)
    old_ids = [str(o) for o in previous]
    (new_members, old_members), accounts = _memberships([new_clusters[k] for k in keys], list(previous.values()))
    rank = _new_order(keys, new_members, accounts)
    overlaps = _overlaps(new_members, old_members)
    assigned = _greedy(_candidates(overlaps, old_ids, _sizes(old_members, len(old_ids)), rank))

    taken = set(old_ids)
    for position in sorted(set(range(len(keys))) - set(assigned), key=lambda i: rank[i]):
        members = sorted(set(new_clusters[keys[position]]))
        assigned[position] = _unique(fresh_id(members), taken)
        taken.add(assigned[position])
    return {key: assigned[i] for i, key in enumerate(keys)}


# --------------------------------------------------------------------------- run diff


class _Cluster(NamedTuple):
    accounts: list[str]
    size: int
    risk: float
    flagged: bool


def _clusters(report: dict | None, flag_threshold: float | None) -> dict[str, _Cluster]:
    """cluster_id -> what the diff needs, re-flagged when a threshold is given."""
    out = {}
    for c in (report or {}).get("clusters", []):
        accounts = c.get("accounts") or []
        risk = float(c.get("risk_score", 0.0))
        flagged = risk >= flag_threshold if flag_threshold is not None else bool(c.get("flagged", False))
        out[str(c["cluster_id"])] = _Cluster(accounts, int(c.get("size", len(accounts))), risk, flagged)
    return out


def _named_overlaps(new: dict[str, _Cluster], old: dict[str, _Cluster]) -> pd.DataFrame:
    """``new, old, overlap, old_size, new_size`` with cluster ids instead of positions."""
    new_ids, old_ids = list(new), list(old)
    (new_m, old_m), _ = _memberships([new[i].accounts for i in new_ids], [old[i].accounts for i in old_ids])
    pairs = _overlaps(new_m, old_m)
    new_pos, old_pos = pairs["new"].to_numpy(), pairs["old"].to_numpy()
    return pd.DataFrame(
        {
            "new": pd.Series(np.asarray(new_ids, dtype=object)[new_pos], dtype=object),
            "old": pd.Series(np.asarray(old_ids, dtype=object)[old_pos], dtype=object),
            "overlap": pairs["overlap"].to_numpy(),
            "old_size": _sizes(old_m, len(old_ids))[old_pos],
            "new_size": _sizes(new_m, len(new_ids))[new_pos],
        }
    )


def _ranked(pairs: pd.DataFrame, by: str, of: str) -> dict[str, list[str]]:
    """For each ``by`` id, the ``of`` ids in ``pairs``, largest overlap first, then id."""
    pairs = pairs.sort_values([by, "overlap", of], ascending=[True, False, True], kind="stable")
    out: dict[str, list[str]] = defaultdict(list)
    for key, other in zip(pairs[by].tolist(), pairs[of].tolist()):
        out[key].append(other)
    return out


def _merges(pairs: pd.DataFrame, gone: set[str]) -> dict[str, str]:
    """Vanished old id -> the new cluster holding ≥ 50% of it (most, then smallest id)."""
    held = pairs[pairs["old"].isin(list(gone)) & (2 * pairs["overlap"] >= pairs["old_size"])]
    best = held.sort_values(["old", "overlap", "new"], ascending=[True, False, True]).drop_duplicates("old")
    return dict(zip(best["old"], best["new"]))


def _entry(change: str, cid: str, old: dict[str, _Cluster], new: dict[str, _Cluster], related: list[str], kept: int) -> dict:
    """One change row; before/after always describe the same id in the two runs (``kept`` members in both)."""
    b, a = old.get(cid), new.get(cid)
    return {
        "change": change,
        "cluster_id": cid,
        "size_before": b.size if b else None,
        "size_after": a.size if a else None,
        "risk_before": b.risk if b else None,
        "risk_after": a.risk if a else None,
        "flagged_before": b.flagged if b else None,
        "flagged_after": a.flagged if a else None,
        "related": [str(r) for r in related],
        "accounts_added": len(set(a.accounts)) - kept if a else 0,
        "accounts_removed": len(set(b.accounts)) - kept if b else 0,
    }


_Row = tuple[str, str, list[str]]  # change, cluster_id, related
_Runs = dict[str, _Cluster]


def _old_side(old: _Runs, new: _Runs, pairs: pd.DataFrame, merged_into: dict[str, str]) -> list[_Row]:
    """split / dissolved entries for old ids (kept ids can split too)."""
    held = pairs[pairs["overlap"] >= 2]
    parts_per_old = held.groupby("old")["new"].transform("size")
    spread = _ranked(held[parts_per_old >= 2], by="old", of="new")
    vanished = ~pairs["old"].isin(list(new)) & ~pairs["old"].isin(list(merged_into))
    anywhere = _ranked(pairs[vanished], by="old", of="new")
    out = []
    for oid in old:
        parts = spread.get(oid, [])
        if len(parts) >= 2:
            out.append(("split", oid, [p for p in parts if p != oid]))
        elif oid not in new and oid not in merged_into:
            out.append(("dissolved", oid, anywhere.get(oid, [])))
    return out


def _new_side(old: _Runs, new: _Runs, pairs: pd.DataFrame, merged_into: dict[str, str], split_ids: set[str]) -> list[_Row]:
    """merged / new / grown / shrunk / flag entries for ids of the new run."""
    absorbed: dict[str, list[str]] = defaultdict(list)
    for oid, nid in sorted(merged_into.items()):
        absorbed[nid].append(oid)
    mostly_old = set(pairs.loc[2 * pairs["overlap"] > pairs["new_size"], "new"])
    out = []
    for nid, cluster in new.items():
        before = old.get(nid)
        if absorbed.get(nid):
            out.append(("merged", nid, absorbed[nid]))
        elif before is None and nid not in mostly_old:
            out.append(("new", nid, []))
        elif before is not None and nid not in split_ids and cluster.size != before.size:
            out.append(("grown" if cluster.size > before.size else "shrunk", nid, []))
        if before is not None and before.flagged != cluster.flagged:
            out.append(("flagged" if cluster.flagged else "unflagged", nid, []))
    return out


def _orphans(old: _Runs, new: _Runs, rows: list[_Row]) -> list[_Row]:
    """New-only ids mentioned nowhere yet: report them as new so none goes missing."""
    seen = {cid for _, cid, _ in rows} | {r for _, _, related in rows for r in related}
    return [("new", nid, []) for nid in new if nid not in old and nid not in seen]


def _order(entry: dict) -> tuple:
    """Flag crossings first (they change who gets looked at), then the riskiest clusters."""
    crossing = entry["change"] in ("flagged", "unflagged")
    risk = entry["risk_after"]
    return (not crossing, risk is None, -(risk or 0.0), entry["cluster_id"], entry["change"])


def diff_runs(old_report: dict | None, new_report: dict, flag_threshold: float | None = None) -> dict:
    """What changed between two runs, as a JSON-serialisable dict (categories in the module docstring)."""
    old, new = _clusters(old_report, flag_threshold), _clusters(new_report, flag_threshold)
    pairs = _named_overlaps(new, old)
    merged_into = _merges(pairs, set(old) - set(new))
    rows = _old_side(old, new, pairs, merged_into)
    rows += _new_side(old, new, pairs, merged_into, {cid for change, cid, _ in rows if change == "split"})
    rows += _orphans(old, new, rows)
    same = pairs[pairs["new"] == pairs["old"]]
    kept = dict(zip(same["new"].tolist(), same["overlap"].tolist()))
    changes = sorted((_entry(change, cid, old, new, related, kept.get(cid, 0)) for change, cid, related in rows), key=_order)
    counts = Counter(e["change"] for e in changes)
    judged = {str(c["cluster_id"]): c["verdict"] for c in new_report.get("clusters", []) if c.get("verdict")}
    for entry in changes:  # a verdict's effect on this run (graphlinker.analysis.verdicts), e.g. why a benign group is raised
        if (verdict := judged.get(entry["cluster_id"])) is not None:
            entry["verdict"] = f"{verdict['verdict']} ({verdict['effect']}): {verdict['why']}"
    return {
        "from_run": old_report.get("run_id") if old_report else None,
        "to_run": new_report.get("run_id"),
        "counts": {change: counts.get(change, 0) for change in CHANGES},
        "changes": changes,
    }


# --------------------------------------------------------------------------- rendering


def _span(before: object, after: object, fmt: str = "{}") -> str:
    """``after`` alone when unchanged, else ``before → after`` (– for a missing side)."""

    def show(value: object) -> str:
        return "–" if value is None else fmt.format(value)

    return show(after) if before == after else f"{show(before)} → {show(after)}"


def format_diff_table(diff: dict, limit: int | None = 50) -> Table:
    """A compact rich table for the CLI: one row per change, the most urgent first."""
    counts = ", ".join(f"{k} {v}" for k, v in diff["counts"].items() if v)
    table = Table(title=f"{diff['from_run'] or '(none)'} → {diff['to_run']}", caption=counts or "no changes")
    judged = any("verdict" in e for e in diff["changes"][:limit])
    for column in ("change", "cluster", "size", "risk", "flagged", "+/-", "related", *(["verdict"] if judged else [])):
        table.add_column(column, justify="right" if column in ("size", "risk", "+/-") else "left")
    for e in diff["changes"][:limit]:
        related = ", ".join(e["related"][:3]) + (" …" if len(e["related"]) > 3 else "")
        table.add_row(
            e["change"],
            e["cluster_id"],
            _span(e["size_before"], e["size_after"]),
            _span(e["risk_before"], e["risk_after"], "{:.2f}"),
            _span(e["flagged_before"], e["flagged_after"]),
            f"+{e['accounts_added']}/-{e['accounts_removed']}",
            related,
            *([e.get("verdict", "")] if judged else []),
        )
    return table


def cluster_id_for(members: list[str]) -> str:
    """A deterministic id from the member set: the same group gets the same id on any store."""
    return "cl-" + xxhash.xxh64_hexdigest("\n".join(sorted(members)).encode())[:10]
