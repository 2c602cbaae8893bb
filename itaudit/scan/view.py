"""Wording of a scan's result: the rows `itaudit scan` prints, reusable by reports."""

from __future__ import annotations

from typing import Any

from itaudit.scan.diff import ScanDiff
from itaudit.scan.reconcile import Device, Finding, Missing, Reconciliation, type_name
from itaudit.scan.records import Observation

BUCKET_NAMES = {
    "vi": {
        "managed": "có tác tử",
        "registered": "đã đăng ký",
        "unknown": "không rõ",
        "forbidden": "BỊ CẤM",
        "missing": "vắng mặt",
    },
    "en": {
        "managed": "managed",
        "registered": "registered",
        "unknown": "unknown",
        "forbidden": "FORBIDDEN",
        "missing": "missing",
    },
}
SEVERITY_NAMES = {
    "vi": {"critical": "nghiêm trọng", "high": "cao", "medium": "trung bình", "low": "thấp"},
    "en": {"critical": "critical", "high": "high", "medium": "medium", "low": "low"},
}
DEVICE_COLUMNS = ("address", "mac", "vendor", "name", "ports", "bucket", "device", "matched_by")
DEVICE_HEADERS = {
    "vi": ("Địa chỉ", "MAC", "Hãng", "Tên", "Cổng mở", "Nhóm", "Tài sản / máy", "Nhận diện theo"),
    "en": (
        "Address",
        "MAC",
        "Vendor",
        "Name",
        "Open ports",
        "Bucket",
        "Asset / host",
        "Matched by",
    ),
}
MISSING_COLUMNS = ("asset", "type", "hostname", "address", "source")
MISSING_HEADERS = {
    "vi": ("Tài sản", "Loại", "Tên máy", "Địa chỉ dự kiến", "Nguồn"),
    "en": ("Asset", "Type", "Host name", "Expected address", "Source"),
}
FINDING_COLUMNS = ("severity", "kind", "address", "device", "message")
FINDING_HEADERS = {
    "vi": ("Mức", "Loại", "Địa chỉ", "Tài sản / máy", "Nội dung"),
    "en": ("Severity", "Kind", "Address", "Asset / host", "Finding"),
}


def ports_text(o: Observation) -> str:
    return ", ".join(f"{p.port}/{p.service}" if p.service else str(p.port) for p in o.open_ports)


def device_row(d: Device, lang: str) -> dict[str, Any]:
    o = d.observation
    name = ", ".join(o.hostnames)
    if d.local:
        name = (name + " " if name else "") + (
            "(máy đang quét)" if lang == "vi" else "(this computer)"
        )
    device = d.label
    if not device and d.likely_type:
        device = ("có thể là " if lang == "vi" else "probably ") + type_name(d.likely_type, lang)
    if o.carried:
        when = o.seen_at.strftime("%Y-%m-%d %H:%M") if o.seen_at else "?"
        device = (device + " " if device else "") + (
            f"(thấy ở lần quét #{o.seen_scan_id}, {when})"
            if lang == "vi"
            else f"(seen by scan #{o.seen_scan_id}, {when})"
        )
    return {
        "address": o.address,
        "mac": mac_text(o, lang),
        "vendor": o.vendor,
        "name": name,
        "ports": ports_text(o),
        "bucket": BUCKET_NAMES[lang][d.bucket],
        "device": device,
        "matched_by": d.matched_by,
    }


def mac_text(o: Observation, lang: str) -> str | None:
    """The MAC, saying when it is randomised or did not come from nmap itself."""
    if not o.mac:
        return None
    notes = []
    if o.randomised_mac:
        notes.append("ngẫu nhiên" if lang == "vi" else "randomised")
    if o.mac_source == "neighbour":
        notes.append("bảng láng giềng" if lang == "vi" else "neighbour table")
    elif o.mac_source == "earlier":
        notes.append("từ lần quét trước" if lang == "vi" else "from an earlier scan")
    return o.mac + (f" ({', '.join(notes)})" if notes else "")


def missing_row(m: Missing, lang: str) -> dict[str, Any]:
    source = {
        "vi": {"register": "sổ tài sản", "agent": "báo cáo tác tử"},
        "en": {"register": "register", "agent": "agent report"},
    }[lang][m.source]
    return {
        "asset": m.asset_tag,
        "type": type_name(m.type, lang) if m.type else None,
        "hostname": m.hostname,
        "address": m.address,
        "source": source,
    }


def finding_row(f: Finding, lang: str) -> dict[str, Any]:
    return {
        "severity": SEVERITY_NAMES[lang][f.severity],
        "kind": f.kind,
        "address": f.address,
        "device": f.asset_tag or f.detail.get("hostname"),
        "message": f.message(lang),
    }


def observation_json(o: Observation) -> dict[str, Any]:
    return {
        "address": o.address,
        "mac": o.mac,
        "vendor": o.vendor,
        "hostnames": list(o.hostnames),
        "open_ports": [{"port": p.port, "service": p.service} for p in o.open_ports],
        "randomised_mac": o.randomised_mac,
    }


def device_json(d: Device) -> dict[str, Any]:
    return {
        **observation_json(d.observation),
        "bucket": d.bucket,
        "asset_tag": d.observation.asset_tag,
        "host_id": d.observation.host_id,
        "hostname": d.host.hostname if d.host else (d.asset.hostname if d.asset else None),
        "type": d.type,
        "matched_by": d.matched_by,
        "likely_type": d.likely_type,
        "this_computer": d.local,
        "method": d.observation.method,
        "mac_source": d.observation.mac_source,
        # A device this scan did not cover, carried from the scan that last saw it.
        "carried": d.observation.carried,
        "seen_at": d.observation.seen_at.isoformat() if d.observation.seen_at else None,
        "seen_scan": d.observation.seen_scan_id,
    }


