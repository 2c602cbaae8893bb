"""Reconciliation rules on hand-made observations (the lab tests run them on real scans)."""

from __future__ import annotations

import ipaddress
from datetime import datetime

import pytest

from itaudit.org.model import Asset, Organisation, Unit
from itaudit.scan.ports import PortRisk
from itaudit.scan.reconcile import KnownHost, reconcile
from itaudit.scan.records import Observation, Port
from itaudit.scan.targets import parse_targets

NET = "10.50.0.0/24"


def _unit(uid: str, net: str) -> Unit:
    return Unit(
        id=uid,
        name_vi=uid,
        name_en=uid,
        staff=5,
        subnets=(ipaddress.ip_network(net),),
        gateway=None,
        profile=uid,
        approval=None,
        last_assessment=None,
        head=None,
        it_contact=None,
    )


def _org(*assets: Asset) -> Organisation:
    return Organisation(
        id="o",
        name_vi="o",
        name_en="o",
        framework="circular-12-2022",
        units=(_unit("u", NET), _unit("other", "10.60.0.0/24")),
        assets=assets,
        team=None,
    )


def _host(hid: int, name: str, macs=(), addresses=(), tag=None, unit="u", kind="workstation"):
    return KnownHost(
        id=hid,
        hostname=name,
        unit=unit,
        asset_tag=tag,
        macs=frozenset(macs),
        addresses=frozenset(addresses),
        type=kind,
        collected_at=datetime(2026, 11, 1, hid % 24),
    )


RDP = PortRisk(3389, "ms-wbt-server", "high", ("server",), "vi", "en")
PORTS = {3389: RDP}


def _run(observations, org, hosts=(), targets=(NET,), unit="u"):
    return reconcile(
        observations,
        unit=org.unit(unit) if unit else None,
        targets=parse_targets(list(targets)),
        org=org,
        hosts=hosts,
        ports=PORTS,
    )


def test_mac_beats_address_and_name():
    org = _org()
    a = _host(1, "PC-A", macs={"00:14:22:00:00:01"}, addresses={"10.50.0.9"})
    b = _host(2, "PC-B", macs={"00:14:22:00:00:02"}, addresses={"10.50.0.5"})
    seen = Observation("10.50.0.5", mac="00:14:22:00:00:01", hostnames=("pc-b",))
    d = _run([seen], org, [a, b]).devices[0]
    assert (d.host.id, d.matched_by, d.bucket) == (1, "mac", "managed")


def test_without_mac_address_and_name_together_beat_address_alone():
    org = _org()
    stale = _host(1, "PC-OLD", addresses={"10.50.0.5"})
    named = _host(2, "PC-NEW", addresses={"10.50.0.5"})
    d = _run([Observation("10.50.0.5", hostnames=("pc-new.lan",))], org, [stale, named]).devices[0]
    assert (d.host.id, d.matched_by) == (2, "address+hostname")


def test_address_alone_picks_the_host_that_reported_most_recently():
    org = _org()
    older, newer = (
        _host(1, "PC-1", addresses={"10.50.0.5"}),
        _host(5, "PC-5", addresses={"10.50.0.5"}),
    )
    d = _run([Observation("10.50.0.5")], org, [older, newer]).devices[0]
    assert (d.host.id, d.matched_by) == (5, "address")


def test_hostname_alone_matches_and_both_mismatches_are_found():
    org = _org()
    h = _host(1, "PC-A", macs={"00:14:22:00:00:98"}, addresses={"10.50.0.66"})
    result = _run(
        [Observation("10.50.0.16", mac="00:14:22:00:00:16", hostnames=("PC-A",))], org, [h]
    )
    assert result.devices[0].matched_by == "hostname"
    kinds = {f.kind for f in result.findings}
    assert {"mac-mismatch", "address-mismatch"} <= kinds


def test_a_register_mac_makes_a_registered_device_even_where_an_agent_reported_the_address():
    printer = Asset("PRN-1", "printer", "u", mac="30:05:5c:00:00:01")
    h = _host(1, "PC-A", addresses={"10.50.0.7"})
    d = _run([Observation("10.50.0.7", mac="30:05:5c:00:00:01")], _org(printer), [h]).devices[0]
    assert (d.bucket, d.asset.tag, d.host) == ("registered", "PRN-1", None)


