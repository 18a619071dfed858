// name: cluster-shared-identifiers
// title: Identifiers shared inside a cluster
// description: Payment methods, IPs, subnets and other identifiers (devices, phones, ...) used by at
//   least min_accounts members of one cluster (of the latest run unless run_id is given), by kind,
//   most shared first, with how many accounts use them in all: a card shared by four members and
//   nobody else is evidence, one shared with thousands is a hub.
// param: cluster_id: str — the cluster id as in the report (example: cl-1a8c3c5a62)
// param: run_id: str = null — the run the cluster belongs to (null: the latest run) (example: run-20261125T120000Z-1a2b3c)
// param: min_accounts: int in 1..100000000 = 2 — only identifiers at least this many members share (example: 3)
// returns: kind, value, accounts, accounts_overall, uses
// tags: clusters, evidence, identifiers
MATCH (run:Run)<-[:IN_RUN]-(c:Cluster {cluster_id: $cluster_id})
WHERE CASE WHEN $run_id IS NULL THEN run.latest = true ELSE run.run_id = $run_id END
MATCH (a:Account)-[:MEMBER_OF]->(c)
MATCH (a)-[u:PAID_WITH|USED_IP|IN_SUBNET|HAS_IDENTIFIER]->(i)
WHERE NOT (i:Identifier AND i.kind IN ['time', 'created', 'hour', 'client', 'model'])
WITH i,
     CASE
       WHEN i:PaymentMethod THEN 'payment'
       WHEN i:IP THEN 'ip'
       WHEN i:Subnet THEN 'subnet'
       ELSE i.kind
     END AS kind,
     coalesce(i.fingerprint, i.address, i.cidr, i.value) AS value,
     count(DISTINCT a) AS accounts,
     sum(u.count) AS uses
WHERE accounts >= $min_accounts
RETURN kind, value, accounts, COUNT { (:Account)-->(i) } AS accounts_overall, uses
ORDER BY kind, accounts DESC, value
