// name: accounts-by-ip
// title: All accounts behind an IP address
// description: Every account that sent requests from one IP address, busiest first, with its
//   request count from that address, first and last use, and its cluster in the latest run.
// param: address: str — the IP address in canonical form (IPv6 compressed, lower-case) (example: 143.174.171.89)
// returns: account_id, created_at, country, uses, first_seen, last_seen, requests, cluster_id, flagged
// tags: ip, accounts, pivot
MATCH (:IP {address: $address})<-[u:USED_IP]-(a:Account)
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
