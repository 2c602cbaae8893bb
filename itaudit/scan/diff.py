"""`itaudit scan --diff`: what changed since the previous scan of the same targets:
devices that appeared, went or changed address, ports newly open or closed.

Devices are paired by MAC when both scans saw one (a device that changed
address is the same device), else by address. Newly open ports are counted
only among ports both scans checked, so a wider port list does not look like
new services. Only what each scan saw itself is compared (not devices carried
from earlier scans); a device "gone" that the unit's LAN state still holds
(this scan's method could not show it absent) is marked so. The diff says
when the two scans used different methods, and lists devices whose bucket
changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from itaudit.scan.records import Observation


@dataclass(frozen=True)
class PortChange:
    device: Observation  # as the new scan saw it
    ports: tuple[int, ...]


@dataclass(frozen=True)
class ScanDiff:
    previous_id: int
    previous_at: datetime | None
    appeared: tuple[Observation, ...]
    gone: tuple[Observation, ...]
    newly_open: tuple[PortChange, ...]
    newly_closed: tuple[PortChange, ...]
    moved: tuple[tuple[Observation, Observation], ...]  # (before, now): same MAC, new address
    bucket_changes: tuple[tuple[Observation, Observation], ...] = ()  # (before, now)
    methods: tuple[str | None, str | None] = (None, None)  # (before, now): raw, connect
    still_counted: frozenset[str] = frozenset()  # addresses of gone devices the state keeps

    @property
    def methods_differ(self) -> bool:
        return self.methods[0] != self.methods[1]

    @property
    def empty(self) -> bool:
        return not (
            self.appeared
            or self.gone
            or self.newly_open
            or self.newly_closed
            or self.moved
            or self.bucket_changes
        )


def _checked(options: dict) -> set[int] | None:
    ports = options.get("ports")
    if isinstance(ports, list):
        return {int(p) for p in ports}
    return None


def diff_scans(
    previous_id: int,
    previous_at: datetime | None,
    before: Iterable[Observation],
    before_options: dict,
    after: Iterable[Observation],
    after_options: dict,
) -> ScanDiff:
    after = list(after)
    kept = {o.mac or o.address for o in after if o.carried}
    old = [o for o in before if o.state == "up" and not o.carried]
    new = [o for o in after if o.state == "up" and not o.carried]
    old_by_mac = {o.mac: o for o in old if o.mac}
    pairs: list[tuple[Observation, Observation]] = []
    unpaired_new: list[Observation] = []
    used: set[int] = set()
    for o in new:
        match = old_by_mac.get(o.mac) if o.mac else None
        if match is not None and id(match) not in used:
            pairs.append((match, o))
            used.add(id(match))
        else:
            unpaired_new.append(o)
    old_by_addr = {o.address: o for o in old if id(o) not in used}
    appeared = []
    for o in unpaired_new:
        match = old_by_addr.get(o.address)
        # Same address but two different MACs: another device took the address.
        if match is not None and id(match) not in used and not (match.mac and o.mac):
            pairs.append((match, o))
            used.add(id(match))
        else:
            appeared.append(o)
    gone = [o for o in old if id(o) not in used]
    checked_before = _checked(before_options)
    checked_after = _checked(after_options)
    newly_open = []
    newly_closed = []
    moved = []
    changes = []
    for was, now in pairs:
        if was.address != now.address:
            moved.append((was, now))
        if was.bucket and now.bucket and was.bucket != now.bucket:
            changes.append((was, now))
        ports_now = {p.port for p in now.open_ports}
        ports_then = {p.port for p in was.open_ports}
        opened, closed = ports_now - ports_then, ports_then - ports_now
        for checked in (checked_before, checked_after):
            if checked is not None:
                opened &= checked
                closed &= checked
        if opened:
            newly_open.append(PortChange(now, tuple(sorted(opened))))
        if closed:
            newly_closed.append(PortChange(now, tuple(sorted(closed))))
    return ScanDiff(
        previous_id=previous_id,
        previous_at=previous_at,
        appeared=tuple(appeared),
        gone=tuple(gone),
        newly_open=tuple(newly_open),
        newly_closed=tuple(newly_closed),
        moved=tuple(moved),
        bucket_changes=tuple(changes),
        methods=(_method(before_options), _method(after_options)),
        still_counted=frozenset(o.address for o in gone if (o.mac or o.address) in kept),
    )


def _method(options: dict) -> str | None:
    method = options.get("method")
    if method is None and "privileged" in options:
        method = "raw" if options["privileged"] else "connect"
    return method
