"""`itaudit scan` with the real nmap on the namespace lab (see labdata.py for the
lab's hosts and what reconciliation must make of each)."""

from __future__ import annotations

import ipaddress
import shutil

import labdata
import pytest

from itaudit.scan.results import load_scan
from itaudit.store import open_store
from itaudit.workspace import sample_root


@pytest.fixture(scope="module")
def full(lab_scan):
    """The whole lab /24 as root, reconciled with unit `lab`, as JSON."""
    run = lab_scan.cli(
        "scan",
        str(lab_scan.site.network),
        "--unit",
        "lab",
        "--format",
        "json",
        "--lang",
        "en",
        "--resolve",  # reverse names, from the lab's /etc/hosts
    )
    assert run.returncode in (0, 1), run.stderr
    return run


@pytest.fixture(scope="module")
def report(full):
    (scan,) = full.json()["scans"]
    return scan


@pytest.fixture(scope="module")
def devices(report, lab_scan):
    by_addr = {d["address"]: d for d in report["devices"]}
    return {name: by_addr.get(lab_scan.lab.hosts[name].address) for name in lab_scan.lab.hosts}


def _findings(report, kind):
    return {(f["address"], f["port"]) for f in report["findings"] if f["kind"] == kind}


def test_a_forbidden_device_ends_the_command_with_exit_1(full):
    assert full.returncode == 1
    assert "1 forbidden device(s) on the LAN" in full.stderr


def test_every_lab_host_is_seen_with_its_mac_and_vendor(devices, lab_scan):
    assert all(devices.values()), [n for n, d in devices.items() if d is None]
    for name, device in devices.items():
        assert device["mac"] == lab_scan.lab.hosts[name].mac
    assert devices["printer"]["vendor"] == "Brother industries"
    assert devices["stranger"]["vendor"] == "Giga-byte Technology"


def test_open_ports_are_the_listeners_started_in_the_namespaces(devices):
    assert [p["port"] for p in devices["printer"]["open_ports"]] == [23, 80]
    assert [p["port"] for p in devices["newnic"]["open_ports"]] == [3389]
    assert devices["moved"]["open_ports"] == []


def test_buckets(devices):
    assert {name: d["bucket"] for name, d in devices.items()} == {
        "managed": "managed",
        "secret": "forbidden",
        "stranger": "unknown",
        "printer": "registered",
        "moved": "managed",
        "newnic": "managed",
        "renamed": "managed",
        "visitor": "registered",
        "offsite": "registered",
        "projector": "registered",
        "projector5": "unknown",
        "outsider": "unknown",
    }


def test_how_each_managed_device_was_recognised(devices):
    assert devices["managed"]["matched_by"] == "mac"
    assert devices["newnic"]["matched_by"] == "address"
    assert devices["renamed"]["matched_by"] == "hostname"
    assert devices["renamed"]["hostnames"] == ["LAB-PC16"]
    assert (devices["managed"]["asset_tag"], devices["renamed"]["asset_tag"]) == (
        "LAB-PC-010",
        "LAB-PC-016",
    )


def test_the_scanning_computer_is_recognised_by_its_registered_address(report, lab_scan):
    me = next(d for d in report["devices"] if d["address"] == lab_scan.lab.gateway)
    assert me["this_computer"] is True
    assert (me["bucket"], me["asset_tag"]) == ("registered", "LAB-PC-001")


def test_the_state_secret_machine_is_a_critical_finding(report, lab_scan):
    first = report["findings"][0]
    assert (first["kind"], first["severity"], first["asset_tag"]) == (
        "forbidden-device",
        "critical",
        "LAB-PC-011",
    )
    assert "Law 29/2018/QH14" in first["message"]


def test_risky_ports_per_device_except_where_the_type_expects_them(report, lab_scan):
    a = lab_scan.site.a
    assert _findings(report, "risky-port") == {
        (a(10), 22),  # SSH on a workstation
        (a(11), 445),
        (a(12), 23),
        (a(13), 23),  # telnet on the printer; its web page (80) is normal for a printer
        (a(15), 3389),
    }  # SSH on the server LAB-SRV-001 (S.18) is not a finding


