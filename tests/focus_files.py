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
