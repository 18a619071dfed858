// name: similar-accounts
// title: Accounts most similar to an account by shared identifiers (GDS)
// description: The accounts whose identifiers (payment methods, IPs, subnets, devices and other
//   identifiers; not activity windows nor behaviour kinds) overlap most with one account's, by
//   Jaccard similarity (shared identifiers / identifiers of either), computed by Graph Data Science
//   node similarity on a graph of that account, every account sharing an identifier with it and
//   their identifiers. The in-memory graph is projected, used with concurrency 1 and dropped by the
//   query itself. Most similar first (ties: account id), with the identifiers both use and each
//   account's cluster in the latest run (null: in none).
// param: account_id: str — the account to compare others with (example: acct_477897c83465)
// param: min_similarity: float in 0..1 = 0 — only accounts at least this similar (example: 0.25)
// param: limit: int in 1..1000 = 10 — how many accounts (example: 5)
// returns: account_id, similarity, shared, cluster_id, flagged
// tags: accounts, similarity, gds, pivot
MATCH (me:Account {account_id: $account_id})
CALL (me) {
  MATCH (me)-[:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]->(i)<-[:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]-(other:Account)
  WHERE NOT (i:Identifier AND i.kind IN ['time', 'created', 'hour', 'client', 'model'])
  RETURN collect(DISTINCT other) AS others
}
WITH me, [me] + others AS accounts
UNWIND accounts AS a
MATCH (a)-[:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]->(i)
WHERE NOT (i:Identifier AND i.kind IN ['time', 'created', 'hour', 'client', 'model'])
WITH me, size(accounts) AS candidates,
     gds.graph.project('graphlinker-similar-accounts-' + randomUUID(), a, i,
                       {sourceNodeLabels: 'Account', targetNodeLabels: 'Identifier'}) AS projected
CALL (me, candidates, projected) {
  CALL gds.nodeSimilarity.filtered.stream(projected.graphName, {
    sourceNodeFilter: me, topK: candidates, similarityCutoff: $min_similarity, concurrency: 1
  }) YIELD node2, similarity
  RETURN collect({account: gds.util.asNode(node2), similarity: similarity}) AS found
}
CALL gds.graph.drop(projected.graphName, false) YIELD graphName
UNWIND found AS match
WITH me, match.account AS other, match.similarity AS similarity
OPTIONAL MATCH (other)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
RETURN other.account_id AS account_id,
       similarity,
       [(me)-[:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]->(i)<-[:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]-(other)
          WHERE NOT (i:Identifier AND i.kind IN ['time', 'created', 'hour', 'client', 'model']) |
          CASE
            WHEN i:PaymentMethod THEN 'payment:' + i.fingerprint
            WHEN i:IP THEN 'ip:' + i.address
            WHEN i:Subnet THEN 'subnet:' + i.cidr
            ELSE i.kind + ':' + i.value
          END] AS shared,
       c.cluster_id AS cluster_id,
       c.flagged AS flagged
ORDER BY similarity DESC, account_id
LIMIT $limit
