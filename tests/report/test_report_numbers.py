"""The same numbers in HTML, CSV, XLSX and JSON; hostile text bounded and
defused in every format; the figures on both store back ends."""

from __future__ import annotations

import csv
import io
import json

import lxml.html
import pytest
from openpyxl import load_workbook

from itaudit.check.results import latest_run
from itaudit.i18n import format_percent
from itaudit.org import load_organisation
from itaudit.ratios import compute_ratios
from itaudit.report.figures import build_reports
from itaudit.report.output import write_reports
from itaudit.store import open_store


@pytest.fixture(scope="module")
def formats(demo, demo_org):
    """Every format of the department summary and the unit reports, from one build."""
    store = open_store(demo.url)
    try:
        reports = build_reports(store, demo_org, units=None)
    finally:
        store.close()
    out = demo.reports.parent / "all-formats"
    write_reports(reports, demo_org, out, ("html", "csv", "xlsx", "json", "md"), "vi")
    return next(out.iterdir())


def _csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Vietnamese"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _num(text: str) -> float:
    return float(text.replace(".", "").replace(",", ".").replace("%", "").strip())


def test_department_numbers_agree_across_formats(formats):
    data = json.loads((formats / "department.vi.json").read_text(encoding="utf-8"))
    rows = _csv(formats / "department.vi.csv")
    header, body = rows[0], rows[1:]
    sheet = load_workbook(formats / "department.vi.xlsx").worksheets[0]
    xrows = list(sheet.iter_rows(min_row=2, values_only=True))
    html = lxml.html.fromstring((formats / "department.vi.html").read_text(encoding="utf-8"))
    units = [*data["units"], data["total"]]
    assert len(units) == len(body) == len(xrows) == 13
    col = {name: header.index(name) for name in ("Số máy", "Máy đạt", "Máy đạt (%)", "Mã độc (%)")}
    for unit, crow, xrow in zip(units, body, xrows, strict=True):
        key = unit["unit"] or "total"
        cells = html.xpath(f"//tr[@data-unit='{key}']/td")
        assert int(crow[col["Số máy"]]) == xrow[col["Số máy"]] == unit["machines"]
        assert int(cells[1].text_content()) == unit["machines"]
        assert int(crow[col["Máy đạt"]]) == xrow[col["Máy đạt"]] == unit["compliant"]["numerator"]
        assert (
            float(crow[col["Máy đạt (%)"]])
            == xrow[col["Máy đạt (%)"]]
            == unit["compliant"]["percent"]
        )
        av = unit["antivirus"]["percent"]
        assert float(crow[col["Mã độc (%)"]]) == xrow[col["Mã độc (%)"]] == av
        assert cells[4].text_content().strip() == format_percent(av, "vi")
        assert cells[7].text_content().strip().startswith(str(unit["compliant"]["numerator"]))


def test_unit_numbers_agree_across_formats(formats):
    data = json.loads((formats / "ho.vi.json").read_text(encoding="utf-8"))
    banner = data["banner"]
    rows = _csv(formats / "ho.vi.csv")
    header, body = rows[0], rows[1:]
    failed = sum(int(r[header.index("Chưa đạt")]) for r in body)
    passed = sum(int(r[header.index("Đạt")]) for r in body)
    html = lxml.html.fromstring((formats / "ho.vi.html").read_text(encoding="utf-8"))
    kpi_failed = html.xpath("//div[@id='kpi-failed']/span[@class='v']")[0].text_content()
    wb = load_workbook(formats / "ho.vi.xlsx")
    summary = {r[0]: r[1] for r in wb.worksheets[0].iter_rows(values_only=True)}
    machines = list(wb["Chi tiết từng máy"].iter_rows(min_row=2, values_only=True))
    assert (
        banner["failed"] == failed == int(kpi_failed) == summary["Chưa đạt"] == 14
    )  # 13 + HO-PC014 KMS activator (L1-SW-03)
    assert banner["passed"] == passed == summary["Đạt"]
    assert len(body) == len(machines) == banner["machines"] == 84
    last_report = wb["Chi tiết từng máy"]["E2"]  # a date Excel can sort, shown as dd/mm/yyyy
    assert last_report.is_date and last_report.number_format == "dd/mm/yyyy"
    assert data["ratios"]["machines_per_staff"] == {
        "numerator": 80,
        "denominator": 74,
        "percent": 108.1,
    }


