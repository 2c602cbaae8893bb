"""The lab department: namespace hosts, a register and agent reports that disagree
with the LAN in every way reconciliation must notice.

Lab network S = a free /24 (see netlab); the unit `lab` owns only its lower
half S.0/25, so the host at S.200 is seen outside the unit's subnets when the
whole /24 is scanned. `annex` is a second unit, owning the upper half S.128/25
(so that scanning every unit's subnets stays inside the lab), whose laptop
visits `lab`.

| lab host | address | what it is | expected outcome |
| --- | --- | --- | --- |
| (bridge) | S.1 | the scanning computer, registered LAB-PC-001 | registered by address |
| managed | S.10 | LAB-PC-010, agent reports, SSH open | managed by MAC; risky port 22 |
| secret | S.11 | LAB-PC-011, state-secret, SMB open | forbidden; risky port 445 |
| stranger | S.12 | nobody knows it, telnet open | unknown; risky port 23 |
| printer | S.13 | LAB-PRN-001, web (normal) and telnet | registered; risky port 23 only |
| moved | S.14 | LAB-PC-014, agent reported S.44 | managed by MAC; address mismatch |
| newnic | S.15 | LAB-PC-015, agent reported an old MAC; RDP | managed by address; MAC mismatch; risky 3389 |
| renamed | S.16 | LAB-PC-016, agent reported S.66 and an old MAC | managed by host name; both mismatches |
| visitor | S.17 | ANNEX-LT-001, a laptop of unit annex | registered; other unit |
| offsite | S.18 | LAB-SRV-001, registered as hosted off site; SSH | registered; off-LAN device, no port finding |
| projector | S.19 | LAB-PRJ-001 | registered |
| projector5 | S.20 | an Epson not in the register | unknown, likely a projector; register count |
| outsider | S.200 | unknown, outside S.0/25, a hostile DNS name | unknown; outside the unit's subnets |
| (none) | S.30 | LAB-PC-030, registered, switched off | missing (register) |
| (none) | S.31 | LAB-PC31, reports, not registered, switched off | missing (agent) |
| (none) | - | LAB-PRJ-002, no fixed address, switched off | missing (register, whole unit scanned) |
| (none) | - | LAB-LT-001, a laptop (optional on the LAN) | not missing |
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netlab

# (lab host, host number, MAC, listening ports)
HOSTS: list[tuple[str, int, str, tuple[int, ...]]] = [
    ("managed", 10, "00:14:22:1a:00:10", (22,)),
    ("secret", 11, "00:14:22:1a:00:11", (445,)),
    ("stranger", 12, "b4:2e:99:1a:00:12", (23,)),
    ("printer", 13, "30:05:5c:1a:00:13", (80, 23)),
    ("moved", 14, "00:14:22:1a:00:14", ()),
    ("newnic", 15, "00:14:22:1a:00:15", (3389,)),
    ("renamed", 16, "00:14:22:1a:00:16", ()),
    ("visitor", 17, "00:14:22:1a:00:17", ()),
    ("offsite", 18, "00:14:22:1a:00:18", (22,)),
    ("projector", 19, "00:26:ab:1a:00:19", ()),
    ("projector5", 20, "00:26:ab:1a:00:20", ()),
    ("outsider", 200, "00:14:22:1a:00:c8", ()),
]
V6_SECRET_MAC = "00:14:22:1a:00:6b"
# A reverse-DNS name as hostile as a hosts file allows: markup, a terminal escape, too long.
HOSTILE_NAME = "\x1b[2J<script>alert(1)</script>" + "x" * 300
# Reverse-DNS names the scan sees (through the lab's /etc/hosts).
DNS_NAMES = {
    "managed": "lab-pc10.lab.local",
    "renamed": "LAB-PC16",
    "stranger": "mystery",
    "outsider": HOSTILE_NAME,
}


@dataclass(frozen=True)
class LabSite:
    network: ipaddress.IPv4Network

    def a(self, n: int) -> str:
        return str(self.network.network_address + n)

    @property
    def unit_subnet(self) -> ipaddress.IPv4Network:
        return next(self.network.subnets(new_prefix=25))

    @property
    def upper_subnet(self) -> ipaddress.IPv4Network:
        return list(self.network.subnets(new_prefix=25))[1]


def organization_yaml(site: LabSite) -> str:
    return f"""organization:
  id: lab-dept
  name_vi: Sở thử nghiệm
  name_en: Test department
units:
  - id: lab
    name_vi: Đơn vị thử nghiệm
    name_en: Lab unit
    staff: 10
    subnets: [{site.unit_subnet}]
    gateway: {site.a(1)}
    level1_approval: {{decision: "1/QĐ-LAB", date: 2024-01-02, level: 1}}
  - id: annex
    name_vi: Đơn vị phụ
    name_en: Annex unit
    staff: 3
    subnets: [{site.upper_subnet}]
    level1_approval: {{decision: "2/QĐ-LAB", date: 2024-01-02, level: 1}}
