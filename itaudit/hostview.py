"""What `itaudit hosts` shows: rows for the list, sections for one host.

Kept apart from the CLI so the reports can reuse the same wording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itaudit.org.model import Organisation
from itaudit.store import HostRow, Store, utcnow


def age_text(then: datetime | None, now: datetime | None = None) -> str:
    if then is None:
        return "never"
    delta = (now or utcnow()) - then
    days = delta.days
    if days >= 1:
        return f"{days} d"
    hours = delta.seconds // 3600
    return f"{hours} h" if hours else f"{delta.seconds // 60} min"


def os_label(doc: dict[str, Any]) -> str:
    os_ = doc.get("os") or {}
    name = os_.get("name") or doc.get("platform", "")
    extra = os_.get("display_version")
    if os_.get("build") is not None:
        rev = os_.get("patch_revision")
        extra = f"{extra or ''} {os_['build']}{'.' + str(rev) if rev is not None else ''}".strip()
    return f"{name} ({extra})" if extra else name


@dataclass(frozen=True)
class HostLine:
    unit: str | None
    hostname: str
    type: str
    os: str
    last_report: str
    asset: str | None
    match: str | None
    signed: bool


def host_lines(store: Store, org: Organisation | None, unit: str | None = None) -> list[HostLine]:
    now = utcnow()
    lines = []
    for host, text in store.iter_latest(unit=unit):
        doc = json.loads(text)
        asset = org.asset(host.asset_tag) if org and host.asset_tag else None
        kind = asset.type if asset else (doc.get("hardware") or {}).get("form_factor") or "unknown"
        lines.append(
            HostLine(
                unit=host.unit,
                hostname=host.hostname,
                type=kind,
                os=os_label(doc),
                last_report=age_text(host.last_collected_at, now),
                asset=host.asset_tag,
                match=host.match_method,
                signed="signature" in doc,
            )
        )
    lines.sort(key=lambda h: (h.unit or "~", h.hostname.lower()))
    return lines


def never_reported(store: Store, org: Organisation, unit: str | None = None) -> list[Any]:
    """Register computers with no matched report (not state-secret ones off the LAN: they report by USB too)."""
    matched = {h.asset_tag for h in store.hosts() if h.asset_tag}
    return [
        a
        for a in org.assets
        if a.is_computer and a.tag not in matched and (unit is None or a.unit == unit)
    ]


def host_sections(host: HostRow, doc: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Readable facts of one report, grouped; values are plain strings."""

    def v(value: Any) -> str:
        if value is None:
            return "unknown"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    ident = doc["identity"]
    os_ = doc.get("os") or {}
    hw = doc.get("hardware") or {}
    net = doc.get("network") or {}
    sec = doc.get("security") or {}
    pat = doc.get("patches") or {}
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        (
            "Identity",
            [
                ("host name", ident["hostname"]),
                ("unit", f"{v(host.unit)} (from {v(host.unit_source)})"),
                ("asset tag", f"{v(host.asset_tag)} (matched by {v(host.match_method)})"),
                ("hardware UUID", v(ident.get("hardware_uuid"))),
                ("serial", v(ident.get("serial"))),
                ("MAC addresses", ", ".join(ident.get("macs", [])) or "none"),
                ("collected at", doc["collected_at"]),
                (
                    "agent",
                    f"{doc['agent']['name']} {doc['agent']['version']} ({doc['agent']['collector']})",
                ),
                ("signed", f"yes, key {host.key_fingerprint}" if "signature" in doc else "no"),
            ],
        ),
        (
            "Operating system",
            [
                ("name", os_label(doc)),
                ("edition", v(os_.get("edition"))),
                ("kernel", v(os_.get("kernel"))),
            ],
        ),
        (
            "Hardware",
            [
                ("form factor", v(hw.get("form_factor"))),
                ("model", f"{v(hw.get('manufacturer'))} {v(hw.get('model'))}"),
                (
                    "memory",
                    f"{hw['memory_bytes'] // 2**20} MiB" if hw.get("memory_bytes") else "unknown",
                ),
            ],
        ),
    ]
    nets = []
    for iface in net.get("interfaces", []):
        addrs = ", ".join(
            f"{a['address']}/{a.get('prefix_length', '?')}" for a in iface.get("addresses", [])
        )
        nets.append(
            (
                iface["name"],
                f"{iface['kind']}, {'up' if iface['up'] else 'down'}, {addrs or 'no address'}",
            )
        )
    nets.append(("default gateways", ", ".join(net.get("default_gateways", [])) or "none"))
    nets.append(("network history", f"{len(net.get('profile_history', []))} profile(s)"))
    sections.append(("Network", nets))
    secs = []
    for av in sec.get("antivirus", []):
        secs.append(
            (
                f"antivirus {av['name']}",
                f"enabled {v(av.get('enabled'))}, up to date {v(av.get('up_to_date'))}, "
                f"signatures {v(av.get('signature_date'))}, mode {v(av.get('mode'))}",
            )
        )
    for edr in sec.get("edr", []):
        secs.append(
            (
                f"EDR {edr['name']}",
                f"running {v(edr.get('running'))}, connected {v(edr.get('connected'))}",
            )
        )
    fw = sec.get("firewall") or {}
    for prof in fw.get("profiles", []):
        secs.append(
            (
                f"firewall {prof['name']}",
                f"enabled {v(prof.get('enabled'))}, inbound {v(prof.get('default_inbound'))}",
            )
        )
    pol = sec.get("password_policy") or {}
    if pol:
        secs.append(
            (
                "password policy",
                f"min length {v(pol.get('min_length'))}, max age {v(pol.get('max_age_days'))} d, "
                f"lockout after {v(pol.get('lockout_threshold'))}",
            )
        )
    sections.append(("Security", secs or [("facts", "none reported")]))
    sections.append(
        (
            "Patches",
            [
                ("last install", v(pat.get("last_install_at"))),
                ("installed updates", str(len(pat.get("installed", [])))),
                ("pending", str(len(pat.get("pending", [])))),
                ("reboot pending", v(pat.get("pending_reboot"))),
            ],
        )
    )
    sections.append(("Software", [("packages", str(len(doc.get("software", []))))]))
    errs = [(e["probe"], f"{e['kind']}: {e['message']}") for e in doc.get("errors", [])]
    sections.append(("Could not see", errs or [("-", "nothing: every probe succeeded")]))
    return sections
