"""``--format html``: one self-contained page per run that an analyst opens offline and clicks through.

The page is built from the public read side only (:class:`graphlinker.api.Workspace`: the report, its
members, links and templates, the run history; the store's usage graph for activity and identifiers), so it
shows what ``--format json`` shows and nothing more: redacted exemplars, never a prompt; identifier values
only where the JSON report's evidence names them.

Why it looks the way it does:

* **Fast with 1,000 clusters.** The overview is one small JSON block the script turns into a table. Each
  cluster's details (its drawing, reasons, timeline, identifiers, templates, history) are a separate JSON
  block parsed and drawn only when the cluster is opened. Layouts are computed here, once, with igraph
  (a dependency already), so the browser draws plain SVG and needs no library.
* **No hairballs.** A cluster of more than :data:`DRAW_LIMIT` members is drawn as the members with the
  most link weight; at most :data:`EDGES_PER_NODE` links per drawn member are shown, always including the
  strongest spanning tree. The page says what it hides.
* **Why is this account here?** Each drawn member's explanation (:mod:`graphlinker.analysis.explain`: its
  :data:`EXPLAIN_LINKS` strongest links with each signal's share, what the two accounts share, its cheapest
  chain of links to the cluster's core) is computed here by one ``Explainer`` for the page and kept in its
  cluster's block, each link once; the script shows it when a member is clicked. At most
  :data:`EXPLAIN_BUDGET` members per page (whole clusters, riskiest first), and none for a run whose links
  the store no longer keeps (Neo4j's earlier runs); the page says what it leaves out.
* **Offline and inert.** Scripts and styles are inline and pinned by hash in a Content-Security-Policy
  that forbids every network load; user data (account ids, notes, identifier values) travels only as JSON
  inside ``<script type="application/json">`` (``<`` escaped) and reaches the page through ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from graphlinker.analysis.explain import NO_LINKS
from graphlinker.errors import InputError
from graphlinker.kinds import TEMPLATE, TIME

if TYPE_CHECKING:
    from graphlinker.api import Workspace

DRAW_LIMIT = 150  # members drawn per cluster; a larger cluster shows the ones with the most link weight
EXPLAIN_LINKS = 3  # strongest links explained per member ("Why is this account here?"; members first)
EXPLAIN_LISTED = 3  # values (or templates) listed per kind of an explained link; its count says how many are shared
EXPLAIN_BUDGET = 5000  # members explained per page at most: clusters in page order (riskiest first) until it is spent
EDGES_PER_NODE = 3  # links shown per drawn member at most (the strongest spanning tree always shown)
RASTER_MEMBERS = 40  # members given a row in the activity raster (the busiest)
MAX_BINS = 360  # timeline bins across a cluster's active span
HISTORY_RUNS = 20  # runs looked back over for a cluster's history
BIN_MINUTES = (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
SIGNAL_COLOURS = {"payment": "#d62728", "device": "#9467bd", "ip": "#ff7f0e", "subnet": "#8c564b",
                  "template": "#1f77b4", "time": "#2ca02c", "created": "#7f7f7f"}
EXTRA_COLOURS = ("#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39")
ASSETS = "html_assets"  # beside this module (package data of graphlinker.report)


@dataclass
class PageSources:
    """What one page is drawn from, read once through the workspace (see :func:`gather`)."""

    report: dict
    previous: dict | None
    diff: dict | None
    history: list[tuple[dict, dict | None]]  # (report, diff from the run before it), oldest first
    links: pd.DataFrame | None
    links_note: str
    members: pd.DataFrame
    usage: pd.DataFrame
    templates: pd.DataFrame
    weights: dict[str, float]
    default_weight: float
    store: str
    selection: str = ""
    shown_runs: list[str] = field(default_factory=list)
    full_report: dict | None = None  # the run's whole report (``report`` may be a selection): partners' clusters
    linking: dict = field(default_factory=dict)  # the run record's ``params["linking"]``, as explain_inputs reads it
    linking_from: str = "run"
    all_usage: pd.DataFrame | None = None  # the whole usage graph, for the explanations' ``used_by`` counts


def gather(ws: Workspace, run_id: str | None = None, *, against: str | None = None, compare: bool = True,
           min_risk: float = 0.0, top: int | None = None, flagged_only: bool = False) -> PageSources:
    """Everything the page shows for ``run_id`` (default the latest), compared with ``against``.

    ``against`` defaults to the run before ``run_id`` in :meth:`Workspace.runs` (``compare=False``: none).
    ``min_risk``, ``top`` and ``flagged_only`` select clusters as the CLI's options do.
    """
    from graphlinker.analysis.cluster_history import diff_runs
    from graphlinker.report.render import select_clusters

    records = [r for r in ws.store.runs() if r.get("run_id")]
    order = [r["run_id"] for r in records]
    for named in (run_id, against):
        if named is not None and named not in order:
            raise InputError(f"unknown run {named!r}; `graphlinker runs` (Workspace.runs()) lists them")
    full = ws.report(run_id)
    run_id = full["run_id"]
    at = order.index(run_id) if run_id in order else len(order)
    if compare and against is None and at > 0:
        against = order[at - 1]
    previous = ws.report(against) if against is not None else None
    report = select_clusters(full, min_risk, top, flagged_only)
    selection = _selection_text(full, report, min_risk, top, flagged_only)
    history = _history(ws, order[max(0, at - HISTORY_RUNS + 1):at], full)
    try:
        links: pd.DataFrame | None = ws.links(run_id=run_id)
        links_note = ""
    except InputError:
        links = None
        links_note = ("This store keeps the links of its latest run only (Neo4j), so this earlier run's clusters are "
                      "drawn from the identifiers and templates their members share in the store's current graph.")
    from graphlinker.api import load_settings

    record = next((r for r in records if r["run_id"] == run_id), {})
    params = record.get("params") or {}
    linking = params.get("linking") or {}
    if not linking.get("weights"):
        settings = load_settings()
        linking = {"weights": dict(settings.linking.weights), "default_identifier_weight": settings.linking.default_identifier_weight}
    if "linking" in params:  # the explanations read the run's [linking] table as explain_inputs does
        explain_linking, linking_from = dict(params["linking"]), "run"
    else:
        explain_linking, linking_from = dict(load_settings().as_dict()["linking"]), "current settings (the run kept none)"
    members = ws.members(run_id=run_id)
    all_usage = ws.store.usage()  # the store's public interface: the page needs activity windows, which no Workspace table holds
    usage = all_usage
    kinds = {TIME, TEMPLATE} | {str(k) for c in report["clusters"] for k in ((c.get("evidence") or {}).get("shared_identifiers") or {})}
    usage = usage[usage["kind"].isin(kinds)]
    usage = usage[_codes(pd.Index(members["account_id"].astype(str).to_numpy(dtype=object)), usage["account_id"]) >= 0]
    return PageSources(report=report, previous=previous,
                       diff=diff_runs(previous, full) if previous is not None else None,
                       history=history, links=links, links_note=links_note, members=members, usage=usage,
                       templates=ws.templates(), weights={str(k): float(v) for k, v in linking["weights"].items()},
                       default_weight=float(linking.get("default_identifier_weight", 0.5)), store=ws.kind,
                       selection=selection, shown_runs=order[max(0, at - HISTORY_RUNS + 1):at + 1], full_report=full,
                       linking=explain_linking, linking_from=linking_from, all_usage=all_usage)


def _selection_text(full: dict, chosen: dict, min_risk: float, top: int | None, flagged_only: bool) -> str:
    if len(chosen["clusters"]) == len(full["clusters"]):
        return ""
    parts = [f"risk ≥ {min_risk:g}" if min_risk else "", "flagged only" if flagged_only else "", f"top {top}" if top else ""]
    return f"{len(chosen['clusters'])} of {len(full['clusters'])} clusters ({', '.join(p for p in parts if p)})"


def _history(ws: Workspace, earlier: list[str], current: dict) -> list[tuple[dict, dict | None]]:
    """The runs before ``current`` (at most HISTORY_RUNS in all) with each run's diff from the one before it."""
    from graphlinker.analysis.cluster_history import diff_runs

    reports = []
    for run_id in earlier:
        try:
            reports.append(ws.report(run_id))
        except InputError:  # a run record without a kept report: skip it
            continue
    reports.append(current)
    return [(r, diff_runs(reports[i - 1], r) if i > 0 else None) for i, r in enumerate(reports)]


