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
    assert data["banner"]["compliant"] == {"numerator": 76, "denominator": 84, "percent": 90.5}
    html = next(out.rglob("ho.en.html")).read_text(encoding="utf-8")
    assert "Action list" in html and "2026" in html


def test_department_markdown_on_stdout(run_cli, demo):
    result = run_cli("report", "-f", "md", "--stdout", "-w", str(demo.workspace.root))
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("# Tổng hợp tuân thủ an toàn thông tin toàn Sở")
    ho_row = next(line for line in result.stdout.splitlines() if "| ho |" in line)
    assert "| 108,1 |" in ho_row and "| 90,5 |" in ho_row


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
    by_key = {row[5]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_key["dossiers"][3] == "Đạt" and by_key["dossiers"][8] == 100.0
    assert by_key["websites"][3] == "Chưa đạt" and by_key["websites"][6:8] == (5, 6)
    assert by_key["drill"][3] == "Không áp dụng"


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