def test_hostile_strings_are_bounded_and_defused_in_every_format(formats, hostile):
    csv_text = (formats / "ho.vi.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    people = {r[0]: r[3] for r in rows[1:]}
    assert people["HO-PC020"] == "'" + hostile["formula"]  # never a formula in Excel
    assert people["HO-PC012"].startswith('<script>alert("x")</script>WWW')
    assert len(people["HO-PC012"]) <= 100
    wb = load_workbook(formats / "ho.vi.xlsx")
    for row in wb["Chi tiết từng máy"].iter_rows(min_row=2):
        cell = row[3]
        if isinstance(cell.value, str) and cell.value.startswith("="):
            assert cell.data_type == "s"
    md = (formats / "ho.vi.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "W" * 1000 not in md
    html = (formats / "ho.vi.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html
    assert "W" * 1000 not in html
    data = json.loads((formats / "ho.vi.json").read_text(encoding="utf-8"))
    assert all(len(m["assigned_to"] or "") <= 80 for m in data["machines"])


def test_planted_discrepancies_are_reported(demo, demo_org):
    store = open_store(demo.url)
    try:
        ratios = compute_ratios(store, demo_org, latest_run(store))
    finally:
        store.close()
    ho = ratios.unit("ho")
    found = {(d.item, d.register, d.agents, d.scan) for d in ho.discrepancies}
    assert ("projector", 4, None, 5) in found  # lan_findings: a 5th projector
    assert ("workstations", 80, 81, None) in found  # DESKTOP-7F3K2QJ reports, unregistered
    assert ho.unregistered == ("DESKTOP-7F3K2QJ",)
    assert ratios.unit("nghiatrang").never_reported == ("NTLS-PC-003",)


def test_figures_on_both_store_back_ends(store_url, workspace):
    from itaudit.demo.run import run_demo

    store = open_store(store_url)
    try:
        run_demo(workspace, store, lambda _t: None)
        org = load_organisation(workspace.inventory)
        reports = build_reports(store, org, units=["ho"])
    finally:
        store.close()
    ho = reports.units["ho"]
    assert ho.ratios.machines_per_staff.percent == 108.1
    assert ho.banner.failed == 14 and ho.banner.failed_by_severity["critical"] == 6
    assert ho.actions[0].subject == "HO-PC071" and ho.actions[0].worst == "critical"
    assert reports.department.total.machines == 315
    assert ho.lan is not None and ho.lan.simulated and ho.lan.buckets["forbidden"] == 1


def test_action_list_says_what_is_wrong_in_plain_words(formats, demo):
    """A failed rule reads as its `problem` sentence in every format, the rule id beside it."""
    from itaudit.profiles import load_profiles

    rule = load_profiles(demo.workspace.profiles, demo.workspace.inventory).rules()["L1-SECRET-01"]
    assert rule.problem is not None
    data = json.loads((formats / "ho.vi.json").read_text(encoding="utf-8"))
    first = data["actions"][0]
    assert first["subject"] == "HO-PC071"
    problem = next(p for p in first["problems"] if p["rule"] == "L1-SECRET-01")
    assert problem["what"] == {"vi": rule.problem.vi, "en": rule.problem.en}
    assert problem["what"]["vi"] != problem["title"]["vi"]
    sheet = load_workbook(formats / "ho.vi.xlsx")["Việc cần làm"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    rows = [dict(zip(header, row, strict=True)) for row in rows]
    # The action sheet names the requirement in words; rule ids are in the annex sheet.
    assert "Mã yêu cầu" not in header
    mine = next(r for r in rows if r["Nội dung"] == rule.title.vi)
    assert mine["Vấn đề"] == rule.problem.vi
    assert mine["Nội dung"] == rule.title.vi
    html = lxml.html.fromstring((formats / "ho.vi.html").read_text(encoding="utf-8"))
    whats = [e.text_content() for e in html.xpath("//span[@class='what']")]
    assert rule.problem.vi in whats
    md = (formats / "ho.vi.md").read_text(encoding="utf-8")
    assert f"   - {rule.problem.vi} Cách khắc phục: " in md
    assert "(L1-SECRET-01)" not in md


def test_unverifiable_and_unworded_failures_fall_back_to_the_title():
    from itaudit.profiles.model import Text
    from itaudit.report.figures import _what

    title = Text("Màn hình tự khóa", "The screen locks")
    problem = Text("Màn hình không tự khóa.", "The screen does not lock.")
    assert _what("fail", title, problem) == problem
    unknown = _what("error", title, problem)  # an unknown fact is not a known failure
    assert unknown.vi.startswith("Chưa xác định được") and "Màn hình tự khóa" in unknown.vi
    assert unknown.en.startswith("Could not be verified") and "The screen locks" in unknown.en
    generic = _what("fail", title, None)
    assert generic == Text(
        "Chưa đạt yêu cầu: Màn hình tự khóa", "Requirement not met: The screen locks"
    )


def test_every_format_renders_in_english(demo, demo_org, tmp_path):
    """The English catalogue covers every path (a missing key would raise here)."""
    store = open_store(demo.url)
    try:
        reports = build_reports(store, demo_org, units=["nghiatrang"])
    finally:
        store.close()
    paths = write_reports(reports, demo_org, tmp_path, ("html", "md", "csv", "xlsx", "json"), "en")
    assert len(paths) == 10
    folder = paths[0].parent
    html = (folder / "nghiatrang.en.html").read_text(encoding="utf-8")
    assert "Action list" in html and "Việc cần làm" not in html
    assert "responsible: Lê Xuân Trường" in html  # the unit's own records: its head
    md = (folder / "department.en.md").read_text(encoding="utf-8")
    assert md.startswith("# Department information-security compliance summary")
    assert "in the register but never reported: NTLS-PC-003" in md
    header = _csv(folder / "nghiatrang.en.csv")[0]
    assert header[:2] == ["Machine", "Asset tag"]  # one language, no snake_case
    sheets = load_workbook(folder / "nghiatrang.en.xlsx").sheetnames
    assert sheets == [
        "Summary",
        "Action list",
        "Rules by requirement",
        "LAN scan findings",
        "Machine details",
        "Rule ids and clauses",  # the officer's annex
    ]
