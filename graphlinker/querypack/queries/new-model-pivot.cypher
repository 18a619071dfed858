// name: new-model-pivot
// title: Accounts that moved their traffic to a newly released model
// description: Accounts sending a large share of their requests to new models: the model given, else
//   models first used (by anyone) at or after since, else models first used at least new_after_days
//   after the first request in the data (the rule the new_model_pivot reason code uses). The share
//   is the account's requests on new models over its requests naming a model (USED_MODEL counts).
// param: model: str = null — the new model to look at (null: decide by since or new_after_days) (example: model-c)
// param: since: str = null — ISO 8601 date-time; models first used at or after it are new (example: 2026-09-10T00:00:00Z)
// param: new_after_days: int in 0..3650 = 7 — with neither model nor since: days after the data starts (example: 14)
// param: min_share: float in 0..1 = 0.5 — only accounts with at least this share of requests on new models (example: 0.8)
// param: min_requests: int in 1..1000000000 = 10 — only accounts with at least this many requests on new models (example: 50)
// param: limit: int in 1..100000 = 100 — how many accounts, most new-model requests first (example: 20)
// returns: account_id, models, new_model_requests, requests, share, first_used, cluster_id, flagged
// tags: models, accounts, triage
MATCH (:Account)-[u:USED_MODEL]->(m:Model)
WITH m, min(u.first_seen) AS released
WITH collect({m: m, released: released}) AS models, min(released) AS data_start
UNWIND models AS x
WITH x.m AS m, x.released AS released, data_start
WHERE CASE
        WHEN $model IS NOT NULL THEN m.name = $model
        WHEN $since IS NOT NULL THEN released >= datetime($since)
        ELSE released >= data_start + duration({days: $new_after_days})
      END
WITH collect(m) AS new_models
UNWIND new_models AS m
MATCH (a:Account)-[u:USED_MODEL]->(m)
WITH a, m, u
ORDER BY m.name
WITH a, collect(m.name) AS models, sum(u.count) AS new_model_requests, min(u.first_seen) AS first_used
WHERE new_model_requests >= $min_requests
MATCH (a)-[v:USED_MODEL]->(:Model)
WITH a, models, new_model_requests, first_used, sum(v.count) AS requests
WITH a, models, new_model_requests, first_used, requests, toFloat(new_model_requests) / requests AS share
WHERE share >= $min_share
ORDER BY new_model_requests DESC, a.account_id
LIMIT $limit
OPTIONAL MATCH (a)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
RETURN a.account_id AS account_id,
       models,
       new_model_requests,
       requests,
       round(share, 4) AS share,
       first_used,
       c.cluster_id AS cluster_id,
       c.flagged AS flagged
ORDER BY new_model_requests DESC, account_id
