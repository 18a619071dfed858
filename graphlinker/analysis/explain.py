"""Why is this account in its cluster? Its strongest links, what they share, and its chain of links to the core.

A pure function of a run's data: the JSON report, the run's links, the usage graph, the templates and the
run's ``[linking]`` settings. The CLI (``graphlinker explain``), the API (``Workspace.explain``) and a report
page all call it with what they hold; :func:`explain_inputs` gathers those inputs from a workspace once.

* **Per-signal contributions.** A link's weight is ``Σ_signal weight(signal) × similarity(signal)``
  (:mod:`graphlinker.analysis.linking`, with the run's ``[linking.weights]``; ``default_identifier_weight``
  for a kind not listed there). A signal's *contribution* is its term of that sum and its *share* the
  contribution over the link's weight, so a link's shares add up to 1.
* **Shared identifiers** are the values of every linking kind both accounts used, named as the JSON report
  names them (payment fingerprints, IPs, subnets, devices …), each with ``used_by``, how many accounts used it
  at all (a carrier NAT's IP is weak evidence); templates by id with their redacted exemplar and tags; shared
  one-minute activity windows and creation windows as a count and a time span. Behaviour kinds (model, hour,
  client) never link accounts and are left out. The usage graph is the store's as it is now, so for an earlier
  run it may hold rows loaded since.
* **The core** of a cluster is its member with the highest weighted degree inside the cluster (the sum of the
  weights of its links to other members; ties go to the smaller account id).
* **The evidence path** from the account to the core is the cheapest chain of links inside the cluster when a
  link costs ``1 / weight`` (Dijkstra). Strong links are cheap, a weak one dear, and every hop costs something,
  so a direct strong link beats a detour; ``-log(weight / max)`` would make the strongest links free and let
  the path wander through many of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphlinker.errors import InputError
from graphlinker.kinds import CREATED, FEATURE_KINDS, TEMPLATE, TIME

if TYPE_CHECKING:  # numpy and pandas are imported where an explanation is built: `graphlinker --help` needs TOP_LINKS only
    import numpy as np
    import pandas as pd

    from graphlinker.api import Workspace

TOP_LINKS = 10  # links listed per account unless asked otherwise
LISTED = 5  # values listed per kind of a link (the count says how many there are)
KIND_ORDER = ("payment", "device", "ip", "subnet")  # then other identifier kinds by name, then template, time, created
NOT_SIGNALS = frozenset({"account_a", "account_b", "weight", "cluster_id"})
PATH_COST = "1/weight"
NO_LINKS = ("explaining needs the run's links, and this store keeps only the latest run's (Neo4j replaces a run's "
            "links with the next run's); explain the latest run, or an earlier one from an embedded workspace")


@dataclass(frozen=True)
class ExplainInputs:
    """What :func:`explain_account` reads, gathered once (a report page explains many accounts from one)."""

    report: dict
    links: pd.DataFrame = field(repr=False)
    usage: pd.DataFrame = field(repr=False)
    templates: pd.DataFrame = field(repr=False)
    linking: dict
    accounts: frozenset[str] = field(default_factory=frozenset, repr=False)
    settings_from: str = "run"


def explain_inputs(ws: Workspace, run_id: str | None = None) -> ExplainInputs:
    """The report, links, usage, templates and ``[linking]`` settings of the latest run (or ``run_id``) of ``ws``.

    Raises InputError when the store does not keep that run's links (Neo4j keeps the latest run's only).
    """
    from graphlinker.api import load_settings

    report = ws.report(run_id)
    try:
        links = ws.links(run_id=report["run_id"])
    except InputError:
        raise InputError(f"cannot explain run {report['run_id']}: {NO_LINKS}") from None
    store = ws.store
    record = next((r for r in store.runs() if r.get("run_id") == report["run_id"]), None)
    params = (record or {}).get("params") or {}
    settings_from = "run"
    if "linking" not in params:  # a run record without its settings: the settings in force now
        params, settings_from = load_settings().as_dict(), "current settings (the run kept none)"
    templates = ws.templates()
    return ExplainInputs(report, links, store.usage(), templates, dict(params["linking"]),
                         frozenset(store.accounts()["account_id"].astype(str)), settings_from)


def explain_account(report: dict, links: pd.DataFrame, usage: pd.DataFrame, templates: pd.DataFrame, account_id: str, *,
                    linking: dict, top_links: int = TOP_LINKS, accounts: Iterable[str] = ()) -> dict:
    """Why ``account_id`` is in its cluster of ``report`` (or that it is in none), as a JSON-ready dict.

    ``links``: the run's links (``account_a, account_b, weight`` and one similarity per signal, as
    ``Workspace.links`` gives them); ``usage``: usage rows (``account_id, kind, value, count``), at least those
    of the account, its partners and its cluster (``used_by`` counts the accounts of these rows, so pass them all for
    counts over the whole graph); ``templates``: ``template_id, exemplar, extraction_tags``;
    ``linking``: the run's ``[linking]`` settings table (its run record's ``params["linking"]``); ``accounts``:
    ids the store knows beyond those in the usage rows. Raises InputError for an account none of them holds.
    """
    return Explainer(report, links, usage, templates, linking, accounts).explain(account_id, top_links)


def explain(inputs: ExplainInputs, account_id: str, top_links: int = TOP_LINKS) -> dict:
    """:func:`explain_account` on gathered inputs (``settings_from`` says whose ``[linking]`` weights were used)."""
    result = explain_account(inputs.report, inputs.links, inputs.usage, inputs.templates, account_id,
                             linking=inputs.linking, top_links=top_links, accounts=inputs.accounts)
    return {**result, "settings_from": inputs.settings_from}


def signal_weight(linking: dict, signal: str) -> float:
    """A signal's link weight as linking applies it: ``[linking.weights]``, else ``default_identifier_weight``."""
    return float((linking.get("weights") or {}).get(signal, linking.get("default_identifier_weight", 0.0)))


