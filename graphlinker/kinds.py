"""The kinds of identifier in the usage graph, and which of them may link accounts.

Linking kinds: ``payment``, ``ip``, ``subnet``, ``template``, ``time`` (one-minute
activity window), ``created`` (creation-burst window) and every generic
identifier kind from ``identifiers.*`` (``device``, ``phone``, ...).
Feature kinds describe behaviour for scoring but never link two accounts:
sharing a model or an hour of day is not evidence of common control.
"""

FEATURE_KINDS = frozenset({"model", "hour", "client"})
