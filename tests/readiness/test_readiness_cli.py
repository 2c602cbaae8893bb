"""`itaudit readiness` end to end in a subprocess: NO-GO exits 1, usage errors exit 2,
the environment exits 3; holiday choice, formats, unit scope and the notice files."""

from __future__ import annotations

import json
import re

import pytest

TODAY = ("--today", "2026-11-23")


def test_demo_is_no_go(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY)
    assert result.returncode == 1, result.output
    out = result.stdout
    assert "Kỳ nghỉ: Ngày Văn hóa Việt Nam 24/11 [culture-day-2026]" in out
    assert "Kết luận: CHƯA SẴN SÀNG (NO-GO), vướng mắc: 23" in out
    assert (
        "HO-PC012 (HO-PC-012) — Người sử dụng máy / đầu mối: Bùi Thị Hạnh (Quỹ Bảo trợ trẻ em)"
        in out
    )
    assert "Ngày 24/11/2026: không có người trực trong khoảng 00:00–07:30" in out
    assert "Error: NO-GO: 23 blocker(s) before Ngày Văn hóa Việt Nam 24/11" in result.stderr


def test_english(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--lang", "en")
    assert result.returncode == 1
    assert "Verdict: NO-GO, blockers: 23" in result.stdout  # no "NO-GO (NO-GO)"
    assert "Days off: 2026-11-24 (1 day); Remaining: 1 day to go" in result.stdout
    assert re.search(
        r"Incident-response team and 24/7 duty roster +Blocked +2 +1 day off, 2026-11-24\n",
        result.stdout,
    )


def test_json_lists_every_blocker_with_owner_and_remedy(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "-f", "json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "NO-GO" and doc["blockers"] == 23
    units = {u["unit"]: u for u in doc["units"]}
    (b,) = units["cainghien1"]["blockers"]
    assert (b["item"], b["asset_tag"], b["rule"]) == ("edr", "CN1-PC-002", "L1-EDR-01")
    assert b["owner"] == "Trịnh Xuân Đông (kiêm nhiệm CNTT)"
    assert b["remediation"]["vi"].startswith("Cài đặt tác tử EDR")
    assert {i["item"]: i["state"] for i in doc["checklist"]}["drill"] == "ok"


def test_date_means_the_holiday_on_or_after_it(demo_ws, run_cli) -> None:
    result = run_cli(
        "readiness", "-w", str(demo_ws.root), *TODAY, "--date", "2027-01-01", "-f", "json"
    )
    doc = json.loads(result.stdout)
    assert doc["holiday"]["id"] == "new-year-2027"
    assert doc["days_remaining"] == 39
    roster = [b["problem"]["en"] for b in doc["team"]["blockers"] if b["item"] == "roster"]
    assert roster == ["Nobody on duty on 2027-01-02"]  # the sample roster's planted gap


def test_named_holiday(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--holiday", "Tết", "-f", "json")
    doc = json.loads(result.stdout)
    assert (doc["holiday"]["id"], doc["holiday"]["start"], doc["holiday"]["end"]) == (
        "tet-2027",
        "2027-02-04",
        "2027-02-10",
    )
    assert doc["team"]["blockers"] == []  # the sample roster covers Tết around the clock
    assert len(doc["team"]["roster"]["shifts"]) == 15


def test_unit_scope(demo_ws, run_cli) -> None:
    result = run_cli(
        "readiness", "-w", str(demo_ws.root), *TODAY, "--unit", "tcn-khuyettat", "-f", "json"
    )
    assert result.returncode == 1  # the team's roster still has gaps
    doc = json.loads(result.stdout)
    assert [(u["unit"], u["verdict"]) for u in doc["units"]] == [("tcn-khuyettat", "GO")]
    assert doc["scope"] == "tcn-khuyettat"


def test_complete_roster_given_with_option(demo_ws, run_cli, tmp_path) -> None:
    from readiness_data import COMPLETE_ROSTER

    roster = tmp_path / "truc.yaml"
    roster.write_text(COMPLETE_ROSTER, encoding="utf-8")
    result = run_cli(
        "readiness", "-w", str(demo_ws.root), *TODAY, "--roster", str(roster), "-f", "json"
    )
    doc = json.loads(result.stdout)
    assert doc["team"]["blockers"] == []
    assert doc["blockers"] == 21  # the machines' and units' blockers remain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--holiday", "christmas"), "no holiday matches 'christmas'"),
        (("--unit", "hq"), "unknown unit 'hq'"),
        (("--holiday", "tet", "--date", "2027-01-01"), "give --holiday or --date, not both"),
        (("--date", "1/1/2027"), "--date '1/1/2027' is not a date (YYYY-MM-DD)"),
        (("--roster", "/nonexistent/truc.yaml"), "/nonexistent/truc.yaml: no such file"),
        (("--format", "docx"), "Invalid value for '--format'"),
        (("--date", "2026-04-01"), "(hung-kings-2026) ended on 2026-04-27"),
    ],
)
def test_usage_errors_exit_2(demo_ws, run_cli, args, message) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, *args)
    assert result.returncode == 2, result.output
    assert message in result.stderr


