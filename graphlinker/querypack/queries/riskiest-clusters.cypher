// name: riskiest-clusters
// title: Riskiest clusters of the latest run
// description: Clusters of two or more accounts in the latest run, most risky first (ties: larger
//   first, then by cluster id), as the report lists them: the analyst's triage list.
// param: limit: int in 1..10000 = 20 — how many clusters (example: 10)
// param: flagged_only: bool = false — only clusters flagged as rings (example: true)
// param: min_risk: float in 0..1 = 0.0 — only clusters scoring at least this (example: 0.6)
// returns: cluster_id, size, risk_score, flagged, reason_codes, run_id
// tags: clusters, triage
MATCH (run:Run {latest: true})<-[:IN_RUN]-(c:Cluster)
WHERE c.risk_score >= $min_risk AND (NOT $flagged_only OR c.flagged)
RETURN c.cluster_id AS cluster_id,
       c.size AS size,
       c.risk_score AS risk_score,
       c.flagged AS flagged,
       c.reason_codes AS reason_codes,
       run.run_id AS run_id
ORDER BY risk_score DESC, size DESC, cluster_id
LIMIT $limit
