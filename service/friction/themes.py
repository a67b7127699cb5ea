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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

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


class Similarity:
    """Pairwise similarity of report texts (see the module docstring), fitted on a corpus of reports."""

    def __init__(self, corpus: Sequence[str]) -> None:
        self._words = TfidfVectorizer(analyzer=_terms, sublinear_tf=True).fit(corpus)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(
            [" ".join(_terms(text)) for text in corpus]
        )

    def vectors(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """The texts' word and character vectors (rows), to compare any subset of them (``among``)."""
        return self._words.transform(texts), self._chars.transform([" ".join(_terms(text)) for text in texts])

    @staticmethod
    def among(vectors: tuple[Any, Any], rows: Sequence[int]) -> Any:
        """Pairwise similarity of the given rows of ``vectors``."""
        words, chars = (matrix[list(rows)] for matrix in vectors)
        # TF-IDF rows are unit length (norm="l2"), so their dot products are the cosines
        return ((words @ words.T).toarray() + (chars @ chars.T).toarray()) / 2

    def matrix(self, texts: Sequence[str]) -> Any:
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

    @property
    def reports(self) -> int:
        return len(self.report_ids)


def _components(similar: list[list[bool]]) -> list[list[int]]:
    parent = list(range(len(similar)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, row in enumerate(similar):
        for j in range(i + 1, len(row)):
            if row[j]:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(similar)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def group(reports: pd.DataFrame, *, threshold: float = THRESHOLD) -> list[Theme]:
    """``reports``: id, text, service, category, reporter, votes, minutes_lost. Biggest themes first."""
    themes: list[Theme] = []
    if reports.empty:
        return themes
    # One vocabulary over all reports, so word weights reflect how rare a word is across the organisation.
    texts = list(reports["text"])
    measure = Similarity(texts)
    vectors = measure.vectors(texts)  # every report once; each group compares its own rows
    reports = reports.reset_index(drop=True)
    for (service, category), rows in reports.groupby([reports["service"].fillna(""), "category"], sort=True):
        positions = list(rows.index)
        rows = rows.reset_index(drop=True)
        if len(rows) == 1:  # a report alone is its own theme: nothing to compare it with
            clusters = [[0]]
        else:
            similarity = measure.among(vectors, positions)
            clusters = _components([[bool(v >= threshold) for v in line] for line in similarity])
        for members in clusters:
            part = rows.iloc[members]
            themes.append(
                Theme(
                    service=str(service) or None,
                    category=str(category),
                    report_ids=sorted(int(i) for i in part["id"]),
                    reporters=int(part["reporter"].dropna().nunique()),
                    votes=int(part["votes"].sum()),
                    minutes_lost=int(part["minutes_lost"].fillna(0).sum()),
                    example=str(part.sort_values("id")["text"].iloc[0]),
                )
            )
    themes.sort(key=lambda theme: (-theme.votes, -theme.reports, theme.category, theme.service or ""))
    return themes
