"""Every Cypher statement the Neo4j store runs, as constants that take parameters.

Labels and relationship types cannot be parameters in Cypher, so each usage
kind has its own constant statement, built once at import from the kind registry
(:mod:`graphlinker.kinds`); no user value is ever formatted into a query string.
"""

from graphlinker.kinds import KINDS

# The graph model of the usage kinds, from the one registry (graphlinker.kinds): kinds with a node of
# their own, then every other kind as a generic (:Identifier {kind, value}) node.
_NODES = {name: kind.node for name, kind in KINDS.items() if kind.node is not None}
_USAGE_RELATIONSHIPS = "|".join([node.relationship for node in _NODES.values()] + ["HAS_IDENTIFIER"])
_KIND_OF_RELATIONSHIP = ("CASE type(r) " + " ".join(f"WHEN '{node.relationship}' THEN '{name}'" for name, node in _NODES.items())
                         + " ELSE t.kind END")
_IDENTIFIER_VALUE = "coalesce(" + ", ".join(f"t.{node.key}" for node in _NODES.values()) + ", t.value)"
_IDENTIFIER_NODES = " OR ".join(f"n:{label}" for label in [node.label for node in _NODES.values()] + ["Identifier"])


SCHEMA = [
    "CREATE CONSTRAINT account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.account_id IS UNIQUE",
    "CREATE CONSTRAINT payment_fingerprint IF NOT EXISTS FOR (n:PaymentMethod) REQUIRE n.fingerprint IS UNIQUE",
    "CREATE CONSTRAINT ip_address IF NOT EXISTS FOR (n:IP) REQUIRE n.address IS UNIQUE",
    "CREATE CONSTRAINT subnet_cidr IF NOT EXISTS FOR (n:Subnet) REQUIRE n.cidr IS UNIQUE",
    "CREATE CONSTRAINT model_name IF NOT EXISTS FOR (n:Model) REQUIRE n.name IS UNIQUE",
    "CREATE CONSTRAINT template_id IF NOT EXISTS FOR (n:PromptTemplate) REQUIRE n.template_id IS UNIQUE",
    "CREATE CONSTRAINT identifier_key IF NOT EXISTS FOR (n:Identifier) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT cluster_key IF NOT EXISTS FOR (n:Cluster) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT run_id IF NOT EXISTS FOR (n:Run) REQUIRE n.run_id IS UNIQUE",
    "CREATE INDEX identifier_kind IF NOT EXISTS FOR (n:Identifier) ON (n.kind)",
    "CREATE INDEX cluster_run IF NOT EXISTS FOR (n:Cluster) ON (n.run_id, n.cluster_id)",
    "CREATE INDEX run_latest IF NOT EXISTS FOR (n:Run) ON (n.latest)",
    "CREATE INDEX account_created IF NOT EXISTS FOR (n:Account) ON (n.created_at)",
    "CREATE CONSTRAINT lock_name IF NOT EXISTS FOR (n:Lock) REQUIRE n.name IS UNIQUE",
    "CREATE INDEX loaded_file_run IF NOT EXISTS FOR (n:LoadedFile) ON (n.run_id)",
    "CREATE INDEX event_keys_run IF NOT EXISTS FOR (n:EventKeys) ON (n.run_id)",
    "CREATE INDEX grouper_part_run IF NOT EXISTS FOR (n:GrouperPart) ON (n.run_id)",
    "CREATE INDEX account_batch IF NOT EXISTS FOR (n:Account) ON (n.batch)",
    "CREATE INDEX template_batch IF NOT EXISTS FOR (n:PromptTemplate) ON (n.batch)",
    "CREATE CONSTRAINT verdict_id IF NOT EXISTS FOR (n:Verdict) REQUIRE n.verdict_id IS UNIQUE",
    "CREATE INDEX verdict_cluster IF NOT EXISTS FOR (n:Verdict) ON (n.cluster_id)",
]

