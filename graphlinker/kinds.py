"""The signal kinds of the usage graph: one registry every layer reads.

Every signal graphlinker links or scores on is one *kind* of identifier an account used.
Ingest produces them (:mod:`graphlinker.ingest.usage`), linking weighs those that may link
two accounts (``[linking.weights]``), scoring reads the behaviour kinds, and the Neo4j store
gives the built-in kinds a node label of their own (:mod:`graphlinker.store.cypher` builds its
statements from :data:`KINDS`). A new kind is declared here first.

Linking kinds: ``payment``, ``ip``, ``subnet``, ``template``, ``time`` (one-minute activity
window), ``created`` (creation-burst window) and every generic identifier kind from
``identifiers.*`` (``device``, ``phone``, ...). Feature kinds describe behaviour for scoring
but never link two accounts: sharing a model or an hour of day is not evidence of common control.
"""

from __future__ import annotations

from dataclasses import dataclass

PAYMENT, IP, SUBNET, TEMPLATE, TIME, CREATED = "payment", "ip", "subnet", "template", "time", "created"
MODEL, HOUR, CLIENT = "model", "hour", "client"


@dataclass(frozen=True)
class Node:
    """How the Neo4j store holds a kind with a label of its own: ``(:Account)-[:relationship]->(:label {key})``."""

    label: str
    key: str
    relationship: str


@dataclass(frozen=True)
class Kind:
    name: str
    meaning: str
    links: bool = True  # may link two accounts; False: behaviour for scoring only
    family: str | None = None  # kinds describing one piece of infrastructure never corroborate each other
    node: Node | None = None  # None: a generic (:Identifier {kind, value}) node, as for identifiers.* kinds


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind(PAYMENT, "a payment instrument (the processor's fingerprint)", node=Node("PaymentMethod", "fingerprint", "PAID_WITH")),
    Kind(IP, "an IP address", family="network", node=Node("IP", "address", "USED_IP")),
    Kind(SUBNET, "an IPv4 /24 or IPv6 /48 subnet", family="network", node=Node("Subnet", "cidr", "IN_SUBNET")),
    Kind(TEMPLATE, "a prompt template", node=Node("PromptTemplate", "template_id", "SENT_TEMPLATE")),
    Kind(TIME, "a one-minute activity window"),
    Kind(CREATED, "an account-creation window"),
    Kind(MODEL, "a model requested", links=False, node=Node("Model", "name", "USED_MODEL")),
    Kind(HOUR, "an hour of day active", links=False),
    Kind(CLIENT, "the client type (SDK or browser)", links=False),
)}

FEATURE_KINDS = frozenset(name for name, kind in KINDS.items() if not kind.links)

# Kinds that describe one piece of infrastructure: a carrier NAT spans several IPs and its
# subnet, so they never corroborate each other's popular identifiers (graphlinker.analysis.coherence).
CORROBORATION_FAMILY = {name: kind.family for name, kind in KINDS.items() if kind.family}


def linking_kinds(usage) -> list[str]:
    """The kinds in ``usage`` that may link accounts, sorted."""
    return sorted(set(usage["kind"].unique()) - FEATURE_KINDS)


def family_of(kind: str) -> str:
    return CORROBORATION_FAMILY.get(kind, kind)
