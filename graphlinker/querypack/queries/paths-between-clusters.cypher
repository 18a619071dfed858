// name: paths-between-clusters
// title: Evidence paths between two clusters (APOC)
// description: How two clusters (say, two flagged rings) are joined: for each member of to_cluster
//   that a chain of shared identifiers reaches from any member of from_cluster, one shortest such
//   chain, at most max_hops identifiers long (APOC's breadth-first expansion from every member at
//   once, stopping at the other cluster's members). Identifiers are payment methods, IPs, subnets,
//   prompt templates, devices and other identifiers; activity minutes and creation hours only with
//   include_windows; never behaviour kinds (model, hour, client) nor identifiers shared by more
//   than max_sharing accounts (hubs). Clusters of the latest run unless run_id is given. Shortest
//   first; no row when nothing joins them or both are the same cluster.
// param: from_cluster: str — one cluster id as in the report (example: cl-562c0fc8a0)
// param: to_cluster: str — the other cluster id (example: cl-1a8c3c5a62)
// param: run_id: str = null — the run both clusters belong to (null: the latest run) (example: run-20261125T120000Z-1a2b3c)
// param: max_hops: int in 1..4 = 3 — at most this many shared identifiers on a path (example: 2)
// param: max_sharing: int in 2..100000000 = 300 — skip identifiers used by more accounts than this (example: 50)
// param: include_windows: bool = false — also cross shared activity minutes (time) and creation hours (created) (example: true)
// param: limit: int in 1..10000 = 50 — at most this many paths (example: 10)
// returns: from_account, to_account, hops, accounts, via, path
// tags: clusters, evidence, pivot, apoc
MATCH (run:Run)<-[:IN_RUN]-(ca:Cluster {cluster_id: $from_cluster}), (run)<-[:IN_RUN]-(cb:Cluster {cluster_id: $to_cluster})
WHERE ca <> cb AND CASE WHEN $run_id IS NULL THEN run.latest = true ELSE run.run_id = $run_id END
CALL (ca) { MATCH (a:Account)-[:MEMBER_OF]->(ca) RETURN collect(a) AS starts }
CALL (cb) { MATCH (b:Account)-[:MEMBER_OF]->(cb) RETURN collect(b) AS ends }
CALL () {
  MATCH (i:Identifier)
  WHERE i.kind IN ['hour', 'client', 'model'] OR (NOT $include_windows AND i.kind IN ['time', 'created'])
  RETURN i
  UNION
  MATCH (i)
  WHERE (i:PaymentMethod OR i:IP OR i:Subnet OR i:PromptTemplate OR i:Identifier)
    AND COUNT { (i)<--(:Account) } > $max_sharing
  RETURN i
}
WITH starts, ends, collect(i) AS excluded
CALL apoc.path.expandConfig(starts, {
  relationshipFilter: 'PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|HAS_IDENTIFIER',
  terminatorNodes: ends, denylistNodes: excluded, minLevel: 1, maxLevel: 2 * $max_hops,
  uniqueness: 'NODE_GLOBAL', bfs: true
}) YIELD path
WITH path, [n IN nodes(path) WHERE n:Account | n.account_id] AS accounts
RETURN accounts[0] AS from_account,
       accounts[-1] AS to_account,
       length(path) / 2 AS hops,
       accounts,
       [n IN nodes(path) WHERE NOT n:Account |
          CASE
            WHEN n:PaymentMethod THEN 'payment:' + n.fingerprint
            WHEN n:IP THEN 'ip:' + n.address
            WHEN n:Subnet THEN 'subnet:' + n.cidr
            WHEN n:PromptTemplate THEN 'template:' + n.template_id
            ELSE n.kind + ':' + n.value
          END] AS via,
       path
ORDER BY hops, to_account, from_account
LIMIT $limit
