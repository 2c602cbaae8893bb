"""What the operating system knows about the local link, read after nmap's probe.

Without raw sockets nmap cannot read MAC addresses, but its TCP connects make
the kernel resolve every answering host of the local link: the neighbour
table (`ip neigh` on Linux, `arp -a` on Windows) then holds their MACs. Read
right after the probe, it lets an unprivileged scan still identify registered
and state-secret machines by MAC. The interface that faces a unit's subnet
(for IPv6 neighbour discovery) comes from the routing table (`ip route get`).

Every command goes through an injected `run` (argv -> stdout, None when it
could not run), so the parsers are tested on recorded output.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from itaudit.identity import normalise_mac
from itaudit.scan.records import Observation

Run = Callable[[list[str]], str | None]
# Entries whose MAC is not (or no longer) known.
_NO_MAC_STATES = {"INCOMPLETE", "FAILED", "NOARP"}
_ARP_WINDOWS = re.compile(
    r"^\s*(\d{1,3}(?:\.\d{1,3}){3})\s+([0-9a-fA-F]{2}(?:-[0-9a-fA-F]{2}){5})\s"
)
_ARP_BSD = re.compile(r"\((\d{1,3}(?:\.\d{1,3}){3})\) at ([0-9a-fA-F:]{11,17})")


def run_command(argv: list[str], timeout: float = 10.0) -> str | None:
    """The real runner: stdout of a command that succeeded, else None."""
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def parse_ip_neigh(text: str) -> dict[str, str]:
    """`ip -j neigh show` -> {address: MAC} for entries that hold a usable MAC."""
    try:
        entries = json.loads(text or "[]")
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for e in entries if isinstance(entries, list) else ():
        if not isinstance(e, dict):
            continue
        states = set(e.get("state") or ())
        mac = normalise_mac(e.get("lladdr"))
        if mac and e.get("dst") and not states & _NO_MAC_STATES:
            out[str(e["dst"]).lower()] = mac
    return out


def parse_arp_a(text: str) -> dict[str, str]:
    """`arp -a` (Windows, or BSD/net-tools style) -> {address: MAC}."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        m = _ARP_WINDOWS.match(line) or _ARP_BSD.search(line)
        if m:
            mac = normalise_mac(m.group(2).replace("-", ":"))
            if mac and mac not in ("ff:ff:ff:ff:ff:ff",) and not mac.startswith("01:00:5e"):
                out[m.group(1)] = mac
    return out


def neighbour_table(run: Run = run_command, platform: str = sys.platform) -> dict[str, str]:
    """The OS neighbour table, {address: MAC}; empty when it cannot be read."""
    if platform.startswith("linux"):
        text = run(["ip", "-j", "neigh", "show"])
        if text is not None:
            return parse_ip_neigh(text)
    text = run(["arp", "-a"])
    return parse_arp_a(text) if text is not None else {}


def add_neighbour_macs(
    observations: Iterable[Observation],
    table: dict[str, str],
    vendors: Callable[[str], str | None] = lambda _mac: None,
) -> tuple[list[Observation], int]:
    """Observations without a MAC get the neighbour table's (mac_source = neighbour)."""
    out = []
    found = 0
    for o in observations:
        mac = table.get(o.address.lower()) if o.mac is None else None
        if mac:
            o = replace(o, mac=mac, vendor=o.vendor or vendors(mac), mac_source="neighbour")
            found += 1
        out.append(o)
    return out, found


def parse_route_get(text: str) -> str | None:
    """`ip -j route get ADDR` -> the interface, when ADDR is on that link (no gateway)."""
    try:
        routes = json.loads(text or "[]")
    except ValueError:
        return None
    for r in routes if isinstance(routes, list) else ():
        if not isinstance(r, dict) or r.get("gateway") or r.get("type") == "local":
            continue
        dev = r.get("dev")
        if isinstance(dev, str) and dev != "lo":
            return dev
    return None


def facing_interfaces(
    networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network], run: Run = run_command
) -> list[str]:
    """The local interfaces whose link holds these networks (none routed through a gateway)."""
    found: list[str] = []
    for n in networks:
        probe = n.network_address if n.num_addresses == 1 else n.network_address + 1
        text = run(["ip", "-j", "route", "get", str(probe)])
        dev = parse_route_get(text) if text is not None else None
        if dev is None and n.num_addresses > 2:
            # The first address may be this machine's own (a local route): try the last.
            text = run(["ip", "-j", "route", "get", str(n.broadcast_address - 1)])
            dev = parse_route_get(text) if text is not None else None
        if dev is not None and dev not in found:
            found.append(dev)
    return found


class MacVendors:
    """MAC prefix -> vendor, from nmap's own nmap-mac-prefixes (read once, when needed)."""

    def __init__(self, nmap_path: str | None):
        self.paths = [Path("/usr/share/nmap/nmap-mac-prefixes")]
        if nmap_path:
            base = Path(nmap_path).resolve().parent
            self.paths[:0] = [
                base / "nmap-mac-prefixes",
                base.parent / "share/nmap/nmap-mac-prefixes",
            ]
        self._table: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for path in self.paths:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                prefix, _, name = line.partition(" ")
                if len(prefix) == 6 and name and not line.startswith("#"):
                    table[prefix.upper()] = name.strip()[:128]
            break
        return table

    def __call__(self, mac: str) -> str | None:
        if self._table is None:
            self._table = self._load()
        return self._table.get(mac.replace(":", "")[:6].upper())
