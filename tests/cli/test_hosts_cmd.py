"""`itaudit hosts`, `hosts show`, `hosts history` on ingested demo reports."""

from __future__ import annotations

import csv
import io
import json

import pytest


@pytest.fixture
def loaded(tmp_path, workspace, run_cli, demo_reports):
    folder = tmp_path / "in"
    folder.mkdir()
    wanted = {
        "HO-PC-001.json",
        "HO-PC-071.json",
        "DVVL-SRV-001.json",
        "DESKTOP-7F3K2QJ.json",
        "BTXH1-PC-007.json",
    }
    for name, doc in demo_reports:
        if name in wanted:
            (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    assert run_cli("-w", str(workspace.root), "ingest", str(folder)).returncode == 0
    return workspace


def test_hosts_table(loaded, run_cli):
    result = run_cli("-w", str(loaded.root), "hosts")
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "HO-PC001" in line)
    assert "workstation" in row and "Windows 11" in row and "HO-PC-001" in row and "serial" in row
    stray = next(line for line in lines if "DESKTOP-7F3K2QJ" in line)
    assert "HO-" not in stray.split("DESKTOP-7F3K2QJ")[1]  # no asset matched
    assert "5 host(s)" in result.stdout
    assert "have never reported: itaudit hosts --missing" in result.stdout


def test_hosts_json_and_csv_agree(loaded, run_cli):
    as_json = json.loads(run_cli("-w", str(loaded.root), "hosts", "--format", "json").stdout)
    as_csv = list(
        csv.DictReader(io.StringIO(run_cli("-w", str(loaded.root), "hosts", "-f", "csv").stdout))
    )
    assert [r["hostname"] for r in as_json] == [r["hostname"] for r in as_csv]
    signed = {r["hostname"]: r["signed"] for r in as_json}
    assert signed["BTXH1-PC007"] is False and signed["HO-PC001"] is True


def test_hosts_unit_filter_and_unknown_unit(loaded, run_cli):
    dvvl = json.loads(
        run_cli("-w", str(loaded.root), "hosts", "--unit", "dvvl", "-f", "json").stdout
    )
    assert [r["hostname"] for r in dvvl] == ["DVVL-SRV01"]
    bad = run_cli("-w", str(loaded.root), "hosts", "--unit", "nowhere")
    assert bad.returncode == 2 and "unknown unit 'nowhere'" in bad.stderr


def test_hosts_missing_lists_register_computers_without_reports(loaded, run_cli):
    rows = json.loads(run_cli("-w", str(loaded.root), "hosts", "--missing", "-f", "json").stdout)
    tags = {r["asset"] for r in rows}
    assert "HO-PC-002" in tags and "HO-PC-001" not in tags
    assert all(r["type"] in ("workstation", "laptop", "server") for r in rows)


def test_hosts_show_readable(loaded, run_cli):
    result = run_cli("-w", str(loaded.root), "hosts", "show", "HO-PC-071")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "asset tag" in out and "HO-PC-071 (matched by serial)" in out
    assert "Ethernet" in out and "ethernet, up, 10.38." in out  # the planted secret-machine defect
    assert "antivirus Bkav Endpoint" in out


def test_hosts_show_json_is_the_report(loaded, run_cli, demo_reports):
    doc = json.loads(
        run_cli("-w", str(loaded.root), "hosts", "show", "DVVL-SRV01", "-f", "json").stdout
    )
    assert doc == dict(demo_reports)["DVVL-SRV-001.json"]


def test_hosts_show_unknown_host(loaded, run_cli):
    result = run_cli("-w", str(loaded.root), "hosts", "show", "GHOST")
    assert result.returncode == 2 and "no host 'GHOST'" in result.stderr


def test_hosts_history(loaded, run_cli):
    rows = json.loads(
        run_cli("-w", str(loaded.root), "hosts", "history", "HO-PC001", "-f", "json").stdout
    )
    assert (
        len(rows) == 1 and rows[0]["is_current"] is True and rows[0]["signature_state"] == "valid"
    )
