// name: accounts-by-payment
// title: All accounts behind a payment method
// description: Every account that used one payment instrument (the processor's fingerprint),
//   earliest first, with how often it was added, when, and the account's cluster in the latest run.
// param: fingerprint: str — the payment fingerprint (processor instrument token) (example: card_24c679dfec95fd2a)
// returns: account_id, created_at, country, uses, first_seen, last_seen, requests, cluster_id, flagged
// tags: payment, accounts, pivot
MATCH (:PaymentMethod {fingerprint: $fingerprint})<-[u:PAID_WITH]-(a:Account)
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
ORDER BY first_seen, account_id
