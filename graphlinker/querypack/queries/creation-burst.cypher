// name: creation-burst
// title: Accounts created in the same burst
// description: Windows of window_hours in which at least min_accounts accounts were created. Every
//   account's creation time anchors a window [created_at, created_at + window_hours]; a window is
//   reported when no other anchor within window_hours of it holds more accounts (ties: the earlier
//   anchor, then the smaller account id), so reported windows never overlap. Lists the accounts, the
//   clusters of the latest run they fall in and how many sit in flagged clusters. Accounts kept only
//   for run history (active = false) are left out. Uses the range index on Account.created_at.
// param: window_hours: int in 1..8760 = 24 — the length of a burst window in hours (example: 6)
// param: min_accounts: int in 2..100000000 = 5 — report windows holding at least this many new accounts (example: 8)
// param: limit: int in 1..10000 = 50 — how many bursts, largest first (example: 10)
// returns: burst_start, burst_end, accounts, account_ids, clusters, flagged_accounts
// tags: accounts, creation, triage
MATCH (a:Account)
WHERE a.created_at IS NOT NULL AND coalesce(a.active, true)
WITH a, a.created_at + duration({hours: $window_hours}) AS until
WITH a, COUNT {
  MATCH (b:Account)
  WHERE b.created_at >= a.created_at AND b.created_at <= until AND coalesce(b.active, true)
} AS n
WHERE n >= $min_accounts
WITH collect({id: a.account_id, t: a.created_at, n: n}) AS anchors
UNWIND anchors AS x
WITH x, anchors
WHERE none(y IN anchors WHERE y.id <> x.id
           AND y.t >= x.t - duration({hours: $window_hours})
           AND y.t <= x.t + duration({hours: $window_hours})
           AND (y.n > x.n OR (y.n = x.n AND (y.t < x.t OR (y.t = x.t AND y.id < x.id)))))
WITH x
ORDER BY x.n DESC, x.t
LIMIT $limit
MATCH (b:Account)
WHERE b.created_at >= x.t AND b.created_at <= x.t + duration({hours: $window_hours}) AND coalesce(b.active, true)
OPTIONAL MATCH (b)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
WITH x, b, c
ORDER BY b.created_at, b.account_id
WITH x,
     collect(b.account_id) AS account_ids,
     min(b.created_at) AS burst_start,
     max(b.created_at) AS burst_end,
     collect(DISTINCT c.cluster_id) AS clusters,
     count(CASE WHEN c.flagged THEN 1 END) AS flagged_accounts
RETURN burst_start, burst_end, size(account_ids) AS accounts, account_ids, clusters, flagged_accounts
ORDER BY accounts DESC, burst_start