class Explainer:
    """Explanations of many accounts of one run: the inputs indexed once, each account explained on demand."""

    def __init__(self, report: dict, links: pd.DataFrame, usage: pd.DataFrame, templates: pd.DataFrame, linking: dict,
                 accounts: Iterable[str] = ()):
        import numpy as np
        import pandas as pd
        self.report = report
        self.linking = linking
        self.cluster_of = {str(a): c for c in report["clusters"] for a in c["accounts"]}
        self.signals = sorted(c for c in links.columns if c not in NOT_SIGNALS)
        self.weights = {s: signal_weight(linking, s) for s in self.signals}
        links = links.reset_index(drop=True)
        self.left = links["account_a"].astype(str).to_numpy(dtype=object)
        self.right = links["account_b"].astype(str).to_numpy(dtype=object)
        self.weight = links["weight"].to_numpy("float64")
        self.similarity = links.reindex(columns=self.signals).astype("float64").fillna(0.0).to_numpy()
        rows = np.arange(len(links))
        ends, end_rows = np.concatenate([self.left, self.right]), np.concatenate([rows, rows])  # each link seen from both ends
        self.links_of = {str(a): end_rows[p] for a, p in pd.Series(ends).groupby(ends).indices.items()}  # account -> link rows
        usage = usage[~usage["kind"].isin(FEATURE_KINDS)]
        self.u_account = usage["account_id"].astype(str).to_numpy(dtype=object)
        self.u_kind = usage["kind"].astype(str).to_numpy(dtype=object)
        self.u_value = usage["value"].astype(str).to_numpy(dtype=object)
        self.u_count = usage["count"].to_numpy("int64")
        self.usage_of = {str(a): p for a, p in pd.Series(self.u_account).groupby(self.u_account).indices.items()}
        self.known = set(self.usage_of) | set(self.links_of) | set(self.cluster_of) | {str(a) for a in accounts}
        info = templates.reindex(columns=["template_id", "exemplar", "extraction_tags"])
        self.template_info = {str(t): (_text(e), _tags(x)) for t, e, x in
                              zip(info["template_id"], info["exemplar"], info["extraction_tags"])}
        self._uses: dict[str, dict[str, dict[str, int]]] = {}
        self._users: dict[str, dict[str, int]] = {}
        self._trees: dict[str, _CoreTree] = {}

    # --- one account ----------------------------------------------------------------------------
    def explain(self, account_id: str, top_links: int = TOP_LINKS) -> dict:
        import numpy as np
        account = str(account_id)
        if account not in self.known:
            raise InputError(f"unknown account {account!r}: the store holds no such account "
                             f"(run {self.report['run_id']}; `graphlinker report` lists the clustered ones)")
        cluster = self.cluster_of.get(account)
        members = set(cluster["accounts"]) if cluster else set()
        rows = self.links_of.get(account, np.zeros(0, np.int64))
        weights = self.weight[rows]
        partners = np.where(self.left[rows] == account, self.right[rows], self.left[rows])
        inside = np.array([p in members for p in partners], dtype=bool)
        order = np.lexsort((partners, -weights, ~inside))  # members first, strongest first, then by id
        chosen = order[: max(0, int(top_links))]
        listed = [self._link(account, str(partners[i]), int(rows[i])) for i in chosen]
        result: dict[str, Any] = {
            "account_id": account,
            "run_id": self.report["run_id"],
            "cluster": _cluster_entry(cluster, account) if cluster else None,
            "message": _message(account, cluster, self.report["run_id"], len(partners)),
            "links_total": int(len(partners)),
            "links_in_cluster": int(inside.sum()),
            "weighted_degree_in_cluster": round(float(weights[inside].sum()), 6),
            "signal_weights": {s: self.weights[s] for s in self.signals},
            "links": listed,
            "core": None,
            "path": None,
            "method": {"share": "contribution / weight, contribution = signal weight x similarity",
                       "core": "the member with the highest weighted degree inside the cluster (ties: smaller id)",
                       "path_cost": PATH_COST},
        }
        if cluster:
            core, path = self._path(account, cluster)
            result["core"], result["path"] = core, path
        return result

    # --- a link and what its two accounts share ----------------------------------------------
    def _link(self, account: str, partner: str, row: int) -> dict:
        weight = float(self.weight[row])
        signals = []
        for signal, similarity in zip(self.signals, self.similarity[row].tolist()):
            if similarity <= 0.0:
                continue
            contribution = self.weights[signal] * similarity
            signals.append({"signal": signal, "similarity": round(similarity, 6), "signal_weight": self.weights[signal],
                            "contribution": round(contribution, 6), "share": round(contribution / weight, 6) if weight else 0.0})
        signals.sort(key=lambda s: (-s["contribution"], s["signal"]))
        cluster = self.cluster_of.get(partner)
        return {
            "partner": partner,
            "same_cluster": cluster is not None and cluster is self.cluster_of.get(account),
            "partner_cluster_id": cluster["cluster_id"] if cluster else None,
            "weight": round(weight, 6),
            "top_signal": signals[0]["signal"] if signals else None,
            "signals": signals,
            "shared": self._shared(account, partner),
        }

    def _shared(self, a: str, b: str) -> dict:
        """What both accounts used, per linking kind (see the module docstring)."""
        uses_a, uses_b = self._uses_of(a), self._uses_of(b)
        shared: dict[str, dict] = {}
        for kind in _ordered(set(uses_a) & set(uses_b)):
            mine, theirs = uses_a[kind], uses_b[kind]
            both = mine.keys() & theirs.keys()
            if not both:
                continue
            if kind in (TIME, CREATED):
                key, default = ("time_window_seconds", 60) if kind == TIME else ("created_window_seconds", 3600)  # the shipped defaults
                seconds = int(self.linking.get(key, default))
                windows = [int(v) for v in both]
                shared[kind] = {"count": len(both), "first": _window_time(min(windows), seconds),
                                "last": _window_time(max(windows) + 1, seconds)}
                continue
            top = sorted(both, key=lambda v: (-(mine[v] + theirs[v]), v))[:LISTED]
            users = self._used_by(kind)
            if kind == TEMPLATE:
                shared[kind] = {"count": len(both), "templates": [
                    {"template_id": t, "requests": mine[t] + theirs[t], "used_by": users.get(t, 0),
                     "extraction_tags": self.template_info.get(t, ("", []))[1],
                     "exemplar": self.template_info.get(t, ("", []))[0]} for t in top]}
            else:
                shared[kind] = {"count": len(both), "values": [{"value": v, "used_by": users.get(v, 0)} for v in top]}
        return shared

    def _uses_of(self, account: str) -> dict[str, dict[str, int]]:
        """kind -> value -> how often ``account`` used it (its usage rows, summed)."""
        if account not in self._uses:
            uses: dict[str, dict[str, int]] = {}
            for i in self.usage_of.get(account, ()):
                values = uses.setdefault(self.u_kind[i], {})
                values[self.u_value[i]] = values.get(self.u_value[i], 0) + int(self.u_count[i])
            self._uses[account] = uses
        return self._uses[account]

    def _used_by(self, kind: str) -> dict[str, int]:
        """How many accounts used each value of ``kind``."""
        import pandas as pd
        if kind not in self._users:
            mask = self.u_kind == kind
            pairs = pd.DataFrame({"account": self.u_account[mask], "value": self.u_value[mask]}).drop_duplicates()
            self._users[kind] = {str(v): int(n) for v, n in pairs["value"].value_counts().items()}
        return self._users[kind]

    # --- the core and the path to it -----------------------------------------------------------
    def _path(self, account: str, cluster: dict) -> tuple[dict, dict | None]:
        """The cluster's core and the cheapest chain of links from ``account`` to it (None: no chain inside)."""
        tree = self._tree(cluster)
        members, core = tree.members, tree.core
        core_entry = {"account_id": members[core], "weighted_degree": round(float(tree.degree[core]), 6),
                      "is_this_account": members[core] == account}
        if members[core] == account:
            return core_entry, {"cost": PATH_COST, "accounts": [account], "steps": [], "total_cost": 0.0, "weakest_weight": None}
        chain = [members.index(account)]
        while chain[-1] != core:
            step = int(tree.predecessors[chain[-1]])
            if step < 0:
                return core_entry, None  # no chain of links inside the cluster reaches the core
            chain.append(step)
        steps = []
        for left, right in zip(chain, chain[1:]):
            row = tree.row_of[(left, right)] if (left, right) in tree.row_of else tree.row_of[(right, left)]
            steps.append({"from": members[left], "to": members[right],
                          **{k: v for k, v in self._link(members[left], members[right], row).items()
                             if k not in ("partner", "same_cluster", "partner_cluster_id")}})
        return core_entry, {"cost": PATH_COST, "accounts": [members[i] for i in chain], "steps": steps,
                            "total_cost": round(float(tree.distance[chain[0]]), 6),
                            "weakest_weight": min(s["weight"] for s in steps)}

    def _tree(self, cluster: dict) -> _CoreTree:
        """The cluster's core and every member's cheapest chain to it: one Dijkstra per cluster, kept for its members."""
        import numpy as np
        key = str(cluster["cluster_id"])
        if key in self._trees:
            return self._trees[key]
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        from graphlinker.arrays import distinct

        members = sorted(str(a) for a in cluster["accounts"])
        index = {m: i for i, m in enumerate(members)}
        rows = distinct(np.concatenate([self.links_of.get(m, np.zeros(0, np.int64)) for m in members]))
        a = np.array([index.get(x, -1) for x in self.left[rows]], dtype=np.int64)
        b = np.array([index.get(x, -1) for x in self.right[rows]], dtype=np.int64)
        inside = (a >= 0) & (b >= 0)
        a, b, weight = a[inside], b[inside], self.weight[rows][inside]
        degree = np.bincount(a, weights=weight, minlength=len(members)) + np.bincount(b, weights=weight, minlength=len(members))
        core = min(range(len(members)), key=lambda i: (-degree[i], members[i]))
        graph = coo_matrix((1.0 / weight, (a, b)), shape=(len(members), len(members))).tocsr()
        distance, predecessors = dijkstra(graph, directed=False, indices=core, return_predecessors=True)
        tree = _CoreTree(members, core, degree, distance, predecessors,
                         dict(zip(zip(a.tolist(), b.tolist()), rows[inside].tolist())))
        self._trees[key] = tree
        return tree


