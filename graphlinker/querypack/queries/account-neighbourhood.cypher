// name: account-neighbourhood
// title: An account's linked neighbourhood
// description: Accounts reachable from one account over evidence links (LINKED, latest run) within
//   depth hops (at most 4), each with its distance and its cluster in the latest run. Expanded
//   ring by ring over distinct accounts, so dense rings do not blow up into path enumeration.
// param: account_id: str — the account to start from (example: acct_477897c83465)
// param: depth: int in 1..4 = 2 — how many hops to follow (example: 3)
// param: min_weight: float in 0..1000 = 0.0 — follow only links at least this strong (example: 0.5)
// param: limit: int in 1..100000 = 500 — at most this many accounts, nearest first (example: 100)
// returns: account_id, hops, cluster_id, risk_score, flagged
// tags: accounts, links, pivot
MATCH (start:Account {account_id: $account_id})
WITH start, COLLECT {
  MATCH (start)-[l:LINKED]-(n:Account)
  WHERE l.weight >= $min_weight AND n <> start
  RETURN DISTINCT n
} AS ring1
WITH start, ring1, COLLECT {
  UNWIND CASE WHEN $depth >= 2 THEN ring1 ELSE [] END AS m
  MATCH (m)-[l:LINKED]-(n:Account)
  WHERE l.weight >= $min_weight AND n <> start AND NOT n IN ring1
  RETURN DISTINCT n
} AS ring2
WITH start, ring1, ring2, COLLECT {
  UNWIND CASE WHEN $depth >= 3 THEN ring2 ELSE [] END AS m
  MATCH (m)-[l:LINKED]-(n:Account)
  WHERE l.weight >= $min_weight AND n <> start AND NOT n IN ring1 AND NOT n IN ring2
  RETURN DISTINCT n
} AS ring3
WITH start, ring1, ring2, ring3, COLLECT {
  UNWIND CASE WHEN $depth >= 4 THEN ring3 ELSE [] END AS m
  MATCH (m)-[l:LINKED]-(n:Account)
  WHERE l.weight >= $min_weight AND n <> start AND NOT n IN ring1 AND NOT n IN ring2 AND NOT n IN ring3
  RETURN DISTINCT n
} AS ring4
UNWIND [x IN ring1 | {n: x, hops: 1}] + [x IN ring2 | {n: x, hops: 2}]
     + [x IN ring3 | {n: x, hops: 3}] + [x IN ring4 | {n: x, hops: 4}] AS found
WITH found.n AS n, found.hops AS hops
ORDER BY hops, n.account_id
LIMIT $limit
OPTIONAL MATCH (n)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
RETURN n.account_id AS account_id,
       hops,
       c.cluster_id AS cluster_id,
       c.risk_score AS risk_score,
       c.flagged AS flagged
ORDER BY hops, account_id