def test_unknown_devices_and_the_unregistered_projector(report, lab_scan):
    a = lab_scan.site.a
    assert _findings(report, "unknown-device") == {(a(12), None), (a(20), None), (a(200), None)}
    epson = next(
        f for f in report["findings"] if f["kind"] == "unknown-device" and f["address"] == a(20)
    )
    assert epson["detail"]["likely_type"] == "projector"
    count = next(f for f in report["findings"] if f["kind"] == "register-count")
    assert (count["detail"]["type"], count["detail"]["registered"], count["detail"]["seen"]) == (
        "projector",
        2,
        2,
    )


def test_devices_outside_the_unit_subnets(report, lab_scan):
    assert _findings(report, "outside-subnets") == {(lab_scan.site.a(200), None)}


def test_agents_that_reported_another_address_or_mac(report, lab_scan):
    a = lab_scan.site.a
    assert _findings(report, "address-mismatch") == {(a(14), None), (a(16), None)}
    assert _findings(report, "mac-mismatch") == {(a(15), None), (a(16), None)}
    moved = next(
        f for f in report["findings"] if f["kind"] == "address-mismatch" and f["address"] == a(14)
    )
    assert moved["detail"]["reported"] == [a(44)]


def test_other_unit_and_off_lan_devices(report, lab_scan):
    a = lab_scan.site.a
    assert _findings(report, "other-unit") == {(a(17), None)}
    assert _findings(report, "off-lan-device") == {(a(18), None)}


def test_missing_register_entries_and_reporting_hosts(report, lab_scan):
    missing = {
        (m["source"], m["asset_tag"] or m["hostname"], m["address"]) for m in report["missing"]
    }
    assert missing == {
        ("register", "LAB-PC-030", lab_scan.site.a(30)),
        ("register", "LAB-PRJ-002", None),
        ("agent", "LAB-PC31", lab_scan.site.a(31)),
    }  # the laptop LAB-LT-001 is optional on the LAN: not missing


def test_summary_counts(report):
    assert report["summary"] == {
        "devices": 13,
        "managed": 4,
        "registered": 5,
        "unknown": 3,
        "forbidden": 1,
        "missing": 3,
        "findings": {"critical": 1, "high": 4, "medium": 7, "low": 5},
    }


def test_only_the_lab_network_was_scanned(report, lab_scan):
    options = report["scan"]["options"]
    assert options["nmap_arguments"][0] == "-sS"
    assert report["scan"]["target_key"] == str(lab_scan.site.network)
    assert all(
        ipaddress.ip_address(d["address"]) in lab_scan.site.network for d in report["devices"]
    )


def test_progress_is_shown_while_nmap_runs(full):
    assert "Running: nmap -sS" in full.stderr
    assert "256/256 addresses done (13 up)" in full.stderr


def test_the_scan_and_its_reconciliation_are_stored(report, lab_scan):
    store = open_store(f"sqlite:///{lab_scan.workspace / 'inventory' / 'itaudit.db'}")
    try:
        stored = load_scan(store, report["scan"]["id"])
    finally:
        store.close()
    assert (stored.unit, stored.status, stored.run_by, stored.addresses) == (
        "lab",
        "complete",
        "root",
        256,
    )
    assert stored.targets == (str(lab_scan.site.network),)
    assert stored.target_key == str(lab_scan.site.network)
    assert stored.nmap_version and stored.nmap_version[0].isdigit()
    assert stored.options["privileged"] is True and stored.options["timing"] == 4
    assert stored.started_at <= stored.finished_at
    assert {o.address: o.bucket for o in stored.observations} == {
        d["address"]: d["bucket"] for d in report["devices"]
    }
    assert [f.kind for f in stored.findings] == [f["kind"] for f in report["findings"]]
    assert len(stored.missing) == 3


