"""Detection that does not fall apart with size: a large ring is one cluster, a large carrier NAT is no ring.

Through the real CLI on a simulated scenario, as a user runs it (the leave-one-archetype-out
figures are bench/bench_detection.py's job; this only guards the two behaviours the hub caps broke).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from graphlinker.sim.evaluate import evaluate
from graphlinker.sim.scenario import simulate


@pytest.mark.slow
def test_ring_larger_than_every_old_hub_cap_is_one_flagged_cluster_and_nat_is_not_flagged(tmp_path):
    """3,000 reseller accounts (their templates, subnets and wave minutes are used by more accounts than
    the earlier caps of 600/400/800 allowed) and 2,000 strangers behind carrier NAT IPs."""
    scenario = tmp_path / "scenario"
    simulate(scenario, seed=5, scale=0.3, operations=["reseller"], lookalikes=["carrier_nat", "company"],
             sizes={"reseller": 3000, "carrier_nat": 2000})
    result = subprocess.run([sys.executable, "-m", "graphlinker", "run", str(scenario), "--workspace", str(tmp_path / "ws"),
                             "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    evaluation = evaluate(report, pd.read_csv(scenario / "truth.csv", dtype=str))
    ring = next(op for op in evaluation.operations if op.op_id == "op-reseller-1")
    assert ring.size == 3000
    assert ring.recall >= 0.9 and ring.one_cluster_share >= 0.8
    nat = [r for r in evaluation.lookalikes if r.op_id.startswith("lookalike-carrier_nat")]
    assert sum(r.size for r in nat) == 2000 and sum(r.flagged for r in nat) == 0