# --- reset ----------------------------------------------------------------------------------
DELETE_USAGE = f"""
MATCH (:Account)-[r:{_USAGE_RELATIONSHIPS}]->()
CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 20000 ROWS
"""
DELETE_IDENTIFIER_NODES = f"""
MATCH (n) WHERE {_IDENTIFIER_NODES}
CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 20000 ROWS
"""
DEACTIVATE_ACCOUNTS = """
MATCH (a:Account)
CALL (a) {
  OPTIONAL MATCH (a)-[m:MEMBER_OF]->()
  WITH a, count(m) AS memberships
  FOREACH (_ IN CASE WHEN memberships = 0 THEN [1] ELSE [] END | DETACH DELETE a)
  FOREACH (_ IN CASE WHEN memberships > 0 THEN [1] ELSE [] END |
    SET a.active = false, a.requests = 0, a.input_tokens = 0, a.output_tokens = 0)
} IN TRANSACTIONS OF 20000 ROWS
"""

# --- loading (UNWIND $rows, batched) --------------------------------------------------------------
MERGE_ACCOUNTS = """
UNWIND $rows AS row
MERGE (a:Account {account_id: row.account_id})
WITH a, row, a.batch = $batch AS again
SET a.prev_exists = CASE WHEN again THEN a.prev_exists ELSE a.active IS NOT NULL END,
    a.prev_active = CASE WHEN again THEN a.prev_active ELSE a.active END,
    a.prev_requests = CASE WHEN again THEN a.prev_requests ELSE a.requests END,
    a.prev_input_tokens = CASE WHEN again THEN a.prev_input_tokens ELSE a.input_tokens END,
    a.prev_output_tokens = CASE WHEN again THEN a.prev_output_tokens ELSE a.output_tokens END,
    a.prev_created_at = CASE WHEN again THEN a.prev_created_at ELSE a.created_at END,
    a.prev_email_domain = CASE WHEN again THEN a.prev_email_domain ELSE a.email_domain END,
    a.prev_country = CASE WHEN again THEN a.prev_country ELSE a.country END,
    a.prev_org_id = CASE WHEN again THEN a.prev_org_id ELSE a.org_id END,
    a.batch = $batch
SET a.created_at = CASE WHEN row.created_ms IS NULL THEN null ELSE datetime({epochMillis: row.created_ms}) END,
    a.email_domain = row.email_domain, a.country = row.country, a.org_id = row.org_id,
    a.requests = row.requests, a.input_tokens = row.input_tokens, a.output_tokens = row.output_tokens,
    a.active = true
"""

# Every graph write of a run or refresh records the batch and the value it replaced (prev_*), so an
# interrupted batch can be undone exactly (ROLLBACK_*) before the next writer starts. A row written
# twice in one batch keeps its first prev_*.
_USAGE_SET = """
SET r.prev_count = CASE WHEN r.batch = $batch THEN r.prev_count ELSE r.count END,
    r.prev_first = CASE WHEN r.batch = $batch THEN r.prev_first ELSE r.first_seen END,
    r.prev_last = CASE WHEN r.batch = $batch THEN r.prev_last ELSE r.last_seen END,
    r.batch = $batch
SET r.count = row.count,
    r.first_seen = CASE WHEN row.first_ms IS NULL THEN null ELSE datetime({epochMillis: row.first_ms}) END,
    r.last_seen = CASE WHEN row.last_ms IS NULL THEN null ELSE datetime({epochMillis: row.last_ms}) END
"""

MERGE_USAGE = {  # one statement per kind with a node of its own (labels cannot be parameters)
    name: "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    f"MERGE (t:{node.label} {{{node.key}: row.value}}) MERGE (a)-[r:{node.relationship}]->(t)" + _USAGE_SET
    for name, node in _NODES.items()
}
MERGE_IDENTIFIER_USAGE = (
    "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:Identifier {key: row.kind + ':' + row.value}) ON CREATE SET t.kind = row.kind, t.value = row.value "
    "MERGE (a)-[r:HAS_IDENTIFIER]->(t)" + _USAGE_SET
)

