"""Property tests: whatever JSON arrives, every parser answers with records, Ignored, or InvalidInput —
never another exception (which would be a 500 at the edge or a stuck row in a worker). What the records
carry (the payload's service and times) is checked by tests/test_parser_contents.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import friction_api, generic, registry
from integrations.config import IntegrationConfig
from service.core.errors import InvalidInput
from service.core.records import Ignored, InboxMeta

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# Shapes close to real payloads, so the fuzzing reaches past the first check.
near_generic = st.fixed_dictionaries(
    {"type": st.sampled_from(["deployment", "incident", "change"])},
    optional={
        "id": scalars,
        "service": scalars,
        "environment": scalars,
        "status": st.sampled_from(["success", "failure", "triggered", "resolved", "x"]) | scalars,
        "finished_at": scalars | st.just("2026-10-05T12:00:00Z"),
        "started_at": scalars | st.just("2026-10-05T12:00:00Z"),
        "timestamp": scalars | st.just(1759665600),
        "sha": scalars | st.just("a" * 40),
        "repository": scalars,
        "commits": st.lists(st.dictionaries(st.sampled_from(["sha", "timestamp"]), scalars), max_size=3) | scalars,
        "rollback_of": scalars,
    },
)
META = InboxMeta(id=1, event_type="", delivery_key="k", received_at=datetime(2026, 10, 5, tzinfo=UTC))
CONFIG = IntegrationConfig(workflow_environments={"Deploy": "production"})
EVENT_TYPES = {
    "github": ["push", "deployment", "deployment_status", "workflow_run", "pull_request", "issues", "ping", "star"],
    "gitlab": ["Push Hook", "Deployment Hook", "Merge Request Hook", "Pipeline Hook", "Note Hook"],
    "pagerduty": ["incident.triggered", "incident.resolved", "incident.acknowledged", "pagey.ping"],
    "opsgenie": ["Create", "Close", "Acknowledge", "AddNote"],
}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(call: Any) -> str:
    try:
        result = call()
    except InvalidInput:
        return "invalid"
    return "ignored" if isinstance(result, Ignored) else "records"


@FAST
@given(json_values | near_generic | st.lists(near_generic, max_size=3))
def test_generic_form(value: Any) -> None:
    assert outcome(lambda: generic.deliveries(value, headers={})) in ("records", "invalid")


@FAST
@given(json_values | st.fixed_dictionaries({"text": scalars}, optional={"impact": scalars, "occurred_at": scalars}))
def test_friction_form(value: Any) -> None:
    assert outcome(lambda: friction_api.delivery(value, headers={})) in ("records", "invalid")


@FAST
@given(st.sampled_from(sorted(EVENT_TYPES)), st.data(), json_values)
def test_vendor_parsers(source: str, data: st.DataObject, value: Any) -> None:
    event = data.draw(st.sampled_from(EVENT_TYPES[source]))
    meta = InboxMeta(id=1, event_type=event, delivery_key="k", received_at=META.received_at)
    module = registry.VENDORS[source]
    assert outcome(lambda: module.parse(meta, value, CONFIG)) in ("records", "ignored", "invalid")


@FAST
@given(json_values)
def test_stored_bodies_in_workers(value: Any) -> None:
    import json

    body = json.dumps(value)
    for source in registry.PARSERS:
        assert outcome(lambda source=source: registry.parse_inbox_body(source, META, body, CONFIG)) in (
            "records",
            "ignored",
            "invalid",
        )
