"""Learning from leads' corrections: TF-IDF with a linear classifier, blended with the rules.

The rules know the taxonomy; the model knows how this organisation words its friction. The model's
weight grows with the corrections it learned from (``n / (n + PRIOR)``), so a handful of corrections
nudges and a few hundred dominate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from service.friction.categorise import OTHER, Categorisation, Taxonomy, categorise, scores

PRIOR = 10
"""Corrections at which the model and the rules weigh the same."""
MIN_SAMPLES = 4
NO_OPINION = 0.3
"""What the rules put on 'other' when nothing matched: low, so a confident model can overrule."""


@dataclass(frozen=True, slots=True)
class LearnedModel:
    version: int
    samples: int
    pipeline: Any  # a fitted sklearn Pipeline (untyped library)

    @property
    def weight(self) -> float:
        return self.samples / (self.samples + PRIOR)


def make_pipeline_for_text() -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, strip_accents="unicode"),
        LogisticRegression(max_iter=2000, C=10.0),
    )


def fit(texts: Sequence[str], labels: Sequence[str], *, version: int) -> LearnedModel | None:
    """A model from corrected reports; None until there are enough of them in two categories or more."""
    if len(texts) < MIN_SAMPLES or len(set(labels)) < 2:
        return None
    pipeline = make_pipeline_for_text()
    pipeline.fit(list(texts), list(labels))
    return LearnedModel(version=version, samples=len(texts), pipeline=pipeline)


def cross_validated_accuracy(texts: Sequence[str], labels: Sequence[str]) -> float | None:
    """How well a model of these corrections generalises (shown with each published version)."""
    smallest = min((list(labels).count(label) for label in set(labels)), default=0)
    folds = min(5, smallest)
    if folds < 2 or len(set(labels)) < 2:
        return None
    return float(cross_val_score(make_pipeline_for_text(), list(texts), list(labels), cv=folds).mean())


def _rule_distribution(text: str, taxonomy: Taxonomy) -> dict[str, float]:
    ranked = scores(text, taxonomy)
    best = max((score for score, _ in ranked.values()), default=0.0)
    if best < taxonomy.threshold:
        return {OTHER: NO_OPINION}
    total = sum(score for score, _ in ranked.values())
    return {category: score / total for category, (score, _) in ranked.items()}


def categorise_with(text: str, taxonomy: Taxonomy, model: LearnedModel | None) -> tuple[Categorisation, str]:
    """The category and who chose it: ``rule``, or ``model`` when the corrections outweigh the rules."""
    by_rules = categorise(text, taxonomy)
    if model is None:
        return by_rules, "rule"
    rules = _rule_distribution(text, taxonomy)
    probabilities = dict(zip(model.pipeline.classes_, model.pipeline.predict_proba([text])[0], strict=True))
    weight = model.weight
    blended = {
        category: (1 - weight) * rules.get(category, 0.0) + weight * float(probabilities.get(category, 0.0))
        for category in set(rules) | set(probabilities)
    }
    winner = max(sorted(blended), key=lambda category: blended[category])
    if winner == by_rules.category:
        return by_rules, "rule"
    learned = f"learned from {model.samples} corrections"
    evidence = (learned, *scores(text, taxonomy).get(winner, (0.0, []))[1])
    return Categorisation(category=winner, confidence=round(blended[winner], 3), evidence=tuple(evidence)), "model"
