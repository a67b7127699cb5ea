"""FOCUS files written from the specification's column definitions (FOCUS 1.0–1.3): CSV, gzip'd CSV, Parquet.

Columns used: BillingPeriodStart/End, ChargePeriodStart/End (ISO 8601 UTC), BilledCost, EffectiveCost,
BillingCurrency, ChargeCategory (Usage | Purchase | Tax | Credit | Adjustment), ChargeClass, ProviderName,
ServiceName, ResourceId, Tags (a JSON object of key → value). Credits and refunds are negative costs.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS = [
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ChargeCategory",
    "ChargeClass",
    "ProviderName",
    "ServiceName",
    "ResourceId",
    "Tags",
]


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Charge:
    day: datetime
    cost: float | None
    currency: str = "USD"
    tags: dict[str, str] = field(default_factory=dict)
    category: str = "Usage"
    billed: float | None = None
    hours: int = 24
    provider: str = "AWS"
    resource: str = "i-0abc"
    service_name: str = "Amazon Elastic Compute Cloud"

    def row(self) -> dict[str, Any]:
        start = self.day
        month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        next_month = (month + timedelta(days=32)).replace(day=1)
        return {
            "BillingAccountId": "123456789012",
            "BillingPeriodStart": z(month),
            "BillingPeriodEnd": z(next_month),
            "ChargePeriodStart": z(start),
            "ChargePeriodEnd": z(start + timedelta(hours=self.hours)),
            "BilledCost": "" if self.billed is None else repr(self.billed),
            "EffectiveCost": "" if self.cost is None else repr(self.cost),
            "BillingCurrency": self.currency,
            "ChargeCategory": self.category,
            "ChargeClass": "",
            "ProviderName": self.provider,
            "ServiceName": self.service_name,
            "ResourceId": self.resource,
            "Tags": json.dumps(self.tags),
        }


def write_csv(path: Path, charges: list[Charge] | list[dict[str, Any]], *, gzipped: bool = False) -> Path:
    rows = [c.row() if isinstance(c, Charge) else c for c in charges]
    opener = gzip.open if gzipped else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, charges: list[Charge]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [c.row() for c in charges]
    table = pa.table(
        {
            name: (
                pa.array(
                    [datetime.fromisoformat(r[name].replace("Z", "+00:00")) for r in rows], pa.timestamp("us", "UTC")
                )
                if name.endswith(("PeriodStart", "PeriodEnd"))
                else pa.array([float(r[name]) if r[name] != "" else None for r in rows], pa.float64())
                if name.endswith("Cost")
                else pa.array([r[name] for r in rows], pa.string())
            )
            for name in COLUMNS
        }
    )
    pq.write_table(table, path)
    return path


# Files the way each provider's FOCUS export writes them (their documented column sets and formats):
# the FOCUS columns plus the provider's own extension columns (``x_`` for AWS, Azure and Google, ``oci_`` for
# Oracle), each provider's spelling of timestamps, and its container (gzip'd CSV, CSV with a byte-order mark,
# Parquet). Two charges each: 30.0 tagged for ml-api and 12.5 untagged, on 2026-10-05.

PROVIDER_DAY = datetime(2026, 10, 5, tzinfo=UTC)
PROVIDER_COSTS = [(30.0, "ml-api"), (12.5, None)]


def _provider_rows(
    provider: str,
    moment: Any,
    tags: Any,
    extra: dict[str, str],
) -> list[dict[str, Any]]:
    month, next_month = PROVIDER_DAY.replace(day=1), datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for cost, service in PROVIDER_COSTS:
        rows.append(
            {
                "BillingAccountId": "acct-1",
                "BillingPeriodStart": moment(month),
                "BillingPeriodEnd": moment(next_month),
                "ChargePeriodStart": moment(PROVIDER_DAY),
                "ChargePeriodEnd": moment(PROVIDER_DAY + timedelta(days=1)),
                "BilledCost": repr(cost),
                "EffectiveCost": repr(cost),
                "BillingCurrency": "USD",
                "ChargeCategory": "Usage",
                "ChargeClass": "",
                "ProviderName": provider,
                "ServiceName": "Compute",
                "ResourceId": f"{provider.lower()}-resource-{int(cost)}",
                "Tags": tags(service),
                **extra,
            }
        )
    return rows


def _write_text(path: Path, rows: list[dict[str, Any]], *, gzipped: bool = False, bom: bool = False) -> Path:
    opener = gzip.open if gzipped else open
    with opener(path, "wt", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def aws_export(path: Path) -> Path:
    """AWS Data Exports (FOCUS 1.0 with AWS columns): gzip'd CSV, milliseconds and Z, tags as a JSON map whose
    user-defined keys carry the ``user:`` prefix, ``x_`` columns (x_ServiceCode, x_UsageType, x_Operation)."""
    rows = _provider_rows(
        "AWS",
        lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        lambda s: json.dumps({"user:Service": s} if s else {}),
        {"x_ServiceCode": "AmazonEC2", "x_UsageType": "BoxUsage:m5.large", "x_Operation": "RunInstances"},
    )
    return _write_text(path, rows, gzipped=True)


def azure_export(path: Path) -> Path:
    """Cost Management's FOCUS export: CSV with a UTF-8 byte-order mark, seconds and Z, tags a JSON object,
    ``x_`` columns (x_ResourceGroupName, x_SkuMeterCategory, x_BilledCostInUsd)."""
    rows = _provider_rows(
        "Microsoft",
        lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda s: json.dumps({"service": s} if s else {}),
        {"x_ResourceGroupName": "rg-ml", "x_SkuMeterCategory": "Virtual Machines", "x_BilledCostInUsd": "0"},
    )
    return _write_text(path, rows, bom=True)


def gcp_csv_export(path: Path) -> Path:
    """Google's FOCUS table in BigQuery exported as CSV: BigQuery writes a TIMESTAMP as
    ``2026-10-05 00:00:00 UTC``; tags a JSON object; ``x_`` columns (x_ProjectId)."""
    rows = _provider_rows(
        "Google Cloud",
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S UTC"),
        lambda s: json.dumps({"service": s} if s else {}),
        {"x_ProjectId": "ml-prod-1234"},
    )
    return _write_text(path, rows)


def gcp_parquet_export(path: Path) -> Path:
    """Google's FOCUS table exported as Parquet: timestamps typed, costs as doubles, and tags a repeated
    key/value record (BigQuery's ARRAY<STRUCT<key, value>>, as its labels are)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _provider_rows("Google Cloud", lambda t: t, lambda s: [{"key": "service", "value": s}] if s else [], {})
    tag_type = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
    columns: dict[str, Any] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name.endswith(("PeriodStart", "PeriodEnd")):
            columns[name] = pa.array(values, pa.timestamp("us", "UTC"))
        elif name.endswith("Cost"):
            columns[name] = pa.array([float(v) for v in values], pa.float64())
        elif name == "Tags":
            columns[name] = pa.array(values, tag_type)
        else:
            columns[name] = pa.array(values, pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def oci_export(path: Path) -> Path:
    """Oracle Cloud's FOCUS reports: gzip'd CSV, minutes and Z (``2026-10-05T00:00Z``), tags a JSON object,
    ``oci_`` columns (oci_CompartmentName, oci_ReferenceNumber)."""
    rows = _provider_rows(
        "Oracle",
        lambda t: t.strftime("%Y-%m-%dT%H:%MZ"),
        lambda s: json.dumps({"service": s} if s else {}),
        {"oci_CompartmentName": "ml", "oci_ReferenceNumber": "ref-1"},
    )
    return _write_text(path, rows, gzipped=True)
