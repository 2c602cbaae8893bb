"""`itaudit report` and `itaudit ratios` through the real CLI."""

from __future__ import annotations

import json

from docx import Document
from openpyxl import load_workbook


def test_report_without_a_check_run_is_a_usage_error(run_cli, workspace):
    result = run_cli("report", "--unit", "ho", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "no complete check run" in result.stderr and "itaudit check" in result.stderr


def test_unknown_unit_is_a_usage_error(run_cli, demo):
    result = run_cli("report", "--unit", "nope", "-w", str(demo.workspace.root))
    assert result.returncode == 2
    assert "unknown unit 'nope'" in result.stderr


def test_docx_is_for_indicators_only(run_cli, demo):
    result = run_cli("report", "--unit", "ho", "-f", "docx", "-w", str(demo.workspace.root))
    assert result.returncode == 2
    assert "docx is not available for unit" in result.stderr


def test_unit_report_files_are_named_for_what_they_are(run_cli, demo, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "report",
        "-u",
        "ho",
        "-f",
        "html",
        "-f",
        "json",
        "--lang",
        "en",
        "--out",
        str(out),
        "-w",
        str(demo.workspace.root),
    )
    assert result.returncode == 0, result.output
    written = sorted(p.name for p in out.rglob("*.*"))
    assert written == ["ho.en.html", "ho.en.json"]
    data = json.loads(next(out.rglob("ho.en.json")).read_text(encoding="utf-8"))
    assert data["banner"]["compliant"] == {"numerator": 75, "denominator": 84, "percent": 89.3}
    html = next(out.rglob("ho.en.html")).read_text(encoding="utf-8")
    assert "Action list" in html and "2026" in html


def test_department_markdown_on_stdout(run_cli, demo):
    result = run_cli("report", "-f", "md", "--stdout", "-w", str(demo.workspace.root))
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("# Tổng hợp tuân thủ an toàn thông tin toàn Sở")
    ho_row = next(line for line in result.stdout.splitlines() if "| ho |" in line)
    assert "| 108,1 |" in ho_row and "| 89,3 |" in ho_row


def test_indicators_as_docx_and_xlsx(run_cli, demo, tmp_path):
    out = tmp_path / "ind"
    result = run_cli(
        "report",
        "--kind",
        "indicators",
        "--period",
        "Y",
        "-f",
        "docx",
        "-f",
        "xlsx",
        "--out",
        str(out),
        "-w",
        str(demo.workspace.root),
    )
    assert result.returncode == 0, result.output
    docx_path = next(out.rglob("*.vi.docx"))
    table = Document(str(docx_path)).tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "TT",
        "Các chỉ tiêu",
        "Chỉ tiêu",
        "Kết quả thực hiện",
    ]
    assert [c.text for c in table.rows[1].cells][:2] == ["VI", "Bảo đảm an toàn thông tin"]
    first = table.rows[2].cells[3].text
    assert first.startswith("Đạt\n") and "(12/12)" in first
    sheet = load_workbook(next(out.rglob("*.vi.xlsx"))).worksheets[0]
    assert [c.value for c in sheet[2]][:2] == ["VI", "Bảo đảm an toàn thông tin"]
    by_key = {row[5]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert len(by_key) == 8
    assert by_key["dossiers"][3] == "Đạt" and by_key["dossiers"][8] == 100.0
    assert by_key["websites"][3] == "Chưa đạt" and by_key["websites"][6:8] == (5, 6)
    assert by_key["drill"][3] == "Không áp dụng"
    # Pasted into an official report: units by name, never by their ids.
    edr = by_key["edr"][4]
    assert "Trung tâm Điều dưỡng người có công 12/13" in edr and "dieuduong-ncc" not in edr
    # Judged where the plan states it, at the head office (80/74); the department-wide
    # figure (schools and centres count staff who need no computer) is for reference.
    staff = by_key["machines_per_staff"]
    assert staff[3] == "Đạt" and staff[6:9] == (80, 74, 108.1)
    assert staff[4].startswith("Cơ quan Sở 80 máy tính/74 người (108,1 %). Để tham khảo: toàn Sở")


def test_indicators_of_a_period_without_a_check_say_so(run_cli, demo):
    result = run_cli(
        "report",
        "--kind",
        "indicators",
        "--period",
        "Q1",
        "--year",
        "2025",
        "-f",
        "json",
        "--stdout",
        "-w",
        str(demo.workspace.root),
    )
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert data["run_id"] is None and data["end"] == "2025-03-31"
    status = {i["key"]: i["status"] for i in data["indicators"]}
    assert status["antivirus"] == status["edr"] == status["plans"] == "no_data"
    assert status["dossiers"] == "dat"  # the register alone proves it
    evidence = {i["key"]: i["evidence"]["vi"] for i in data["indicators"]}
    assert "Không có lần kiểm tra nào trong kỳ" in evidence["antivirus"]


def test_bad_period_is_a_usage_error(run_cli, demo):
    result = run_cli("report", "--period", "Q1", "-w", str(demo.workspace.root))
    assert result.returncode == 2
    assert "--period and --year are for --kind indicators" in result.stderr


def test_ratios_table_shows_the_published_figure(run_cli, demo):
    result = run_cli("ratios", "-u", "ho", "-w", str(demo.workspace.root))
    assert result.returncode == 0, result.output
    assert "108,1 %" in result.stdout
    assert "Sổ tài sản ghi 4 máy chiếu; quét mạng thấy 5" in result.stdout


def test_ratios_json_matches_the_report(run_cli, demo):
    ratios = json.loads(run_cli("ratios", "-f", "json", "-w", str(demo.workspace.root)).stdout)
    report = json.loads(
        run_cli("report", "-f", "json", "--stdout", "-w", str(demo.workspace.root)).stdout
    )
    for unit, row in zip(ratios["units"], report["units"], strict=True):
        assert unit["unit"] == row["unit"]
        for key in ("antivirus", "edr", "patched", "machines_per_staff"):
            assert unit[key] == row[key], (unit["unit"], key)


def test_unwritable_out_names_the_file_and_exits_3(run_cli, demo, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    result = run_cli(
        "report", "-u", "ho", "--out", str(blocker / "sub"), "-w", str(demo.workspace.root)
    )
    assert result.returncode == 3, result.output
    assert f"cannot write {blocker / 'sub'}" in result.stderr and "ho.vi.html" in result.stderr
    assert "Traceback" not in result.stderr


def test_ratios_fit_a_terminal_and_name_who_makes_the_difference(run_cli, demo):
    result = run_cli("ratios", "-w", str(demo.workspace.root))
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[: next(i for i, line in enumerate(lines) if line.startswith("Toàn Sở")) + 1]
    assert max(len(line) for line in table) <= 180
    ho = next(line for line in table if line.startswith("ho "))
    assert "80/74 (108,1 %)" in ho and "80 (9)" in ho and "3 (0/3)" in ho
    assert "gửi báo cáo nhưng không có trong sổ: DESKTOP-7F3K2QJ" in result.stdout


def test_indicators_markdown_on_stdout_is_the_whole_document(run_cli, demo):
    result = run_cli(
        "report", "--kind", "indicators", "-f", "md", "--stdout", "-w", str(demo.workspace.root)
    )
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("# Kết quả thực hiện các chỉ tiêu về bảo đảm an toàn thông tin")
    assert "Kỳ báo cáo:" in result.stdout and "| TT | Các chỉ tiêu |" in result.stdout


def test_ratios_without_a_check_run_show_the_register(run_cli, workspace):
    """Before any check the register still gives machines per staff; coverage is
    unknown ("—"), never 0 %."""
    result = run_cli("ratios", "-u", "ho", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    ho = next(line for line in result.stdout.splitlines() if line.startswith("ho "))
    assert "80/74 (108,1 %)" in ho and "0/83" not in ho and "0,0 %" not in ho
    assert "no complete check run" in result.stderr
    assert "chưa có lần kiểm tra nào" in result.stdout
