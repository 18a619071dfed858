"""Every Cypher statement the Neo4j store runs, as constants that take parameters.

Labels and relationship types cannot be parameters in Cypher, so each usage
kind has its own constant statement; no user value is ever formatted into a
query string.
"""

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
]

# --- reset ----------------------------------------------------------------------------------
DELETE_USAGE = """
MATCH (:Account)-[r:PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|USED_MODEL|HAS_IDENTIFIER]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS
"""
DELETE_IDENTIFIER_NODES = """
MATCH (n) WHERE n:PaymentMethod OR n:IP OR n:Subnet OR n:Model OR n:PromptTemplate OR n:Identifier
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS
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
SET a.created_at = CASE WHEN row.created_ms IS NULL THEN null ELSE datetime({epochMillis: row.created_ms}) END,
    a.email_domain = row.email_domain, a.country = row.country, a.org_id = row.org_id,
    a.requests = row.requests, a.input_tokens = row.input_tokens, a.output_tokens = row.output_tokens,
    a.active = true
"""

_USAGE_SET = """
SET r.count = row.count,
    r.first_seen = CASE WHEN row.first_ms IS NULL THEN null ELSE datetime({epochMillis: row.first_ms}) END,
    r.last_seen = CASE WHEN row.last_ms IS NULL THEN null ELSE datetime({epochMillis: row.last_ms}) END
"""

MERGE_USAGE = {
    "payment": "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:PaymentMethod {fingerprint: row.value}) MERGE (a)-[r:PAID_WITH]->(t)" + _USAGE_SET,
    "ip": "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:IP {address: row.value}) MERGE (a)-[r:USED_IP]->(t)" + _USAGE_SET,
    "subnet": "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:Subnet {cidr: row.value}) MERGE (a)-[r:IN_SUBNET]->(t)" + _USAGE_SET,
    "template": "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:PromptTemplate {template_id: row.value}) MERGE (a)-[r:SENT_TEMPLATE]->(t)" + _USAGE_SET,
    "model": "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:Model {name: row.value}) MERGE (a)-[r:USED_MODEL]->(t)" + _USAGE_SET,
}
MERGE_IDENTIFIER_USAGE = (
    "UNWIND $rows AS row MATCH (a:Account {account_id: row.account_id}) "
    "MERGE (t:Identifier {key: row.kind + ':' + row.value}) ON CREATE SET t.kind = row.kind, t.value = row.value "
    "MERGE (a)-[r:HAS_IDENTIFIER]->(t)" + _USAGE_SET
)

MERGE_TEMPLATES = """
UNWIND $rows AS row
MERGE (t:PromptTemplate {template_id: row.template_id})
SET t.exemplar = row.exemplar, t.extraction_tags = row.extraction_tags, t.prompt_count = row.prompt_count,
    t.account_count = row.account_count, t.signature = row.signature,
    t.first_seen = CASE WHEN row.first_ms IS NULL THEN null ELSE datetime({epochMillis: row.first_ms}) END,
    t.last_seen = CASE WHEN row.last_ms IS NULL THEN null ELSE datetime({epochMillis: row.last_ms}) END
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
READ_USAGE = """
MATCH (a:Account)-[r:PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|USED_MODEL|HAS_IDENTIFIER]->(t)
RETURN a.account_id AS account_id,
       CASE type(r) WHEN 'PAID_WITH' THEN 'payment' WHEN 'USED_IP' THEN 'ip' WHEN 'IN_SUBNET' THEN 'subnet'
                    WHEN 'SENT_TEMPLATE' THEN 'template' WHEN 'USED_MODEL' THEN 'model' ELSE t.kind END AS kind,
       coalesce(t.fingerprint, t.address, t.cidr, t.template_id, t.name, t.value) AS value,
       r.count AS count, r.first_seen.epochMillis AS first_ms, r.last_seen.epochMillis AS last_ms
"""
READ_TEMPLATES = """
MATCH (t:PromptTemplate) WHERE t.prompt_count IS NOT NULL
RETURN t.template_id AS template_id, t.exemplar AS exemplar, t.extraction_tags AS extraction_tags, t.prompt_count AS prompt_count,
       t.account_count AS account_count, t.first_seen.epochMillis AS first_ms, t.last_seen.epochMillis AS last_ms,
       t.signature AS signature
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
    r.counts = $counts, r.outcome = $outcome, r.report = $report, r.latest = coalesce(r.latest, false)
"""
MERGE_CLUSTERS = """
UNWIND $rows AS row
MATCH (run:Run {run_id: $run_id})
MERGE (c:Cluster {key: $run_id + '/' + row.cluster_id})
SET c.cluster_id = row.cluster_id, c.run_id = $run_id, c.size = row.size, c.risk_score = row.risk_score,
    c.flagged = row.flagged, c.reason_codes = row.reason_codes, c.reasons = row.reasons, c.evidence = row.evidence
MERGE (c)-[:IN_RUN]->(run)
"""
MERGE_MEMBERSHIP = """
UNWIND $rows AS row
MATCH (a:Account {account_id: row.account_id})
MATCH (c:Cluster {key: $run_id + '/' + row.cluster_id})
MERGE (a)-[:MEMBER_OF]->(c)
"""
DELETE_RUN_LINKS = """
MATCH (:Account)-[l:LINKED {run_id: $run_id}]->(:Account)
CALL (l) { DELETE l } IN TRANSACTIONS OF 20000 ROWS
"""
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
MATCH (r:Run {run_id: $run_id}) SET r.latest = true
"""
DELETE_STALE_LINKS = """
MATCH (:Account)-[l:LINKED]->(:Account) WHERE l.run_id <> $run_id
CALL (l) { DELETE l } IN TRANSACTIONS OF 20000 ROWS
"""
READ_LATEST_REPORT = "MATCH (r:Run {latest: true}) RETURN r.report AS report"
READ_RUNS = """
MATCH (r:Run)
RETURN r.run_id AS run_id, toString(r.started_at) AS started_at, toString(r.finished_at) AS finished_at,
       r.params AS params, r.counts AS counts, r.outcome AS outcome
ORDER BY r.started_at
"""
