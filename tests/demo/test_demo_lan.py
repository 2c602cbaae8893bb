"""The demo's simulated LAN scans: every planted LAN finding of defects.yaml is
found by the real reconciliation, nothing else is, and the scans say they
are simulated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itaudit.demo.lan import MESSAGE, load_lan_findings
from itaudit.demo.run import run_demo
from itaudit.scan.records import latest_sightings
from itaudit.scan.results import load_scan
from itaudit.store import open_store
from itaudit.workspace import Workspace

PLANTED = load_lan_findings()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("demo-lan") / "ws")
    ws.root.mkdir()
    (ws.inventory).mkdir()
    store = open_store(ws.default_store_url)
    lines: list[str] = []
    try:
        run = run_demo(ws, store, lines.append, now=datetime.now(UTC))
        yield run, store, lines
    finally:
        store.close()


@pytest.fixture(scope="module")
def scans(demo):
    run, _, _ = demo
    return {s.unit: s for s in run.results["lan"]}


def _device(scans, plant):
    result = scans[plant.unit].result
    if plant.asset:
        return next((d for d in result.devices if d.label == plant.asset), None)
    return next((d for d in result.devices if d.observation.address == plant.address), None)


@pytest.mark.parametrize("plant", PLANTED, ids=[p.id for p in PLANTED])
def test_each_planted_lan_finding_is_found(scans, plant):
    result = scans[plant.unit].result
    expect = plant.expect
    if expect.get("missing"):
        assert plant.asset in {m.asset_tag for m in result.missing}
        assert _device(scans, plant) is None
        return
    device = _device(scans, plant)
    assert device is not None, f"{plant.id}: not seen"
    assert device.bucket == expect["bucket"]
    if "likely_type" in expect:
        assert device.likely_type == expect["likely_type"]
    if "finding" in expect:
        kinds = {
            (f.kind, f.port)
            for f in result.findings
            if f.address in (device.observation.address, None)
        }
        assert (expect["finding"], expect.get("port")) in kinds


def test_the_fifth_projector_shows_the_register_disagreeing(scans):
    count = next(f for f in scans["ho"].result.findings if f.kind == "register-count")
    assert (count.detail["type"], count.detail["registered"], count.detail["seen"]) == (
        "projector",
        4,
        5,
    )


def test_nothing_else_is_found_on_the_clean_lan(scans):
    planted_addresses = set()
    for p in PLANTED:
        if p.kind == "absent":
            continue
        device = _device(scans, p)
        planted_addresses.add(device.observation.address)
    unexpected = [
        (unit, f.kind, f.address)
        for unit, s in scans.items()
        for f in s.result.findings
        if f.address is not None and f.address not in planted_addresses
    ]
    assert unexpected == []
    missing = {m.asset_tag for s in scans.values() for m in s.result.missing}
    assert missing == {p.asset for p in PLANTED if p.kind == "absent"}


def test_a_device_answers_at_one_address_only(scans):
    for s in scans.values():
        addresses = [d.observation.address for d in s.result.devices]
        assert len(addresses) == len(set(addresses)), s.unit


def test_every_unit_is_scanned_and_the_scans_are_marked_simulated(demo, scans):
    run, store, lines = demo
    assert set(scans) == {u.id for u in run.org.units}
    for s in scans.values():
        stored = load_scan(store, s.scan_id)
        assert stored.options["simulated"] is True
        assert stored.nmap_version is None
        assert stored.message == MESSAGE
        assert stored.status == "complete"
    assert any(line.startswith("LAN scans: SIMULATED (no packet sent") for line in lines)


def test_the_checker_reads_the_simulated_sightings(demo):
    _, store, _ = demo
    seen = {s.observation.asset_tag: s.observation.bucket for s in latest_sightings(store, "ho")}
    assert seen["HO-PC-071"] == "forbidden"
    assert "HO-PC-070" not in seen  # the other state-secret machine stays off the network
