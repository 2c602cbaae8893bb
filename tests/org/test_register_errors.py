"""Errors planted in a copy of the sample register, one per test.

Each test names the exact file and line the officer is sent to.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from itaudit.errors import InputError, Problem
from itaudit.org import load_organisation, validate_organisation
from itaudit.workspace import Workspace

SAMPLE_ASSETS = 423


def _problems(ws: Workspace, severity: str = "error") -> list[Problem]:
    _org, problems = validate_organisation(ws.inventory)
    return [p for p in problems if p.severity == severity]


def _where(p: Problem) -> tuple[str, int | None, str | None]:
    return Path(p.source).name, p.line, p.field


def _line_of(path: Path, text: str) -> int:
    """The 1-based line holding `text`, which must occur on exactly one line."""
    lines = [
        i for i, line in enumerate(path.read_text("utf-8-sig").splitlines(), 1) if text in line
    ]
    assert len(lines) == 1, (text, lines)
    return lines[0]


def _replace(path: Path, old: str, new: str) -> int:
    """Replace `old` (on one line) by `new`; return that line."""
    line = _line_of(path, old)
    path.write_text(path.read_text("utf-8").replace(old, new), "utf-8")
    return line


def _read_csv(ws: Workspace) -> list[list[str]]:
    text = (ws.inventory / "assets.csv").read_text("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def _write_csv(
    ws: Workspace, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8-sig"
) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    (ws.inventory / "assets.csv").write_bytes(out.getvalue().encode(encoding))


def _set_cell(ws: Workspace, tag: str, column: str, value: str) -> int:
    """Set one cell of the row of `tag`; return that row's line (the header is line 1)."""
    rows = _read_csv(ws)
    index = next(i for i, row in enumerate(rows) if row[0] == tag)
    rows[index][rows[0].index(column)] = value
    _write_csv(ws, rows)
    return index + 1


def _append_row(ws: Workspace, **cells: str) -> int:
    rows = _read_csv(ws)
    rows.append([cells.get(column, "") for column in rows[0]])
    _write_csv(ws, rows)
    return len(rows)


# --------------------------------------------------------------------- assets.csv


def test_duplicate_asset_tag_names_both_lines(workspace: Workspace) -> None:
    first = _line_of(workspace.inventory / "assets.csv", "HO-PC-001,")
    line = _append_row(workspace, asset_tag="HO-PC-001", type="printer", unit="ho")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "asset_tag")
    assert f"already used on line {first}" in p.message


def test_unknown_unit(workspace: Workspace) -> None:
    line = _set_cell(workspace, "DVVL-PC-005", "unit", "dvl")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "unit")
    assert "'dvl' is not a unit" in p.message


def test_bad_type(workspace: Workspace) -> None:
    line = _set_cell(workspace, "CTXH-PC-003", "type", "desktop")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "type")
    assert "'desktop' is not one of" in p.message


def test_bad_mac(workspace: Workspace) -> None:
    line = _set_cell(workspace, "BTXH1-PC-004", "mac", "00:14:22:zz:10:01")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "mac")
    assert "not a usable MAC" in p.message


def test_multicast_mac_is_rejected(workspace: Workspace) -> None:
    line = _set_cell(workspace, "BTXH1-PC-004", "mac", "01:00:5e:00:00:fb")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "mac")


def test_secret_machine_expected_on_the_lan(workspace: Workspace) -> None:
    line = _set_cell(workspace, "HO-PC-070", "lan", "expected")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "lan")
    assert "state-secret" in p.message


def test_secret_machine_without_lan_defaults_to_forbidden(workspace: Workspace) -> None:
    _set_cell(workspace, "HO-PC-070", "lan", "")
    org = load_organisation(workspace.inventory)
    assert org.asset("HO-PC-070").lan == "forbidden"


def test_website_without_trust_label(workspace: Workspace) -> None:
    line = _set_cell(workspace, "HO-WEB-001", "trust_label", "")
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "trust_label")
    assert "trust-label" in p.message


