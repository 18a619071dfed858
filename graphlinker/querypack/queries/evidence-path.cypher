// name: evidence-path
// title: Shortest evidence path between two accounts
// description: The shortest chain of shared identifiers (payment methods, IPs, subnets, prompt
//   templates, devices and other identifiers) joining two accounts, at most max_hops identifiers
//   long. One-minute activity windows and creation-hour windows are crossed only with
//   include_windows; behaviour kinds (model, hour, client) are not evidence and are never crossed,
//   nor are identifiers shared by more than max_sharing accounts (hubs such as carrier NAT or a
//   popular template). No row when no such path exists or both accounts are the same.
// param: from_account: str — one account (example: acct_477897c83465)
// param: to_account: str — the other account (example: acct_2dd5571d9f13)
// param: max_hops: int in 1..4 = 4 — at most this many shared identifiers on the path (example: 2)
// param: max_sharing: int in 2..100000000 = 300 — skip identifiers used by more accounts than this (example: 50)
// param: include_windows: bool = false — also cross shared activity minutes (time) and creation hours (created) (example: true)
// returns: hops, accounts, via, path
// tags: accounts, evidence, pivot
MATCH (a:Account {account_id: $from_account}), (b:Account {account_id: $to_account})
WHERE a <> b
MATCH p = shortestPath((a)-[:PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|HAS_IDENTIFIER*..8]-(b))
WHERE all(n IN nodes(p) WHERE n:Account
          OR (NOT (n:Identifier AND n.kind IN ['hour', 'client', 'model'])
              AND ($include_windows OR NOT (n:Identifier AND n.kind IN ['time', 'created']))
              AND COUNT { (n)<--(:Account) } <= $max_sharing))
WITH p
WHERE length(p) <= 2 * $max_hops
RETURN length(p) / 2 AS hops,
       [n IN nodes(p) WHERE n:Account | n.account_id] AS accounts,
       [n IN nodes(p) WHERE NOT n:Account |
          CASE
            WHEN n:PaymentMethod THEN 'payment:' + n.fingerprint
            WHEN n:IP THEN 'ip:' + n.address
            WHEN n:Subnet THEN 'subnet:' + n.cidr
            WHEN n:PromptTemplate THEN 'template:' + n.template_id
            ELSE n.kind + ':' + n.value
          END] AS via,
       p AS path
