"""The demo generator: deterministic, schema-valid, defects applied as listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itaudit.demo.generate import generate, load_defects
from itaudit.signing import verify_bundle_report, verify_report

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def reports(sample_org):
    return dict(generate(sample_org, now=NOW))


def test_same_seed_same_fleet(sample_org, reports):
    again = dict(generate(sample_org, now=NOW))
    assert again == reports


def test_one_report_per_reporting_computer(sample_org, reports):
    defects = load_defects()
    silent = {d.asset for d in defects if d.kind == "never_reports"}
    extra = {f"{d.hostname}.json" for d in defects if d.kind == "unregistered"}
    computers = {
        f"{a.tag}.json" for a in sample_org.assets if a.is_computer and a.tag not in silent
    }
    assert set(reports) == computers | extra


def test_every_defect_names_a_register_asset(sample_org):
    tags = {a.tag for a in sample_org.assets}
    for defect in load_defects():
        if defect.kind == "unregistered":
            assert defect.hostname and not any(
                a.hostname == defect.hostname for a in sample_org.assets
            )
        else:
            assert defect.asset in tags, defect.id


def test_defect_ids_are_unique():
    ids = [d.id for d in load_defects()]
    assert len(ids) == len(set(ids))


def test_all_but_the_unsigned_report_verify(reports):
    unsigned = {f"{d.asset}.json" for d in load_defects() if d.kind == "unsigned"}
    for name, doc in reports.items():
        if name in unsigned:
            assert "signature" not in doc and "bundle_signature" not in doc
        elif doc["platform"] == "windows":  # signed by the collector, as collect.ps1 signs
            assert verify_bundle_report(doc) is not None, name
        else:
            assert verify_report(doc) is not None, name


def test_secret_machines_clean_and_planted(reports):
    clean, planted = reports["HO-PC-070.json"], reports["HO-PC-071.json"]

    def up(doc):
        # The parser also lists Windows' loopback pseudo-interface, which is always up.
        return [i for i in doc["network"]["interfaces"] if i["up"] and i["kind"] != "loopback"]

    assert up(clean) == []
    assert clean["network"]["default_gateways"] == [] and clean["network"]["profile_history"] == []
    assert any(i["addresses"] for i in up(planted))
    assert planted["network"]["default_gateways"] and planted["network"]["profile_history"]
    assert planted["network"]["wifi_profiles"] == [{"ssid": "SLDTBXH-WIFI", "authentication": None}]


def test_clean_windows_workstation_baseline(reports):
    doc = reports["HO-PC-001.json"]
    assert doc["agent"]["collector"] == "demo" and doc["platform"] == "windows"
    av = {a["name"]: a for a in doc["security"]["antivirus"]}
    bkav = av["Bkav Endpoint"]
    assert (bkav["source"], bkav["product_state"], bkav["enabled"]) == (
        "securitycenter",
        266240,
        True,
    )
    assert bkav["running"] is True and bkav["managed"] is True
    # Defender steps aside for the third-party product: registered off, not running.
    assert av["Windows Defender"]["enabled"] is False and av["Windows Defender"]["running"] is False
    assert [e["name"] for e in doc["security"]["edr"]] == ["Bkav EDR Agent"]
    assert all(
        p["enabled"] and p["default_inbound"] == "block"
        for p in doc["security"]["firewall"]["profiles"]
    )
    assert doc["security"]["password_policy"]["complexity"] is True
    assert doc["os"]["build"] >= 22000 and doc["os"]["name"].startswith("Windows 11")


def test_clean_windows_server_uses_defender(reports):
    doc = reports["HO-SRV-001.json"]
    assert doc["os"]["server"] is True
    (av,) = doc["security"]["antivirus"]
    assert (av["source"], av["enabled"], av["mode"], av["managed"]) == (
        "defender",
        True,
        "active",
        True,
    )


def test_defects_change_the_facts_they_name(reports):
    assert reports["HO-PC-012.json"]["security"]["antivirus"][0]["enabled"] is False
    assert reports["CN1-PC-002.json"]["security"]["edr"] == []
    assert reports["HO-PC-045.json"]["os"]["build"] == 19045
    assert reports["DDNCC-PC-001.json"]["security"]["password_policy"]["min_length"] == 0
    assert reports["DDNCC-PC-001.json"]["security"]["password_policy"]["complexity"] is False
    assert len(reports["TCNMN-PC-003.json"]["network"]["default_gateways"]) == 2
    stale = datetime.fromisoformat(
        reports["CTXH-PC-002.json"]["collected_at"].replace("Z", "+00:00")
    )
    assert (NOW - stale).days >= 45
