"""`graphlinker report --format html` / `diff --format html` / `Workspace.report_html`: the page, in a real browser.

The browser is Debian's chromium, driven over its DevTools pipe (``--remote-debugging-pipe``: JSON messages on
file descriptors 3 and 4), so no websocket package and no browser download are needed. Without chromium the
browser tests skip, except under CI (``CI`` or ``GRAPHLINKER_CI`` set, as ``.ci/run`` does), where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import graphlinker as gl
from graphlinker.sim.slices import split_by_time

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
# An account id and a verdict note that would run script if the page ever put user data in as markup.
EVIL_ID = "acct_<script>window.pwned=1</script><img/src=x/onerror=window.pwned=2>"
EVIL_NOTE = "checked </script><script>window.pwned=3</script> and <b onmouseover=window.pwned=4>ok</b>"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-pipe", "--window-size=1400,900"]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def blocks(page: str) -> tuple[dict, list[dict]]:
    """The page's overview block and its per-cluster blocks, parsed as the browser parses them."""
    overview = json.loads(re.search(r'<script type="application/json" id="gl-overview">(.*?)</script>', page, re.S).group(1))
    details = [json.loads(m) for m in re.findall(r'<script type="application/json" id="gl-c\d+">(.*?)</script>', page, re.S)]
    return overview, details


# --- a browser -------------------------------------------------------------------------------------------------


