"""A host name from the network is untrusted: a device on the LAN whose reverse
DNS name is markup, quotes and a long string. The scan is reconciled and stored
the way `itaudit scan` stores one; the head office's report, opened in headless
Chromium, shows the name as text, fetches nothing and keeps its layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from itaudit.demo.lan import load_lan_findings, simulate_unit
from itaudit.report.figures import build_reports, load_framework_titles
from itaudit.report.output import write_unit
from itaudit.scan.ports import workspace_catalogue
from itaudit.scan.reconcile import known_hosts, reconcile
from itaudit.scan.records import Observation, Port
from itaudit.scan.results import store_scan
from itaudit.scan.run import ScanRequest, plan_scans, record_for
from itaudit.store import open_store, utcnow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# nmap keeps a reverse-DNS name up to 253 characters; the store keeps as many.
HOSTILE_NAME = ("<img src=x onerror=alert(1)>\"'<script>alert(2)</script>" + "Q" * 400)[:253]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent")


@pytest.fixture(scope="module")
def hostile_report(demo, demo_org, tmp_path_factory) -> Path:
    """A new scan of the head office with one unknown device named HOSTILE_NAME."""
    ws = demo.workspace
    store = open_store(demo.url)
    try:
        catalogue = workspace_catalogue(ws.profiles, {u.id for u in demo_org.units})
        (plan,) = plan_scans(ScanRequest(unit="ho"), demo_org, catalogue, privileged=True)
        hosts = known_hosts(store)
        started = utcnow()
        seen = simulate_unit(demo_org, plan.unit, hosts, plan.ports.ports, load_lan_findings())
        rogue = Observation(
            "10.38.1.250", "de:ad:be:ef:00:01", None, (HOSTILE_NAME,), (Port(80, "tcp", "http"),)
        )
        result = reconcile(
            [*seen, rogue],
            unit=plan.unit,
            targets=plan.targets,
            org=demo_org,
            hosts=hosts,
            ports=plan.risks,
        )
        record = record_for(
            plan, started, utcnow(), status="complete", nmap_version=None, run_by="test"
        )
        store_scan(store, record, result)
        frameworks = load_framework_titles(ws.profiles, ws.inventory)
        reports = build_reports(
            store, demo_org, units=["ho"], department=False, frameworks=frameworks
        )
    finally:
        store.close()
    folder = tmp_path_factory.mktemp("hostile-scan")
    return write_unit(reports.units["ho"], "html", "vi", demo_org, folder)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("width", [1100, 390])
def test_a_hostile_name_from_the_network_stays_text(browser, hostile_report, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    url = hostile_report.resolve().as_uri()
    requests: list[str] = []

    def route(r) -> None:
        requests.append(r.request.url)
        (r.continue_ if r.request.url == url else r.abort)()

    page.route("**/*", route)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        rows = page.locator("#lan tbody tr")
        device = [rows.nth(i).inner_text() for i in range(rows.count())]
        shown = next(row for row in device if "<img src=x" in row)
        assert "<img src=x onerror=alert(1)>\"'<script>alert(2)</script>QQQ" in shown
        assert "Q" * 200 not in shown  # names are bounded (80 characters)
        assert requests == [url]
        width_px = page.evaluate("document.documentElement.scrollWidth")
        assert width_px <= page.evaluate("window.innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#lan").screenshot(path=str(ARTIFACTS / f"hostile-lan-{width}.png"))
    finally:
        page.close()