@dataclass(frozen=True)
class _CoreTree:
    """A cluster's members (sorted), its core's position, weighted degrees and the shortest-path tree rooted at the core."""

    members: list[str]
    core: int
    degree: np.ndarray
    distance: np.ndarray
    predecessors: np.ndarray
    row_of: dict[tuple[int, int], int]  # (member, member) positions -> the link's row


def _cluster_entry(cluster: dict, account: str) -> dict:
    """The cluster as the report has it, and its verdict with whether this account joined since it was given."""
    entry = {"cluster_id": cluster["cluster_id"], "size": int(cluster["size"]), "risk_score": float(cluster["risk_score"]),
             "flagged": bool(cluster["flagged"]), "reason_codes": [r["code"] for r in cluster.get("reasons", [])],
             "not_flagged_because": [g["gate"] for g in (cluster.get("evidence") or {}).get("not_flagged_because") or []]}
    verdict = cluster.get("verdict")
    entry["verdict"] = {**{k: verdict.get(k) for k in ("verdict", "effect", "by", "at", "note", "why")},
                        "joined_since": account in (verdict.get("new_members") or [])} if verdict else None
    return entry


def _message(account: str, cluster: dict | None, run_id: str, links: int) -> str:
    if cluster is None:
        held = f"its {links} link(s) did not hold it in a group of two or more" if links else "it has no link to another account"
        return f"{account} is in no cluster of run {run_id}: {held}"
    flag = "flagged" if cluster["flagged"] else "not flagged"
    return (f"{account} is in cluster {cluster['cluster_id']} of run {run_id} ({cluster['size']} accounts, "
            f"risk {float(cluster['risk_score']):.3f}, {flag})")


def _ordered(kinds: Iterable[str]) -> list[str]:
    present = set(kinds)
    tail = [k for k in (TEMPLATE, TIME, CREATED) if k in present]
    head = [k for k in KIND_ORDER if k in present]
    return head + sorted(present - set(head) - set(tail)) + tail


def _window_time(window: int, seconds: int) -> str:
    import pandas as pd
    return str(pd.Timestamp(int(window) * seconds, unit="s", tz="UTC").isoformat()).replace("+00:00", "Z")


def _text(value: Any) -> str:
    import pandas as pd
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _tags(value: Any) -> list[str]:
    import numpy as np
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(t) for t in value if str(t)]
    return [t for t in _text(value).split(";") if t]
