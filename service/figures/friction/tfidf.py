"""TF-IDF vectors of short texts, as scikit-learn's ``TfidfVectorizer`` makes them, without importing it.

scikit-learn takes half a second to import (it loads scipy.stats), and the weekly digest groups friction
themes on every build: ``frictionlog digest`` must start in under 2 s (bench/cli_startup.py). What the
themes use is small and fixed, so it is written here: the vocabulary sorted, counts per text,
``sublinear_tf`` (1 + ln count), the smoothed idf ln((1 + n) / (1 + df)) + 1, each row scaled to unit
length; words out of the fitted vocabulary ignored. tests/test_tfidf.py holds it against scikit-learn's
own vectors, value for value. The vectors are ``Rows`` (CSR arrays without scipy.sparse, whose import is
another 0.15 s): their pairwise dot products are summed in the order scipy's sparse product sums them, so
they are its numbers bit for bit (tests/test_tfidf.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_STOP_WORDS = """
a about above across after afterwards again against all almost alone along already also although always am
among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back
be became because become becomes becoming been before beforehand behind being below beside besides between
beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down
due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything
everywhere except few fifteen fifty fill find fire first five for former formerly forty found four from front
full further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself him
himself his how however hundred i ie if in inc indeed interest into is it its itself keep last latter latterly
least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my myself
name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of off often
on once one only onto or other others otherwise our ours ourselves out over own part per perhaps please put
rather re same see seem seemed seeming seems serious several she should show side since sincere six sixty so
some somehow someone something sometime sometimes somewhere still such system take ten than that the their them
themselves then thence there thereafter thereby therefore therein thereupon these they thick thin third this
those though three through throughout thru thus to together too top toward towards twelve twenty two un under
until up upon us very via was we well were what whatever when whence whenever where whereafter whereas whereby
wherein whereupon wherever whether which while whither who whoever whole whom whose why will with within
without would yet you your yours yourself yourselves
"""
ENGLISH_STOP_WORDS = frozenset(_STOP_WORDS.split())
"""scikit-learn's English stop words (sklearn.feature_extraction.text.ENGLISH_STOP_WORDS; tests/test_tfidf.py
checks the copy)."""

_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams (``low`` to ``high`` long) inside each word padded with a space, as scikit-learn's
    ``analyzer="char_wb"`` (a word shorter than n counts once, padded whole)."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", text.lower()).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[:n])
            while offset + n < len(padded):
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:
                break
    return grams


class Tfidf:
    """Fitted on a corpus (``analyze`` turns a text into its terms); ``transform`` gives unit-length rows."""

    def __init__(self, corpus: Sequence[str], analyze: Callable[[str], list[str]]) -> None:
        self._analyze = analyze
        documents = [analyze(text) for text in corpus]
        self.vocabulary = {term: i for i, term in enumerate(sorted({t for terms in documents for t in terms}))}
        df = np.zeros(len(self.vocabulary), dtype=np.float64)
        for terms in documents:
            for term in set(terms):
                df[self.vocabulary[term]] += 1
        self.idf = np.log((len(documents) + 1.0) / (df + 1.0)) + 1.0

    def transform(self, texts: Sequence[str]) -> Rows:
        """One row per text, columns in vocabulary order."""
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            counts: dict[int, int] = {}
            for term in self._analyze(text):
                column = self.vocabulary.get(term)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = sorted(counts)
            weights = [(math.log(counts[c]) + 1.0) * float(self.idf[c]) for c in columns]
            total = 0.0
            for weight in weights:  # summed in column order, as scikit-learn does, so the values agree exactly
                total += weight * weight
            norm = math.sqrt(total) if total > 0 else 1.0
            indices.extend(columns)
            data.extend(weight / norm for weight in weights)
            indptr.append(len(indices))
        return Rows(
            np.asarray(data, dtype=np.float64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(indptr),
            len(self.vocabulary),
        )


@dataclass(frozen=True, slots=True)
class Rows:
    """Sparse rows in CSR form (each row's columns ascending): ``data[indptr[i]:indptr[i + 1]]`` are row
    ``i``'s values at columns ``indices[...]``."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    columns: int

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.columns

    def take(self, rows: Sequence[int]) -> Rows:
        """These rows, in this order."""
        picked = np.asarray(rows, dtype=np.int64)
        starts, lengths = self.indptr[picked], np.diff(self.indptr)[picked]
        positions = _ranges(starts, lengths)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return Rows(self.data[positions], self.indices[positions], indptr, self.columns)

    def toarray(self) -> np.ndarray:
        dense = np.zeros(self.shape)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        dense[rows, self.indices] = self.data
        return dense

    def gram(self) -> np.ndarray:
        """Every pair of rows' dot product (``X @ X.T``, dense), summed as scipy's sparse product sums:
        for row i, over its columns in ascending order, each product added to the running total of every
        row k that has that column (``np.add.at`` adds in index order), from 0."""
        n = self.shape[0]
        by_column = np.argsort(self.indices, kind="stable")  # the transpose: each column's rows ascending
        column_rows = np.repeat(np.arange(n), np.diff(self.indptr))[by_column]
        column_values = self.data[by_column]
        column_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.indices, minlength=self.columns))])
        out = np.zeros((n, n))
        for i in range(n):
            columns = self.indices[self.indptr[i] : self.indptr[i + 1]]
            lengths = column_ptr[columns + 1] - column_ptr[columns]
            positions = _ranges(column_ptr[columns], lengths)
            values = np.repeat(self.data[self.indptr[i] : self.indptr[i + 1]], lengths)
            np.add.at(out[i], column_rows[positions], values * column_values[positions])
        return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(start, start + length)`` for each pair, as one array."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.asarray(offsets + np.arange(total), dtype=np.int64)