def test_register_entries_match_by_fixed_address_then_name():
    by_ip = Asset("AP-1", "access-point", "u", ip="10.50.0.2")
    by_name = Asset("SW-1", "switch", "u", hostname="core-sw")
    result = _run(
        [Observation("10.50.0.2"), Observation("10.50.0.3", hostnames=("core-sw.lan",))],
        _org(by_ip, by_name),
    )
    assert [(d.asset.tag, d.matched_by) for d in result.devices] == [
        ("AP-1", "address"),
        ("SW-1", "hostname"),
    ]


def test_a_secret_machine_is_forbidden_even_when_it_reports():
    secret = Asset(
        "PC-S", "workstation", "u", mac="00:14:22:00:00:05", secret=True, lan="forbidden"
    )
    h = _host(1, "PC-S", macs={"00:14:22:00:00:05"}, tag="PC-S")
    result = _run([Observation("10.50.0.5", mac="00:14:22:00:00:05")], _org(secret), [h])
    assert result.devices[0].bucket == "forbidden"
    assert result.findings[0].kind == "forbidden-device"
    assert result.findings[0].severity == "critical"


def test_a_lan_forbidden_device_that_is_not_secret_is_forbidden_too():
    modem = Asset("MDM-1", "router", "u", mac="00:1b:54:00:00:01", lan="forbidden")
    result = _run([Observation("10.50.0.5", mac="00:1b:54:00:00:01")], _org(modem))
    assert result.devices[0].bucket == "forbidden"
    assert "lan = forbidden" in result.findings[0].message("en")


def test_a_risky_port_is_not_reported_on_a_type_that_expects_it():
    server = Asset("SRV-1", "server", "u", ip="10.50.0.10")
    ws = Asset("PC-1", "workstation", "u", ip="10.50.0.11")
    result = _run(
        [
            Observation("10.50.0.10", open_ports=(Port(3389),)),
            Observation("10.50.0.11", open_ports=(Port(3389),)),
            Observation("10.50.0.12", open_ports=(Port(3389), Port(9999))),
        ],
        _org(server, ws),
    )
    risky = [(f.address, f.port) for f in result.findings if f.kind == "risky-port"]
    assert risky == [("10.50.0.11", 3389), ("10.50.0.12", 3389)]


def test_missing_needs_an_expected_entry_that_the_scan_could_have_seen():
    org = _org(
        Asset("PC-IN", "workstation", "u", ip="10.50.0.20"),
        Asset("PC-OUT", "workstation", "u", ip="10.50.0.200"),
        Asset("PRJ-DHCP", "projector", "u"),
        Asset("LT-1", "laptop", "u", lan="optional"),
        Asset("SCN-1", "scanner", "u", lan="none"),
        Asset("PC-SEEN", "workstation", "u", ip="10.50.0.30"),
    )
    agent_only = _host(7, "PC-AGENT", addresses={"10.50.0.40"})
    partial = _run([Observation("10.50.0.30")], org, [agent_only], targets=["10.50.0.0/25"])
    assert [(m.asset_tag or m.hostname, m.source) for m in partial.missing] == [
        ("PC-IN", "register"),
        ("PC-AGENT", "agent"),
    ]
    whole = _run([Observation("10.50.0.30")], org, [agent_only])
    assert {m.asset_tag for m in whole.missing} == {"PC-IN", "PC-OUT", "PRJ-DHCP", None}


def test_a_scan_without_a_unit_lists_no_missing_and_no_subnet_findings():
    org = _org(Asset("PC-IN", "workstation", "u", ip="10.50.0.20"))
    result = _run([Observation("10.99.0.1")], org, unit=None, targets=["10.99.0.0/24"])
    assert result.missing == ()
    assert [f.kind for f in result.findings] == ["unknown-device"]


def test_devices_of_another_unit_and_outside_the_subnets():
    visitor = Asset("LT-X", "laptop", "other", mac="00:14:22:00:00:77")
    result = _run(
        [Observation("10.50.0.77", mac="00:14:22:00:00:77"), Observation("10.61.0.1")],
        _org(visitor),
        targets=[NET, "10.61.0.0/24"],
    )
    kinds = {(f.kind, f.address) for f in result.findings}
    assert ("other-unit", "10.50.0.77") in kinds
    assert ("outside-subnets", "10.61.0.1") in kinds