# --- the page data ----------------------------------------------------------------------------------------


@dataclass
class Members:
    """Every member of the page's clusters as one integer, so per-cluster work is numpy slicing, not string matching.

    Members are ordered by cluster (report order), then busiest first: ``rows[starts[k]:starts[k + 1]]`` is
    cluster ``k``'s member list as the page shows it, and ``row`` a member's place in it.
    """

    accounts: pd.Index
    cluster: np.ndarray
    row: np.ndarray
    starts: np.ndarray
    rows: list[list]  # [account, created ISO or None, requests, output tokens, country]
    created_minute: np.ndarray  # minutes since the epoch; -1 when unknown

    @classmethod
    def of(cls, clusters: list[dict], members: pd.DataFrame) -> Members:
        position = {str(c["cluster_id"]): k for k, c in enumerate(clusters)}
        frame = pd.DataFrame({
            "k": members["cluster_id"].astype(str).map(position).to_numpy(),
            "account": members["account_id"].astype(str).to_numpy(dtype=object),
            "requests": members["requests"].fillna(0).astype("int64").to_numpy(),
            "output": members["output_tokens"].fillna(0).astype("int64").to_numpy(),
            "created": pd.to_datetime(members["created_at"], utc=True),
            "country": members["country"].astype(object).to_numpy(),
        }).dropna(subset=["k"])
        frame = frame.sort_values(["k", "requests", "account"], ascending=[True, False, True], kind="stable", ignore_index=True)
        k = frame["k"].to_numpy(dtype=np.int64)
        starts = np.searchsorted(k, np.arange(len(clusters) + 1))
        known = frame["created"].notna().to_numpy()
        created_text = np.where(known, frame["created"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object), None)
        minutes = np.full(len(frame), -1, dtype=np.int64)
        minutes[known] = frame["created"][known].astype("int64").to_numpy() // 60_000_000_000
        rows = [[a, t, int(r), int(o), None if pd.isna(c) else str(c)] for a, t, r, o, c in
                zip(frame["account"].tolist(), created_text.tolist(), frame["requests"].tolist(), frame["output"].tolist(),
                    frame["country"].tolist())]
        return cls(accounts=pd.Index(frame["account"].to_numpy(dtype=object)), cluster=k,
                   row=np.arange(len(frame), dtype=np.int64) - starts[k], starts=starts, rows=rows, created_minute=minutes)

    def codes(self, values: pd.Series) -> np.ndarray:
        """The member number of each account id (-1 for accounts in none of the page's clusters)."""
        return _codes(self.accounts, values)

    def span(self, k: int) -> slice:
        return slice(int(self.starts[k]), int(self.starts[k + 1]))


