"""The Python API: open a store, run or refresh, and read the results as DataFrames.

For notebooks and scripts; the CLI does the same through the same pipeline and store::

    import graphlinker as gl

    with gl.open_workspace("demo-workspace") as ws:      # the embedded store (a directory)
        result = ws.run("fixtures/demo")                  # ingest, link, detect, score, publish
        ws.clusters(flagged_only=True)                    # pandas DataFrames ...
        ws.subgraph(ws.clusters()["cluster_id"][0])       # ... and a networkx graph

``gl.open_neo4j()`` opens a Neo4j database instead (``NEO4J_URI`` … or the server
``graphlinker neo4j start`` runs, as the CLI finds it). Every table method takes
``arrow=True`` for a :class:`pyarrow.Table`. Reads come from the store's published runs,
so they see exactly what ``graphlinker report`` sees; ``run_id=`` reads an earlier run.
Failures raise the CLI's errors (:class:`~graphlinker.errors.GraphlinkerError`: ``NoRunYet``,
``InputError``, ``StoreUnavailable``, ``LockHeld``, ``NothingNew`` …). Nothing here returns a
raw prompt: the stores hold only redacted exemplars.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphlinker.errors import InputError, NoRunYet, StoreUnavailable
from graphlinker.settings import Settings
from graphlinker.settings.environment import value as env_value
from graphlinker.store.base import Store

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import pyarrow as pa

PathLike = str | os.PathLike
SettingsLike = Settings | PathLike | None
WORKSPACE_ENV = "GRAPHLINKER_WORKSPACE"
DEFAULT_WORKSPACE = ".graphlinker"
NETWORKX_HINT = "subgraph() needs networkx: pip install 'graphlinker[networkx]'"

__all__ = ["Workspace", "RunResult", "open_workspace", "open_neo4j", "load_settings"]


def load_settings(path: PathLike | None = None) -> Settings:
    """The settings a run uses: the packaged defaults overlaid by the TOML file ``path``
    (else by ``$GRAPHLINKER_CONFIG``), validated; a bad key raises ConfigError naming it."""
    return Settings.load(Path(path) if path is not None else None)


@dataclass(frozen=True)
class RunResult:
    """What :meth:`Workspace.run` and :meth:`Workspace.refresh` published.

    ``report`` is the JSON report (``graphlinker run --format json``); ``diff`` what changed since
    the run before (``graphlinker diff --format json``); ``quarantined`` bad rows per
    ``(kind, reason)``, written under ``quarantine_dir`` when there is one; ``warnings`` the
    notes the CLI prints on stderr (empty files, stripped ids, duplicates), also issued with
    :func:`warnings.warn`.
    """

    run_id: str
    report: dict = field(repr=False)
    diff: dict = field(repr=False)
    new_rows: int
    skipped_files: int = 0
    quarantined: dict = field(default_factory=dict)
    quarantine_dir: Path | None = None
    warnings: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        """Counts of the run: accounts, clusters, flagged clusters and accounts, hubs, quarantined rows."""
        return dict(self.report.get("summary", {}))


class Workspace:
    """A store of usage graphs and published runs, read as pandas DataFrames.

    ``Workspace(path)`` (or :func:`open_workspace`) opens the embedded store in the directory ``path``
    (created if missing; default ``$GRAPHLINKER_WORKSPACE``, else ``./.graphlinker``, as the CLI's
    ``--workspace``). :func:`open_neo4j` opens a Neo4j database. ``Workspace(path, store=...)`` wraps any
    :class:`~graphlinker.store.base.Store`, with ``path`` only the home of quarantine files.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: PathLike | None = None, *, store: Store | None = None):
        if store is None:
            from graphlinker.store.local import LocalStore

            path = Path(path) if path is not None else default_workspace()
            store = LocalStore(path)
        self.path: Path | None = Path(path) if path is not None else None
        self.store: Store = store
        self._closed = False

    @property
    def kind(self) -> str:
        """``local`` (the embedded workspace) or ``neo4j``."""
        from graphlinker.store.local import LocalStore

        return "local" if isinstance(self.store, LocalStore) else "neo4j"

    def __repr__(self) -> str:
        where = getattr(self.store, "uri", None) if self.kind == "neo4j" else self.path
        return f"<graphlinker.Workspace {self.kind} {where}{' (closed)' if self._closed else ''}>"

    def close(self) -> None:
        """Release the store's connections (Neo4j's driver); reading afterwards raises StoreUnavailable."""
        if not self._closed:
            self._closed = True
            self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_store(self) -> Store:
        if self._closed:
            raise StoreUnavailable(f"{self!r} is closed; open it again")
        return self.store

    # --- writing: run and refresh -----------------------------------------------------------
    def run(self, export_dir: PathLike, *, settings: SettingsLike = None, strict: bool = False, wait: float = 0.0,
            progress: bool = False, quarantine_dir: PathLike | None = None, engine: str | None = None,
            master: str | None = None) -> RunResult:
        """Rebuild the graph from one export directory, link, detect, score and publish a run (``graphlinker run``).

        ``settings``: a :class:`Settings` (see :func:`load_settings`) or a TOML file; default the packaged
        defaults (and ``$GRAPHLINKER_CONFIG``). ``strict``: a bad row raises InputError instead of being
        quarantined. ``wait``: seconds to wait for another writer's lock (else LockHeld). ``progress``: bars on
        stderr. Bad rows go under ``quarantine_dir``, default ``WORKSPACE/quarantine/<id>/`` (a Neo4j workspace
        opened without ``workspace=`` only counts them). ``engine``: ``"embedded"`` or ``"spark"`` (``--engine``;
        default ``[engine] name``), ``master``: the Spark master (``--master``).
        """
        from graphlinker.pipeline import run as run_pipeline

        return self._publish(run_pipeline, Path(export_dir), settings, strict, wait, progress, quarantine_dir, refresh=False,
                             engine=engine, master=master)

    def refresh(self, paths: PathLike | Iterable[PathLike], *, settings: SettingsLike = None, strict: bool = False,
                wait: float = 0.0, progress: bool = False, quarantine_dir: PathLike | None = None, engine: str | None = None,
                master: str | None = None) -> RunResult:
        """Load only the files and rows the store has not seen, re-detect and publish (``graphlinker refresh``).

        ``paths``: export directories and/or single input files. Raises NothingNew when every file or row
        was loaded before (nothing is written then). Other arguments as for :meth:`run`.
        """
        from graphlinker.pipeline import refresh as refresh_pipeline

        items = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
        return self._publish(refresh_pipeline, items, settings, strict, wait, progress, quarantine_dir, refresh=True,
                             engine=engine, master=master)

    def _publish(self, stage: Callable[..., Any], target: Path | list[Path], settings: SettingsLike, strict: bool, wait: float,
                 progress: bool, quarantine_dir: PathLike | None, refresh: bool, engine: str | None = None,
                 master: str | None = None) -> RunResult:
        from graphlinker.ingest.readers import Quarantine
        from graphlinker.pipeline import Progress, SilentProgress, new_run_id

        store = self._open_store()
        from graphlinker.engine import with_engine

        chosen = with_engine(settings if isinstance(settings, Settings) else load_settings(settings), engine, master)
        if quarantine_dir is not None:
            directory: Path | None = Path(quarantine_dir)
        elif self.path is not None:
            directory = self.path / "quarantine" / new_run_id(datetime.now(UTC))
        else:
            directory = None
        quarantine = Quarantine(directory, strict=strict)
        if progress:
            from graphlinker.cli.common import RichProgress

            shown: Progress = RichProgress(True)
        else:
            shown = SilentProgress()
        outcome = stage(target, store, chosen, quarantine, shown, wait)
        notes = list(quarantine.notes(loaded_rows=outcome.new_rows, refresh=refresh))
        if outcome.quarantine:
            reasons = ", ".join(f"{kind}/{reason} {n}" for (kind, reason), n in sorted(outcome.quarantine.items()))
            where = f"; see {directory}" if directory is not None else ""
            notes.insert(0, f"quarantined {sum(outcome.quarantine.values())} bad rows ({reasons}){where}")
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)
        return RunResult(run_id=outcome.report["run_id"], report=outcome.report, diff=outcome.diff, new_rows=outcome.new_rows,
                         skipped_files=outcome.skipped_files, quarantined=dict(outcome.quarantine),
                         quarantine_dir=directory if outcome.quarantine else None, warnings=tuple(notes),
                         timings=dict(outcome.timings))

    # --- reading: reports --------------------------------------------------------------------
    def report(self, run_id: str | None = None) -> dict:
        """The JSON report of the latest run (or of ``run_id``): what ``graphlinker report --format json`` prints.

        Raises NoRunYet when the store has no run, InputError for an unknown ``run_id``.
        """
        from graphlinker.analysis.verdicts import show_verdicts

        store = self._open_store()
        if run_id is None:
            latest = store.latest_report()
            if latest is None:
                raise NoRunYet("no run yet in this store; call Workspace.run(EXPORT_DIR) "
                               "(or `graphlinker run EXPORT_DIR`) first")
            return show_verdicts(latest, store.verdicts())
        found = store.report_of(run_id)
        if found is None:
            raise InputError(f"unknown run {run_id!r}; Workspace.runs() lists them")
        return show_verdicts(found, store.verdicts())

    def report_html(self, path: PathLike, run_id: str | None = None, *, against: str | None = None) -> Path:
        """Write the report of the latest run (or ``run_id``) as one self-contained HTML page (``graphlinker report --format html``).

        The page opens offline; it compares the run with ``against`` (default: the run before it) and draws each
        cluster's links, reasons, activity, shared identifiers, templates and history (:mod:`graphlinker.report.html`).
        Written whole or not at all; returns ``path``. NoRunYet / InputError as :meth:`report`.
        """
        from graphlinker.report.html import write_html

        write_html(self, Path(path), run_id, against=against)
        return Path(path)

    # --- analysts' verdicts --------------------------------------------------------------------
    def verdict(self, cluster_id: str, verdict: str, *, note: str | None = None, by: str | None = None,
                run_id: str | None = None) -> dict:
        """Keep an analyst's verdict on a cluster of the latest run (or of ``run_id``): ``graphlinker verdict``.

        ``verdict``: ``confirmed``, ``benign`` or ``unsure``; ``by`` defaults to the login name. Later runs
        apply it as :mod:`graphlinker.analysis.verdicts` documents. Returns the record kept.
        """
        from graphlinker.analysis.verdicts import new_verdict

        cluster = self.cluster(cluster_id, run_id)  # InputError for an unknown cluster or run
        record = new_verdict(cluster, self.report(run_id)["run_id"], verdict, note=note, by=by or _login())
        self._open_store().add_verdict(record)
        return record

    def verdicts(self, *, history: bool = False, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Each cluster's current verdict (``history=True``: every verdict ever given), newest first.

        Columns: ``cluster_id, verdict, by, at, note, run_id`` (the run judged), ``size`` and ``members`` (the
        cluster as judged), ``reason_codes``.
        """
        from graphlinker.analysis.verdicts import verdicts_frame

        return _table(verdicts_frame(self._open_store().verdicts(), history=history), arrow, None)

    def train(self, output: PathLike | None = None, *, truth: PathLike | None = None, run_id: str | None = None,
              settings: SettingsLike = None, threshold: float | None = None) -> dict:
        """Fit a scoring model to the analysts' verdicts (``graphlinker train``); returns the model, written to ``output``.

        Each cluster's current verdict counts on the cluster as judged (confirmed positive, benign negative,
        unsure left out); ``truth`` (a simulator's truth.csv) also labels every cluster of the latest run (or of
        ``run_id``), a verdict winning over it. ``settings`` gives the ramps; with a ``threshold`` the model also
        withdraws flags from clusters it scores below it. Name the file in ``[scoring] model`` for runs to score
        with it (:mod:`graphlinker.analysis.scoring_model` says what is fitted and why). InputError without both
        a positive and a negative cluster; ConfigError when scikit-learn (``graphlinker[learn]``) is missing.
        """
        from graphlinker.analysis import scoring_model
        from graphlinker.analysis.verdicts import verdicts_frame

        def kept_report(judged_run: str) -> dict | None:  # None when the store no longer keeps that run
            try:
                return self.report(judged_run)
            except InputError:
                return None

        chosen = settings if isinstance(settings, Settings) else load_settings(settings)
        judged = verdicts_frame(self._open_store().verdicts())
        examples = scoring_model.from_verdicts(judged, kept_report)
        sources: dict[str, Any] = {"verdicts": examples.counts}
        if truth is not None:
            simulated = scoring_model.from_truth(self.report(run_id), Path(truth), exclude=set(judged["cluster_id"].astype(str)))
            sources["truth"] = simulated.counts
            examples = scoring_model.combine(examples, simulated)
        model = scoring_model.fit_model(examples, chosen, threshold=threshold, sources=sources)
        if output is not None:
            scoring_model.save_model(model, output)
        return model

    def cluster(self, cluster_id: str, run_id: str | None = None) -> dict:
        """One cluster of the report as a dict: scores, members, reasons and evidence (InputError if absent)."""
        report = self.report(run_id)
        for entry in report["clusters"]:
            if entry["cluster_id"] == cluster_id:
                found: dict = entry
                return found
        raise InputError(f"no cluster {cluster_id!r} in run {report['run_id']}; Workspace.clusters() lists them")

    def clusters(self, run_id: str | None = None, *, min_risk: float = 0.0, top: int | None = None,
                 flagged_only: bool = False, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """One row per cluster of two or more accounts, most risky first (``graphlinker report``).

        Columns: ``cluster_id, size, risk_score, flagged, reason_codes`` (list), ``requests, output_tokens``
        (members' totals), ``links`` (links inside it), ``accounts`` (sorted ids, a list), ``verdict`` (an
        analyst's, else <NA>). ``min_risk``,
        ``top`` and ``flagged_only`` filter as the CLI's options do.
        """
        from graphlinker.report.render import clusters_frame, select_clusters

        report = self.report(run_id)
        return _table(clusters_frame(select_clusters(report, min_risk, top, flagged_only)), arrow, report["run_id"])

    def members(self, cluster_id: str | None = None, *, run_id: str | None = None, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """One row per (cluster, member account), for every cluster or ``cluster_id``.

        Columns: ``cluster_id, account_id`` and the account's attributes and totals as the store holds them now
        (``created_at, email_domain, country, org_id, requests, input_tokens, output_tokens``; <NA> if unknown).
        """
        import pandas as pd

        report = self.report(run_id)
        chosen = [self.cluster(cluster_id, report["run_id"])] if cluster_id is not None else report["clusters"]
        pairs = pd.DataFrame([(c["cluster_id"], a) for c in chosen for a in c["accounts"]], columns=["cluster_id", "account_id"])
        store = self._open_store()
        accounts = store.accounts().reindex(columns=["account_id", "created_at", "email_domain", "country", "org_id"])
        stats = store.stats().reindex(columns=["account_id", "requests", "input_tokens", "output_tokens"])
        frame = pairs.astype("string")
        for extra in (accounts, stats):
            frame = frame.merge(extra.astype({"account_id": "string"}), on="account_id", how="left")
        frame = frame.astype({"email_domain": "string", "country": "string", "org_id": "string", "requests": "Int64",
                              "input_tokens": "Int64", "output_tokens": "Int64"})
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return _table(frame, arrow, report["run_id"])

    def links(self, cluster_id: str | None = None, *, run_id: str | None = None, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """The account links of the run (or only those inside ``cluster_id``): one row per linked pair.

        Columns: ``account_a, account_b, weight``, one similarity in [0, 1] per signal (``created, device, ip,
        payment, subnet, template, time`` …) and ``cluster_id`` (the cluster holding both ends, else <NA>).
        Neo4j keeps the links of the latest run only (InputError for an earlier ``run_id``) and stores the
        similarities rounded to 6 places.
        """
        import pandas as pd

        report = self.report(run_id)
        edges = self._open_store().run_links(report["run_id"])
        if edges is None:
            raise InputError(f"the links of run {report['run_id']} are not kept in this store "
                             "(Neo4j keeps the latest run's only)")
        signals = sorted(c for c in edges.columns if c not in ("account_a", "account_b", "weight"))
        edges = edges.reindex(columns=["account_a", "account_b", "weight", *signals]).astype(
            {"account_a": "string", "account_b": "string", **{c: "float64" for c in ["weight", *signals]}})
        cluster_of = pd.Series({a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}, dtype="string")
        ends = edges["account_a"].map(cluster_of), edges["account_b"].map(cluster_of)
        edges["cluster_id"] = ends[0].where(ends[0] == ends[1]).astype("string")
        if cluster_id is not None:
            self.cluster(cluster_id, report["run_id"])  # InputError for an unknown cluster
            edges = edges[edges["cluster_id"] == cluster_id]
        edges = edges.sort_values(["account_a", "account_b"], ignore_index=True)
        return _table(edges, arrow, report["run_id"])

    def evidence(self, cluster_id: str | None = None, *, run_id: str | None = None, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Why each cluster (or ``cluster_id``) scored as it did and what ties it, one row per item.

        Columns ``cluster_id, section, kind, value, number, accounts, requests, extraction_tags, detail``;
        ``section`` is ``reason``, ``feature``, ``volume``, ``links``, ``identifier`` (shared cards, IPs,
        subnets, devices), ``template`` (shared templates, redacted exemplar in ``detail``), ``created`` or
        ``not_flagged`` (each condition of the flag rule an unflagged cluster does not meet, and why).
        See :func:`graphlinker.report.render.evidence_frame` for what each column holds per section.
        """
        from graphlinker.report.render import evidence_frame

        report = self.report(run_id)
        if cluster_id is not None:
            self.cluster(cluster_id, report["run_id"])
        return _table(evidence_frame(report, cluster_id), arrow, report["run_id"])

    def templates(self, *, top: int | None = None, tag: str | None = None, min_accounts: int = 1,
                  accounts: bool = False, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """Prompt templates the store holds, largest first (``graphlinker templates``); empty before any run.

        Columns: ``template_id, prompt_count, account_count, first_seen, last_seen, extraction_tags`` (list),
        ``exemplar`` (redacted; empty when redaction would have left the prompt); ``accounts=True`` adds
        ``accounts``, the sorted ids of every account that sent it. ``top``, ``tag`` and ``min_accounts``
        filter as the CLI's options do.
        """
        from graphlinker.report.templates import accounts_per_template, select_templates, templates_frame

        store = self._open_store()
        chosen = select_templates(store.templates(), top, tag, min_accounts)
        senders = accounts_per_template(store.template_usage(), chosen["template_id"]) if accounts else None
        return _table(templates_frame(chosen, senders), arrow)

    def runs(self, *, arrow: bool = False) -> pd.DataFrame | pa.Table:
        """The run history, oldest first (``graphlinker runs``): when, which command and inputs, counts, outcome.

        Columns: ``run_id, command, started_at, finished_at, duration_s, outcome, inputs`` (file names, a list),
        ``input_files, new_rows`` and the run's counts (``accounts, clusters, flagged_clusters`` …).
        """
        from graphlinker.report.render import runs_frame

        return _table(runs_frame(self._open_store().runs()), arrow)

    def explain(self, account_id: str, run_id: str | None = None, *, links: int = 10) -> dict:
        """Why ``account_id`` is in its cluster of the latest run (or ``run_id``): ``graphlinker explain --format json``.

        Its cluster (None when it is in none), its ``links`` strongest links (to other members first) with each
        signal's contribution and share of the weight and what the two accounts share, the cluster's core and the
        cheapest chain of links to it; :mod:`graphlinker.analysis.explain` documents each. InputError for an
        unknown account, and for an earlier run on Neo4j (which keeps the latest run's links only).
        """
        from graphlinker.analysis.explain import explain, explain_inputs

        return explain(explain_inputs(self, run_id), account_id, links)

    def subgraph(self, cluster_id: str, *, run_id: str | None = None) -> nx.Graph:
        """One cluster as an undirected :class:`networkx.Graph`: its members and the links between them.

        Nodes are account ids with the attributes of :meth:`members` (times as ISO text, missing ones left
        out); edges carry ``weight`` and one similarity per signal; the graph's attributes are the cluster's
        ``cluster_id, run_id, size, risk_score, flagged, reason_codes``. Needs networkx
        (``pip install 'graphlinker[networkx]'``).
        """
        try:
            import networkx as nx
        except ImportError:
            raise ImportError(NETWORKX_HINT) from None
        import pandas as pd

        report = self.report(run_id)
        entry = self.cluster(cluster_id, report["run_id"])
        graph = nx.Graph(cluster_id=entry["cluster_id"], run_id=report["run_id"], size=int(entry["size"]),
                         risk_score=float(entry["risk_score"]), flagged=bool(entry["flagged"]),
                         reason_codes=[r["code"] for r in entry["reasons"]])
        for row in self.members(cluster_id, run_id=report["run_id"]).to_dict("records"):
            graph.add_node(row.pop("account_id"), **{k: _plain(v) for k, v in row.items() if k != "cluster_id" and not _missing(v)})
        links = self.links(cluster_id, run_id=report["run_id"])
        attributes = [c for c in links.columns if c not in ("account_a", "account_b", "cluster_id")]
        for row in links.itertuples(index=False):
            values = row._asdict()
            graph.add_edge(values["account_a"], values["account_b"],
                           **{k: float(values[k]) for k in attributes if not pd.isna(values[k])})
        return graph


def default_workspace() -> Path:
    """``$GRAPHLINKER_WORKSPACE``, else ``./.graphlinker``: the CLI's ``--workspace`` default."""
    return Path(env_value(WORKSPACE_ENV) or DEFAULT_WORKSPACE)


def open_workspace(path: PathLike | None = None) -> Workspace:
    """Open the embedded store in the directory ``path`` (created if missing; default as the CLI's ``--workspace``)."""
    return Workspace(path)


def open_neo4j(uri: str | None = None, user: str | None = None, password: str | None = None, database: str | None = None,
               *, home: PathLike | None = None, workspace: PathLike | None = None, bulk: str = "auto") -> Workspace:
    """Open a Neo4j database as a :class:`Workspace` (raises StoreUnavailable when it cannot be reached).

    With no ``uri``, the connection comes from ``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD`` and
    ``NEO4J_DATABASE``, else from the server ``graphlinker neo4j start`` runs (in ``home``, default
    ``$GRAPHLINKER_NEO4J_HOME`` or the per-user data directory), exactly as the CLI's ``--store neo4j``.
    With a ``uri``, ``user``, ``password`` and ``database`` default to those variables (``neo4j``/``neo4j``
    database). ``workspace``: a directory for quarantined rows of :meth:`Workspace.run` (default: none,
    bad rows are only counted). ``bulk`` (the managed server only, as ``graphlinker run --bulk``): how
    :meth:`Workspace.run` writes the graph — ``auto`` (neo4j-admin's importer when the database is empty
    and the graph large), ``on`` (always; the server restarts) or ``off`` (batched MERGE).
    """
    from graphlinker.devserver.server import DEFAULT_DATABASE, DEFAULT_USER, connection_settings, default_home
    from graphlinker.store.neo4j import Neo4jStore

    if uri is None:
        settings = connection_settings(home)
        overrides = {"user": user, "password": password, "database": database}
        settings.update({k: v for k, v in overrides.items() if v is not None})
        if not env_value("NEO4J_URI"):  # the managed server: a bulk import may stop and start it
            settings["home"] = str(default_home(home))
    else:
        settings = {
            "uri": uri,
            "user": user if user is not None else env_value("NEO4J_USER") or DEFAULT_USER,
            "password": password if password is not None else env_value("NEO4J_PASSWORD") or "",
            "database": database if database is not None else env_value("NEO4J_DATABASE") or DEFAULT_DATABASE,
        }
    return Workspace(workspace, store=Neo4jStore({**settings, "bulk": bulk}))


def _table(frame: pd.DataFrame, arrow: bool, run_id: str | None = None) -> pd.DataFrame | pa.Table:
    """``frame`` (its run in ``frame.attrs['run_id']``), or as an Arrow table with ``graphlinker.run_id`` metadata."""
    if run_id is not None:
        frame.attrs["run_id"] = run_id
    if not arrow:
        return frame
    from graphlinker.report.render import to_arrow

    return to_arrow(frame, {"run_id": run_id} if run_id is not None else None)


def _missing(value: object) -> bool:
    import pandas as pd

    return not isinstance(value, (list, tuple)) and bool(pd.isna(value))


def _plain(value: Any) -> Any:
    """A node attribute as plain Python: ISO text for times, int/float/str for numpy and pandas scalars."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _login() -> str | None:
    """Who gives a verdict when ``by`` is not named: the login name, if the system knows one."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
