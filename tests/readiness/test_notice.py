"""The draft notice: a DOCX python-docx opens and a Markdown twin, both in the form
of a Vietnamese official letter, naming the holiday, every measured blocker and the
duty roster; untrusted strings (host names, owners) cannot break either."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import docx
import pytest

from itaudit.org import load_organisation
from itaudit.profiles import load_profiles
from itaudit.profiles.model import Text
from itaudit.readiness.calendar import find_holiday
from itaudit.readiness.evaluate import Blocker, evaluate_readiness
from itaudit.readiness.notice import (
    _place_date,
    build_notice,
    notice_docx,
    notice_markdown,
    write_notice,
)
from itaudit.readiness.roster import load_roster
from itaudit.readiness.view import render_html, render_markdown, subject_label
from itaudit.store import open_store

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def readiness(demo_ws):
    org = load_organisation(demo_ws.inventory)
    profiles = load_profiles(demo_ws.profiles, demo_ws.inventory)
    roster = load_roster(demo_ws.inventory / "duty-roster.yaml", org.team)
    store = open_store(demo_ws.default_store_url)
    try:
        holiday = find_holiday("culture-day-2026", TODAY, org)
        return org, evaluate_readiness(store, org, profiles, holiday, TODAY, roster=roster)
    finally:
        store.close()


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a DOCX, as python-docx reads it."""
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.append(cell.text)
    return "\n".join(parts)


LETTER_FORM = (
    "UBND TỈNH THANH HÓA",
    "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Số: .../SLĐTBXH-VP",
    "Thanh Hóa, ngày 23 tháng 11 năm 2026",
    "V/v tăng cường bảo đảm an toàn thông tin mạng trong dịp nghỉ Ngày Văn hóa Việt Nam 24/11 năm 2026",
    "Kính gửi:",
    "Tổ chức trực 24/7",
    "theo các cảnh báo chính thức",
    "truy tìm, xử lý mã độc trên toàn bộ máy chủ, máy trạm",
    "phần mềm giám sát, phát hiện tấn công (EDR)",
    "Sao lưu dữ liệu",
    "Sẵn sàng phương án ứng cứu sự cố, bảo đảm khôi phục nhanh",
    "(01 ngày, từ ngày 24/11/2026 đến hết ngày 24/11/2026)",
    "Nơi nhận:",
    "TL. GIÁM ĐỐC",
    "CHÁNH VĂN PHÒNG SỞ",
    "(Chữ ký, dấu)",
    "Hoàng Thị Thu Hà",
)


def test_docx_opens_and_holds_the_letter_the_blockers_and_the_roster(readiness) -> None:
    org, r = readiness
    text = docx_text(notice_docx(build_notice(r, org)))
    for needle in LETTER_FORM:
        assert needle in text, needle
    for b in r.blockers:
        assert b.problem.vi in text, b.problem.vi
        if b.unit is not None:
            assert subject_label(b, "vi") in text
    assert "Lê Văn Bình (Nhân viên bảo vệ, Văn phòng Sở)" in text  # the roster table
    assert "TL. GIÁM ĐỐC\nCHÁNH VĂN PHÒNG SỞ\n(Chữ ký, dấu)\n\n\nHoàng Thị Thu Hà" in text
    assert "07:30–17:00" in text
    assert (
        "d) Trường Trung cấp nghề Thanh thiếu niên khuyết tật, đặc biệt khó khăn: đáp ứng" in text
    )


def test_markdown_twin(readiness) -> None:
    org, r = readiness
    md = notice_markdown(build_notice(r, org), "vi")
    for needle in LETTER_FORM:
        assert needle in md, needle
    assert (
        "| 24/11/2026 | 17:00–07:30 | Lê Văn Bình (Nhân viên bảo vệ, Văn phòng Sở) | chưa có |"
        in md
    )
    assert (
        "| CN1-PC002 (CN1-PC-002) | Máy chưa cài phần mềm giám sát, phát hiện tấn công (EDR)." in md
    )
    assert "L1-EDR-01" not in md  # rule codes stay in the CLI and the officer's views
    # One table per unit with blockers (9), the team's, the roster.
    assert (
        md.count("| Máy / thiết bị | Vấn đề | Người sử dụng máy / đầu mối | Biện pháp khắc phục |")
        == 9
    )


def test_write_notice_files(readiness, tmp_path) -> None:
    org, r = readiness
    paths = write_notice(r, org, tmp_path, "vi", "readiness-culture-day-2026")
    assert [p.name for p in paths] == [
        "readiness-culture-day-2026-notice.docx",
        "readiness-culture-day-2026-notice.md",
    ]
    assert "Ngày Văn hóa Việt Nam 24/11" in docx_text(paths[0].read_bytes())
    assert "Ngày Văn hóa Việt Nam 24/11" in paths[1].read_text(encoding="utf-8")


def test_english_draft(readiness) -> None:
    org, r = readiness
    text = docx_text(notice_docx(build_notice(r, org, "en")))
    assert "SOCIALIST REPUBLIC OF VIETNAM" in text
    assert "Re: tightening network information security over the Vietnam Culture Day" in text


