"""`itaudit org validate` and `itaudit org show`, through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from itaudit.workspace import Workspace


def test_validate_sample_exits_0_with_summary(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "validate", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    assert "12 units, 423 assets, 20 team members: 0 error(s), 3 warning(s)" in result.stdout
    assert "assets.csv:225: serial: warning:" in result.stdout


def test_validate_strict_fails_on_warnings(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "validate", "--strict", "-w", str(workspace.root))
    assert result.returncode == 1
    assert "--strict" in result.stderr


def test_validate_planted_error_exits_1_naming_the_line(run_cli, workspace: Workspace) -> None:
    path = workspace.inventory / "assets.csv"
    text = path.read_text("utf-8-sig")
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if row.startswith("CN1-PC-003,"))
    path.write_text(text.replace("CN1-PC-003,workstation,", "CN1-PC-003,desktop,"), "utf-8-sig")
    result = run_cli("org", "validate", "-w", str(workspace.root))
    assert result.returncode == 1
    assert f"assets.csv:{line}: type: 'desktop' is not one of" in result.stdout
    assert "1 error(s), 3 warning(s)" in result.stdout


def test_validate_without_register_exits_2(run_cli, tmp_path) -> None:
    result = run_cli("org", "validate", "-w", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "organization.yaml: not found" in result.stderr


def test_show_lists_12_units_with_head_office_ratio(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "show", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    rows = result.stdout.splitlines()[2:]  # headings and rule first
    assert len(rows) == 12
    ho = rows[0].split()
    assert ho[0] == "ho"
    assert ho[-2:] == ["108.1", "2025-10-21"]


def test_show_json_has_12_rows(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "show", "--format", "json", "--lang", "en", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 12
    assert rows[0] == {
        "unit": "ho",
        "name": "Department head office (incl. the Child Protection Fund)",
        "staff": 74,
        "workstations": 80,
        "laptops": 9,
        "servers_onsite": 0,
        "servers_offsite": 3,
        "other_devices": 41,
        "secret": 2,
        "machines_per_staff": 108.1,
        "last_assessment": "2025-10-21",
    }


def test_show_one_unit_as_csv(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "show", "-u", "dvvl", "-f", "csv", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.startswith("unit,name,staff,workstations,")
    assert row.startswith("dvvl,Trung tâm Dịch vụ việc làm Thanh Hóa,48,35,3,1,0,")


def test_show_unknown_unit_is_a_usage_error(run_cli, workspace: Workspace) -> None:
    result = run_cli("org", "show", "--unit", "nope", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "'nope' is not a unit" in result.stderr
    assert "dieuduong-ncc" in result.stderr


def test_show_refuses_a_register_with_errors(run_cli, workspace: Workspace) -> None:
    path = workspace.inventory / "organization.yaml"
    path.write_text(
        path.read_text("utf-8").replace("gateway: 10.38.23.1", "gateway: 10.38.33.1"), "utf-8"
    )
    result = run_cli("org", "show", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "organization.yaml:" in result.stderr
    assert "gateway: 10.38.33.1 is outside the unit's subnets" in result.stderr


@pytest.mark.parametrize("args", [("org",), ("org", "validate"), ("org", "show")])
def test_help(run_cli, args: tuple[str, ...]) -> None:
    result = run_cli(*args, "--help")
    assert result.returncode == 0, result.output
    assert result.stdout.startswith(f"Usage: itaudit {' '.join(args)} ")
    assert len(result.stdout.splitlines()) > 8


def test_validate_names_an_unreadable_file(run_cli, workspace: Workspace, unreadable) -> None:
    path = workspace.inventory / "assets.csv"
    prefix = unreadable(path)
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "itaudit", "-w", str(workspace.root), "org", "validate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{path}: cannot read: Permission denied" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_excel_csv_with_bom_and_semicolons(run_cli, workspace: Workspace) -> None:
    """What Excel writes on a Vietnamese Windows: BOM, semicolons, CRLF, Có/Không."""
    path = workspace.inventory / "assets.csv"
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    header = rows[0]
    for row in rows[1:]:
        row[header.index("secret")] = "Có" if row[0] in ("HO-PC-070", "HO-PC-071") else "Không"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    result = run_cli("org", "validate", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    assert "12 units, 423 assets, 20 team members: 0 error(s), 3 warning(s)" in result.stdout
    shown = json.loads(run_cli("org", "show", "-f", "json", "-w", str(workspace.root)).stdout)
    assert shown[0]["secret"] == 2
