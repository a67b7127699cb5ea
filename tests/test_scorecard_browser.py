"""The scorecard in a real headless Chromium against the demo-seeded server of ``tests.test_web_browser``: the
tiles and the net line with their intervals, one colour per metric in the app, the HTML digest and Slack, text
no smaller than 11 px in charts and tables at 1366 and 390 px, axe in light and dark, the drill-down from a
tile to its events, and the first request after a start. Screenshots of the overview at both widths go to
var/artifacts/web/ (the CI artefacts linked from the README)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from integrations.slack.digest_blocks import digest_blocks
from service.app.cli.demo import BackgroundServer
from service.core.timeutil import utcnow
from service.core.weeks import last_full_week
from service.digest import colour
from service.digest.models import DigestContent
from service.digest.scorecard import TILES
from tests.test_web_browser import ARTIFACTS, Site, _free_port, site

pytestmark = pytest.mark.slow
__all__ = ["site"]  # the module-scoped demo server, shared with tests.test_web_browser's fixture

SIZES = {"desktop": 1366, "phone": 390}
SMALL_TEXT = """(selector) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM) { const m = el.getScreenCTM(); size *= Math.hypot(m.a, m.b); }
    if (size < 10.95) small.push(`${el.tagName}:${el.textContent.trim().slice(0, 30)}:${size.toFixed(1)}px`);
  }
  return small;
}"""
READ_TEXT = "figure.chart *, table *, .scorecard *, .net-line *, .legend"


def _tiles(page: Page) -> list[dict[str, str]]:
    tiles: list[dict[str, str]] = page.locator("[data-scorecard]").evaluate_all(
        """nodes => nodes.map(n => ({...n.dataset,
             border: getComputedStyle(n).borderLeftColor,
             figure: getComputedStyle(n.querySelector('.tile-figure')).color}))"""
    )
    return tiles


def _week() -> str:
    return last_full_week(utcnow(), "UTC")


def assert_judged_tiles(page: Page, tiles: list[dict[str, str]]) -> None:
    """Each judged tile shows its estimate inside its 90 % interval, drawn as one bar."""
    judged = [t for t in tiles if t["estimate"]]
    assert len(judged) >= 3, tiles  # the demo moves deploys, lead time, cost…
    for t in judged:
        low, estimate, high = float(t["low"]), float(t["estimate"]), float(t["high"])
        assert low <= estimate <= high, t
        assert t["verdict"] in ("changed", "no_clear_change"), t
        tile = page.locator(f"[data-scorecard='{t['scorecard']}']")
        assert "90 % interval" in tile.inner_text()
        assert tile.locator("svg.interval-bar").count() == 1


def assert_net_line(page: Page) -> None:
    """The net in money, with its interval and the loaded cost of an engineering hour it assumes."""
    net = page.locator(".net-line")
    assert net.get_attribute("data-currency") == "USD"
    assert re.search(r"90 % interval", net.inner_text())
    assert "Loaded cost of an engineering hour" in net.inner_text()
    if net.get_attribute("data-net"):
        low, value, high = (float(net.get_attribute(a) or "nan") for a in ("data-low", "data-net", "data-high"))
        assert low <= value <= high


def test_the_overview_opens_with_the_scorecard_and_the_net_line_with_intervals(site: Site) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto("/")
        tiles = _tiles(page)
        assert [t["scorecard"] for t in tiles] == [spec.key for spec in TILES]
        assert_judged_tiles(page, tiles)
        first = page.locator("main h2").first.inner_text()
        assert first == "Did the move pay off?"
        assert_net_line(page)
        for name, width in SIZES.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/")
            page.screenshot(path=str(ARTIFACTS / f"overview-scorecard-{name}.png"), full_page=True)
    digest = httpx.get(
        f"{site.url}/api/v1/digests/{_week()}", headers={"Authorization": f"Bearer {site.reader}"}, timeout=60
    ).json()
    assert [t["key"] for t in digest["scorecard"]["tiles"]] == [spec.key for spec in TILES]
    shown = {t["scorecard"]: t for t in tiles}
    for t in digest["scorecard"]["tiles"]:
        assert shown[t["key"]]["metric"] == t["metric"]
        assert shown[t["key"]]["estimate"] == ("" if t["estimate"] is None else f"{t['estimate']:.4f}")


def test_one_metric_has_one_colour_in_the_app_the_html_digest_and_slack(site: Site) -> None:
    week = _week()
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto(f"/digests/{week}")
        app = {t["scorecard"]: t for t in _tiles(page)}
        response = page.goto(f"/digests/{week}/html")
        assert response is not None
        assert response.status == 200
        mailed = {t["scorecard"]: t for t in _tiles(page)}
    assert set(app) == set(mailed) == {spec.key for spec in TILES}
    headers = {"Authorization": f"Bearer {site.reader}"}
    content = DigestContent.model_validate(
        httpx.get(f"{site.url}/api/v1/digests/{week}", headers=headers, timeout=60).json()
    )
    _, blocks = digest_blocks(content)
    slack = "\n".join(str(b) for b in blocks)
    tones = set()
    for key, tile in app.items():
        assert (tile["metric"], tile["tone"]) == (mailed[key]["metric"], mailed[key]["tone"]), key
        assert tile["border"] == mailed[key]["border"], key  # the same colour on screen, light scheme
        assert tile["figure"] == mailed[key]["figure"], key
        title = next(spec.title for spec in TILES if spec.key == key)
        assert f"{colour.SLACK[tile['tone']]} *{title}*" in slack, key  # type: ignore[index]
        tones.add(tile["tone"])
    assert len(tones) >= 2  # the demo has tiles of more than one colour, so the check can tell them apart


def test_no_chart_or_table_text_under_11_px_at_either_width(site: Site) -> None:
    small: list[str] = []
    with site.context(site.reader) as context:
        page = context.new_page()
        for path in ("/", f"/digests/{_week()}", f"/digests/{_week()}/html", "/services/ml-api"):
            for name, width in SIZES.items():
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(path)
                small += [f"{path}@{name}: {s}" for s in page.evaluate(SMALL_TEXT, READ_TEXT)]
    assert small == [], "\n".join(small[:40])


def test_the_scorecard_pages_have_no_serious_axe_violations_light_and_dark(site: Site) -> None:
    axe = Axe()
    problems: list[str] = []
    for scheme in ("light", "dark"):
        with site.context(site.admin, color_scheme=scheme) as context:
            page = context.new_page()
            for path in ("/", f"/digests/{_week()}", f"/digests/{_week()}/html"):
                for name, width in SIZES.items():
                    page.set_viewport_size({"width": width, "height": 900})
                    page.goto(path)
                    problems += [
                        f"{path}@{name}/{scheme}: {v['id']} {v['help']}"
                        for v in axe.run(page).response["violations"]
                        if v["impact"] in ("serious", "critical")
                    ]
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    if wide > width + 1:
                        problems.append(f"{path}@{name}/{scheme}: scrolls sideways ({wide}px)")
    assert problems == [], "\n".join(problems)


def test_an_admin_changes_an_assumption_and_the_net_line_follows(site: Site) -> None:
    with site.context(site.admin) as context:
        page = context.new_page()
        page.goto("/")
        page.get_by_text("Change the assumptions (admins)").click()
        field = page.get_by_label(re.compile("^Loaded cost of an engineering hour"))
        field.fill("nonsense")
        page.get_by_role("button", name="Save assumptions").click()
        assert "loaded_hourly_cost must be a number" in page.content()
        page.goto("/")
        page.get_by_text("Change the assumptions (admins)").click()
        page.get_by_label(re.compile("^Loaded cost of an engineering hour")).fill("150")
        page.get_by_role("button", name="Save assumptions").click()
        page.wait_for_url(re.compile(r"saved=assumptions"))
        assert "at 150 USD an hour" in page.locator(".net-line").inner_text()
        page.goto(f"/digests/{_week()}/html")
        assert "at 150 USD an hour" in page.locator(".net-line").inner_text()  # the kept page follows
        page.goto("/")
        page.get_by_text("Change the assumptions (admins)").click()
        page.get_by_label(re.compile("^Loaded cost of an engineering hour")).fill("100")
        page.get_by_role("button", name="Save assumptions").click()
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto("/")
        assert page.get_by_text("Change the assumptions (admins)").count() == 0


def test_the_first_request_after_a_start_shows_figures_or_says_it_is_computing(site: Site) -> None:
    port = _free_port()
    settings = site.settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    headers = {"Authorization": f"Bearer {site.reader}"}
    with BackgroundServer(settings, port=port) as server:
        url = f"http://127.0.0.1:{server.port}/"
        first = httpx.get(url, headers=headers, timeout=60).text
        assert "quiet week" not in first
        assert "data-scorecard" in first or "Computing" in first, first[:2000]
        deadline = time.monotonic() + 60
        page = first
        while "data-scorecard" not in page:
            assert time.monotonic() < deadline, "the overview never showed its figures after the start"
            time.sleep(0.3)
            page = httpx.get(url, headers=headers, timeout=60).text
        assert "quiet week" not in page


def test_from_a_tile_to_the_events_behind_it_and_their_csv(site: Site) -> None:
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto("/?team=growth")
        assert page.get_by_label("Team").input_value() == "growth"  # the filter is in the URL and the form
        tile = page.locator("[data-scorecard='velocity']")
        tile.get_by_role("link", name="Deployments behind it").click()
        page.wait_for_url(re.compile(r"/events/deployments\?from=\d{4}-W\d{2}&to=\d{4}-W\d{2}&team=growth$"))
        rows = page.locator("#events-table tbody tr")
        assert rows.count() > 0
        teams = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(min(rows.count(), 50))}
        assert teams == {"growth"}
        page.get_by_label("Service").select_option("ml-api")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"service=ml-api"))
        services = {r.locator("td").nth(1).inner_text() for r in page.locator("#events-table tbody tr").all()[:50]}
        assert services == {"ml-api"}
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        lines = download.value.path().read_text(encoding="utf-8").splitlines()
        assert lines[0] == "id,service,team,environment,status,finished_at,platform,is_rollback"
        assert len(lines) - 1 == int(re.search(r"(\d+) rows?", page.locator("main p").nth(0).inner_text()).group(1))  # type: ignore[union-attr]
        assert all(",ml-api,growth," in line for line in lines[1:])
        answer = context.request.get("/events/deployments?from=2026-W40&to=2026-W30")
        assert answer.status == 422 or answer.status == 400
        assert "from" in answer.text()


def test_a_moved_services_charts_mark_its_move_and_name_their_axes(site: Site) -> None:
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto("/")
        slug = page.locator(".claim-card a[href^='/services/']").first.inner_text()
        page.goto(f"/services/{slug}")
        deploys = page.locator("figure#timeline-deployments")
        assert deploys.locator("svg line.move").count() == 1
        assert re.search(r"dashed line: the move to \w+ \(\d{4}-W\d{2}\)", deploys.locator(".axes").inner_text())
        page.goto("/")
        study = page.locator("figure[id^='event-study-']").first
        assert "weeks since the move" in study.locator(".axes").inner_text()
        assert study.locator("svg line.move").count() == 1


def test_a_range_and_a_service_stay_in_the_url_and_bars_and_claims_drill_down(site: Site) -> None:
    with site.context(site.reader) as context:
        page = context.new_page()
        page.goto("/")
        last = page.locator("select#week").input_value()
        options = page.locator("select#from").locator("option").all_inner_texts()
        first = [w for w in options if re.match(r"^\d{4}-W\d{2}$", w) and w < last][-6]
        page.locator("select#from").select_option(first)
        page.locator("select#service").select_option("ml-api")
        page.get_by_role("button", name="Show").click()
        deadline = time.monotonic() + 30  # the form swaps the page in place and pushes its URL
        while not ("service=ml-api" in page.url and "from=" in page.url):
            assert time.monotonic() < deadline, page.url
            page.wait_for_timeout(100)
        shared = page.url
        assert f"from={first}" in shared
        page.goto(shared)  # the view is in its URL: opened afresh, it is the same view
        assert page.locator("select#from").input_value() == first
        assert page.locator("select#service").input_value() == "ml-api"
        weeks = page.locator("#cohort-deploys table tbody th").all_text_contents()
        assert weeks
        assert min(weeks) >= first
        assert max(weeks) <= last

        bar = page.locator("#cohort-deploys a.bar-link").last
        href = bar.get_attribute("href")
        assert href is not None
        week = re.search(r"from=(\d{4}-W\d{2})&to=(\d{4}-W\d{2})", href)
        assert week is not None
        assert week.group(1) == week.group(2)  # one bar, one week
        bar.click()
        page.wait_for_url(re.compile(r"/events/deployments\?.*service=ml-api"))
        services = {r.locator("td").nth(1).inner_text() for r in page.locator("#events-table tbody tr").all()[:50]}
        assert services <= {"ml-api"}

        page.goto(shared)
        claim = page.locator(".claim-card a.claim-events").first
        claim.click()
        page.wait_for_url(re.compile(rf"/events/\w+\?from={first}&to={last}&service=ml-api$"))
        assert page.locator("#events-table").count() == 1
