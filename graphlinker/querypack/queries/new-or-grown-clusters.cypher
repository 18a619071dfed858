// name: new-or-grown-clusters
// title: Clusters that are new or grew since the previous run
// description: Clusters of the latest run compared with those of the previous run (or of
//   previous_run_id). A cluster is compared with the previous cluster of the same id (ids carry
//   over to substantially the same group), else with the previous cluster sharing most of its
//   members (ties: smaller cluster id): 'new' when none of its members was clustered before, 'grew'
//   when it is larger than that cluster and gained at least min_added accounts. With no previous run
//   every cluster is new; a previous_run_id that does not exist gives no rows.
// param: previous_run_id: str = null — the run to compare with (null: the run started last before the latest) (example: run-20261125T120000Z-1a2b3c)
// param: min_added: int in 1..100000000 = 1 — a cluster counts as grown when it gained at least this many accounts (example: 2)
// returns: cluster_id, status, size, risk_score, flagged, previous_cluster_id, previous_size, overlap, added, added_accounts
// tags: clusters, runs, triage
MATCH (latest:Run {latest: true})
OPTIONAL MATCH (prev:Run)
WHERE prev <> latest AND CASE
        WHEN $previous_run_id IS NULL THEN prev.started_at < latest.started_at
        ELSE prev.run_id = $previous_run_id
      END
WITH latest, prev
ORDER BY prev.started_at DESC
LIMIT 1
WITH latest, prev
WHERE prev IS NOT NULL OR $previous_run_id IS NULL
MATCH (latest)<-[:IN_RUN]-(c:Cluster)
MATCH (m:Account)-[:MEMBER_OF]->(c)
OPTIONAL MATCH (m)-[:MEMBER_OF]->(pc:Cluster)-[:IN_RUN]->(prev)
WITH c, pc, count(m) AS overlap
WITH c, collect(CASE WHEN pc IS NULL THEN null ELSE {pc: pc, overlap: overlap} END) AS prior
WITH c, reduce(best = null, x IN prior |
       CASE WHEN best IS NULL OR x.pc.cluster_id = c.cluster_id
                 OR (best.pc.cluster_id <> c.cluster_id
                     AND (x.overlap > best.overlap OR (x.overlap = best.overlap AND x.pc.cluster_id < best.pc.cluster_id)))
            THEN x ELSE best END) AS best
WITH c, best.pc AS before, coalesce(best.overlap, 0) AS overlap
WITH c, before, overlap,
     CASE
       WHEN before IS NULL THEN 'new'
       WHEN c.size > before.size AND c.size - overlap >= $min_added THEN 'grew'
     END AS status
WHERE status IS NOT NULL
RETURN c.cluster_id AS cluster_id,
       status,
       c.size AS size,
       c.risk_score AS risk_score,
       c.flagged AS flagged,
       before.cluster_id AS previous_cluster_id,
       before.size AS previous_size,
       overlap,
       c.size - overlap AS added,
       COLLECT {
         MATCH (n:Account)-[:MEMBER_OF]->(c)
         WHERE before IS NULL OR NOT EXISTS { (n)-[:MEMBER_OF]->(before) }
         RETURN n.account_id ORDER BY n.account_id
       } AS added_accounts
ORDER BY risk_score DESC, size DESC, cluster_id
