// name: extraction-templates
// title: Extraction-style templates and who sends them
// description: Prompt templates carrying extraction-style tags (chain-of-thought elicitation, grader
//   or reward prompts, agentic trajectories, capability sweeps), most requests first, with how many
//   accounts send them, how many of those sit in flagged clusters of the latest run, those clusters,
//   and the ten accounts sending each most.
// param: tag: str = null — only templates with this tag, e.g. cot_elicitation (null: any extraction tag) (example: cot_elicitation)
// param: min_accounts: int in 1..100000000 = 1 — only templates sent by at least this many accounts (example: 3)
// param: limit: int in 1..10000 = 50 — how many templates (example: 10)
// returns: template_id, extraction_tags, exemplar, accounts, requests, flagged_accounts, clusters, top_senders
// tags: templates, extraction, triage
MATCH (t:PromptTemplate)
WHERE size(t.extraction_tags) > 0 AND ($tag IS NULL OR $tag IN t.extraction_tags)
MATCH (a:Account)-[s:SENT_TEMPLATE]->(t)
OPTIONAL MATCH (a)-[:MEMBER_OF]->(c:Cluster)-[:IN_RUN]->(:Run {latest: true})
WITH t, a, s, c
ORDER BY s.count DESC, a.account_id
WITH t,
     count(a) AS accounts,
     sum(s.count) AS requests,
     count(CASE WHEN c.flagged THEN 1 END) AS flagged_accounts,
     collect(DISTINCT c.cluster_id) AS clusters,
     collect(a.account_id)[..10] AS top_senders
WHERE accounts >= $min_accounts
RETURN t.template_id AS template_id,
       t.extraction_tags AS extraction_tags,
       t.exemplar AS exemplar,
       accounts,
       requests,
       flagged_accounts,
       clusters,
       top_senders
ORDER BY requests DESC, template_id
LIMIT $limit
