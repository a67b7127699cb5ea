"""FOCUS files written the way AWS, Azure, Google Cloud and Oracle Cloud export them are read whole by the
cost import (issue 25 #10): their extension columns ignored, their timestamps, containers and tag shapes
understood — never refused at row 1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from service.figures.cost.focus_files import FocusError
from service.ingest.cost_import import read_file
from tests.focus_files import (
    PROVIDER_COSTS,
    PROVIDER_DAY,
    Charge,
    aws_export,
    azure_export,
    gcp_csv_export,
    gcp_parquet_export,
    oci_export,
    write_csv,
)
from tests.helpers import make_settings

EXPORTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "aws": (aws_export, "focus.csv.gz"),
    "azure": (azure_export, "focus.csv"),
    "gcp-csv": (gcp_csv_export, "focus.csv"),
    "gcp-parquet": (gcp_parquet_export, "focus.parquet"),
    "oci": (oci_export, "focus.csv.gz"),
}


@pytest.mark.parametrize("provider", sorted(EXPORTS))
def test_each_providers_export_is_read_with_its_tags_and_times(provider: str, tmp_path: Path) -> None:
    write, name = EXPORTS[provider]
    summary = read_file(make_settings("sqlite://", tmp_path), write(tmp_path / name))

    assert summary.rows == len(PROVIDER_COSTS)
    by_service = {key[2]: amount for key, amount in summary.lines.items()}
    assert by_service == {service: cost for cost, service in PROVIDER_COSTS}
    assert {(key[6], key[7]) for key in summary.lines} == {(PROVIDER_DAY, PROVIDER_DAY + timedelta(days=1))}
    assert [period for _, period in summary.periods] == [PROVIDER_DAY.replace(day=1)]


@pytest.mark.parametrize("stamp", ["2026-10-05 00:00:00 UTC", "2026-10-05 00:00:00.000000 UTC", "2026-10-05T00:00Z"])
def test_timestamp_spellings_of_the_exports_are_utc(stamp: str, tmp_path: Path) -> None:
    row = Charge(PROVIDER_DAY, 3.0).row() | {"ChargePeriodStart": stamp}
    summary = read_file(make_settings("sqlite://", tmp_path), write_csv(tmp_path / "bill.csv", [row]))
    assert [key[6] for key in summary.lines] == [PROVIDER_DAY]


def test_a_timestamp_in_another_zone_name_is_still_refused_naming_row_and_column(tmp_path: Path) -> None:
    row = Charge(PROVIDER_DAY, 3.0).row() | {"ChargePeriodStart": "2026-10-05 00:00:00 CET"}
    with pytest.raises(FocusError) as refused:
        read_file(make_settings("sqlite://", tmp_path), write_csv(tmp_path / "bill.csv", [row]))
    assert (refused.value.row, refused.value.column) == (1, "ChargePeriodStart")
