"""The one cohort rule: an event is ``migrated`` when it ran on a platform some migration moves services to,
else ``not_migrated``. Every frame and rollup read that carries a cohort column gets it here."""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from service.core.vocab import MIGRATED, NOT_MIGRATED


def with_cohort(frame: pd.DataFrame, targets: Collection[str]) -> pd.DataFrame:
    """``frame`` with a ``cohort`` column from its ``platform`` column and the migrations' target platforms."""
    wanted = set(targets)
    return frame.assign(cohort=frame["platform"].map(lambda p: MIGRATED if p in wanted else NOT_MIGRATED))
