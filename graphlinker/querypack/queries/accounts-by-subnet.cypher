// name: accounts-by-subnet
// title: All accounts behind a subnet
// description: Every account that sent requests from one subnet (/24 for IPv4, /48 for IPv6),
//   busiest first, with its request count from the subnet, first and last use, and its cluster in the
//   latest run.
// param: cidr: str — the network in CIDR form as graphlinker writes it (example: 143.174.171.0/24)
// returns: account_id, created_at, country, uses, first_seen, last_seen, requests, cluster_id, flagged
// tags: subnet, accounts, pivot
MATCH (:Subnet {cidr: $cidr})<-[u:IN_SUBNET]-(a:Account)
OPTIONAL MATCH (a)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
RETURN a.account_id AS account_id,
       a.created_at AS created_at,
       a.country AS country,
       u.count AS uses,
       u.first_seen AS first_seen,
       u.last_seen AS last_seen,
       a.requests AS requests,
       c.cluster_id AS cluster_id,
       c.flagged AS flagged
ORDER BY uses DESC, account_id
