// name: cluster-subgraph
// title: A cluster's subgraph, for visualisation (APOC)
// description: One cluster (of the latest run unless run_id is given) as a graph to draw or export:
//   the cluster node, its member accounts, the identifiers (payment methods, IPs, subnets, prompt
//   templates, devices and other identifiers; not activity windows nor behaviour kinds) that at
//   least min_accounts members use, and every relationship among them (APOC's cover): memberships,
//   usage, and the run's evidence links between members. One row; Neo4j Browser draws it, and
//   `--format json` exports nodes and relationships with their element ids, labels and properties.
// param: cluster_id: str — the cluster id as in the report (example: cl-1a8c3c5a62)
// param: run_id: str = null — the run the cluster belongs to (null: the latest run) (example: run-20261125T120000Z-1a2b3c)
// param: min_accounts: int in 1..100000000 = 2 — only identifiers at least this many members use (1: all) (example: 3)
// returns: accounts, identifiers, links, nodes, relationships
// tags: clusters, evidence, visualisation, apoc
MATCH (run:Run)<-[:IN_RUN]-(c:Cluster {cluster_id: $cluster_id})
WHERE CASE WHEN $run_id IS NULL THEN run.latest = true ELSE run.run_id = $run_id END
CALL (c) { MATCH (a:Account)-[:MEMBER_OF]->(c) RETURN collect(a) AS members }
CALL (members) {
  UNWIND members AS a
  MATCH (a)-[:PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|HAS_IDENTIFIER]->(i)
  WHERE NOT (i:Identifier AND i.kind IN ['time', 'created', 'hour', 'client', 'model'])
  WITH i, count(DISTINCT a) AS sharing
  WHERE sharing >= $min_accounts
  RETURN collect(i) AS identifiers
}
WITH run, members, identifiers, [c] + members + identifiers AS nodes
CALL (run, nodes) {
  CALL apoc.algo.cover(nodes) YIELD rel
  WITH rel
  WHERE type(rel) <> 'LINKED' OR rel.run_id = run.run_id
  RETURN collect(rel) AS relationships
}
RETURN size(members) AS accounts,
       size(identifiers) AS identifiers,
       size([r IN relationships WHERE type(r) = 'LINKED']) AS links,
       nodes,
       relationships
