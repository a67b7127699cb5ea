"""Counts beside nouns agree in every rendered output (plain text, Slack blocks, the web's filter): one helper,
``service.core.words.plural``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from integrations.slack.blocks import home_view
from integrations.slack.digest_blocks import digest_blocks
from service.app.web.render import templates
from service.digest.models import DigestContent, Warning
from service.digest.render import plain_text, warning_line
from service.figures.friction.categorise import load_taxonomy
from service.figures.metrics.compute import data_quality
from tests.test_mrkdwn_properties import digest, mrkdwn_strings


def data_quality_warnings(count: int) -> list[dict[str, Any]]:
    """The warnings ``compute.data_quality`` finds in ``count`` unlinked incidents and as many deployments
    without commits, all on catalogued services."""
    deployments = pd.DataFrame(
        {
            "id": range(count),
            "service": "checkout",
            "team": "payments",
            "environment": "production",
            "status": "success",
            "finished_at": pd.Timestamp("2026-11-02T09:00Z"),
        }
    )
    incidents = pd.DataFrame(
        {
            "service": ["checkout"] * count,
            "team": ["payments"] * count,
            "caused_by_deployment_id": [None] * count,
            "started_at": [pd.Timestamp("2026-11-02T10:00Z")] * count,
            "resolved_at": [pd.Timestamp("2026-11-02T11:00Z")] * count,
        }
    )
    lead_times = pd.DataFrame({"deployment_id": pd.Series([], dtype=int)})
    found = data_quality(deployments, lead_times, incidents, environments=frozenset({"production"}))
    assert [w["code"] for w in found] == ["incidents_unlinked", "deployments_without_commits"]
    return found


def content(count: int) -> dict[str, Any]:
    made = digest("platform-2", "checkout", "slow builds", "fixed", "CI")
    made["incident_categories"].update(total=count, infrastructure=count, application=0, unknown=0)
    made["warnings"] = data_quality_warnings(count)
    made["migration"].update(services_migrated=count, services_total=count)
    made["migration"]["cohorts"]["migrated"]["services"] = count
    made["friction"].update(new=count, hours_lost=float(count))
    made["friction"]["rising_themes"][0]["reports"] = count
    made["productivity"].update(support_tickets=count, features_shipped=count, friction_hours_lost=float(count))
    return made


def rendered(count: int) -> str:
    made = DigestContent.model_validate(content(count))
    fallback, blocks = digest_blocks(made)
    return "\n".join([plain_text(made), fallback, *mrkdwn_strings(blocks)])


@pytest.mark.parametrize(("count", "incident"), [(1, "1 incident"), (2, "2 incidents")])
def test_the_digest_agrees_with_its_counts(count: int, incident: str) -> None:
    text = rendered(count)
    s = "" if count == 1 else "s"
    assert f"{count} of {incident} (4-week" in text
    assert f"{count} incident{s} not linked to any deployment" in text
    assert f"{count} successful production deployment{s} with no commits known" in text
    assert "item" not in text
    assert f"{count} of {count} service{s} moved" in text
    assert f"migrated: {count} service{s}," in text
    assert f"{count} new report{s}" in text
    assert f"{count} hour{s} lost" in text
    assert f"({count} report{s})" in text
    assert f"{count} infrastructure support ticket{s} opened" in text
    assert f"{count} feature{s} shipped" in text
    if count == 1:
        assert not [wrong for wrong in ("1 incidents", "1 services", "1 new reports", "1 hours") if wrong in text]


def test_a_digest_kept_before_warnings_carried_their_count_still_reads_right() -> None:
    old = {"code": "incidents_unlinked", "count": 3, "message": "incidents not linked", "examples": ["a", "b"]}
    new = {**old, "message": "3 incidents not linked"}
    assert warning_line(Warning.model_validate(old)) == "3 items: incidents not linked (e.g. a, b)"
    assert warning_line(Warning.model_validate(new)) == "3 incidents not linked (e.g. a, b)"


def test_the_slack_home_and_the_web_filter_agree() -> None:
    class Theme:
        category, service, reports, votes, example = "ci", None, 1, 2, "slow"

    lines = "\n".join(mrkdwn_strings(home_view([], [Theme()], load_taxonomy(None))))
    assert "1 report, 2 votes" in lines
    page = templates.env.from_string(
        '{{ plural(1, "incident") }} · {{ 2 | plural("incident") }} · {{ 0.96 | plural("hour") }}'
    )
    assert page.render() == "1 incident · 2 incidents · 1 hour"
