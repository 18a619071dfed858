"""The reason codes: which cluster feature each one reads, and the sentence the report gives for it.

Data, not arithmetic (:mod:`graphlinker.analysis.scoring` ramps and weighs them), kept free of any data
library so that validating settings — every reason code needs a weight and a ramp — stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    feature: str
    detail: str  # format string over the cluster's feature row


REASONS = (
    Reason("extraction_prompts", "extraction_share", "{extraction_share:.0%} of requests use extraction-style templates"),
    Reason("template_concentration", "templated_share", "{templated_share:.0%} of requests repeat the cluster's own templates (shared by members, rare outside)"),
    Reason("shared_payment", "shared_payment_share", "{shared_payment_share:.0%} of accounts share a payment instrument"),
    Reason("shared_identifiers", "shared_identifier_share", "{shared_identifier_share:.0%} of accounts share an identifier on file ({shared_identifier_kinds}) with another member"),
    Reason("automation", "sdk_share", "{sdk_share:.0%} of requests come from SDK/automation clients"),
    Reason("round_the_clock", "hour_entropy", "median hour-of-day entropy {hour_entropy:.2f} (1 = uniform round the clock)"),
    Reason("synchronised_activity", "synchronised_share", "{synchronised_share:.0%} of accounts share more minutes with other members than their hours of activity explain (together {synchrony_lift:.1f}x the shared minutes chance predicts)"),
    Reason("creation_burst", "creation_burst_share", "{creation_burst_share:.0%} of accounts created within 24 hours"),
    Reason("high_output_volume", "output_per_account_ratio", "median output tokens per account {output_per_account_ratio:.1f}x the population median"),
    Reason("many_small_accounts", "pooled_volume_ratio", "pooled volume {pooled_volume_ratio:.1f}x the 99th-percentile account, {under_p95_share:.0%} of accounts individually below the 95th percentile"),
    Reason("new_model_pivot", "new_model_lift", "{new_model_share:.0%} of traffic on newly released models ({new_model_lift:.1f}x the population)"),
    Reason("shared_infrastructure", "infrastructure_share", "{infrastructure_share:.0%} of accounts linked by shared IPs or subnets"),
    Reason("independent_accounts", "independence", "{independence:.0%} of accounts outside any one declared organisation, yet linked as one group"),
    Reason("output_harvesting", "output_input_ratio", "median output/input tokens {output_input_ratio:.1f}x the population"),
    Reason("template_reuse", "template_reuse_ratio", "median requests per template {template_reuse_ratio:.1f}x the population"),
    Reason("lockstep", "cohesion", "median link weight inside the cluster {cohesion:.2f}"),
    Reason("ip_rotation", "ip_rotation_share", "median member sends {ip_rotation_share:.0%} of requests from an IP address it used for no other request (rotating proxies)"),
)
