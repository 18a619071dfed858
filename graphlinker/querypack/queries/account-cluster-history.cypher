// name: account-cluster-history
// title: An account's clusters across runs
// description: Every published run in which the account sat in a cluster, oldest first, with that
//   cluster's id, size, score, flag and reason codes: when did it join a ring, and did the ring grow?
// param: account_id: str — the account (example: acct_477897c83465)
// returns: run_id, started_at, latest, cluster_id, size, risk_score, flagged, reason_codes
// tags: accounts, runs, history
MATCH (:Account {account_id: $account_id})-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(run:Run)
RETURN run.run_id AS run_id,
       run.started_at AS started_at,
       run.latest AS latest,
       c.cluster_id AS cluster_id,
       c.size AS size,
       c.risk_score AS risk_score,
       c.flagged AS flagged,
       c.reason_codes AS reason_codes
ORDER BY started_at, run_id