def _codes(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``index`` (-1 if absent), matching each distinct value once (millions of usage rows)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    found = index.get_indexer(np.asarray(distinct, dtype=object).astype(str).astype(object))
    return np.where(codes >= 0, found[np.maximum(codes, 0)], -1) if len(found) else np.full(len(codes), -1, dtype=np.int64)


def _split(keys: np.ndarray, count: int) -> np.ndarray:
    """Boundaries of each key's run in ``keys`` (sorted), for key 0 .. count-1."""
    return np.searchsorted(keys, np.arange(count + 1))


def page_data(sources: PageSources, focus: str = "clusters") -> tuple[dict, list[dict]]:
    """The overview block and one detail block per cluster (in report order)."""
    report = sources.report
    clusters = report["clusters"]
    changes = _changes_by_cluster(sources.diff)
    signals = _signals(sources)
    members = Members.of(clusters, sources.members)
    links = _links(sources.links, members, signals, sources.weights, sources.default_weight)
    activity = _activity(sources.usage, members, len(clusters))
    idents = _identifier_usage(sources.usage, clusters, members)
    overall = _template_totals(sources.templates)
    histories = _cluster_histories(sources.history)
    why = _Explanations(sources, signals) if sources.links is not None else None
    feature_names = list(dict.fromkeys(name for c in clusters for name in ((c.get("evidence") or {}).get("features") or {})))
    shared_templates: dict[str, dict] = {}  # one entry per template however many clusters name it (exemplars are long)
    rows, details = [], []
    for index, c in enumerate(clusters):
        cid = str(c["cluster_id"])
        evidence = c.get("evidence") or {}
        shared = evidence.get("shared_identifiers") or {}
        templates = evidence.get("templates") or []
        people = members.rows[members.span(index)]
        graph = _drawing(len(people), links[index]) if links is not None else {"mode": "evidence", "nodes": [], "edges": []}
        for t in templates:
            shared_templates.setdefault(str(t["template_id"]), {"tags": [str(x) for x in t.get("extraction_tags") or []],
                                                               "exemplar": t.get("exemplar") or "", **overall.get(str(t["template_id"]), {})})
        rows.append({
            "id": cid, "size": int(c["size"]), "risk": float(c["risk_score"]), "flagged": bool(c["flagged"]),
            "reasons": [r["code"] for r in c["reasons"]], "verdict": _verdict(c.get("verdict")),
            "change": changes.get(cid, []), "accounts": [str(a) for a in c["accounts"]],
            "idents": sorted({str(i["value"]) for items in shared.values() for i in items}),
            "templates": [str(t["template_id"]) for t in templates],
        })
        details.append({
            "id": cid, "index": index, "size": int(c["size"]), "risk": float(c["risk_score"]), "flagged": bool(c["flagged"]),
            "reasons": [{"code": r["code"], "detail": r["detail"], "weight": float(r["weight"])} for r in c["reasons"]],
            "not_flagged": [{"gate": str(g["gate"]), "detail": str(g["detail"])} for g in evidence.get("not_flagged_because") or []],
            "features": [features.get(name) for name in feature_names] if (features := evidence.get("features") or {}) else [],
            "links_by_signal": (evidence.get("links") or {}).get("by_signal") or {},
            "link_count": int((evidence.get("links") or {}).get("edges", 0) or 0),
            "members": people,
            "graph": graph,
            "why": why.cluster(people, [n[0] for n in graph["nodes"]]) if why is not None else None,
            "idgraph": _identifier_drawing(len(people), idents.get(index)),
            "timeline": activity.get(index),
            "created": _creation(members.created_minute[members.span(index)]),
            "identifiers": {k: [{"value": str(i["value"]), "accounts": int(i["accounts"])} for i in v] for k, v in shared.items()},
            "templates": [[str(t["template_id"]), int(t["accounts"]), int(t["requests"])] for t in templates],
            "verdict": c.get("verdict"),
            "history": histories.get(cid, []),
            "volume": {"requests": evidence.get("requests"), "output_tokens": evidence.get("output_tokens")},
        })
    for template_id in sorted(why.templates if why is not None else ()):  # templates only the explanations name
        if template_id not in shared_templates:
            exemplar, tags = why.explainer.template_info.get(template_id, ("", []))
            shared_templates[template_id] = {"tags": tags, "exemplar": exemplar, **overall.get(template_id, {})}
    diff = sources.diff
    overview = {
        "run": {"run_id": report["run_id"], "generated_at": report.get("generated_at"), "summary": report.get("summary", {}),
                "store": sources.store, "selection": sources.selection, "links_note": sources.links_note,
                "history_runs": sources.shown_runs},
        "previous": diff["from_run"] if diff else None,
        "diff": diff,
        "signals": signals,
        "features": feature_names,
        "templates": shared_templates,
        "clusters": rows,
        "focus": focus,
        "limits": {"draw": DRAW_LIMIT, "edges_per_node": EDGES_PER_NODE, "raster": RASTER_MEMBERS, "history": HISTORY_RUNS},
        "explain": {"available": why is not None, "links": EXPLAIN_LINKS, "listed": EXPLAIN_LISTED,
                    "settings_from": sources.linking_from, "clusters": why.clusters if why is not None else 0,
                    "members": why.members if why is not None else 0,
                    "note": "" if why is not None else f"Not explained for run {report['run_id']}: {NO_LINKS}."},
    }
    return overview, details


class _Explanations:
    """Each drawn member's explanation (:class:`~graphlinker.analysis.explain.Explainer`, one per page), compacted.

    Per cluster: a table of the links the explanations name, each once however many members list it or walk it
    to the core: ``[end, end, weight, [signal index, share, ...], shared, partner's cluster]``, an end being a
    member's row or, outside the cluster, an account id (a signal's contribution is its share times the weight).
    Per member row: ``[listed link indices, links in all, links to members, weighted degree inside, path as
    member rows (None: no chain reaches the core), the link index of each hop]``, None for a member not
    explained. ``shared`` is one ``[kind, how many, flat list]`` per kind, the list holding ``value, used by``
    pairs (``template, requests, used by`` for templates; the first window's start and the last one's end in
    minutes since the epoch for ``time`` and ``created``), values and template ids as indices into the
    cluster's ``strings`` (they repeat across links). Identifier values the report's evidence does not name are
    withheld (None) as everywhere on the page; templates' redacted exemplars are kept once, in the overview.
    """

    def __init__(self, sources: PageSources, signals: list[dict]):
        from graphlinker.analysis.explain import Explainer

        usage = sources.all_usage if sources.all_usage is not None else sources.usage
        self.explainer = Explainer(sources.full_report or sources.report, sources.links, usage, sources.templates,
                                   sources.linking)
        self.signal_at = {s["name"]: i for i, s in enumerate(signals)}
        self.named = {(str(kind), str(i["value"])) for c in sources.report["clusters"]
                      for kind, items in ((c.get("evidence") or {}).get("shared_identifiers") or {}).items() for i in items}
        self.templates: set[str] = set()
        self.members = 0  # explained so far (the page's budget: EXPLAIN_BUDGET)
        self.clusters = 0

    def cluster(self, people: list[list], rows: list[int]) -> dict | None:
        """The cluster's explanations for the member ``rows`` (None once the page's budget is spent)."""
        if self.members >= EXPLAIN_BUDGET:
            return None
        self.members += len(rows)
        self.clusters += 1
        row_of = {str(m[0]): r for r, m in enumerate(people)}
        table: list[list] = []
        at: dict[frozenset[str], int] = {}
        strings: dict[str, int] = {}

        def index(a: str, b: str, link: dict) -> int:
            key = frozenset((a, b))
            if key not in at:
                at[key] = len(table)
                table.append([row_of.get(a, a), row_of.get(b, b), round(float(link["weight"]), 3), self._signals(link["signals"]),
                              self._shared(link["shared"], strings), None if b in row_of else link.get("partner_cluster_id")])
            return at[key]

        entries: list[list | None] = [None] * len(people)
        core: dict | None = None
        for r in rows:
            account = str(people[r][0])
            result = self.explainer.explain(account, EXPLAIN_LINKS)
            listed = [index(account, str(x["partner"]), x) for x in result["links"]]
            path, hops = None, []
            if result["path"] is not None:
                path = [row_of[a] for a in result["path"]["accounts"]]
                hops = [index(str(step["from"]), str(step["to"]), step) for step in result["path"]["steps"]]
            entries[r] = [listed, result["links_total"], result["links_in_cluster"], round(result["weighted_degree_in_cluster"], 3),
                          path, hops]
            core = core or result["core"]
        return {"core": row_of[core["account_id"]] if core else None, "core_degree": round(core["weighted_degree"], 3) if core else None,
                "links": table, "members": entries, "explained": len(rows), "strings": list(strings)}

    def _signals(self, signals: list[dict]) -> list:
        return [x for s in signals if s["signal"] in self.signal_at for x in (self.signal_at[s["signal"]], round(s["share"], 3))]

    def _shared(self, shared: dict, strings: dict[str, int]) -> list[list]:
        def at(text: str) -> int:
            return strings.setdefault(str(text), len(strings))

        out: list[list] = []
        for kind, entry in shared.items():
            if "values" in entry:
                flat = [x for v in entry["values"][:EXPLAIN_LISTED]
                        for x in (at(v["value"]) if (kind, v["value"]) in self.named else None, v["used_by"])]
            elif "templates" in entry:
                listed = entry["templates"][:EXPLAIN_LISTED]
                self.templates.update(str(t["template_id"]) for t in listed)
                flat = [x for t in listed for x in (at(t["template_id"]), t["requests"], t["used_by"])]
            else:
                flat = [_minutes(entry["first"]), _minutes(entry["last"])]
            out.append([kind, entry["count"], flat])
        return out


def _minutes(iso: str) -> int:
    """An explanation's window bound (ISO, UTC) as minutes since the epoch."""
    return int(datetime.fromisoformat(iso).timestamp()) // 60


def _verdict(verdict: dict | None) -> dict | None:
    return None if not verdict else {"verdict": verdict.get("verdict"), "effect": verdict.get("effect")}


def _changes_by_cluster(diff: dict | None) -> dict[str, list[dict]]:
    """cluster id -> the diff's entries about that id."""
    out: dict[str, list[dict]] = {}
    if not diff:
        return out
    for e in diff["changes"]:
        out.setdefault(str(e["cluster_id"]), []).append(_change_entry(e))
    return out


def _change_entry(e: dict) -> dict:
    return {"change": e["change"], "size_before": e["size_before"], "size_after": e["size_after"],
            "added": e["accounts_added"], "removed": e["accounts_removed"], "related": e["related"][:10],
            "related_more": max(0, len(e["related"]) - 10), "verdict": e.get("verdict")}


def _signals(sources: PageSources) -> list[dict]:
    """The link signals of the run, each with its colour and link weight."""
    names = [c for c in (sources.links.columns if sources.links is not None else [])
             if c not in ("account_a", "account_b", "weight", "cluster_id")]
    for c in sources.report["clusters"]:
        for name in ((c.get("evidence") or {}).get("links") or {}).get("by_signal") or {}:
            if name not in names:
                names.append(name)
    known = [n for n in SIGNAL_COLOURS if n in names] + sorted(n for n in names if n not in SIGNAL_COLOURS)
    extra = iter(EXTRA_COLOURS * 10)
    return [{"name": n, "colour": SIGNAL_COLOURS.get(n) or next(extra),
             "weight": sources.weights.get(n, sources.default_weight)} for n in known]


@dataclass
class ClusterLinks:
    """One cluster's links as member rows: ends, weight, the signal carrying most of it, per-signal similarities."""

    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    signal: np.ndarray
    similarity: np.ndarray  # links x signals
    names: list[str]


def _links(links: pd.DataFrame | None, members: Members, signals: list[dict], weights: dict[str, float],
           default_weight: float) -> list[ClusterLinks] | None:
    """Each cluster's inside links (None when the store does not keep this run's links)."""
    if links is None:
        return None
    a, b = members.codes(links["account_a"]), members.codes(links["account_b"])
    inside = (a >= 0) & (b >= 0)
    inside[inside] = members.cluster[a[inside]] == members.cluster[b[inside]]
    a, b = a[inside], b[inside]
    names = [s["name"] for s in signals if s["name"] in links.columns]
    similarity = links.loc[inside, names].astype("float64").fillna(0.0).to_numpy() if names else np.zeros((len(a), 0))
    weight = links.loc[inside, "weight"].astype("float64").to_numpy()
    index_of = {s["name"]: i for i, s in enumerate(signals)}
    if names and len(a):
        top = (similarity * np.array([weights.get(n, default_weight) for n in names])).argmax(axis=1)
        signal = np.array([index_of[n] for n in names], dtype=np.int64)[top]
    else:
        signal = np.full(len(a), -1, dtype=np.int64)
    k = members.cluster[a]
    order = np.argsort(k, kind="stable")
    bounds = _split(k[order], len(members.starts) - 1)
    ra, rb = members.row[a][order], members.row[b][order]
    weight, signal, similarity = weight[order], signal[order], similarity[order]
    return [ClusterLinks(ra[s:e], rb[s:e], weight[s:e], signal[s:e], similarity[s:e], names)
            for s, e in zip(bounds[:-1], bounds[1:])]


def _drawing(size: int, links: ClusterLinks) -> dict:
    """Member nodes laid out by their links: the DRAW_LIMIT with most link weight, at most EDGES_PER_NODE links each."""
    strength = np.bincount(links.a, links.weight, minlength=size) + np.bincount(links.b, links.weight, minlength=size)
    if size > DRAW_LIMIT:
        drawn = np.sort(np.argsort(-strength, kind="stable")[:DRAW_LIMIT])
    else:
        drawn = np.arange(size)
    position = np.full(size, -1, dtype=np.int64)
    position[drawn] = np.arange(len(drawn))
    pa, pb = position[links.a], position[links.b]
    between = (pa >= 0) & (pb >= 0)
    pa, pb, w = pa[between], pb[between], links.weight[between]
    keep = _shown_edges(len(drawn), pa, pb, w)
    xy = _layout(len(drawn), pa[keep], pb[keep], w[keep])
    signal, similarity = links.signal[between][keep], links.similarity[between][keep]
    return {
        "mode": "links",
        "nodes": [[int(r), *xy[i]] for i, r in enumerate(drawn)],
        "edges": [[int(x), int(y), round(float(v), 3), int(s)] for x, y, v, s in zip(pa[keep], pb[keep], w[keep], signal)],
        "hidden_nodes": int(size - len(drawn)),
        "total_edges": int(len(links.a)),
        "drawn_edges_all": int(len(pa)),
        "strength": [round(float(strength[r]), 3) for r in drawn],
        "contributions": [{n: round(float(v), 3) for n, v in zip(links.names, row) if v > 0} for row in similarity],
    }


def _shown_edges(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Which links to draw: all when few, else the strongest spanning forest plus the strongest others."""
    keep = np.zeros(len(a), dtype=bool)
    cap = EDGES_PER_NODE * n
    if len(a) <= cap:
        keep[:] = True
        return keep
    import igraph as ig

    graph = ig.Graph(n=n, edges=list(zip(a.tolist(), b.tolist())))
    keep[graph.spanning_tree(weights=(-w).tolist(), return_tree=False)] = True
    rest = np.argsort(-w, kind="stable")
    rest = rest[~keep[rest]][:max(0, cap - int(keep.sum()))]
    keep[rest] = True
    return keep


def _layout(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, width: float = 1000, height: float = 620) -> list[list[float]]:
    """Fruchterman-Reingold coordinates fitted to the drawing box (seeded: the same cluster, the same picture)."""
    if n == 0:
        return []
    if n == 1:
        return [[width / 2, height / 2]]
    import igraph as ig

    graph = ig.Graph(n=n, edges=list(zip(a.tolist(), b.tolist())))
    state = random.getstate()
    random.seed(n * 7919 + len(a))
    try:
        weights = (w / (w.max() or 1.0)).tolist() if len(w) else None
        coords = np.array(graph.layout_fruchterman_reingold(weights=weights, niter=300 if n <= 60 else 150).coords, dtype=np.float64)
    finally:
        random.setstate(state)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    margin = 30.0
    scaled = (coords - low) / span * np.array([width - 2 * margin, height - 2 * margin]) + margin
    return np.round(scaled, 1).tolist()


def _identifier_usage(usage: pd.DataFrame, clusters: list[dict], members: Members) -> dict[int, tuple[np.ndarray, list[tuple[str, str]]]]:
    """Per cluster position: which member rows use each identifier or template its evidence names (and only those)."""
    named = []
    for k, c in enumerate(clusters):
        evidence = c.get("evidence") or {}
        for kind, items in (evidence.get("shared_identifiers") or {}).items():
            named += [(k, str(kind), str(i["value"])) for i in items]
        named += [(k, TEMPLATE, str(t["template_id"])) for t in evidence.get("templates") or []]
    if not named or usage.empty:
        return {}
    wanted = pd.DataFrame(named, columns=["k", "kind", "value"]).astype({"kind": object, "value": object})
    usage = usage[usage["kind"].isin(set(wanted["kind"])) & usage["value"].isin(set(wanted["value"]))]
    rows = pd.DataFrame({"member": members.codes(usage["account_id"]), "kind": usage["kind"].astype(str).to_numpy(dtype=object),
                         "value": usage["value"].astype(str).to_numpy(dtype=object)})
    rows = rows[rows["member"] >= 0]
    rows = rows.assign(k=members.cluster[rows["member"].to_numpy()]).merge(wanted, on=["k", "kind", "value"])
    rows = rows.drop_duplicates(["member", "kind", "value"])
    out = {}
    for k, part in rows.groupby("k", sort=False):
        pairs = list(zip(part["kind"], part["value"]))
        idents = list(dict.fromkeys(pairs))
        at = {p: i for i, p in enumerate(idents)}
        edges = np.array([[members.row[m], at[p]] for m, p in zip(part["member"].tolist(), pairs)], dtype=np.int64)
        out[int(k)] = (edges, idents)
    return out


def _identifier_drawing(size: int, used: tuple[np.ndarray, list[tuple[str, str]]] | None) -> dict:
    """Members and the identifiers/templates they share as a two-sided drawing (the busiest DRAW_LIMIT members)."""
    drawn = min(size, DRAW_LIMIT)
    edges, idents = used if used is not None else (np.zeros((0, 2), dtype=np.int64), [])
    edges = edges[edges[:, 0] < drawn] if len(edges) else edges
    shown = sorted(set(edges[:, 1].tolist())) if len(edges) else []
    renumber = {old: new for new, old in enumerate(shown)}
    b = np.array([drawn + renumber[x] for x in edges[:, 1].tolist()], dtype=np.int64) if len(edges) else np.zeros(0, dtype=np.int64)
    a = edges[:, 0] if len(edges) else np.zeros(0, dtype=np.int64)
    xy = _layout(drawn + len(shown), a, b, np.ones(len(a)))
    return {
        "nodes": [[i, *xy[i]] for i in range(drawn)],
        "idents": [[idents[old][0], idents[old][1], *xy[drawn + new]] for new, old in enumerate(shown)],
        "edges": [[int(x), int(y) - drawn] for x, y in zip(a, b)],
        "hidden_nodes": int(size - drawn),
    }


def _activity(usage: pd.DataFrame, members: Members, count: int) -> dict[int, dict]:
    """Per cluster position: requests and the most members active in one minute per time bin, and a member raster.

    From the usage graph's ``time`` windows: one row per account and active minute, with its request count.
    """
    rows = usage[usage["kind"] == TIME]
    if rows.empty:
        return {}
    member = members.codes(rows["account_id"])
    minute = pd.to_datetime(rows["first_seen"], utc=True).astype("int64").to_numpy() // 60_000_000_000
    requests = rows["count"].astype("int64").to_numpy()
    keep = member >= 0
    member, minute, requests = member[keep], minute[keep], requests[keep]
    k = members.cluster[member]
    order = np.lexsort((minute, k))
    member, minute, requests, k = member[order], minute[order], requests[order], k[order]
    bounds = _split(k, count)
    out = {}
    for position in range(count):
        s, e = int(bounds[position]), int(bounds[position + 1])
        if e > s:
            out[position] = _cluster_activity(members.row[member[s:e]], minute[s:e], requests[s:e])
    return out


def _bins(first: int, last: int, most: int) -> tuple[int, int, int]:
    """A round bin size (minutes) giving at most ``most`` bins over [first, last], the aligned start, the bin count."""
    size = next((b for b in BIN_MINUTES if (last - first + 1) / b <= most), BIN_MINUTES[-1])
    start = first - first % size  # bins on round times (hours, days) where the size allows
    return size, start, (last - start) // size + 1


def _cluster_activity(row: np.ndarray, minute: np.ndarray, requests: np.ndarray) -> dict:
    """``row``/``minute``/``requests``: one entry per member and active minute, sorted by minute."""
    size, start, count = _bins(int(minute[0]), int(minute[-1]), MAX_BINS)
    cell = (minute - start) // size
    per_bin = np.bincount(cell, requests, minlength=count)
    minutes, together = np.unique(minute, return_counts=True)  # members active in each minute
    most = np.zeros(count, dtype=np.int64)
    np.maximum.at(most, (minutes - start) // size, together)
    peak = np.argsort(-together, kind="stable")[:3]
    volume = np.bincount(row, requests)
    busiest = np.lexsort((np.arange(len(volume)), -volume))
    busiest = busiest[volume[busiest] > 0][:RASTER_MEMBERS]
    rank = np.full(len(volume), -1, dtype=np.int64)
    rank[busiest] = np.arange(len(busiest))
    chosen = rank[row] >= 0
    grid = np.bincount(rank[row[chosen]] * count + cell[chosen], requests[chosen], minlength=len(busiest) * count).reshape(len(busiest), count)
    return {
        "start": _minute_text(start),
        "bin_minutes": int(size),
        "bins": int(count),
        "requests": _pairs(per_bin),
        "together": _pairs(most),
        "peaks": [[_minute_text(int(minutes[i])), int(together[i])] for i in peak],
        "raster": [[int(r), _pairs(line)] for r, line in zip(busiest, grid)],
        "raster_hidden": int((volume > 0).sum() - len(busiest)),
        "active_members": int((volume > 0).sum()),
    }


def _pairs(series: np.ndarray) -> list[int]:
    """A sparse series as one flat list ``[bin, value, bin, value, ...]`` of its non-zero bins (a third smaller than pairs)."""
    at = np.flatnonzero(series)
    return np.column_stack([at, series[at]]).astype(np.int64).ravel().tolist()


def _minute_text(minute: int) -> str:
    return pd.Timestamp(minute * 60, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%MZ")


def _creation(minutes: np.ndarray) -> dict | None:
    """Members' account creations per bin across their span, so a creation burst stands out."""
    known = minutes[minutes >= 0]
    if not len(known):
        return None
    size, start, count = _bins(int(known.min()), int(known.max()), 120)
    per_bin = np.bincount((known - start) // size, minlength=count)
    return {"start": _minute_text(start), "bin_minutes": int(size), "bins": int(count),
            "counts": _pairs(per_bin), "missing": int(len(minutes) - len(known))}


def _template_totals(templates: pd.DataFrame) -> dict[str, dict]:
    """template id -> its totals across the store (every sender), for comparison with the cluster's share."""
    if templates.empty:
        return {}
    return {str(t): {"prompts_all": int(p), "accounts_all": int(a)}
            for t, p, a in zip(templates["template_id"], templates["prompt_count"], templates["account_count"])}


def _cluster_histories(history: list[tuple[dict, dict | None]]) -> dict[str, list[dict]]:
    """cluster id -> one row per run it appears in (size, risk, flag) with that run's changes about it."""
    out: dict[str, list[dict]] = {}
    related: dict[str, list[tuple[str, dict]]] = {}
    for report, diff in history:
        run_id = report["run_id"]
        own = _changes_by_cluster(diff)
        for e in (diff or {}).get("changes", []):
            for other in e["related"]:
                related.setdefault(str(other), []).append((run_id, {"change": e["change"], "of": e["cluster_id"]}))
        for c in report["clusters"]:
            cid = str(c["cluster_id"])
            entry = {"run_id": run_id, "size": int(c["size"]), "risk": float(c["risk_score"]), "flagged": bool(c["flagged"]),
                     "changes": own.get(cid, []), "about": [x for r, x in related.get(cid, []) if r == run_id]}
            out.setdefault(cid, []).append(entry)
    return out


# --- the page -----------------------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("graphlinker.report").joinpath(ASSETS, name).read_text(encoding="utf-8")


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON.parse refuses them, and the report's JSON never has them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_block(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the block."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere (a feature of a degenerate cluster): shown as missing
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render_page(overview: dict, details: list[dict]) -> str:
    """The whole page: inline style and script (pinned by hash in the CSP), the data blocks, nothing else."""
    style, script = _asset("page.css"), _asset("page.js")
    if "<script" in script.lower() or "</s" in script.lower() or "</s" in style.lower():  # would end or nest the inline block
        raise AssertionError("page.js/page.css must not contain '<script' or '</s'")
    policy = (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; img-src data:; "
              "font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")
    title = f"graphlinker report {overview['run']['run_id']}"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{html.escape(policy, quote=False)}\">\n",
        "<meta name=\"referrer\" content=\"no-referrer\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n",
        "<noscript>This report draws itself with its inline script; allow JavaScript for this file.</noscript>\n",
        "<div id=\"app\"></div>\n",
        f"<script type=\"application/json\" id=\"gl-overview\">{_json_block(overview)}</script>\n",
    ]
    parts += [f"<script type=\"application/json\" id=\"gl-c{d['index']}\">{_json_block(d)}</script>\n" for d in details]
    parts += [f"<script>{script}</script>\n</body>\n</html>\n"]
    return "".join(parts)


def write_html(ws: Workspace, output: Path | str, run_id: str | None = None, *, against: str | None = None,
               compare: bool = True, focus: str = "clusters", min_risk: float = 0.0, top: int | None = None,
               flagged_only: bool = False) -> dict:
    """Write the page for ``run_id`` to ``output`` whole or not at all; returns what it wrote (clusters, bytes)."""
    from graphlinker.report.render import _output_failed

    sources = gather(ws, run_id, against=against, compare=compare, min_risk=min_risk, top=top, flagged_only=flagged_only)
    overview, details = page_data(sources, focus)
    text = render_page(overview, details)
    output = Path(output)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    except OSError as exc:
        _output_failed(exc, output)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(output), "run_id": overview["run"]["run_id"], "clusters": len(details),
            "bytes": len(text.encode("utf-8")), "compared_with": overview["previous"]}
