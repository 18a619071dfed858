"""A columnar copy of a Neo4j store's usage graph, so analysis does not read every relationship back through Bolt.

Neo4j stays the source of truth. Reading the whole usage graph back for every run cost ~126 s at
1M request rows (issue 14), for tables the writing process had in memory a moment before. So the
Neo4j store keeps the graph it holds as :class:`GraphTables` in memory while it writes, and after
each published run saves them as Parquet in a local directory (:class:`Mirror`), tagged with a
random token that the run's node carries too and with the database's node and relationship counts.
A later process trusts the copy only when the latest published run carries the same token and the
database's counts are unchanged — a run published from another machine, an interrupted writer or an
edit of the usage graph by hand breaks one or the other — and otherwise reads the graph from Neo4j
(and the next publish saves a fresh copy).

The tables hold exactly what reading Neo4j returns (times at millisecond precision, only active
accounts, only accounts with requests in the totals); ``tests/test_neo4j_mirror.py`` compares the
two after runs and refreshes.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from graphlinker.kinds import TEMPLATE
from graphlinker.store.merge import GraphRows
from graphlinker.templates.table import sort_templates

TABLES = ("accounts", "stats", "usage", "templates")
MANIFEST = "manifest.json"
_USAGE_KEY = ["account_id", "kind", "value"]


@dataclass(frozen=True)
class GraphTables:
    """The whole usage graph a Neo4j database holds, as the store's read methods return it."""

    accounts: pd.DataFrame
    stats: pd.DataFrame
    usage: pd.DataFrame
    templates: pd.DataFrame

    def touched(self, accounts: pd.DataFrame, usage: pd.DataFrame, stats: pd.DataFrame, templates: pd.DataFrame) -> GraphRows:
        """The stored rows a delta touches — what the Neo4j store would otherwise read with ``READ_*_OF``."""
        ids = pd.Index(pd.concat([accounts["account_id"], usage["account_id"], stats["account_id"]]).astype(str).unique())
        keys = pd.MultiIndex.from_frame(usage[_USAGE_KEY].astype(str))
        stored_keys = pd.MultiIndex.from_frame(self.usage[_USAGE_KEY].astype(str))
        template_ids = pd.Index(pd.concat([templates["template_id"].astype(str),
                                           usage.loc[usage["kind"] == TEMPLATE, "value"].astype(str)]).unique())
        sent = self.usage[self.usage["kind"] == TEMPLATE]
        return GraphRows(
            accounts=self.accounts[self.accounts["account_id"].isin(ids)].reset_index(drop=True),
            stats=self.stats[self.stats["account_id"].isin(ids)].reset_index(drop=True),
            usage=self.usage[stored_keys.isin(keys)].reset_index(drop=True),
            templates=self.templates[self.templates["template_id"].isin(template_ids)].reset_index(drop=True),
            template_usage=sent[sent["value"].isin(template_ids)].reset_index(drop=True),
        )

    def upsert(self, accounts: pd.DataFrame, stats: pd.DataFrame, usage: pd.DataFrame, templates: pd.DataFrame) -> GraphTables:
        """The tables after writing these rows (new values of their keys; the frames already in stored form)."""
        return replace(
            self,
            accounts=_replace_rows(self.accounts, accounts, ["account_id"]),
            stats=_replace_rows(self.stats, stats, ["account_id"]).query("requests > 0").reset_index(drop=True),
            usage=_replace_rows(self.usage, usage, _USAGE_KEY),
            templates=sort_templates(_replace_rows(self.templates, templates, ["template_id"])),
        )


def _replace_rows(old: pd.DataFrame, new: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """``old`` with the rows of ``new`` in place of those with the same key, sorted by the key as reads are."""
    if old.empty:
        combined = new
    elif new.empty:
        combined = old
    else:
        kept = ~pd.MultiIndex.from_frame(old[key].astype(str)).isin(pd.MultiIndex.from_frame(new[key].astype(str)))
        combined = pd.concat([old[kept], new.reindex(columns=old.columns)], ignore_index=True)
    return combined.sort_values(key, ignore_index=True)


class Mirror:
    """Parquet copies of :class:`GraphTables` in one directory, each under the token of the run that published it."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def load(self, token: str | None, counts: dict) -> GraphTables | None:
        """The tables saved under ``token`` with these database ``counts``; None when they are not exactly those."""
        if not token:
            return None
        try:
            manifest = json.loads((self.directory / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("token") != token or manifest.get("counts") != counts:
            return None
        folder = self.directory / token
        try:
            frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
        except (OSError, ValueError):
            return None
        return GraphTables(**frames)

    def save(self, tables: GraphTables, token: str, counts: dict) -> None:
        """Write the tables under ``token``, then point the manifest at them, then drop older copies.

        A process that dies part-way leaves the previous manifest (whose token no longer matches
        the latest run) or a complete new copy: never a manifest naming half-written files.
        """
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = self.directory / token
        folder.mkdir(exist_ok=True, mode=0o700)
        for name in TABLES:
            getattr(tables, name).to_parquet(folder / f"{name}.parquet", index=False)
        staged = self.directory / f".{MANIFEST}.{uuid.uuid4().hex}"
        staged.write_text(json.dumps({"token": token, "counts": counts}))
        os.replace(staged, self.directory / MANIFEST)
        for old in self.directory.iterdir():
            if old.is_dir() and old.name != token:
                shutil.rmtree(old, ignore_errors=True)

    def clear(self) -> None:
        """Forget the copy (the next process reads Neo4j)."""
        (self.directory / MANIFEST).unlink(missing_ok=True)

    def remove(self) -> None:
        """Delete the copy and its directory: for a database that no longer exists."""
        shutil.rmtree(self.directory, ignore_errors=True)
