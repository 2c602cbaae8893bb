"""Reconciling what a scan saw with what should be on the LAN.

Each observed device goes in one bucket:

- `forbidden`: a state-secret machine, or a device the register says must
  never be on a network (`lan = forbidden`);
- `managed`: a host that sends agent reports;
- `registered`: in the asset register, without an agent (printer, projector...);
- `unknown`: neither.

A device is recognised by its MAC first (the scan sees MACs when run as root
on the local segment), then by address and host name: the addresses and
names agents reported in their latest report, and the register's fixed
addresses and names. Register entries and reporting hosts expected on the
scanned LAN but not seen are `missing`. Findings come on top: risky open
ports, devices outside the unit's subnets, agents that reported another
address or MAC than the scan saw, and more (see KINDS).
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itaudit.identity import normalise_hostname, normalise_mac
from itaudit.org.model import Asset, Organisation, Unit
from itaudit.scan.coverage import link_local
from itaudit.scan.ports import PortRisk
from itaudit.scan.records import Observation
from itaudit.scan.targets import TargetSet
from itaudit.store import Store
from itaudit.store import tables as t

SEVERITIES = ("critical", "high", "medium", "low")
# Finding kinds, in the order they are listed.
KINDS = (
    "forbidden-device",
    "bucket-change",
    "unknown-device",
    "risky-port",
    "outside-subnets",
    "mac-mismatch",
    "address-mismatch",
    "other-unit",
    "off-lan-device",
    "register-count",
)
_FORM_TO_TYPE = {"desktop": "workstation", "laptop": "laptop", "server": "server"}
# Types whose count is compared between the register and the scan (not computers:
# agents count those better).
_COUNTED_TYPES = ("printer", "scanner", "projector", "access-point", "camera", "switch", "phone")


@dataclass(frozen=True)
class KnownHost:
    """A host with agent reports, as its latest report describes it."""

    id: int
    hostname: str
    unit: str | None
    asset_tag: str | None
    macs: frozenset[str]
    addresses: frozenset[str]  # IPv4 and IPv6 addresses of its interfaces that were up
    type: str | None  # workstation, laptop, server (from the hardware form factor)
    collected_at: datetime | None

    @property
    def name_key(self) -> str | None:
        return normalise_hostname(self.hostname)


def known_hosts(store: Store) -> list[KnownHost]:
    """Every host of the store with the MACs and addresses of its latest report."""
    with store.read() as conn:
        macs: dict[int, set[str]] = {}
        for host_id, mac in conn.execute(sa.select(t.host_macs.c.host_id, t.host_macs.c.mac)):
            macs.setdefault(host_id, set()).add(mac)
    out = []
    for row, text in store.iter_latest():
        doc = json.loads(text)
        host_macs = set(macs.get(row.id, ()))
        addresses: set[str] = set()
        network = doc.get("network") or {}
        for iface in network.get("interfaces") or ():
            mac = normalise_mac(iface.get("mac"))
            if mac:
                host_macs.add(mac)
            if not iface.get("up") or iface.get("kind") == "loopback":
                continue
            for addr in iface.get("addresses") or ():
                if addr.get("address"):
                    addresses.add(str(addr["address"]).lower())
        form = (doc.get("hardware") or {}).get("form_factor")
        out.append(
            KnownHost(
                id=row.id,
                hostname=row.hostname,
                unit=row.unit,
                asset_tag=row.asset_tag,
                macs=frozenset(host_macs),
                addresses=frozenset(addresses),
                type=_FORM_TO_TYPE.get(form or ""),
                collected_at=row.last_collected_at,
            )
        )
    return out


@dataclass(frozen=True)
class Device:
    """One observed device, reconciled."""

    observation: Observation  # bucket, asset_tag and host_id filled in
    bucket: str
    matched_by: str | None  # mac, address+hostname, address, hostname
    asset: Asset | None
    host: KnownHost | None
    likely_type: str | None = None  # for an unknown device: the type of registered ones of its make
    local: bool = False  # the scanning machine itself

    @property
    def type(self) -> str | None:
        if self.asset is not None:
            return self.asset.type
        return self.host.type if self.host else None

    @property
    def label(self) -> str:
        """The asset tag, else the host name, else nothing."""
        if self.asset is not None:
            return self.asset.tag
        return self.host.hostname if self.host else ""


@dataclass(frozen=True)
class Missing:
    """Expected on the scanned LAN, not seen."""

    source: str  # register (an entry with lan = expected) or agent (a reporting host)
    asset_tag: str | None
    host_id: int | None
    hostname: str | None
    type: str | None
    address: str | None  # where it was expected, when known


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    address: str | None = None
    mac: str | None = None
    asset_tag: str | None = None
    host_id: int | None = None
    port: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return self.asset_tag or self.detail.get("hostname") or self.address or ""

    def message(self, lang: str = "vi") -> str:
        return finding_message(self, lang)


@dataclass(frozen=True)
class Reconciliation:
    unit: str | None
    devices: tuple[Device, ...]
    missing: tuple[Missing, ...]
    findings: tuple[Finding, ...]

    def counts(self) -> dict[str, int]:
        buckets = Counter(d.bucket for d in self.devices)
        out = {b: buckets.get(b, 0) for b in ("managed", "registered", "unknown", "forbidden")}
        out["missing"] = len(self.missing)
        return out

    def severity_counts(self) -> dict[str, int]:
        found = Counter(f.severity for f in self.findings)
        return {s: found.get(s, 0) for s in SEVERITIES}

    def summary(self) -> dict[str, Any]:
        return {
            "devices": len(self.devices),
            **self.counts(),
            "findings": self.severity_counts(),
        }

    @property
    def observations(self) -> list[Observation]:
        return [d.observation for d in self.devices]


class _Index:
    """Hosts and register entries by MAC, address and host name."""

    def __init__(self, hosts: Iterable[KnownHost], org: Organisation | None):
        self.hosts = list(hosts)
        self.host_by_mac: dict[str, list[KnownHost]] = {}
        self.host_by_addr: dict[str, list[KnownHost]] = {}
        self.host_by_name: dict[str, list[KnownHost]] = {}
        self.host_by_tag: dict[str, list[KnownHost]] = {}
        for h in self.hosts:
            for mac in h.macs:
                self.host_by_mac.setdefault(mac, []).append(h)
            for addr in h.addresses:
                self.host_by_addr.setdefault(addr, []).append(h)
            if h.name_key:
                self.host_by_name.setdefault(h.name_key, []).append(h)
            if h.asset_tag:
                self.host_by_tag.setdefault(h.asset_tag, []).append(h)
        self.assets = [a for a in (org.assets if org else ()) if a.type != "website"]
        self.asset_by_mac: dict[str, Asset] = {}
        self.asset_by_ip: dict[str, list[Asset]] = {}
        self.asset_by_name: dict[str, Asset] = {}
        self.asset_by_tag: dict[str, Asset] = {}
        oui_types: dict[str, set[str]] = {}
        for a in self.assets:
            self.asset_by_tag[a.tag] = a
            if a.mac:
                self.asset_by_mac[a.mac] = a
                oui_types.setdefault(a.mac[:8], set()).add(a.type)
            if a.ip:
                self.asset_by_ip.setdefault(a.ip.lower(), []).append(a)
            name = normalise_hostname(a.hostname)
            if name:
                self.asset_by_name[name] = a
        # A maker whose registered devices are all of one type: an unknown device
        # of that make is probably one more of them (the 5th projector).
        self.oui_type = {oui: next(iter(ts)) for oui, ts in oui_types.items() if len(ts) == 1}

    @staticmethod
    def _latest(hosts: list[KnownHost]) -> KnownHost:
        return max(hosts, key=lambda h: (h.collected_at or datetime.min, h.id))

    def host_for_asset(self, asset: Asset) -> KnownHost | None:
        found = self.host_by_tag.get(asset.tag)
        return self._latest(found) if found else None

    def match(self, o: Observation) -> tuple[KnownHost | None, Asset | None, str | None]:
        names = {n for n in (normalise_hostname(x) for x in o.hostnames) if n}
        address = o.address.lower()
        if o.mac:
            hosts = self.host_by_mac.get(o.mac)
            if hosts:
                host = self._latest(hosts)
                # A host its agent's report did not tie to the register is still the
                # register entry with this MAC: the state-secret machine stays forbidden.
                return host, self._asset_of(host) or self.asset_by_mac.get(o.mac), "mac"
            by_mac = self.asset_by_mac.get(o.mac)
            if by_mac is not None:
                return self.host_for_asset(by_mac), by_mac, "mac"
        by_addr = self.host_by_addr.get(address, [])
        both = [h for h in by_addr if h.name_key in names]
        if both:
            host = self._latest(both)
            return host, self._asset_of(host), "address+hostname"
        if by_addr:
            host = self._latest(by_addr)
            return host, self._asset_of(host), "address"
        by_name = [h for n in names for h in self.host_by_name.get(n, ())]
        if by_name:
            host = self._latest(by_name)
            return host, self._asset_of(host), "hostname"
        assets = self.asset_by_ip.get(address, [])
        named = [a for a in assets if normalise_hostname(a.hostname) in names]
        method = "address+hostname" if named else "address"
        asset = (named or assets)[0] if (named or assets) else None
        if asset is None:
            asset = next(
                (self.asset_by_name[n] for n in sorted(names) if n in self.asset_by_name), None
            )
            method = "hostname"
        if asset is None:
            return None, None, None
        return self.host_for_asset(asset), asset, method

    def _asset_of(self, host: KnownHost) -> Asset | None:
        return self.asset_by_tag.get(host.asset_tag or "")


def _is_forbidden(asset: Asset | None) -> bool:
    return asset is not None and (asset.secret or asset.lan == "forbidden")


def _device_findings(
    d: Device, unit: Unit | None, ports: dict[int, PortRisk], org: Organisation | None
) -> list[Finding]:
    o = d.observation
    common: dict[str, Any] = {
        "address": o.address,
        "mac": o.mac,
        "asset_tag": d.asset.tag if d.asset else None,
        "host_id": d.host.id if d.host else None,
    }
    hostname = d.host.hostname if d.host else (d.asset.hostname if d.asset else None)
    base = {"hostname": hostname or (o.hostnames[0] if o.hostnames else None)}
    out: list[Finding] = []
    if d.bucket == "forbidden":
        assert d.asset is not None
        out.append(
            Finding(
                "forbidden-device",
                "critical",
                detail={
                    **base,
                    "secret": d.asset.secret,
                    "lan": d.asset.lan,
                    # Where and when it was seen: a device carried from an earlier scan
                    # names that scan (None: this one).
                    "seen_at": o.seen_at.isoformat() if o.seen_at else None,
                    "seen_scan": o.seen_scan_id,
                    "method": o.method,
                    "mac_source": o.mac_source,
                },
                **common,
            )
        )
    elif d.bucket == "unknown" and not d.local:
        out.append(
            Finding(
                "unknown-device",
                "medium",
                detail={
                    **base,
                    "vendor": o.vendor,
                    "names": list(o.hostnames),
                    "likely_type": d.likely_type,
                    "randomised_mac": o.randomised_mac,
                },
                **common,
            )
        )
    kind = d.type
    for p in o.open_ports:
        risk = ports.get(p.port)
        if risk is None or (kind is not None and kind in risk.expected_on):
            continue
        out.append(
            Finding(
                "risky-port",
                risk.risk,
                port=p.port,
                detail={
                    **base,
                    "service": p.service or risk.service,
                    "type": kind,
                    "note_vi": risk.note_vi,
                    "note_en": risk.note_en,
                },
                **common,
            )
        )
    # A link-local IPv6 address is on the unit's link by construction (found by
    # neighbour discovery on the interface facing its subnets).
    if unit is not None and not unit.contains(o.address) and not link_local(o.address):
        out.append(
            Finding(
                "outside-subnets",
                "medium",
                detail={**base, "unit": unit.id, "subnets": [str(n) for n in unit.subnets]},
                **common,
            )
        )
    if d.host is not None:
        if o.mac and o.mac not in d.host.macs:
            out.append(
                Finding(
                    "mac-mismatch",
                    "medium",
                    detail={**base, "reported": sorted(d.host.macs), "matched_by": d.matched_by},
                    **common,
                )
            )
        if d.host.addresses and o.address.lower() not in d.host.addresses:
            out.append(
                Finding(
                    "address-mismatch",
                    "low",
                    detail={
                        **base,
                        "reported": sorted(d.host.addresses),
                        "matched_by": d.matched_by,
                    },
                    **common,
                )
            )
    owner = d.asset.unit if d.asset else (d.host.unit if d.host else None)
    if unit is not None and owner is not None and owner != unit.id and org and org.unit(owner):
        out.append(
            Finding("other-unit", "low", detail={**base, "owner": owner, "unit": unit.id}, **common)
        )
    if d.asset is not None and d.asset.lan == "none" and d.bucket != "forbidden":
        out.append(
            Finding("off-lan-device", "low", detail={**base, "type": d.asset.type}, **common)
        )
    return out


def _count_findings(devices: list[Device], unit: Unit, index: _Index) -> list[Finding]:
    """Devices of a type the scan saw more of than the register lists (the 5th projector)."""
    registered = Counter(
        a.type for a in index.assets if a.unit == unit.id and a.lan in ("expected", "optional")
    )
    seen = Counter(d.asset.type for d in devices if d.asset is not None and d.asset.unit == unit.id)
    extra = Counter(d.likely_type for d in devices if d.bucket == "unknown" and d.likely_type)
    out = []
    for kind in _COUNTED_TYPES:
        if extra.get(kind):
            out.append(
                Finding(
                    "register-count",
                    "low",
                    detail={
                        "type": kind,
                        "registered": registered.get(kind, 0),
                        "seen": seen.get(kind, 0) + extra[kind],
                        "unregistered": extra[kind],
                        "unit": unit.id,
                    },
                )
            )
    return out


def _expected_address(asset: Asset | None, host: KnownHost | None) -> str | None:
    if asset is not None and asset.ip:
        return asset.ip
    if host is not None:
        v4 = sorted(a for a in host.addresses if ":" not in a)
        return v4[0] if v4 else None
    return None


def _within(address: str | None, unit: Unit, targets: TargetSet) -> bool:
    """Whether a device expected at `address` should have answered this scan."""
    if address is None:
        # Address unknown (DHCP): expected only when the scan covered the whole unit.
        return all(targets.covers(n) for n in unit.subnets)
    return unit.contains(address) and targets.contains(address)


def _missing(devices: list[Device], unit: Unit, targets: TargetSet, index: _Index) -> list[Missing]:
    seen_tags = {d.asset.tag for d in devices if d.asset is not None}
    seen_hosts = {d.host.id for d in devices if d.host is not None}
    out: list[Missing] = []
    for asset in index.assets:
        if asset.unit != unit.id or asset.lan != "expected" or asset.tag in seen_tags:
            continue
        host = index.host_for_asset(asset)
        if host is not None and host.id in seen_hosts:
            continue
        address = _expected_address(asset, host)
        if _within(address, unit, targets):
            out.append(
                Missing(
                    "register",
                    asset.tag,
                    host.id if host else None,
                    asset.hostname or (host.hostname if host else None),
                    asset.type,
                    address,
                )
            )
    for host in index.hosts:
        if host.id in seen_hosts or host.unit != unit.id:
            continue
        if host.asset_tag and host.asset_tag in index.asset_by_tag:
            continue  # a registered machine: the register says whether it is expected
        address = _expected_address(None, host)
        if address is not None and _within(address, unit, targets):
            out.append(Missing("agent", None, host.id, host.hostname, host.type, address))
    out.sort(key=lambda m: (m.asset_tag or "~", m.hostname or ""))
    return out


def reconcile(
    observations: Iterable[Observation],
    *,
    unit: Unit | None,
    targets: TargetSet,
    org: Organisation | None,
    hosts: Iterable[KnownHost],
    ports: dict[int, PortRisk],
    local_addresses: frozenset[str] = frozenset(),
    before: Iterable[Observation] = (),
) -> Reconciliation:
    """Buckets, missing entries and findings for one scan (pure: reads nothing).
    `before`: the unit's previous LAN state, whose buckets a device must not
    silently leave (`bucket-change`)."""
    index = _Index(hosts, org)
    devices: list[Device] = []
    for o in observations:
        host, asset, method = index.match(o)
        if _is_forbidden(asset):
            bucket = "forbidden"
        elif host is not None:
            bucket = "managed"
        elif asset is not None:
            bucket = "registered"
        else:
            bucket = "unknown"
        likely = index.oui_type.get(o.mac[:8]) if bucket == "unknown" and o.mac else None
        devices.append(
            Device(
                observation=replace(
                    o,
                    bucket=bucket,
                    asset_tag=asset.tag if asset else (host.asset_tag if host else None),
                    host_id=host.id if host else None,
                ),
                bucket=bucket,
                matched_by=method,
                asset=asset,
                host=host,
                likely_type=likely,
                local=o.address in local_addresses,
            )
        )
    findings = [f for d in devices for f in _device_findings(d, unit, ports, org)]
    findings.extend(_bucket_changes(devices, before))
    missing: list[Missing] = []
    if unit is not None:
        findings.extend(_count_findings(devices, unit, index))
        missing = _missing(devices, unit, targets, index)
    findings.sort(
        key=lambda f: (
            SEVERITIES.index(f.severity),
            KINDS.index(f.kind),
            _addr_key(f.address),
            f.port or 0,
        )
    )
    return Reconciliation(
        unit.id if unit else None, tuple(devices), tuple(missing), tuple(findings)
    )


def _bucket_changes(devices: list[Device], before: Iterable[Observation]) -> list[Finding]:
    """A device that was forbidden in the unit's previous state and is now in another
    bucket (the register changed, or the device at its address looks different):
    never a silent change."""
    was_by_mac = {o.mac: o for o in before if o.mac and o.bucket == "forbidden"}
    was_by_addr = {o.address: o for o in before if o.bucket == "forbidden"}
    # A forbidden device still forbidden elsewhere (it moved) is no change at its old address.
    still = {d.observation.mac for d in devices if d.bucket == "forbidden" and d.observation.mac}
    out = []
    for d in devices:
        o = d.observation
        if d.bucket == "forbidden":
            continue
        was = was_by_mac.get(o.mac) if o.mac else None
        if was is None:
            was = was_by_addr.get(o.address)
        if was is None or (was.mac is not None and was.mac in still):
            continue
        out.append(
            Finding(
                "bucket-change",
                "high",
                address=o.address,
                mac=o.mac,
                asset_tag=o.asset_tag or was.asset_tag,
                host_id=o.host_id,
                detail={
                    "hostname": o.hostnames[0] if o.hostnames else None,
                    "before": was.bucket,
                    "now": d.bucket,
                    "before_tag": was.asset_tag,
                    "before_address": was.address,
                    "before_mac": was.mac,
                    "before_seen_at": was.seen_at.isoformat() if was.seen_at else None,
                    "before_scan": was.seen_scan_id,
                },
            )
        )
    return out


def _addr_key(address: str | None) -> tuple[int, int]:
    if address is None:
        return (1, 0)
    try:
        return (0, int(ipaddress.ip_address(address)))
    except ValueError:
        return (0, 0)


# -- wording -----------------------------------------------------------------
_TYPE_VI = {
    "workstation": "máy trạm",
    "laptop": "máy tính xách tay",
    "server": "máy chủ",
    "tablet": "máy tính bảng",
    "printer": "máy in",
    "scanner": "máy quét",
    "projector": "máy chiếu",
    "access-point": "điểm truy cập Wi-Fi",
    "switch": "thiết bị chuyển mạch",
    "router": "bộ định tuyến",
    "firewall": "tường lửa",
    "camera": "camera",
    "phone": "điện thoại",
    "nas": "thiết bị lưu trữ mạng",
    "ups": "bộ lưu điện",
    "other": "thiết bị khác",
}


_BUCKET_VI = {"managed": "có tác tử", "registered": "đã đăng ký", "unknown": "không rõ"}


def _carried_note(f: Finding, vi: bool) -> str:
    """Where and when, for a device this scan did not cover but an earlier one saw."""
    d = f.detail
    if not d.get("seen_scan"):
        return ""
    when = str(d.get("seen_at") or "?")[:16].replace("T", " ")
    where = (f.address or "?") + (f" (MAC {f.mac})" if f.mac else "")
    return (
        f". Thấy tại {where} lúc {when} UTC (lần quét #{d['seen_scan']}); lần quét này không "
        "bao phủ địa chỉ đó nên máy vẫn được tính là đang kết nối"
        if vi
        else f". Seen at {where} at {when} UTC (scan #{d['seen_scan']}); this scan did not "
        "cover that address, so it still counts as connected"
    )


def type_name(kind: str | None, lang: str) -> str:
    if kind is None:
        return "thiết bị" if lang == "vi" else "device"
    return _TYPE_VI.get(kind, kind) if lang == "vi" else kind


def finding_message(f: Finding, lang: str = "vi") -> str:
    """One sentence for a finding, in Vietnamese or English."""
    d = f.detail
    vi = lang == "vi"
    if f.kind == "forbidden-device":
        if d.get("secret"):
            text = (
                f"Máy lưu trữ tài liệu mật {f.asset_tag} đang kết nối mạng LAN: cấm theo "
                "Luật Bảo vệ bí mật nhà nước 29/2018/QH14, Điều 5.5; ngắt kết nối ngay"
                if vi
                else f"State-secret machine {f.asset_tag} is on the LAN, which Law 29/2018/QH14 "
                "on state secrets (Art. 5.5) forbids; disconnect it now"
            )
        else:
            text = (
                f"Thiết bị {f.asset_tag} không được kết nối mạng (sổ tài sản: lan = forbidden) "
                "nhưng đang có trên LAN"
                if vi
                else f"Device {f.asset_tag} must never be on a network (register: lan = forbidden) "
                "but is on the LAN"
            )
        return text + _carried_note(f, vi)
    if f.kind == "bucket-change":
        when = (d.get("before_seen_at") or "?")[:16].replace("T", " ")
        return (
            f"Thiết bị tại {f.address} trước đây là {d.get('before_tag') or '?'} (BỊ CẤM, thấy "
            f"lúc {when} UTC, lần quét #{d.get('before_scan')}), nay thuộc nhóm "
            f"{_BUCKET_VI.get(d.get('now') or '', d.get('now'))}: kiểm tra tại chỗ"
            if vi
            else f"The device at {f.address} was {d.get('before_tag') or '?'} (FORBIDDEN, seen "
            f"{when} UTC, scan #{d.get('before_scan')}) and is now {d.get('now')}: check on site"
        )
    if f.kind == "unknown-device":
        vendor = d.get("vendor") or ("không rõ" if vi else "unknown")
        likely = d.get("likely_type")
        random = d.get("randomised_mac")
        if vi:
            text = f"Thiết bị lạ: không có trong sổ tài sản, không gửi báo cáo (hãng: {vendor})"
            text += f"; có thể là {type_name(likely, 'vi')} chưa đăng ký" if likely else ""
            return text + (
                f"; MAC {f.mac} là MAC ngẫu nhiên (do thiết bị tự đặt, thường là điện thoại "
                "hoặc máy tính bật chế độ riêng tư): MAC sẽ đổi, hãy tìm thiết bị theo địa chỉ "
                "IP hoặc cổng switch"
                if random
                else ""
            )
        text = f"Unknown device: not in the asset register and sends no report (vendor: {vendor})"
        text += f"; probably an unregistered {likely}" if likely else ""
        return text + (
            f"; MAC {f.mac} is a randomised MAC (made up by the device, usually a phone or a "
            "laptop with private addresses on): it will change, find the device by its IP "
            "address or switch port"
            if random
            else ""
        )
    if f.kind == "risky-port":
        service = d.get("service") or "?"
        note = d.get("note_vi" if vi else "note_en") or ""
        return (
            f"Cổng {f.port}/{service} đang mở: {note}"
            if vi
            else f"Port {f.port}/{service} is open: {note}"
        )
    if f.kind == "outside-subnets":
        subnets = ", ".join(d.get("subnets") or ())
        return (
            f"Địa chỉ {f.address} nằm ngoài dải mạng của đơn vị {d.get('unit')} ({subnets})"
            if vi
            else f"Address {f.address} is outside the subnets of unit {d.get('unit')} ({subnets})"
        )
    if f.kind == "mac-mismatch":
        reported = ", ".join(d.get("reported") or ()) or "-"
        return (
            f"Tác tử báo MAC {reported}, quét mạng thấy {f.mac} (thay card mạng, hay giả mạo?)"
            if vi
            else f"The agent reported MAC {reported}; the scan saw {f.mac} "
            "(a replaced network card, or spoofing?)"
        )
    if f.kind == "address-mismatch":
        reported = ", ".join(d.get("reported") or ()) or "-"
        return (
            f"Tác tử báo địa chỉ {reported}, quét mạng thấy {f.address}"
            if vi
            else f"The agent reported address {reported}; the scan saw {f.address}"
        )
    if f.kind == "other-unit":
        return (
            f"Thiết bị của đơn vị {d.get('owner')} đang ở mạng LAN của đơn vị {d.get('unit')}"
            if vi
            else f"A device of unit {d.get('owner')} is on the LAN of unit {d.get('unit')}"
        )
    if f.kind == "off-lan-device":
        return (
            "Sổ tài sản ghi thiết bị này không nằm trên LAN của đơn vị (lan = none), "
            "nhưng quét mạng thấy nó: sửa sổ hoặc kiểm tra thiết bị"
            if vi
            else "The register says this device is not on the unit's LAN (lan = none), "
            "yet the scan saw it: correct the register or check the device"
        )
    if f.kind == "register-count":
        kind = d.get("type")
        return (
            f"Sổ tài sản ghi {d.get('registered')} {type_name(kind, 'vi')}, quét mạng thấy "
            f"{d.get('seen')} ({d.get('unregistered')} thiết bị cùng hãng chưa đăng ký)"
            if vi
            else f"The register lists {d.get('registered')} {kind}(s); the scan saw "
            f"{d.get('seen')} ({d.get('unregistered')} of the same make not registered)"
        )
    return f.kind