# A full rebuild emptied the graph: every usage relationship is new, so it is created without MERGE's
# check for an existing one (an interrupted rebuild is never undone, only run again; no prev_* needed).
_USAGE_NEW = """ CREATE (a)-[r:{rel} {{count: row.count, batch: $batch,
    first_seen: CASE WHEN row.first_ms IS NULL THEN null ELSE datetime({{epochMillis: row.first_ms}}) END,
    last_seen: CASE WHEN row.last_ms IS NULL THEN null ELSE datetime({{epochMillis: row.last_ms}}) END}}]->(t)"""
CREATE_USAGE = {
    name: "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    f"MERGE (t:{node.label} {{{node.key}: row.value}})" + _USAGE_NEW.format(rel=node.relationship)
    for name, node in _NODES.items()
}
CREATE_IDENTIFIER_USAGE = (
    "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:Identifier {key: row.kind + ':' + row.value}) ON CREATE SET t.kind = row.kind, t.value = row.value"
    + _USAGE_NEW.format(rel="HAS_IDENTIFIER")
)

MERGE_TEMPLATES = """
UNWIND $rows AS row
MERGE (t:PromptTemplate {template_id: row.template_id})
WITH t, row, t.batch = $batch AS again
SET t.prev_exists = CASE WHEN again THEN t.prev_exists ELSE t.prompt_count IS NOT NULL END,
    t.prev_exemplar = CASE WHEN again THEN t.prev_exemplar ELSE t.exemplar END,
    t.prev_tags = CASE WHEN again THEN t.prev_tags ELSE t.extraction_tags END,
    t.prev_prompt_count = CASE WHEN again THEN t.prev_prompt_count ELSE t.prompt_count END,
    t.prev_account_count = CASE WHEN again THEN t.prev_account_count ELSE t.account_count END,
    t.prev_signature = CASE WHEN again THEN t.prev_signature ELSE t.signature END,
    t.prev_first = CASE WHEN again THEN t.prev_first ELSE t.first_seen END,
    t.prev_last = CASE WHEN again THEN t.prev_last ELSE t.last_seen END,
    t.batch = $batch
SET t.exemplar = row.exemplar, t.extraction_tags = row.extraction_tags, t.prompt_count = row.prompt_count,
    t.account_count = row.account_count, t.signature = row.signature,
    t.first_seen = CASE WHEN row.first_ms IS NULL THEN null ELSE datetime({epochMillis: row.first_ms}) END,
    t.last_seen = CASE WHEN row.last_ms IS NULL THEN null ELSE datetime({epochMillis: row.last_ms}) END
"""

