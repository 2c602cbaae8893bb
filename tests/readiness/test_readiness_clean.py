"""A clean sample organisation (clean reports, a fresh scan, valid attestations and
backups, a complete roster) is GO, through the library and the real CLI."""

from __future__ import annotations

import json

import pytest
from readiness_data import CLEAN_TODAY, build_clean_workspace

from itaudit.org import load_organisation
from itaudit.profiles import load_profiles
from itaudit.readiness.evaluate import choose_holiday, evaluate_readiness
from itaudit.readiness.roster import load_roster
from itaudit.store import open_store


@pytest.fixture(scope="module")
def clean_ws(tmp_path_factory):
    return build_clean_workspace(tmp_path_factory.mktemp("clean") / "ws")


def _evaluate(ws):
    org = load_organisation(ws.inventory)
    profiles = load_profiles(ws.profiles, ws.inventory)
    roster = load_roster(ws.inventory / "duty-roster.yaml", org.team)
    store = open_store(ws.default_store_url)
    try:
        holiday = choose_holiday(org, CLEAN_TODAY)
        return evaluate_readiness(store, org, profiles, holiday, CLEAN_TODAY, roster=roster)
    finally:
        store.close()


def test_clean_organisation_is_go(clean_ws) -> None:
    result = _evaluate(clean_ws)
    assert result.blockers == []
    assert result.verdict == "GO"
    assert {u.verdict for u in result.units} == {"GO"}
    assert {i.key: i.state for i in result.items} == {
        key: "ok"
        for key in (
            "check",
            "reports",
            "antimalware",
            "edr",
            "patches",
            "lan",
            "secret",
            "expiries",
            "backups",
            "roster",
            "drill",
        )
    }
    assert result.item("reports").checked == 314  # every computer of the register reported
    assert result.item("backups").checked == 5


def test_cli_go_exits_0(clean_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(clean_ws.root), env={"ITAUDIT_TODAY": "2026-11-23"})
    assert result.returncode == 0, result.output
    assert "Kết luận: SẴN SÀNG (GO), vướng mắc: 0" in result.stdout
    assert "Thời gian nghỉ: 24/11/2026 (1 ngày); Còn lại: 1 ngày nữa" in result.stdout


def test_cli_go_json(clean_ws, run_cli) -> None:
    result = run_cli("readiness", "-w", str(clean_ws.root), "--today", "2026-11-23", "-f", "json")
    assert result.returncode == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["verdict"], doc["blockers"], doc["days_remaining"]) == ("GO", 0, 1)
    assert doc["holiday"]["id"] == "culture-day-2026"
    assert [s["name"] for s in doc["team"]["roster"]["shifts"]] == [
        "Nguyễn Trọng Hiếu",
        "Phạm Minh Tuấn",
        "Lê Văn Bình",
    ]