def test_government_date_style() -> None:
    assert (
        _place_date("Thanh Hóa", date(2027, 1, 5), "vi") == "Thanh Hóa, ngày 05 tháng 01 năm 2027"
    )
    assert (
        _place_date("Thanh Hóa", date(2026, 11, 23), "vi") == "Thanh Hóa, ngày 23 tháng 11 năm 2026"
    )
    assert _place_date("Thanh Hóa", date(2026, 3, 9), "vi") == "Thanh Hóa, ngày 09 tháng 3 năm 2026"


HOSTILE = "EVIL\x00PC\x0b<script>alert(1)</script> | **x** ` [a](http://x)\nline2 " + "A" * 3000


def _with_hostile(r):
    """`r` with a blocker whose machine, owner and problem carry hostile text."""
    bad = Blocker(
        "antimalware",
        "ho",
        HOSTILE,
        Text("L1-AV-02 " + HOSTILE, "L1-AV-02 " + HOSTILE),
        Text("fix", "fix"),
        HOSTILE,
        "L1-AV-02",
        asset_tag="HO-PC-999",
    )
    units = tuple(
        dataclasses.replace(u, blockers=(bad, *u.blockers)) if u.unit == "ho" else u
        for u in r.units
    )
    return dataclasses.replace(r, units=units)


def test_hostile_strings_do_not_break_the_docx(readiness) -> None:
    org, r = readiness
    text = docx_text(notice_docx(build_notice(_with_hostile(r), org)))
    assert "EVILPC<script>alert(1)</script>" in text  # control characters dropped, text kept
    assert "\x00" not in text and "\x0b" not in text
    assert "A" * 3000 not in text  # bounded


def test_hostile_strings_do_not_break_the_markdown(readiness) -> None:
    org, r = readiness
    md = notice_markdown(build_notice(_with_hostile(r), org), "vi")
    assert "<script>" not in md and "&lt;script&gt;" in md
    row = next(line for line in md.splitlines() if "EVIL" in line)
    assert row.count(" | ") == 3  # the pipe inside the name is escaped: still four cells
    assert "\\*\\*x\\*\\*" in row
    assert "line2" in row  # the newline did not start a new line
    assert "\x00" not in md


def test_hostile_strings_are_escaped_in_html_and_markdown_views(readiness) -> None:
    _org, r = readiness
    hostile = _with_hostile(r)
    html = render_html(hostile, "vi")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_markdown(hostile, "vi")
    assert not re.search(r"<script>", md)


def test_a_unit_notice_is_addressed_to_that_unit(demo_ws, readiness) -> None:
    org, _r = readiness
    profiles = load_profiles(demo_ws.profiles, demo_ws.inventory)
    store = open_store(demo_ws.default_store_url)
    try:
        holiday = find_holiday("culture-day-2026", TODAY, org)
        r = evaluate_readiness(store, org, profiles, holiday, TODAY, unit="dvvl")
    finally:
        store.close()
    n = build_notice(r, org)
    assert n.addressees == ("Trung tâm Dịch vụ việc làm Thanh Hóa.",)
    assert "đề nghị đơn vị thực hiện tốt các nội dung sau:" in n.intro
    assert "Đề nghị đơn vị khẩn trương khắc phục" in n.findings_intro
    text = docx_text(notice_docx(n))
    assert "Kính gửi: Trung tâm Dịch vụ việc làm Thanh Hóa." in text  # one line, no list
    assert "Các đơn vị trực thuộc Sở" not in text
    md = notice_markdown(n, "vi")
    assert "Kính gửi: Trung tâm Dịch vụ việc làm Thanh Hóa." in md


def test_the_department_notice_is_addressed_to_offices_and_units(readiness) -> None:
    org, r = readiness
    n = build_notice(r, org)
    assert n.addressees == (
        "Văn phòng Sở, các phòng chuyên môn thuộc Sở;",
        "Các đơn vị trực thuộc Sở.",
    )
    assert "đề nghị các phòng, đơn vị thực hiện tốt" in n.intro
    assert n.closing.startswith("Đề nghị các phòng, đơn vị nghiêm túc thực hiện;")


def test_without_a_roster_the_notice_says_so(readiness) -> None:
    org, r = readiness
    n = build_notice(dataclasses.replace(r, roster=None), org)
    text = docx_text(notice_docx(n))
    assert "Lịch trực trong dịp nghỉ lễ\nChưa có lịch trực." in text
    assert "Giờ trực" not in text  # no empty roster table
    md = notice_markdown(n, "vi")
    assert "*Lịch trực trong dịp nghỉ lễ*\n\nChưa có lịch trực." in md
    assert "| Ngày | Giờ trực |" not in md


def test_english_notice_counts_days_in_good_english(readiness) -> None:
    org, r = readiness
    n = build_notice(r, org, "en")
    assert "(1 day, 2026-11-24 to 2026-11-24)" in n.intro
    assert "asks the offices and units to:" in n.intro


def test_signature_block(readiness) -> None:
    """On the Director's behalf over the lead's post; the team role only without a post."""
    org, r = readiness
    assert build_notice(r, org).signer == ("TL. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG SỞ")
    untitled = dataclasses.replace(r.lead, title=None)
    assert build_notice(dataclasses.replace(r, lead=untitled), org).signer == (
        "TỔ TRƯỞNG TỔ ỨNG CỨU SỰ CỐ",
    )
