"""``graphlinker train``: fit a scoring model to the analysts' verdicts (and, optionally, simulated truth).

The model (what is fitted and why: :mod:`graphlinker.analysis.scoring_model`) is JSON, written to
``-o FILE`` or stdout; what it learnt — each reason's coefficient, the counts, the line to add to the
settings — goes to stderr, as a run's summary does.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from graphlinker.cli.common import ConfigOption, StoreOption, WorkspaceOption, _is_local, check_format
from graphlinker.cli.console import err
from graphlinker.cli.errors import handle_errors
from graphlinker.errors import InputError, NoRunYet
from graphlinker.report.render import output_stream
from graphlinker.settings import Settings


@handle_errors
def train(
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False, metavar="MODEL",
                                       help="Write the model (JSON) to MODEL, whole or not at all; default: stdout."),
    truth: Path | None = typer.Option(None, "--from-truth", metavar="TRUTH.csv", dir_okay=False,
                                      help="Also label every cluster of the run by a simulator's truth.csv (graphlinker "
                                           "simulate): mostly one planted operation is positive, anything else negative. "
                                           "An analyst's verdict on a cluster wins over it."),
    run_id: str | None = typer.Option(None, "--run", help="The run whose clusters --from-truth labels (default: the latest)."),
    threshold: float | None = typer.Option(None, "--threshold", metavar="T",
                                           help="Also let the model withdraw the rule's flag from clusters it scores below "
                                                "T (0 < T < 1). Default: flags stay the hand-set rule's and the verdicts'."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    config: Path | None = ConfigOption,
) -> None:
    """Fit a scoring model to analysts' verdicts: confirmed clusters are positive, benign negative, unsure left out.

    A logistic regression on each cluster's reason strengths, as judged (its features in the run the
    verdict was given on), with no coefficient below 0. Runs score with it once the settings name it
    (\\[scoring] model = "MODEL"): its probability becomes the risk score and each reason's weight its
    contribution; which clusters are flagged stays the hand-set rule's (see --threshold).
    Needs scikit-learn (pip install 'graphlinker\\[learn]').
    """
    from graphlinker.api import Workspace
    from graphlinker.store import open_store

    check_format("json", ("json",), output)
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise InputError(f"--threshold must be a probability strictly between 0 and 1, got {threshold}")
    if truth is not None and not truth.is_file():
        raise InputError(f"--from-truth {truth}: no such file")
    settings = Settings.load(config)
    if _is_local(store) and not workspace.exists():
        raise NoRunYet(f"no run yet in {workspace}; run `graphlinker run EXPORT_DIR` and give verdicts "
                       "(`graphlinker verdict CLUSTER_ID confirmed|benign`) first")
    with Workspace(workspace, store=open_store(store, workspace)) as ws:
        model = ws.train(truth=truth, run_id=run_id, settings=settings, threshold=threshold)
    with output_stream(output) as stream:
        stream.write(json.dumps(model, indent=2) + "\n")
    _summary(model, output)


def _summary(model: dict, output: Path | None) -> None:
    """What the model learnt, on stderr: counts, each reason's coefficient, and how to use it."""
    training = model["training"]
    verdicts = training.get("verdicts", {})
    parts = [f"{verdicts.get('confirmed', 0)} confirmed and {verdicts.get('benign', 0)} benign verdict(s)"]
    if verdicts.get("unsure"):
        parts.append(f"{verdicts['unsure']} unsure left out")
    if verdicts.get("skipped"):
        parts.append(f"{verdicts['skipped']} skipped (their run is no longer kept)")
    if "truth" in training:
        truth = training["truth"]
        parts.append(f"{truth['positive']} positive and {truth['negative']} negative cluster(s) from truth")
    err.print(f"trained on {training['clusters']} clusters: " + ", ".join(parts), highlight=False, soft_wrap=True)
    if training["positive"] + training["negative"] < 20 or min(training["positive"], training["negative"]) < 5:
        err.print(f"[yellow]warning:[/] few labelled clusters ({training['positive']} positive, {training['negative']} negative): "
                  "coefficients resting on so few say little; give more verdicts, confirmed and benign",
                  highlight=False, soft_wrap=True)
    flags = ("flags: the hand-set rule's" if model["threshold"] is None
             else f"flags: the hand-set rule's, withdrawn below {model['threshold']:g}")
    table = Table(title="Scoring model (logistic regression on reason strengths)",
                  caption=f"risk = σ({model['intercept']:+.3f} + Σ coefficient × strength); {flags}")
    table.add_column("reason")
    table.add_column("coefficient", justify="right")
    for code, value in sorted(model["coefficients"].items(), key=lambda item: -item[1]):
        dropped = " (was negative: 0)" if code in training.get("dropped", []) else ""
        table.add_row(code, f"{value:.3f}{dropped}")
    err.print(table)
    in_sample = model["in_sample"]
    above = "" if in_sample["above_threshold"] is None else f", {in_sample['above_threshold']} at or above the threshold"
    err.print(f"on the training clusters themselves (optimistic): average precision {in_sample['average_precision']:.3f}{above}",
              highlight=False, soft_wrap=True)
    where = json.dumps(str(output.resolve())) if output is not None else '"MODEL"'
    wrote = f"wrote {output}; " if output is not None else "saved as MODEL, "
    err.print(escape(f"{wrote}runs score with it once the settings say: [scoring] model = {where}"), highlight=False, soft_wrap=True)