def test_csv_without_bom_still_loads(workspace: Workspace) -> None:
    _write_csv(workspace, _read_csv(workspace), encoding="utf-8")
    assert not (workspace.inventory / "assets.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    org = load_organisation(workspace.inventory)
    assert len(org.assets) == SAMPLE_ASSETS
    assert org.assets[0].tag == "HO-PC-001"


def test_csv_with_semicolons_loads(workspace: Workspace) -> None:
    _write_csv(workspace, _read_csv(workspace), delimiter=";")
    assert (workspace.inventory / "assets.csv").read_text("utf-8-sig").startswith("asset_tag;type;")
    org = load_organisation(workspace.inventory)
    assert len(org.assets) == SAMPLE_ASSETS
    # a cell with a comma survives the change of separator
    assert org.asset("HO-PC-070").location == "Nhà 5 tầng - Phòng lưu trữ mật (cửa khóa, tầng 1)"


def test_non_utf8_csv_names_the_line_of_the_bad_byte(workspace: Workspace) -> None:
    path = workspace.inventory / "assets.csv"
    line = _line_of(path, "HO-PC-005,")
    lines = path.read_bytes().split(b"\r\n")
    lines[line - 1] = "HO-PC-005,workstation,ho,HO-PC005,,,,,Hoàng Hà".encode("cp1252")
    path.write_bytes(b"\r\n".join(lines))
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, None)
    assert "not UTF-8" in p.message
    assert "CSV UTF-8" in p.message


def test_placeholder_serial_is_a_warning_not_an_error(workspace: Workspace) -> None:
    line = _set_cell(workspace, "DVVL-PC-003", "serial", "System Serial Number")
    assert _problems(workspace) == []
    warnings = [p for p in _problems(workspace, "warning") if p.line == line]
    assert [_where(p) for p in warnings] == [("assets.csv", line, "serial")]
    assert load_organisation(workspace.inventory).asset("DVVL-PC-003").identity.serial is None


# --------------------------------------------------------------- organization.yaml


def test_yaml_syntax_error_gives_file_and_line(workspace: Workspace) -> None:
    line = _replace(
        workspace.inventory / "organization.yaml",
        "name_en: Employment Service Centre",
        "name_en: Employment: Service Centre",
    )
    org, problems = validate_organisation(workspace.inventory)
    assert org is None
    [p] = problems
    assert _where(p) == ("organization.yaml", line, None)
    assert "invalid YAML" in p.message
    with pytest.raises(InputError):
        load_organisation(workspace.inventory)


def test_duplicate_unit_id(workspace: Workspace) -> None:
    path = workspace.inventory / "organization.yaml"
    first = _line_of(path, "- id: btxh1")
    line = _replace(path, "- id: btxh2", "- id: btxh1")
    errors = [p for p in _problems(workspace) if p.source.endswith("organization.yaml")]
    assert [_where(p) for p in errors] == [("organization.yaml", line, "id")]
    assert f"already used at line {first}" in errors[0].message


def test_overlapping_subnets(workspace: Workspace) -> None:
    path = workspace.inventory / "organization.yaml"
    unit_line = _line_of(path, "- id: btxh2")
    _replace(path, "subnets: [10.38.21.0/24]", "subnets: [10.38.20.0/23]")
    [p] = _problems(workspace)
    assert _where(p) == ("organization.yaml", unit_line, "subnets")
    assert "10.38.20.0/23 of 'btxh2' overlaps 10.38.20.0/24 of 'btxh1'" in p.message


def test_gateway_outside_subnets(workspace: Workspace) -> None:
    line = _replace(
        workspace.inventory / "organization.yaml", "gateway: 10.38.23.1", "gateway: 10.38.33.1"
    )
    [p] = _problems(workspace)
    assert _where(p) == ("organization.yaml", line, "gateway")
    assert "outside the unit's subnets" in p.message


# -------------------------------------------------------------- incident-team.yaml


def test_team_with_two_leads(workspace: Workspace) -> None:
    path = workspace.inventory / "incident-team.yaml"
    text = path.read_text("utf-8")
    m03 = text.index("- id: m03")
    path.write_text(text[:m03] + text[m03:].replace("role: member", "role: lead", 1), "utf-8")
    [p] = _problems(workspace)
    assert _where(p) == ("incident-team.yaml", _line_of(path, "members:"), "members")
    assert "exactly one lead (found 2)" in p.message


