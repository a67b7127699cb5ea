"""One metric reads the same everywhere: its label, the colour of its week, the cohort words and the span of the
cohort table agree between the digest's JSON, its HTML page, the web app and Slack — all from the vocabulary
(``service.core.vocab``) and the one colour rule (``service.digest.colour``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html import escape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape as autoescape

from integrations.slack.digest_blocks import digest_blocks
from integrations.slack.mrkdwn import escape as slack_escape
from service.app.web.digest_view import parts
from service.core import vocab
from service.core.settings import Settings
from service.criteria.metrics import DECLARED
from service.digest import claims
from service.digest.colour import headline_css
from service.digest.content import HEADLINE
from service.digest.html import render_html
from service.digest.migration import verdict
from service.digest.models import BeforeAfter, CostFigures, CostPart, DigestContent
from service.digest.render import COST_ROWS, plain_text
from tests.factories import issue_token
from tests.helpers import get_ready
from tests.test_digest import MOVERS, STAYERS, WEEK, digest, story
from tests.test_web import sign_in


def _slack_text(content: DigestContent) -> str:
    _, blocks = digest_blocks(content)
    return "\n".join(str(block) for block in blocks)


def _app_page(client: TestClient, settings: Settings) -> str:
    signed = sign_in(client, issue_token(settings, "leader", ["read"]), f"/digests/{WEEK}")
    assert signed.status_code == 303, signed.text
    page = get_ready(client, f"/digests/{WEEK}")
    assert page.status_code == 200, page.text
    text: str = page.text
    return text


@dataclass(frozen=True, slots=True)
class Shown:
    """One digest as each renderer shows it."""

    content: dict[str, Any]
    """The JSON digest."""
    typed: DigestContent
    html: str
    app: str
    slack: str


def assert_headline(shown: Shown) -> None:
    """Each headline metric: its one chart label and its one tone (colour) in the JSON, HTML, app and Slack."""
    rows = shown.content["headline"]
    assert [row["key"] for row in rows] == list(HEADLINE)
    tones = {row.key: headline_css(row) for row in shown.typed.headline}
    assert tones["deploys"] == "better"  # 2 → 6 deploys a week against the baseline: the colour must say so
    for row in rows:
        label = vocab.metric(row["key"]).chart_label
        assert row["label"] == label
        assert f"<tr><td>{escape(label)}</td><td class='{tones[row['key']]}'>" in shown.html, label
        cell = rf'<td data-label="This week" class="num {tones[row["key"]]}">'
        assert re.search(rf'<td data-label="Metric">{re.escape(escape(label))}</td>\s*{cell}', shown.app), label
        assert label in shown.slack, label


def assert_effect_labels(shown: Shown) -> None:
    """Each judged metric's label, unit and direction: the vocabulary's, or the declared metric's."""
    declared = {d.name: d.row() for d in DECLARED}  # what Frictionlog measures itself (the pulse)
    for item in shown.content["migration"]["before_after"]:
        if item["metric"] in declared:
            row = declared[item["metric"]]
            expected = (row.label, row.unit, row.higher_is_better)
        else:
            words = vocab.metric(item["metric"])
            expected = (words.label, words.unit, words.higher_is_better)
        assert (item["label"], item["unit"], item["higher_is_better"]) == expected
        assert escape(expected[0]) in shown.html, item["metric"]
        assert escape(expected[0]) in shown.app, item["metric"]


def assert_sentences(shown: Shown) -> None:
    """Each effect's sentence: one builder writes it; every renderer shows it as written."""
    typed = shown.typed
    for effect in typed.migration.before_after if typed.migration else []:
        said = effect.sentence
        assert said == claims.sentence(effect), effect.metric
        assert escape(said) in shown.html, effect.metric
        assert str(autoescape(said)) in shown.app, effect.metric
        assert slack_escape(said) in shown.slack, effect.metric
        assert said in plain_text(typed).splitlines(), effect.metric


def assert_cohorts(shown: Shown) -> None:
    """The cohort table's window and cohort words, and its column headers, alike everywhere."""
    over = shown.content["migration"]["cohorts_over"]
    assert f"Cohorts over {over}" in shown.html
    assert f"Cohorts over {over}" in shown.app
    assert f"({over})" in shown.slack
    for cohort in shown.content["migration"]["cohorts"]:
        shown_as = vocab.COHORT_WORDS[cohort]
        assert f"<td>{shown_as}</td>" in shown.html
        assert f'<td data-label="Cohort">{shown_as}' in shown.app
        assert f"{shown_as}:" in shown.slack
    for key in HEADLINE:
        header = escape(vocab.metric(key).chart_label)
        assert f"<th>{header}</th>" in shown.html, key
        assert f'class="num">{header}</th>' in shown.app, key


def test_every_renderer_shows_a_metric_with_its_one_label_colour_and_cohort_words(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)
    content = digest(client, admin_headers, settings)
    typed = DigestContent.model_validate(content)
    shown = Shown(content, typed, render_html(typed), _app_page(client, settings), _slack_text(typed))
    assert_headline(shown)
    assert_effect_labels(shown)
    assert_sentences(shown)
    assert_cohorts(shown)


def _own_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every metric of the vocabulary renamed: a renderer that names a metric with words of its own still
    shows the old name, one that reads the vocabulary shows the new one."""
    renamed = tuple(
        replace(m, label=f"«{m.key} label»", article_name=m.article_name and f"«{m.key} name»") for m in vocab.METRICS
    )
    monkeypatch.setattr(vocab, "METRICS", renamed)


FIGURES = CostFigures(
    compute_cost=1200.0, unallocated_cost_share=0.1, gpu_utilisation=0.4, idle_gpu_cost=80.0, cold_start_p95_seconds=3.0
)


def test_the_cost_figures_are_named_by_the_vocabulary_in_every_renderer(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=4, noise=0.6)
    typed = DigestContent.model_validate(digest(client, admin_headers, settings))
    costed = typed.model_copy(update={"cost": CostPart(currency="EUR", this_week=FIGURES, four_week_average=FIGURES)})
    _own_words(monkeypatch)

    shown = {
        "html": render_html(costed),
        "app": str(parts(costed).resources),
        "slack": _slack_text(costed),
        "text": plain_text(costed),
    }
    for row in COST_ROWS:
        if row.metric is None:
            continue
        name = vocab.upper_first(vocab.metric(row.metric).in_sentence)
        assert name.startswith("«"), row.metric
        for renderer, text in shown.items():
            assert name in text, (renderer, row.metric)


def _changed(key: str, relative: float) -> BeforeAfter:
    words = vocab.metric(key)
    return BeforeAfter(
        metric=key,
        label=words.label,
        unit=words.unit,
        higher_is_better=words.higher_is_better,
        before=10.0,
        after=10.0 * (1 + relative),
        counterfactual=10.0,
        relative=relative,
        low=relative / 2,
        high=relative * 2,
        services=4,
        controls=4,
        verdict="changed",
        method="staggered_did",
        sentence="",
    )


def test_the_verdict_names_every_metric_by_the_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    _own_words(monkeypatch)
    items = [_changed(m.key, 0.5) for m in vocab.METRICS]

    said = " ".join(verdict(items, [], []))

    for m in vocab.METRICS:
        assert m.in_sentence in said, m.key
    assert all(claims.name(item) in claims.claim(item) for item in items)
