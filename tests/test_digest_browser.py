"""The HTML digest rendered by a real headless Chromium (Debian's): charts present, no console errors."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from service.core.settings import Settings
from tests.helpers import get_ready
from tests.test_digest import MOVERS, STAYERS, WEEK, digest, story

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# In every chart, the legend sits apart from the plot: never over a bar or a line.
LEGEND_CLEAR = """() => [...document.querySelectorAll('figure.chart')].every(figure => {
  const legend = figure.querySelector('.legend');
  if (!legend) return true;
  const box = legend.getBoundingClientRect(), plot = figure.querySelector('svg').getBoundingClientRect();
  return box.bottom <= plot.top || box.top >= plot.bottom;
})"""


def test_the_html_digest_renders_with_its_charts_and_no_console_errors(
    client: TestClient, admin_headers: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():  # CI installs it (Makefile); a missing browser is a failure, not a skip
        pytest.fail("Chromium is not installed: apt-get install chromium (make test does)")
    story(client, admin_headers, moves={**MOVERS, **STAYERS}, before=2, after=6, noise=0.5)
    for text in ("Cold starts take 40 s on svc-1", "GPU quota took 3 days"):
        body = {"text": text, "occurred_at": "2026-10-28T10:00:00Z", "minutes_lost": 45}
        assert client.post("/api/v1/friction", json=body, headers=admin_headers).status_code == 202
    digest(client, admin_headers, settings)
    html = get_ready(client, f"/digests/{WEEK}/html", headers=admin_headers).text
    page_file = tmp_path / "digest.html"
    page_file.write_text(html, encoding="utf-8")

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1400}, java_script_enabled=False)
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            page.goto(page_file.as_uri())
            charts = page.locator("figure.chart svg")
            chart_names = page.locator("figure.chart").evaluate_all("nodes => nodes.map(n => n.dataset.chart)")
            boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            page.screenshot(path=str(tmp_path / "digest.png"), full_page=True)
            shutil.copy(tmp_path / "digest.png", Path(tempfile.gettempdir()) / "frictionlog-digest.png")
            heading = page.locator("h1").inner_text()
            verdict = page.locator(".verdict").inner_text()
            legend_clear = page.evaluate(LEGEND_CLEAR)
        finally:
            browser.close()

    assert problems == []
    assert heading == f"Frictionlog — week {WEEK}"
    studies = [name for name in chart_names if name.startswith("Event study: ")]
    assert "Event study: Deploys per week, effect by weeks since the move" in studies
    assert chart_names[len(studies) :] == [  # the app's chart module draws them (service.digest.charts)
        "Deploys per week, migrated vs not yet migrated",
        "Incidents per week, migrated vs not yet migrated",
        # the story sends no commits and resolves no incident: no empty lead-time chart
        "Change failure rate, migrated vs not yet migrated",
    ]
    assert "caused by the migration rather than the calendar" in verdict
    assert legend_clear
    assert all(box is not None and box["width"] > 300 and box["height"] > 80 for box in boxes), boxes
    assert (tmp_path / "digest.png").stat().st_size > 20_000
