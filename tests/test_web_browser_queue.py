"""The triage queue and the cost page in a real headless Chromium against the demo-seeded server of
tests/test_web_browser.py (its ``site`` fixture): bulk triage of 20 reports by keyboard, a duplicate merged
from a suggestion, the cost page at 1366 and 390 px in light and dark with no serious axe violation and no
text under 11 px. Screenshots of both pages at both widths go to var/artifacts/web/ (linked from
the README)."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from sqlmodel import col, select

from service.core.models import FrictionReport
from service.core.timeutil import utcnow
from tests.test_web_browser import Site, site

__all__ = ["site"]  # the seeded server, shared as a fixture

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "artifacts" / "web"
WIDTHS = {"desktop": 1366, "phone": 390}
SMALLEST_TEXT_PX = 11
SMALL_TEXT = """smallest => Array.from(document.querySelectorAll('main *')).map(e => {
  const own = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  const style = getComputedStyle(e);
  if (!own || style.display === 'none' || style.visibility === 'hidden' || !e.getClientRects().length
      || e.closest('.visually-hidden') || e.closest('details:not([open])')) return null;
  let size = parseFloat(style.fontSize);
  const svg = e.closest('svg');  // SVG text scales with its drawing: the size a reader sees
  if (svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
    size *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  }
  return size < smallest ? e.tagName + ': ' + e.textContent.trim().slice(0, 40) + ' @' + size.toFixed(1) : null;
}).filter(Boolean)"""


def ids_in_queue(page: Page) -> list[int]:
    return [int(n) for n in page.locator("#queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def test_twenty_reports_acknowledged_by_keyboard_with_a_visible_focus(site: Site) -> None:
    with site.context(site.admin) as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto("/friction/queue?sort=age")
        chosen = ids_in_queue(page)[:20]
        assert len(chosen) == 20, "the demo files more than 20 open reports"
        page.keyboard.press("j")
        focused = page.evaluate("document.activeElement.dataset.id")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        for step in range(20):
            page.keyboard.press("x")
            if step < 19:
                page.keyboard.press("j")
        assert page.locator("input[name=ids]:checked").count() == 20
        page.keyboard.press("a")
        page.wait_for_url(re.compile(r"done=acknowledged"))
        after = page.evaluate("document.activeElement.dataset.id")
        remaining = ids_in_queue(page)

    assert focused == str(chosen[0])
    assert outline != "none"
    assert not set(chosen) & set(remaining)
    assert after == str(remaining[0])  # the next report is in focus
    with site.session() as db:
        statuses = db.exec(select(FrictionReport.status).where(col(FrictionReport.id).in_(chosen))).all()
    assert statuses == ["acknowledged"] * 20


def _file(site: Site, text: str) -> int:
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.ingest}"}, timeout=30) as client:
        number: int = client.post("/api/v1/friction", json={"text": text, "service": "auth"}).json()["id"]
        deadline = time.monotonic() + 30
        while client.get("/api/v1/events/stats").json()["pending"]:
            assert time.monotonic() < deadline, "the worker never filed the report"
            time.sleep(0.1)
    return number


def test_a_duplicate_merged_from_a_suggestion(site: Site) -> None:
    original = _file(site, "Rollback of auth took 45 minutes during the Tuesday deploy")
    copy = _file(site, "rollback of auth took 45 minutes again during a deploy")
    with site.context(site.admin) as context:
        page = context.new_page()
        page.goto(f"/friction/{copy}")
        page.get_by_role("button", name=f"Merge: #{copy} duplicates #{original}").click()
        page.wait_for_url(re.compile(rf"/friction/{copy}\?done=duplicate"))
        assert page.get_by_role("status").inner_text().startswith("Done: marked as a duplicate")
        assert page.locator("#next-report").is_visible()
    with site.session() as db:
        stored = db.get(FrictionReport, copy)
    assert stored is not None
    assert stored.duplicate_of == original


def _check(page: Page, axe: Axe, name: str) -> list[str]:
    problems = [
        f"{name}: {v['id']} {v['help']} ({len(v['nodes'])})"
        for v in axe.run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    problems += [f"{name}: text under {SMALLEST_TEXT_PX}px: {t}" for t in page.evaluate(SMALL_TEXT, SMALLEST_TEXT_PX)]
    wide, viewport = page.evaluate("document.documentElement.scrollWidth"), page.viewport_size
    if viewport is not None and wide > viewport["width"] + 1:
        problems.append(f"{name}: scrolls sideways ({wide}px)")
    return problems


@pytest.mark.parametrize("path", ["/friction/queue", "/cost"])
def test_the_page_reads_at_both_widths_in_light_and_dark_and_is_saved_as_screenshots(site: Site, path: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = path.strip("/").replace("/", "-").replace("friction-", "")
    axe, problems = Axe(), []
    for scheme in ("light", "dark"):
        with site.context(site.admin, color_scheme=scheme) as context:
            page = context.new_page()
            for width_name, width in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 900})
                response = page.goto(path)
                assert response is not None
                assert response.status == 200, path
                problems += _check(page, axe, f"{name}@{width}/{scheme}")
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{width_name}-{scheme}.png"), full_page=True)
    assert problems == [], "\n".join(problems)


def test_the_cost_csv_downloaded_from_the_page_is_formula_safe(site: Site) -> None:
    hostile = '=HYPERLINK("http://evil.example","pay")'
    start = utcnow() - timedelta(days=8)
    event = {
        "type": "cost",
        "id": "hostile-platform",
        "service": None,
        "platform": hostile,
        "period_start": start.isoformat(),
        "period_end": (start + timedelta(days=1)).isoformat(),
        "amount": 12.5,
        "currency": "USD",
    }
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.ingest}"}, timeout=30) as client:
        assert client.post("/webhooks/generic", json=event).status_code == 202
        deadline = time.monotonic() + 30
        while client.get("/api/v1/events/stats").json()["pending"]:
            assert time.monotonic() < deadline, "the worker never stored the cost line"
            time.sleep(0.1)
    # The line reaches the figures when the rollups refresh (every 15 s) and the page memo recomputes.
    deadline = time.monotonic() + 90
    cells: list[str] = []
    with site.context(site.reader, accept_downloads=True) as context:
        page = context.new_page()
        while "'" + hostile not in cells:
            assert time.monotonic() < deadline, "the planted cost line never reached the export"
            page.goto("/cost")
            with page.expect_download() as download:
                page.get_by_role("link", name="Download the figures as CSV").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
            cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
            time.sleep(0.5)
    unsafe = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert unsafe == []
    assert "'" + hostile in cells


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
