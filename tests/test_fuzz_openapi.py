"""Schemathesis against the app's own OpenAPI schema, every operation, with a token holding every scope:
no 5xx, and every documented response matches its schema.

(Driven directly — each operation's Hypothesis strategy — rather than through schemathesis' pytest
plugin, which does not load under this pytest.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.app.api.app import create_app
from service.core.settings import Settings
from tests.factories import issue_token
from tests.fakes import RecordingWaker
from tests.helpers import make_settings

pytestmark = pytest.mark.slow
EXAMPLES = 25


def test_every_operation_survives_generated_requests(database_url: str, tmp_path: Path) -> None:
    """On both backends (``database_url``); bounded by EXAMPLES per operation, never by time."""
    app_settings: Settings = make_settings(database_url, tmp_path)
    token = issue_token(app_settings, "fuzz", ["ingest", "read", "admin"])
    app = create_app(app_settings, waker=RecordingWaker())
    failures: list[str] = []
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        results = list(schema.get_all_operations())
        assert [result.err() for result in results if isinstance(result, Err)] == []
        operations = [result.ok() for result in results if isinstance(result, Ok)]
        assert len(operations) >= 20

        for operation in operations:
            fuzz(operation, token, failures)

    assert failures == []


def fuzz(operation: schemathesis.APIOperation[Any, Any, Any, Any], token: str, failures: list[str]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {response.text[:300]}")
            return
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except Exception as exc:  # collect every operation's problem, then report them together
            failures.append(f"{operation.label}: {str(exc)[:300]}")

    run()
