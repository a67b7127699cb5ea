"""``frictionlog demo`` (what ``make demo`` runs): it prints the web app's URL and a token that signs in,
and leaves no server running unless asked; the README's quick start ends by saying so."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app.web.app import create_app
from service.core.settings import Settings
from tests.fakes import RecordingWaker
from tests.helpers import get_ready
from tests.test_web import sign_in

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_prints_the_url_and_a_token_that_signs_in_and_stops_its_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"

    # As `make demo` runs it: its own process, which must end by itself (no server left running).
    result = subprocess.run(
        [sys.executable, "-m", "service.app.cli", "demo", "--weeks", "8", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = result.stdout + result.stderr
    assert "alembic" not in printed  # no migration log at a terminal
    dora_table = result.stdout.split("Weekly DORA metrics by platform", 1)[1].split("Weekly cost", 1)[0]
    assert " unknown " not in dora_table  # no row of zeros for a platform nothing happened on
    cost_table = result.stdout.split("Weekly cost and utilisation by platform", 1)[1].split("\n\n", 2)[1]
    legacy = [line.split() for line in cost_table.splitlines() if " legacy " in line]
    assert legacy
    assert all(row[-3] != "-" and row[-1] != "-" for row in legacy)  # GPU and cold starts, as the digest shows
    said = re.search(r"open (http://127\.0\.0\.1:8000/) and sign in with the token (fl_\S+)", result.stdout)
    assert said is not None, result.stdout
    settings = Settings(_env_file=None, database_url=f"sqlite:///{data_dir / 'frictionlog.db'}", spool_dir=tmp_path)
    with TestClient(create_app(settings, waker=RecordingWaker())) as client:
        assert sign_in(client, said.group(2)).status_code == 303
        overview = get_ready(client, "/")
        assert overview.status_code == 200
        assert "What the move changed" in overview.text  # the seeded migration, not an empty state


def test_the_readme_quick_start_ends_with_open_and_sign_in() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]

    assert quick_start.strip().endswith("open http://127.0.0.1:8000/ and sign in.")
