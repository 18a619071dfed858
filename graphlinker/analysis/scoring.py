"""Turn cluster features into a risk score with reason codes.

Each reason code reads one feature, ramps it to a strength in [0, 1], and
contributes ``weight × strength``. The score is the noisy-OR of the
contributions, ``1 − Π(1 − wᵢsᵢ)``: independent pieces of evidence reinforce
each other, the score stays in [0, 1], and no single weak signal can flag a
cluster on its own. Weights and ramps are data (``defaults.toml``).

Shared cards, shared IPs and creation bursts describe an office, a class or a
family as well as a ring, and one template repeated round the clock describes
a product-description batch job as well. So sharing ranks a cluster but never flags
it: a cluster is *flagged* only when the reasons about what its traffic does
(everything but ``infrastructure_reasons``) reach the flag threshold on their own —
extraction content, template concentration, machine cadence, synchronised waves,
output-heavy harvesting, many nominally independent accounts, a new-model pivot, rotating proxies — and at
least ``min_behaviour_reasons`` of them each contribute ``reason_min_contribution``.
The earlier gate, extraction content required (``require_content_signal``), stays
available by settings. Every condition a cluster misses is named, with why, in its
``not_flagged_because`` (the report's ``evidence.not_flagged_because``).

A cluster's ``reasons`` list every code that moves its score, and every sharing code that is
strong (strength at least ``SHARING_LISTED_FROM``) even where its weight is 0: the shared card,
subnet or phone is what an analyst cites to show the members are one group, whether or not the
fitted weights let sharing raise the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlinker.analysis.population import RELATIVE_COLUMNS, Population, relative_features
from graphlinker.analysis.reasons import REASONS
from graphlinker.settings import Settings

SHARING_LISTED_FROM = 0.5  # a sharing reason at least this strong is listed whatever its weight
DETAIL_DEFAULTS = {"shared_identifier_kinds": "identifiers"}  # words a detail uses when the caller has none


def ramp(values: pd.Series, low: float, high: float) -> pd.Series:
    """0 below ``low``, 1 above ``high``, linear between."""
    return ((values - low) / (high - low)).clip(0.0, 1.0)


def strengths(features: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Strength in [0, 1] of every reason code for every cluster."""
    ramps = settings.scoring.ramps
    result = pd.DataFrame(index=features.index)
    for reason in REASONS:
        result[reason.code] = ramp(features[reason.feature].astype("float64"), *ramps[reason.code])
    # Many small accounts only means something when most members really are small.
    result["many_small_accounts"] *= ramp(features["under_p95_share"], 0.6, 0.9)
    return result


def size_discount(size: np.ndarray, prior: float, smallest: int) -> np.ndarray:
    """The factor a cluster's risk is multiplied by for its size: ``n / (n + prior)``.

    Every feature is a median or a share over the members, so a few members show a behaviour by
    chance far more often than many do (two heavy users who happen to look alike, a developer's
    three accounts): the risk is shrunk towards 0 as an estimate from ``n`` observations plus
    ``prior`` pseudo-observations of nothing suspicious (add-one smoothing at ``prior = 1``). With
    ``prior = 0``, the earlier rule: only clusters below ``smallest`` accounts, in proportion.
    """
    if prior > 0:
        return size / (size + prior)
    return np.minimum(size / smallest, 1.0)


def score_clusters(features: pd.DataFrame, settings: Settings, words: pd.DataFrame | None = None) -> pd.DataFrame:
    """``risk_score``, ``flagged`` and ``reasons`` (list of dicts) per cluster, indexed like ``features``.

    ``words``: text the details name, per cluster (column ``shared_identifier_kinds``, from
    :func:`graphlinker.analysis.features.shared_identifier_kinds`); without it a detail says "identifiers".

    With ``[scoring] model`` (a file ``graphlinker train`` wrote, :mod:`graphlinker.analysis.scoring_model`)
    the risk score and the reasons' weights are the model's (its probability, and each reason's log-odds
    contribution); which clusters are flagged stays this rule's, unless the model has a threshold, below
    which it withdraws a flag.
    """
    assessed = _assess(features, settings)
    reasons = _reasons(features, assessed, settings, words)
    return pd.DataFrame({"risk_score": np.round(assessed.risk, 4), "flagged": assessed.flagged, "reasons": reasons,
                         "not_flagged_because": _unmet_gates(features, assessed, settings)}, index=features.index)


