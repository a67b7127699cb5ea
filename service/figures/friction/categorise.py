"""The rule-based friction categoriser: weighted terms from the taxonomy file, with the evidence shown.

Pure: text and a taxonomy in, a category with confidence and the matched terms out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml

from service.core.errors import InvalidInput
from service.core.settings import Settings

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.yaml")
OTHER = "other"


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    description: str
    terms: tuple[tuple[str, float, str], ...]
    """(term, weight, the regular expression that finds it: compiled on first use, ``_compiled``)."""


@dataclass(frozen=True, slots=True)
class Taxonomy:
    version: int
    threshold: float
    categories: tuple[Category, ...]

    def ids(self) -> list[str]:
        return [c.id for c in self.categories] + [OTHER]

    def title(self, category_id: str) -> str:
        return next((c.title for c in self.categories if c.id == category_id), "Other")


@dataclass(frozen=True, slots=True)
class Categorisation:
    category: str
    confidence: float
    """0–1: the winner's share of the score, discounted when the evidence is thin."""
    evidence: tuple[str, ...]
    """The terms that matched, strongest first."""


def _pattern(term: str) -> str:
    words = [re.escape(word) for word in term.lower().rstrip("*").split()]
    ending = r"\w*" if term.endswith("*") else r"\b"
    return r"\b" + r"[\s\-_/]+".join(words) + ending


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A term's expression, compiled once it is first needed: a digest reads the taxonomy's titles only, and
    compiling every term took ~30 ms of ``frictionlog digest``'s start-up (bench/cli_startup.py)."""
    return re.compile(pattern)


def parse_taxonomy(text: str) -> Taxonomy:
    # libyaml's parser when PyYAML has it (the same safe loading, ~10x faster than the pure-Python one)
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise InvalidInput("a taxonomy has a list of categories")
    categories = []
    for item in data["categories"]:
        if not isinstance(item, dict) or not item.get("id") or not isinstance(item.get("terms"), dict):
            raise InvalidInput("each category needs an id and a map of terms to weights")
        terms = tuple((str(t), float(w), _pattern(str(t))) for t, w in item["terms"].items())
        title, description = str(item.get("title", item["id"])), str(item.get("description", ""))
        categories.append(Category(id=str(item["id"]), title=title, description=description, terms=terms))
    if len({c.id for c in categories}) != len(categories) or OTHER in {c.id for c in categories}:
        raise InvalidInput("category ids must be unique, and 'other' is implicit")
    return Taxonomy(
        version=int(data.get("version", 1)), threshold=float(data.get("threshold", 2.0)), categories=tuple(categories)
    )


@lru_cache(maxsize=4)
def load_taxonomy(path: str | None = None) -> Taxonomy:
    """The taxonomy file at ``path`` (the built-in one when None), read once per process and path."""
    return parse_taxonomy(Path(path or DEFAULT_TAXONOMY).read_text(encoding="utf-8"))


def configured_taxonomy(settings: Settings) -> Taxonomy:
    """The deployment's taxonomy: FRICTIONLOG_TAXONOMY_PATH, else the built-in one. Every reader — ingest,
    the API, Slack, the digest, the metrics — takes it from here."""
    return load_taxonomy(str(settings.taxonomy_path) if settings.taxonomy_path else None)


def scores(text: str, taxonomy: Taxonomy) -> dict[str, tuple[float, list[str]]]:
    """Each category's score and matched terms (distinct terms; a term counts once however often it appears)."""
    lowered = text.lower()
    result: dict[str, tuple[float, list[str]]] = {}
    for category in taxonomy.categories:
        matched = [(weight, term) for term, weight, pattern in category.terms if _compiled(pattern).search(lowered)]
        if matched:
            matched.sort(key=lambda pair: (-pair[0], pair[1]))
            result[category.id] = (sum(w for w, _ in matched), [t.rstrip("*") for _, t in matched])
    return result


def categorise(text: str, taxonomy: Taxonomy) -> Categorisation:
    ranked = sorted(scores(text, taxonomy).items(), key=lambda item: (-item[1][0], item[0]))
    if not ranked or ranked[0][1][0] < taxonomy.threshold:
        evidence = tuple(ranked[0][1][1]) if ranked else ()
        return Categorisation(category=OTHER, confidence=0.2 if ranked else 0.0, evidence=evidence)
    best_id, (best, terms) = ranked[0]
    total = sum(score for _, (score, _) in ranked)
    strength = min(1.0, best / (2 * taxonomy.threshold))
    return Categorisation(category=best_id, confidence=round(best / total * strength, 3), evidence=tuple(terms))
