// graphlinker HTML report. No library, no network: the data is in the page's JSON data blocks,
// every piece of user data reaches the page through textContent or an attribute, never as markup.
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var O = JSON.parse(document.getElementById("gl-overview").textContent);
  var signals = O.signals;
  var state = { query: "", flagged: false, minRisk: 0, verdict: "any", open: null, chosen: null, tab: O.focus === "changes" ? "changes" : "clusters" };
  var rows = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function sv(tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = String(v);
      else if (k === "cls") node.setAttribute("class", v);
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    });
  }
  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
  }
  function fmt(n, digits) { return n === null || n === undefined ? "–" : Number(n).toFixed(digits === undefined ? 2 : digits); }
  function int(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); }
  function when(iso) { return iso ? String(iso).replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC") : "–"; }
  function addMinutes(iso, minutes) { return new Date(Date.parse(iso.replace(/Z$/, ":00Z")) + minutes * 60000); }
  function stamp(d, minutes) { var s = d.toISOString(); return minutes >= 1440 ? s.slice(0, 10) : s.slice(0, 16).replace("T", " "); }
  function binText(minutes) { return minutes % 1440 === 0 ? (minutes / 1440) + " d" : minutes % 60 === 0 ? (minutes / 60) + " h" : minutes + " min"; }

  // --- header and tabs -----------------------------------------------------------------------------------
  function header() {
    var s = O.run.summary || {};
    var meta = [
      "generated " + when(O.run.generated_at), O.run.store + " store",
      int(s.accounts) + " accounts", int(s.clusters) + " clusters", int(s.flagged_clusters) + " flagged (" + int(s.flagged_accounts) + " accounts)"
    ];
    if (O.previous) meta.push("compared with run " + O.previous);
    else meta.push("no earlier run to compare with");
    return el("header", null, [
      el("h1", null, ["graphlinker report ", el("code", { text: O.run.run_id })]),
      el("div", { cls: "meta", text: meta.join(" · ") }),
      O.run.selection ? el("div", { cls: "meta", text: "Showing " + O.run.selection + "." }) : null
    ]);
  }
  function tabs() {
    var n = O.diff ? O.diff.changes.length : 0;
    var nav = el("nav", { cls: "tabs", role: "tablist" });
    [["clusters", "Clusters (" + O.clusters.length + ")"], ["changes", O.previous ? "Changes since previous run (" + n + ")" : "Changes"],
     ["about", "About this page"]].forEach(function (t) {
      nav.appendChild(el("button", { id: "tab-" + t[0], cls: state.tab === t[0] ? "on" : null, role: "tab", text: t[1],
        onclick: function () { showTab(t[0]); } }));
    });
    return nav;
  }
  function showTab(name) {
    state.tab = name;
    ["clusters", "changes", "about"].forEach(function (t) {
      document.getElementById("tab-" + t).className = t === name ? "on" : "";
      document.getElementById("pane-" + t).hidden = t !== name;
    });
  }

  // --- overview ------------------------------------------------------------------------------------------
  function changeText(c) {
    if (c.change === "grown" || c.change === "shrunk") return c.change + " " + c.size_before + "→" + c.size_after;
    if (c.change === "merged") return "merged " + c.related.length + " cluster(s) in";
    if (c.change === "split") return "split into " + (c.related.length + 1);
    return c.change;
  }
  function changeChips(list, known) {
    if (!O.previous) return [el("span", { cls: "hint", text: "–" })];
    if (!list || !list.length) return [el("span", { cls: "hint", text: known ? "unchanged" : "–" })];
    return list.map(function (c) { return el("span", { cls: "chip change-" + c.change, text: changeText(c) }); });
  }
  function verdictChip(v) {
    if (!v) return null;
    return el("span", { cls: "chip v-" + v.verdict, title: v.effect, text: v.verdict + " (" + v.effect + ")" });
  }
  function overview() {
    var search = el("input", { type: "search", id: "search", placeholder: "Search account id, identifier value or template id",
      "aria-label": "search", oninput: function (e) { state.query = e.target.value.trim().toLowerCase(); filter(); } });
    var flagged = el("input", { type: "checkbox", id: "flagged-only", onchange: function (e) { state.flagged = e.target.checked; filter(); } });
    var minRisk = el("input", { type: "number", id: "min-risk", min: 0, max: 1, step: 0.05, value: 0,
      oninput: function (e) { state.minRisk = parseFloat(e.target.value) || 0; filter(); } });
    var verdict = el("select", { id: "verdict-filter", onchange: function (e) { state.verdict = e.target.value; filter(); } },
      [["any", "any verdict"], ["none", "no verdict"], ["confirmed", "confirmed"], ["benign", "benign"], ["unsure", "unsure"]].map(function (o) {
        return el("option", { value: o[0], text: o[1] });
      }));
    var body = el("tbody", { id: "cluster-rows" });
    O.clusters.forEach(function (c, i) {
      var tr = el("tr", { cls: "cluster-row" + (c.flagged ? " flagged" : ""), "data-id": c.id, "data-index": i,
        onclick: function () { openCluster(i); } }, [
        el("td", { cls: "num", text: i + 1 }),
        el("td", { cls: "id mono" }, [c.id, el("div", { cls: "hint match" })]),
        el("td", { cls: "num", text: c.size }),
        el("td", { cls: "num risk" + (c.flagged ? " flag" : ""), title: c.flagged ? "flagged" : "not flagged" },
          [el("span", { cls: "riskbar" }), fmt(c.risk) + (c.flagged ? " ⚑" : "")]),
        el("td", null, c.reasons.slice(0, 3).map(function (r) { return el("span", { cls: "chip", text: r }); })),
        el("td", null, [verdictChip(c.verdict)]),
        el("td", null, changeChips(c.change, true))
      ]);
      tr.querySelector(".riskbar").style.width = Math.round(40 * c.risk) + "px";
      rows.push({ tr: tr, c: c });
      body.appendChild(tr);
    });
    var head = el("thead", null, el("tr", null, ["#", "cluster", "size", "risk ⚑", "top reasons", "verdict", "change"].map(function (h, k) {
      return el("th", { cls: k === 0 || k === 2 || k === 3 ? "num" : null, text: h });
    })));
    return el("div", null, [
      el("div", { cls: "filters" }, [search,
        el("label", null, [flagged, " flagged only"]),
        el("label", null, ["min risk ", minRisk]),
        el("label", null, [verdict])]),
      el("div", { cls: "count", id: "shown-count" }),
      el("table", { id: "clusters" }, [head, body]),
      O.clusters.length ? null : el("div", { cls: "empty", text: "No clusters of two or more accounts in this run." })
    ]);
  }
  function matchOf(c, q) {
    if (!q) return "";
    if (c.id.toLowerCase().indexOf(q) >= 0) return "cluster id";
    var lists = [["account", c.accounts], ["identifier", c.idents], ["template", c.templates]];
    for (var k = 0; k < lists.length; k++) {
      var hit = lists[k][1].find(function (v) { return v.toLowerCase().indexOf(q) >= 0; });
      if (hit !== undefined) return lists[k][0] + " " + hit;
    }
    return null;
  }
  function filter() {
    var shown = 0;
    rows.forEach(function (r) {
      var c = r.c, match = matchOf(c, state.query);
      var ok = match !== null && (!state.flagged || c.flagged) && c.risk >= state.minRisk &&
        (state.verdict === "any" || (state.verdict === "none" ? !c.verdict : c.verdict && c.verdict.verdict === state.verdict));
      r.tr.hidden = !ok;
      r.tr.querySelector(".match").textContent = ok && match && match !== "cluster id" ? "matches " + match : "";
      if (ok) shown++;
    });
    document.getElementById("shown-count").textContent = shown + " of " + rows.length + " clusters shown";
    if (state.open !== null) highlight();
  }

  // --- one cluster -----------------------------------------------------------------------------------------
  var cache = {};
  function detailOf(i) {
    if (!(i in cache)) cache[i] = JSON.parse(document.getElementById("gl-c" + i).textContent);
    return cache[i];
  }
  function openCluster(i, keepHash) {
    state.open = i;
    state.chosen = null;
    rows.forEach(function (r, k) { r.tr.classList.toggle("open", k === i); });
    var d = detailOf(i), pane = document.getElementById("detail");
    pane.textContent = "";
    pane.scrollTop = 0;
    pane.appendChild(clusterView(d, O.clusters[i]));
    highlight();
    if (!keepHash) history.replaceState(null, "", "#cluster=" + encodeURIComponent(d.id));
  }
  function block(title, children, id) { return el("section", { cls: "block", id: id }, [el("h3", { text: title })].concat(children)); }

  function clusterView(d, row) {
    var parts = [
      el("h2", null, ["Cluster ", el("code", { text: d.id })]),
      el("div", { cls: "meta" }, [d.size + " accounts · risk " + fmt(d.risk) + " · ", el("span", { cls: d.flagged ? "flag" : "", text: d.flagged ? "flagged" : "not flagged" }),
        " · " + int(d.volume.requests) + " requests, " + int(d.volume.output_tokens) + " output tokens · " + int(d.link_count) + " links inside"]),
      verdictView(d.verdict),
      changesView(row.change)
    ];
    parts.push(block("Link graph", graphView(d), "graph-block"));
    parts.push(block("Why is this account here?", whyView(d), "why-block"));
    parts.push(block("Why it scored " + fmt(d.risk), reasonsView(d), "reasons-block"));
    parts.push(block("Activity", timelineView(d), "activity-block"));
    parts.push(block("Shared identifiers", identifiersView(d), "identifiers-block"));
    parts.push(block("Templates", templatesView(d), "templates-block"));
    parts.push(block("Members", membersView(d), "members-block"));
    parts.push(block("History across runs", historyView(d), "history-block"));
    return el("div", { id: "cluster-view", "data-id": d.id }, parts);
  }
  function verdictView(v) {
    if (!v) return el("div", { cls: "hint", text: "No analyst verdict. Give one with: graphlinker verdict CLUSTER_ID confirmed|benign|unsure" });
    var lines = [el("div", null, [el("strong", { text: "Verdict: " + v.verdict }), " (" + v.effect + ") by " + (v.by || "unknown") + " at " + when(v.at) + ", on run " + v.run_id]),
      el("div", { text: v.why })];
    if (v.note) lines.push(el("div", null, ["Note: ", el("span", { cls: "verdict-note", text: v.note })]));
    if (v.new_members && v.new_members.length) lines.push(el("div", { cls: "hint", text: "New since the verdict (red in the drawing): " + v.new_members.join(", ") }));
    return el("div", { cls: "verdict" }, lines);
  }
  function changesView(list) {
    if (!O.previous) return el("div", { cls: "hint", text: "First run in this store (or no earlier run compared): nothing to compare with." });
    if (!list || !list.length) return el("div", { cls: "hint", text: "Unchanged since run " + O.previous + "." });
    return el("div", null, list.map(function (c) {
      var words = changeText(c) + " (+" + c.added + "/−" + c.removed + " accounts)";
      if (c.related.length) words += "; related: " + c.related.join(", ") + (c.related_more ? " and " + c.related_more + " more" : "");
      if (c.verdict) words += "; " + c.verdict;
      return el("div", null, [el("span", { cls: "chip change-" + c.change, text: c.change }), " " + words + " since run " + O.previous]);
    }));
  }

  // drawing -------------------------------------------------------------------------------------------------
  function graphView(d) {
    var g = d.graph, out = [];
    var withIds = g.mode === "evidence";
    var holder = el("div", { id: "graph-holder" });
    function draw() { holder.textContent = ""; holder.appendChild(withIds ? identifierSvg(d) : linkSvg(d)); highlight(); }
    if (g.mode === "links") {
      out.push(el("div", { cls: "filters" }, [
        el("label", null, [el("input", { type: "radio", name: "view", checked: true, onchange: function () { withIds = false; draw(); } }), " links between members"]),
        el("label", null, [el("input", { type: "radio", name: "view", onchange: function () { withIds = true; draw(); } }), " members and the identifiers and templates they share"])
      ]));
      var notes = [];
      if (g.hidden_nodes) notes.push(g.hidden_nodes + " of " + d.size + " members are not drawn (the " + (d.size - g.hidden_nodes) + " with the most link weight are).");
      if (g.edges.length < g.drawn_edges_all) notes.push("Showing " + g.edges.length + " of " + g.drawn_edges_all + " links between drawn members: the strongest spanning tree plus the strongest others (at most " + O.limits.edges_per_node + " per member).");
      if (notes.length) out.push(el("div", { cls: "note", text: notes.join(" ") }));
    } else {
      out.push(el("div", { cls: "note", text: O.run.links_note || "The links of this run are not kept: drawn from the identifiers its members share." }));
    }
    out.push(holder);
    draw();
    return out;
  }
  function radius(requests, most) { return 4 + 9 * Math.sqrt((requests || 0) / (most || 1)); }
  function linkSvg(d) {
    var g = d.graph, svg = sv("svg", { cls: "graph", viewBox: "0 0 1000 620", width: 1000, height: 620, "data-mode": "links" });
    var most = Math.max.apply(null, d.members.map(function (m) { return m[2]; }).concat([1]));
    var newly = {};
    ((d.verdict && d.verdict.new_members) || []).forEach(function (a) { newly[a] = true; });
    var edges = sv("g");
    g.edges.forEach(function (e, k) {
      var a = g.nodes[e[0]], b = g.nodes[e[1]], s = signals[e[3]] || { colour: "#999", name: "?" };
      var contrib = g.contributions[k] || {};
      var tip = d.members[a[0]][0] + " — " + d.members[b[0]][0] + "\nweight " + fmt(e[2], 3) + " (mostly " + s.name + ")\n" +
        Object.keys(contrib).map(function (n) { return n + " " + fmt(contrib[n], 3); }).join(", ");
      edges.appendChild(sv("line", { cls: "edge", x1: a[1], y1: a[2], x2: b[1], y2: b[2], stroke: s.colour,
        "stroke-width": (0.8 + 2.2 * Math.min(1, e[2])).toFixed(2), "stroke-opacity": 0.7, "data-signal": s.name }, sv("title", { text: tip })));
    });
    svg.appendChild(edges);
    var nodes = sv("g");
    g.nodes.forEach(function (n, k) {
      var m = d.members[n[0]];
      var tip = m[0] + "\ncreated " + when(m[1]) + "\n" + int(m[2]) + " requests, " + int(m[3]) + " output tokens" + (m[4] ? "\ncountry " + m[4] : "") +
        "\nlink weight " + fmt(g.strength[k], 2);
      nodes.appendChild(sv("circle", { cls: "member" + (newly[m[0]] ? " newly" : ""), cx: n[1], cy: n[2], r: radius(m[2], most).toFixed(1), "data-account": m[0],
        onclick: function () { explainMember(d, n[0]); } }, sv("title", { text: tip + "\nclick: why is it here?" })));
    });
    svg.appendChild(nodes);
    var used = {};
    g.edges.forEach(function (e) { used[e[3]] = true; });
    var legend = el("div", { cls: "legend" }, signals.filter(function (s, k) { return used[k]; }).map(function (s) {
      var sw = el("span", { cls: "swatch" }); sw.style.background = s.colour;
      return el("span", null, [sw, s.name]);
    }).concat([el("span", { text: "link colour: the signal carrying most of its weight; width: link weight; node size: requests; hover for details" })]));
    return el("div", null, [svg, legend]);
  }
  function identifierSvg(d) {
    var g = d.idgraph, svg = sv("svg", { cls: "graph", viewBox: "0 0 1000 620", width: 1000, height: 620, "data-mode": "identifiers" });
    var most = Math.max.apply(null, d.members.map(function (m) { return m[2]; }).concat([1]));
    var colour = {};
    signals.forEach(function (s) { colour[s.name] = s.colour; });
    var edges = sv("g");
    g.edges.forEach(function (e) {
      var a = g.nodes[e[0]], b = g.idents[e[1]];
      edges.appendChild(sv("line", { cls: "edge", x1: a[1], y1: a[2], x2: b[2], y2: b[3], stroke: colour[b[0]] || "#999", "stroke-width": 1, "stroke-opacity": 0.55 }));
    });
    svg.appendChild(edges);
    var nodes = sv("g");
    g.idents.forEach(function (x) {
      nodes.appendChild(sv("rect", { cls: "ident", x: x[2] - 7, y: x[3] - 7, width: 14, height: 14, fill: colour[x[0]] || "#999", "data-kind": x[0], "data-value": x[1] },
        sv("title", { text: x[0] + " " + x[1] })));
    });
    g.nodes.forEach(function (n) {
      var m = d.members[n[0]];
      nodes.appendChild(sv("circle", { cls: "member", cx: n[1], cy: n[2], r: radius(m[2], most).toFixed(1), "data-account": m[0],
        onclick: function () { explainMember(d, n[0]); } }, sv("title", { text: m[0] + "\n" + int(m[2]) + " requests\nclick: why is it here?" })));
    });
    svg.appendChild(nodes);
    var wrap = el("div", null, [svg]);
    if (g.hidden_nodes) wrap.appendChild(el("div", { cls: "note", text: g.hidden_nodes + " of " + d.size + " members are not drawn (the busiest " + g.nodes.length + " are)." }));
    if (!g.idents.length) wrap.appendChild(el("div", { cls: "hint", text: "The evidence names no shared identifier or template for this cluster." }));
    var legend = el("div", { cls: "legend" }, [el("span", { text: "squares: identifiers and templates named in the evidence, coloured by kind:" })]);
    var kinds = {};
    g.idents.forEach(function (x) { kinds[x[0]] = true; });
    Object.keys(kinds).forEach(function (k) { var sw = el("span", { cls: "swatch" }); sw.style.background = colour[k] || "#999"; legend.appendChild(el("span", null, [sw, k])); });
    wrap.appendChild(legend);
    return wrap;
  }
  function highlight() {
    var q = state.query, chosen = state.chosen || { account: null, path: {} };
    document.querySelectorAll("#graph-holder circle.member").forEach(function (c) {
      var account = c.getAttribute("data-account");
      c.classList.toggle("hit", !!q && account.toLowerCase().indexOf(q) >= 0);
      c.classList.toggle("chosen", account === chosen.account);
      c.classList.toggle("onpath", account !== chosen.account && chosen.path[account] === true);
    });
  }

  // why is this account here? -----------------------------------------------------------------------------------
  function memberButton(d, r) {
    return el("button", { cls: "link mono member-link", "data-account": d.members[r][0], title: "why is it here?", text: d.members[r][0],
      onclick: function () { explainMember(d, r); } });
  }
  function whyView(d) {
    var w = d.why, notes = [];
    if (!w) return [el("div", { cls: "note", id: "why-unavailable", text: whyMissing() }), el("div", { id: "why" })];
    var core = w.core === null ? null : d.members[w.core][0];
    notes.push("Click a member in the drawing or in the member list: its " + O.explain.links + " strongest links (to members first), " +
      "each signal's share of their weight, what the two accounts share, and its cheapest chain of links to the cluster's core" +
      (core ? " " + core + " (the member with the most link weight, " + fmt(w.core_degree, 3) + ")" : "") + ".");
    if (w.explained < d.size) notes.push((d.size - w.explained) + " of " + d.size + " members are not explained on this page: only the " +
      w.explained + " drawn ones are.");
    notes.push("Identifier values the report's evidence does not name are withheld; graphlinker explain ACCOUNT lists every link and value.");
    if (O.explain.settings_from !== "run") notes.push("Signal weights: " + O.explain.settings_from + ".");
    return [el("div", { cls: "hint", id: "why-hint", text: notes.join(" ") }), el("div", { id: "why" })];
  }
  function whyMissing() {
    if (!O.explain.available) return O.explain.note;
    return "Not explained on this page: to keep it small, only the first " + O.explain.clusters + " clusters (riskiest first, " + int(O.explain.members) +
      " members) are. graphlinker explain ACCOUNT explains any account.";
  }
  function otherEnd(link, r) { return link[0] === r ? link[1] : link[0]; }
  function endName(d, end) { return typeof end === "number" ? d.members[end][0] : end; }
  function endView(d, end, cls) {
    return typeof end === "number" ? el("button", { cls: "link mono " + cls, "data-account": d.members[end][0], text: d.members[end][0],
      onclick: function () { explainMember(d, end); } }) : el("span", { cls: "mono " + cls, "data-account": end, text: end });
  }
  function signalBar(link) {
    var weight = link[2], bar = el("div", { cls: "sigbar" }), words = [], shares = pairs(link[3]);
    shares.forEach(function (s) {
      var sig = signals[s[0]] || { name: "?", colour: "#999" };
      var part = el("span", { title: sig.name + ": " + fmt(s[1] * weight, 3) + " of " + fmt(weight, 3) + " (" + Math.round(100 * s[1]) + "%)" });
      part.style.width = (100 * s[1]).toFixed(1) + "%";
      part.style.background = sig.colour;
      bar.appendChild(part);
      if (words.length < 3) words.push(sig.name + " " + Math.round(100 * s[1]) + "%");
    });
    return el("div", { cls: "signals" }, [bar, el("div", { cls: "hint sigwords", text: words.join(" · ") + (shares.length > 3 ? " …" : "") })]);
  }
  function triples(flat) { var out = []; for (var k = 0; k + 2 < flat.length; k += 3) out.push(flat.slice(k, k + 3)); return out; }
  function minuteText(m) { return new Date(m * 60000).toISOString().slice(0, 16).replace("T", " "); }
  function sharedView(w, shared) {  // one [kind, how many, flat list] per kind (see html.py's _Explanations)
    var lines = shared.map(function (e) {
      var kind = e[0], n = e[1], more = function (k) { return n > k ? " (+" + (n - k) + " more)" : ""; };
      if (kind === "time" || kind === "created") {
        var span = minuteText(e[2][0]) + " – " + minuteText(e[2][1]) + " UTC";
        return el("div", { text: kind === "time" ? n + " same minute" + (n === 1 ? "" : "s") + ", " + span
          : kind + ": " + n + " same window" + (n === 1 ? "" : "s") + ", " + span });
      }
      if (kind === "template") {
        var ts = triples(e[2]);
        return el("div", null, [el("span", { cls: "kind", text: n + " template" + (n === 1 ? "" : "s") + " " }),
          el("span", { cls: "mono", text: ts.map(function (t) { return w.strings[t[0]]; }).join(", ") }), more(ts.length)]);
      }
      var vs = pairs(e[2]);
      return el("div", null, [el("span", { cls: "kind", text: kind + " " }), el("span", { cls: "mono", text: vs.map(function (v) {
        return (v[0] === null ? "a value the report does not name" : w.strings[v[0]]) + " (used by " + v[1] + ")";
      }).join(", ") }), more(vs.length)]);
    });
    return el("div", { cls: "shared" }, lines.length ? lines : [el("span", { cls: "hint", text: "nothing in the usage graph" })]);
  }
  function reveal() {  // bring the explanation's start into view unless it already is (a click in the drawing keeps the drawing)
    var block = document.getElementById("why-block"), pane = document.getElementById("detail").getBoundingClientRect();
    var top = block.getBoundingClientRect().top;
    if (top < Math.max(0, pane.top) || top > Math.min(pane.bottom, window.innerHeight) - 80) block.scrollIntoView({ block: "start" });
  }
  function explainMember(d, r) {
    var holder = document.getElementById("why"), w = d.why, account = d.members[r][0], m = w ? w.members[r] : null;
    state.chosen = { account: account, path: {} };
    if (m && m[4]) m[4].forEach(function (p) { state.chosen.path[d.members[p][0]] = true; });
    highlight();
    if (!holder) return;
    holder.textContent = "";
    holder.setAttribute("data-account", account);
    if (!m) {
      holder.appendChild(el("div", { cls: "note", text: !w ? account + ": " + whyMissing()
        : account + " is not explained on this page (only the members drawn are): run graphlinker explain " + account }));
      reveal();
      return;
    }
    holder.appendChild(el("div", { cls: "why-head" }, [el("code", { cls: "why-account", text: account }),
      ": " + m[1] + " link" + (m[1] === 1 ? "" : "s") + ", " + m[2] + " to members of this cluster; weighted degree inside it " + fmt(m[3], 3) +
      (w.core === r ? ". It is the cluster's core." : ".")]));
    var path = el("div", { cls: "path" });
    if (m[4] === null) path.appendChild(el("span", { text: "No chain of links inside the cluster reaches its core " + d.members[w.core][0] + "." }));
    else if (m[4].length === 1) path.appendChild(el("span", { text: "This account is the cluster's core: the member with the most link weight." }));
    else {
      path.appendChild(el("span", { cls: "hint", text: "Path to the core (" + (m[4].length - 1) + " link" + (m[4].length === 2 ? "" : "s") + ", the cheapest at 1/weight per link): " }));
      m[4].forEach(function (p, k) {
        if (k) {
          var link = w.links[m[5][k - 1]], top = link[3].length ? (signals[link[3][0]] || { name: "?" }).name : "?";
          path.appendChild(el("span", { cls: "hop", title: "weight " + fmt(link[2], 3), text: " —" + fmt(link[2], 2) + " " + top + "→ " }));
        }
        path.appendChild(endView(d, p, "step"));
      });
    }
    holder.appendChild(path);
    var listed = m[0].map(function (k) { return w.links[k]; });
    holder.appendChild(el("div", { cls: "hint", text: "Its " + listed.length + " strongest link" + (listed.length === 1 ? "" : "s") + " (members first):" }));
    holder.appendChild(table(["partner", "weight", "signals (share of the weight)", "what the two share"], listed.map(function (link) {
      var end = otherEnd(link, r);
      var where = typeof end === "number" ? null : el("div", { cls: "hint", text: link[5] ? "in cluster " + link[5] : "in no cluster" });
      return [el("div", null, [endView(d, end, "partner"), where]), fmt(link[2], 3), signalBar(link), sharedView(w, link[4])];
    }), [false, true, false, false]));
    var seen = {}, tids = [];
    listed.forEach(function (link) {
      link[4].filter(function (e) { return e[0] === "template"; }).forEach(function (e) {
        triples(e[2]).forEach(function (t) { var id = w.strings[t[0]]; if (!seen[id]) { seen[id] = true; tids.push(id); } });
      });
    });
    if (tids.length) holder.appendChild(el("details", { cls: "why-templates" }, [el("summary", { text: "the templates behind these links (redacted exemplars)" }),
      table(["template", "tags", "redacted exemplar"], tids.map(function (id) {
        var t = O.templates[id] || {};
        return [el("span", { cls: "mono", text: id }), el("span", null, (t.tags || []).map(function (g) { return el("span", { cls: "chip", text: g }); })),
          el("div", { cls: "exemplar", text: t.exemplar || "(withheld: redaction would leave the prompt)" })];
      }))]));
    reveal();
  }

  // reasons ---------------------------------------------------------------------------------------------------
  function gatesView(d) {
    if (!(d.not_flagged || []).length) return null;
    return el("div", { cls: "gates" }, [el("div", { cls: "hint", text: "Not flagged because:" }),
      el("ul", null, d.not_flagged.map(function (g) {
        return el("li", { cls: "gate", "data-gate": g.gate }, [el("code", { text: g.gate }), " " + g.detail]);
      }))]);
  }
  function reasonsView(d) {
    if (!d.reasons.length) return [el("div", { cls: "hint", text: "No reason code fired." }), gatesView(d)];
    var most = Math.max.apply(null, d.reasons.map(function (r) { return r.weight; }).concat([0.0001]));
    var bars = el("div", { cls: "bars" }, d.reasons.map(function (r) {
      var fill = el("div", { cls: "fill" });
      fill.style.width = Math.max(2, Math.round(100 * r.weight / most)) + "%";
      return el("div", { cls: "bar reason", "data-code": r.code }, [el("span", { cls: "code", text: r.code + " +" + fmt(r.weight) }),
        el("div", { cls: "track" }, fill), el("div", { cls: "detail", text: r.detail })]);
    }));
    var feats = O.features.filter(function (f, k) { return k < d.features.length; });
    var sigs = Object.keys(d.links_by_signal || {});
    return [bars, gatesView(d),
      sigs.length ? el("div", { cls: "hint", text: "Links inside, by signal: " + sigs.map(function (s) { return s + " " + d.links_by_signal[s]; }).join(", ") }) : null,
      feats.length ? el("details", null, [el("summary", { text: "features" }),
        el("div", { cls: "hint mono", text: feats.map(function (f, k) { return f + " " + (d.features[k] === null || d.features[k] === undefined ? "–" : fmt(d.features[k], 3)); }).join(" · ") })]) : null];
  }

  // timeline ----------------------------------------------------------------------------------------------------
  function pairs(flat) { var out = []; for (var k = 0; k + 1 < flat.length; k += 2) out.push([flat[k], flat[k + 1]]); return out; }
  function barChart(flat, bins, height, colour, label, startIso, binMinutes, id) {
    var series = pairs(flat);
    var W = 1000, H = height, left = 40, bottom = 18, top = 14, w = (W - left - 8) / Math.max(1, bins);
    var most = Math.max.apply(null, series.map(function (p) { return p[1]; }).concat([1]));
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, id: id });
    svg.appendChild(sv("text", { x: left, y: 11, text: label + " (most " + int(most) + ")" }));
    svg.appendChild(sv("line", { x1: left, y1: H - bottom, x2: W - 8, y2: H - bottom, stroke: "#bbb" }));
    var bars = sv("g", { fill: colour });
    series.forEach(function (p) {
      var h = (H - bottom - top) * p[1] / most;
      bars.appendChild(sv("rect", { x: (left + p[0] * w).toFixed(1), y: (H - bottom - h).toFixed(1), width: Math.max(1, w - 0.5).toFixed(1), height: Math.max(0.5, h).toFixed(1) },
        sv("title", { text: stamp(addMinutes(startIso, p[0] * binMinutes), binMinutes) + ": " + p[1] })));
    });
    svg.appendChild(bars);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var k = Math.round(f * (bins - 1));
      svg.appendChild(sv("text", { x: (left + k * w).toFixed(1), y: H - 4, "text-anchor": f === 1 ? "end" : f === 0 ? "start" : "middle",
        text: stamp(addMinutes(startIso, k * binMinutes), binMinutes) }));
    });
    return svg;
  }
  function timelineView(d) {
    var out = [], t = d.timeline;
    if (!t) out.push(el("div", { cls: "hint", text: "No per-minute activity windows for these members in the store." }));
    else {
      out.push(el("div", { cls: "hint", text: t.active_members + " members active from " + when(t.start) + "; one bar per " + binText(t.bin_minutes) + "." }));
      out.push(barChart(t.requests, t.bins, 110, "#4a6785", "requests per " + binText(t.bin_minutes) + ", all members", t.start, t.bin_minutes, "requests-chart"));
      out.push(barChart(t.together, t.bins, 110, "#c62828", "most members active in one and the same minute", t.start, t.bin_minutes, "together-chart"));
      out.push(el("div", { cls: "hint", text: "Busiest minutes: " + t.peaks.map(function (p) { return p[1] + " members at " + when(p[0]); }).join("; ") + "." }));
      out.push(raster(t, d));
    }
    var c = d.created;
    if (c) {
      out.push(barChart(c.counts, c.bins, 100, "#7b5ea7", "accounts created per " + binText(c.bin_minutes), c.start, c.bin_minutes, "created-chart"));
      if (c.missing) out.push(el("div", { cls: "hint", text: c.missing + " members have no creation time." }));
    }
    return out;
  }
  function raster(t, d) {
    var rowsShown = t.raster.length, left = 150, W = 1000, rh = rowsShown > 25 ? 8 : 12, H = rowsShown * rh + 8;
    var w = (W - left - 8) / Math.max(1, t.bins), most = 1;
    var lines = t.raster.map(function (r) { return [r[0], pairs(r[1])]; });
    lines.forEach(function (r) { r[1].forEach(function (p) { most = Math.max(most, p[1]); }); });
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, id: "raster" });
    lines.forEach(function (r, k) {
      var y = 4 + k * rh, account = d.members[r[0]][0];
      if (rh >= 12 || k % 2 === 0) svg.appendChild(sv("text", { x: 4, y: y + rh - 2, text: account }));
      var g = sv("g", { fill: "#1f5fa8", "data-account": account }, sv("title", { text: account }));
      r[1].forEach(function (p) {
        var cell = sv("rect", { x: (left + p[0] * w).toFixed(1), y: y, width: Math.max(1.2, w).toFixed(1), height: rh - 2,
          "fill-opacity": (0.25 + 0.75 * Math.sqrt(p[1] / most)).toFixed(2) });
        g.appendChild(cell);
      });
      svg.appendChild(g);
    });
    return el("div", null, [el("div", { cls: "hint", text: "Each member's activity (a row per member, the busiest " + rowsShown +
      (t.raster_hidden ? "; " + t.raster_hidden + " quieter members not shown" : "") + "): columns lit together are synchronised bursts." }), svg]);
  }

  // tables --------------------------------------------------------------------------------------------------------
  function table(headers, body, numeric) {
    return el("table", null, [el("thead", null, el("tr", null, headers.map(function (h, k) { return el("th", { cls: numeric && numeric[k] ? "num" : null, text: h }); }))),
      el("tbody", null, body.map(function (cells) {
        return el("tr", null, cells.map(function (x, k) { return el("td", { cls: numeric && numeric[k] ? "num" : null }, [x]); }));
      }))]);
  }
  function identifiersView(d) {
    var body = [];
    Object.keys(d.identifiers).forEach(function (kind) {
      d.identifiers[kind].forEach(function (i) { body.push([kind, el("span", { cls: "mono", text: i.value }), String(i.accounts)]); });
    });
    if (!body.length) return [el("div", { cls: "hint", text: "No identifier shared by two or more members (after hub discounting)." })];
    return [table(["kind", "value", "members using it"], body, [false, false, true])];
  }
  function templatesView(d) {
    if (!d.templates.length) return [el("div", { cls: "hint", text: "No template shared by two or more members." })];
    return [table(["template", "members", "requests", "all senders (accounts / prompts)", "tags", "redacted exemplar"], d.templates.map(function (x) {
      var t = O.templates[x[0]] || {};
      return [el("span", { cls: "mono", text: x[0] }), String(x[1]), int(x[2]),
        t.accounts_all === undefined ? "–" : int(t.accounts_all) + " / " + int(t.prompts_all),
        el("span", null, (t.tags || []).map(function (g) { return el("span", { cls: "chip", text: g }); })),
        el("div", { cls: "exemplar", text: t.exemplar || "(withheld: redaction would leave the prompt)" })];
    }), [false, true, true, true, false, false]),
    el("div", { cls: "hint", text: "Exemplars are redacted as in every other output; raw prompts are never stored." })];
  }
  function membersView(d) {
    var limit = 50, holder = el("div");
    function fill(n) {
      holder.textContent = "";
      holder.appendChild(table(["account", "created", "requests", "output tokens", "country"], d.members.slice(0, n).map(function (m, r) {
        return [memberButton(d, r), when(m[1]), int(m[2]), int(m[3]), m[4] || "–"];
      }), [false, false, true, true, false]));
      if (d.members.length > n) holder.appendChild(el("button", { cls: "link", text: "show all " + d.members.length + " members", onclick: function () { fill(d.members.length); } }));
    }
    fill(limit);
    return [holder];
  }
  function historyView(d) {
    if (!d.history.length) return [el("div", { cls: "hint", text: "Only in this run." })];
    var body = d.history.map(function (h) {
      var words = h.changes.map(function (c) { return changeText(c) + (c.related.length ? " (" + c.related.join(", ") + ")" : ""); })
        .concat(h.about.map(function (a) { return a.change + " of " + a.of; }));
      return [el("span", { cls: "mono", text: h.run_id }), String(h.size), fmt(h.risk), h.flagged ? "yes" : "no", words.join("; ") || "kept"];
    });
    var first = O.run.history_runs.length ? O.run.history_runs[0] : null;
    return [table(["run", "size", "risk", "flagged", "what happened to this id"], body, [false, true, true, false, false]),
      el("div", { cls: "hint", text: "Runs looked at: the last " + O.run.history_runs.length + (first ? " (from " + first + ")" : "") +
        "; a run without this id is left out. Ids carry over to substantially the same group (see the README's cluster-id rule)." })];
  }

  // changes tab ---------------------------------------------------------------------------------------------------
  function changesPane() {
    if (!O.diff) return [el("div", { cls: "empty", text: "No earlier run to compare with." })];
    var counts = Object.keys(O.diff.counts).filter(function (k) { return O.diff.counts[k]; }).map(function (k) { return k + " " + O.diff.counts[k]; });
    var index = {};
    O.clusters.forEach(function (c, i) { index[c.id] = i; });
    function idCell(id) {
      if (!(id in index)) return el("span", { cls: "mono", text: id });
      return el("button", { cls: "link mono", text: id, onclick: function () { showTab("clusters"); openCluster(index[id]); } });
    }
    return [el("p", { text: "From run " + O.diff.from_run + " to run " + O.diff.to_run + ": " + (counts.join(", ") || "no changes") + "." }),
      table(["change", "cluster", "size", "risk", "flagged", "+/−", "related", "verdict"], O.diff.changes.map(function (e) {
        return [el("span", { cls: "chip change-" + e.change, text: e.change }), idCell(e.cluster_id),
          (e.size_before === e.size_after ? String(e.size_after) : (e.size_before === null ? "–" : e.size_before) + "→" + (e.size_after === null ? "–" : e.size_after)),
          fmt(e.risk_after), e.flagged_after === null ? "–" : (e.flagged_after ? "yes" : "no"), "+" + e.accounts_added + "/−" + e.accounts_removed,
          el("span", null, e.related.map(idCell).reduce(function (acc, x, k) { if (k) acc.push(", "); acc.push(x); return acc; }, [])),
          e.verdict || ""];
      }), [false, false, true, true, false, true, false, false])];
  }
  function aboutPane() {
    return [el("p", { text: "One self-contained file: no part of it is fetched over the network (its Content-Security-Policy forbids it)." }),
      el("p", { text: "Clusters are ranked by risk. The search matches account ids, the identifier values and template ids the evidence names, and cluster ids." }),
      el("p", { text: "A drawing shows at most " + O.limits.draw + " members (the ones with the most link weight) and at most " + O.limits.edges_per_node +
        " links per member, always including the strongest spanning tree; what it hides is said above it." }),
      el("p", { text: O.explain.available ? "Clicking a member (in the drawing or the member list) explains why it is in its cluster: its " + O.explain.links +
        " strongest links with each signal's share, what the two accounts share (at most " + O.explain.listed + " values per kind, only values the report names) and its cheapest chain of links to the core, as graphlinker explain computes them." : O.explain.note }),
      el("p", { text: "Activity comes from the usage graph's one-minute windows as the store holds them now; account creation times from the accounts." }),
      el("p", { text: "Privacy: exemplars are redacted, raw prompts are never stored, identifier values are those the JSON report shows." })];
  }

  // --- start ---------------------------------------------------------------------------------------------------
  var app = document.getElementById("app");
  app.appendChild(header());
  app.appendChild(tabs());
  app.appendChild(el("div", { id: "pane-clusters" }, el("main", null, [el("div", { id: "overview" }, overview()),
    el("div", { id: "detail" }, el("div", { cls: "empty", text: O.clusters.length ? "Open a cluster from the list." : "" }))])));
  app.appendChild(el("div", { id: "pane-changes", cls: "pane" }, el("div", { id: "changes" }, changesPane())));
  app.appendChild(el("div", { id: "pane-about", cls: "pane" }, el("div", { id: "changes-about" }, aboutPane())));
  showTab(state.tab);
  filter();
  var wanted = /^#cluster=(.+)$/.exec(location.hash);
  var start = wanted ? O.clusters.findIndex(function (c) { return c.id === decodeURIComponent(wanted[1]); }) : -1;
  if (start >= 0) openCluster(start, true);
  else if (O.clusters.length && state.tab === "clusters") openCluster(0, true);
  document.body.setAttribute("data-ready", "1");
})();
