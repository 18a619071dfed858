// name: cluster-templates
// title: Prompt templates a cluster sends
// description: The prompt templates the members of one cluster (of the latest run unless run_id is
//   given) sent, most requests first: redacted exemplar, extraction-style tags, how many members
//   sent it, their requests on it, its share of the members' templated requests and how often it was
//   seen overall. Counts are those of the graph as loaded now.
// param: cluster_id: str — the cluster id as in the report (example: cl-1a8c3c5a62)
// param: run_id: str = null — the run the cluster belongs to (null: the latest run) (example: run-20261125T120000Z-1a2b3c)
// param: min_accounts: int in 1..100000000 = 1 — only templates sent by at least this many members (example: 2)
// returns: template_id, exemplar, extraction_tags, accounts, requests, share, prompt_count
// tags: clusters, templates, evidence
MATCH (run:Run)<-[:IN_RUN]-(c:Cluster {cluster_id: $cluster_id})
WHERE CASE WHEN $run_id IS NULL THEN run.latest = true ELSE run.run_id = $run_id END
MATCH (a:Account)-[:MEMBER_OF]->(c)
MATCH (a)-[s:SENT_TEMPLATE]->(t:PromptTemplate)
WITH t, count(DISTINCT a) AS accounts, sum(s.count) AS requests
WITH collect({t: t, accounts: accounts, requests: requests}) AS sent, sum(requests) AS total
UNWIND sent AS row
WITH row, total
WHERE row.accounts >= $min_accounts
RETURN row.t.template_id AS template_id,
       row.t.exemplar AS exemplar,
       row.t.extraction_tags AS extraction_tags,
       row.accounts AS accounts,
       row.requests AS requests,
       round(toFloat(row.requests) / total, 4) AS share,
       row.t.prompt_count AS prompt_count
ORDER BY requests DESC, template_id
