"""Access control over every route the app has (enumerated from the app, so none can be forgotten), and
no secret in the logs of a full run."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.settings import Settings
from service.core.vocab import grants
from tests.factories import issue_token, make_deployment
from tests.vendors import github_request

# Every operation of the app and the scope it needs. None: public, or authenticated by a signature.
SCOPES: dict[tuple[str, str], str | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("GET", "/metrics"): None,
    ("POST", "/webhooks/{source}"): None,
    ("POST", "/slack/events"): None,
    ("POST", "/webhooks/generic"): "ingest",
    ("POST", "/api/v1/friction"): "ingest",
    ("GET", "/api/v1/friction"): "read",
    ("GET", "/api/v1/friction/themes"): "read",
    ("GET", "/api/v1/friction/{report_id}"): "read",
    ("PATCH", "/api/v1/friction/{report_id}"): "admin",
    ("GET", "/api/v1/events"): "read",
    ("GET", "/api/v1/events/stats"): "read",
    ("PUT", "/api/v1/services/{slug}"): "admin",
    ("GET", "/api/v1/services"): "read",
    ("PUT", "/api/v1/services/{slug}/aliases"): "admin",
    ("GET", "/api/v1/aliases"): "read",
    ("GET", "/api/v1/migrations"): "read",
    ("POST", "/api/v1/migrations"): "admin",
    ("PATCH", "/api/v1/migrations/{migration_id}"): "admin",
    ("DELETE", "/api/v1/migrations/{migration_id}"): "admin",
    ("GET", "/api/v1/metrics/dora"): "read",
    ("GET", "/api/v1/metrics/weekly"): "read",
    ("GET", "/api/v1/metrics/friction"): "read",
    ("GET", "/api/v1/metrics/measurements"): "read",
    ("POST", "/api/v1/cost/imports"): "admin",
    ("POST", "/api/v1/cost/imports/plan"): "admin",
    ("GET", "/api/v1/metrics/lead-time-stages"): "read",
    ("PUT", "/api/v1/metrics/{name}"): "admin",
    ("GET", "/api/v1/migrations/{name}/effects"): "read",
    ("POST", "/api/v1/imports"): "admin",
    ("GET", "/api/v1/imports/{run_id}"): "admin",
    ("GET", "/api/v1/metrics/work"): "read",
    ("GET", "/api/v1/digests/{week}"): "read",
    ("DELETE", "/api/v1/reporters/{identity}"): "admin",
}
SAMPLES = {
    "migration_id": "1",
    "name": "to-k8s",
    "run_id": "1",
    "report_id": "1",
    "slug": "ml-api",
    "week": "2026-W44",
    "source": "github",
    "identity": "U024BE7LH",
}


def operations(client: TestClient) -> set[tuple[str, str]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    return client.request(method, url(path), json={}, headers=headers)


def test_every_route_is_listed_here_with_its_scope(client: TestClient) -> None:
    assert operations(client) == set(SCOPES)


@pytest.mark.parametrize(("method", "path"), [key for key, scope in SCOPES.items() if scope is not None])
def test_protected_routes_refuse_missing_wrong_revoked_and_wrong_scope_tokens(
    client: TestClient, settings: Settings, method: str, path: str
) -> None:
    from service.core import tokens
    from service.core.db import session_scope

    needed = SCOPES[(method, path)]
    others = [scope for scope in ("ingest", "read", "admin") if needed is None or not grants([scope], needed)]
    wrong_scope = issue_token(settings, "other", others)
    revoked = issue_token(settings, "old", [needed or "read"])
    with session_scope(settings.database_url, write=True) as session:
        tokens.revoke_token(session, name="old")

    answers = {
        "missing": call(client, method, path, {}).status_code,
        "malformed": call(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}).status_code,
        "wrong": call(client, method, path, {"Authorization": "Bearer fl_not-a-real-token"}).status_code,
        "revoked": call(client, method, path, {"Authorization": f"Bearer {revoked}"}).status_code,
        "wrong_scope": call(client, method, path, {"Authorization": f"Bearer {wrong_scope}"}).status_code,
    }

    assert answers == {"missing": 401, "malformed": 401, "wrong": 401, "revoked": 401, "wrong_scope": 403}
    right = issue_token(settings, "right", [needed or "read"])
    assert call(client, method, path, {"Authorization": f"Bearer {right}"}).status_code not in (401, 403)


def test_no_secret_reaches_the_logs(client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    from workers.process import drain

    caplog.set_level(logging.DEBUG)
    # The CLI quiets httpx (a CLI test may have run first); its request lines carry URLs, which is where a
    # token would leak, so they are part of what is checked.
    caplog.set_level(logging.DEBUG, logger="httpx")
    token = issue_token(settings, "ci", ["ingest", "read", "admin"])
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/webhooks/generic", json=make_deployment(), headers=headers)
    client.post("/webhooks/generic", json={"type": "deployment"}, headers=headers)
    client.post("/webhooks/generic", json=make_deployment(), headers={"Authorization": "Bearer fl_guess"})
    client.post("/webhooks/github", **github_request("push", {"ref": "refs/heads/main"}))
    client.post("/webhooks/github", **github_request("ping", {}, secret="wrong"))
    client.post("/webhooks/gitlab", json={}, headers={"X-Gitlab-Token": "wrong", "X-Gitlab-Event": "Push Hook"})
    client.get("/api/v1/metrics/dora", headers=headers)
    drain(settings)

    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    secrets = [token]
    for name in ("github_webhook_secret", "gitlab_webhook_token", "pagerduty_webhook_secret", "opsgenie_webhook_token"):
        value = getattr(settings, name)
        if value is not None:
            secrets.append(value.get_secret_value())
    assert caplog.records  # the run did log
    for secret in secrets:
        assert secret not in logged
    assert "gh-test-secret" not in repr(settings)  # SecretStr masks itself


def test_an_admin_token_reads_the_api_and_the_pages_alike_and_a_read_token_administers_neither(
    client: TestClient, settings: Settings
) -> None:
    """One scope rule (``vocab.grants``) for the API and the web app: admin implies read, nothing else."""
    admin_only = {"Authorization": f"Bearer {issue_token(settings, 'admin-only', ['admin'])}"}
    read_only = {"Authorization": f"Bearer {issue_token(settings, 'read-only', ['read'])}"}
    ingest_only = {"Authorization": f"Bearer {issue_token(settings, 'ingest-only', ['ingest'])}"}
    reads = [key for key, scope in SCOPES.items() if scope == "read" and key[0] == "GET"]
    assert reads
    for method, path in reads:
        assert call(client, method, path, admin_only).status_code not in (401, 403), path
        assert call(client, method, path, ingest_only).status_code == 403, path
    for method, path in (key for key, scope in SCOPES.items() if scope == "admin"):
        assert call(client, method, path, read_only).status_code == 403, path
    assert client.get("/services", headers=admin_only).status_code == 200
    assert client.get("/services", headers=read_only).status_code == 200
    assert client.get("/services", headers=ingest_only).status_code == 403