# --- undoing an interrupted batch (each statement is safe to run again) ------------------------------
ROLLBACK_NEW_USAGE = f"""
MATCH (:Account)-[r:{_USAGE_RELATIONSHIPS}]->()
WHERE r.batch = $batch AND r.prev_count IS NULL
CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 20000 ROWS
"""
ROLLBACK_USAGE = f"""
MATCH (:Account)-[r:{_USAGE_RELATIONSHIPS}]->()
WHERE r.batch = $batch
CALL (r) {{ SET r.count = r.prev_count, r.first_seen = r.prev_first, r.last_seen = r.prev_last, r.batch = null }}
IN TRANSACTIONS OF 20000 ROWS
"""
# deleting and restoring are separate statements: a node deleted in a transaction cannot be read again in it
ROLLBACK_NEW_ACCOUNTS = """
MATCH (a:Account) WHERE a.batch = $batch AND NOT a.prev_exists
CALL (a) {
  OPTIONAL MATCH (a)-[m:MEMBER_OF]->()
  WITH a, count(m) AS memberships
  FOREACH (_ IN CASE WHEN memberships = 0 THEN [1] ELSE [] END | DETACH DELETE a)
  FOREACH (_ IN CASE WHEN memberships > 0 THEN [1] ELSE [] END |
    SET a.active = false, a.requests = 0, a.input_tokens = 0, a.output_tokens = 0, a.batch = null)
} IN TRANSACTIONS OF 20000 ROWS
"""
ROLLBACK_ACCOUNTS = """
MATCH (a:Account) WHERE a.batch = $batch AND a.prev_exists
CALL (a) {
  SET a.active = a.prev_active, a.requests = a.prev_requests, a.input_tokens = a.prev_input_tokens,
      a.output_tokens = a.prev_output_tokens, a.created_at = a.prev_created_at, a.email_domain = a.prev_email_domain,
      a.country = a.prev_country, a.org_id = a.prev_org_id, a.batch = null
} IN TRANSACTIONS OF 20000 ROWS
"""
ROLLBACK_NEW_TEMPLATES = """
MATCH (t:PromptTemplate) WHERE t.batch = $batch AND NOT t.prev_exists
CALL (t) { DETACH DELETE t } IN TRANSACTIONS OF 20000 ROWS
"""
ROLLBACK_TEMPLATES = """
MATCH (t:PromptTemplate) WHERE t.batch = $batch AND t.prev_exists
CALL (t) {
  SET t.exemplar = t.prev_exemplar, t.extraction_tags = t.prev_tags, t.prompt_count = t.prev_prompt_count,
      t.account_count = t.prev_account_count, t.signature = t.prev_signature, t.first_seen = t.prev_first,
      t.last_seen = t.prev_last, t.batch = null
} IN TRANSACTIONS OF 20000 ROWS
"""
DELETE_ORPHAN_IDENTIFIERS = """
MATCH (n) WHERE (n:PaymentMethod OR n:IP OR n:Subnet OR n:Model OR n:PromptTemplate OR n:Identifier) AND NOT (n)--()
CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS
"""
DELETE_UNPUBLISHED_RUNS = """
MATCH (r:Run) WHERE NOT coalesce(r.published, false)
OPTIONAL MATCH (c:Cluster)-[:IN_RUN]->(r)
DETACH DELETE c, r
"""
# ledger rows of unpublished runs, and of runs before the last full rebuild (their graph is gone)
DELETE_UNPUBLISHED_LEDGER = """
OPTIONAL MATCH (latest:Run {latest: true})
MATCH (n) WHERE (n:LoadedFile OR n:EventKeys OR n:GrouperPart)
  AND NOT EXISTS { MATCH (r:Run {run_id: n.run_id}) WHERE r.published AND r.base = latest.base }
DETACH DELETE n
"""
READ_LATEST_BASE = "MATCH (r:Run {latest: true}) RETURN r.base AS base"
DELETE_UNPUBLISHED_LINKS = """
MATCH (:Account)-[l:LINKED]->(:Account) WHERE NOT EXISTS { MATCH (r:Run {run_id: l.run_id}) WHERE r.published }
CALL (l) { DELETE l } IN TRANSACTIONS OF 20000 ROWS
"""

# --- the pending batch and the lease lock ------------------------------------------------------------
READ_PENDING = "MATCH (p:Pending {name: 'graph'}) RETURN p.batch AS batch, p.rebuild AS rebuild"
SET_PENDING = """
MERGE (p:Pending {name: 'graph'})
SET p.batch = $batch, p.rebuild = $rebuild
"""
CLEAR_PENDING = "MATCH (p:Pending {name: 'graph'}) SET p.batch = null, p.rebuild = false"
ACQUIRE_LOCK = """
MERGE (l:Lock {name: $name})
SET l.attempts = coalesce(l.attempts, 0) + 1
WITH l, (l.owner IS NULL OR l.expires_at < datetime() OR l.owner = $owner) AS free
SET l.owner = CASE WHEN free THEN $owner ELSE l.owner END,
    l.holder = CASE WHEN free THEN $holder ELSE l.holder END,
    l.expires_at = CASE WHEN free THEN datetime() + duration({seconds: $ttl}) ELSE l.expires_at END
RETURN free, l.holder AS holder
"""
RENEW_LOCK = """
MATCH (l:Lock {name: $name, owner: $owner})
SET l.expires_at = datetime() + duration({seconds: $ttl})
RETURN count(l) AS renewed
"""
RELEASE_LOCK = "MATCH (l:Lock {name: $name, owner: $owner}) SET l.owner = null, l.holder = null"

