"""`itaudit hosts`, `hosts show`, `hosts history` on ingested demo reports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

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


def test_hosts_show_covers_the_security_facts(loaded, run_cli):
    out = run_cli("-w", str(loaded.root), "hosts", "show", "HO-PC001").stdout
    section = out.split("Security\n")[1].split("Patches\n")[0]
    for label in (
        "encryption C:",
        "screen lock",
        "password policy",
        "built-in administrator",
        "guest account",
        "local administrators",
        "remote desktop",
        "SMBv1",
        "autorun disabled",
        "time sync",
    ):
        assert f"  {label} " in section, label
    assert "  CPU " in out and "  DNS servers " in out and "  workgroup " in out
    assert "KB5072033" in out  # the latest installed update is listed


@pytest.fixture
def hostile(tmp_path, workspace, run_cli, make_report):
    doc = make_report("HOSTILE-PC")
    doc["os"]["name"] = '=HYPERLINK("http://evil","x")\x1b[2J'
    doc["security"]["antivirus"][0]["name"] = "Bkav\x1b]0;pwned\x07 \u202eEDR"
    (tmp_path / "h.json").write_text(json.dumps(doc), encoding="utf-8")
    assert run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "h.json")).returncode == 0
    return workspace


def test_report_text_never_reaches_the_terminal_raw(hostile, run_cli):
    table = run_cli("-w", str(hostile.root), "hosts").stdout
    show = run_cli("-w", str(hostile.root), "hosts", "show", "HOSTILE-PC").stdout
    for out in (table, show):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "antivirus Bkav\ufffd]0;pwned\ufffd \ufffdEDR" in show


def test_csv_cells_never_start_a_formula(hostile, run_cli):
    rows = list(
        csv.DictReader(io.StringIO(run_cli("-w", str(hostile.root), "hosts", "-f", "csv").stdout))
    )
    [row] = rows
    assert row["os"].startswith("'=HYPERLINK(")


def test_a_report_from_a_clock_running_fast_is_in_the_future(
    tmp_path, workspace, run_cli, make_report
):
    ahead = datetime.now(UTC) + timedelta(hours=3)
    doc = make_report("FAST-CLOCK", collected_at=ahead.strftime("%Y-%m-%dT%H:%M:%SZ"))
    (tmp_path / "f.json").write_text(json.dumps(doc), encoding="utf-8")
    assert run_cli("-w", str(workspace.root), "ingest", str(tmp_path / "f.json")).returncode == 0
    [row] = json.loads(run_cli("-w", str(workspace.root), "hosts", "-f", "json").stdout)
    assert row["last_report"] == "in the future"


def test_hosts_follow_the_order_of_the_units(loaded, run_cli):
    rows = json.loads(run_cli("-w", str(loaded.root), "hosts", "-f", "json").stdout)
    assert [r["unit"] for r in rows] == ["ho", "ho", "ho", "dvvl", "btxh1"]
    assert [r["hostname"] for r in rows][:3] == ["DESKTOP-7F3K2QJ", "HO-PC001", "HO-PC071"]
