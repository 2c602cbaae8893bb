"""Storing scans and reading what the latest scans saw.

This is the contract between the LAN scan (which writes) and the checker and
reports (which read): a scan is stored with its observations; reconciliation
fills each observation's bucket, asset tag and host; `latest_sightings` gives
the observations of the latest complete scan of each unit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itaudit.scan import tables as st
from itaudit.store import Store

BUCKETS = ("managed", "registered", "unknown", "forbidden")


@dataclass(frozen=True)
class Port:
    port: int
    proto: str = "tcp"
    service: str | None = None


@dataclass(frozen=True)
class Observation:
    """One device a scan saw."""

    address: str
    mac: str | None = None
    vendor: str | None = None
    hostnames: tuple[str, ...] = ()
    open_ports: tuple[Port, ...] = ()
    state: str = "up"
    bucket: str | None = None
    asset_tag: str | None = None
    host_id: int | None = None
    # How it was found: raw (root: ARP on the local link, ICMP/SYN beyond), connect
    # (TCP connect, no raw sockets), nd (IPv6 neighbour discovery). See scan.coverage.
    method: str | None = None
    # Where the MAC came from: nmap, neighbour (the OS neighbour table after the
    # probe), earlier (kept from an earlier scan that identified the device at this
    # address by a stronger method: a weaker scan never demotes an identification).
    mac_source: str | None = None
    # Set on a device carried from an earlier scan that this scan did not cover:
    # when and by which scan it was last actually seen. None: seen by this scan.
    seen_at: datetime | None = None
    seen_scan_id: int | None = None

    @property
    def carried(self) -> bool:
        return self.seen_scan_id is not None

    @property
    def randomised_mac(self) -> bool:
        """A locally administered MAC (second bit of the first octet): phones and
        laptops with private Wi-Fi addresses make one up, and change it."""
        return mac_is_randomised(self.mac)


def mac_is_randomised(mac: str | None) -> bool:
    if not mac:
        return False
    try:
        return bool(int(mac[:2], 16) & 0x02)
    except ValueError:
        return False


@dataclass(frozen=True)
class ScanRecord:
    targets: tuple[str, ...]
    target_key: str
    started_at: datetime
    finished_at: datetime | None
    status: str = "complete"
    unit: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    nmap_version: str | None = None
    run_by: str | None = None
    addresses: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Sighting:
    """An observation of a unit's LAN state: `scan_id` and `scanned_at` are the scan
    that holds the state (the unit's latest complete scan); `seen_at` and
    `seen_scan_id` when and by which scan the device was actually last seen (an
    earlier one for a device the latest scan did not cover)."""

    scan_id: int
    unit: str | None
    scanned_at: datetime
    observation: Observation

    @property
    def seen_at(self) -> datetime:
        return self.observation.seen_at or self.scanned_at

    @property
    def seen_scan_id(self) -> int:
        return self.observation.seen_scan_id or self.scan_id

    @property
    def where(self) -> str:
        """Where and when it was seen, for evidence: address, MAC, time (UTC), scan."""
        o = self.observation
        mac = f" MAC {o.mac}" if o.mac else ""
        when = self.seen_at.strftime("%Y-%m-%d %H:%M") if self.seen_at else "?"
        return f"{o.address}{mac} {when} UTC scan #{self.seen_scan_id}"


def _obs_row(scan_id: int, o: Observation) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "address": o.address,
        "mac": o.mac,
        "vendor": (o.vendor or None) and o.vendor[:128],
        "hostnames": json.dumps([h[:253] for h in o.hostnames]),
        "open_ports": json.dumps(
            [{"port": p.port, "proto": p.proto, "service": p.service} for p in o.open_ports]
        ),
        "state": o.state,
        "bucket": o.bucket,
        "asset_tag": o.asset_tag,
        "host_id": o.host_id,
        "method": o.method,
        "mac_source": o.mac_source,
        "seen_at": o.seen_at,
        "seen_scan_id": o.seen_scan_id,
    }


def save_scan(store: Store, scan: ScanRecord, observations: list[Observation]) -> int:
    """Store a scan and its observations in one transaction; return the scan id."""
    with store.write() as conn:
        return insert_scan(conn, scan, observations)


def insert_scan(conn: sa.Connection, scan: ScanRecord, observations: list[Observation]) -> int:
    """`save_scan` inside the caller's write transaction (to store more with it)."""
    key = conn.execute(
        st.scans.insert().values(
            unit=scan.unit,
            targets=json.dumps(list(scan.targets)),
            target_key=scan.target_key[:512],
            options=json.dumps(scan.options, sort_keys=True),
            started_at=scan.started_at,
            finished_at=scan.finished_at,
            status=scan.status,
            nmap_version=scan.nmap_version,
            run_by=(scan.run_by or None) and scan.run_by[:128],
            addresses=scan.addresses,
            # Devices this scan saw itself, not those carried from earlier scans.
            hosts_up=sum(1 for o in observations if o.state == "up" and not o.carried),
            message=(scan.message or None) and scan.message[:1024],
        )
    ).inserted_primary_key
    assert key is not None
    scan_id = int(key[0])
    if observations:
        conn.execute(st.scan_observations.insert(), [_obs_row(scan_id, o) for o in observations])
    return scan_id


def _observation(m: Any) -> Observation:
    return Observation(
        address=m["address"],
        mac=m["mac"],
        vendor=m["vendor"],
        hostnames=tuple(json.loads(m["hostnames"])),
        open_ports=tuple(
            Port(p["port"], p.get("proto", "tcp"), p.get("service"))
            for p in json.loads(m["open_ports"])
        ),
        state=m["state"],
        bucket=m["bucket"],
        asset_tag=m["asset_tag"],
        host_id=m["host_id"],
        method=m["method"],
        mac_source=m["mac_source"],
        seen_at=m["seen_at"],
        seen_scan_id=m["seen_scan_id"],
    )


def latest_scan_ids(
    conn: sa.Connection, unit: str | None = None, before: datetime | None = None
) -> dict[str | None, int]:
    """The latest complete scan of each unit (key None: scans outside any unit);
    with `before` (naive UTC), the latest that finished at or before it."""
    s = st.scans
    query = (
        sa.select(s.c.unit, sa.func.max(s.c.id)).where(s.c.status == "complete").group_by(s.c.unit)
    )
    if unit is not None:
        query = query.where(s.c.unit == unit)
    if before is not None:
        query = query.where(s.c.finished_at <= before)
    return {row[0]: row[1] for row in conn.execute(query)}


def latest_sightings(
    store: Store, unit: str | None = None, before: datetime | None = None
) -> list[Sighting]:
    """Every observation of the latest complete scan of each unit (or of `unit`),
    as of `before` when given."""
    with store.read() as conn:
        ids = latest_scan_ids(conn, unit, before)
        if not ids:
            return []
        rows = conn.execute(
            sa.select(st.scan_observations, st.scans.c.unit, st.scans.c.finished_at)
            .join(st.scans, st.scans.c.id == st.scan_observations.c.scan_id)
            .where(st.scan_observations.c.scan_id.in_(list(ids.values())))
            .order_by(st.scan_observations.c.id)
        ).all()
    return [
        Sighting(
            scan_id=r._mapping["scan_id"],
            unit=r._mapping["unit"],
            scanned_at=r._mapping["finished_at"],
            observation=_observation(r._mapping),
        )
        for r in rows
    ]
