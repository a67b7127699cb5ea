"""What ``frictionlog digest`` was made faster by (issue 25 #16, bench/cli_startup.py) gives the same numbers
bit for bit as what it replaced: the bootstrap's quantiles of columns with missing replicates (one pass per
count instead of one per column), the tabulated t and normal quantiles (no scipy.special import), the cost
rollup's NaN-keeping group sums (no pandas call per group) — and the effects and themes import no scipy."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri, stdtrit

from service.effects import quantiles
from service.effects.matrix import few_cluster_factor, finite_quantiles, intervals
from service.figures.cost.rollup import _sums

ROOT = Path(__file__).resolve().parent.parent


def _replicates(rng: np.random.Generator) -> np.ndarray:
    rows, columns = int(rng.integers(1, 300)), int(rng.integers(1, 30))
    values: np.ndarray = rng.standard_normal((rows, columns)) * 10.0 ** float(rng.integers(-3, 4))
    if rng.random() < 0.3:
        values = np.round(values)  # ties
    gaps = rng.random((rows, columns)) < rng.random()
    values[gaps] = rng.choice([np.nan, np.inf, -np.inf], size=int(gaps.sum()))
    return values


@pytest.mark.parametrize("seed", range(4))
def test_finite_quantiles_are_nanquantile_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(100):
        values = _replicates(rng)
        finite = np.isfinite(values)
        tail = float(rng.choice([0.05, 0.025, 0.1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            expected = np.nanquantile(np.where(finite, values, np.nan), [tail, 1 - tail], axis=0)
        assert np.array_equal(finite_quantiles(values, finite, [tail, 1 - tail]), expected, equal_nan=True)


def test_intervals_with_missing_replicates_keep_the_ten_finite_rule() -> None:
    values = np.arange(40.0).reshape(20, 2)
    values[:11, 1] = np.nan  # 9 finite replicates: no interval
    (low, high), none = intervals(values, np.array([19.0, 30.0]), 0.9)
    assert none == (None, None)
    assert (low, high) == tuple(float(19.0 + (x - 19.0)) for x in np.quantile(values[:, 0], [0.05, 0.95]))


def test_the_tabulated_quantiles_are_scipys() -> None:
    assert float(ndtri(quantiles.TAIL)) == quantiles.NORMAL
    assert list(quantiles.STUDENT_T) == [float(stdtrit(df, quantiles.TAIL)) for df in range(1, 101)]


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.8])
def test_the_few_cluster_factor_is_scipys_on_and_off_the_tables(confidence: float) -> None:
    for clusters in range(0, 130):
        for fitted in (0, 1, 2):
            df = max(clusters - fitted, 1)
            tail = 1 - (1 - confidence) / 2
            expected = float(np.sqrt(clusters / df) * stdtrit(df, tail) / ndtri(tail))
            assert few_cluster_factor(clusters, confidence, fitted) == expected


@pytest.mark.parametrize("seed", range(3))
def test_group_sums_are_the_per_group_series_sums_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(60):
        n = int(rng.integers(1, 2000))
        frame = pd.DataFrame(
            {
                "a": rng.integers(0, int(rng.integers(1, 50)), n).astype(str),
                "b": rng.choice(np.array(["x", "y", None], dtype=object), n),  # a missing key: in no group
                "v": rng.standard_normal(n) * 10.0 ** float(rng.integers(-3, 6)),
            }
        )
        frame.loc[rng.random(n) < rng.random(), "v"] = np.nan
        grouped = frame.groupby(["a", "b"])
        expected = grouped.agg(v=("v", lambda s: float(s.sum()) if s.notna().any() else np.nan))["v"].to_numpy()
        assert np.array_equal(np.array(_sums(grouped, frame["v"]), dtype=float), expected, equal_nan=True)


def test_the_effects_and_the_themes_import_no_scipy() -> None:
    """The quantiles of every interval at the digest's level, and the themes' similarities, without scipy
    (0.15–0.25 s of the digest's start-up)."""
    probe = (
        "import sys\n"
        "import pandas as pd\n"
        "from service.effects.matrix import few_cluster_factor\n"
        "from service.figures.friction import themes\n"
        "few_cluster_factor(6, 0.9, fitted=1)\n"
        "frame = pd.DataFrame([(1, 'slow deploys', 'api', 'ci', 'U1', 1, 5), (2, 'deploys slow', 'api', 'ci', 'U2', 1,"
        " 5)], columns=['id', 'text', 'service', 'category', 'reporter', 'votes', 'minutes_lost'])\n"
        "assert [t.report_ids for t in themes.group(frame)] == [[1, 2]]\n"
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_taxonomy_loads_as_before_and_compiles_a_term_only_when_a_text_is_scored() -> None:
    """libyaml's safe loader reads the taxonomy as PyYAML's pure-Python one did, and a digest, which reads
    only the titles, compiles none of the ~240 term expressions; scoring finds the terms as before."""
    import json
    import re

    import yaml

    from service.figures.friction import categorise

    text = categorise.DEFAULT_TAXONOMY.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == yaml.safe_load(text)
    categorise._compiled.cache_clear()
    taxonomy = categorise.parse_taxonomy(text)
    assert categorise._compiled.cache_info().currsize == 0
    rows = [json.loads(line) for line in (ROOT / "tests/data/friction_labelled.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        lowered = str(row["text"]).lower()
        found = categorise.scores(str(row["text"]), taxonomy)
        for category in taxonomy.categories:
            eager = sorted(term for term, _, pattern in category.terms if re.compile(pattern).search(lowered))
            assert sorted(t for t, _, _ in category.terms if t.rstrip("*") in found.get(category.id, (0, []))[1]) == (
                eager
            )
