"""The holiday notice in the form of Decree 30/2020/NĐ-CP, read back from the DOCX
with python-docx: A4 with margins in the decree's ranges (left 30-35 mm), Times New
Roman, sub-points lettered in the Vietnamese alphabet (đ after d; no f or j), the
V/v line with the year, and no rule code, command or internal framework id."""

from __future__ import annotations

import io
import re
from datetime import date

import docx
import pytest
from docx.shared import Mm

from itaudit.org import load_organisation
from itaudit.profiles import load_profiles
from itaudit.readiness.calendar import find_holiday
from itaudit.readiness.evaluate import evaluate_readiness
from itaudit.readiness.notice import build_notice, notice_docx, notice_markdown, sub_point
from itaudit.readiness.roster import load_roster
from itaudit.store import open_store

TODAY = date(2026, 12, 4)
# What a letter must never carry: rule ids, itaudit commands, internal framework or
# requirement ids, and configuration file names meant for the officer.
FORBIDDEN = re.compile(
    r"L1-[A-Z]+-\d+"
    r"|itaudit (attest|check|scan|agent|ingest|report|hosts|readiness|org|init|serve)\b"
    r"|circular-12-2022|decree-331-2026|tcvn-1\d+-20\d\d|cis-v8|law-29-2018"
    r"|tech\.(design|config)\.|mgmt\.[a-z]+|ND85-"
    r"|\b[\w-]+\.(yaml|csv)\b"
)


@pytest.fixture(scope="module")
def notice(demo_ws):
    org = load_organisation(demo_ws.inventory)
    profiles = load_profiles(demo_ws.profiles, demo_ws.inventory)
    roster = load_roster(demo_ws.inventory / "duty-roster.yaml", org.team)
    store = open_store(demo_ws.default_store_url)
    try:
        holiday = find_holiday("new-year-2027", TODAY, org)
        r = evaluate_readiness(store, org, profiles, holiday, TODAY, roster=roster)
    finally:
        store.close()
    assert r.blockers, "the demo plants blockers: the letter has findings to list"
    return org, r


def _document(org, r) -> docx.document.Document:
    return docx.Document(io.BytesIO(notice_docx(build_notice(r, org))))


def _all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_margins_page_and_font_follow_decree_30(notice) -> None:
    org, r = notice
    document = _document(org, r)
    for section in document.sections:
        assert abs(section.page_width - Mm(210)) < Mm(1)
        assert abs(section.page_height - Mm(297)) < Mm(1)
        assert Mm(30) - Mm(0.5) <= section.left_margin <= Mm(35) + Mm(0.5)
        assert Mm(15) - Mm(0.5) <= section.right_margin <= Mm(20) + Mm(0.5)
        assert Mm(20) - Mm(0.5) <= section.top_margin <= Mm(25) + Mm(0.5)
        assert Mm(20) - Mm(0.5) <= section.bottom_margin <= Mm(25) + Mm(0.5)
    normal = document.styles["Normal"].font
    assert normal.name == "Times New Roman"
    assert normal.size.pt in (13, 14)


def test_tables_fit_the_text_width(notice) -> None:
    org, r = notice
    document = _document(org, r)
    section = document.sections[0]
    width = section.page_width - section.left_margin - section.right_margin
    for table in document.tables:
        cells = table.rows[0].cells
        total = sum(c.width or 0 for c in cells)
        assert total <= width + Mm(1), (total, width)


def test_sub_points_use_the_vietnamese_alphabet(notice) -> None:
    org, r = notice
    text = _all_text(_document(org, r))
    letters = re.findall(r"^([a-zđ]+)\) ", text, re.MULTILINE)
    assert len(letters) == len(r.units) >= 6
    assert letters[:6] == ["a", "b", "c", "d", "đ", "e"]
    assert "f" not in letters and "j" not in letters


def test_lettering_beyond_y_never_borrows_f_j_w_z() -> None:
    assert [sub_point(i) for i in range(12)] == list("abcdđeghiklm")
    assert sub_point(22) == "y" and sub_point(23) == "aa"
    assert not {sub_point(i) for i in range(60)} & {"f", "j", "w", "z"}


def test_subject_line_states_the_year_and_days_are_counted_as_letters_write_them(notice) -> None:
    org, r = notice
    text = _all_text(_document(org, r))
    assert (
        "V/v tăng cường bảo đảm an toàn thông tin mạng trong dịp nghỉ Tết Dương lịch năm 2027"
        in text
    )
    assert "(03 ngày, từ ngày 01/01/2027 đến hết ngày 03/01/2027)" in text


def test_the_letter_carries_no_code_command_or_internal_id(notice) -> None:
    org, r = notice
    n = build_notice(r, org)
    for text in (_all_text(_document(org, r)), notice_markdown(n, "vi")):
        found = FORBIDDEN.findall(text)
        assert not FORBIDDEN.search(text), found


def test_wording_a_reader_of_official_letters_expects(notice) -> None:
    org, r = notice
    text = _all_text(_document(org, r))
    assert "tài liệu bí mật nhà nước" in text
    assert "tài liệu mật " not in text and "tài liệu mật." not in text
    assert "kết luận: CHƯA SẴN SÀNG" not in text
    assert "#1" not in text and "dữ liệu kiểm tra #" not in text
    assert "hệ thống giám sát tập trung" not in text
    assert "ký số" not in text
    assert "Người phụ trách" not in text


def test_english_letter_has_no_code_either(notice) -> None:
    org, r = notice
    text = notice_markdown(build_notice(r, org, "en"), "en")
    assert not FORBIDDEN.search(text), FORBIDDEN.findall(text)
    assert "(03 days" not in text and "(3 days, 2027-01-01 to 2027-01-03)" in text
