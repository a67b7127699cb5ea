"""The net line in money, as pure functions: the weekly compute-cost change of the moved services beside
the engineering time the move bought back, valued at a loaded hourly cost.

Every quantity comes from an effect of the staggered comparison (``migration.before_after[]``): a relative
effect R with its 90 % interval, against the counterfactual C (what a moved service would have shown in a
week without the move), is a weekly change of R × C per moved service, × N moved services. Hours follow
from stated assumptions (handling hours per support ticket; hours per incident × responders), money from
the loaded hourly cost; each assumption is listed with the figures and editable by admins
(``service.digest.assumptions``).

The sum of several figures has an approximate interval: each side's half-widths combined in quadrature, as
if the estimates were independent. It is labelled so; no figure is shown without its interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.core.vocab import DIVERGING
from service.digest.models import Assumption, BeforeAfter, Estimate, NetComponent, NetLine, PlatformCost


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What the net line values time with. Defaults: ``Settings``; an admin's edits: the stored table."""

    loaded_hourly_cost: float
    support_ticket_hours: float
    incident_hours: float
    incident_responders: float

    def listed(self, currency: str) -> list[Assumption]:
        return [
            Assumption(key=key, label=label, value=getattr(self, key), unit=unit.replace("{currency}", currency))
            for key, (label, unit) in ASSUMPTION_WORDS.items()
        ]


ASSUMPTION_WORDS: dict[str, tuple[str, str]] = {
    "loaded_hourly_cost": ("Loaded cost of an engineering hour", "{currency} per hour"),
    "support_ticket_hours": ("Handling time of an infrastructure support ticket", "hours per ticket"),
    "incident_hours": ("Length of an infrastructure incident", "hours per incident"),
    "incident_responders": ("Responders per incident", "people"),
}
"""Each assumption's words, once: the overview's form, the digest and the JSON list them from here."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one part of the net line comes from: its metric and how a unit of it becomes hours."""

    key: str
    label: str
    metric: str


def weekly_change(item: BeforeAfter | None, services: int) -> tuple[Estimate | None, str | None]:
    """(R × C × N with its interval, None) or (None, why not): a change in the metric's unit per week."""
    if item is None:
        return None, "no data"
    if item.verdict == "not_enough_data" or item.relative is None or item.low is None or item.high is None:
        return None, DIVERGING if item.reason == "pre_trend_diverging" else "not enough data"
    if item.method != "staggered_did" or item.counterfactual is None:
        return None, "no comparison group (a before/after is not an effect)"
    base = item.counterfactual * services
    low, high = sorted((item.low * base, item.high * base))
    return Estimate(estimate=item.relative * base, low=low, high=high), None


def scaled(figure: Estimate, factor: float) -> Estimate:
    """``figure`` × ``factor`` (a negative factor swaps the bounds)."""
    assert figure.estimate is not None
    assert figure.low is not None
    assert figure.high is not None
    low, high = sorted((figure.low * factor, figure.high * factor))
    return Estimate(estimate=figure.estimate * factor, low=low, high=high)


def total(figures: Iterable[Estimate]) -> Estimate | None:
    """The sum, its interval's sides combined in quadrature (approximate, as if independent); None if empty."""
    parts = [f for f in figures if f.estimate is not None and f.low is not None and f.high is not None]
    if not parts:
        return None
    estimate = sum(f.estimate for f in parts if f.estimate is not None)
    below = math.sqrt(sum((f.estimate - f.low) ** 2 for f in parts if f.estimate is not None and f.low is not None))
    above = math.sqrt(sum((f.high - f.estimate) ** 2 for f in parts if f.estimate is not None and f.high is not None))
    return Estimate(estimate=estimate, low=estimate - below, high=estimate + above)


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:+,.0f} {currency}"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:+,.1f} h"


def ranged(figure: Estimate | None, show: str, currency: str = "") -> str:
    """ "+1,200 USD (90 % interval +300 to +2,100 USD)" or "+12.0 h (…)"; a dash without a figure."""
    if figure is None or figure.estimate is None:
        return "–"
    words = (lambda v: _money(v, currency)) if show == "money" else _hours
    return f"{words(figure.estimate)} (90 % interval {words(figure.low)} to {words(figure.high)})"