@pytest.fixture(scope="module")
def unit_default(lab_scan):
    """No TARGET: the unit's subnets (S.0/25), table output in Vietnamese."""
    return lab_scan.cli("scan", "--unit", "lab")


def test_without_targets_only_the_unit_subnets_are_scanned(unit_default, lab_scan):
    assert f"{lab_scan.site.unit_subnet} (128 địa chỉ)" in unit_default.stdout
    assert lab_scan.site.a(12) + " " in unit_default.stdout
    assert lab_scan.site.a(200) not in unit_default.stdout


def test_the_table_output_is_in_vietnamese(unit_default):
    out = unit_default.stdout
    for heading in ("Địa chỉ", "Nhóm", "Vắng mặt (3)", "Phát hiện (", "BỊ CẤM", "có tác tử"):
        assert heading in out
    assert "Máy lưu trữ tài liệu mật LAB-PC-011" in out
    assert "1 thiết bị bị cấm đang có trên mạng LAN" in unit_default.stderr


def test_ports_none_finds_devices_without_port_checks(lab_scan):
    run = lab_scan.cli(
        "scan", str(lab_scan.site.unit_subnet), "--ports", "none", "--format", "json", names=False
    )
    (scan,) = run.json()["scans"]
    assert scan["scan"]["options"]["scan_type"] == "ping"
    assert scan["scan"]["options"]["nmap_arguments"][0] == "-sn"
    seen = [d for d in scan["devices"] if d["method"] == "raw"]
    assert len(seen) == 12 and not any(d["carried"] for d in seen)
    # Ports it did not check keep what earlier scans of the module found (coverage:
    # a scan overrides only what it covered); the listeners' ports, nothing else.
    listening = {p for _, _, _, ports in labdata.HOSTS for p in ports}
    assert {p["port"] for d in seen for p in d["open_ports"]} <= listening


def test_the_lab_scan_is_stored_in_postgresql_too(lab_scan, pg_url):
    run = lab_scan.cli(
        "--store",
        pg_url,
        "scan",
        str(lab_scan.site.unit_subnet),
        "--unit",
        "lab",
        "--no-ipv6",  # the IPv4 set the SQLite test counts; IPv6 has its own lab tests
        "--format",
        "json",
        names=False,
    )
    (scan,) = run.json()["scans"]
    store = open_store(pg_url)
    try:
        stored = load_scan(store, scan["scan"]["id"])
    finally:
        store.close()
    # This store holds no agent reports: the agents' machines are only "registered" here.
    assert stored.unit == "lab" and len(stored.observations) == 12
    buckets = {o.asset_tag: o.bucket for o in stored.observations if o.asset_tag}
    assert buckets["LAB-PC-011"] == "forbidden"
    assert buckets["LAB-PC-010"] == "registered"
    assert any(f.kind == "forbidden-device" for f in stored.findings)


def test_without_unit_or_targets_every_unit_is_scanned_once(lab_scan):
    # Both units share the lab's one link: IPv6 discovery, which asks the whole link,
    # would list each unit's devices in the other's scan (see docs/scan.md, IPv6).
    run = lab_scan.cli("scan", "--no-ipv6", "--format", "json", names=False)
    scans = run.json()["scans"]
    assert [(s["scan"]["unit"], s["scan"]["target_key"]) for s in scans] == [
        ("lab", str(lab_scan.site.unit_subnet)),
        ("annex", str(lab_scan.site.upper_subnet)),
    ]
    assert "[1/2] unit lab" in run.stderr or "[1/2] đơn vị lab" in run.stderr
    annex = scans[1]
    assert [d["address"] for d in annex["devices"]] == [lab_scan.site.a(200)]
    # The annex laptop is at S.17, in lab's half: the annex scan does not list it as
    # missing (a laptop is optional), and the lab scan sees it as a visitor.
    assert annex["missing"] == []


