"""Windows hardening facts: UAC, Windows Update policy and services, LLMNR and
NetBIOS, USB storage, Defender protection features, the service list.

Used by the security probe (security.py). Every value is a registry number, a
WMI enumeration word (StartMode "Auto", State "Running": API words, never
translated) or a Defender preference; display names are only carried.
"""

from __future__ import annotations

from typing import Any

from itaudit.agent.context import Result, Status
from itaudit.agent.probes.base import ProbeRun, as_list, text, to_bool, to_int

REG = {
    "reg-system-policy": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
    "reg-wu-au-policy": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU",
    "reg-dnsclient-policy": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient",
    "reg-netbt-params": r"HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters",
    "reg-svc-usbstor": r"HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR",
    "reg-removable-storage-policy": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices",
}
TREES = {
    "reg-netbt-interfaces": r"HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters\Interfaces",
    "reg-removable-storage-classes": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices",
    "reg-enum-usbstor": r"HKLM:\SYSTEM\CurrentControlSet\Enum\USBSTOR",
}
# The services Windows Update needs; disabling any of them is how update blockers work.
UPDATE_SERVICES = ("wuauserv", "UsoSvc", "WaaSMedicSvc")
# Win32_Service StartMode words (CIM enumeration, not localised).
_START_MODES = {m: m for m in ("auto", "manual", "disabled", "boot", "system")}
# GUID of the "Removable Disks" device class in the RemovableStorageDevices policy.
REMOVABLE_DISKS = "{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}"
_PUA = {0: "off", 1: "on", 2: "audit"}


def reg(run: ProbeRun, source: str) -> Result:
    return run.ctx.read_registry(source, REG[source])


def tree(run: ProbeRun, source: str) -> Result:
    return run.ctx.read_registry_tree(source, TREES[source])


def value(res: Result, name: str) -> Any:
    return res.value.get(name) if res.ok and isinstance(res.value, dict) else None


def start_mode(raw: Any) -> str | None:
    s = text(raw, 32)
    return _START_MODES.get(s.lower(), "unknown") if s else None


def service_list(raw: Any) -> list[dict[str, Any]]:
    """Every service with its state and start mode (Win32_Service); the display name is
    localised text and is left out (the catalogues match service key names)."""
    out = []
    for s in as_list(raw):
        if not isinstance(s, dict) or not text(s.get("Name")):
            continue
        state = text(s.get("State"), 32)
        out.append(
            {
                "name": text(s.get("Name")),
                "running": state.lower() == "running" if state else None,
                "start_mode": start_mode(s.get("StartMode")),
            }
        )
    return out[:2048]


def uac(run: ProbeRun) -> dict[str, Any] | None:
    """EnableLUA, ConsentPromptBehaviorAdmin, PromptOnSecureDesktop; a value not set is Windows' default."""
    res = reg(run, "reg-system-policy")
    if not res.ok:
        run.failed(res)
        return None
    lua = to_int(value(res, "EnableLUA"))
    consent = to_int(value(res, "ConsentPromptBehaviorAdmin"))
    secure = to_int(value(res, "PromptOnSecureDesktop"))
    # Defaults when a value is missing (Windows writes all three on install): 1, 5, 1.
    return {
        "enabled": (lua if lua is not None else 1) != 0,
        "consent_prompt_admin": consent if consent is not None and 0 <= consent <= 5 else 5,
        "secure_desktop": (secure if secure is not None else 1) != 0,
    }


