"""The usage graph to scored clusters: signal kinds, linking, community detection, cluster features, reason codes and risk, evidence, cluster identity across runs."""
