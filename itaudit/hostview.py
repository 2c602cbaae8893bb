"""What `itaudit hosts` shows: rows for the list, sections for one host.

Kept apart from the CLI so the reports can reuse the same wording.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itaudit.org.model import Organisation
from itaudit.signing import is_signed, signature_summary
from itaudit.store import HostRow, Store, utcnow


def age_text(then: datetime | None, now: datetime | None = None) -> str:
    if then is None:
        return "never"
    delta = (now or utcnow()) - then
    if delta.total_seconds() < 0:
        # Ingest allows a clock a day fast; say so rather than print a wrapped age.
        return "in the future"
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
    identity: str = ""  # "possible impostor of #N", "rejected impostor of #N", or empty
    enrolment: str = ""  # "enrolled (UNIT)", "revoked YYYY-MM-DD", or empty (itaudit.enrolment)


def conflict_text(host: HostRow) -> str:
    """What `hosts` says of a host that took a known host's name with another key."""
    if host.conflict_state == "suspect":
        return f"POSSIBLE IMPOSTOR of host #{host.conflict_with}: itaudit hosts resolve {host.id}"
    if host.conflict_state == "rejected":
        return f"rejected as an impostor of host #{host.conflict_with} (kept as evidence)"
    if host.conflict_state == "accepted":
        return f"same name as host #{host.conflict_with}, accepted as a machine of its own"
    return ""


def host_lines(store: Store, org: Organisation | None, unit: str | None = None) -> list[HostLine]:
    from itaudit.enrolment import host_states

    now = utcnow()
    lines = []
    states = host_states(store)
    for host, text in store.iter_latest(unit=unit):
        doc = json.loads(text)
        asset = org.asset(host.asset_tag) if org and host.asset_tag else None
        kind = asset.type if asset else (doc.get("hardware") or {}).get("form_factor") or "unknown"
        lines.append(
            HostLine(
                unit=host.unit,
                hostname=host.hostname,
                type=kind,
                os=plain(os_label(doc)),
                last_report=age_text(host.last_collected_at, now),
                asset=host.asset_tag,
                match=host.match_method,
                signed=is_signed(doc),
                identity=conflict_text(host),
                enrolment=states[host.id].label() if host.id in states else "",
            )
        )
    # Units in the order of organization.yaml, as every report lists them;
    # hosts of no known unit last.
    order = {u.id: i for i, u in enumerate(org.units)} if org else {}
    lines.sort(
        key=lambda h: (
            h.unit is None,
            order.get(h.unit or "", len(order)),
            h.unit or "",
            h.hostname.lower(),
        )
    )
    return lines


def never_reported(store: Store, org: Organisation, unit: str | None = None) -> list[Any]:
    """Register computers with no matched report (not state-secret ones off the LAN: they report by USB too)."""
    matched = {h.asset_tag for h in store.hosts() if h.asset_tag}
    return [
        a
        for a in org.assets
        if a.is_computer and a.tag not in matched and (unit is None or a.unit == unit)
    ]


def plain(value: Any) -> str:
    """Report text made safe for a terminal: control and bidi characters replaced.

    Every string of a report comes from the machine that sent it; an escape
    sequence in an antivirus name must not repaint the officer's screen.
    """
    return _UNSAFE.sub("\ufffd", str(value))


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SHOWN_SOFTWARE = 15
SHOWN_UPDATES = 5