def test_bad_roster_file_names_file_and_line(demo_ws, run_cli, tmp_path) -> None:
    roster = tmp_path / "truc.yaml"
    roster.write_text(
        'duty:\n  2026-11-24:\n    - {member: m42, from: "00:00", to: "24:00"}\n', encoding="utf-8"
    )
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--roster", str(roster))
    assert result.returncode == 2
    assert f"{roster}:3: member: 'm42' is not a member of inventory/incident-team.yaml" in (
        result.stderr
    )
    assert "Kết luận" not in result.stdout  # nothing half-evaluated is printed


def test_bad_today_exits_2(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), env={"ITAUDIT_TODAY": "tomorrow"})
    assert result.returncode == 2
    assert "--today 'tomorrow' is not a date" in result.stderr


def test_unreachable_store_exits_3(demo_ws, run_cli) -> None:
    result = run_cli(
        "readiness",
        "-w",
        str(demo_ws.root),
        *TODAY,
        "--store",
        "postgresql://itaudit@127.0.0.1:9/none",
    )
    assert result.returncode == 3, result.output
    assert "store" in result.stderr


def test_empty_store_is_no_go_with_the_reason(workspace, run_cli) -> None:
    result = run_cli("readiness", "-w", str(workspace.root), *TODAY, "--lang", "en", "-f", "json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    states = {i["item"]: i["state"] for i in doc["checklist"]}
    assert states["check"] == "blocked"
    assert states["reports"] == states["antimalware"] == "not-evaluated"
    team = [b["problem"]["en"] for b in doc["team"]["blockers"]]
    assert team[0] == "The store holds no check results"
    lan = [b for u in doc["units"] for b in u["blockers"] if b["item"] == "lan"]
    assert len(lan) == 12 and lan[0]["problem"]["en"] == "The unit's LAN was never scanned"


def test_markdown_and_html_files(demo_ws, run_cli, tmp_path) -> None:
    out = tmp_path / "out"
    for fmt in ("md", "html"):
        result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "-f", fmt, "--out", str(out))
        assert result.returncode == 1
        assert f"Đã ghi: {out / f'readiness-culture-day-2026.{fmt}'}" in result.stdout
    md = (out / "readiness-culture-day-2026.md").read_text(encoding="utf-8")
    assert "**Kết luận: CHƯA SẴN SÀNG (NO-GO)**" in md
    assert "| HO-SRV02 (HO-SRV-002) | Bản sao lưu được kiểm tra gần nhất ngày 03/11/2026" in md
    html = (out / "readiness-culture-day-2026.html").read_text(encoding="utf-8")
    assert 'id="kpi-verdict"><span class="v">CHƯA SẴN SÀNG</span>' in html
    assert "Lê Văn Bình (Nhân viên bảo vệ, Văn phòng Sở)" in html


def test_markdown_on_the_terminal(demo_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "-f", "md", "-l", "en")
    assert result.stdout.startswith(
        "# Incident-response readiness for the holiday: Vietnam Culture Day (24 November)"
    )


def test_notice_files_in_reports(demo_ws, run_cli) -> None:
    for ext in ("docx", "md"):  # the demo stage wrote them: start without
        (demo_ws.reports / f"readiness-culture-day-2026-notice.{ext}").unlink(missing_ok=True)
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--notice")
    assert result.returncode == 1
    for ext in ("docx", "md"):
        path = demo_ws.reports / f"readiness-culture-day-2026-notice.{ext}"
        assert f"Đã ghi: {path}" in result.stdout
        assert path.stat().st_size > 1000


def test_a_notice_the_team_edited_is_not_overwritten(demo_ws, run_cli, tmp_path) -> None:
    out = tmp_path / "notices"
    out.mkdir()
    edited = out / "readiness-culture-day-2026-notice.md"
    edited.write_text("Bản đã sửa của Tổ ứng cứu sự cố", encoding="utf-8")
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--notice", "--out", str(out))
    assert result.returncode == 2
    assert f"{edited} exists and may hold the team's edits: pass --force" in result.stderr
    assert edited.read_text(encoding="utf-8") == "Bản đã sửa của Tổ ứng cứu sự cố"
    assert not (out / "readiness-culture-day-2026-notice.docx").exists()  # nothing half-written
    forced = run_cli(
        "readiness", "-w", str(demo_ws.root), *TODAY, "--notice", "--out", str(out), "--force"
    )
    assert forced.returncode == 1, forced.output
    assert "V/v tăng cường bảo đảm an toàn thông tin mạng" in edited.read_text(encoding="utf-8")


def test_out_without_a_file_to_write_is_a_usage_error(demo_ws, run_cli, tmp_path) -> None:
    result = run_cli("readiness", "-w", str(demo_ws.root), *TODAY, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "add -f md|html or --notice" in result.stderr
    assert not (tmp_path / "o").exists()


def test_profile_readiness_error_exits_2_with_file_and_line(workspace, run_cli) -> None:
    base = workspace.profiles / "level1.yaml"
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("  report_age_days: 7 ", "  report_age_days: seven "), "utf-8")
    line = next(
        i
        for i, row in enumerate(base.read_text(encoding="utf-8").splitlines(), 1)
        if "seven" in row
    )
    result = run_cli("readiness", "-w", str(workspace.root), *TODAY)
    assert result.returncode == 2
    assert f"level1.yaml:{line}: report_age_days: 'seven' is not an integer" in result.stderr
