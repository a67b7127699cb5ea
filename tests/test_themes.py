"""Theme grouping: near-duplicates the old word-only method missed (YAML config, GPU quota) are one theme."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.themes import load, pair_similarities, scores
from service.figures.friction import themes


def _frame(texts: list[str]) -> pd.DataFrame:
    rows = [(i + 1, text, "platform", "config_complexity", f"U{i}", 1, 10) for i, text in enumerate(texts)]
    return pd.DataFrame(rows, columns=["id", "text", "service", "category", "reporter", "votes", "minutes_lost"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("The YAML config for the new platform is impossible to get right",
         "Writing the platform yml configuration takes me hours every time"),
        ("Waiting three days for GPU quota on the new cluster", "GPU quota requests take days to get approved"),
    ],
)  # fmt: skip
def test_the_pairs_the_issue_saw_missed_are_one_theme(first: str, second: str) -> None:
    grouped = themes.group(_frame([first, second, "the coffee machine is broken"]))
    assert [t.report_ids for t in grouped if t.reports > 1] == [[1, 2]]


def test_a_different_problem_in_the_same_area_is_another_theme() -> None:
    grouped = themes.group(
        _frame(["GPU quota requests take days to get approved", "GPU jobs queue for hours before they start"])
    )
    assert sorted(t.report_ids for t in grouped) == [[1], [2]]


def test_on_the_labelled_pairs_grouping_is_precise_and_finds_most_duplicates() -> None:
    pairs = load()
    precision, recall, _ = scores(pairs, pair_similarities(pairs, "now"), themes.THRESHOLD)
    before_precision, before_recall, _ = scores(pairs, pair_similarities(pairs, "before"), 0.35)
    assert precision >= 0.95
    assert recall >= 0.9
    assert recall > before_recall
    assert precision >= before_precision
