"""The unit report a unit head signs off: citations a reader can look up, marked when
not checked against the published text, the department's own policy named as such;
and no rule id, command or internal framework id outside the officer's annex, in
every unit's Vietnamese HTML and Markdown of the demo."""

from __future__ import annotations

import re

from itaudit.profiles import load_profiles
from itaudit.report.citations import rule_citations
from itaudit.report.figures import build_reports, load_framework_titles
from itaudit.report.output import unit_markdown
from itaudit.store import open_store

FORBIDDEN = re.compile(
    r"L1-[A-Z]+-\d+"
    r"|itaudit (attest|check|scan|agent|ingest|report|hosts|readiness|org|init|serve)\b"
    r"|circular-12-2022|decree-331-2026|tcvn-1\d+-20\d\d|cis-v8|law-29-2018"
    r"|directive-14-2019|department-policy"
    r"|tech\.(design|config)\.|mgmt\.[a-z]+|ND85-"
    r"|\b[\w-]+\.(yaml|csv)\b"
)
ANNEX_HTML = '<section id="officer-annex"'


def _head_part(text: str, marker: str) -> str:
    """What the unit head reads: everything before the officer's annex."""
    assert marker in text, "the officer's annex is there, apart"
    return text.split(marker, 1)[0]


def test_no_code_or_internal_id_before_the_officer_annex_in_any_unit_html(demo) -> None:
    pages = sorted(p for p in demo.reports.glob("*.vi.html") if p.name != "department.vi.html")
    assert len(pages) == 12
    for page in pages:
        head = _head_part(page.read_text(encoding="utf-8"), ANNEX_HTML)
        assert not FORBIDDEN.search(head), (page.name, FORBIDDEN.findall(head)[:5])
    # ...while the annex does carry them, for the officer.
    ho = (demo.reports / "ho.vi.html").read_text(encoding="utf-8")
    annex = ho.split(ANNEX_HTML, 1)[1]
    assert "L1-MGT-05" in annex and "circular-12-2022: ND85-20.2.c" in annex
    assert "itaudit attest L1-MGT-05" in annex


def _reports(demo, demo_org):
    ws = demo.workspace
    store = open_store(demo.url)
    try:
        frameworks = load_framework_titles(ws.profiles, ws.inventory)
        return build_reports(store, demo_org, units=None, department=False, frameworks=frameworks)
    finally:
        store.close()


def test_markdown_unit_reports_in_vietnamese_have_no_codes_before_the_annex(demo, demo_org) -> None:
    rs = _reports(demo, demo_org)
    annex = "## Phụ lục: chi tiết cho cán bộ CNTT"
    for unit_id, r in rs.units.items():
        head = _head_part(unit_markdown(r, "vi", demo_org), annex)
        assert not FORBIDDEN.search(head), (unit_id, FORBIDDEN.findall(head)[:5])


def test_citations_read_as_documents_and_clauses(demo, demo_org) -> None:
    rs = _reports(demo, demo_org)
    rows = {x.rule_id: x for x in rs.units["ho"].rule_rows}
    mgt01 = rows["L1-MGT-01"].references.vi
    assert mgt01.startswith("Thông tư 12/2022/TT-BTTTT, Phụ lục I, mục 1.1; TCVN 11930:2017, 5.1.1")
    # Decree 331's clauses are not confirmed: said so, in both languages.
    assert (
        "Nghị định 331/2026/NĐ-CP, yêu cầu quản lý: chính sách bảo đảm an ninh mạng (chưa đối chiếu văn bản gốc)"
        in mgt01
    )
    assert "(unconfirmed)" in rows["L1-MGT-01"].references.en
    assert rows["L1-MGT-01"].unconfirmed
    # The 2-year period is Decree 85's.
    assert "Nghị định 85/2016/NĐ-CP, Điều 20, khoản 2, điểm c" in rows["L1-MGT-05"].references.vi
    # The department's own choices are labelled as policy, not as law.
    for rid in ("L1-EDR-01", "L1-EDR-02", "L1-EDR-03", "L1-MGT-07"):
        text = rows[rid].references.vi
        assert text.startswith("Quy định của Sở"), (rid, text)
        assert "Thông tư" not in text and "TCVN" not in text, (rid, text)
    assert rows["L1-AV-04"].references.vi.startswith("Chỉ thị 14/CT-TTg ngày 07/6/2019")
    # A cross-reference is shown as such, with its implementation group when not IG1.
    assert "tham chiếu: CIS Controls v8, 8.4 (IG2)" in rows["L1-TIME-01"].references.vi
    # A fully confirmed citation carries no mark.
    assert not rows["L1-SECRET-01"].unconfirmed
    assert rows["L1-SECRET-01"].references.vi.startswith(
        "Luật Bảo vệ bí mật nhà nước số 29/2018/QH14, Điều 5, khoản 5"
    )


def test_the_report_says_what_unconfirmed_means(demo) -> None:
    ho = (demo.reports / "ho.vi.html").read_text(encoding="utf-8")
    assert 'id="unconfirmed-note"' in ho
    assert "chưa so với văn bản đã ban hành" in ho


def test_group_headings_are_citations_not_ids(demo, demo_org) -> None:
    rs = _reports(demo, demo_org)
    headings = [g.heading.vi for g in rs.units["ho"].requirements if g.id]
    assert "Thông tư 12/2022/TT-BTTTT, Phụ lục I, mục 1.1: Chính sách an toàn thông tin" in headings
    assert not any(FORBIDDEN.search(h) for h in headings), headings


def test_without_the_framework_file_no_internal_id_is_shown(demo) -> None:
    profiles = load_profiles(demo.workspace.profiles, demo.workspace.inventory)
    text, unconfirmed = rule_citations({"circular-12-2022": ["1.1"]}, {}, "vi")
    assert text == "điều khoản 1.1 (chưa đối chiếu văn bản gốc)" and unconfirmed
    text, _ = rule_citations({"circular-12-2022": ["1.1"]}, profiles.frameworks, "en")
    assert text == "Circular 12/2022/TT-BTTTT, Appendix I, item 1.1"
