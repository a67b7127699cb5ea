"""The friction themes' TF-IDF (service.figures.friction.tfidf) against scikit-learn's TfidfVectorizer, which
it replaces to keep the digest's start-up short: the same vectors, value for value, on the labelled reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from service.figures.friction import tfidf, themes

DATA = Path(__file__).parent / "data"


def _texts() -> list[str]:
    rows = [json.loads(line) for line in (DATA / "friction_labelled.jsonl").read_text("utf-8").splitlines() if line]
    return [str(row["text"]) for row in rows]


def test_the_stop_words_are_scikit_learns() -> None:
    assert tfidf.ENGLISH_STOP_WORDS == ENGLISH_STOP_WORDS


@pytest.mark.parametrize("kind", ["words", "chars"])
def test_vectors_equal_scikit_learns(kind: str) -> None:
    texts = _texts()
    fitted, unseen = texts[::2], texts[1::2] + ["  Spaces\t and   UPPER case, a  word never seen: zyzzyva  "]
    if kind == "words":
        ours = tfidf.Tfidf(fitted, themes._terms)
        theirs = TfidfVectorizer(analyzer=themes._terms, sublinear_tf=True).fit(fitted)
    else:
        ours = tfidf.Tfidf(fitted, lambda text: tfidf.char_wb_ngrams(text, 3, 5))
        theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(fitted)
    assert ours.vocabulary == theirs.vocabulary_
    assert np.array_equal(ours.idf, theirs.idf_)
    mine, reference = ours.transform(unseen), theirs.transform(unseen)
    assert mine.shape == reference.shape
    assert np.array_equal(mine.toarray(), reference.toarray())  # bit for bit: no theme may change


def test_a_corpus_of_stop_words_only_groups_without_error() -> None:
    """scikit-learn refuses an empty vocabulary (ValueError); a digest over such reports must still build."""
    frame = pd.DataFrame(
        [(1, "it is", "api", "other", "U1", 1, 5), (2, "it was", "api", "other", "U2", 1, 5)],
        columns=["id", "text", "service", "category", "reporter", "votes", "minutes_lost"],
    )
    assert sorted(t.report_ids for t in themes.group(frame)) == [[1], [2]]


def test_pairwise_products_are_scipys_sparse_product_bit_for_bit() -> None:
    """The themes compare rows by ``Rows.gram`` (no scipy.sparse import at start-up): its sums are in the
    order of scipy's sparse ``X @ X.T``, so every similarity, and so every theme, is the same."""
    from scipy.sparse import csr_matrix

    texts = _texts()
    rng = np.random.default_rng(0)
    for analyze in (themes._terms, lambda text: tfidf.char_wb_ngrams(text, 3, 5)):
        rows = tfidf.Tfidf(texts[::2], analyze).transform([*texts, "", "zyzzyva"])
        sparse = csr_matrix((rows.data, rows.indices, rows.indptr), shape=rows.shape)
        assert np.array_equal(rows.toarray(), sparse.toarray())
        for size in (1, 2, 7, 40, len(texts) + 2):
            picked = [int(i) for i in rng.choice(rows.shape[0], size=size, replace=size > rows.shape[0])]
            part = sparse[picked]
            assert np.array_equal(rows.take(picked).gram(), (part @ part.T).toarray())
