"""One service, whatever the source and however it is spelled: every path goes through service.core.identity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from service.app.api.app import create_app
from service.core.errors import InvalidInput
from service.core.identity import is_slug, normalise, service_slug
from service.core.models import Change, Deployment, FrictionReport, Incident, Service, ServiceAlias
from service.core.settings import Settings
from service.figures import catalogue
from tests.factories import T0, iso, issue_token, sha
from tests.fakes import RecordingWaker
from tests.helpers import make_settings
from tests.slack_fake import FakeSlack, fake_slack
from tests.vendors import (
    GL_PROJECT,
    OPSGENIE_TOKEN,
    REPO,
    gh_deployment_status,
    github_request,
    gl_request,
    pd_incident_event,
    pd_request,
    slack_request,
)
from workers.process import drain

SLACK_SECRET = "slack-signing-secret"

SPELLINGS = [
    "checkout-api",
    "Checkout-API",
    "CHECKOUT-API",
    "checkout\u2010api",  # hyphen
    "checkout\u2013api",  # en dash
    "checkout\u2212api",  # minus sign
    "\uff43\uff48\uff45\uff43\uff4b\uff4f\uff55\uff54\uff0d\uff41\uff50\uff49",  # fullwidth
    "check\u200bout-api",  # zero-width space
    "\ufeffcheckout-api",  # byte-order mark
    "checkout-api ",
    " checkout-api\n",
    "checkout\u00ad-api",  # soft hyphen
]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


def _slack_form(service: str, number: int) -> dict[str, Any]:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "acme"},
        "api_app_id": "A123456",
        "token": "verification",
        "user": {"id": "U024BE7LH", "username": "steve", "team_id": "T0001"},
        "trigger_id": f"12345.{number}.abcd",
        "view": {
            "id": f"V{number}",
            "type": "modal",
            "callback_id": "friction_modal",
            "private_metadata": json.dumps({"channel": "C2147483705"}),
            "hash": "156772938.1827394",
            "state": {
                "values": {
                    "what": {"text": {"type": "plain_text_input", "value": f"Cold starts take 40 s ({number})"}},
                    "service": {
                        "service": {
                            "type": "static_select",
                            "selected_option": {"value": service, "text": {"type": "plain_text", "text": service}},
                        }
                    },
                }
            },
        },
    }
    return slack_request(urlencode({"payload": json.dumps(payload)}), secret=SLACK_SECRET)


def _post_everywhere(client: TestClient, token: str, service: str, n: int) -> list[int]:
    """The same service through every source; returns the status codes."""
    bearer = {"Authorization": f"Bearer {token}"}
    at = T0 + timedelta(hours=n)
    generic = {
        "type": "deployment",
        "id": f"gen-{n}",
        "service": service,
        "environment": "production",
        "status": "success",
        "finished_at": iso(at),
    }
    argocd = {**generic, "id": f"argo-{n}", "repository": "https://github.com/acme/checkout-api.git"}
    change = {"type": "change", "sha": sha(n), "repository": "acme/x", "service": service, "timestamp": iso(at)}
    repo = {**REPO, "name": service, "full_name": f"acme/{service}"}
    github = gh_deployment_status(1000 + n, sha(n), "success", at) | {"repository": repo}
    project = {**GL_PROJECT, "name": service, "path_with_namespace": f"acme/{service}"}
    gitlab = {
        "object_kind": "deployment",
        "status": "success",
        "status_changed_at": iso(at),
        "deployment_id": 2000 + n,
        "environment": "production",
        "project": project,
        "short_sha": sha(n)[:8],
        "commit_url": f"https://gitlab.example.com/acme/x/-/commit/{sha(n)}",
    }
    pagerduty = pd_incident_event("incident.triggered", f"PD{n}", at, service=service, created=at)
    pagerduty["event"]["data"]["service"]["id"] = f"PSVC{n}"  # a new PagerDuty id: only the name is shared
    opsgenie = {
        "action": "Create",
        "alert": {
            "alertId": f"og-{n}",
            "message": "lag",
            "tags": [f"service:{service}"],
            "entity": "",
            "createdAt": int(at.timestamp() * 1000),
            "priority": "P2",
            "details": {},
        },
    }
    friction = {"text": f"Builds are slow ({n})", "service": service}
    return [
        client.post("/webhooks/generic", json=generic, headers=bearer).status_code,
        client.post("/webhooks/generic", json=argocd, headers=bearer).status_code,
        client.post("/webhooks/generic", json=change, headers=bearer).status_code,
        client.post("/webhooks/github", **github_request("deployment_status", github)).status_code,
        client.post("/webhooks/gitlab", **gl_request("Deployment Hook", gitlab)).status_code,
        client.post("/webhooks/pagerduty", **pd_request(pagerduty)).status_code,
        client.post("/webhooks/opsgenie", json=opsgenie, headers={"X-Frictionlog-Token": OPSGENIE_TOKEN}).status_code,
        client.post("/api/v1/friction", json=friction, headers=bearer).status_code,
        client.post("/slack/events", **_slack_form(service, n)).status_code,
    ]


def test_every_source_in_every_look_alike_spelling_finds_one_service(
    database_url: str, tmp_path: Path, slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        slack_signing_secret=SLACK_SECRET,
        slack_bot_token="xoxb-test-token",
        slack_api_url=slack.url,
    )
    token = issue_token(settings, "all", ["ingest", "read", "admin"])
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        codes = [_post_everywhere(client, token, spelling, n) for n, spelling in enumerate(SPELLINGS, start=1)]
        # The API's path takes the same rule: editing the service by a look-alike name edits it.
        edited = client.put(
            "/api/v1/services/Checkout\u2010API ",
            json={"team": "payments"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert all(code in (200, 202) for row in codes for code in row), codes
    assert edited.status_code == 200
    assert edited.json()["slug"] == "checkout-api"
    stats = drain(settings)
    assert stats.failed == 0

    with Session(settings_engine(settings)) as session:
        assert session.exec(select(Service.slug)).all() == ["checkout-api"]
        assert session.exec(select(Service.team)).one() == "payments"
        per_table = {
            model.__name__: set(session.exec(select(model.service)).all())
            for model in (Deployment, Incident, Change, FrictionReport)
        }
        counts = {
            "deployments": len(session.exec(select(Deployment.id)).all()),
            "incidents": len(session.exec(select(Incident.id)).all()),
            "reports": len(session.exec(select(FrictionReport.id)).all()),
        }
    assert per_table == {name: {"checkout-api"} for name in per_table}
    n = len(SPELLINGS)
    assert counts == {"deployments": 4 * n, "incidents": 2 * n, "reports": 2 * n}


def settings_engine(settings: Settings) -> Any:
    from service.core.db import get_engine

    return get_engine(settings.database_url)


def test_a_repository_spelled_in_upper_case_is_one_service_from_the_form_and_from_github(
    client: TestClient, ingest_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    """The issue's case: ``acme/Checkout_API`` became ``Checkout_API`` from the form, ``checkout_api`` from GitHub."""
    repo = {**REPO, "name": "Checkout_API", "full_name": "acme/Checkout_API"}
    push = {
        "ref": "refs/heads/main",
        "commits": [
            {"id": sha(1), "timestamp": iso(T0), "author": {"name": "a"}, "added": [], "modified": [], "removed": []}
        ],
        "repository": repo,
    }
    form = {"type": "change", "sha": sha(2), "repository": "acme/Checkout_API", "timestamp": iso(T0)}
    assert client.post("/webhooks/github", **github_request("push", push)).status_code == 202
    assert client.post("/webhooks/generic", json=form, headers=ingest_headers).status_code == 202
    drain(settings)
    assert set(session.exec(select(Change.service)).all()) == {"checkout_api"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "type": "deployment",
                "id": "d",
                "service": "check out/api",
                "environment": "production",
                "status": "success",
                "finished_at": "2026-10-05T12:00:00Z",
            },
            "service",
        ),
        (
            {
                "type": "incident",
                "id": "i",
                "service": "\u200b",
                "status": "triggered",
                "started_at": "2026-10-05T12:00:00Z",
            },
            "service",
        ),
        (
            {"type": "change", "sha": "a" * 40, "repository": "acme/-", "timestamp": "2026-10-05T12:00:00Z"},
            "repository",
        ),
    ],
)
def test_a_name_that_is_no_slug_after_normalising_is_422_naming_the_field(
    client: TestClient, ingest_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/webhooks/generic", json=body, headers=ingest_headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_vendor_name_that_is_no_slug_is_422_too(client: TestClient) -> None:
    event = pd_incident_event("incident.triggered", "PDX", T0, service="Checkout (EU)", created=T0)
    response = client.post("/webhooks/pagerduty", **pd_request(event))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "service"


def test_the_friction_api_and_the_catalogue_take_the_rule(client: TestClient, admin_headers: dict[str, str]) -> None:
    refused = client.post("/api/v1/friction", json={"text": "slow builds", "service": "a b/c"}, headers=admin_headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "service"
    with pytest.raises(InvalidInput) as caught:
        catalogue.parse_catalogue("slug,team\nbad/slug,x\n", fmt="csv")
    assert caught.value.field == "slug"
    assert "line 2" in caught.value.message
    specs = catalogue.parse_catalogue('- slug: "Ledger\u2013API"\n  aliases: [old-ledger]\n', fmt="yaml")
    assert (specs[0].slug, specs[0].aliases) == ("ledger-api", ["old-ledger"])


@given(st.text(max_size=40))
def test_normalising_is_idempotent_and_yields_slugs_or_refuses(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once
    if not is_slug(once):
        with pytest.raises(InvalidInput) as refused:
            service_slug(raw)
        assert refused.value.field == "service"
    else:
        slug = service_slug(raw)
        assert is_slug(slug)
        assert slug == once


@given(st.text(max_size=40), st.integers(min_value=0, max_value=300))
def test_a_remembered_normal_form_is_the_rule_s_for_short_and_long_names(raw: str, pad: int) -> None:
    from service.core.identity import CACHED_UP_TO, _normal_form

    name = raw + " X" * pad  # some cross CACHED_UP_TO, and are never remembered
    first, again = normalise(name), normalise(name)
    assert first == again == _normal_form(name)
    if len(name) <= CACHED_UP_TO:
        assert normalise(name) is first  # the remembered string itself


def test_an_alias_moves_stored_events_and_a_rebuild_re_derives_them(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, session: Session
) -> None:
    def deploy(service: str, n: int) -> int:
        body = {
            "type": "deployment",
            "id": f"d{n}",
            "service": service,
            "environment": "production",
            "status": "success",
            "finished_at": iso(T0 + timedelta(days=n)),
        }
        response: httpx.Response = client.post("/webhooks/generic", json=body, headers=admin_headers)
        return response.status_code

    assert deploy("payments", 1) == deploy("billing", 2) == 202
    drain(settings)
    renamed = client.put("/api/v1/services/billing/aliases", json={"alias": "Payments"}, headers=admin_headers)
    assert renamed.status_code == 200
    assert renamed.json() == {"alias": "payments", "service": "billing", "relabelled": 1}
    assert deploy("payments", 3) == 202  # an event under the old name, after the rename
    drain(settings)

    def state() -> tuple[list[str], list[str]]:
        session.rollback()
        services = list(session.exec(select(Service.slug)).all())
        deployed = list(session.exec(select(Deployment.service).order_by(Deployment.external_id)).all())
        return services, deployed

    assert state() == (["billing"], ["billing", "billing", "billing"])
    listed = client.get("/api/v1/aliases", headers=admin_headers).json()
    assert listed == [{"alias": "payments", "service": "billing"}]
    # A rebuild re-derives every row from the inbox: the old name lands on the new service again.
    from service.app.cli import _delete_derived
    from service.core.vocab import InboxStatus
    from service.ingest.inbox import requeue

    _delete_derived(session)
    requeue(session, statuses=[InboxStatus.PROCESSED])
    drain(settings)
    assert state() == (["billing"], ["billing", "billing", "billing"])
    assert session.exec(select(ServiceAlias.service)).all() == ["billing"]


def test_an_alias_cannot_name_its_own_service(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.put("/api/v1/services/billing/aliases", json={"alias": "BILLING "}, headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "alias"