def _v(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _size(n: int | None) -> str:
    if not n:
        return "unknown"
    return f"{n / 2**30:.0f} GiB" if n >= 2**30 else f"{n // 2**20} MiB"


def host_sections(
    host: HostRow, doc: dict[str, Any], now: datetime | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Readable facts of one report, grouped; keys and values are plain, safe strings."""
    sections = [
        ("Identity", _identity(host, doc, now)),
        ("Operating system", _os(doc)),
        ("Hardware", _hardware(doc)),
        ("Network", _network(doc)),
        ("Security", _security(doc)),
        ("Patches", _patches(doc)),
        ("Software", _software(doc)),
        (
            "Could not see",
            [(e["probe"], f"{e['kind']}: {e['message']}") for e in doc.get("errors", [])]
            or [("-", "nothing: every probe succeeded")],
        ),
    ]
    return [(title, [(plain(k), plain(v)) for k, v in items]) for title, items in sections]


def _identity(host: HostRow, doc: dict[str, Any], now: datetime | None) -> list[tuple[str, str]]:
    ident = doc["identity"]
    agent = doc["agent"]
    return [
        ("host name", ident["hostname"]),
        ("unit", f"{_v(host.unit)} (from {_v(host.unit_source)})"),
        ("asset tag", f"{_v(host.asset_tag)} (matched by {_v(host.match_method)})"),
        ("hardware UUID", _v(ident.get("hardware_uuid"))),
        ("serial", _v(ident.get("serial"))),
        ("MAC addresses", ", ".join(ident.get("macs", [])) or "none"),
        (
            "collected at",
            f"{doc['collected_at']} ({age_text(host.last_collected_at, now)} ago)"
            if host.last_collected_at
            else doc["collected_at"],
        ),
        (
            "agent",
            f"{agent['name']} {agent['version']} ({agent['collector']}"
            + (", as administrator" if agent.get("elevated") else "")
            + ")",
        ),
        ("signed", signature_summary(doc)),
        *([("identity", conflict_text(host))] if host.conflict_state else []),
    ]


def _os(doc: dict[str, Any]) -> list[tuple[str, str]]:
    os_ = doc.get("os") or {}
    return [
        ("name", os_label(doc)),
        ("edition", _v(os_.get("edition"))),
        ("kernel", _v(os_.get("kernel"))),
        ("architecture", _v(os_.get("architecture"))),
        ("installed", _v(os_.get("installed_at"))),
        ("last boot", _v(os_.get("last_boot_at"))),
    ]


def _hardware(doc: dict[str, Any]) -> list[tuple[str, str]]:
    hw = doc.get("hardware") or {}
    cpu = hw.get("cpu") or {}
    items = [
        ("form factor", _v(hw.get("form_factor"))),
        ("model", f"{_v(hw.get('manufacturer'))} {_v(hw.get('model'))}"),
        (
            "CPU",
            f"{_v(cpu.get('model'))}, {_v(cpu.get('cores'))} cores" if cpu else "unknown",
        ),
        (
            "memory",
            f"{hw['memory_bytes'] // 2**20} MiB" if hw.get("memory_bytes") else "unknown",
        ),
    ]
    for disk in hw.get("disks", []):
        kind = disk.get("media") or "unknown"
        removable = ", removable" if disk.get("removable") else ""
        items.append((f"disk {disk['name']}", f"{_size(disk.get('size_bytes'))} {kind}{removable}"))
    return items


def _network(doc: dict[str, Any]) -> list[tuple[str, str]]:
    net = doc.get("network") or {}
    items = []
    for iface in net.get("interfaces", []):
        addrs = ", ".join(
            f"{a['address']}/{a.get('prefix_length', '?')}" for a in iface.get("addresses", [])
        )
        items.append(
            (
                iface["name"],
                f"{iface['kind']}, {'up' if iface['up'] else 'down'}, {addrs or 'no address'}",
            )
        )
    items.append(("default gateways", ", ".join(net.get("default_gateways", [])) or "none"))
    items.append(("DNS servers", ", ".join(net.get("dns_servers", [])) or "none"))
    if net.get("domain_joined"):
        items.append(("domain", _v(net.get("domain"))))
    else:
        items.append(("workgroup", _v(net.get("workgroup"))))
    history = net.get("profile_history", [])
    items.append(("network history", f"{len(history)} profile(s)"))
    for prof in history:
        items.append(
            (
                f"  {prof['name']}",
                f"{prof['kind']}, {_v(prof.get('category'))}, last {_v(prof.get('last_connected'))}",
            )
        )
    wifi = [w["ssid"] for w in net.get("wifi_profiles", [])]
    if wifi:
        items.append(("Wi-Fi profiles", ", ".join(wifi)))
    return items


def _security(doc: dict[str, Any]) -> list[tuple[str, str]]:
    sec = doc.get("security") or {}
    items = []
    for av in sec.get("antivirus", []):
        items.append(
            (
                f"antivirus {av['name']}",
                f"enabled {_v(av.get('enabled'))}, up to date {_v(av.get('up_to_date'))}, "
                f"signatures {_v(av.get('signature_date'))}, mode {_v(av.get('mode'))}",
            )
        )
    if not sec.get("antivirus"):
        items.append(("antivirus", "none reported"))
    for edr in sec.get("edr", []):
        items.append(
            (
                f"EDR {edr['name']}",
                f"running {_v(edr.get('running'))}, connected {_v(edr.get('connected'))}",
            )
        )
    if not sec.get("edr"):
        items.append(("EDR", "none reported"))
    fw = sec.get("firewall") or {}
    for prof in fw.get("profiles", []):
        items.append(
            (
                f"firewall {prof['name']}",
                f"enabled {_v(prof.get('enabled'))}, inbound {_v(prof.get('default_inbound'))}",
            )
        )
    for vol in (sec.get("disk_encryption") or {}).get("volumes", []):
        items.append((f"encryption {vol['mount']}", f"{vol['protection']}"))
    lock = sec.get("screen_lock")
    if lock:
        timeout = lock.get("timeout_seconds")
        items.append(
            (
                "screen lock",
                f"enabled {_v(lock.get('enabled'))}, after "
                f"{'unknown' if timeout is None else f'{timeout // 60} min'}, "
                f"password {_v(lock.get('requires_password'))}",
            )
        )
    pol = sec.get("password_policy") or {}
    if pol:
        items.append(
            (
                "password policy",
                f"min length {_v(pol.get('min_length'))}, max age {_v(pol.get('max_age_days'))} d, "
                f"lockout after {_v(pol.get('lockout_threshold'))}",
            )
        )
    accounts = sec.get("accounts") or {}
    admin = accounts.get("builtin_admin")
    if admin:
        items.append(
            (
                "built-in administrator",
                f"{_v(admin.get('name'))}, enabled {_v(admin.get('enabled'))}, "
                f"renamed {_v(admin.get('renamed'))}",
            )
        )
    guest = accounts.get("guest")
    if guest:
        items.append(("guest account", f"enabled {_v(guest.get('enabled'))}"))
    if accounts.get("uid0"):
        items.append(("uid 0 accounts", ", ".join(accounts["uid0"])))
    admins = sec.get("local_admins", [])
    if admins:
        items.append(
            ("local administrators", ", ".join(f"{a['name']} ({a['source']})" for a in admins))
        )
    rdp = sec.get("remote_desktop")
    if rdp:
        items.append(
            (
                "remote desktop",
                f"enabled {_v(rdp.get('enabled'))}, NLA {_v(rdp.get('nla_required'))}",
            )
        )
    smb1 = sec.get("smb1")
    if smb1:
        items.append(
            (
                "SMBv1",
                f"server {_v(smb1.get('server_enabled'))}, client {_v(smb1.get('client_enabled'))}",
            )
        )
    autorun = sec.get("autorun")
    if autorun:
        items.append(("autorun disabled", _v(autorun.get("disabled"))))
    sync = sec.get("time_sync")
    if sync:
        items.append(
            (
                "time sync",
                f"enabled {_v(sync.get('enabled'))}, source {_v(sync.get('source'))}, "
                f"synchronised {_v(sync.get('synchronized'))}",
            )
        )
    ssh = sec.get("ssh")
    if ssh:
        items.append(
            (
                "SSH server",
                f"running {_v(ssh.get('running'))}, root login {_v(ssh.get('permit_root_login'))}, "
                f"passwords {_v(ssh.get('password_authentication'))}",
            )
        )
    return items


def _patches(doc: dict[str, Any]) -> list[tuple[str, str]]:
    pat = doc.get("patches") or {}
    installed = pat.get("installed", [])
    pending = pat.get("pending", [])
    items = [
        ("last install", _v(pat.get("last_install_at"))),
        ("installed updates", str(len(installed))),
    ]
    latest = sorted(installed, key=lambda u: u.get("installed_at") or "", reverse=True)
    for update in latest[:SHOWN_UPDATES]:
        items.append(
            (f"  {update['id']}", f"{_v(update.get('installed_at'))} {update.get('title') or ''}")
        )
    items.append(("pending", str(len(pending))))
    for update in pending[:SHOWN_UPDATES]:
        security = " (security)" if update.get("security") else ""
        items.append((f"  {update['id']}", f"{update.get('title') or ''}{security}".strip()))
    items.append(("reboot pending", _v(pat.get("pending_reboot"))))
    return items


def _software(doc: dict[str, Any]) -> list[tuple[str, str]]:
    software = doc.get("software", [])
    items = [("packages", str(len(software)))]
    for package in sorted(software, key=lambda p: p["name"].lower())[:SHOWN_SOFTWARE]:
        items.append((f"  {package['name']}", _v(package.get("version"))))
    if len(software) > SHOWN_SOFTWARE:
        items.append(("  ...", f"{len(software) - SHOWN_SOFTWARE} more (-f json shows all)"))
    return items
