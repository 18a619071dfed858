// name: hub-identifiers
// title: Identifiers shared by the most accounts
// description: Payment methods, IPs, subnets, prompt templates and other identifiers (devices,
//   phones, ...) ranked by how many accounts used them, with their total uses and how many of those
//   accounts sit in flagged clusters of the latest run. Hubs (carrier NAT, VPN exits, popular
//   templates) top this list; identifiers past their hub cap are never expanded into links.
// param: kind: str = null — only this kind: payment, ip, subnet, template, or an identifier kind such as device (null: all) (example: ip)
// param: include_windows: bool = false — also rank one-minute activity windows (time) and creation windows (created) (example: true)
// param: min_accounts: int in 1..100000000 = 2 — only identifiers used by at least this many accounts (example: 5)
// param: limit: int in 1..10000 = 25 — how many identifiers (example: 10)
// returns: kind, value, accounts, uses, flagged_accounts
// tags: hubs, identifiers, triage
CALL {
  MATCH (i:PaymentMethod) RETURN i, 'payment' AS kind, i.fingerprint AS value
  UNION ALL
  MATCH (i:IP) RETURN i, 'ip' AS kind, i.address AS value
  UNION ALL
  MATCH (i:Subnet) RETURN i, 'subnet' AS kind, i.cidr AS value
  UNION ALL
  MATCH (i:PromptTemplate) RETURN i, 'template' AS kind, i.template_id AS value
  UNION ALL
  MATCH (i:Identifier) WHERE NOT i.kind IN ['hour', 'client', 'model'] RETURN i, i.kind AS kind, i.value AS value
}
WITH i, kind, value
WHERE ($kind IS NULL OR kind = $kind)
  AND ($include_windows OR $kind IS NOT NULL OR NOT kind IN ['time', 'created'])
WITH i, kind, value, COUNT { (:Account)-->(i) } AS accounts
WHERE accounts >= $min_accounts
ORDER BY accounts DESC, kind, value
LIMIT $limit
MATCH (a:Account)-[u]->(i)
WITH i, kind, value, accounts, sum(u.count) AS uses,
     count(CASE WHEN EXISTS { (a)-[:MEMBER_OF]->(:Cluster {flagged: true})-[:IN_RUN]->(:Run {latest: true}) } THEN 1 END) AS flagged_accounts
RETURN kind, value, accounts, uses, flagged_accounts
ORDER BY accounts DESC, kind, value