def test_an_unknown_device_of_a_registered_make_counts_against_the_register():
    org = _org(
        Asset("PRJ-1", "projector", "u", mac="00:26:ab:00:00:01"),
        Asset("PRJ-2", "projector", "u", mac="00:26:ab:00:00:02"),
        Asset("PC-1", "workstation", "u", mac="00:14:22:00:00:01"),
        Asset("SRV-1", "server", "u", mac="00:14:22:00:00:02"),
    )
    result = _run(
        [
            Observation("10.50.0.1", mac="00:26:ab:00:00:01"),
            Observation("10.50.0.2", mac="00:26:ab:00:00:02"),
            Observation("10.50.0.3", mac="00:26:ab:00:00:03"),
            Observation("10.50.0.4", mac="00:14:22:00:00:09"),
        ],
        org,
    )
    likely = {d.observation.address: d.likely_type for d in result.devices if d.bucket == "unknown"}
    assert likely == {"10.50.0.3": "projector", "10.50.0.4": None}  # Dell: two types
    count = next(f for f in result.findings if f.kind == "register-count")
    assert (count.detail["registered"], count.detail["seen"]) == (2, 3)
    assert "2 máy chiếu" in count.message("vi")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_finding_kind_has_wording(lang):
    from itaudit.scan.reconcile import KINDS, Finding, finding_message

    for kind in KINDS:
        assert finding_message(Finding(kind, "low"), lang) != kind


def test_a_reporting_host_not_tied_to_the_register_is_still_forbidden_by_its_mac():
    # The agent's report matched no register entry (another host name, no serial),
    # but the MAC the scan sees is the state-secret machine's.
    secret = Asset("PC-S", "workstation", "u", mac="00:14:22:00:00:05", secret=True)
    h = _host(1, "RENAMED-PC", macs={"00:14:22:00:00:05"}, tag=None)
    d = _run([Observation("10.50.0.5", mac="00:14:22:00:00:05")], _org(secret), [h]).devices[0]
    assert (d.bucket, d.asset.tag, d.host.id, d.matched_by) == ("forbidden", "PC-S", 1, "mac")


def test_a_forbidden_device_that_is_now_in_another_bucket_is_a_finding():
    secret = Asset("PC-S", "workstation", "u", mac="00:14:22:00:00:05", secret=True)
    was = Observation("10.50.0.5", mac="00:14:22:00:00:05", bucket="forbidden", asset_tag="PC-S")
    # Another device (another MAC) answers at the secret machine's address.
    now = Observation("10.50.0.5", mac="b4:2e:99:00:00:06")
    result = reconcile(
        [now],
        unit=None,
        targets=parse_targets([NET]),
        org=_org(secret),
        hosts=(),
        ports=PORTS,
        before=[was],
    )
    (change,) = [f for f in result.findings if f.kind == "bucket-change"]
    assert (change.severity, change.detail["before"], change.detail["now"]) == (
        "high",
        "forbidden",
        "unknown",
    )
    assert "PC-S" in change.message("en") and "FORBIDDEN" in change.message("en")
    # Still forbidden (seen again by its MAC elsewhere): no change to report.
    moved = Observation("10.50.0.9", mac="00:14:22:00:00:05")
    result = reconcile(
        [now, moved],
        unit=None,
        targets=parse_targets([NET]),
        org=_org(secret),
        hosts=(),
        ports=PORTS,
        before=[was],
    )
    assert not [f for f in result.findings if f.kind == "bucket-change"]


def test_a_randomised_mac_and_an_ipv6_link_local_neighbour():
    phone = Observation("fe80::d8a1:19ff:fe00:61", mac="da:a1:19:00:00:61", method="nd")
    plain = Observation("10.50.0.7", mac="b4:2e:99:00:00:07")
    result = _run([phone, plain], _org())
    kinds = {(f.kind, f.address) for f in result.findings}
    # On the unit's link by construction: not outside its subnets.
    assert ("outside-subnets", phone.address) not in kinds
    unknown = {f.address: f for f in result.findings if f.kind == "unknown-device"}
    assert "randomised MAC" in unknown[phone.address].message("en")
    assert "MAC ngẫu nhiên" in unknown[phone.address].message("vi")
    assert "randomised" not in unknown[plain.address].message("en")
