// name: verdicts
// title: Analysts' verdicts and where their clusters stand now
// description: Each cluster's latest verdict (confirmed, benign or unsure), who gave it, when and why,
//   the cluster as it was judged (size) and as the latest run has it under the same id (size, risk,
//   flag, members that joined since the verdict; nulls when the id is gone from the latest run).
//   `graphlinker verdicts` lists the same from either store.
// param: verdict: str = null — only this verdict: confirmed, benign or unsure (null: all) (example: benign)
// returns: cluster_id, verdict, by, at, note, judged_size, size_now, risk_now, flagged_now, new_members
// tags: verdicts, triage
MATCH (v:Verdict)
WITH v ORDER BY v.at DESC, v.verdict_id DESC
WITH v.cluster_id AS cluster_id, collect(v)[0] AS v
WHERE $verdict IS NULL OR v.verdict = $verdict
OPTIONAL MATCH (:Run {latest: true})<-[:IN_RUN]-(c:Cluster {cluster_id: cluster_id})
RETURN cluster_id,
       v.verdict AS verdict,
       v.by AS by,
       v.at AS at,
       v.note AS note,
       v.size AS judged_size,
       c.size AS size_now,
       c.risk_score AS risk_now,
       c.flagged AS flagged_now,
       CASE WHEN c IS NULL THEN null
            ELSE COLLECT { MATCH (a:Account)-[:MEMBER_OF]->(c) WHERE NOT a.account_id IN coalesce(v.members, [])
                           RETURN a.account_id ORDER BY a.account_id } END AS new_members
ORDER BY at DESC, cluster_id
