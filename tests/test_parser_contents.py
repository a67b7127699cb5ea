"""Property tests of what comes out: for any service spelling and any times, every record a source's parser
makes carries the service (in its catalogue spelling) and the timestamps of the payload it came from — both
when the edge parses the request and when a worker parses the stored body."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations import friction_api, generic, registry
from integrations.config import IntegrationConfig
from service.core.identity import service_slug
from service.core.records import ChangeRecord, DeploymentRecord, FrictionRecord, InboxMeta, IncidentRecord, Record
from tests.factories import iso

CONFIG = IntegrationConfig()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Service names as senders spell them: a slug, then case, dash look-alikes, invisibles and white space.
slugs = st.from_regex(r"[a-z0-9][a-z0-9_.]{0,10}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
spellings = st.builds(
    lambda slug, upper, dash, invisible, pad: (
        pad + invisible + (slug.upper() if upper else slug).replace("-", dash) + pad
    ),
    slugs,
    st.booleans(),
    st.sampled_from(["-", "\u2010", "\u2013", "\u2212", "\uff0d"]),
    st.sampled_from(["", "\u200b", "\ufeff"]),
    st.sampled_from(["", " ", "\n"]),
)
# Whole seconds (GitLab's format has no fractions), from 2001 to a month ago (later than two days ahead is
# refused as a clock error).
# (hypothesis takes naive bounds and adds the zone.)
LATEST = (datetime.now(UTC) - timedelta(days=30)).replace(tzinfo=None)
moments = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001
    max_value=LATEST,
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))


@dataclass(frozen=True, slots=True)
class Case:
    source: str
    event_type: str
    payload: dict[str, Any]
    service: str
    times: dict[str, datetime]
    """Record field → the moment the payload gave it."""


def _gitlab_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def generic_deployment(name: str, started: datetime, finished: datetime) -> Case:
    body = {"type": "deployment", "id": "d", "service": name, "environment": "production", "status": "success",
            "started_at": iso(started), "finished_at": iso(finished)}  # fmt: skip
    return Case("generic", "deployment", body, name, {"started_at": started, "finished_at": finished})


def generic_incident(name: str, started: datetime, resolved: datetime) -> Case:
    body = {"type": "incident", "id": "i", "service": name, "status": "resolved",
            "started_at": iso(started), "resolved_at": iso(resolved)}  # fmt: skip
    return Case("generic", "incident", body, name, {"started_at": started, "resolved_at": resolved})


def generic_change(name: str, committed: datetime, _other: datetime) -> Case:
    body = {"type": "change", "sha": "a" * 40, "repository": f"acme/{name.strip()}", "timestamp": iso(committed)}
    return Case("generic", "change", body, name, {"committed_at": committed})


def friction(name: str, occurred: datetime, _other: datetime) -> Case:
    return Case("api", "friction", {"text": "slow builds", "service": name, "occurred_at": iso(occurred)}, name,
                {"created_at": occurred})  # fmt: skip


def github_deployment_status(name: str, created: datetime, finished: datetime) -> Case:
    repository = {"name": name, "full_name": f"acme/{name}", "default_branch": "main"}
    body = {
        "deployment_status": {"state": "success", "created_at": iso(finished), "environment": "production"},
        "deployment": {"id": 7, "sha": "b" * 40, "environment": "production", "created_at": iso(created)},
        "repository": repository,
    }
    return Case("github", "deployment_status", body, name, {"started_at": created, "finished_at": finished})


def github_push(name: str, committed: datetime, _other: datetime) -> Case:
    commit = {"id": "c" * 40, "timestamp": iso(committed), "author": {"name": "a"}, "added": [], "modified": [],
              "removed": []}  # fmt: skip
    repository = {"name": name, "full_name": f"acme/{name}", "default_branch": "main"}
    body = {"ref": "refs/heads/main", "commits": [commit], "repository": repository}
    return Case("github", "push", body, name, {"committed_at": committed})


def gitlab_deployment(name: str, changed: datetime, _other: datetime) -> Case:
    project = {"name": name, "path_with_namespace": f"acme/{name}", "default_branch": "main"}
    body = {"object_kind": "deployment", "status": "success", "status_changed_at": _gitlab_time(changed),
            "deployment_id": 3, "environment": "production", "project": project, "short_sha": "deadbeef"}  # fmt: skip
    return Case("gitlab", "Deployment Hook", body, name, {"finished_at": changed})


def pagerduty_triggered(name: str, created: datetime, occurred: datetime) -> Case:
    incident = {"id": "PD1", "type": "incident", "created_at": iso(created), "title": "down",
                "service": {"id": "PSVC", "summary": name, "type": "service_reference"}}  # fmt: skip
    body = {"event": {"id": "e", "event_type": "incident.triggered", "occurred_at": iso(occurred), "data": incident}}
    return Case("pagerduty", "incident.triggered", body, name, {"started_at": created})


def opsgenie_create(name: str, created: datetime, _other: datetime) -> Case:
    alert = {"alertId": "a", "message": "down", "tags": [f"service:{name}"], "entity": "",
             "createdAt": int(created.timestamp() * 1000), "details": {}}  # fmt: skip
    return Case("opsgenie", "Create", {"action": "Create", "alert": alert}, name, {"started_at": created})


BUILDERS: list[Callable[[str, datetime, datetime], Case]] = [
    generic_deployment,
    generic_incident,
    generic_change,
    friction,
    github_deployment_status,
    github_push,
    gitlab_deployment,
    pagerduty_triggered,
    opsgenie_create,
]
cases = st.builds(lambda build, name, a, b: build(name, min(a, b), max(a, b)), st.sampled_from(BUILDERS), spellings,
                  moments, moments)  # fmt: skip


def _meta(case: Case) -> InboxMeta:
    # A receive time unlike every payload time: a record that took it instead of the payload's would show.
    return InboxMeta(id=1, event_type=case.event_type, delivery_key="k", received_at=datetime(2000, 6, 1, tzinfo=UTC))


def _stored_body(case: Case) -> str:
    """The body as the edge stores it in the inbox."""
    if case.source == "generic":
        return generic.deliveries(case.payload, headers={})[0].body
    if case.source == "api":
        return friction_api.delivery(case.payload, headers={}).body
    return json.dumps(case.payload)


def _assert_carries(records: list[Record], case: Case) -> None:
    assert records, case
    for record in records:
        assert isinstance(record, ChangeRecord | DeploymentRecord | IncidentRecord | FrictionRecord)
        assert record.service == service_slug(case.service), (record, case.service)
        for name, moment in case.times.items():
            assert getattr(record, name) == moment, (name, record, case.payload)


@FAST
@given(cases)
def test_every_record_a_parser_makes_carries_the_payload_s_service_and_times(case: Case) -> None:
    if case.source in registry.VENDORS:
        records = registry.VENDORS[case.source].parse(_meta(case), case.payload, CONFIG)
    elif case.source == "generic":
        records = generic.parse(case.payload)
    else:
        records = friction_api.parse(_meta(case), case.payload)
    assert isinstance(records, list)
    _assert_carries(records, case)


@FAST
@given(cases)
def test_a_worker_parsing_the_stored_body_finds_the_same_service_and_times(case: Case) -> None:
    records = registry.parse_inbox_body(case.source, _meta(case), _stored_body(case), CONFIG)
    assert isinstance(records, list)
    _assert_carries(records, case)
