"""The context facts of a machine: its register entry, unit, store row, LAN sightings.

These fill the `$asset`, `$unit`, `$host`, `$lan` and `$org` namespaces
declared in `itaudit.profiles.types.NAMESPACES`. Indexes are built once per
check run, so a machine costs a few dictionary look-ups.

A machine missing from the register still gets `$asset` facts: `registered`
false, its type from the reported form factor (laptop, server; otherwise
workstation), LAN placement by type (laptops optional, others expected), and
never state-secret (nothing declares it so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itaudit.check.engine import Traits
from itaudit.org.model import Asset, Organisation, Unit

_DEFAULT_LAN = {"workstation": "expected", "laptop": "optional", "server": "expected"}


@dataclass
class Subject:
    """One thing evaluated: a reporting machine, a silent register entry, or a unit."""

    kind: str  # host, asset, unit
    unit: str | None
    hostname: str | None
    asset_tag: str | None
    host_id: int | None
    report_id: int | None
    collected_at: datetime | None
    asset_type: str | None
    platform: str | None
    traits: Traits | None
    ns: dict[str, dict[str, Any]]
    doc: dict[str, Any] | None


def type_from_report(doc: dict[str, Any] | None) -> str:
    hw = (doc or {}).get("hardware") or {}
    form = hw.get("form_factor")
    if form == "laptop":
        return "laptop"
    if form == "server":
        return "server"
    if form == "vm" and ((doc or {}).get("os") or {}).get("server"):
        return "server"
    return "workstation"


def _macs(doc: dict[str, Any] | None) -> set[str]:
    if not doc:
        return set()
    found = set((doc.get("identity") or {}).get("macs") or ())
    for iface in (doc.get("network") or {}).get("interfaces") or ():
        if isinstance(iface, dict) and iface.get("mac"):
            found.add(iface["mac"])
    return found


class FactIndex:
    """Everything the checker knows besides reports, indexed for the run."""

    def __init__(
        self,
        org: Organisation,
        sightings: list[Any] | None = None,
        scanned_units: set[str | None] | None = None,
    ):
        self.org = org
        self.assets = {a.tag: a for a in org.assets}
        self._asset_ns: dict[str, dict[str, Any]] = {}
        self._unit_ns: dict[str | None, dict[str, Any]] = {}
        team = org.team
        self.org_ns = {
            "framework": org.framework,
            "incident_team_last_drill": team.last_drill if team else None,
        }
        self.scanned = scanned_units or set()
        self._unseen_ns: dict[str | None, dict[str, Any]] = {}
        self._any_sighting = False
        self._by_host: dict[int, list[Any]] = {}
        self._by_tag: dict[str, list[Any]] = {}
        self._by_mac: dict[str, list[Any]] = {}
        for s in sightings or ():
            obs = s.observation
            if obs.state != "up":
                continue
            self._any_sighting = True
            if obs.host_id is not None:
                self._by_host.setdefault(obs.host_id, []).append(s)
            if obs.asset_tag:
                self._by_tag.setdefault(obs.asset_tag, []).append(s)
            if obs.mac:
                self._by_mac.setdefault(obs.mac.lower(), []).append(s)

    # -- namespaces --------------------------------------------------------------
    def unit_ns(self, unit_id: str | None) -> dict[str, Any]:
        found = self._unit_ns.get(unit_id)
        if found is None:
            unit: Unit | None = self.org.unit(unit_id) if unit_id else None
            found = {
                "id": unit.id if unit else unit_id,
                "subnets": tuple(unit.subnets) if unit else None,
                "gateway": str(unit.gateway) if unit and unit.gateway else None,
                "last_assessment": unit.last_assessment if unit else None,
                "approval_date": unit.approval.date if unit and unit.approval else None,
                "staff": unit.staff if unit else None,
                "profile": unit.profile if unit else None,
            }
            self._unit_ns[unit_id] = found
        return found

    def asset_ns(self, asset: Asset) -> dict[str, Any]:
        found = self._asset_ns.get(asset.tag)
        if found is None:
            found = {
                "registered": True,
                "tag": asset.tag,
                "type": asset.type,
                "secret": asset.secret,
                "lan": asset.lan,
                "hosted_offsite": asset.hosted_offsite,
                "platform": asset.platform,
                "unit": asset.unit,
                "hostname": asset.hostname,
                "ip": asset.ip,
                "assigned_to": asset.assigned_to,
                "location": asset.location,
            }
            self._asset_ns[asset.tag] = found
        return found

    def _unseen(self, unit: str | None) -> dict[str, Any]:
        found = self._unseen_ns.get(unit)
        if found is None:
            scanned = unit in self.scanned
            found = self._unseen_ns[unit] = {
                "scanned": scanned,
                "seen": False if scanned else None,
                "sightings": 0,
                "last_seen_at": None,
                "addresses": [],
                "where": [],
            }
        return found

    def lan_ns(
        self, unit: str | None, host_id: int | None, tag: str | None, macs: set[str]
    ) -> dict[str, Any]:
        if not self._any_sighting:
            return self._unseen(unit)
        scanned = unit in self.scanned
        seen: dict[int, Any] = {}
        if host_id is not None:
            for s in self._by_host.get(host_id, ()):
                seen[id(s)] = s
        if tag:
            for s in self._by_tag.get(tag, ()):
                seen[id(s)] = s
        for mac in macs:
            for s in self._by_mac.get(mac.lower(), ()):
                seen[id(s)] = s
        if not seen:
            return self._unseen(unit)
        hits = list(seen.values())
        return {
            "scanned": scanned,
            "seen": True,  # a sighting counts even when it came from another unit's scan
            "sightings": len(hits),
            # When it was actually seen: a scan that did not cover it carries the earlier sighting.
            "last_seen_at": max((s.seen_at for s in hits if s.seen_at), default=None),
            "addresses": sorted({s.observation.address for s in hits}),
            "where": sorted({s.where for s in hits}),
        }

    # -- subjects --------------------------------------------------------------
    def host_subject(self, row: Any, doc: dict[str, Any]) -> Subject:
        """A machine with a report. `row` has the HostRow fields and `report_id`."""
        asset = self.assets.get(row.asset_tag) if row.asset_tag else None
        platform = doc.get("platform") or row.platform
        if asset is not None:
            ans = self.asset_ns(asset)
            unit = asset.unit
            kind = asset.type if asset.type in _DEFAULT_LAN else type_from_report(doc)
            secret, lan = asset.secret, asset.lan
        else:
            unit = row.unit
            kind = type_from_report(doc)
            secret, lan = False, _DEFAULT_LAN[kind]
            ans = {
                "registered": False,
                "tag": None,
                "type": kind,
                "secret": False,
                "lan": lan,
                "hosted_offsite": False,
                "platform": platform,
                "unit": unit,
                "hostname": row.hostname,
                "ip": None,
                "assigned_to": None,
                "location": None,
            }
        ns = {
            "asset": ans,
            "unit": self.unit_ns(unit),
            "host": {
                "reported": True,
                # Either the agent's Ed25519 or the Windows collector's bundle signature
                # (verified by ingest before storing).
                "signed": "signature" in doc or "bundle_signature" in doc,
                "name": row.hostname,
                "last_collected_at": row.last_collected_at,
                "match_method": row.match_method,
                "key_fingerprint": row.key_fingerprint,
                "unit_source": row.unit_source,
                "name_conflict": getattr(row, "conflict_state", None) == "suspect",
            },
            "lan": self.lan_ns(
                unit,
                row.id,
                asset.tag if asset else None,
                _macs(doc) if self._any_sighting else set(),
            ),
            "org": self.org_ns,
            "attestation": {},
        }
        return Subject(
            "host",
            unit,
            row.hostname,
            asset.tag if asset else None,
            row.id,
            row.report_id,
            row.last_collected_at,
            kind,
            platform,
            Traits(kind, platform, secret, lan, True),
            ns,
            doc,
        )

    def register_subject(self, asset: Asset) -> Subject:
        """A register computer that never reported."""
        kind = asset.type if asset.type in _DEFAULT_LAN else "workstation"
        ns = {
            "asset": self.asset_ns(asset),
            "unit": self.unit_ns(asset.unit),
            "host": {
                "reported": False,
                "signed": None,
                "name": asset.hostname,
                "last_collected_at": None,
                "match_method": None,
                "key_fingerprint": None,
                "unit_source": None,
                "name_conflict": False,
            },
            "lan": self.lan_ns(asset.unit, None, asset.tag, {asset.mac} if asset.mac else set()),
            "org": self.org_ns,
            "attestation": {},
        }
        return Subject(
            "asset",
            asset.unit,
            asset.hostname,
            asset.tag,
            None,
            None,
            None,
            kind,
            asset.platform,
            Traits(kind, asset.platform, asset.secret, asset.lan, False),
            ns,
            None,
        )

    def unit_subject(self, unit_id: str) -> Subject:
        ns = {"unit": self.unit_ns(unit_id), "org": self.org_ns, "attestation": {}}
        return Subject("unit", unit_id, None, None, None, None, None, None, None, None, ns, None)
