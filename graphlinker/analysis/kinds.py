"""The kinds of identifier in the usage graph, and which of them may link accounts.

Linking kinds: ``payment``, ``ip``, ``subnet``, ``template``, ``time`` (one-minute
activity window), ``created`` (creation-burst window) and every generic
identifier kind from ``identifiers.*`` (``device``, ``phone``, ...).
Feature kinds describe behaviour for scoring but never link two accounts:
sharing a model or an hour of day is not evidence of common control.
"""

FEATURE_KINDS = frozenset({"model", "hour", "client"})

# Kinds that describe one piece of infrastructure: a carrier NAT spans several IPs and its
# subnet, so they never corroborate each other's popular identifiers (graphlinker.analysis.coherence).
CORROBORATION_FAMILY = {"ip": "network", "subnet": "network"}


def linking_kinds(usage) -> list[str]:
    """The kinds in ``usage`` that may link accounts, sorted."""
    return sorted(set(usage["kind"].unique()) - FEATURE_KINDS)


def family_of(kind: str) -> str:
    return CORROBORATION_FAMILY.get(kind, kind)
