"""Counts beside nouns agree in every rendered output (plain text, Slack blocks, the web's filter): one helper,
``service.words.plural``."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.slack.blocks import home_view
from integrations.slack.digest_blocks import digest_blocks
from service.digest.render import plain_text
from service.friction.categorise import load_taxonomy
from service.web.render import templates
from tests.test_mrkdwn_properties import digest, mrkdwn_strings


def content(count: int) -> dict[str, Any]:
    made = digest("platform-2", "checkout", "slow builds", "fixed", "CI")
    made["incident_categories"].update(total=count, infrastructure=count, application=0, unknown=0)
    made["warnings"] = [{"code": "incidents_unlinked", "count": count, "message": "incidents not linked"}]
    made["migration"].update(services_migrated=count, services_total=count)
    made["migration"]["cohorts"]["migrated"]["services"] = count
    made["friction"].update(new=count, hours_lost=float(count))
    made["friction"]["rising_themes"][0]["reports"] = count
    made["productivity"].update(support_tickets=count, features_shipped=count, friction_hours_lost=float(count))
    return made


def rendered(count: int) -> str:
    made = content(count)
    fallback, blocks = digest_blocks(made)
    return "\n".join([plain_text(made), fallback, *mrkdwn_strings(blocks)])


@pytest.mark.parametrize(("count", "incident"), [(1, "1 incident"), (2, "2 incidents")])
def test_the_digest_agrees_with_its_counts(count: int, incident: str) -> None:
    text = rendered(count)
    s = "" if count == 1 else "s"
    assert f"{count} of {incident} (4-week" in text
    assert f"{count} item{s}: incidents not linked" in text
    assert f"{count} of {count} service{s} moved" in text
    assert f"migrated: {count} service{s}," in text
    assert f"{count} new report{s}" in text
    assert f"{count} hour{s} lost" in text
    assert f"({count} report{s})" in text
    assert f"{count} infrastructure support ticket{s} opened" in text
    assert f"{count} feature{s} shipped" in text
    if count == 1:
        assert not [wrong for wrong in ("1 incidents", "1 services", "1 new reports", "1 hours") if wrong in text]


def test_the_slack_home_and_the_web_filter_agree() -> None:
    class Theme:
        category, service, reports, votes, example = "ci", None, 1, 2, "slow"

    lines = "\n".join(mrkdwn_strings(home_view([], [Theme()], load_taxonomy(None))))
    assert "1 report, 2 votes" in lines
    page = templates.env.from_string(
        '{{ plural(1, "incident") }} · {{ 2 | plural("incident") }} · {{ 0.96 | plural("hour") }}'
    )
    assert page.render() == "1 incident · 2 incidents · 1 hour"
