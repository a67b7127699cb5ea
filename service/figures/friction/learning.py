"""Learning from leads' corrections: TF-IDF with a linear classifier, gated against the rules.

The rules know the taxonomy; the model knows how this organisation words its friction (its own product
names, its jargon). A model trained on a few dozen corrections is weak across fourteen categories but
sure about the words it was taught, so it overrides the rules only when it is sure: its top category has
probability ≥ ``SURE`` and more than the rules' confidence — or the rules found nothing and it has at
least ``SURE_WHEN_RULES_SILENT``. bench/categoriser.py measures the choice (a weighted average of the two
halved held-out accuracy: the model's flat probabilities outvoted correct rules).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from service.core.vocab import CategorySource
from service.figures.friction.categorise import OTHER, Categorisation, Taxonomy, categorise, scores

MIN_SAMPLES = 4
SURE = 0.5
SURE_WHEN_RULES_SILENT = 0.34
CUE_MIN = 2
"""A word becomes a learned cue of a category once this many of its corrections contain it."""
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-]{2,}")


@dataclass(frozen=True, slots=True)
class LearnedModel:
    version: int
    samples: int
    pipeline: Any  # a fitted sklearn Pipeline (untyped library)
    cues: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Category → the words of its corrections that no other category's corrections contain (see module)."""


def words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in ENGLISH_STOP_WORDS}


def learned_cues(texts: Sequence[str], labels: Sequence[str]) -> dict[str, frozenset[str]]:
    """Words at least CUE_MIN corrections of one category contain and none of another does."""
    per_label: dict[str, Counter[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        per_label.setdefault(label, Counter()).update(words(text))
    cues: dict[str, frozenset[str]] = {}
    for label, counts in per_label.items():
        elsewhere = set().union(*(set(c) for other, c in per_label.items() if other != label))
        cues[label] = frozenset(word for word, n in counts.items() if n >= CUE_MIN and word not in elsewhere)
    return cues


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
    return LearnedModel(version=version, samples=len(texts), pipeline=pipeline, cues=learned_cues(texts, labels))


def cross_validated_accuracy(texts: Sequence[str], labels: Sequence[str]) -> float | None:
    """How well a model of these corrections generalises (shown with each published version)."""
    smallest = min((list(labels).count(label) for label in set(labels)), default=0)
    folds = min(5, smallest)
    if folds < 2 or len(set(labels)) < 2:
        return None
    return float(cross_val_score(make_pipeline_for_text(), list(texts), list(labels), cv=folds).mean())


def categorise_with(text: str, taxonomy: Taxonomy, model: LearnedModel | None) -> tuple[Categorisation, str]:
    """The category and who chose it: ``rule``, or ``model`` when the rules found no category and the
    corrections hold learned evidence for one (see the module docstring)."""
    by_rules = categorise(text, taxonomy)
    if model is None or by_rules.category != OTHER:
        return by_rules, CategorySource.RULE
    probabilities = dict(zip(model.pipeline.classes_, model.pipeline.predict_proba([text])[0], strict=True))
    top = max(sorted(probabilities), key=lambda category: probabilities[category])
    confidence = float(probabilities[top])
    cues = sorted(word for word in words(text) & model.cues.get(top, frozenset()) if not scores(word, taxonomy))
    needed = SURE_WHEN_RULES_SILENT if not by_rules.evidence else SURE
    if top == OTHER or not cues or confidence < needed or confidence <= by_rules.confidence:
        return by_rules, CategorySource.RULE
    learned = f"learned from {model.samples} corrections"
    return Categorisation(
        category=top, confidence=round(confidence, 3), evidence=(learned, *cues)
    ), CategorySource.MODEL
