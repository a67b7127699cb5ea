"""The ``integration`` marker matches the tests that need the real PostgreSQL: ``-m "not integration"``
runs none of them, ``-m integration`` runs nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ["tests/test_catalogue.py", "tests/test_spool.py", "tests/test_markers.py"]


def collected(marker: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, *FILES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_not_integration_collects_no_test_that_reaches_postgres() -> None:
    plain = collected("not integration")
    assert plain  # the SQLite half and the pure tests
    assert not [test for test in plain if "[postgres" in test or "database_is_down" in test]
    assert any("spooled_across_several_failed_drains" in test for test in plain)  # no database at all


def test_integration_collects_only_tests_that_reach_postgres() -> None:
    marked = collected("integration")
    assert any("[postgres" in test for test in marked)
    assert any("test_spool.py" in test and "[" not in test for test in marked)  # pg_database_url, no parameter
    assert not [test for test in marked if "[sqlite" in test or "spooled_across_several_failed_drains" in test]