"""


def assets_csv(site: LabSite) -> str:
    a = site.a
    rows = [
        "asset_tag,type,unit,hostname,mac,serial,ip,platform,secret,hosted_offsite,lan",
        f"LAB-PC-001,workstation,lab,LAB-OFFICER,,,{a(1)},linux,,,",
        f"LAB-PC-010,workstation,lab,LAB-PC10,00:14:22:1a:00:10,SN-LAB-010,{a(10)},windows,,,",
        "LAB-PC-011,workstation,lab,LAB-PC11,00:14:22:1a:00:11,SN-LAB-011,,windows,yes,,forbidden",
        f"LAB-PRN-001,printer,lab,,30:05:5c:1a:00:13,SN-LAB-PRN1,{a(13)},,,,",
        "LAB-PC-014,workstation,lab,LAB-PC14,00:14:22:1a:00:14,SN-LAB-014,,windows,,,",
        f"LAB-PC-015,workstation,lab,LAB-PC15,00:14:22:1a:00:99,SN-LAB-015,{a(15)},windows,,,",
        "LAB-PC-016,workstation,lab,LAB-PC16,00:14:22:1a:00:98,SN-LAB-016,,windows,,,",
        "LAB-LT-001,laptop,lab,LAB-LT01,00:14:22:1a:00:61,SN-LAB-LT1,,windows,,,",
        "ANNEX-LT-001,laptop,annex,ANNEX-LT01,00:14:22:1a:00:17,SN-ANX-LT1,,windows,,,",
        "LAB-SRV-001,server,lab,LAB-SRV01,00:14:22:1a:00:18,SN-LAB-SRV1,10.99.0.18,linux,,yes,",
        "LAB-PRJ-001,projector,lab,,00:26:ab:1a:00:19,SN-LAB-PRJ1,,,,,",
        "LAB-PRJ-002,projector,lab,,00:26:ab:1a:00:21,SN-LAB-PRJ2,,,,,",
        f"LAB-PC-030,workstation,lab,LAB-PC30,00:14:22:1a:00:30,SN-LAB-030,{a(30)},windows,,,",
        # A state-secret machine with IPv6 only: in no lab of labdata.HOSTS, only in
        # test_scan_coverage_lab.py's (see V6_SECRET_MAC).
        f"LAB-PC-061,workstation,lab,LAB-PC61,{V6_SECRET_MAC},SN-LAB-061,,windows,yes,,forbidden",
    ]
    return "\n".join(rows) + "\n"


def _set_network(doc: dict[str, Any], address: str | None, mac: str | None, prefix: int) -> None:
    iface = doc["network"]["interfaces"][0]
    if mac is not None:
        iface["mac"] = mac
        doc["identity"]["macs"] = [mac]
    if address is not None:
        iface.update(up=True, addresses=[{"address": address, "prefix_length": prefix}])


def agent_reports(site: LabSite, inventory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Signed reports for the lab's agent hosts, as the agents would send them."""
    from itaudit.demo.generate import Defect, demo_key, generate
    from itaudit.org import load_organisation
    from itaudit.signing import sign_report

    org = load_organisation(inventory)
    extra = Defect(
        "lab-agent-only", "unregistered", "reports, not registered", hostname="LAB-PC31", unit="lab"
    )
    wanted = {
        # tag: (address the agent reported, MAC it reported)
        "LAB-PC-010.json": (site.a(10), None),
        "LAB-PC-011.json": (None, None),
        "LAB-PC-014.json": (site.a(44), None),
        "LAB-PC-015.json": (site.a(15), "00:14:22:1a:00:99"),
        "LAB-PC-016.json": (site.a(66), "00:14:22:1a:00:98"),
        "LAB-PC31.json": (site.a(31), "00:14:22:1a:00:31"),
    }
    out = []
    for name, doc in generate(org, defects=[extra]):
        if name not in wanted:
            continue
        address, mac = wanted[name]
        doc = json.loads(json.dumps(doc))
        doc["unit"] = "lab"
        _set_network(doc, address, mac, site.unit_subnet.prefixlen)
        key = demo_key(name.removesuffix(".json"))
        out.append((name, sign_report(doc, key)))
    return out


def build_workspace(site: LabSite, root: Path, store_url: str | None = None) -> Path:
    """A workspace for the lab: register, the default port list, ingested agent reports."""
    from itaudit.ingest import ingest_documents
    from itaudit.org import load_organisation
    from itaudit.org.matching import RegisterIndex
    from itaudit.store import open_store
    from itaudit.workspace import Workspace

    ws = Workspace(root)
    ws.inventory.mkdir(parents=True, exist_ok=True)
    (ws.root / "profiles").mkdir(exist_ok=True)
    (ws.inventory / "organization.yaml").write_text(organization_yaml(site), encoding="utf-8")
    (ws.inventory / "assets.csv").write_text(assets_csv(site), encoding="utf-8")
    store = open_store(store_url or ws.default_store_url)
    try:
        summary = ingest_documents(
            store, RegisterIndex(load_organisation(ws.inventory)), agent_reports(site, ws.inventory)
        )
        rejected = [o for o in summary.outcomes if o.status == "rejected"]
        assert not rejected, rejected
    finally:
        store.close()
    return root


def start_hosts(lab: netlab.Lab) -> None:
    for name, number, mac, ports in HOSTS:
        lab.add_host(name, number, mac, ports)
