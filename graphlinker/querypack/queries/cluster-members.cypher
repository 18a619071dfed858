// name: cluster-members
// title: Members of a cluster
// description: The accounts of one cluster (of the latest run unless run_id is given) with their
//   attributes and volumes, and how many evidence links tie each one to the other members
//   (links are kept for the latest run only, so older runs show 0).
// param: cluster_id: str — the cluster id as in the report (example: cl-1a8c3c5a62)
// param: run_id: str = null — the run the cluster belongs to (null: the latest run) (example: run-20261125T120000Z-1a2b3c)
// returns: account_id, created_at, email_domain, country, org_id, requests, output_tokens, links
// tags: clusters, accounts, evidence
MATCH (run:Run)<-[:IN_RUN]-(c:Cluster {cluster_id: $cluster_id})
WHERE CASE WHEN $run_id IS NULL THEN run.latest = true ELSE run.run_id = $run_id END
MATCH (a:Account)-[:MEMBER_OF]->(c)
RETURN a.account_id AS account_id,
       a.created_at AS created_at,
       a.email_domain AS email_domain,
       a.country AS country,
       a.org_id AS org_id,
       a.requests AS requests,
       a.output_tokens AS output_tokens,
       COUNT { (a)-[l:LINKED]-(:Account)-[:MEMBER_OF]->(c) WHERE l.run_id = run.run_id } AS links
ORDER BY account_id
