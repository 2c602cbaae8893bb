"""`itaudit attest` and `itaudit attest list` through the real CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from itaudit.workspace import Workspace


def test_record_with_a_file_stores_its_hash(run_cli, workspace: Workspace, tmp_path) -> None:
    doc = tmp_path / "QD-1052.pdf"
    doc.write_bytes(b"%PDF-1.7 quy che an toan thong tin")
    result = run_cli(
        "attest",
        "L1-MGT-01",
        "--unit",
        "ho",
        "--ref",
        "1052/QĐ-SLĐTBXH",
        "--date",
        "2026-03-02",
        "--file",
        str(doc),
        "--by",
        "Phạm Minh Tuấn",
        "-w",
        str(workspace.root),
    )
    assert result.returncode == 0, result.output
    digest = hashlib.sha256(doc.read_bytes()).hexdigest()
    assert "L1-MGT-01 for ho: recorded" in result.stdout
    assert "valid until 2027-03-02" in result.stdout  # date + valid_days 365
    assert digest in result.stdout
    listed = json.loads(run_cli("attest", "list", "-f", "json", "-w", str(workspace.root)).stdout)
    (row,) = listed
    assert (row["rule_id"], row["target"], row["file_sha256"], row["recorded_by"]) == (
        "L1-MGT-01",
        "ho",
        digest,
        "Phạm Minh Tuấn",
    )
    assert row["file_name"] == "QD-1052.pdf" and row["reference"] == "1052/QĐ-SLĐTBXH"


def test_expired_attestation_is_listed_and_fails_the_check(run_cli, workspace: Workspace) -> None:
    args = (
        "--unit",
        "dvvl",
        "--ref",
        "BB thử khôi phục",
        "--date",
        "2025-09-01",
        "--expires",
        "2025-12-31",
    )
    assert run_cli("attest", "L1-MGT-06", *args, "-w", str(workspace.root)).returncode == 0
    listed = json.loads(
        run_cli("attest", "list", "--unit", "dvvl", "-f", "json", "-w", str(workspace.root)).stdout
    )
    assert [r["state"] for r in listed] == ["expired"]
    check = json.loads(
        run_cli(
            "check",
            "--unit",
            "dvvl",
            "-f",
            "json",
            "--now",
            "2026-11-20",
            "-w",
            str(workspace.root),
        ).stdout
    )
    assert check["expired_attestations"] == 1


def test_recording_twice_is_not_duplicated(run_cli, workspace: Workspace) -> None:
    args = (
        "attest",
        "L1-MGT-02",
        "--unit",
        "ctxh",
        "--ref",
        "QĐ 7",
        "--date",
        "2026-01-05",
        "-w",
        str(workspace.root),
    )
    assert "recorded (#1)" in run_cli(*args).stdout
    assert "already recorded (#1)" in run_cli(*args).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("L1-MGT-09", "--unit", "ho"),
            "no rule 'L1-MGT-09'; attestation rules: L1-AV-04, L1-MGT-01",
        ),
        (("L1-AV-01", "--unit", "ho"), "L1-AV-01 is checked from the machines' reports"),
        (("L1-MGT-01", "--unit", "hq"), "unknown unit 'hq'"),
        (("L1-MGT-01", "--host", "HO-PC001"), "L1-MGT-01 is recorded per unit: use --unit"),
        (("L1-MGT-01",), "give exactly one of --unit or --host"),
        (
            ("L1-MGT-01", "--unit", "ho", "--expires", "2026-01-01"),
            "--expires 2026-01-01 is before --date 2026-03-02",
        ),
        (("L1-MGT-01", "--unit", "ho", "--file", "/nonexistent/qd.pdf"), "cannot read"),
        (
            ("L1-MGT-08", "--host", "HO-PC-001"),
            "L1-MGT-08 applies to server; HO-PC-001 is a workstation",
        ),
    ],
    ids=[
        "unknown-rule",
        "automated-rule",
        "unknown-unit",
        "host-for-unit-rule",
        "no-target",
        "expiry-before-date",
        "missing-file",
        "server-rule-on-a-workstation",
    ],
)
def test_attest_usage_errors_exit_2(run_cli, workspace: Workspace, args, message) -> None:
    result = run_cli(
        "attest", *args, "--ref", "X", "--date", "2026-03-02", "-w", str(workspace.root)
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_bad_date_exits_2(run_cli, workspace: Workspace) -> None:
    result = run_cli(
        "attest",
        "L1-MGT-01",
        "--unit",
        "ho",
        "--ref",
        "X",
        "--date",
        "02/03/2026",
        "-w",
        str(workspace.root),
    )
    assert result.returncode == 2
    assert "--date '02/03/2026' is not a date (YYYY-MM-DD)" in result.stderr


def test_missing_reference_is_a_usage_error(run_cli, workspace: Workspace) -> None:
    result = run_cli(
        "attest", "L1-MGT-01", "--unit", "ho", "--date", "2026-03-02", "-w", str(workspace.root)
    )
    assert result.returncode == 2
    assert "Missing option '--ref'" in result.stderr


def test_evidence_dated_in_the_future_is_refused(run_cli, workspace: Workspace) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    result = run_cli(
        "attest",
        "L1-MGT-01",
        "--unit",
        "ho",
        "--ref",
        "X",
        "--date",
        ahead,
        "-w",
        str(workspace.root),
    )
    assert result.returncode == 2
    assert f"--date {ahead} is after today" in result.stderr
    listed = run_cli("attest", "list", "-f", "json", "-w", str(workspace.root))
    assert json.loads(listed.stdout) == []


def test_mistyped_subcommand_is_not_taken_for_a_rule(run_cli, workspace: Workspace) -> None:
    result = run_cli("attest", "lst", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "No such command 'lst'" in result.stderr
    assert "--ref" not in result.stderr


def test_rule_id_in_lower_case_is_accepted(run_cli, workspace: Workspace) -> None:
    result = run_cli(
        "attest",
        "l1-mgt-02",
        "--unit",
        "ho",
        "--ref",
        "QĐ 9",
        "--date",
        "2026-01-05",
        "-w",
        str(workspace.root),
    )
    assert result.returncode == 0, result.output
    assert "L1-MGT-02 for ho: recorded" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--unit", "hq"), "unknown unit 'hq'"),
        (("--rule", "L1-MGT-9"), "no attestation rule 'L1-MGT-9'"),
        (("--rule", "L1-AV-01"), "no attestation rule 'L1-AV-01'"),
    ],
    ids=["unknown-unit", "unknown-rule", "automated-rule"],
)
def test_list_filters_that_match_nothing_known_exit_2(
    run_cli, workspace: Workspace, args, message
) -> None:
    result = run_cli("attest", "list", *args, "-w", str(workspace.root))
    assert result.returncode == 2
    assert message in result.stderr


def test_unit_list_includes_its_machines_attestations(run_cli, workspace: Workspace) -> None:
    ws = ("-w", str(workspace.root))
    unit_rule = ("L1-MGT-02", "--unit", "ho", "--ref", "QĐ 9", "--date", "2026-01-05")
    server = ("L1-MGT-08", "--host", "HO-SRV-002", "--ref", "NK 1", "--date", "2026-01-06")
    other = ("L1-MGT-08", "--host", "DVVL-SRV-001", "--ref", "NK 2", "--date", "2026-01-06")
    for args in (unit_rule, server, other):
        assert run_cli("attest", *args, *ws).returncode == 0
    listed = json.loads(run_cli("attest", "list", "--unit", "ho", "-f", "json", *ws).stdout)
    assert sorted((r["rule_id"], r["target"]) for r in listed) == [
        ("L1-MGT-02", "ho"),
        ("L1-MGT-08", "HO-SRV-002"),
    ]