class Chromium:
    """Headless chromium over the DevTools protocol on a pipe: navigate, evaluate, screenshot, collect errors."""

    def __init__(self, binary: str, profile: Path):
        to_child, self._to_child = os.pipe()
        self._from_child, from_child = os.pipe()

        def on_fds_3_and_4() -> None:  # chromium reads commands on fd 3 and answers on fd 4
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     close_fds=False, preexec_fn=on_fds_3_and_4, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", page=True)

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_child], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, page: bool = False, timeout: float = 60.0, **params) -> dict:
        self._id += 1
        wanted = self._id
        message = {"id": wanted, "method": method, "params": params, **({"sessionId": self.session} if page else {})}
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._message(deadline)
            if answer.get("id") == wanted:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def open(self, path: Path, fragment: str = "") -> None:
        """Load the page afresh (by way of about:blank: a new fragment alone would not reload it)."""
        for url in ("about:blank", path.resolve().as_uri() + fragment):
            self.events.clear()
            self.call("Page.navigate", page=True, url=url)
            deadline = time.monotonic() + 60
            while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
                answer = self._message(deadline)
                if "method" in answer:
                    self.events.append(answer)

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", page=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", page=True, format="png")["data"]))
        return path

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors and the browser's own error log (CSP violations, failed loads)."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(params["entry"].get("text", ""))
            elif method == "Page.javascriptDialogOpening":
                found.append(f"a dialog opened: {params.get('message')}")
        return found

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (EOFError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Chromium:
    binary = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if binary is None:
        reason = "Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get("CI") or os.environ.get("GRAPHLINKER_CI"):
            pytest.fail(f"{reason}, but this is CI: the HTML report must be tested in a real browser", pytrace=False)
        pytest.skip(reason)
    chromium = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


# --- a workspace with two runs, a verdict and hostile ids --------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> dict:
    """The demo with one operation account renamed to EVIL_ID, loaded in two refreshes; a verdict with EVIL_NOTE."""
    root = tmp_path_factory.mktemp("html")
    export = root / "export"
    export.mkdir()
    victim = pd.read_csv(DEMO / "truth.csv").query("op_id == 'op-hydra-1'")["account_id"].iloc[0]
    for source in DEMO.iterdir():
        if source.name.startswith("requests"):
            frame = pd.read_csv(source, dtype=str, keep_default_na=False)
            frame["account_id"] = frame["account_id"].replace(victim, EVIL_ID)
            frame.to_csv(export / source.name, index=False)
        else:
            (export / source.name).write_text(source.read_text().replace(victim, EVIL_ID))
    slices = split_by_time(export, root / "slices", 2)
    ws = root / "ws"
    for inputs in ([slices[0]], [slices[0], slices[1]]):
        done = cli("refresh", *inputs, "-w", ws, "--format", "json")
        assert done.returncode == 0, done.stderr
    report = json.loads(cli("report", "-w", ws, "--format", "json").stdout)
    target = next(c for c in report["clusters"] if EVIL_ID in c["accounts"])
    judged = cli("verdict", target["cluster_id"], "benign", "--note", EVIL_NOTE, "--by", "<i>ana</i>", "-w", ws)
    assert judged.returncode == 0, judged.stderr
    runs = json.loads(cli("runs", "-w", ws, "--format", "json").stdout)
    page = root / "report.html"
    made = cli("report", "-w", ws, "--format", "html", "-o", page)
    assert made.returncode == 0, made.stderr
    assert "wrote" in made.stderr and made.stdout == ""
    return {"ws": ws, "page": page, "runs": [r["run_id"] for r in runs], "evil_cluster": target["cluster_id"],
            "report": json.loads(cli("report", "-w", ws, "--format", "json").stdout), "root": root}


# --- the command line's contract ----------------------------------------------------------------------------------


def test_html_goes_to_a_file_never_to_stdout(two_runs, tmp_path):
    for command in (["report"], ["diff"]):
        refused = cli(*command, "-w", two_runs["ws"], "--format", "html")
        assert refused.returncode == 2 and refused.stdout == ""
        assert "pass -o/--output FILE" in refused.stderr and "Traceback" not in refused.stderr
    unknown = cli("report", "-w", two_runs["ws"], "--format", "html", "-o", tmp_path / "x.html", "--run", "run-nope")
    assert unknown.returncode == 2 and "unknown run 'run-nope'" in unknown.stderr
    assert not (tmp_path / "x.html").exists() and list(tmp_path.iterdir()) == []
    nowhere = cli("report", "-w", two_runs["ws"], "--format", "html", "-o", tmp_path / "missing" / "x.html")
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    empty = cli("report", "-w", tmp_path / "no-workspace", "--format", "html", "-o", tmp_path / "y.html")
    assert empty.returncode == 2 and "no run yet" in empty.stderr


def test_report_run_option_reports_an_earlier_run_in_every_format(two_runs):
    first, last = two_runs["runs"]
    earlier = json.loads(cli("report", "-w", two_runs["ws"], "--run", first, "--format", "json").stdout)
    assert earlier["run_id"] == first
    assert json.loads(cli("report", "-w", two_runs["ws"], "--run", last, "--format", "json").stdout)["run_id"] == last
    csv = cli("report", "-w", two_runs["ws"], "--run", first, "--format", "csv").stdout
    assert len(csv.strip().splitlines()) == len(earlier["clusters"]) + 1
    missing = cli("report", "-w", two_runs["ws"], "--run", "run-nope")
    assert missing.returncode == 2 and "unknown run" in missing.stderr


def test_the_page_is_self_contained_and_inert(two_runs):
    page = two_runs["page"].read_text(encoding="utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy and "'unsafe-inline'" not in policy
    data = re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', page, re.S)
    assert data and not [d for d in data if "<" in d or ">" in d]  # user data cannot close its block or open a tag
    markup = re.sub(r'(<script type="application/json" id="[\w-]+">).*?</script>', r"\1</script>", page, flags=re.S)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", markup, re.I)
    assert not re.search(r"\b(src|href)\s*=", markup, re.I)  # nothing to fetch, not even from the page's own folder
    scripts = re.findall(r"<script([^>]*)>", page)
    assert len(scripts) == page.count("</script>")  # no data block ends early
    assert [s for s in scripts if "application/json" not in s] == [""]  # one inline script, pinned by hash in the CSP
    assert "<script>window.pwned" not in page and EVIL_ID not in page  # user data never appears as markup
    overview, details = blocks(page)
    assert overview["run"]["run_id"] == two_runs["runs"][-1] and overview["previous"] == two_runs["runs"][0]
    assert [c["id"] for c in overview["clusters"]] == [c["cluster_id"] for c in two_runs["report"]["clusters"]]
    assert any(EVIL_ID in c["accounts"] for c in overview["clusters"])  # the data survived escaping intact


def test_the_page_shows_no_more_than_the_json_report(two_runs):
    page = two_runs["page"].read_text(encoding="utf-8")
    shown = json.dumps(two_runs["report"])
    cards = set(re.findall(r"card_[0-9a-f]{8,}", page))
    assert cards and cards <= set(re.findall(r"card_[0-9a-f]{8,}", shown))  # payment fingerprints: only the report's
    prompts = pd.read_csv(DEMO / "requests.csv.gz", usecols=["prompt"])["prompt"].dropna()
    raw = [p for p in prompts.drop_duplicates() if re.search(r"\d", p) and len(p) > 30][:300]
    assert len(raw) == 300 and not [p for p in raw if json.dumps(p)[1:-1] in page or p in page]  # no raw prompt


def test_a_data_block_cannot_end_early_and_always_parses():
    from graphlinker.report.html import _json_block

    hostile = {"id": "</script><script>alert(1)</script>", "note": "a\u2028b & <!-- c", "x": [1.5, float("nan"), float("inf")]}
    text = _json_block(hostile)
    assert not set(text) & {"<", ">", "&", "\u2028"}
    assert json.loads(text) == {**hostile, "x": [1.5, None, None]}  # NaN and infinity, which JSON.parse refuses, become null


def test_drawing_timeline_and_history_are_the_runs(two_runs):
    page = two_runs["page"].read_text(encoding="utf-8")
    overview, details = blocks(page)
    ws = gl.open_workspace(two_runs["ws"])
    first, last = two_runs["runs"]
    usage = ws.store.usage()
    times = usage[usage["kind"] == "time"].assign(minute=lambda f: pd.to_datetime(f["first_seen"], utc=True).dt.floor("min"))
    for detail in details[:4]:
        members = set(ws.cluster(detail["id"])["accounts"])
        assert {m[0] for m in detail["members"]} == members
        drawn = {detail["members"][n[0]][0] for n in detail["graph"]["nodes"]}
        assert drawn == members  # small clusters: one node per member
        links = ws.links(detail["id"])
        assert detail["graph"]["drawn_edges_all"] == len(links)
        if len(links) <= 3 * len(members):
            assert len(detail["graph"]["edges"]) == len(links)
        else:  # the strongest spanning tree plus the strongest others, 3 per member in all
            assert len(detail["graph"]["edges"]) == 3 * len(members)
        mine = times[times["account_id"].isin(members)]
        together = mine.groupby("minute")["account_id"].nunique()
        assert detail["timeline"]["peaks"][0][1] == together.max()
        assert sum(detail["timeline"]["requests"][1::2]) == mine["count"].sum()
        assert sum(detail["created"]["counts"][1::2]) == len(members)
        history = [h["run_id"] for h in detail["history"]]
        in_first = detail["id"] in {c["cluster_id"] for c in ws.report(first)["clusters"]}
        assert history == ([first, last] if in_first else [last])


def test_large_clusters_are_summarised_not_drawn_whole(two_runs, tmp_path, monkeypatch):
    from graphlinker.report import html

    monkeypatch.setattr(html, "DRAW_LIMIT", 6)
    ws = gl.open_workspace(two_runs["ws"])
    path = ws.report_html(tmp_path / "small.html")
    assert path == tmp_path / "small.html"
    _, details = blocks(path.read_text(encoding="utf-8"))
    big = next(d for d in details if d["size"] > 10)
    links = ws.links(big["id"])
    strength = pd.concat([links.rename(columns={"account_a": "a"})[["a", "weight"]],
                          links.rename(columns={"account_b": "a"})[["a", "weight"]]]).groupby("a")["weight"].sum()
    strongest = set(strength.sort_values(ascending=False).index[:6])
    drawn = {big["members"][n[0]][0] for n in big["graph"]["nodes"]}
    assert drawn == strongest and big["graph"]["hidden_nodes"] == big["size"] - 6
    between = links[links["account_a"].isin(drawn) & links["account_b"].isin(drawn)]
    assert big["graph"]["drawn_edges_all"] == len(between)
    assert len(big["graph"]["edges"]) <= html.EDGES_PER_NODE * 6
    import networkx as nx  # the strongest spanning forest is always kept: the drawing is as connected as the links

    full = nx.Graph(list(zip(between["account_a"], between["account_b"])))
    full.add_nodes_from(drawn)
    shown = nx.Graph([(big["members"][big["graph"]["nodes"][a][0]][0], big["members"][big["graph"]["nodes"][b][0]][0])
                      for a, b, *_ in big["graph"]["edges"]])
    shown.add_nodes_from(drawn)
    assert nx.number_connected_components(shown) == nx.number_connected_components(full)
    assert len(big["idgraph"]["nodes"]) == 6 and big["idgraph"]["hidden_nodes"] == big["size"] - 6
    explained = {big["members"][r][0] for r, entry in enumerate(big["why"]["members"]) if entry is not None}
    assert explained == drawn and big["why"]["explained"] == 6  # only the drawn members are explained (the page says so)


# --- in the browser -------------------------------------------------------------------------------------------------


def test_the_page_in_a_browser(two_runs, browser, tmp_path):
    browser.open(two_runs["page"])
    assert browser.js("document.body.getAttribute('data-ready')") == "1"
    report = two_runs["report"]
    rows = browser.js("Array.from(document.querySelectorAll('tr.cluster-row')).map(r => r.dataset.id)")
    assert rows == [c["cluster_id"] for c in report["clusters"]]  # every cluster, most risky first
    browser.screenshot(tmp_path / "overview.png")
    top = report["clusters"][0]
    drawn = browser.js("Array.from(document.querySelectorAll('#graph-holder circle.member')).map(c => c.dataset.account)")
    assert sorted(drawn) == sorted(top["accounts"])  # the first cluster opens: one node per member
    assert browser.js("document.querySelectorAll('#reasons-block .bar.reason').length") == len(top["reasons"])
    assert browser.js("document.querySelectorAll('#together-chart rect').length") > 0

    # search an account of a cluster further down: only its cluster stays listed, and says why
    other = next(c for c in report["clusters"][3:] if c["size"] >= 3)
    account = other["accounts"][1]
    browser.js(f"(s => {{ s.value = {json.dumps(account)}; s.dispatchEvent(new Event('input')); }})(document.getElementById('search'))")
    visible = browser.js("Array.from(document.querySelectorAll('tr.cluster-row')).filter(r => !r.hidden).map(r => r.dataset.id)")
    assert visible == [other["cluster_id"]]
    assert browser.js("document.querySelector('tr.cluster-row:not([hidden]) .match').textContent") == f"matches account {account}"
    browser.js("document.querySelector('tr.cluster-row:not([hidden])').click()")
    assert browser.js("Array.from(document.querySelectorAll('#graph-holder circle.member.hit')).map(c => c.dataset.account)") == [account]
    assert browser.js("document.querySelectorAll('#graph-holder circle.member').length") == other["size"]
    gates = [[g["gate"], g["detail"]] for g in other["evidence"].get("not_flagged_because", [])]
    assert browser.js("Array.from(document.querySelectorAll('#reasons-block li.gate')).map(li => "
                      "[li.dataset.gate, li.textContent.slice(li.dataset.gate.length + 1)])") == gates
    assert other["flagged"] or gates  # an unflagged cluster always says why
    browser.screenshot(tmp_path / "search.png")

    # filters: flagged only, then a verdict
    browser.js("(s => { s.value = ''; s.dispatchEvent(new Event('input')); })(document.getElementById('search'))")
    browser.js("document.getElementById('flagged-only').click()")
    shown = browser.js("Array.from(document.querySelectorAll('tr.cluster-row')).filter(r => !r.hidden).map(r => r.dataset.id)")
    assert shown == [c["cluster_id"] for c in report["clusters"] if c["flagged"]]
    browser.js("document.getElementById('flagged-only').click()")
    browser.js("(s => { s.value = 'benign'; s.dispatchEvent(new Event('change')); })(document.getElementById('verdict-filter'))")
    shown = browser.js("Array.from(document.querySelectorAll('tr.cluster-row')).filter(r => !r.hidden).map(r => r.dataset.id)")
    assert shown == [two_runs["evil_cluster"]]

    # hostile data is shown as text and never runs
    browser.js("document.querySelector('tr.cluster-row:not([hidden])').click()")
    assert browser.js("document.querySelector('.verdict-note').textContent") == EVIL_NOTE
    assert EVIL_ID in browser.js("Array.from(document.querySelectorAll('#graph-holder circle.member')).map(c => c.dataset.account)")
    assert browser.js("typeof window.pwned") == "undefined"
    assert browser.js("document.querySelectorAll('script').length") == len(report["clusters"]) + 2  # the page's own only
    assert browser.js("document.querySelectorAll('b, img').length") == 0
    browser.screenshot(tmp_path / "verdict.png")
    assert browser.errors() == []
    assert (tmp_path / "overview.png").stat().st_size > 10_000


def test_clicking_a_member_explains_it_as_graphlinker_explain_does(two_runs, browser, tmp_path):
    browser.open(two_runs["page"])
    top = two_runs["report"]["clusters"][0]
    assert browser.js("document.getElementById('cluster-view').dataset.id") == top["cluster_id"]
    expected = {}
    for account in top["accounts"][:2]:  # the CLI: an independent path through the store and the explainer
        done = cli("explain", account, "-w", two_runs["ws"], "--format", "json", "--links", "3")
        assert done.returncode == 0, done.stderr
        expected[account] = json.loads(done.stdout)
    assert any(len(e["path"]["accounts"]) > 1 for e in expected.values())  # one of them is not the core itself

    def shown() -> dict:
        return browser.js("""(() => {
          const why = document.getElementById('why');
          return {account: why.dataset.account, head: (why.querySelector('.why-account') || why).textContent,
                  partners: Array.from(why.querySelectorAll('.partner')).map(e => e.dataset.account),
                  top: Array.from(why.querySelectorAll('.sigwords')).map(e => e.textContent.split(' ')[0]),
                  path: Array.from(why.querySelectorAll('.path .step')).map(e => e.dataset.account),
                  chosen: Array.from(document.querySelectorAll('#graph-holder circle.member.chosen')).map(c => c.dataset.account)};
        })()""")

    first, second = top["accounts"][:2]
    assert browser.js("document.getElementById('why').textContent") == ""  # nothing until a member is clicked
    browser.js(f"Array.from(document.querySelectorAll('#graph-holder circle.member')).find(c => c.dataset.account === {json.dumps(first)})"
               ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")  # in the drawing
    browser.screenshot(tmp_path / "why-drawing.png")
    got = [shown()]
    browser.js(f"Array.from(document.querySelectorAll('#members-block .member-link')).find(b => b.dataset.account === {json.dumps(second)}).click()")
    got.append(shown())  # in the member list
    for account, page in zip((first, second), got):
        cli_says = expected[account]
        assert page["account"] == page["head"] == account and page["chosen"] == [account]
        assert page["partners"][0] == cli_says["links"][0]["partner"]  # the strongest partner
        assert page["partners"] == [x["partner"] for x in cli_says["links"]]
        assert page["top"] == [x["top_signal"] for x in cli_says["links"]]
        path = cli_says["path"]["accounts"]
        assert path[-1] == cli_says["core"]["account_id"]
        assert (page["path"] or [account]) == path and (page["path"] or [account])[-1] == path[-1]  # the core is the path's end
    browser.screenshot(tmp_path / "why-list.png")

    # the hostile account's explanation: its id shown as text, nothing run
    browser.open(two_runs["page"], f"#cluster={two_runs['evil_cluster']}")
    browser.js(f"Array.from(document.querySelectorAll('#members-block .member-link')).find(b => b.dataset.account === {json.dumps(EVIL_ID)}).click()")
    assert browser.js("document.querySelector('#why .why-account').textContent") == EVIL_ID
    assert browser.js("document.querySelectorAll('#why .partner').length") > 0
    assert browser.js("typeof window.pwned") == "undefined" and browser.js("document.querySelectorAll('b, img').length") == 0
    assert browser.errors() == []


def test_explanations_stop_at_the_page_budget_and_the_page_says_so(two_runs, browser, tmp_path, monkeypatch):
    from graphlinker.report import html

    monkeypatch.setattr(html, "EXPLAIN_BUDGET", 30)
    path = gl.open_workspace(two_runs["ws"]).report_html(tmp_path / "budget.html")
    overview, details = blocks(path.read_text(encoding="utf-8"))
    explained = [d for d in details if d["why"] is not None]
    assert explained == details[:len(explained)] and 0 < len(explained) < len(details)  # the riskiest clusters, in page order
    sizes = [d["why"]["explained"] for d in explained]
    assert sum(sizes[:-1]) < 30 <= sum(sizes) and overview["explain"]["members"] == sum(sizes)
    assert overview["explain"]["clusters"] == len(explained)
    browser.open(path, f"#cluster={details[len(explained)]['id']}")
    assert "only the first " + str(len(explained)) + " clusters" in browser.js("document.getElementById('why-unavailable').textContent")
    browser.js("document.querySelector('#members-block .member-link').click()")
    assert "graphlinker explain ACCOUNT" in browser.js("document.getElementById('why').textContent")
    assert browser.errors() == []


def test_a_link_opens_a_cluster_and_the_diff_page_opens_on_its_changes(two_runs, browser, tmp_path):
    target = two_runs["report"]["clusters"][2]
    browser.open(two_runs["page"], f"#cluster={target['cluster_id']}")
    assert browser.js("document.getElementById('cluster-view').dataset.id") == target["cluster_id"]
    history = browser.js("document.querySelectorAll('#history-block tbody tr').length")
    assert history in (1, 2)

    first, last = two_runs["runs"]
    page = tmp_path / "diff.html"
    made = cli("diff", first, last, "-w", two_runs["ws"], "--format", "html", "-o", page)
    assert made.returncode == 0, made.stderr
    expected = json.loads(cli("diff", first, last, "-w", two_runs["ws"], "--format", "json").stdout)
    browser.open(page)
    assert browser.js("document.getElementById('pane-changes').hidden") is False
    assert browser.js("document.getElementById('pane-clusters').hidden") is True
    cells = browser.js("Array.from(document.querySelectorAll('#changes tbody tr')).map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    assert cells == [[e["change"], e["cluster_id"]] for e in expected["changes"]] and cells
    browser.screenshot(tmp_path / "changes.png")
    assert browser.errors() == []
    written = tmp_path / "diff.json"
    assert cli("diff", first, last, "-w", two_runs["ws"], "--format", "json", "-o", written).returncode == 0
    assert json.loads(written.read_text()) == expected


def test_an_earlier_run_through_the_api(two_runs, browser, tmp_path):
    first = two_runs["runs"][0]
    ws = gl.open_workspace(two_runs["ws"])
    path = ws.report_html(tmp_path / "first.html", first)
    overview, _ = blocks(path.read_text(encoding="utf-8"))
    assert overview["run"]["run_id"] == first and overview["previous"] is None and overview["diff"] is None
    browser.open(path)
    rows = browser.js("Array.from(document.querySelectorAll('tr.cluster-row')).map(r => r.dataset.id)")
    assert rows == [c["cluster_id"] for c in ws.report(first)["clusters"]]
    assert browser.errors() == []
    with pytest.raises(gl.InputError, match="unknown run"):
        ws.report_html(tmp_path / "nope.html", "run-nope")


@pytest.mark.neo4j
def test_neo4j_draws_earlier_runs_from_evidence(neo4j_clean, browser, tmp_path):
    with gl.open_neo4j(**neo4j_clean, workspace=tmp_path / "q") as ws:
        first = ws.run(DEMO).run_id
        latest = ws.run(DEMO).run_id
        now = ws.report_html(tmp_path / "latest.html")
        then = ws.report_html(tmp_path / "first.html", first)
        report = ws.report(first)
    overview, details = blocks(now.read_text(encoding="utf-8"))
    assert overview["run"]["run_id"] == latest and overview["previous"] == first and overview["run"]["store"] == "neo4j"
    assert {d["graph"]["mode"] for d in details} == {"links"}
    overview, details = blocks(then.read_text(encoding="utf-8"))
    assert {d["graph"]["mode"] for d in details} == {"evidence"} and "latest run only" in overview["run"]["links_note"]
    browser.open(then)
    assert browser.js("document.getElementById('graph-holder').previousElementSibling.textContent") == overview["run"]["links_note"]
    drawn = browser.js("Array.from(document.querySelectorAll('#graph-holder circle.member')).map(c => c.dataset.account)")
    assert sorted(drawn) == sorted(report["clusters"][0]["accounts"])
    assert browser.js("document.querySelectorAll('#graph-holder rect.ident').length") > 0
    assert not overview["explain"]["available"] and {d["why"] for d in details} == {None}  # no links, no explanation: said so
    assert "explaining needs the run's links" in browser.js("document.getElementById('why-unavailable').textContent")
    browser.js("document.querySelector('#members-block .member-link').click()")
    assert "explaining needs the run's links" in browser.js("document.getElementById('why').textContent")
    assert browser.errors() == []
    assert all(d["why"]["explained"] == len(d["graph"]["nodes"]) for d in blocks(now.read_text(encoding="utf-8"))[1])
    env = {"NEO4J_URI": neo4j_clean["uri"], "NEO4J_USER": neo4j_clean["user"], "NEO4J_PASSWORD": neo4j_clean["password"],
           "NEO4J_DATABASE": neo4j_clean["database"]}
    made = cli("report", "--store", "neo4j", "--run", first, "--format", "html", "-o", tmp_path / "cli.html", env=env)
    assert made.returncode == 0, made.stderr
    assert [c["id"] for c in blocks((tmp_path / "cli.html").read_text(encoding="utf-8"))[0]["clusters"]] == \
        [c["cluster_id"] for c in report["clusters"]]
