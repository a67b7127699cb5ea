"""The pulse's answers → weekly measurements per service, as pure functions.

An answer is a bucket of hours; a bucket counts as its midpoint (``>8`` as 10 h: an assumption, stated in
docs/metrics.md). Per (week, service): ``infra_hours_pulse`` = the mean hours of those who answered,
and ``infra_hours_pulse_response_rate`` = answers ÷ members asked, so a reader (and the estimator) can
judge how far the mean speaks for the service. A week with no answer has no mean (never 0 h).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

METRIC = "infra_hours_pulse"
RATE_METRIC = "infra_hours_pulse_response_rate"
QUESTION = "How many hours did infrastructure cost you this week?"


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    label: str
    hours: float
    """The bucket's midpoint, the hours an answer in it counts as."""


BUCKETS = (
    Bucket("0", "0", 0.0),
    Bucket("lt1", "<1 h", 0.5),
    Bucket("1to4", "1–4 h", 2.5),
    Bucket("4to8", "4–8 h", 6.0),
    Bucket("gt8", ">8 h", 10.0),
)
BY_KEY = {b.key: b for b in BUCKETS}


def weekly(asked: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """``asked``: week, service (one row per member asked); ``answers``: week, service, bucket. One row per
    (week, service) asked: asked, answered, mean_hours (NaN without answers), response_rate."""
    columns = ["week", "service", "asked", "answered", "mean_hours", "response_rate"]
    asked = asked.dropna(subset=["service"])
    if asked.empty:
        return pd.DataFrame(columns=columns)
    counts = asked.groupby(["week", "service"]).size().rename("asked")
    hours = answers.dropna(subset=["service"]).assign(hours=answers["bucket"].map(lambda k: BY_KEY[k].hours))
    answered = hours.groupby(["week", "service"])["hours"].agg(answered="count", mean_hours="mean")
    table = counts.to_frame().join(answered, how="left").reset_index()
    table["answered"] = table["answered"].fillna(0).astype(int)
    table["response_rate"] = (table["answered"] / table["asked"]).clip(upper=1.0)
    return table[columns].sort_values(["week", "service"]).reset_index(drop=True)
