"""Property: whatever string is put into any user-text field, no Block Kit builder lets it out as a live
mention, broadcast or link — in the blocks or in the ``text`` fallback — and it still shows as typed."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.slack import blocks
from integrations.slack.digest_blocks import digest_blocks
from integrations.slack.mrkdwn import code, escape, fmt, quote, user_mention
from service.digest.models import DigestContent
from service.figures.friction.categorise import Categorisation, load_taxonomy

TAXONOMY = load_taxonomy(None)
REPORTER = "U024BE7LH"
LIVE = re.compile(r"<([^>]*)>")

fragments = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<!subteam^S0PLATFORM|@platform>",
        "<@U0ADMIN>",
        "<#C0GENERAL>",
        "<https://evil.example|reset your SSO password>",
        "<mailto:x@evil.example|mail>",
        "`",
        "```",
        "&",
        "&lt;",
        "<",
        ">",
        "\n",
        "*",
        "_",
        "~",
    ]
)
user_text = st.one_of(st.text(), st.lists(st.one_of(fragments, st.text(max_size=5)), max_size=12).map("".join))


def mrkdwn_strings(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += mrkdwn_strings(value)
    elif isinstance(node, list):
        for value in node:
            found += mrkdwn_strings(value)
    return found


DIGEST_URL = "http://127.0.0.1:8000/digests/2026-W44"


def assert_no_live_markup(*texts: str) -> None:
    for text in texts:
        # The mention and the link the app writes itself: the verified reporter, the digest's page in the web
        # app (built from FRICTIONLOG_PUBLIC_URL, never from user text).
        live = set(LIVE.findall(text)) - {f"@{REPORTER}", f"{DIGEST_URL}|the full digest with charts"}
        assert not live, f"live markup {live} in {text!r}"


def report(text: str, service: str, note: str, contact: str, *, reporter: str | None = None) -> Any:
    return SimpleNamespace(
        id=7,
        text=text,
        service=service or None,
        reporter=reporter,
        contact=contact or None,
        category="cold_start_latency",
        category_source="rule",
        confidence=0.8,
        minutes_lost=30,
        status="resolved",
        resolution_note=note or None,
    )


def digest(name: str, service: str, quote_text: str, note: str, title: str) -> dict[str, Any]:
    row = {
        "key": "deploys",
        "label": "Deploys",
        "this_week": 3.0,
        "unit": "count",
        "direction": "up",
        "better": True,
        "vs_four_weeks": True,
        "baseline": 1.0,
        "low_sample": False,
        "band": "weekly",
        "four_week_average": 2.0,
    }
    effect = {"metric": "deploys", "label": "Deploys per week", "before": 1.0, "after": 3.0, "relative": 2.0,
              "low": None, "high": None, "services": 1, "verdict": "changed"}  # fmt: skip
    criterion = {"metric": "deploys", "label": "Deploys per week", "direction": "at_least", "kind": "relative",
                 "target": 1.0, "deadline": None, "status": "met", "estimate": 2.0, "low": 1.5,
                 "high": 2.5}  # fmt: skip
    change = {"subject": "criterion deploys", "action": "changed", "before": None, "after": None,
              "changed_by": note, "changed_at": "2026-11-01T00:00:00Z"}  # fmt: skip
    cohort = {"services": 1, "deploys": 3.0, "lead_time": None, "change_failure_rate": None, "time_to_restore": None,
              "incidents": None, "low_sample": False}  # fmt: skip
    return {
        "week": "2026-W44",
        "audience": "leaders",
        "from": "2026-10-26T00:00:00+00:00",
        "to": "2026-11-02T00:00:00+00:00",
        "summary": f"{service} deployed more",
        "empty": False,
        "verdict": [f"Migration {name}: {service} deployed more", f"criteria of {name}: 1 of 2 met"],
        "warnings": [
            {"code": "incidents_unlinked", "count": 2, "message": f"{service} unlinked", "examples": [service, name]}
        ],
        "headline": [row],
        "migration": {
            "name": name,
            "services_migrated": 1,
            "services_total": 2,
            "schedule": f"{name} is due on 2026-12-31",
            "before_after": [{**effect, "sentence": f"{service} went from 1 to 3 deploys a week"}],
            "criteria": [{**criterion, "sentence": f"{name}: deploys at least +100 %: met"}],
            "criteria_changes": [{**change, "sentence": f"{note} lowered the target of {name}"}],
            "cohorts_over": "the last 4 weeks",
            "cohorts": {"migrated": cohort},
        },
        "friction": {
            "new": 2,
            "last_week": 1,
            "hours_lost": 1.5,
            "top_categories": [{"category": "ci", "title": title, "reports": 2, "last_week": 1}],
            "rising_themes": [{"title": title, "service": service, "reports": 2, "example": quote_text}],
            "quotes": [quote_text],
            "you_said_we_did": [{"id": 7, "text": quote_text, "note": note}],
        },
        "charts": {"weeks": [], "deploys": {}, "incidents": {}, "friction_by_category": {}},
        "definitions_version": "1",
        # Platform names come from cost tags and the catalogue: user text in the cost lines.
        "cost": {
            "currency": "USD",
            "this_week": {
                "compute_cost": 1200.0,
                "unallocated_cost_share": 0.1,
                "gpu_utilisation": 0.5,
                "idle_gpu_cost": None,
                "cold_start_p95_seconds": None,
            },
            "four_week_average": {
                "compute_cost": 1000.0,
                "unallocated_cost_share": None,
                "gpu_utilisation": None,
                "idle_gpu_cost": None,
                "cold_start_p95_seconds": None,
            },
            "by_platform": [
                {"platform": name, "this_week": 700.0, "four_week_average": 600.0},
                {"platform": service, "this_week": 500.0, "four_week_average": 400.0},
            ],
            "hybrid": True,
            "sentence": f"Hybrid period: 2 platforms ran at once this week ({name} 700 USD, {service} 500 USD).",
        },
        "productivity": {
            "support_tickets": 3,
            "support_tickets_four_week_average": 4.0,
            "time_to_resolve_median_days": 1.5,
            "time_to_resolve_four_week_median_days": 2.0,
            "open_support_tickets": 2,
            "friction_hours_lost": 3.5,
            "friction_hours_four_week_average": 5.0,
            "features_shipped": 2,
            "time_to_ship_mean_days": 11.0,
            "time_to_ship_low_sample": True,
        },
        "incident_categories": {
            "total": 3,
            "infrastructure": 1,
            "application": 1,
            "unknown": 1,
            "total_four_week_average": 4.0,
            "infrastructure_four_week_average": 3.0,
        },
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=user_text, service=user_text, note=user_text, contact=user_text, name=user_text)
def test_no_builder_lets_user_text_out_live(text: str, service: str, note: str, contact: str, name: str) -> None:
    verified = report(text, service, note, contact, reporter=REPORTER)
    api = report(text, service, note, contact)
    theme = SimpleNamespace(category="config_complexity", service=service or None, reports=2, votes=3, example=text)
    verdict = Categorisation(category="other", confidence=0.4, evidence=(text[:20], service[:20]))

    outputs: list[Any] = [
        blocks.filed_reply(7, verdict, TAXONOMY),
        blocks.report_list([verified, api], TAXONOMY),
        blocks.triage_message(verified, TAXONOMY),
        blocks.triage_message(api, TAXONOMY),
        blocks.home_view([verified], [theme], TAXONOMY),
        [blocks.friction_modal(text=text, services=[service or "x"], metadata={"channel": contact})],
        [blocks.resolve_modal(7, "resolved"), blocks.duplicate_modal(7)],
    ]
    fallbacks: list[str] = [blocks.triage_text(verified), blocks.triage_text(api)]
    for closed in (verified, SimpleNamespace(**{**vars(verified), "status": "wont_fix"})):
        fallback, dm = blocks.resolution_dm(closed)
        outputs.append(dm)
        fallbacks.append(fallback)
    digest_fallback, digest_message = digest_blocks(
        DigestContent.model_validate(digest(name, service, text, note, contact))
    )
    outputs.append(digest_message)
    fallbacks.append(digest_fallback)
    cost_text = "\n".join(s for s in mrkdwn_strings(digest_message) if s.startswith("*Cost and utilisation*"))
    assert "Engineering productivity: 3 infrastructure support tickets" in "".join(mrkdwn_strings(digest_message))
    for platform in (name, service):  # shown as typed, once Slack turns the entities back
        assert platform.replace("\n", " ")[:50].strip() in html.unescape(cost_text).replace("\n", " ")

    assert_no_live_markup(*fallbacks, *(s for output in outputs for s in mrkdwn_strings(output)))
    # Shown as typed: Slack turns the entities back into the characters, so the reporter's words survive.
    shown = html.unescape(blocks.triage_message(api, TAXONOMY)[0]["text"]["text"])
    for line in text[:300].split("\n"):
        assert line in shown


@given(text=user_text)
def test_helpers_escape_and_code_spans_hold(text: str) -> None:
    assert not LIVE.search(escape(text))
    assert not LIVE.search(quote(text))
    span = code(text)
    assert span == "" or (span.startswith("`") and span.endswith("`") and "`" not in span[1:-1])
    assert not LIVE.search(fmt("*{}* {}", text, code(text)))
    assert html.unescape(escape(text)) == text


@given(user_id=st.text())
def test_only_a_well_formed_slack_user_id_becomes_a_mention(user_id: str) -> None:
    mention = user_mention(user_id)
    if mention is not None:
        assert re.fullmatch(r"<@[UW][A-Z0-9]+>", mention)
    assert user_mention("C0GENERAL") is None
    assert user_mention("<!channel>") is None
