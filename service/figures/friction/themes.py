"""Near-duplicate friction reports grouped into themes, so "+1"s collect on one theme.

Pure: reports in, themes out. Within a service and category, reports whose similarity is at least
``threshold`` join one theme (single linkage: a chain of similar reports is one theme).

Similarity is the mean of two TF-IDF cosines, both fitted on all the reports (so weights reflect how rare
a word is in the organisation): one over words (English endings cut, stop words dropped, common
abbreviations spelled out: ``yml`` → ``yaml``, ``k8s`` → ``kubernetes``), one over character 3–5-grams of
those words, which meets ``configuration`` and ``config``, ``values.yaml`` and ``yaml``. On the labelled
pairs of tests/data/theme_pairs.jsonl it finds 93 % of the same-theme pairs with no false pair; words
alone at the old threshold found 57 % (bench/themes.py, BENCHMARKS.md).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from service.figures.friction.tfidf import ENGLISH_STOP_WORDS, Rows, Tfidf, char_wb_ngrams

THRESHOLD = 0.3
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ing", "ed", "es", "s")
ABBREVIATIONS = {
    "yml": "yaml",
    "k8s": "kubernetes",
    "configuration": "config",
    "configs": "config",
    "min": "minute",
    "mins": "minute",
    "prod": "production",
    "env": "environment",
    "db": "database",
}


def _words(text: str) -> list[str]:
    """Lower-case words with common English endings cut, so "starts" meets "start" and "takes" "take"."""
    words = []
    for word in _WORD.findall(text.lower()):
        for suffix in _SUFFIXES:
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        words.append(word)
    return words


def _terms(text: str) -> list[str]:
    """The words that carry meaning: abbreviations spelled out, stop words dropped."""
    spelled = (ABBREVIATIONS.get(word, word) for word in _WORD.findall(text.lower()))
    return [word for word in _words(" ".join(spelled)) if word not in ENGLISH_STOP_WORDS]


def _char_grams(text: str) -> list[str]:
    return char_wb_ngrams(text, 3, 5)


class Similarity:
    """Pairwise similarity of report texts (see the module docstring), fitted on a corpus of reports."""

    def __init__(self, corpus: Sequence[str]) -> None:
        self._words = Tfidf(corpus, _terms)
        self._chars = Tfidf([" ".join(_terms(text)) for text in corpus], _char_grams)

    def vectors(self, texts: Sequence[str]) -> tuple[Rows, Rows]:
        """The texts' word and character vectors (rows), to compare any subset of them (``among``)."""
        return self._words.transform(texts), self._chars.transform([" ".join(_terms(text)) for text in texts])

    @staticmethod
    def among(vectors: tuple[Rows, Rows], rows: Sequence[int]) -> np.ndarray:
        """Pairwise similarity of the given rows of ``vectors``."""
        words, chars = (matrix.take(rows) for matrix in vectors)
        # TF-IDF rows are unit length (norm="l2"), so their dot products are the cosines
        similar: np.ndarray = (words.gram() + chars.gram()) / 2
        return similar

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        return self.among(self.vectors(texts), range(len(texts)))


@dataclass(slots=True)
class Theme:
    service: str | None
    category: str
    report_ids: list[int] = field(default_factory=list)
    reporters: int = 0
    votes: int = 0
    minutes_lost: int = 0
    example: str = ""
    services: list[str] = field(default_factory=list)
    """Every service its reports name (one at most when grouped per service)."""

    @property
    def reports(self) -> int:
        return len(self.report_ids)


def _components(similar: np.ndarray) -> list[list[int]]:
    """Single linkage: the connected components of the pairs at or above the threshold (upper triangle),
    each in row order, ordered by their first row."""
    root = list(range(len(similar)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(similar, 1)), strict=True):
        a, b = find(int(i)), find(int(j))
        root[max(a, b)] = min(a, b)  # the smaller row is the root, so a component is named by its first row
    groups: dict[int, list[int]] = {}
    for i in range(len(similar)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _theme(service: str, category: str, rows: list[dict[Hashable, Any]]) -> Theme:
    return Theme(
        service=service or None,
        services=sorted({str(r["service"]) for r in rows if not pd.isna(r["service"])}),
        category=category,
        report_ids=sorted(int(r["id"]) for r in rows),
        reporters=len({r["reporter"] for r in rows if not pd.isna(r["reporter"])}),
        votes=int(sum(r["votes"] for r in rows if not pd.isna(r["votes"]))),
        minutes_lost=int(sum(r["minutes_lost"] for r in rows if not pd.isna(r["minutes_lost"]))),
        example=str(min(rows, key=lambda r: r["id"])["text"]),
    )


def group(reports: pd.DataFrame, *, threshold: float = THRESHOLD, per_service: bool = True) -> list[Theme]:
    """``reports``: id, text, service, category, reporter, votes, minutes_lost. Biggest themes first.
    ``per_service=False`` groups across services: one theme per problem, whichever services report it."""
    themes: list[Theme] = []
    if reports.empty:
        return themes
    # One vocabulary over all reports, so word weights reflect how rare a word is across the organisation.
    texts = list(reports["text"])
    measure = Similarity(texts)
    vectors = measure.vectors(texts)  # every report once; each group compares its own rows
    records = reports.to_dict(orient="records")
    groups: dict[tuple[str, str], list[int]] = {}
    for position, record in enumerate(records):
        if not pd.isna(record["category"]):  # a report without a category has no theme
            service = "" if pd.isna(record["service"]) or not per_service else str(record["service"])
            groups.setdefault((service, str(record["category"])), []).append(position)
    for (service, category), positions in sorted(groups.items()):
        # a report alone is its own theme: nothing to compare it with
        clusters = [[0]] if len(positions) == 1 else _components(measure.among(vectors, positions) >= threshold)
        for members in clusters:
            themes.append(_theme(service, category, [records[positions[m]] for m in members]))
    themes.sort(key=lambda theme: (-theme.votes, -theme.reports, theme.category, theme.service or ""))
    return themes


def costliest(themes: list[Theme], *, min_reports: int = 2) -> list[Theme]:
    """Themes of at least ``min_reports`` reports (a report alone is no theme to act on), most minutes lost
    first, then most reporters, then most reports."""
    kept = [t for t in themes if t.reports >= min_reports]
    return sorted(kept, key=lambda t: (-t.minutes_lost, -t.reporters, -t.reports, min(t.report_ids)))


@dataclass(frozen=True, slots=True)
class Suggestion:
    report_id: int
    similarity: float
    text: str


def likely_duplicates(
    reports: pd.DataFrame, report_id: int, *, threshold: float = THRESHOLD, limit: int = 3
) -> list[Suggestion]:
    """The reports in ``reports`` (id, text, service) most like report ``report_id`` (which must be among
    them), by the theme model's similarity, at or above ``threshold``, most alike first. Reports that name
    another service than it does are not suggested (a service the report leaves out matches any)."""
    positions = {int(i): n for n, i in enumerate(reports["id"])}
    if report_id not in positions or len(reports) < 2:
        return []
    texts = [str(t) for t in reports["text"]]
    scores = Similarity(texts).matrix(texts)[positions[report_id]]
    services = ["" if pd.isna(s) else str(s) for s in reports["service"]]
    own = services[positions[report_id]]
    found = [
        Suggestion(report_id=int(reports["id"].iloc[n]), similarity=float(score), text=texts[n])
        for n, score in enumerate(scores.tolist())
        if n != positions[report_id] and score >= threshold and (not own or not services[n] or services[n] == own)
    ]
    found.sort(key=lambda s: (-s.similarity, s.report_id))
    return found[:limit]