@dataclass(frozen=True)
class _Assessment:
    strength: pd.DataFrame  # per reason code, in [0, 1]
    contribution: pd.DataFrame  # what each reason adds (the model's log-odds contribution with a model)
    risk: np.ndarray
    flagged: np.ndarray
    unmet: dict  # per condition of the flag rule (too_small, below_threshold, ...): True where a cluster misses it
    rule_risk: np.ndarray  # the rule's risk (the model's probability replaces ``risk`` with a model)
    behaviour_risk: np.ndarray  # noisy-OR of the behaviour reasons alone (before the size discount)
    behaviour: pd.DataFrame  # the rule's contribution of each behaviour reason (not sharing), whatever model scores


def _assess(features: pd.DataFrame, settings: Settings) -> _Assessment:
    """Risk and flag per cluster, without the reason lists (the costly part, which a first pass does not need)."""
    scoring = settings.scoring
    weights = pd.Series(scoring.weights, dtype="float64")
    strength = strengths(features, settings)
    contribution = strength[weights.index] * weights
    risk = 1.0 - np.prod(1.0 - contribution.to_numpy(), axis=1)
    smallest = max(scoring.min_cluster_size, 1)
    discount = size_discount(features["size"].to_numpy("float64"), scoring.size_prior, smallest)
    risk = risk * discount
    unmet = {"too_small": features["size"].to_numpy() < smallest, "below_threshold": risk < scoring.flag_threshold}
    behaviour = contribution.drop(columns=list(scoring.infrastructure_reasons), errors="ignore")
    behaviour_risk = 1.0 - np.prod(1.0 - behaviour.to_numpy(), axis=1)
    strong = behaviour >= scoring.reason_min_contribution
    if scoring.require_content_signal:
        content = strength[list(scoring.content_reasons)].max(axis=1).to_numpy()
        unmet["no_content_signal"] = content < scoring.content_signal_min
    if scoring.require_behaviour:
        # one unmet condition is named once: "sharing carries it" only where the whole risk is over the threshold
        unmet["sharing_carries_it"] = (behaviour_risk < scoring.flag_threshold) & ~unmet["below_threshold"]
        unmet["too_few_behaviours"] = strong.sum(axis=1).to_numpy() < scoring.min_behaviour_reasons
    rule_risk = np.asarray(risk, dtype="float64")
    if scoring.model:
        from graphlinker.analysis.scoring_model import load_model

        model = load_model(scoring.model)
        contribution = model.contributions(model.strengths(features, settings))
        risk = model.probability(contribution) * discount
        if model.threshold is not None:
            unmet["below_model_threshold"] = risk < model.threshold
    flagged = ~np.logical_or.reduce(list(unmet.values()))
    return _Assessment(strength, contribution, np.asarray(risk, dtype="float64"), np.asarray(flagged, dtype=bool), unmet,
                       rule_risk, behaviour_risk, behaviour)


def _reasons(features: pd.DataFrame, assessed: _Assessment, settings: Settings, words: pd.DataFrame | None) -> list[list[dict]]:
    """Per cluster, the codes that move its score (largest first) and the strong sharing codes, with their details."""
    details = {r.code: r for r in REASONS}
    sharing = [c for c in settings.scoring.infrastructure_reasons if c in assessed.strength]
    codes = assessed.contribution.columns
    cited = (assessed.strength[sharing] >= SHARING_LISTED_FROM).reindex(columns=codes, fill_value=False).to_numpy()
    values = assessed.contribution.to_numpy("float64")
    rows = features.to_dict("index")
    reasons = []
    for i, cluster in enumerate(features.index):
        order = np.argsort(-values[i], kind="stable")  # largest first, ties in column order
        keep = order[(values[i][order] >= 0.005) | cited[i][order]]
        feature_row = {**DETAIL_DEFAULTS, **_words_of(words, cluster), **rows[cluster]}
        reasons.append([
            {"code": codes[j], "detail": details[codes[j]].detail.format(**feature_row), "weight": round(float(values[i, j]), 4)}
            for j in keep
        ])
    return reasons


