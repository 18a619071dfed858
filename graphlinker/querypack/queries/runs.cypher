// name: runs
// title: Published runs, newest first
// description: The runs published to the store with their timings, outcome and cluster counts; the
//   run ids other queries take as run_id or previous_run_id.
// param: limit: int in 1..10000 = 20 — how many runs (example: 5)
// returns: run_id, started_at, finished_at, latest, outcome, clusters, flagged_clusters, flagged_accounts
// tags: runs
MATCH (run:Run)
RETURN run.run_id AS run_id,
       run.started_at AS started_at,
       run.finished_at AS finished_at,
       run.latest AS latest,
       run.outcome AS outcome,
       COUNT { (run)<-[:IN_RUN]-(:Cluster) } AS clusters,
       COUNT { (run)<-[:IN_RUN]-(:Cluster {flagged: true}) } AS flagged_clusters,
       COUNT { (run)<-[:IN_RUN]-(:Cluster {flagged: true})<-[:MEMBER_OF]-(:Account) } AS flagged_accounts
ORDER BY started_at DESC, run_id
LIMIT $limit