def windows_update(run: ProbeRun, services: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The automatic-update policy and the start modes of the update services."""
    policy = reg(run, "reg-wu-au-policy")
    if not policy.ok and policy.status is not Status.ABSENT:
        run.failed(policy)
    by_name = {str(s["name"]).lower(): s for s in services or []}
    listed = []
    if services is not None:
        for name in UPDATE_SERVICES:
            svc = by_name.get(name.lower())
            listed.append(
                {
                    "name": name,
                    # A service that is not there at all was deleted: it cannot run either.
                    "start_mode": svc["start_mode"] if svc else "missing",
                    "running": svc["running"] if svc else False,
                }
            )
    no_auto: bool | None
    if policy.ok:
        no_auto = to_int(value(policy, "NoAutoUpdate")) == 1
        options = to_int(value(policy, "AUOptions"))
        wsus = to_int(value(policy, "UseWUServer")) == 1
    elif policy.status is Status.ABSENT:
        no_auto, options, wsus = False, None, False  # no policy: Windows updates automatically
    else:
        no_auto, options, wsus = None, None, None
    if services is None and not policy.ok and policy.status is not Status.ABSENT:
        return None
    return {
        "no_auto_update": no_auto,
        "au_options": options if options is not None and 0 <= options <= 10 else None,
        "wsus": wsus,
        "services": listed if services is not None else None,
    }


def name_resolution(run: ProbeRun) -> dict[str, Any] | None:
    """LLMNR policy and NetBIOS over TCP/IP per adapter."""
    dns = reg(run, "reg-dnsclient-policy")
    params = reg(run, "reg-netbt-params")
    ifaces = tree(run, "reg-netbt-interfaces")
    for res in (dns, params, ifaces):
        if not res.ok and res.status is not Status.ABSENT:
            run.failed(res)
    multicast = to_int(value(dns, "EnableMulticast"))
    # Without the policy LLMNR is on.
    llmnr_off = multicast == 0 if dns.ok or dns.status is Status.ABSENT else None
    node = to_int(value(params, "NodeType"))
    if node is None:
        node = to_int(value(params, "DhcpNodeType"))
    adapters: list[dict[str, Any]] | None = None
    if ifaces.ok and isinstance(ifaces.value, dict):
        adapters = []
        for key, values in sorted(ifaces.value.items()):
            option = to_int(values.get("NetbiosOptions")) if isinstance(values, dict) else None
            adapters.append({"interface": str(key)[:128], "netbios_options": option})
    elif ifaces.status is Status.ABSENT:
        adapters = []  # NetBT not installed: no adapter speaks NetBIOS
    netbios_off: bool | None = None
    if adapters is not None:
        netbios_off = all(a["netbios_options"] == 2 for a in adapters)
    return {
        "llmnr_disabled": llmnr_off,
        "enable_multicast": multicast,
        "netbt_node_type": node if node is not None and 0 <= node <= 15 else None,
        "netbios_disabled": netbios_off,
        "netbios_interfaces": (adapters or [])[:64] if adapters is not None else None,
    }


def usb_storage(run: ProbeRun) -> dict[str, Any] | None:
    """Whether USB mass storage is blocked, how, and the USB disks Windows has seen."""
    start = reg(run, "reg-svc-usbstor")
    deny = reg(run, "reg-removable-storage-policy")
    classes = tree(run, "reg-removable-storage-classes")
    seen = tree(run, "reg-enum-usbstor")
    for res in (start, deny, classes, seen):
        if not res.ok and res.status is not Status.ABSENT:
            run.failed(res)
    start_value = to_int(value(start, "Start"))
    deny_all = to_int(value(deny, "Deny_All")) == 1
    disk_class: dict[str, Any] = {}
    if classes.ok and isinstance(classes.value, dict):
        for key, vals in classes.value.items():
            if str(key).lower() == REMOVABLE_DISKS and isinstance(vals, dict):
                disk_class = vals
    deny_disks = (
        to_int(disk_class.get("Deny_Read")) == 1 and to_int(disk_class.get("Deny_Write")) == 1
    )
    devices = None
    if seen.ok and isinstance(seen.value, dict):
        devices = [{"name": str(k)[:256]} for k in sorted(seen.value)][:128]
    elif seen.status is Status.ABSENT:
        devices = []  # no USB disk was ever plugged in
    ways = []
    if start.status is Status.ABSENT:
        ways.append("no USBSTOR driver")
    elif start_value == 4:
        ways.append("USBSTOR Start 4 (disabled)")
    if deny_all:
        ways.append("policy Deny_All")
    if deny_disks:
        ways.append("policy denies removable disks (read and write)")
    blocked: bool | None
    if ways:
        blocked = True
    elif start.ok and (deny.ok or deny.status is Status.ABSENT):
        blocked = False
    else:
        blocked = None
    history = (
        f"{len(devices)} USB storage device(s) seen before: "
        + ", ".join(d["name"] for d in devices[:5])
        if devices
        else "no USB storage device seen before"
        if devices is not None
        else "USB device history not readable"
    )
    how = (
        "; ".join(ways)
        if ways
        else f"USBSTOR Start {start_value}"
        if start_value is not None
        else None
    )
    return {
        "blocked": blocked,
        "loaded": None,
        "how": f"{how}; {history}"[:256] if how else history[:256],
        "driver_start": start_value,
        "devices": devices,
    }


def defender_features(prefs: Result, status: dict[str, Any]) -> dict[str, Any]:
    """Tamper protection (status), PUA, script, removable-drive and behaviour scanning (preferences)."""
    p = prefs.value if prefs.ok and isinstance(prefs.value, dict) else {}

    def on(disable_key: str) -> bool | None:
        flag = to_bool(p.get(disable_key))
        return None if flag is None else not flag

    pua = to_int(p.get("PUAProtection"))
    behaviour = to_bool(status.get("BehaviorMonitorEnabled"))
    return {
        "tamper_protected": to_bool(status.get("IsTamperProtected")),
        "pua_protection": _PUA.get(pua, "unknown") if pua is not None else None,
        "script_scanning": on("DisableScriptScanning"),
        "removable_scanning": on("DisableRemovableDriveScanning"),
        "behavior_monitoring": behaviour
        if behaviour is not None
        else on("DisableBehaviorMonitoring"),
    }
