"""FOCUS imports: weekly cost figures against hand computations; re-imports; malformed files; currencies."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.core.db import get_engine, session_scope
from service.core.models import Migration, PlatformAssignment, Service
from service.core.models.cost import CostLine
from service.core.settings import Settings
from service.figures import rollups_db
from tests.factories import T0, make_deployment
from tests.focus_files import Charge, write_csv, write_parquet, z
from tests.helpers import make_settings
from workers.process import drain

DAY = timedelta(days=1)
W41, W42 = T0.replace(hour=0), T0.replace(hour=0) + 7 * DAY  # Mondays 2026-10-05 and 2026-10-12 (UTC)
MOVE = W42  # ml-api moves from legacy to ai-native here

CHARGES = [
    Charge(W41, 100.0, tags={"service": "ml-api"}),  # platform from the catalogue at charge time: legacy
    Charge(W41 + DAY, None, billed=50.0, tags={"app": "checkout"}),  # EffectiveCost empty: BilledCost
    Charge(W41 + 2 * DAY, 40.0),  # no tags: unallocated
    Charge(W41 + 3 * DAY, -20.0, tags={"service": "ml-api"}, category="Credit"),  # a credit
    Charge(W42, 200.0, currency="EUR", tags={"service": "ml-api"}),  # EUR at 1.1: 220 USD, ai-native
    Charge(W42 + DAY, 10.0, currency="EUR", tags={"platform": "legacy"}),  # unallocated, 11 USD on legacy
    Charge(W42 + 2 * DAY, -5.0, tags={"app": "checkout"}, category="Adjustment"),  # a refund
]


@pytest.fixture
def cost_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, currency_rates={"EUR": 1.1}, import_dir=tmp_path / "imports")


@pytest.fixture
def cost_client(cost_settings: Settings) -> Any:
    from service.app.api.app import create_app
    from tests.fakes import RecordingWaker

    with TestClient(create_app(cost_settings, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(cost_settings: Settings) -> dict[str, str]:
    from tests.factories import issue_token

    return {"Authorization": f"Bearer {issue_token(cost_settings, 'admin', ['ingest', 'read', 'admin'])}"}


def catalogue(settings: Settings) -> None:
    with session_scope(settings.database_url, write=True) as session:
        session.add(Service(slug="ml-api", team="ml"))
        session.add(Service(slug="checkout", team="shop"))
        session.flush()
        session.add(PlatformAssignment(service="ml-api", platform="legacy", effective_from=W41 - 30 * DAY))
        session.add(PlatformAssignment(service="ml-api", platform="ai-native", effective_from=MOVE))
        session.add(Migration(name="to-ai", from_platform="legacy", to_platform="ai-native", started_at=MOVE))
        session.commit()


def upload(client: TestClient, headers: dict[str, str], path: Path) -> Any:
    return client.post("/api/v1/cost/imports", content=path.read_bytes(), headers=headers)


def weekly(client: TestClient, headers: dict[str, str], group_by: str) -> dict[tuple[str, str], dict[str, Any]]:
    answer = client.get(
        "/api/v1/metrics/weekly",
        params={"group_by": group_by, "from": "2026-10-05", "to": "2026-10-19"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    return {(row["week"], row["group"]): row for row in answer.json()["rows"]}


def cost_lines(settings: Settings) -> list[tuple[Any, ...]]:
    with Session(get_engine(settings.database_url)) as session:
        rows = session.exec(select(CostLine.service, CostLine.platform, CostLine.amount, CostLine.currency)).all()
    return sorted((tuple(r) for r in rows), key=repr)


Figures = dict[tuple[str, str], dict[str, float | None]]
"""(week, group) → figure → its value computed by hand from CHARGES."""

BY_SERVICE: Figures = {
    ("2026-W41", "ml-api"): {
        "compute_cost": 80.0,  # 100 − 20 credit
        "cost_per_deployment": 40.0,  # two ml-api deployments in W41: 80 / 2
        "unallocated_cost_share": 0.0,
    },
    ("2026-W41", "checkout"): {
        "compute_cost": 50.0,  # BilledCost fallback
        "cost_per_deployment": None,  # no deployments
    },
    ("2026-W41", "unallocated"): {"compute_cost": 40.0, "unallocated_cost_share": 1.0},
    ("2026-W42", "ml-api"): {"compute_cost": 220.0},  # 200 EUR × 1.1
    ("2026-W42", "checkout"): {"compute_cost": -5.0},  # a refund
    ("2026-W42", "unallocated"): {"compute_cost": 11.0},
}
BY_PLATFORM: Figures = {
    ("2026-W41", "legacy"): {"compute_cost": 80.0},
    ("2026-W41", "unknown"): {"compute_cost": 90.0, "unallocated_cost_share": 40 / 90},  # checkout + untagged
    ("2026-W42", "ai-native"): {"compute_cost": 220.0},
    ("2026-W42", "legacy"): {"compute_cost": 11.0, "unallocated_cost_share": 1.0},  # the platform tag
}
BY_COHORT: Figures = {
    ("2026-W42", "migrated"): {"compute_cost": 220.0},
    ("2026-W41", "not_migrated"): {"compute_cost": 170.0},
}
BY_TEAM: Figures = {
    ("2026-W41", "ml"): {"compute_cost": 80.0},
    ("2026-W41", "unallocated"): {"compute_cost": 40.0},
}


def assert_figures(rows: dict[tuple[str, str], dict[str, Any]], expected: Figures) -> None:
    for key, figures in expected.items():
        for name, value in figures.items():
            if value is None:
                assert rows[key][name] is None, (key, name)
            else:
                assert rows[key][name] == pytest.approx(value), (key, name)


@pytest.mark.parametrize("writer", ["csv", "csv.gz", "parquet"])
def test_weekly_cost_matches_hand_computation(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path, writer: str
) -> None:
    catalogue(cost_settings)
    path = tmp_path / f"bill.{writer}"
    if writer == "parquet":
        write_parquet(path, CHARGES)
    else:
        write_csv(path, CHARGES, gzipped=writer.endswith("gz"))
    answer = upload(cost_client, admin, path)
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == len(CHARGES)
    assert answer.json()["billing_periods"] == ["AWS 2026-10-01"]
    for n in range(2):  # two ml-api deployments in W41: cost per deployment 80 / 2
        event = make_deployment(f"d{n}", service="ml-api", finished_at=T0 + n * DAY)
        assert cost_client.post("/webhooks/generic", json=event, headers=admin).status_code == 202
    drain(cost_settings)

    by_service = weekly(cost_client, admin, "service")
    assert_figures(by_service, BY_SERVICE)
    by_platform = weekly(cost_client, admin, "platform")  # the hybrid period: cost per platform
    assert_figures(by_platform, BY_PLATFORM)
    by_cohort = weekly(cost_client, admin, "cohort")
    assert_figures(by_cohort, BY_COHORT)
    by_team = weekly(cost_client, admin, "team")
    assert_figures(by_team, BY_TEAM)

    before = cost_lines(cost_settings)
    again = upload(cost_client, admin, path)  # the same bill again: replaces, never adds
    assert again.status_code == 201
    assert again.json()["replaced_lines"] == len(before)
    assert cost_lines(cost_settings) == before
    assert weekly(cost_client, admin, "service") == by_service

    # Stored rollups give the same figures as raw rows, and stay right when the bill is imported again.
    groups = {"service": by_service, "platform": by_platform, "cohort": by_cohort, "team": by_team}
    with session_scope(cost_settings.database_url, write=True) as session:
        rollups_db.rebuild(session, cost_settings)
    for group_by, expected in groups.items():
        assert weekly(cost_client, admin, group_by) == expected
    assert upload(cost_client, admin, path).status_code == 201  # refreshes the rollups it touched
    for group_by, expected in groups.items():
        assert weekly(cost_client, admin, group_by) == expected


def test_weekly_csv_carries_the_cost_columns(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path
) -> None:
    catalogue(cost_settings)
    assert upload(cost_client, admin, write_csv(tmp_path / "bill.csv", CHARGES)).status_code == 201
    answer = cost_client.get(
        "/api/v1/metrics/weekly",
        params={"group_by": "platform", "from": "2026-10-05", "to": "2026-10-19", "format": "csv"},
        headers=admin,
    )
    header, *rows = answer.text.strip().splitlines()
    for column in ("compute_cost", "unallocated_cost_share", "cost_per_deployment", "cold_start_p95_seconds"):
        assert column in header.split(",")
    assert any(row.startswith("2026-W42,ai-native,") for row in rows)


@pytest.mark.parametrize("rollups", [False, True])
def test_a_corrected_bill_replaces_its_billing_period_only(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path, rollups: bool
) -> None:
    catalogue(cost_settings)
    if rollups:
        with session_scope(cost_settings.database_url, write=True) as session:
            rollups_db.rebuild(session, cost_settings)
    november = Charge(datetime(2026, 11, 2, tzinfo=UTC), 7.0, tags={"service": "ml-api"})
    assert upload(cost_client, admin, write_csv(tmp_path / "nov.csv", [november])).status_code == 201
    assert upload(cost_client, admin, write_csv(tmp_path / "oct.csv", CHARGES)).status_code == 201
    corrected = [Charge(W41, 300.0, tags={"service": "ml-api"})]
    assert upload(cost_client, admin, write_csv(tmp_path / "oct2.csv", corrected)).status_code == 201
    lines = cost_lines(cost_settings)
    assert sorted(amount for _, _, amount, _ in lines) == [7.0, 300.0]  # October replaced, November kept
    rows = weekly(cost_client, admin, "service")
    assert {key: row["compute_cost"] for key, row in rows.items()} == {("2026-W41", "ml-api"): 300.0}


@pytest.mark.parametrize(
    ("mutate", "row", "column"),
    [
        (lambda rows: rows[2].update(EffectiveCost="twelve"), 3, "EffectiveCost"),
        (lambda rows: rows[4].update(ChargePeriodStart="yesterday"), 5, "ChargePeriodStart"),
        (lambda rows: rows[1].update(Tags="[1, 2]"), 2, "Tags"),
        (lambda rows: rows[5].update(BillingCurrency="GBP"), 6, "BillingCurrency"),  # no rate configured
        (lambda rows: rows[6].update(EffectiveCost="", BilledCost=""), 7, "EffectiveCost"),
        (lambda rows: [r.pop("BillingCurrency") for r in rows], 0, "BillingCurrency"),
    ],
)
def test_a_malformed_file_is_422_naming_row_and_column_and_imports_nothing(
    cost_client: TestClient,
    admin: dict[str, str],
    cost_settings: Settings,
    tmp_path: Path,
    mutate: Callable[[list[dict[str, Any]]], Any],
    row: int,
    column: str,
) -> None:
    good = [Charge(W41, 1.0, tags={"service": "ml-api"})]
    assert upload(cost_client, admin, write_csv(tmp_path / "good.csv", good)).status_code == 201
    rows = [c.row() for c in CHARGES]
    mutate(rows)
    answer = upload(cost_client, admin, write_csv(tmp_path / "bad.csv", rows))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    place = "the header" if row == 0 else f"row {row}"
    assert error["message"].startswith(f"{place}, column {column}:")
    assert error["field"] == f"{row}.{column}"
    assert [amount for _, _, amount, _ in cost_lines(cost_settings)] == [1.0]  # the earlier import untouched


def test_imports_need_admin_and_respect_their_own_cap(database_url: str, tmp_path: Path) -> None:
    from service.app.api.app import create_app
    from tests.factories import issue_token
    from tests.fakes import RecordingWaker

    small = make_settings(database_url, tmp_path, max_import_bytes=300, import_dir=tmp_path / "imports")
    path = write_csv(tmp_path / "bill.csv", CHARGES)
    with TestClient(create_app(small, waker=RecordingWaker()), raise_server_exceptions=False) as client:
        reader = {"Authorization": f"Bearer {issue_token(small, 'r', ['read', 'ingest'])}"}
        # the edge's cap for this route is the import cap (413 before the route runs); under it, the scope: 403
        assert client.post("/api/v1/cost/imports", content=b"x", headers=reader).status_code == 403
        admin = {"Authorization": f"Bearer {issue_token(small, 'a', ['admin'])}"}
        assert upload(client, admin, path).status_code == 413
    spooled = tmp_path / "imports"
    assert not spooled.exists() or list(spooled.iterdir()) == []  # nothing left on disk
    assert cost_lines(small) == []


@pytest.mark.parametrize("rollups", [False, True])
def test_a_later_platform_history_relabels_untagged_lines(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path, rollups: bool
) -> None:
    if rollups:
        with session_scope(cost_settings.database_url, write=True) as session:
            rollups_db.rebuild(session, cost_settings)
    charges = [
        Charge(W41, 100.0, tags={"service": "ml-api"}),
        Charge(W42, 50.0, tags={"service": "ml-api"}),
        Charge(W42, 7.0, tags={"service": "ml-api", "platform": "on-prem"}),  # named by the bill: kept
    ]
    assert upload(cost_client, admin, write_csv(tmp_path / "bill.csv", charges)).status_code == 201
    assert {k: r["compute_cost"] for k, r in weekly(cost_client, admin, "platform").items()} == {
        ("2026-W41", "unknown"): 100.0,
        ("2026-W42", "unknown"): 50.0,
        ("2026-W42", "on-prem"): 7.0,
    }
    history = {
        "team": "ml",
        "platforms": [
            {"platform": "legacy", "effective_from": "2026-01-01T00:00:00Z"},
            {"platform": "ai-native", "effective_from": "2026-10-12T00:00:00Z"},
        ],
    }
    assert cost_client.put("/api/v1/services/ml-api", json=history, headers=admin).status_code == 200
    if rollups:
        with session_scope(cost_settings.database_url, write=True) as session:
            while rollups_db.refresh(session, cost_settings):
                pass
    assert {k: r["compute_cost"] for k, r in weekly(cost_client, admin, "platform").items()} == {
        ("2026-W41", "legacy"): 100.0,
        ("2026-W42", "ai-native"): 50.0,
        ("2026-W42", "on-prem"): 7.0,
    }


def test_damaged_files_are_422_not_500(cost_client: TestClient, admin: dict[str, str], tmp_path: Path) -> None:
    parquet = write_parquet(tmp_path / "bill.parquet", CHARGES).read_bytes()
    gz = write_csv(tmp_path / "bill.csv.gz", CHARGES, gzipped=True).read_bytes()
    bodies = {
        "truncated parquet": parquet[: len(parquet) // 2],
        "truncated gzip": gz[: len(gz) // 2],
        "corrupt gzip": gz[:20] + bytes(200) + gz[220:],
        "not UTF-8": "ChargePeriodStart,ChargePeriodEnd\n\xe9t\xe9,x\n".encode("latin-1"),
        "only a header": b"ChargePeriodStart,ChargePeriodEnd,BillingCurrency,EffectiveCost\n",
    }
    for name, body in bodies.items():
        answer = cost_client.post("/api/v1/cost/imports", content=body, headers=admin)
        assert answer.status_code == 422, (name, answer.text)
        assert answer.json()["error"]["message"], name


def test_tag_keys_match_whatever_their_case_or_user_prefix(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path
) -> None:
    charges = [
        Charge(W41, 3.0, tags={"user:Service": "ml-api", "Platform": "edge"}),  # an AWS export's user tag
        Charge(W41, 4.0, tags={"APP": "checkout"}),
        Charge(W41, 5.0, tags={"owner": "ml-api"}),  # not a service tag: unallocated
    ]
    assert upload(cost_client, admin, write_csv(tmp_path / "bill.csv", charges)).status_code == 201
    assert cost_lines(cost_settings) == [
        ("checkout", None, 4.0, "USD"),
        ("ml-api", "edge", 3.0, "USD"),
        (None, None, 5.0, "USD"),
    ]


@pytest.mark.parametrize("null", ["NULL", "null", "", "\\N"])
def test_every_null_spelling_of_a_focus_csv_is_read_as_absent(
    cost_client: TestClient, admin: dict[str, str], cost_settings: Settings, tmp_path: Path, null: str
) -> None:
    """Exports write a null as the text NULL or as an empty cell, in any nullable column (Tags, BilledCost,
    BillingPeriodStart, ChargeCategory, ResourceId …): the row is read, never refused at row 1."""
    rows = []
    for charge in (Charge(W41, 3.0, tags={"service": "ml-api"}), Charge(W41, 4.0)):
        row = charge.row()
        row |= {"BilledCost": null, "ChargeClass": null, "ResourceId": null, "ServiceName": null}
        if not charge.tags:
            row |= {"Tags": null, "BillingPeriodStart": null, "BillingPeriodEnd": null, "ChargeCategory": null}
        rows.append(row)
    answer = upload(cost_client, admin, write_csv(tmp_path / "bill.csv", rows))
    assert answer.status_code == 201, answer.text
    assert cost_lines(cost_settings) == [("ml-api", None, 3.0, "USD"), (None, None, 4.0, "USD")]


@pytest.mark.parametrize(
    ("start", "end", "column"),
    [
        ("0001-01-01T00:00:00+01:00", "2026-10-06T00:00:00Z", "ChargePeriodStart"),  # before year 1 in UTC
        ("2026-10-05T00:00:00Z", "9999-12-31T23:59:59-01:00", "ChargePeriodEnd"),
        ("2026-10-05T00:00:00Z", "9999-12-31T00:00:00Z", "ChargePeriodEnd"),  # out of range
        ("1700-01-01T00:00:00Z", "2026-10-06T00:00:00Z", "ChargePeriodStart"),
        ("2024-01-01T00:00:00Z", "2026-10-06T00:00:00Z", "ChargePeriodEnd"),  # a period of 2¾ years
    ],
)
def test_absurd_charge_periods_are_422_naming_row_and_column(
    cost_client: TestClient, admin: dict[str, str], tmp_path: Path, start: str, end: str, column: str
) -> None:
    row = Charge(W41, 3.0).row() | {"ChargePeriodStart": start, "ChargePeriodEnd": end}
    answer = upload(cost_client, admin, write_csv(tmp_path / "bill.csv", [row]))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == f"1.{column}"


def test_list_columns_where_a_map_or_a_timestamp_belongs_are_422_not_500(
    cost_client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = {k: [v] for k, v in Charge(W41, 3.0).row().items() if k not in ("Tags", "ChargePeriodStart")}
    tags_as_strings = pa.table({**base, "ChargePeriodStart": [z(W41)], "Tags": pa.array([["a", "b"]])})
    start_as_list = pa.table({**base, "ChargePeriodStart": pa.array([[z(W41)]]), "Tags": ["{}"]})
    for name, table, column in (("tags", tags_as_strings, "Tags"), ("start", start_as_list, "ChargePeriodStart")):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path)
        answer = upload(cost_client, admin, path)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == f"1.{column}"


def test_a_server_starting_removes_the_uploads_a_killed_one_left_and_keeps_a_live_ones(
    cost_settings: Settings,
) -> None:
    """A server killed mid-upload leaves its spooled file in var/imports: the next start deletes it."""
    from service.app.api.app import create_app
    from tests.fakes import RecordingWaker

    directory = cost_settings.import_dir
    directory.mkdir(parents=True, exist_ok=True)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    left = directory / f"{gone.stdout.strip()}-abc123.upload"  # its process ended: stale
    live = directory / f"{os.getppid()}-def456.upload"  # a process still running (another replica, say)
    other = directory / "notes.txt"
    for path in (left, live, other):
        path.write_bytes(b"ChargePeriodStart,")

    with TestClient(create_app(cost_settings, waker=RecordingWaker())):
        pass

    assert not left.exists()
    assert live.exists()
    assert other.exists()
