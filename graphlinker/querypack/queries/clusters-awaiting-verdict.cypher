// name: clusters-awaiting-verdict
// title: Flagged clusters of the latest run that no analyst has judged
// description: The analyst's queue: flagged clusters of the latest run without a verdict under their
//   id, most risky first (ties: larger first, then by cluster id). Give one with
//   `graphlinker verdict CLUSTER_ID confirmed|benign|unsure`.
// param: limit: int in 1..10000 = 20 — how many clusters (example: 10)
// returns: cluster_id, size, risk_score, reason_codes, run_id
// tags: verdicts, triage, clusters
MATCH (run:Run {latest: true})<-[:IN_RUN]-(c:Cluster)
WHERE c.flagged AND NOT EXISTS { MATCH (v:Verdict) WHERE v.cluster_id = c.cluster_id }
RETURN c.cluster_id AS cluster_id,
       c.size AS size,
       c.risk_score AS risk_score,
       c.reason_codes AS reason_codes,
       run.run_id AS run_id
ORDER BY risk_score DESC, size DESC, cluster_id
LIMIT $limit