def test_a_hostile_reverse_dns_name_is_bounded_and_harmless(report, lab_scan):
    (stored_by_scan,) = [d for d in report["devices"] if d["address"] == lab_scan.site.a(200)]
    # --resolve asks the system resolver, which may refuse such a name itself (glibc
    # does); whatever name comes through is bounded and harmless (the parser's own
    # bounding is tested on a recorded result in test_nmap_runner.py).
    names = stored_by_scan["hostnames"]
    assert len(names) <= 1
    for name in names:
        assert len(name) <= 253
        assert not set(name) & set("<>\x1b\x07\r\n")
    store = open_store(f"sqlite:///{lab_scan.workspace / 'inventory' / 'itaudit.db'}")
    try:
        stored = load_scan(store, report["scan"]["id"])
    finally:
        store.close()
    (observation,) = [o for o in stored.observations if o.address == lab_scan.site.a(200)]
    assert observation.hostnames == tuple(names)


def test_a_port_list_and_timing_are_what_nmap_checks(lab_scan):
    run = lab_scan.cli(
        "scan",
        str(lab_scan.site.unit_subnet),
        "--ports",
        "23,80",
        "--timing",
        "3",
        "--format",
        "json",
        names=False,
    )
    assert run.returncode == 1, run.stderr  # the state-secret machine is still on the LAN
    (scan,) = run.json()["scans"]
    assert scan["scan"]["options"]["nmap_arguments"] == ["-sS", "-p", "23,80", "-T3", "-n"]
    assert f"nmap -sS -p 23,80 -T3 -n {lab_scan.site.unit_subnet}" in run.stderr
    ports = {d["address"]: [p["port"] for p in d["open_ports"]] for d in scan["devices"]}
    a = lab_scan.site.a
    # SSH (S.10), SMB (S.11) and RDP (S.15) listen, but were not asked about: what
    # the module's earlier scans found there stays (a scan overrides what it checked).
    assert (ports[a(10)], ports[a(11)], ports[a(12)], ports[a(13)], ports[a(15)]) == (
        [22],
        [445],
        [23],
        [23, 80],
        [3389],
    )
    assert {(a(12), 23), (a(13), 23)} <= _findings(scan, "risky-port")


TAILORED = """
units:
  lab:
    remove: [22]
    add:
      - port: 23
        service: telnet
        risk: low
        expected_on: [printer]
        note_vi: Telnet trên máy in của đơn vị thử nghiệm là chấp nhận được.
        note_en: Telnet on the lab unit's printers is accepted.
"""


def test_a_units_tailored_port_list_is_what_its_scan_checks(lab_scan, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(lab_scan.workspace, ws)
    ports_file = ws / "profiles" / "data" / "scan-ports.yaml"
    ports_file.parent.mkdir(parents=True)
    bundled = (sample_root() / "profiles" / "data" / "scan-ports.yaml").read_text(encoding="utf-8")
    # The sample's tailoring names the sample's units: keep only its default list.
    ports_file.write_text(bundled.split("\nunits:")[0] + TAILORED, encoding="utf-8")
    run = lab_scan.cli("scan", "--unit", "lab", "--format", "json", workspace=ws, names=False)
    (scan,) = run.json()["scans"]
    arguments = scan["scan"]["options"]["nmap_arguments"]
    assert arguments[:2] == ["-sS", "-p"] and "22" not in arguments[2].replace("-", ",").split(",")
    a = lab_scan.site.a
    by_addr = {d["address"]: d for d in scan["devices"]}
    # Its SSH port is no longer checked: what earlier scans saw stays, but is no finding.
    assert [p["port"] for p in by_addr[a(10)]["open_ports"]] == [22]
    risky = {(f["address"], f["port"], f["severity"]) for f in scan["findings"]}
    risky = {r for r in risky if r[1] is not None}
    # Telnet: low on the unknown device, normal on the printer; SMB and RDP unchanged.
    assert risky == {(a(11), 445, "high"), (a(12), 23, "low"), (a(15), 3389, "high")}