# --- the ledger -------------------------------------------------------------------------------------
CREATE_LOADED_FILES = """
UNWIND $rows AS row
CREATE (f:LoadedFile) SET f = row
"""
# `format`: the event key format of `keys` (graphlinker.ingest.ledger.KEY_FORMAT); nodes written before key
# format 1 have none and hold format-0 keys
CREATE_EVENT_KEYS = """
UNWIND $rows AS row
CREATE (k:EventKeys {run_id: row.run_id, part: row.part, format: row.format, keys: row.keys})
"""
CREATE_GROUPER_PART = """
UNWIND $rows AS row
CREATE (g:GrouperPart {run_id: row.run_id, started: row.started, piece: row.piece, data: row.data})
"""
READ_GROUPER_PARTS = """
MATCH (latest:Run {latest: true})
MATCH (g:GrouperPart) WHERE EXISTS { MATCH (r:Run {run_id: g.run_id}) WHERE r.published AND r.base = latest.base }
RETURN g.run_id AS run_id, g.started AS started, g.piece AS piece, g.data AS data
ORDER BY g.started, g.run_id, g.piece
"""
READ_LEDGER = """
MATCH (latest:Run {latest: true})
MATCH (f:LoadedFile) WHERE EXISTS { MATCH (r:Run {run_id: f.run_id}) WHERE r.published AND r.base = latest.base }
RETURN f.file_hash AS file_hash, f.name AS name, f.kind AS kind, f.rows AS rows, f.new_rows AS new_rows, f.run_id AS run_id
"""
READ_EVENT_KEYS = """
MATCH (latest:Run {latest: true})
MATCH (k:EventKeys) WHERE coalesce(k.format, 0) = $format
  AND EXISTS { MATCH (r:Run {run_id: k.run_id}) WHERE r.published AND r.base = latest.base }
RETURN k.keys AS keys
"""

# --- reading ------------------------------------------------------------------------------------
READ_ACCOUNTS = """
MATCH (a:Account) WHERE a.active
RETURN a.account_id AS account_id, a.created_at.epochMillis AS created_ms, a.email_domain AS email_domain,
       a.country AS country, a.org_id AS org_id
"""
READ_STATS = """
MATCH (a:Account) WHERE a.active AND a.requests > 0
RETURN a.account_id AS account_id, a.requests AS requests, a.input_tokens AS input_tokens, a.output_tokens AS output_tokens
"""
READ_USAGE = f"""
MATCH (a:Account)-[r:{_USAGE_RELATIONSHIPS}]->(t)
RETURN a.account_id AS account_id,
       {_KIND_OF_RELATIONSHIP} AS kind,
       {_IDENTIFIER_VALUE} AS value,
       r.count AS count, r.first_seen.epochMillis AS first_ms, r.last_seen.epochMillis AS last_ms
"""
READ_TEMPLATES = """
MATCH (t:PromptTemplate) WHERE t.prompt_count IS NOT NULL
RETURN t.template_id AS template_id, t.exemplar AS exemplar, t.extraction_tags AS extraction_tags, t.prompt_count AS prompt_count,
       t.account_count AS account_count, t.first_seen.epochMillis AS first_ms, t.last_seen.epochMillis AS last_ms,
       t.signature AS signature
"""
READ_ACCOUNTS_OF = """
MATCH (a:Account) WHERE a.account_id IN $ids AND a.active
RETURN a.account_id AS account_id, a.created_at.epochMillis AS created_ms, a.email_domain AS email_domain,
       a.country AS country, a.org_id AS org_id
"""
READ_STATS_OF = """
MATCH (a:Account) WHERE a.account_id IN $ids AND a.active AND a.requests > 0
RETURN a.account_id AS account_id, a.requests AS requests, a.input_tokens AS input_tokens, a.output_tokens AS output_tokens
"""
# the usage rows a delta touches: its accounts' rows whose value is among the delta's values (a small superset)
READ_USAGE_OF = f"""
MATCH (a:Account)-[r:{_USAGE_RELATIONSHIPS}]->(t) WHERE a.account_id IN $ids
WITH a, r, t, {_IDENTIFIER_VALUE} AS value
WHERE value IN $values
RETURN a.account_id AS account_id,
       {_KIND_OF_RELATIONSHIP} AS kind,
       value,
       r.count AS count, r.first_seen.epochMillis AS first_ms, r.last_seen.epochMillis AS last_ms
"""
READ_TEMPLATES_OF = """
MATCH (t:PromptTemplate) WHERE t.template_id IN $ids AND t.prompt_count IS NOT NULL
RETURN t.template_id AS template_id, t.exemplar AS exemplar, t.extraction_tags AS extraction_tags, t.prompt_count AS prompt_count,
       t.account_count AS account_count, t.first_seen.epochMillis AS first_ms, t.last_seen.epochMillis AS last_ms,
       t.signature AS signature
"""
READ_TEMPLATE_USAGE_OF = """
MATCH (a:Account)-[r:SENT_TEMPLATE]->(t:PromptTemplate) WHERE t.template_id IN $ids
RETURN a.account_id AS account_id, 'template' AS kind, t.template_id AS value,
       r.count AS count, r.first_seen.epochMillis AS first_ms, r.last_seen.epochMillis AS last_ms
"""
READ_TEMPLATE_USAGE = """
MATCH (a:Account)-[r:SENT_TEMPLATE]->(t:PromptTemplate)
RETURN a.account_id AS account_id, 'template' AS kind, t.template_id AS value,
       r.count AS count, r.first_seen.epochMillis AS first_ms, r.last_seen.epochMillis AS last_ms
"""

