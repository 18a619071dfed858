"""The stored template table: one row per template, shared by both stores.

Columns (see the README's graph model; Neo4j holds the same as
``(:PromptTemplate)`` properties):

``template_id``      stable id (:mod:`~graphlinker.templates.fingerprint`)
``exemplar``         redacted exemplar ("" when withheld)
``extraction_tags``  ``;``-joined tag names (:mod:`~graphlinker.templates.tags`)
``prompt_count``     prompts sent with the template, all time
``account_count``    accounts that sent it
``first_seen``, ``last_seen``  first and last prompt (UTC)
``signature``        the MinHash signature of the template's representative text
                     (an int64 array; empty under exact grouping), kept so a later
                     refresh groups new prompts into the same templates

No column holds raw prompt text.  Account counts and first/last seen are derived
from the ``template`` rows of the usage table, so they are recomputed whenever the
usage graph is merged; prompt counts, tags, exemplars and signatures come from
:class:`~graphlinker.templates.TemplateIndex` and merge as it does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.kinds import TEMPLATE

TIME_DTYPE = "datetime64[ns, UTC]"
TEMPLATE_COLUMNS = [
    "template_id", "exemplar", "extraction_tags", "prompt_count", "account_count", "first_seen", "last_seen", "signature",
]


def empty_templates() -> pd.DataFrame:
    """A template table with no rows and the stored dtypes."""
    return conform(pd.DataFrame({"template_id": pd.Series(dtype="string")}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Add missing columns with neutral values and order them (tables from older workspaces lack some)."""
    frame = frame.copy()
    defaults = {
        "exemplar": "", "extraction_tags": "", "prompt_count": 0, "account_count": 0,
        "first_seen": pd.NaT, "last_seen": pd.NaT,
    }
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = value
    if "signature" not in frame:
        frame["signature"] = [[] for _ in range(len(frame))]
    frame["template_id"] = frame["template_id"].astype("string")
    frame["exemplar"] = frame["exemplar"].fillna("").astype("string")
    frame["extraction_tags"] = frame["extraction_tags"].fillna("").astype("string")
    frame["prompt_count"] = frame["prompt_count"].fillna(0).astype("int64")
    frame["account_count"] = frame["account_count"].fillna(0).astype("int64")
    for column in ("first_seen", "last_seen"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(TIME_DTYPE)
    frame["signature"] = [_as_signature(s) for s in frame["signature"]]
    return frame[TEMPLATE_COLUMNS]


_NO_SIGNATURE = np.empty(0, dtype=np.int64)


def _as_signature(signature) -> np.ndarray:
    """An int64 array (no copy when it is one already): per-element Python ints cost seconds per 100k templates."""
    if signature is None or (isinstance(signature, float) and np.isnan(signature)):
        return _NO_SIGNATURE
    return np.asarray(signature, dtype=np.int64)


def merge_templates(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Prompt counts add, tags are the union, the first non-empty exemplar and signature are kept.

    That is what :class:`~graphlinker.templates.TemplateIndex` does within one
    ingest, so ingesting in two parts merges to the table of one ingest.
    Usage-derived columns are left for :func:`with_usage` to recompute.
    """
    both = pd.concat([conform(old), conform(new)], ignore_index=True)
    grouped = both.groupby("template_id", sort=False)
    exemplar = both["exemplar"].where(both["exemplar"] != "")
    signature = pd.Series([s if len(s) else None for s in both["signature"]], index=both.index, dtype=object)
    tagged = both[both["extraction_tags"] != ""]
    tags = pd.DataFrame({"template_id": tagged["template_id"], "tag": tagged["extraction_tags"].str.split(";")}).explode("tag")
    tags = tags[tags["tag"] != ""].drop_duplicates().sort_values(["template_id", "tag"])
    merged = pd.DataFrame(
        {
            "exemplar": exemplar.groupby(both["template_id"], sort=False).first(),
            "extraction_tags": tags.groupby("template_id")["tag"].agg(";".join),
            "prompt_count": grouped["prompt_count"].sum(),
            "signature": signature.groupby(both["template_id"], sort=False).first(),
        }
    )
    merged.index.name = "template_id"
    return sort_templates(conform(merged.reset_index()))


def with_usage(templates: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    """Set ``account_count``, ``first_seen`` and ``last_seen`` from the ``template`` rows of ``usage``."""
    templates = conform(templates)
    sent = usage[usage["kind"] == TEMPLATE]
    per_template = sent.groupby("value", sort=False).agg(
        account_count=("account_id", "nunique"), first_seen=("first_seen", "min"), last_seen=("last_seen", "max")
    )
    keyed = templates.set_index("template_id")
    keyed["account_count"] = per_template["account_count"].reindex(keyed.index).fillna(0).astype("int64")
    keyed["first_seen"] = per_template["first_seen"].reindex(keyed.index)
    keyed["last_seen"] = per_template["last_seen"].reindex(keyed.index)
    return sort_templates(conform(keyed.reset_index()))


def sort_templates(templates: pd.DataFrame) -> pd.DataFrame:
    """Largest first: by prompt count (descending), then template id."""
    return templates.sort_values(["prompt_count", "template_id"], ascending=[False, True], kind="mergesort", ignore_index=True)
