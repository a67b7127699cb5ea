"""Idle GPU cost from FOCUS lines (issue 29 #5): FOCUS 1.x has no GPU column, so a rule read when the figures
are read (``Settings.gpu_line_patterns``, ``service.figures.cost.gpu``) marks a FOCUS line's spend as GPU spend
by its SKU, meter, instance type or ServiceName; joined per service-week with the GPU utilisation it gives idle
GPU cost = GPU spend × (1 − utilisation), shown with its source. The rule is no part of a line's key: a
re-import of the same file doubles neither rows nor idle cost, and a changed rule changes the figure with no
re-import. A service-week with FOCUS GPU spend takes its idle cost from it alone (a ``gpu`` line of the same
service-week is not added)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from service.core.db import session_scope
from service.core.models.cost import CostLine
from service.core.settings import Settings
from service.figures.cost.gpu import COST_LINES, FOCUS_LINES, GpuRule
from service.figures.weekly import cost_allocation
from service.ingest.cost_import import import_focus
from tests.factories import iso
from tests.focus_files import Charge, write_csv
from tests.helpers import make_settings
from workers.process import drain

WEEK = datetime(2026, 10, 5, tzinfo=UTC)  # Monday of 2026-W41
LABEL = "2026-W41"
GPU_SPEND, CPU_SPEND, GENERIC_GPU = 300.0, 100.0, 80.0
USED, PROVISIONED = 25.0, 100.0


def _focus(path: Path) -> Path:
    """One week of the ml service on EC2: a p4d (GPU) instance and a c5 (CPU) one, charged daily."""
    rows: list[dict[str, Any]] = []
    for day in range(7):
        for instance, cost in (("p4d.24xlarge", GPU_SPEND), ("c5.2xlarge", CPU_SPEND)):
            row = Charge(WEEK + timedelta(days=day), cost / 7, tags={"service": "ml"}).row()
            row["ChargeDescription"] = f"USD per On Demand Linux {instance} Instance Hour"
            row["ResourceType"] = "Instance"
            rows.append(row)
    return write_csv(path, rows)


def _events(headers: dict[str, str], client: TestClient) -> None:
    end = WEEK + timedelta(weeks=1)
    common = {"service": "ml", "period_start": iso(WEEK), "period_end": iso(end)}
    events = [
        {"type": "measurement", "id": "prov", "metric": "gpu_hours_provisioned", "value": PROVISIONED, **common},
        {"type": "measurement", "id": "used", "metric": "gpu_hours_used", "value": USED, **common},
        {"type": "cost", "id": "gpu", "amount": GENERIC_GPU, "currency": "USD", "category": "gpu", **common},
    ]
    body = {"team": "ml", "platforms": [{"platform": "legacy", "effective_from": "2025-01-01T00:00:00Z"}]}
    assert client.put("/api/v1/services/ml", json=body, headers=headers).is_success
    assert client.post("/webhooks/generic", json=events, headers=headers).status_code == 202


def _idle(settings: Settings) -> tuple[float, str | None, int]:
    """The ml service's idle GPU cost in the week, its source, and how many cost lines are stored."""
    with session_scope(settings.database_url) as session:
        tables = cost_allocation(session, settings, start=WEEK, end=WEEK + timedelta(weeks=1))
        lines = session.exec(select(func.count()).select_from(CostLine)).one()
    (row,) = tables["service"][(tables["service"]["group"] == "ml") & (tables["service"]["week"] == LABEL)].to_dict(
        "records"
    )
    return float(row["idle_gpu_cost"]), row["idle_gpu_source"], int(lines)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Settings:
    from service.app.api.app import create_app
    from tests.factories import issue_token
    from tests.fakes import RecordingWaker

    settings = make_settings(database_url, tmp_path)
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {issue_token(settings, 'ci', ['ingest', 'read', 'admin'])}"}
        _events(headers, client)
        drain(settings)
    return settings


def test_focus_gpu_lines_give_idle_gpu_cost_which_wins_its_service_week(world: Settings, tmp_path: Path) -> None:
    idle = 1 - USED / PROVISIONED
    before, source, _ = _idle(world)
    assert before == pytest.approx(GENERIC_GPU * idle)  # only the generic gpu line so far
    assert source == COST_LINES

    path = _focus(tmp_path / "bill.csv")
    with session_scope(world.database_url, write=True) as session:
        import_focus(session, world, path)
    after, source, lines = _idle(world)
    assert after == pytest.approx(GPU_SPEND * idle)  # the p4d spend, never + the generic gpu line
    assert source == FOCUS_LINES

    with session_scope(world.database_url, write=True) as session:  # the same file again
        import_focus(session, world, path)
    again, _, lines_again = _idle(world)
    assert again == pytest.approx(after)
    assert lines_again == lines

    cpu_rule = world.model_copy(update={"gpu_line_patterns": [r"\bc5\."]})  # a changed rule, no re-import
    assert _idle(cpu_rule)[0] == pytest.approx(CPU_SPEND * idle)
    no_rule = world.model_copy(update={"gpu_line_patterns": []})
    fallback, source, _ = _idle(no_rule)
    assert fallback == pytest.approx(GENERIC_GPU * idle)
    assert source == COST_LINES


def test_the_digest_reads_idle_gpu_cost_as_the_cost_page_does(world: Settings, tmp_path: Path) -> None:
    """One figure, one rule: the digest's cost part (its own frames, ``resources.cost``) counts the FOCUS GPU
    spend as /cost does — the p4d spend, not the generic gpu line — and follows a changed rule."""
    from service.digest import resources
    from service.digest.build import digest_input

    with session_scope(world.database_url, write=True) as session:
        import_focus(session, world, _focus(tmp_path / "bill.csv"))
    for settings in (world, world.model_copy(update={"gpu_line_patterns": [r"\bc5\."]})):
        with session_scope(settings.database_url) as session:
            data = digest_input(session, settings, week=LABEL, audience="leaders", now=WEEK + timedelta(days=9))
        part = resources.cost(data)
        assert part is not None
        assert part.this_week is not None
        assert part.this_week.idle_gpu_cost == pytest.approx(_idle(settings)[0])
    assert _idle(world)[0] == pytest.approx(GPU_SPEND * (1 - USED / PROVISIONED))


@pytest.mark.parametrize(
    ("text", "gpu"),
    [
        ("USD 32.77 per On Demand Linux p4d.24xlarge Instance Hour", True),
        ("ml.g5.xlarge", True),
        ("m6g.large", False),
        ("c5.2xlarge", False),
        ("Standard_NC6s_v3", True),
        ("NC24ads A100 v4", True),
        ("D4s v3", False),
        ("a2-highgpu-1g", True),
        ("g2-standard-4", True),
        ("n2-standard-4", False),
        ("Nvidia Tesla T4 GPU running in Americas", True),
        ("VM.GPU.A10.1", True),
        ("VM.Standard.E4.Flex", False),
        ("Amazon Elastic Compute Cloud", False),
    ],
)
def test_the_default_rule_marks_gpu_skus_of_each_cloud(text: str, gpu: bool) -> None:
    assert GpuRule.from_settings(Settings(database_url="sqlite://")).matches(text) is gpu


def test_a_line_is_all_gpu_by_its_service_name_else_by_its_matching_descriptions() -> None:
    rule = GpuRule((r"\bgpu",))
    details = {"Instance | p4d": 10.0, "Elastic GPU | x": 4.0, "storage": 6.0}
    assert rule.amount(20.0, "Amazon Elastic Compute Cloud", details) == 4.0
    assert rule.amount(20.0, "Cloud GPUs", details) == 20.0