def finding_json(f: Finding, lang: str) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "severity": f.severity,
        "address": f.address,
        "mac": f.mac,
        "asset_tag": f.asset_tag,
        "host_id": f.host_id,
        "port": f.port,
        "message": f.message(lang),
        "detail": f.detail,
    }


def missing_json(m: Missing) -> dict[str, Any]:
    return {
        "source": m.source,
        "asset_tag": m.asset_tag,
        "host_id": m.host_id,
        "hostname": m.hostname,
        "type": m.type,
        "address": m.address,
    }


def diff_json(diff: ScanDiff) -> dict[str, Any]:
    return {
        "previous_scan": diff.previous_id,
        "previous_at": diff.previous_at.isoformat() if diff.previous_at else None,
        "appeared": [observation_json(o) for o in diff.appeared],
        "gone": [observation_json(o) for o in diff.gone],
        "newly_open": [
            {"address": c.device.address, "mac": c.device.mac, "ports": list(c.ports)}
            for c in diff.newly_open
        ],
        "newly_closed": [
            {"address": c.device.address, "mac": c.device.mac, "ports": list(c.ports)}
            for c in diff.newly_closed
        ],
        "moved": [
            {"mac": now.mac, "from": was.address, "to": now.address} for was, now in diff.moved
        ],
        "methods": {"before": diff.methods[0], "now": diff.methods[1]},
        "methods_differ": diff.methods_differ,
        "bucket_changes": [
            {
                "address": now.address,
                "mac": now.mac or was.mac,
                "before": was.bucket,
                "now": now.bucket,
                "asset_tag": now.asset_tag or was.asset_tag,
            }
            for was, now in diff.bucket_changes
        ],
        "still_counted": sorted(diff.still_counted),
    }


def diff_lines(diff: ScanDiff, lang: str) -> list[str]:
    vi = lang == "vi"

    def who(o: Observation) -> str:
        extra = [x for x in (mac_text(o, lang), ", ".join(o.hostnames)) if x]
        return o.address + (f" ({'; '.join(extra)})" if extra else "")

    method_names = {
        "vi": {"raw": "gói tin thô (root, ARP)", "connect": "TCP connect (không root)"},
        "en": {"raw": "raw packets (root, ARP)", "connect": "TCP connect (not root)"},
    }[lang]

    when = diff.previous_at.strftime("%Y-%m-%d %H:%M") if diff.previous_at else "?"
    lines = [
        (
            f"So với lần quét #{diff.previous_id} ({when} UTC):"
            if vi
            else f"Compared with scan #{diff.previous_id} ({when} UTC):"
        )
    ]
    if diff.methods_differ:
        m_then, m_now = (method_names.get(m or "", m or "?") for m in diff.methods)
        lines.append(
            f"  ! hai lần quét dùng cách dò khác nhau: trước {m_then}, nay {m_now}"
            if vi
            else f"  ! the two scans used different methods: before {m_then}, now {m_now}"
        )
    if diff.empty:
        lines.append("  không có thay đổi" if vi else "  no change")
    for o in diff.appeared:
        lines.append(("  + mới xuất hiện: " if vi else "  + appeared: ") + who(o))
    for o in diff.gone:
        kept = o.address in diff.still_counted
        lines.append(
            ("  - không còn thấy: " if vi else "  - gone: ")
            + who(o)
            + (
                (
                    " — lần quét này không đủ để khẳng định vắng mặt, vẫn được tính"
                    if vi
                    else " — this scan cannot show it absent: still counted"
                )
                if kept
                else ""
            )
        )
    for was, now in diff.bucket_changes:
        before, after = BUCKET_NAMES[lang][was.bucket or ""], BUCKET_NAMES[lang][now.bucket or ""]
        lines.append(
            f"  ! đổi nhóm: {who(now)} {before} → {after}"
            if vi
            else f"  ! bucket changed: {who(now)} {before} → {after}"
        )
    for was, now in diff.moved:
        lines.append(
            f"  ~ đổi địa chỉ: {now.mac} {was.address} → {now.address}"
            if vi
            else f"  ~ moved: {now.mac} {was.address} → {now.address}"
        )
    for c in diff.newly_open:
        ports = ", ".join(str(p) for p in c.ports)
        lines.append(
            f"  ! cổng mới mở trên {who(c.device)}: {ports}"
            if vi
            else f"  ! newly open on {who(c.device)}: {ports}"
        )
    for c in diff.newly_closed:
        ports = ", ".join(str(p) for p in c.ports)
        lines.append(
            f"  - cổng đã đóng trên {who(c.device)}: {ports}"
            if vi
            else f"  - now closed on {who(c.device)}: {ports}"
        )
    return lines


def summary_line(result: Reconciliation, lang: str) -> str:
    c = result.counts()
    names = BUCKET_NAMES[lang]
    parts = [
        f"{names[b]} {c[b]}" for b in ("managed", "registered", "unknown", "forbidden", "missing")
    ]
    sev = result.severity_counts()
    found = ", ".join(f"{SEVERITY_NAMES[lang][s]} {n}" for s, n in sev.items() if n) or "0"
    if lang == "vi":
        return f"{len(result.devices)} thiết bị: " + ", ".join(parts) + f"; phát hiện: {found}"
    return f"{len(result.devices)} devices: " + ", ".join(parts) + f"; findings: {found}"
