"""Checklist items beyond the demo's plants: a unit's tailored readiness settings,
an old check run, an old drill, a team without a deputy lead."""

from __future__ import annotations

import json

from readiness_data import DEMO_NOW

from itaudit.demo.run import run_demo
from itaudit.store import open_store
from itaudit.workspace import Workspace, init_workspace


def test_a_unit_tailors_its_readiness_limits(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws")
    init_workspace(ws.root)
    ctxh = ws.profiles / "units" / "ctxh.yaml"
    ctxh.write_text(
        ctxh.read_text(encoding="utf-8")
        + "\nreadiness:\n  report_age_days: 60\n  rules:\n    antimalware: [L1-AV-01, L1-AV-02]\n",
        encoding="utf-8",
    )
    store = open_store(ws.default_store_url)
    try:
        run = run_demo(ws, store, lambda _text: None, now=DEMO_NOW)
    finally:
        store.close()
    result = run.results["readiness"]
    units = {u.unit: u for u in result.units}
    # CTXH-PC-002's 46-day-old report and its stale signatures no longer block ctxh; what
    # remains is the patch it lacks (its report predates the November update)...
    assert [(b.asset_tag, b.item) for b in units["ctxh"].blockers] == [("CTXH-PC-002", "patches")]
    # ...while btxh1 keeps the base list: its stale signatures (L1-AV-03) still block.
    assert [(b.asset_tag, b.rule) for b in units["btxh1"].blockers] == [
        ("BTXH1-PC-004", "L1-AV-03")
    ]
    assert len(result.blockers) == 22


def test_old_check_run_and_old_drill(demo_ws, run_cli) -> None:
    result = run_cli(
        "readiness", "-w", str(demo_ws.root), "--today", "2027-07-01", "-l", "en", "-f", "json"
    )
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    team = {b["item"]: b["problem"]["en"] for b in doc["team"]["blockers"]}
    assert team["check"] == "The machines were last checked on 2026-11-23, 220 days ago (at most 3)"
    assert team["drill"] == "The last drill, on 2026-06-18, is more than 12 months ago"
    reports = {i["item"]: i for i in doc["checklist"]}["reports"]
    assert reports["blockers"] == 315  # no machine reported within 7 days of 01/07/2027
    assert doc["holiday"]["id"] == "national-day-2027"


def test_team_without_deputy_lead_is_named(workspace, run_cli) -> None:
    team = workspace.inventory / "incident-team.yaml"
    team.write_text(
        team.read_text(encoding="utf-8").replace("role: deputy_lead", "role: member"),
        encoding="utf-8",
    )
    result = run_cli(
        "readiness", "-w", str(workspace.root), "--today", "2026-11-23", "-l", "en", "-f", "json"
    )
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    roster = [b["problem"]["en"] for b in doc["team"]["blockers"] if b["item"] == "roster"]
    assert roster == [
        "The incident-response team has no deputy lead",
        "2026-11-24: nobody on duty 00:00–07:30",
        "Lê Văn Bình is on duty (2026-11-24 17:00–07:30) without a phone number",
    ]
    assert doc["team"]["deputy"] is None


def test_the_sample_unit_that_scans_monthly_tailors_the_scan_age(demo_ws, run_cli) -> None:
    """profiles/units/nghiatrang.yaml sets scan_age_days: 31; every other unit keeps 14.
    Twenty days after the demo's scans, only nghiatrang's scan is still recent enough."""
    from datetime import timedelta

    import sqlalchemy as sa

    from itaudit.scan import tables as st
    from itaudit.store import open_store

    store = open_store(demo_ws.default_store_url)
    try:
        with store.read() as conn:
            scanned = conn.execute(sa.select(sa.func.max(st.scans.c.finished_at))).scalar_one()
    finally:
        store.close()
    later = (scanned.date() + timedelta(days=20)).isoformat()
    result = run_cli(
        "readiness", "-w", str(demo_ws.root), "--today", later, "-l", "en", "-f", "json"
    )
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    old_scan = {
        u["unit"]
        for u in doc["units"]
        for b in u["blockers"]
        if b["item"] == "lan" and b["problem"]["en"].startswith("Latest LAN scan of ")
    }
    assert len(old_scan) == 11 and "nghiatrang" not in old_scan
    assert "(at most 14)" in next(
        b["problem"]["en"]
        for u in doc["units"]
        if u["unit"] == "ho"
        for b in u["blockers"]
        if b["item"] == "lan" and b["subject"] is None
    )
