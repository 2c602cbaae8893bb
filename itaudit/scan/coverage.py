"""The unit's LAN by coverage, not by "latest scan".

What the checker, reports, ratios and readiness read as a unit's LAN is the
observations of its latest complete scan. That scan stores, besides what it
saw itself, every device of the unit's previous state that it did not cover:
a later scan only overrides what it actually covered (its targets, for IPv6
the unit's links, with an equal or stronger method). So a spot scan of one
address adds evidence and never erases a state-secret machine seen elsewhere a
minute earlier, and a rescan without raw sockets never turns a machine
identified by MAC into an unknown device. A device stays in the state, with
when and by which scan it was last seen, until a covering scan shows it absent
or it was last seen longer ago than the unit's window (`window_days` in
profiles/data/scan-ports.yaml, 7 days by default).

Pure functions: `carry` merges, `Coverage` says what one scan covered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from itaudit.scan.records import Observation, Port

DEFAULT_WINDOW_DAYS = 7
# Discovery methods, weakest first. Root's raw packets (ARP on the local link, which
# finds devices that ignore every probe, ICMP and SYN beyond) outrank a TCP connect
# to two ports; IPv6 neighbour discovery needs raw sockets too.
METHOD_RANK = {"connect": 1, "raw": 2, "nd": 2}


def method_rank(method: str | None) -> int:
    """Observations stored before methods were recorded rank lowest: any scan covers them."""
    return METHOD_RANK.get(method or "", 0)


def is_ipv6(address: str) -> bool:
    return ":" in address


def link_local(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_link_local
    except ValueError:
        return False


@dataclass(frozen=True)
class Coverage:
    """What one scan could have seen: its IPv4 networks with its method, and whether
    it ran IPv6 neighbour discovery on the unit's links."""

    networks: tuple[ipaddress.IPv4Network, ...]
    method: str  # raw or connect
    ipv6: bool = False
    ports: frozenset[int] = frozenset()  # the ports it checked

    def covers(self, o: Observation) -> bool:
        """Whether this scan would have seen `o` had it still been there."""
        if is_ipv6(o.address):
            return self.ipv6 and method_rank("nd") >= method_rank(o.method)
        try:
            ip = ipaddress.ip_address(o.address)
        except ValueError:
            return False
        inside = any(ip in n for n in self.networks)
        return inside and method_rank(self.method) >= method_rank(o.method)


@dataclass(frozen=True)
class Carried:
    """The merged state and what the merge noticed."""

    observations: tuple[Observation, ...]
    # (before, now) of a device seen again whose identification was kept from the
    # earlier, stronger scan.
    kept_identity: tuple[tuple[Observation, Observation], ...]
    absent: tuple[Observation, ...]  # earlier devices this scan covered and did not see
    expired: tuple[Observation, ...]  # last seen before the window


def _merge_ports(
    before: Observation, now: Observation, checked: frozenset[int]
) -> tuple[Port, ...]:
    """Ports the new scan did not check keep what the earlier scan found."""
    kept = [p for p in before.open_ports if p.port not in checked]
    have = {p.port for p in now.open_ports}
    merged = list(now.open_ports) + [p for p in kept if p.port not in have]
    return tuple(sorted(merged, key=lambda p: p.port))


def _seen_again(before: Observation, now: Observation, coverage: Coverage) -> Observation:
    """A device seen again keeps what this scan did not look for: ports it did not
    check, and names when it asked no DNS (names learnt earlier for this device)."""
    return replace(
        now,
        open_ports=_merge_ports(before, now, coverage.ports),
        hostnames=now.hostnames or before.hostnames,
    )


def carry(
    previous: Iterable[Observation],
    new: Sequence[Observation],
    coverage: Coverage,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> Carried:
    """This scan's observations merged with the unit's previous state.

    `previous` must carry `seen_at` and `seen_scan_id` (see `previous_state`).
    A previous device is seen again when the new scan saw its MAC, or its address
    without a MAC (then its MAC and vendor are kept, `mac_source` = earlier). It
    is absent when the new scan covered it and did not see it; otherwise it is
    carried as it was, unless last seen before the window.
    """
    out = list(new)
    by_mac = {o.mac: i for i, o in enumerate(out) if o.mac}
    by_addr = {o.address: i for i, o in enumerate(out)}
    oldest = now - timedelta(days=window_days)
    kept: list[tuple[Observation, Observation]] = []
    absent: list[Observation] = []
    expired: list[Observation] = []
    for e in previous:
        if e.state != "up":
            continue
        i = by_mac.get(e.mac) if e.mac else None
        if i is not None:
            out[i] = _seen_again(e, out[i], coverage)
            continue
        j = by_addr.get(e.address)
        if j is not None and (out[j].mac is None or e.mac is None):
            seen = out[j]
            identified = seen.mac is None and e.mac is not None
            if identified:
                seen = replace(
                    seen, mac=e.mac, vendor=seen.vendor or e.vendor, mac_source="earlier"
                )
            out[j] = _seen_again(e, seen, coverage)
            if identified:
                kept.append((e, out[j]))
            continue
        if coverage.covers(e):
            absent.append(e)
            continue
        if e.seen_at is not None and e.seen_at < oldest:
            expired.append(e)
            continue
        out.append(e)
    return Carried(tuple(out), tuple(kept), tuple(absent), tuple(expired))


def coverage_networks(
    previous: Iterable[tuple[str, datetime]],
    networks: Iterable[ipaddress.IPv4Network],
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> list[tuple[str, datetime]]:
    """The networks scanned within the window (each with its latest scan time): what
    `missing` may count as covered."""
    oldest = now - timedelta(days=window_days)
    latest: dict[str, datetime] = {}
    for net, at in previous:
        if at >= oldest and (net not in latest or latest[net] < at):
            latest[net] = at
    for n in networks:
        latest[str(n)] = now
    return sorted(latest.items())