def _unmet_gates(features: pd.DataFrame, assessed: _Assessment, settings: Settings) -> list[list[dict]]:
    """Per cluster, the conditions of the flag rule it does not meet, each with a sentence ([] when flagged).

    An analyst triaging below the flag needs to know whether a cluster is far from it or held back by one
    condition (one behaviour reason, or risk that only sharing carries): ``evidence.not_flagged_because``.
    """
    scoring = settings.scoring
    threshold, needed, least = scoring.flag_threshold, scoring.min_behaviour_reasons, scoring.reason_min_contribution
    sharing = ", ".join(scoring.infrastructure_reasons)
    codes, contribution = assessed.behaviour.columns.to_numpy(), assessed.behaviour.to_numpy("float64")
    sizes = features["size"].to_numpy()
    out = []
    for i in range(len(features)):
        gates = []
        for gate, unmet in assessed.unmet.items():
            if not unmet[i]:
                continue
            if gate == "too_small":
                detail = f"{int(sizes[i])} accounts, fewer than min_cluster_size ({max(scoring.min_cluster_size, 1)})"
            elif gate == "below_threshold":
                detail = f"risk {assessed.rule_risk[i]:.4f} is below flag_threshold {threshold}"
            elif gate == "no_content_signal":
                detail = f"no extraction content of strength {scoring.content_signal_min} (require_content_signal)"
            elif gate == "sharing_carries_it":
                detail = (f"the behaviour reasons alone give {assessed.behaviour_risk[i]:.4f}, below flag_threshold {threshold}: "
                          f"sharing ({sharing}) ranks a cluster but never flags it")
            elif gate == "too_few_behaviours":
                strong = np.flatnonzero(contribution[i] >= least)
                named = ", ".join(f"{codes[j]} {contribution[i, j]:.2f}" for j in strong) or "none"
                detail = (f"{len(strong)} behaviour reason(s) contribute {least} or more ({named}); "
                          f"min_behaviour_reasons is {needed}")
            else:
                detail = f"the scoring model's probability {assessed.risk[i]:.4f} is below its threshold"
            gates.append({"gate": gate, "detail": detail})
        out.append(gates)
    return out


def score_against_population(features: pd.DataFrame, cluster_of: pd.Series, population: Population, settings: Settings,
                             words: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`score_clusters`, with the population-relative features measured as ``[scoring] population`` says.

    ``features``: :func:`graphlinker.analysis.features.cluster_features` (measured against every account);
    ``cluster_of``: cluster number per account id; ``population``: every account's
    (:class:`graphlinker.analysis.population.Population`). With ``population = "unflagged"`` the relative
    features are measured again against the accounts outside the clusters a first assessment flags, and the
    clusters are scored against that. Returns the features the scores rest on, and the scores.
    """
    if settings.scoring.population == "unflagged":
        flagged = _assess(features, settings).flagged
        if flagged.any():
            rings = cluster_of.index[cluster_of.isin(features.index[flagged]).to_numpy()]
            measured = relative_features(cluster_of, population, population.without(rings))
            features = features.copy()
            features[RELATIVE_COLUMNS] = measured.reindex(features.index).fillna(0.0)
    return features, score_clusters(features, settings, words)


def _words_of(words: pd.DataFrame | None, cluster) -> dict:
    if words is None or cluster not in words.index:
        return {}
    return {k: v for k, v in words.loc[cluster].items() if isinstance(v, str) and v}
