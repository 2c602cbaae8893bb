"""Windows network: adapters, addresses, gateways, DNS, domain / workgroup,
network-profile history and Wi-Fi profiles.

Adapters come from Get-NetAdapter, addresses from Get-NetIPConfiguration, both
as JSON whose enumerations are numbers (ipconfig's labels are localised and
never read). The NetworkList profiles keep every network the machine ever
joined, with first and last connection: for a state-secret machine the
history matters, not only the current link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from itaudit.agent.probes.base import (
    Probe,
    ProbeRun,
    as_list,
    ip,
    iso,
    mac,
    systemtime,
    text,
    to_bool,
    to_int,
)
from itaudit.agent.probes.windows.os import first

NETWORK_PROFILES = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\NetworkList\Profiles"
# IANA ifType (Get-NetAdapter InterfaceType) and NDIS physical medium.
_IF_ETHERNET, _IF_WIFI, _IF_LOOPBACK, _IF_TUNNEL = 6, 71, 24, 131
_IF_MOBILE = {243, 244}
_NDIS_WIFI = {1, 9}
# NetworkList profile NameType and Category.
_NAME_TYPE = {6: "wired", 71: "wireless", 23: "vpn", 243: "mobile"}
_CATEGORY = {0: "public", 1: "private", 2: "domain"}
_PREFIX_ORIGIN_DHCP = 3


def adapter_kind(adapter: dict[str, Any]) -> str:
    iftype = to_int(adapter.get("InterfaceType"))
    medium = to_int(adapter.get("NdisPhysicalMedium"))
    if iftype == _IF_LOOPBACK:
        return "loopback"
    if iftype == _IF_WIFI or medium in _NDIS_WIFI:
        return "wireless"
    if iftype == _IF_TUNNEL:
        return "tunnel"
    if to_bool(adapter.get("Virtual")) or to_bool(adapter.get("HardwareInterface")) is False:
        return "virtual"
    if iftype == _IF_ETHERNET:
        return "ethernet"
    return "other"


def adapter_up(adapter: dict[str, Any]) -> bool:
    # MediaConnectState 1 = connected; InterfaceOperationalStatus 1 = up.
    return (
        to_int(adapter.get("MediaConnectState")) == 1
        or to_int(adapter.get("InterfaceOperationalStatus")) == 1
    )


def _addresses(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in ("IPv4Address", "IPv6Address"):
        for a in as_list(cfg.get(key)):
            if isinstance(a, dict):
                addr = ip(a.get("IPAddress"))
                if addr:
                    out.append({"address": addr, "prefix_length": to_int(a.get("PrefixLength"))})
    return out[:64]


def _ips(values: Any) -> list[str]:
    out: list[str] = []
    for v in as_list(values):
        for item in as_list(v):
            addr = ip(item)
            if addr and addr not in out:
                out.append(addr)
    return out


def profile_history(tree: dict[str, Any], utc_offset_minutes: int) -> list[dict[str, Any]]:
    """NetworkList profiles; their SYSTEMTIME dates are local time, converted to UTC."""
    out = []
    for _guid, values in tree.items():
        if not isinstance(values, dict):
            continue
        name = text(values.get("ProfileName"))
        if not name:
            continue
        out.append(
            {
                "name": name,
                "description": text(values.get("Description")),
                "kind": _NAME_TYPE.get(to_int(values.get("NameType")) or -1, "unknown"),
                "category": _CATEGORY.get(to_int(values.get("Category")) or 0, "unknown")
                if values.get("Category") is not None
                else "unknown",
                "first_connected": iso(
                    _local_to_utc(systemtime(values.get("DateCreated")), utc_offset_minutes)
                ),
                "last_connected": iso(
                    _local_to_utc(systemtime(values.get("DateLastConnected")), utc_offset_minutes)
                ),
            }
        )
    out.sort(key=lambda p: (p["first_connected"] or "", p["name"]))
    return out[:1000]


def _local_to_utc(moment: datetime | None, offset_minutes: int) -> datetime | None:
    if moment is None:
        return None
    return (moment - timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)


def parse_wlan_profiles(content: str) -> list[dict[str, Any]]:
    """Wi-Fi profile names from `netsh wlan show profiles`, by layout only.

    The labels are localised ("All User Profile", "Hồ sơ Tất cả Người dùng"),
    so none is read: a profile is an indented "label : name" line below a
    line of dashes. Sections without profiles show "<None>" (no colon).
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    after_rule = False
    for raw in content.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped and set(stripped) == {"-"}:
            after_rule = True
            continue
        if not stripped:
            continue
        if not raw[:1].isspace():
            after_rule = False  # a new section heading
            continue
        if after_rule and ":" in stripped:
            ssid = stripped.split(":", 1)[1].strip()
            if ssid and ssid not in seen:
                seen.add(ssid)
                out.append({"ssid": ssid[:256], "authentication": None})
    return out[:1000]


