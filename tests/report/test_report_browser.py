"""The HTML reports in a real headless Chromium (Debian's package, driven by
Playwright; no browser download): the key numbers are visible, the page asks
for nothing beyond its own file, hostile text stays text, the layout holds on
a phone, and a screenshot is kept in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if not Path(CHROMIUM).exists():
    print(f"skipping browser tests: {CHROMIUM} is absent (Debian: apt-get install chromium)")
    pytestmark = pytest.mark.skip(reason=f"{CHROMIUM} is absent (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path: Path, width: int = 1100):
    """Load a report file, recording (and refusing) every request but the file itself."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    url = path.resolve().as_uri()
    requests: list[str] = []

    def route(r) -> None:
        requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, url, requests


def _shot(page, name: str, full: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full)
    return path


def _no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"page is {width}px wide in a {viewport}px window"


def test_head_office_report_shows_its_numbers_and_fetches_nothing(browser, demo):
    page, url, requests = _open(browser, demo.reports / "ho.vi.html")
    try:
        text = page.inner_text("body")
        assert page.inner_text("#kpi-compliant .v") == "89,3 %"
        assert "75/84" in page.inner_text("#kpi-compliant")
        assert page.inner_text("#kpi-failed .v") == "14"
        assert page.inner_text("#ratio-mps") == "108,1 %"
        assert "Việc cần làm" in text and "HO-PC071" in text
        assert "Sổ tài sản ghi 4 máy chiếu; quét mạng thấy 5" in text
        assert requests == [url]
        assert _shot(page, "report-ho.vi.png").stat().st_size > 10_000
    finally:
        page.close()


def test_department_summary_shows_every_unit_and_the_total(browser, demo):
    page, url, requests = _open(browser, demo.reports / "department.vi.html")
    try:
        rows = page.locator("#department-table tbody tr")
        assert rows.count() == 13
        ho = page.inner_text("tr[data-unit='ho']")
        assert "108,1 %" in ho and "75 (89,3 %)" in ho
        total = page.inner_text("tr[data-unit='total']")
        assert total.startswith("Toàn Sở") and "315" in total
        assert requests == [url]
        _shot(page, "report-department.vi.png")
    finally:
        page.close()


def test_hostile_text_is_shown_as_text(browser, demo, hostile):
    page, url, requests = _open(browser, demo.reports / "ho.vi.html")
    try:
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        text = page.inner_text("body")
        assert '<script>alert("x")</script>WWW' in text  # escaped, and visible as typed
        assert hostile["title"] in text
        assert "W" * 10_000 not in text  # bounded
        assert requests == [url]  # the <img src=x> never loaded
    finally:
        page.close()


@pytest.mark.parametrize("name", ["ho.vi.html", "department.vi.html"])
def test_layout_holds_on_a_phone(browser, demo, name):
    page, _url, _requests = _open(browser, demo.reports / name, width=390)
    try:
        _no_overflow(page)
        _shot(page, f"phone-{name.replace('.html', '.png')}")
    finally:
        page.close()


def test_print_layout_is_a4(browser, demo):
    page, _url, _requests = _open(browser, demo.reports / "ho.vi.html")
    try:
        pdf = page.pdf(prefer_css_page_size=True)
        assert pdf.startswith(b"%PDF")
        boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
        assert boxes, "no page size in the PDF"
        for width, height in boxes:  # A4: 595 x 842 points
            assert abs(float(width) - 595.3) < 1.5 and abs(float(height) - 841.9) < 1.5
    finally:
        page.close()


# A4 at 96 px per inch: the printable width and height inside the page margins
# of base.html (14 mm top, 16 mm bottom, 12 mm either side).
A4_WIDTH, A4_HEIGHT = round((210 - 24) / 25.4 * 96), round((297 - 30) / 25.4 * 96)


@pytest.mark.parametrize("name", ["ho.vi.html", "nghiatrang.vi.html"])
def test_action_list_is_on_the_first_printed_page(browser, demo, name):
    """A unit head reads the action list first: on paper it starts on page 1,
    before the rules, and the technical details stay folded away."""
    page, _url, _requests = _open(browser, demo.reports / name, width=A4_WIDTH)
    try:
        page.emulate_media(media="print")
        tops = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('section[id]')]"
            ".map(e => [e.id, e.getBoundingClientRect().top + window.scrollY]))"
        )
        assert tops["actions"] < A4_HEIGHT, tops
        assert tops["summary"] < tops["actions"] < tops["rules"] < tops["machines"]
        # The checker's evidence is the officer's: folded in the annex, after everything.
        assert tops["machines"] < tops["officer-annex"]
        assert page.locator("#officer-annex details table").count() > 0
        assert not page.locator("#officer-annex details table").first.is_visible()
        page.set_viewport_size({"width": A4_WIDTH, "height": A4_HEIGHT})
        _shot(page, f"print-top-{name.replace('.html', '.png')}", full=False)
    finally:
        page.close()


def test_small_unit_report_reads_for_its_head(browser, demo):
    """Nghĩa trang: 8 machines, one never reported, three missing management records."""
    page, url, requests = _open(browser, demo.reports / "nghiatrang.vi.html", width=390)
    try:
        assert page.inner_text("h1") == "Ban Quản lý Nghĩa trang liệt sĩ tỉnh"
        assert page.inner_text("#kpi-compliant .v") == "87,5 %"
        assert "(7/8)" in page.inner_text("#kpi-compliant")
        # The bar of failures by severity counts the unit's own records too: the
        # banner shows both parts, and they add up to the bars.
        machine_failures = int(page.inner_text("#kpi-failed .v"))
        unit_failures = int(page.inner_text("#kpi-unit .v"))
        bars = page.eval_on_selector_all(
            "#summary svg.chart text:nth-of-type(even)", "els => els.map(e => e.textContent)"
        )
        assert (machine_failures, unit_failures) == (1, 3)
        assert sum(int(v) for v in bars) == machine_failures + unit_failures
        first = page.locator("ol.actions > li").first
        assert "Hồ sơ, minh chứng của đơn vị" in first.inner_text()
        assert "người chịu trách nhiệm: Lê Xuân Trường" in first.inner_text()
        meta = page.inner_text("dl.meta")
        assert re.search(r"Ngày kiểm tra\s+\d{2}/\d{2}/\d{4}", meta)
        assert not re.search(r"\d{4}-\d{2}-\d{2}", page.inner_text("main"))
        text = page.inner_text("body")
        assert "có trong sổ nhưng chưa gửi báo cáo: NTLS-PC-003" in text
        assert requests == [url]
        _no_overflow(page)
        _shot(page, "phone-top-nghiatrang.vi.png", full=False)
    finally:
        page.close()
