"""``graphlinker explain ACCOUNT``: why an account is in its cluster, as a table or the API's JSON.

What is computed (contributions, shared identifiers, the core, the path's cost) is
:mod:`graphlinker.analysis.explain`'s; this module only parses options and draws the tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graphlinker.analysis.explain import TOP_LINKS
from graphlinker.cli.common import StoreOption, WorkspaceOption, _is_local, check_format
from graphlinker.cli.console import err
from graphlinker.cli.errors import handle_errors
from graphlinker.errors import NoRunYet
from graphlinker.report.render import output_console, output_stream

EXPLAIN_FORMATS = ("table", "json")
EXEMPLAR_WIDTH = 72  # columns of a table cell for a redacted exemplar (JSON has it whole)
WITHHELD = "(withheld: redaction would leave the prompt)"  # the store keeps no exemplar for such a template


@handle_errors
def explain(
    account_id: str = typer.Argument(..., metavar="ACCOUNT", help="The account's id as the export names it."),
    run_id: str | None = typer.Option(None, "--run", help="Explain the account in this run (default: the latest). "
                                      "Neo4j keeps the latest run's links only: earlier runs need the embedded store."),
    fmt: str = typer.Option("table", "--format", "-f", help="table (for people) or json (the dict Workspace.explain returns)."),
    links: int = typer.Option(TOP_LINKS, "--links", min=1, help="How many of the account's strongest links to list (members first)."),
    workspace: Path = WorkspaceOption,
    store: str | None = StoreOption,
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False, metavar="FILE",
                                       help="Write the output to FILE (whole or not at all) instead of stdout."),
) -> None:
    """Why is this account in its cluster? Its strongest links with each signal's share, what they share, and its path to the core.

    A link's weight is the sum over signals of signal weight x similarity; a signal's share is its term over that sum.

    Shared payment methods, IPs, subnets, devices and templates (redacted exemplars) come from the usage graph.

    The core is the member with the highest weighted degree; the path is the cheapest chain of links to it at 1/weight a link.

    An account in no cluster is said so (exit 0), with its strongest links; an unknown account exits 2.
    """
    check_format(fmt, EXPLAIN_FORMATS, output)
    from graphlinker.api import Workspace
    from graphlinker.store import open_store

    if _is_local(store) and not workspace.exists():
        raise NoRunYet(f"no run yet in {workspace}; run `graphlinker run EXPORT_DIR` first")
    with Workspace(workspace, store=open_store(store, workspace)) as ws:
        result = ws.explain(account_id, run_id, links=links)
    if fmt == "json":
        with output_stream(output) as stream:
            stream.write(json.dumps(result, indent=2) + "\n")
    else:
        with output_console(output) as console:
            render_explanation(result, console)
    if output is not None:
        err.print(f"wrote {output}")


def render_explanation(result: dict, console: Console) -> None:
    """The explanation as rich tables: the cluster, the strongest links, shared templates, the path to the core."""
    console.print(escape(result["message"]), highlight=False)
    cluster = result["cluster"]
    if cluster:
        verdict = cluster.get("verdict")
        joined = ", and this account joined since" if verdict and verdict["joined_since"] else ""
        judged = f"; verdict: {verdict['verdict']} ({verdict['effect']}{joined})" if verdict else ""
        console.print(f"reasons: {escape(', '.join(cluster['reason_codes']) or 'none')}{escape(judged)}", highlight=False)
        if cluster.get("not_flagged_because"):
            console.print(f"not flagged because: {escape(', '.join(cluster['not_flagged_because']))}", highlight=False)
        console.print(f"{result['links_total']} link(s), {result['links_in_cluster']} to members of its cluster; "
                      f"weighted degree inside it {result['weighted_degree_in_cluster']:.3f}", highlight=False)
    elif result["links_total"]:
        console.print(f"{result['links_total']} link(s)", highlight=False)
    if result["links"]:
        console.print(_links_table(result))
        templates = _templates_table(result["links"])
        if templates.row_count:
            console.print(templates)
    path = result["path"]
    core = result["core"]
    if core is None:
        return
    if core["is_this_account"]:
        console.print(f"{escape(result['account_id'])} is its cluster's core (weighted degree {core['weighted_degree']:.3f}).",
                      highlight=False)
    elif path is None:
        console.print(f"no chain of links inside the cluster reaches its core {escape(core['account_id'])}", highlight=False)
    else:
        console.print(_path_table(result))


def _links_table(result: dict) -> Table:
    shown = len(result["links"])
    title = f"Strongest links ({shown} of {result['links_total']}{', members first' if result['cluster'] else ''})"
    table = Table(title=title, caption="contribution = signal weight x similarity; share = contribution / link weight")
    for column in ("partner", "cluster", "weight", "signals: contribution (share)", "shared"):
        table.add_column(column, overflow="fold")
    for link in result["links"]:
        where = "member" if link["same_cluster"] else (link["partner_cluster_id"] or "none")
        table.add_row(escape(link["partner"]), escape(where), f"{link['weight']:.3f}", _signals(link), _shared(link["shared"]))
    return table


def _signals(link: dict) -> str:
    return "\n".join(f"{s['signal']} {s['contribution']:.3f} ({s['share']:.0%})" for s in link["signals"])


def _shared(shared: dict) -> str:
    """One line per kind: its first value and how many more, templates and windows as counts."""
    lines = []
    for kind, entry in shared.items():
        more = f" +{entry['count'] - 1}" if entry["count"] > 1 else ""
        if "values" in entry:
            first = entry["values"][0]
            lines.append(f"{kind} {first['value']} (used by {first['used_by']}){more}")
        elif "templates" in entry:
            lines.append(f"{entry['count']} template(s)")
        elif kind == "time":
            lines.append(f"{entry['count']} same minute(s) {entry['first'][:10]}..{entry['last'][:10]}")
        else:
            lines.append(f"{kind} in the same window ({entry['first'][:16]}..{entry['last'][11:16]})" if entry["count"] == 1
                         else f"{kind}: {entry['count']} same windows {entry['first'][:10]}..{entry['last'][:10]}")
    return escape("\n".join(lines))


def _templates_table(links: list[dict]) -> Table:
    """The templates the listed links share, each once: how many of those partners share it, tags, exemplar."""
    seen: dict[str, dict] = {}
    partners: dict[str, int] = {}
    for link in links:
        for template in link["shared"].get("template", {}).get("templates", []):
            seen.setdefault(template["template_id"], template)
            partners[template["template_id"]] = partners.get(template["template_id"], 0) + 1
    table = Table(title="Templates shared with those partners (redacted exemplars)",
                  caption="partners: how many of the partners listed share it; used by: accounts that sent it")
    for column in ("template", "partners", "used by", "tags"):
        table.add_column(column, overflow="fold")
    table.add_column("exemplar", overflow="fold", max_width=EXEMPLAR_WIDTH)
    for template_id in sorted(seen, key=lambda t: (-partners[t], -seen[t]["requests"], t)):
        template = seen[template_id]
        table.add_row(escape(template_id), str(partners[template_id]), str(template["used_by"]),
                      escape(", ".join(template["extraction_tags"])), escape(template["exemplar"]) or WITHHELD)
    return table


def _path_table(result: dict) -> Table:
    path, core = result["path"], result["core"]
    title = (f"Evidence path to the core {core['account_id']} (weighted degree {core['weighted_degree']:.3f}): "
             f"{len(path['steps'])} link(s), cost {path['total_cost']:.3f} at 1/weight per link")
    table = Table(title=escape(title))
    for column in ("from", "to", "weight", "signals: contribution (share)", "shared"):
        table.add_column(column, overflow="fold")
    for step in path["steps"]:
        table.add_row(escape(step["from"]), escape(step["to"]), f"{step['weight']:.3f}", _signals(step), _shared(step["shared"]))
    return table
