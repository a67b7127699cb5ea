"""Learning from leads' corrections: TF-IDF with a linear classifier, gated against the rules.

The rules know the taxonomy; the model knows how this organisation words its friction (its own product
names, its jargon). A model trained on a few dozen corrections is weak across fourteen categories but
sure about the words it was taught, so it overrides the rules only when it is sure: its top category has
probability ≥ ``SURE`` and more than the rules' confidence — or the rules found nothing and it has at
least ``SURE_WHEN_RULES_SILENT``. bench/categoriser.py measures the choice (a weighted average of the two
halved held-out accuracy: the model's flat probabilities outvoted correct rules).
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

MIN_SAMPLES = 4
SURE = 0.5
SURE_WHEN_RULES_SILENT = 0.34


@dataclass(frozen=True, slots=True)
class LearnedModel:
    version: int
    samples: int
    pipeline: Any  # a fitted sklearn Pipeline (untyped library)


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


def categorise_with(text: str, taxonomy: Taxonomy, model: LearnedModel | None) -> tuple[Categorisation, str]:
    """The category and who chose it: ``rule``, or ``model`` when the corrections are sure of better."""
    by_rules = categorise(text, taxonomy)
    if model is None:
        return by_rules, "rule"
    probabilities = dict(zip(model.pipeline.classes_, model.pipeline.predict_proba([text])[0], strict=True))
    top = max(sorted(probabilities), key=lambda category: probabilities[category])
    confidence = float(probabilities[top])
    needed = SURE_WHEN_RULES_SILENT if by_rules.category == OTHER and not by_rules.evidence else SURE
    if top == by_rules.category or confidence < needed or confidence <= by_rules.confidence:
        return by_rules, "rule"
    learned = f"learned from {model.samples} corrections"
    evidence = (learned, *scores(text, taxonomy).get(top, (0.0, []))[1])
    return Categorisation(category=top, confidence=round(confidence, 3), evidence=tuple(evidence)), "model"