# --- runs ---------------------------------------------------------------------------------------
CREATE_RUN = """
MERGE (r:Run {run_id: $run_id})
SET r.started_at = datetime($started_at), r.finished_at = datetime($finished_at), r.params = $params,
    r.counts = $counts, r.outcome = $outcome, r.report = $report, r.record = $record, r.base = $base,
    r.mirror_token = $mirror_token, r.link_signals = $link_signals,
    r.latest = coalesce(r.latest, false),
    r.published = coalesce(r.published, false)
"""
MERGE_CLUSTERS = """
UNWIND $rows AS row
MATCH (run:Run {run_id: $run_id})
MERGE (c:Cluster {key: $run_id + '/' + row.cluster_id})
SET c.cluster_id = row.cluster_id, c.run_id = $run_id, c.size = row.size, c.risk_score = row.risk_score,
    c.flagged = row.flagged, c.reason_codes = row.reason_codes, c.reasons = row.reasons, c.evidence = row.evidence
MERGE (c)-[:IN_RUN]->(run)
"""
# CREATE, not MERGE: a run's clusters are new nodes, so none has a member yet (an unpublished attempt's
# leftovers are removed before the next write); MERGE scanned a large cluster's members for every new one
CREATE_MEMBERSHIP = """
UNWIND $rows AS row
MATCH (a:Account {account_id: row.account_id})
MATCH (c:Cluster {key: $run_id + '/' + row.cluster_id})
CREATE (a)-[:MEMBER_OF]->(c)
"""
DELETE_RUN_LINKS = """
MATCH (:Account)-[l:LINKED {run_id: $run_id}]->(:Account)
CALL (l) { DELETE l } IN TRANSACTIONS OF 20000 ROWS
"""
# a link carries only its non-zero signals (most links have two of eight): 1.6x faster to create;
# the run's `link_signals` names them all, and readers take a missing one as 0
CREATE_LINKS = """
UNWIND $rows AS row
MATCH (a:Account {account_id: row.account_a})
MATCH (b:Account {account_id: row.account_b})
CREATE (a)-[l:LINKED]->(b)
SET l = row.props, l.run_id = $run_id
"""
MARK_LATEST = """
OPTIONAL MATCH (old:Run {latest: true}) WHERE old.run_id <> $run_id
SET old.latest = false
WITH count(old) AS _
MATCH (r:Run {run_id: $run_id}) SET r.latest = true, r.published = true
WITH r
OPTIONAL MATCH (p:Pending {name: 'graph'})
SET p.batch = null, p.rebuild = false
"""
DELETE_STALE_LINKS = """
MATCH (:Account)-[l:LINKED]->(:Account) WHERE l.run_id <> $run_id
CALL (l) { DELETE l } IN TRANSACTIONS OF 20000 ROWS
"""
# --- analysts' verdicts: nodes of their own, kept across runs and rebuilds (graphlinker.analysis.verdicts) ----------
CREATE_VERDICT = """
CREATE (v:Verdict {verdict_id: $verdict_id})
SET v.cluster_id = $cluster_id, v.verdict = $verdict, v.note = $note, v.by = $by, v.at = $at, v.run_id = $run_id,
    v.size = $size, v.members = $members, v.reason_codes = $reason_codes
"""
READ_VERDICTS = """
MATCH (v:Verdict)
RETURN v.verdict_id AS verdict_id, v.cluster_id AS cluster_id, v.verdict AS verdict, v.note AS note, v.by AS by,
       v.at AS at, v.run_id AS run_id, v.size AS size, coalesce(v.members, []) AS members,
       coalesce(v.reason_codes, []) AS reason_codes
ORDER BY v.at, v.verdict_id
"""
READ_LATEST_REPORT = "MATCH (r:Run {latest: true}) RETURN r.report AS report"

