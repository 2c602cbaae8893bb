"""Linux network: interfaces (psutil and sysfs), default routes, DNS servers."""

from __future__ import annotations

import ipaddress
from typing import Any

from itaudit.agent.probes.base import Probe, ProbeRun, ip, mac, prefix_from_netmask

# ARPHRD_* link types from /sys/class/net/<if>/type.
_ETHER, _LOOPBACK = 1, 772
_TUNNELS = {768, 769, 776, 778, 823, 65534}


def interface_kind(name: str, info: dict[str, Any]) -> str:
    link = info.get("type")
    if link == _LOOPBACK or name == "lo":
        return "loopback"
    if info.get("wireless"):
        return "wireless"
    if link in _TUNNELS or name.startswith(("tun", "wg", "tap")):
        return "tunnel"
    if info.get("virtual"):
        return "virtual"
    if link == _ETHER:
        return "ethernet"
    return "other"


def parse_route(content: str) -> list[tuple[str, str]]:
    """(interface, gateway) of each IPv4 default route in /proc/net/route."""
    out = []
    for line in content.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        iface, dest, gateway, flags, mask = cols[0], cols[1], cols[2], cols[3], cols[7]
        try:
            if int(dest, 16) != 0 or int(mask, 16) != 0 or not int(flags, 16) & 0x2:
                continue
            addr = str(ipaddress.IPv4Address(int(gateway, 16).to_bytes(4, "little")))
        except ValueError:
            continue
        out.append((iface, addr))
    return out


def parse_ipv6_route(content: str) -> list[tuple[str, str]]:
    """(interface, gateway) of each IPv6 default route in /proc/net/ipv6_route."""
    out = []
    for line in content.splitlines():
        cols = line.split()
        if len(cols) < 10:
            continue
        dest, plen, nexthop, iface = cols[0], cols[1], cols[4], cols[9]
        if dest != "0" * 32 or plen != "00" or nexthop == "0" * 32:
            continue
        try:
            addr = str(ipaddress.IPv6Address(bytes.fromhex(nexthop)))
        except ValueError:
            continue
        out.append((iface, addr))
    return out


def parse_resolv_conf(content: str) -> tuple[list[str], str | None]:
    servers: list[str] = []
    domain = None
    for line in content.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            addr = ip(parts[1])
            if addr and addr not in servers:
                servers.append(addr)
        elif len(parts) >= 2 and parts[0] == "domain":
            domain = parts[1][:253]
    return servers[:16], domain


class NetworkProbe(Probe):
    name = "network"

    def collect(self, run: ProbeRun) -> None:
        ctx, net = run.ctx, run.section("network")
        gateways: dict[str, list[str]] = {}
        route = ctx.read_text("proc-net-route", "/proc/net/route")
        if route.ok:
            for iface, gw in parse_route(route.value):
                gateways.setdefault(iface, []).append(gw)
        else:
            run.failed(route, "network.routes")
        route6 = ctx.read_text("proc-net-ipv6-route", "/proc/net/ipv6_route")
        if route6.ok:
            for iface, gw in parse_ipv6_route(route6.value):
                gateways.setdefault(iface, []).append(gw)

        resolv = ctx.read_text("resolv-conf", "/etc/resolv.conf")
        dns: list[str] = []
        if resolv.ok:
            dns, _domain = parse_resolv_conf(resolv.value)
        else:
            run.failed(resolv, "network.dns")

        res = ctx.interfaces()
        interfaces = []
        macs: list[str] = []
        if res.ok and isinstance(res.value, dict):
            for name, info in sorted(res.value.items()):
                if not isinstance(info, dict):
                    continue
                kind = interface_kind(name, info)
                addresses = []
                link_mac = None
                for a in info.get("addresses") or []:
                    family = a.get("family")
                    if family == "link":
                        link_mac = mac(a.get("address"))
                    elif family in ("inet", "inet6"):
                        addr = ip(a.get("address"))
                        if addr:
                            addresses.append(
                                {
                                    "address": addr,
                                    "prefix_length": prefix_from_netmask(a.get("netmask")),
                                }
                            )
                up = bool(info.get("up")) and info.get("operstate") not in (
                    "down",
                    "lowerlayerdown",
                )
                interfaces.append(
                    {
                        "name": name[:256],
                        "description": None,
                        "mac": link_mac,
                        "kind": kind,
                        "up": up,
                        "addresses": addresses[:64],
                        "gateways": gateways.get(name, [])[:16],
                        "dns_servers": [],
                        "dhcp": None,
                    }
                )
                if link_mac and kind in ("ethernet", "wireless") and link_mac not in macs:
                    macs.append(link_mac)
        else:
            run.failed(res, "network.interfaces")
        net["interfaces"] = interfaces[:64]
        net["default_gateways"] = sorted({g for gws in gateways.values() for g in gws})[:16]
        net["dns_servers"] = dns
        net["domain"] = None
        net["workgroup"] = None
        net["domain_joined"] = None
        run.identity["macs"] = macs[:64]