def _time_part(
    source: Source, item: BeforeAfter | None, services: int, hours_per_unit: float, basis: str, rate: float
) -> NetComponent:
    change, missing = weekly_change(item, services)
    hours = None if change is None else scaled(change, -hours_per_unit)  # fewer tickets: hours bought back
    return NetComponent(
        key=source.key,
        label=source.label,
        metric=source.metric,
        quantity=hours,
        unit="hours per week",
        value=None if hours is None else scaled(hours, rate),
        basis=basis,
        missing=missing,
    )


def net_line(
    items: Mapping[str, BeforeAfter],
    *,
    sources: Mapping[str, Source],
    services: int,
    assumptions: Assumptions,
    currency: str,
    platforms: list[PlatformCost],
    hybrid: bool,
) -> NetLine:
    """The net line from the effects by metric (``items``) and ``services`` moved services.
    ``sources``: the metric of each part (``cost``, ``friction``, ``support``, ``incidents``)."""
    a = assumptions
    rate = a.loaded_hourly_cost
    cost_source = sources["cost"]
    cost_change, cost_missing = weekly_change(items.get(cost_source.metric), services)
    cost = NetComponent(
        key="cost",
        label=cost_source.label,
        metric=cost_source.metric,
        quantity=cost_change,
        unit=f"{currency} per week",
        value=None if cost_change is None else scaled(cost_change, -1.0),
        basis=f"effect on compute cost per service-week × {services} moved services, on every platform they run on",
        missing=cost_missing,
    )
    crew = a.incident_hours * a.incident_responders
    times = [
        _time_part(
            sources["friction"],
            items.get(sources["friction"].metric),
            services,
            1 / 60,
            f"effect on minutes lost to friction per service-week × {services} moved services ÷ 60",
            rate,
        ),
        _time_part(
            sources["support"],
            items.get(sources["support"].metric),
            services,
            a.support_ticket_hours,
            f"tickets avoided per week × {a.support_ticket_hours:g} h handling each",
            rate,
        ),
        _time_part(
            sources["incidents"],
            items.get(sources["incidents"].metric),
            services,
            crew,
            f"incidents avoided per week × {a.incident_hours:g} h × {a.incident_responders:g} responders",
            rate,
        ),
    ]
    hours = total(t.quantity for t in times if t.quantity is not None)
    time_value = total(t.value for t in times if t.value is not None)
    components = [cost, *times]
    # A net needs the cost and some time on the other side: one side alone is not a net.
    net = None
    if cost_change is not None and hours is not None:
        net = total(c.value for c in components if c.value is not None)
    not_counted = [f"{c.label}: {c.missing}" for c in components if c.missing]
    return NetLine(
        currency=currency,
        cost_change=cost_change,
        platforms=platforms,
        hybrid=hybrid,
        hours_bought_back=hours,
        time_value=time_value,
        net=net,
        components=components,
        assumptions=a.listed(currency),
        not_counted=not_counted,
        sentence=_sentence(cost_change, hours, time_value, net, currency, rate, hybrid),
    )


def _sentence(
    cost: Estimate | None,
    hours: Estimate | None,
    value: Estimate | None,
    net: Estimate | None,
    currency: str,
    rate: float,
    hybrid: bool,
) -> str:
    both = " (both platforms, while they run side by side)" if hybrid else ""
    cost_words = (
        f"compute cost of the moved services changed by {ranged(cost, 'money', currency)}{both}"
        if cost is not None
        else "the change in compute cost cannot be stated yet"
    )
    time_words = (
        f"the move bought back {ranged(hours, 'hours')} of engineering time, worth "
        f"{ranged(value, 'money', currency)} at {rate:,.0f} {currency} an hour"
        if hours is not None
        else "the engineering time bought back cannot be stated yet"
    )
    net_words = (
        f" Net of both: {ranged(net, 'money', currency)} a week (an approximate interval)." if net is not None else ""
    )
    return f"Per week, {cost_words}; {time_words}.{net_words}"
