"""Near-duplicate friction reports grouped into themes, so "+1"s collect on one theme.

Pure: reports in, themes out. Within a service and category, reports whose TF-IDF cosine similarity is
at least ``threshold`` join one theme (single linkage: a chain of similar reports is one theme).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

THRESHOLD = 0.35


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
    for (service, category), rows in reports.groupby([reports["service"].fillna(""), "category"], sort=True):
        rows = rows.reset_index(drop=True)
        if len(rows) == 1:
            clusters = [[0]]
        else:
            vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(rows["text"])
            similarity = cosine_similarity(vectors)
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
