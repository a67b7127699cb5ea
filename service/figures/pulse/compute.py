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
RESPONSES_METRIC = "infra_hours_pulse_responses"
MIN_RESPONSE_RATE = 0.3
MIN_RESPONDERS = 3
"""A service-week's pulse mean counts as evidence only when at least this share of those asked answered and
at least this many people did (``counted``); below either it is shown, never judged."""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    label: str
    hours: float
    """The bucket's midpoint, the hours an answer in it counts as."""


QUESTION = "How many hours did infrastructure cost you this week?"
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


_WEEK = ["service", "period_start"]


def low_response(measurements: pd.DataFrame) -> pd.DataFrame:
    """The service-weeks of ``measurements`` (``measurement_frame`` rows) whose pulse mean does not count:
    a response rate under ``MIN_RESPONSE_RATE`` or fewer than ``MIN_RESPONDERS`` answers (a week stored
    without its count of answers is judged by its rate alone). Columns: service, period_start, rate."""
    columns = [*_WEEK, "rate"]
    hours = measurements[(measurements["metric"] == METRIC) & measurements["service"].notna()]
    if hours.empty:
        return pd.DataFrame(columns=columns)

    def one(metric: str, name: str) -> pd.DataFrame:
        rows = measurements[measurements["metric"] == metric]
        last: pd.DataFrame = rows.groupby(_WEEK, as_index=False).agg(**{name: ("value", "last")})
        return last

    weeks = hours[_WEEK].drop_duplicates()
    weeks = weeks.merge(one(RATE_METRIC, "rate"), on=_WEEK, how="left")
    weeks = weeks.merge(one(RESPONSES_METRIC, "responders"), on=_WEEK, how="left")
    low = (weeks["rate"] < MIN_RESPONSE_RATE) | (weeks["responders"] < MIN_RESPONDERS)
    return weeks.loc[low, columns].reset_index(drop=True)


def counted(measurements: pd.DataFrame) -> pd.DataFrame:
    """``measurements`` without the pulse means of low-response service-weeks (``low_response``): what the
    estimator judges the pulse from."""
    low = low_response(measurements)
    if low.empty:
        return measurements
    keys = pd.MultiIndex.from_frame(measurements[_WEEK])
    dropped = keys.isin(pd.MultiIndex.from_frame(low[_WEEK])) & (measurements["metric"] == METRIC).to_numpy()
    return measurements[~dropped]


def response_note(measurements: pd.DataFrame) -> str | None:
    """What a pulse claim says when some of its weeks did not count: "low response (x %) in k of n
    service-weeks, not counted" (x: the mean response rate of those weeks), or None."""
    hours = measurements[(measurements["metric"] == METRIC) & measurements["service"].notna()]
    low = low_response(measurements)
    if low.empty:
        return None
    total = len(hours[_WEEK].drop_duplicates())
    rate = low["rate"].mean()
    shown = "unknown" if pd.isna(rate) else f"{rate:.0%}".replace("%", " %")
    return f"low response ({shown}) in {len(low)} of {total} service-weeks, not counted"
