"""One reporting currency: spend in another is converted at a configured rate or refused, never summed as is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from service.core.errors import InvalidInput
from service.core.settings import Settings


@dataclass(frozen=True, slots=True)
class Currencies:
    reporting: str = "USD"
    rates: Mapping[str, float] = field(default_factory=dict)
    """Currency → units of the reporting currency per unit."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Currencies:
        return cls(
            reporting=settings.reporting_currency, rates={k.upper(): v for k, v in settings.currency_rates.items()}
        )

    def rate(self, currency: str, *, field: str | None = "currency") -> float:
        """The factor that turns an amount in ``currency`` into the reporting currency; InvalidInput if none."""
        code = currency.upper()
        if code == self.reporting:
            return 1.0
        if code in self.rates:
            return float(self.rates[code])
        raise InvalidInput(
            f"currency {code} has no rate to the reporting currency {self.reporting}; "
            f"add it to FRICTIONLOG_CURRENCY_RATES (amounts in different currencies are never summed as they are)",
            field=field,
        )

    def convert(self, amounts: pd.Series, currencies: pd.Series) -> pd.Series:
        """Amounts in the reporting currency; InvalidInput naming the first currency without a rate."""
        factors = {code: self.rate(code) for code in sorted(set(currencies.astype(str)))}
        converted: pd.Series = amounts.astype(float) * currencies.astype(str).map(factors).astype(float)
        return converted
