"""Diagnostic: would a "systematic coverage of a task space" reason tell the missed operations from look-alikes?

Issue 10 names systematic coverage among the behaviours a flag could rest on: an operation that harvests a task
space sends each item of it (a problem, a passage, a borderline request in each framing) rather than what a
person happens to ask. This measures three readings of it per cluster of three or more accounts, offline on
finished runs — it is not part of the pipeline:

* ``novelty``: distinct prompts over requests (an operation that walks a space seldom repeats a prompt);
* ``fills_per_template``: the median member's distinct prompts per distinct template (one template filled
  with many items);
* ``cross_overlap``: of the requests on templates that two or more members send, the share whose exact prompt
  another member sent too (members walking one grid between them).

Prompts are grouped into templates with the shipped settings (as ``graphlinker run`` groups them) and compared
by a hash of the raw text, held in memory only. The truth file is read only to name each cluster's majority
(an operation, a look-alike kind, ``benign``, or ``mixed`` when none is more than half).

    python bench/bench_coverage.py WORK_DIR [--scale 1] [--csv FILE]

``WORK_DIR`` is a ``bench_detection.py --work`` directory: one folder per scenario, each with ``requests.csv``,
``truth.csv`` and the ``report-*.json`` of its run (the newest is read).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

MEASURES = ["novelty", "fills_per_template", "cross_overlap"]


def coverage_rows(requests: pd.DataFrame, clusters: list[dict], truth: pd.DataFrame, min_size: int = 3) -> pd.DataFrame:
    """One row per cluster of ``min_size`` or more: its majority, size and the three measures.

    ``requests``: ``account_id``, ``template`` and ``digest`` (a hash of the raw prompt) per request.
    """
    label = truth.assign(kind=truth["op_id"].str.replace(r"^lookalike-|^op-|-\d+$", "", regex=True))
    kind_of = dict(zip(label["account_id"], label["kind"]))
    rows = []
    for cluster in clusters:
        if cluster["size"] < min_size:
            continue
        sent = requests[requests["account_id"].isin(set(cluster["accounts"]))]
        if sent.empty:
            continue
        kinds = pd.Series([kind_of.get(a, "benign") for a in cluster["accounts"]]).value_counts()
        per_member = sent.groupby("account_id").agg(prompts=("digest", "nunique"), templates=("template", "nunique"))
        senders = sent.groupby("template")["account_id"].nunique()
        on_shared = sent[sent["template"].isin(senders.index[senders >= 2])]
        senders_of_prompt = on_shared.groupby("digest")["account_id"].nunique()
        rows.append({
            "cluster_id": cluster["cluster_id"],
            "kind": kinds.index[0] if 2 * kinds.iloc[0] > cluster["size"] else "mixed",
            "size": cluster["size"],
            "flagged": bool(cluster["flagged"]),
            "novelty": sent["digest"].nunique() / len(sent),
            "fills_per_template": float((per_member["prompts"] / per_member["templates"]).median()),
            "cross_overlap": float((on_shared["digest"].map(senders_of_prompt) >= 2).mean()) if len(on_shared) else np.nan,
        })
    return pd.DataFrame(rows)


def scenario_rows(folder: Path) -> pd.DataFrame:
    """:func:`coverage_rows` of one ``bench_detection.py`` scenario folder and its newest report."""
    import graphlinker as gl
    from graphlinker.templates import TemplateIndex, grouper_from_settings

    reports = sorted(folder.glob("report-*.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        return pd.DataFrame()
    saved = json.loads(reports[-1].read_text())
    report = saved.get("report", saved)
    requests = pd.read_csv(folder / "requests.csv", usecols=["account_id", "prompt"], dtype=str, keep_default_na=False)
    index = TemplateIndex(grouper=grouper_from_settings(gl.load_settings().templates))
    requests["template"] = index.assign(requests["prompt"])["template_id"].to_numpy()
    requests["digest"] = pd.util.hash_pandas_object(requests["prompt"], index=False).to_numpy()
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    return coverage_rows(requests.drop(columns="prompt"), report["clusters"], truth).assign(scenario=folder.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="a bench_detection.py --work directory")
    parser.add_argument("--scale", default="1", help="scenarios of this scale only (folder name part x<scale>; default 1)")
    parser.add_argument("--csv", type=Path, help="also write every cluster's row here")
    args = parser.parse_args()
    folders = sorted(p for p in args.work.iterdir() if p.is_dir() and f"-x{args.scale}-" in p.name)
    if not folders:
        parser.error(f"no scenario folder of scale {args.scale} under {args.work}")
    table = pd.concat([scenario_rows(folder) for folder in folders], ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False)
    summary = table.groupby("kind").agg(clusters=("size", "size"), size=("size", "median"),
                                       **{m: (m, "median") for m in MEASURES})
    pd.set_option("display.width", 200)
    print(f"medians over clusters of >= 3 accounts, {len(folders)} scenarios of scale {args.scale} under {args.work}")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
