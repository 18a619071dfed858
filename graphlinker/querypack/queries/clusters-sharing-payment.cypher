// name: clusters-sharing-payment
// title: Clusters that share a payment method
// description: Payment methods used by members of two or more clusters of the latest run: one payer
//   behind several rings (or a ring split by detection). Lists the clusters (by id), how many of them
//   are flagged, how many clustered accounts use the payment method and how many accounts in all.
// param: min_clusters: int in 2..100000 = 2 — only payment methods spanning at least this many clusters (example: 3)
// param: flagged_only: bool = false — only payment methods at least one flagged cluster uses (example: true)
// param: limit: int in 1..10000 = 50 — how many payment methods (example: 10)
// returns: fingerprint, cluster_count, clusters, flagged_clusters, clustered_accounts, accounts
// tags: payment, clusters, pivot
MATCH (:Run {latest: true})<-[:IN_RUN]-(c:Cluster)<-[:MEMBER_OF]-(a:Account)-[:PAID_WITH]->(pm:PaymentMethod)
WITH pm, c, count(DISTINCT a) AS members
ORDER BY c.cluster_id
WITH pm, collect(c.cluster_id) AS clusters, count(CASE WHEN c.flagged THEN 1 END) AS flagged_clusters,
     sum(members) AS clustered_accounts
WHERE size(clusters) >= $min_clusters AND (NOT $flagged_only OR flagged_clusters > 0)
RETURN pm.fingerprint AS fingerprint,
       size(clusters) AS cluster_count,
       clusters,
       flagged_clusters,
       clustered_accounts,
       COUNT { (:Account)-[:PAID_WITH]->(pm) } AS accounts
ORDER BY cluster_count DESC, flagged_clusters DESC, fingerprint
LIMIT $limit
