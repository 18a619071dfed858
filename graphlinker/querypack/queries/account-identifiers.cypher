// name: account-identifiers
// title: Everything an account used, and who else used it
// description: The payment methods, IPs, subnets, prompt templates and other identifiers one account
//   used, with its use count, first and last use and how many other accounts used the same one,
//   most shared first: the starting point of every pivot. Activity and creation windows and
//   behaviour (model, hour of day, client) are left out unless include_windows is true.
// param: account_id: str — the account (example: acct_477897c83465)
// param: include_windows: bool = false — also list time and creation windows, models, hours and clients (example: true)
// returns: kind, value, uses, first_seen, last_seen, shared_with
// tags: accounts, identifiers, pivot
MATCH (:Account {account_id: $account_id})-[u:PAID_WITH|USED_IP|IN_SUBNET|SENT_TEMPLATE|USED_MODEL|HAS_IDENTIFIER]->(i)
WITH u, i,
     CASE
       WHEN i:PaymentMethod THEN 'payment'
       WHEN i:IP THEN 'ip'
       WHEN i:Subnet THEN 'subnet'
       WHEN i:PromptTemplate THEN 'template'
       WHEN i:Model THEN 'model'
       ELSE i.kind
     END AS kind
WHERE $include_windows OR NOT kind IN ['time', 'created', 'hour', 'client', 'model']
RETURN kind,
       coalesce(i.fingerprint, i.address, i.cidr, i.template_id, i.name, i.value) AS value,
       u.count AS uses,
       u.first_seen AS first_seen,
       u.last_seen AS last_seen,
       COUNT { (:Account)-->(i) } - 1 AS shared_with
ORDER BY shared_with DESC, kind, value
