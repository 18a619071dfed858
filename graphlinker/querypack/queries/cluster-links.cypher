// name: cluster-links
// title: Evidence links between the members of a cluster
// description: The LINKED edges between members of one cluster of the latest run, strongest first,
//   each with its weight and the similarity of every signal that contributed to it (payment,
//   device, ip, subnet, template, time, created, other identifier kinds), strongest signal first.
// param: cluster_id: str — the cluster id as in the report (example: cl-1a8c3c5a62)
// param: min_weight: float in 0..1000 = 0.0 — only links at least this strong (example: 0.5)
// returns: account_a, account_b, weight, signals
// tags: clusters, evidence, links
MATCH (run:Run {latest: true})<-[:IN_RUN]-(c:Cluster {cluster_id: $cluster_id})
MATCH (a:Account)-[:MEMBER_OF]->(c)<-[:MEMBER_OF]-(b:Account)
MATCH (a)-[l:LINKED]->(b)
WHERE l.weight >= $min_weight AND l.run_id = run.run_id
RETURN a.account_id AS account_a,
       b.account_id AS account_b,
       l.weight AS weight,
       COLLECT {
         UNWIND keys(l) AS signal
         WITH signal, l[signal] AS similarity
         WHERE NOT signal IN ['weight', 'run_id'] AND similarity > 0
         RETURN {signal: signal, similarity: similarity} ORDER BY similarity DESC, signal
       } AS signals
ORDER BY weight DESC, account_a, account_b
