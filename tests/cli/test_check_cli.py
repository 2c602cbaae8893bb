"""`itaudit check` through the real CLI, on a demo workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-11-20T08:00:00Z"


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check") / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "itaudit", "demo", "-w", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return root


def total_row(stdout: str) -> list[str]:
    return next(line.split() for line in stdout.splitlines() if line.startswith("TOTAL"))


def test_check_prints_a_row_per_unit_and_exits_1_on_high_failures(run_cli, demo_ws) -> None:
    result = run_cli("check", "-w", str(demo_ws))
    assert result.returncode == 1, result.output
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:14]]
    assert rows[0] == "ho" and len(rows) == 12 and "nghiatrang" in rows
    assert "failed rule result(s) at or above 'high'" in result.stderr
    assert "Expired: 1 waiver(s), 2 attestation(s)" in result.stdout
    # Each expired waiver and attestation is named, with where to renew it.
    assert (
        "  waiver L1-AUTORUN-01 for BTXH2-PC-005 expired on 2026-06-30 (88/QĐ-TTBTXH2"
        in result.stdout
    )
    assert "btxh2.yaml:" in result.stdout
    named = [
        ln.split()[1:4] for ln in result.stdout.splitlines() if ln.startswith("  attestation ")
    ]
    assert named == [["L1-MGT-01", "for", "nghiatrang"], ["L1-MGT-06", "for", "dvvl"]]
    assert "Check run" in result.stdout


def test_json_has_the_same_numbers_as_the_table(run_cli, demo_ws) -> None:
    table = run_cli("check", "-w", str(demo_ws))
    data = json.loads(run_cli("check", "-f", "json", "-w", str(demo_ws)).stdout)
    t = data["totals"]
    machines, compliant, _share, score, passed, failed, errors, na, waived, unit_rules = total_row(
        table.stdout
    )[1:]
    assert int(machines) == t["machines"] == 315
    assert int(compliant) == t["compliant"]
    assert float(score) == round(t["mean_score"] * 100, 1)
    assert (int(passed), int(failed), int(errors), int(na), int(waived)) == (
        t["passed"],
        t["failed"],
        t["errors"],
        t["not_applicable"],
        t["waived"],
    )
    ur = t["unit_rules"]
    assert unit_rules == f"{ur['passed']}/{ur['passed'] + ur['failed'] + ur['errors']}"
    assert data["units"][0]["unit"] == "ho"
    assert data["failed_at_or_above"] > 0 and data["fail_on"] == "high"
    assert [(w["rule"], w["target"], w["expires"]) for w in data["expired"]["waivers"]] == [
        ("L1-AUTORUN-01", "BTXH2-PC-005", "2026-06-30")
    ]
    assert len(data["expired"]["attestations"]) == data["expired_attestations"] == 2


def test_clean_machine_exits_0(run_cli, demo_ws) -> None:
    result = run_cli("check", "--host", "HO-PC001", "-w", str(demo_ws))
    assert result.returncode == 0, result.output
    assert total_row(result.stdout)[1] == "1"


def test_fail_on_threshold(run_cli, demo_ws) -> None:
    # HO-PC020's only failure is the screen lock (medium).
    assert run_cli("check", "--host", "HO-PC020", "-w", str(demo_ws)).returncode == 0
    result = run_cli("check", "--host", "HO-PC020", "--fail-on", "medium", "-w", str(demo_ws))
    assert result.returncode == 1
    assert "1 failed rule result(s) at or above 'medium'" in result.stderr


def test_show_failures_lists_evidence(run_cli, demo_ws) -> None:
    result = run_cli("check", "--unit", "ho", "--show-failures", "--now", NOW, "-w", str(demo_ws))
    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if "HO-PC020" in ln)
    assert "L1-LOCK-01" in line and "3600" in line


def test_show_failures_keeps_the_deciding_value(run_cli, demo_ws) -> None:
    # L1-AV-03's condition is long: the stale product's name must not be cut off,
    # and the test that held (an active product exists) is not what failed.
    result = run_cli(
        "check", "--unit", "btxh1", "--show-failures", "--now", NOW, "-w", str(demo_ws)
    )
    line = next(ln for ln in result.stdout.splitlines() if "L1-AV-03" in ln)
    assert "BTXH1-PC004" in line
    assert "= 1 (Bkav Endpoint); required = 0: not met" in line
    assert ": met" not in line.replace("not met", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--unit", "hq"), "unknown unit 'hq'"),
        (("--framework", "iso-27001"), "unknown framework 'iso-27001'"),
        (("--now", "yesterday"), "--now 'yesterday' is not a date"),
        (("--host", "NOPE-PC"), "no machine 'NOPE-PC'"),
        (("--fail-on", "severe"), "Invalid value for '--fail-on'"),
        (("--host", "HO-PC020", "--unit", "dvvl"), "'HO-PC020' belongs to unit ho, not dvvl"),
    ],
    ids=["unit", "framework", "now", "host", "fail-on", "host-outside-unit"],
)
def test_usage_errors_exit_2(run_cli, demo_ws, args, message) -> None:
    result = run_cli("check", *args, "-w", str(demo_ws))
    assert result.returncode == 2
    assert message in result.stderr


def test_framework_limits_the_rules(run_cli, demo_ws) -> None:
    result = run_cli("check", "--framework", "law-29-2018", "-f", "json", "-w", str(demo_ws))
    data = json.loads(result.stdout)
    assert data["framework"] == "law-29-2018"
    assert (
        data["totals"]["failed"] == 5
    )  # the networked state-secret machine, seen by the LAN scan too
    assert result.returncode == 1


def test_json_lists_every_result_with_evidence_for_what_did_not_pass(run_cli, demo_ws) -> None:
    data = json.loads(run_cli("check", "-f", "json", "-w", str(demo_ws)).stdout)
    results = data["results"]
    t = data["totals"]
    host = [r for r in results if r["kind"] != "unit"]
    by_status = {
        s: sum(1 for r in host if r["status"] == s) for s in ("pass", "fail", "error", "waived")
    }
    assert (by_status["pass"], by_status["fail"], by_status["error"], by_status["waived"]) == (
        t["passed"],
        t["failed"],
        t["errors"],
        t["waived"],
    )
    fails = [r for r in host if r["status"] == "fail"]
    assert fails and all(r["evidence"] and r["severity"] for r in fails)
    assert all(r["evidence"] is None for r in host if r["status"] == "pass")
    waived = [r for r in host if r["status"] == "waived"]
    assert all(r["waiver"]["reason"] and r["waiver"]["expired"] is False for r in waived)
    expired = [r for r in host if r["rule"] == "L1-AUTORUN-01" and r["asset_tag"] == "BTXH2-PC-005"]
    assert expired and expired[0]["status"] == "fail" and expired[0]["waiver"]["expired"] is True