# --- what a bulk rebuild carries over (graphlinker.store.bulk_import) ----------------------------------
READ_RUN_HISTORY = """
MATCH (r:Run) WHERE r.published
RETURN r.run_id AS run_id, r.started_at AS started_at, r.finished_at AS finished_at, r.params AS params,
       r.counts AS counts, r.outcome AS outcome, r.report AS report, r.record AS record, r.base AS base,
       r.mirror_token AS mirror_token, r.link_signals AS link_signals, r.latest AS latest
"""
READ_CLUSTER_HISTORY = """
MATCH (c:Cluster)-[:IN_RUN]->(r:Run) WHERE r.published
RETURN c.key AS key, c.cluster_id AS cluster_id, c.run_id AS run_id, c.size AS size, c.risk_score AS risk_score,
       c.flagged AS flagged, c.reason_codes AS reason_codes, c.reasons AS reasons, c.evidence AS evidence
"""
READ_MEMBERSHIP_HISTORY = """
MATCH (a:Account)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(r:Run) WHERE r.published
RETURN a.account_id AS account_id, c.key AS key
"""
READ_LOCK = "MATCH (l:Lock {name: $name}) RETURN l.name AS name, l.owner AS owner, l.holder AS holder, l.attempts AS attempts"
# the importer writes an empty list as no property; the batched writes stored []
RESTORE_EMPTY_LISTS = "MATCH (c:Cluster) WHERE c.reason_codes IS NULL SET c.reason_codes = []"
DATABASE_IS_EMPTY = """
RETURN NOT EXISTS { MATCH (:Account) } AND NOT EXISTS { MATCH (:Run) } AS empty
"""

# --- the columnar mirror of the usage graph (graphlinker.store.mirror) ---------------------------------
READ_MIRROR_TOKEN = "MATCH (r:Run {latest: true}) WHERE r.published RETURN r.mirror_token AS token"
READ_DATABASE_ID = "CALL db.info() YIELD id RETURN id"
# what a mirror must still match: node and relationship counts of the usage graph (each answered from
# Neo4j's count store, without reading the graph)
GRAPH_COUNTS = {
    "accounts": "MATCH (n:Account) RETURN count(n) AS n",
    "templates": "MATCH (n:PromptTemplate) RETURN count(n) AS n",
    **{rel: f"MATCH ()-[r:{rel}]->() RETURN count(r) AS n" for rel in _USAGE_RELATIONSHIPS.split("|")},
}
READ_REPORT = "MATCH (r:Run {run_id: $run_id}) WHERE r.published RETURN r.report AS report"
READ_RUNS = """
MATCH (r:Run) WHERE r.published
RETURN r.run_id AS run_id, r.record AS record
ORDER BY r.started_at
"""
# the latest run's links (a row of nulls when it has none); no row for any other run: its links are gone
READ_RUN_LINKS = """
MATCH (r:Run {run_id: $run_id, latest: true}) WHERE r.published
OPTIONAL MATCH (a:Account)-[l:LINKED {run_id: $run_id}]->(b:Account)
RETURN a.account_id AS account_a, b.account_id AS account_b, properties(l) AS props, r.link_signals AS signals
"""