def test_deputy_pointing_to_an_unknown_member(workspace: Workspace) -> None:
    path = workspace.inventory / "incident-team.yaml"
    member_line = _line_of(path, "- id: m05")
    text = path.read_text("utf-8")
    m05 = text.index("- id: m05")
    path.write_text(text[:m05] + text[m05:].replace("deputy: m06", "deputy: m99", 1), "utf-8")
    [p] = _problems(workspace)
    assert _where(p) == ("incident-team.yaml", member_line, "deputy")
    assert "'m99' is not another member" in p.message


def test_csv_saved_as_excel_unicode_text_loads(workspace: Workspace) -> None:
    """Excel's "Unicode Text" is UTF-16 with tabs and a byte-order mark."""
    _write_csv(workspace, _read_csv(workspace), delimiter="\t", encoding="utf-16")
    assert (workspace.inventory / "assets.csv").read_bytes().startswith(b"\xff\xfe")
    org = load_organisation(workspace.inventory)
    assert len(org.assets) == SAMPLE_ASSETS
    assert org.asset("HO-PC-001").assigned_to == "Lê Đình Thắng (Ban Giám đốc)"


def test_problem_in_a_row_with_a_multi_line_cell_names_the_row_start(workspace: Workspace) -> None:
    rows = _read_csv(workspace)
    header = rows[0]
    index = next(i for i, row in enumerate(rows) if row[0] == "HO-PC-010")
    rows[index][header.index("notes")] = "máy cũ\r\nthay năm 2027"  # Alt+Enter in Excel
    rows[index][header.index("type")] = "desktop"
    _write_csv(workspace, rows)
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", index + 1, "type")
    # The rows after it are named by their own first line, two lines further down.
    line = _set_cell(workspace, "HO-PC-020", "type", "pc")
    problems = _problems(workspace)
    assert [_where(p) for p in problems] == [
        ("assets.csv", index + 1, "type"),
        ("assets.csv", line + 1, "type"),
    ]


def test_duplicate_hardware_uuid_names_both_lines(workspace: Workspace) -> None:
    uuid = "4c4c4544-0042-3510-8052-b4c04f4e4b32"
    first = _set_cell(workspace, "DVVL-PC-001", "hardware_uuid", uuid)
    line = _set_cell(workspace, "DVVL-PC-002", "hardware_uuid", uuid.upper())
    [p] = _problems(workspace)
    assert _where(p) == ("assets.csv", line, "hardware_uuid")
    assert f"already used on line {first}" in p.message


def test_impossible_date_is_one_problem_among_the_others(workspace: Workspace) -> None:
    path = workspace.inventory / "organization.yaml"
    date_line = _replace(path, "last_assessment: 2026-03-17", "last_assessment: 2026-02-30")
    staff_line = _replace(path, "staff: 56", "staff: many")
    problems = _problems(workspace)
    assert [_where(p) for p in problems] == [
        ("organization.yaml", date_line, "last_assessment"),
        ("organization.yaml", staff_line, "staff"),
    ]
    assert "'2026-02-30' is not a date" in problems[0].message


def test_misspelt_fields_are_errors_everywhere(workspace: Workspace) -> None:
    org_path = workspace.inventory / "organization.yaml"
    org_line = _replace(org_path, "  framework: circular-12-2022", "  framwork: circular-12-2022")
    team_path = workspace.inventory / "incident-team.yaml"
    text = team_path.read_text("utf-8")
    m05 = text.index("- id: m05")
    team_path.write_text(text[:m05] + text[m05:].replace("deputy: m06", "deputee: m06", 1), "utf-8")
    member_line = _line_of(team_path, "deputee: m06")
    problems = _problems(workspace)
    assert [_where(p) for p in problems] == [
        ("organization.yaml", org_line, "framwork"),
        ("incident-team.yaml", member_line, "deputee"),
    ]
    assert all(p.message.startswith("unknown field") for p in problems)


def test_a_broken_unit_is_reported_once_not_on_every_row(workspace: Workspace) -> None:
    path = workspace.inventory / "organization.yaml"
    line = _replace(path, "staff: 48", "staff: -3")  # dvvl
    problems = _problems(workspace)
    assert [_where(p) for p in problems] == [("organization.yaml", line, "staff")]
