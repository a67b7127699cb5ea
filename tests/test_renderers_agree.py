"""One metric reads the same everywhere: its label, the colour of its week, the cohort words and the span of the
cohort table agree between the digest's JSON, its HTML page, the web app and Slack — all from the vocabulary
(``service.core.vocab``) and the one colour rule (``service.digest.colour``)."""

from __future__ import annotations

import re
from html import escape

from fastapi.testclient import TestClient

from integrations.slack.digest_blocks import digest_blocks
from service.core import vocab
from service.core.settings import Settings
from service.criteria.metrics import DECLARED
from service.digest.colour import headline_css
from service.digest.content import HEADLINE
from service.digest.html import render_html
from service.digest.models import DigestContent
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


def test_every_renderer_shows_a_metric_with_its_one_label_colour_and_cohort_words(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.6)
    content = digest(client, admin_headers, settings)
    typed = DigestContent.model_validate(content)
    html = render_html(typed)
    app = _app_page(client, settings)
    slack = _slack_text(typed)

    rows = content["headline"]
    assert [row["key"] for row in rows] == list(HEADLINE)
    tones = {row.key: headline_css(row) for row in typed.headline}
    assert tones["deploys"] == "better"  # 2 → 6 deploys a week against the baseline: the colour must say so
    for row in rows:
        label = vocab.metric(row["key"]).chart_label
        assert row["label"] == label
        assert f"<tr><td>{escape(label)}</td><td class='{tones[row['key']]}'>" in html, label
        cell = rf'<td data-label="This week" class="num {tones[row["key"]]}">'
        assert re.search(rf'<td data-label="Metric">{re.escape(escape(label))}</td>\s*{cell}', app), label
        assert label in slack, label

    declared = {d.name: d.row() for d in DECLARED}  # what Frictionlog measures itself (the pulse)
    for item in content["migration"]["before_after"]:
        if item["metric"] in declared:
            row = declared[item["metric"]]
            expected = (row.label, row.unit, row.higher_is_better)
        else:
            words = vocab.metric(item["metric"])
            expected = (words.label, words.unit, words.higher_is_better)
        assert (item["label"], item["unit"], item["higher_is_better"]) == expected
        assert escape(expected[0]) in html, item["metric"]
        assert escape(expected[0]) in app, item["metric"]

    over = content["migration"]["cohorts_over"]
    assert f"Cohorts over {over}" in html
    assert f"Cohorts over {over}" in app
    assert f"({over})" in slack
    for cohort in content["migration"]["cohorts"]:
        shown_as = vocab.COHORT_WORDS[cohort]
        assert f"<td>{shown_as}</td>" in html
        assert f'<td data-label="Cohort">{shown_as}' in app
        assert f"{shown_as}:" in slack
    for key in HEADLINE:
        header = escape(vocab.metric(key).chart_label)
        assert f"<th>{header}</th>" in html, key
        assert f'class="num">{header}</th>' in app, key
