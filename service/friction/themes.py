"""Near-duplicate friction reports grouped into themes, so "+1"s collect on one theme.

Pure: reports in, themes out. Within a service and category, reports whose TF-IDF cosine similarity is
at least ``threshold`` join one theme (single linkage: a chain of similar reports is one theme).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

THRESHOLD = 0.35
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ing", "ed", "es", "s")


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
    vectorizer = TfidfVectorizer(analyzer=_words, sublinear_tf=True).fit(reports["text"])
    for (service, category), rows in reports.groupby([reports["service"].fillna(""), "category"], sort=True):
        rows = rows.reset_index(drop=True)
        similarity = cosine_similarity(vectorizer.transform(rows["text"]))
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
