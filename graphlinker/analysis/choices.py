"""The names settings choose between (engines, methods, measures), with no data library behind them.

The comment beside each list names the module that acts on it; they live here so that validating
settings (``graphlinker config show``, every ``--config``) does not import pandas, numba or igraph just
to learn which words are allowed.
"""

from __future__ import annotations

ENGINES = ("louvain", "louvain-reference", "leiden", "gds")  # [detection] engine: analysis/detection.py
GDS_ALGORITHMS = ("louvain", "leiden")  # [detection] gds_algorithm: analysis/gds_communities.py
LINKING_METHODS = ("coherence", "hub_caps")  # [linking] method: analysis/linking.py
CANDIDATE_PAIRS = ("any", "min_shared")  # [linking] candidate_pairs: analysis/linking.py
POPULATION_MEASURES = ("all", "unflagged")  # [scoring] population: analysis/population.py
# [scoring] synchrony: "beyond_chance" (analysis/synchrony.py), or "time_links" (the earlier measure: any time
# link inside the cluster, chance co-activity of busy members included; analysis/features.py)
SYNCHRONY_MEASURES = ("beyond_chance", "time_links")