class NetworkProbe(Probe):
    name = "network"

    def collect(self, run: ProbeRun) -> None:
        ctx, net, ident = run.ctx, run.section("network"), run.identity
        adapters_res = ctx.powershell("net-adapters", "Get-NetAdapter")
        config_res = ctx.powershell("net-ipconfiguration", "Get-NetIPConfiguration -All -Detailed")
        run.failed(adapters_res, "network.adapters")
        run.failed(config_res, "network.addresses")
        adapters = (
            [a for a in as_list(adapters_res.value) if isinstance(a, dict)]
            if adapters_res.ok
            else []
        )
        configs = (
            [c for c in as_list(config_res.value) if isinstance(c, dict)] if config_res.ok else []
        )
        by_index = {to_int(c.get("InterfaceIndex")): c for c in configs}

        interfaces: list[dict[str, Any]] = []
        macs: list[str] = []
        gateways: list[str] = []
        dns: list[str] = []
        used: set[int | None] = set()
        for a in adapters:
            index = to_int(a.get("ifIndex"))
            used.add(index)
            cfg = by_index.get(index, {})
            kind = adapter_kind(a)
            entry = self._interface(
                a.get("Name"),
                a.get("InterfaceDescription"),
                mac(a.get("MacAddress")),
                kind,
                adapter_up(a),
                cfg,
            )
            interfaces.append(entry)
            permanent = mac(a.get("PermanentAddress")) or entry["mac"]
            if permanent and kind in ("ethernet", "wireless") and permanent not in macs:
                macs.append(permanent)
        for cfg in configs:
            if to_int(cfg.get("InterfaceIndex")) in used:
                continue
            # Interfaces Get-NetAdapter does not list (the loopback pseudo-interface).
            alias = text(cfg.get("InterfaceAlias")) or "interface"
            loopback = any(a["address"] in ("127.0.0.1", "::1") for a in _addresses(cfg))
            interfaces.append(
                self._interface(
                    alias,
                    cfg.get("InterfaceDescription"),
                    None,
                    "loopback" if loopback else "other",
                    True,
                    cfg,
                )
            )
        for entry in interfaces:
            for g in entry["gateways"]:
                if g not in gateways:
                    gateways.append(g)
            for d in entry["dns_servers"]:
                if d not in dns:
                    dns.append(d)
        net["interfaces"] = interfaces[:64]
        net["default_gateways"] = gateways[:16]
        net["dns_servers"] = dns[:16]
        ident["macs"] = macs[:64]

        cs = ctx.cim_query("cim-computersystem", "root/cimv2", "Win32_ComputerSystem")
        if cs.ok:
            system = first(cs.value)
            joined = to_bool(system.get("PartOfDomain"))
            net["domain_joined"] = joined
            if joined:
                net["domain"] = text(system.get("Domain"), 253)
                net["workgroup"] = None
            else:
                net["domain"] = None
                net["workgroup"] = text(system.get("Workgroup") or system.get("Domain"), 64)

        profiles = ctx.read_registry_tree("reg-networklist-profiles", NETWORK_PROFILES)
        if profiles.ok and isinstance(profiles.value, dict):
            net["profile_history"] = profile_history(profiles.value, ctx.utc_offset_minutes)
        else:
            run.failed(profiles, "network.profile_history")

        wlan = ctx.run("netsh-wlan-profiles", ["netsh", "wlan", "show", "profiles"])
        if wlan.ok:
            net["wifi_profiles"] = parse_wlan_profiles(wlan.value)
        elif any(i["kind"] == "wireless" for i in interfaces):
            run.failed(wlan, "network.wifi_profiles")
        else:
            # No wireless adapter: the WLAN service is normally absent, so no profile list.
            net["wifi_profiles"] = []

    @staticmethod
    def _interface(
        name: Any, description: Any, link_mac: str | None, kind: str, up: bool, cfg: dict[str, Any]
    ) -> dict[str, Any]:
        addresses = _addresses(cfg)
        dhcp_flag = to_int(cfg.get("Dhcp"))
        dhcp = (
            dhcp_flag == 1
            if dhcp_flag is not None
            else any(
                to_int(a.get("PrefixOrigin")) == _PREFIX_ORIGIN_DHCP
                for a in as_list(cfg.get("IPv4Address"))
                if isinstance(a, dict)
            )
            if cfg
            else None
        )
        return {
            "name": text(name) or "adapter",
            "description": text(description),
            "mac": link_mac,
            "kind": kind,
            "up": up,
            "addresses": addresses,
            "gateways": (_ips(cfg.get("IPv4DefaultGateway")) + _ips(cfg.get("IPv6DefaultGateway")))[
                :16
            ],
            "dns_servers": _ips(cfg.get("DNSServer"))[:16],
            "dhcp": dhcp,
        }
