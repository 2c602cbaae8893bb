"""The demo's LAN scans: SIMULATED, since the demo has no real LAN to scan.

For each sample unit, the devices a scan would see are built from the asset
register and the generated agent reports (addresses, MACs, the ports a clean
device of each type has open), then the planted LAN findings of
`defects.yaml` (`lan_findings:`) are applied. The result goes through the
real reconciliation and is stored like a real scan, clearly marked: options
`simulated: true`, no nmap version, and a message saying no packet was sent.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from itaudit.org.model import Organisation, Unit
from itaudit.scan.reconcile import KnownHost, Reconciliation, known_hosts, reconcile
from itaudit.scan.records import Observation, Port
from itaudit.store import Store, utcnow

RUN_BY = "itaudit demo (simulated)"
MESSAGE = (
    "SIMULATED scan for the demo: built from the sample register and agent reports; "
    "nmap was not run and no packet was sent"
)
# Vendors as nmap names them (nmap-mac-prefixes), for the makes of the sample register.
VENDORS = {
    "00:14:22": "Dell",
    "00:1b:54": "Cisco Systems",
    "00:1e:8f": "Canon",
    "00:26:ab": "Seiko Epson",
    "04:d9:f5": "Asustek Computer",
    "24:a4:3c": "Ubiquiti Networks",
    "30:05:5c": "Brother industries",
    "3c:d9:2b": "Hewlett Packard",
    "50:c7:bf": "Tp-link Technologies",
    "54:ee:75": "Wistron InfoComm(Kunshan)Co.",
    "8c:71:f8": "Samsung Electronics",
    "94:18:82": "Hewlett Packard Enterprise",
    "b4:2e:99": "Giga-byte Technology",
}
# What a clean device of each type answers on (only ports of the unit's list are kept).
CLEAN_PORTS: dict[str, tuple[int, ...]] = {
    "printer": (80, 443, 9100),
    "access-point": (443,),
    "switch": (22, 443),
    "projector": (80,),
}
SERVER_PORTS = {"windows": (445, 3389), "linux": (22,)}
SERVICES = {
    21: "ftp",
    22: "ssh",
    23: "telnet",
    80: "http",
    139: "netbios-ssn",
    443: "https",
    445: "microsoft-ds",
    3389: "ms-wbt-server",
    9100: "jetdirect",
}
KINDS = ("seen", "unknown_device", "open_ports", "absent", "moved")


@dataclass(frozen=True)
class LanFinding:
    """One planted LAN situation and what reconciliation must make of it."""

    id: str
    unit: str
    kind: str  # one of KINDS
    description: str
    asset: str | None = None
    address: str | None = None
    mac: str | None = None
    ports: tuple[int, ...] = ()
    expect: dict[str, Any] = field(default_factory=dict)
    rules: tuple[str, ...] = ()


def load_lan_findings(path: Path | None = None) -> list[LanFinding]:
    """The `lan_findings:` of defects.yaml (the package's, unless a path is given)."""
    if path is None:
        text = resources.files(__package__).joinpath("defects.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    out = []
    for item in yaml.safe_load(text).get("lan_findings") or ():
        item = dict(item)
        item["ports"] = tuple(item.get("ports") or ())
        item["rules"] = tuple(item.get("rules") or ())
        item["expect"] = dict(item.get("expect") or {})
        if item["kind"] not in KINDS:
            raise ValueError(
                f"defects.yaml: lan finding {item['id']}: unknown kind {item['kind']!r}"
            )
        out.append(LanFinding(**item))
    return out


def _vendor(mac: str | None) -> str | None:
    return VENDORS.get(mac[:8]) if mac else None


def _picked(tag: str) -> bool:
    """Whether an optional device (laptop, tablet) happens to be on the LAN: half of them."""
    return hashlib.sha256(tag.encode()).digest()[0] % 2 == 0


def _ports(numbers: tuple[int, ...], allowed: set[int]) -> tuple[Port, ...]:
    return tuple(Port(p, "tcp", SERVICES.get(p)) for p in sorted(set(numbers) & allowed))


def _v4(host: KnownHost | None) -> str | None:
    if host is None:
        return None
    found = sorted(a for a in host.addresses if ":" not in a)
    return found[0] if found else None


def simulate_unit(
    org: Organisation,
    unit: Unit,
    hosts: list[KnownHost],
    plan_ports: tuple[int, ...],
    planted: list[LanFinding],
) -> list[Observation]:
    """What a root scan of the unit's subnets would see."""
    allowed = set(plan_ports)
    by_tag = {h.asset_tag: h for h in hosts if h.asset_tag}
    mine = {f.asset: f for f in planted if f.unit == unit.id and f.asset}
    seen: dict[str, Observation] = {}
    used = {a.ip for a in org.assets if a.ip} | {a for h in hosts for a in h.addresses}
    used |= {f.address for f in planted if f.address}
    pool = (
        str(ip)
        for ip in reversed(list(unit.subnets[0].hosts())[-80:])
        if str(ip) not in used and ip != unit.gateway
    )

    def add(o: Observation) -> None:
        seen.setdefault(o.address, o)

    # Fixed addresses first: where a DHCP laptop's last reported address is now a
    # desktop's fixed one, the desktop holds it and the laptop is away.
    for asset in sorted(org.assets_of(unit.id), key=lambda a: a.ip is None):
        plant = mine.get(asset.tag)
        if plant is not None and plant.kind == "absent":
            continue
        host = by_tag.get(asset.tag)
        forced = plant is not None and plant.kind in ("seen", "moved", "open_ports")
        if not forced and (
            asset.lan in ("forbidden", "none")
            or (asset.lan == "optional" and not _picked(asset.tag))
            or (asset.is_computer and host is None)  # a computer without a report: off
        ):
            continue
        address = (
            (plant.address if plant and plant.address else None)
            or asset.ip
            or _v4(host)
            or next(pool)
        )
        if address in seen:
            continue
        mac = asset.mac or (sorted(host.macs)[0] if host and host.macs else None)
        numbers: tuple[int, ...] = CLEAN_PORTS.get(asset.type, ())
        if asset.type == "server":
            numbers = SERVER_PORTS.get((asset.platform or "windows").lower(), ())
        if plant is not None:
            numbers = numbers + plant.ports
        names = (asset.hostname,) if asset.hostname and asset.ip else ()
        add(Observation(address, mac, _vendor(mac), names, _ports(numbers, allowed)))
    # Reporting machines that are not in the register (DESKTOP-7F3K2QJ).
    for host in hosts:
        if host.unit == unit.id and not host.asset_tag:
            found = _v4(host)
            mac = sorted(host.macs)[0] if host.macs else None
            if found and unit.contains(found):
                add(Observation(found, mac, _vendor(mac)))
    for plant in planted:
        if plant.unit == unit.id and plant.kind == "unknown_device":
            assert plant.address and plant.mac
            add(
                Observation(
                    plant.address, plant.mac, _vendor(plant.mac), (), _ports(plant.ports, allowed)
                )
            )
    return sorted(seen.values(), key=lambda o: int(ipaddress.ip_address(o.address)))


@dataclass(frozen=True)
class SimulatedScan:
    scan_id: int
    unit: str
    result: Reconciliation


def simulate_scans(
    store: Store, org: Organisation, profiles_dir: Path, planted: list[LanFinding]
) -> list[SimulatedScan]:
    """Simulate, reconcile and store one scan per unit; the same path as `itaudit scan`."""
    from itaudit.scan.ports import workspace_catalogue
    from itaudit.scan.results import store_scan
    from itaudit.scan.run import ScanRequest, plan_scans, record_for

    catalogue = workspace_catalogue(profiles_dir, {u.id for u in org.units})
    hosts = known_hosts(store)
    plans = plan_scans(ScanRequest(), org, catalogue, privileged=True)
    out = []
    for plan in plans:
        assert plan.unit is not None
        started = utcnow()
        observations = simulate_unit(org, plan.unit, hosts, plan.ports.ports, planted)
        result = reconcile(
            observations,
            unit=plan.unit,
            targets=plan.targets,
            org=org,
            hosts=hosts,
            ports=plan.risks,
        )
        record = record_for(
            plan,
            started,
            utcnow(),
            status="complete",
            nmap_version=None,
            run_by=RUN_BY,
            message=MESSAGE,
            simulated=True,
        )
        out.append(SimulatedScan(store_scan(store, record, result), plan.unit.id, result))
    return out


def _assets(org: Organisation, planted: list[LanFinding]) -> None:
    tags = {a.tag for a in org.assets}
    unknown = sorted({f.asset for f in planted if f.asset and f.asset not in tags})
    if unknown:
        raise ValueError(f"defects.yaml lan_findings name unknown assets: {', '.join(unknown)}")


def stage_scan(run: Any) -> None:
    """Demo stage: a simulated LAN scan of every unit, reconciled and stored."""
    from itaudit.scan.view import SEVERITY_NAMES

    assert run.org is not None
    planted = load_lan_findings()
    _assets(run.org, planted)
    scans = simulate_scans(run.store, run.org, run.workspace.profiles, planted)
    run.results["lan"] = scans
    totals: dict[str, int] = {}
    severities: dict[str, int] = {}
    for s in scans:
        for key, value in s.result.counts().items():
            totals[key] = totals.get(key, 0) + value
        for key, value in s.result.severity_counts().items():
            severities[key] = severities.get(key, 0) + value
    devices = sum(len(s.result.devices) for s in scans)
    run.echo(
        f"LAN scans: SIMULATED (no packet sent; built from the register and the agent reports), "
        f"{len(scans)} units, {devices} devices: managed {totals['managed']}, registered "
        f"{totals['registered']}, unknown {totals['unknown']}, forbidden {totals['forbidden']}; "
        f"missing {totals['missing']}; findings: "
        + ", ".join(f"{SEVERITY_NAMES['en'][k]} {v}" for k, v in severities.items() if v)
    )
    for s in scans:
        for f in s.result.findings:
            if f.severity in ("critical", "high") or f.kind == "register-count":
                where = f.asset_tag or f.address or "-"
                run.echo(f"  {f.severity:<8} {s.unit:<13} {where:<14} {f.message('en')}")
        for m in s.result.missing:
            run.echo(
                f"  missing  {s.unit:<13} {m.asset_tag or m.hostname}: expected at {m.address or 'an unknown address'}, not seen"
            )
