"""One `itaudit scan`: plan (every check before nmap starts), run nmap, reconcile,
store, compare with the previous scan.

Planning needs no store and no nmap, so every guard rail fails fast. nmap is
started before the store is opened and the agents' hosts are read: that work
happens while nmap scans, and costs nothing in wall time.
"""

from __future__ import annotations

import difflib
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from itaudit.errors import UsageError
from itaudit.org.model import Organisation, Unit
from itaudit.scan.nmap_runner import (
    NmapOutput,
    NmapScan,
    Progress,
    ipv6_arguments,
    scan_arguments,
)
from itaudit.scan.ports import PortCatalogue, PortChoice, PortRisk, choose_ports
from itaudit.scan.targets import LARGE_ADDRESSES, TargetError, TargetSet, parse_targets

# The store stack (SQLAlchemy) is imported only once nmap runs: see `execute`.
if TYPE_CHECKING:
    from itaudit.scan.diff import ScanDiff
    from itaudit.scan.reconcile import Reconciliation
    from itaudit.scan.records import Observation, ScanRecord
    from itaudit.store import Store


def utcnow() -> datetime:
    """Naive UTC, as the store keeps every timestamp."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class ScanRequest:
    targets: tuple[str, ...] = ()
    unit: str | None = None
    ports: str = "default"
    timing: int = 4
    yes_large: bool = False
    diff: bool = False
    resolve: bool = False  # reverse DNS through the system resolver (default: none, -n)
    ipv6: bool = True  # IPv6 neighbour discovery on the unit's links, where it can run


@dataclass(frozen=True)
class PlannedScan:
    """One nmap run: what it scans, for which unit, with which options."""

    unit: Unit | None
    targets: TargetSet
    ports: PortChoice
    risks: dict[int, PortRisk]
    arguments: tuple[str, ...]
    privileged: bool
    timing: int = 4
    note: str | None = None  # why the scan has no unit, when it has none
    resolve: bool = False
    window_days: int = 7
    # IPv6 neighbour discovery: asked for the links of a whole unit's scan; why not otherwise.
    ipv6_wanted: bool = False
    ipv6_note: str | None = None

    @property
    def method(self) -> str:
        """IPv4 discovery: raw packets (root: ARP on the local link) or TCP connect."""
        return "raw" if self.privileged else "connect"

    @property
    def scan_type(self) -> str:
        if not self.ports.ports:
            return "ping"
        return "syn" if self.privileged else "connect"

    def options(self, simulated: bool = False) -> dict:
        return {
            "ports": list(self.ports.ports),
            "ports_spec": self.ports.spec,
            "timing": self.timing,
            "privileged": self.privileged,
            "scan_type": self.scan_type,
            "nmap_arguments": list(self.arguments),
            "simulated": simulated,
            "method": self.method,
            "resolve": self.resolve,
            "window_days": self.window_days,
        }


def _infer_unit(targets: TargetSet, org: Organisation | None) -> tuple[Unit | None, str | None]:
    """The one unit whose subnets hold every target, if there is one."""
    if org is None:
        return None, "no organization.yaml: devices are matched against agent reports only"
    inside = [
        u
        for u in org.units
        if all(
            any(n.version == s.version and n.subnet_of(s) for s in u.subnets)
            for n in targets.networks
        )
    ]
    if len(inside) == 1:
        return inside[0], None
    touched = [
        u.id
        for u in org.units
        if any(n.overlaps(s) for n in targets.networks for s in u.subnets if n.version == s.version)
    ]
    if touched:
        return None, (
            f"the targets span units {', '.join(touched)}: give --unit to reconcile with one "
            "unit (missing devices are listed only for a unit)"
        )
    return None, "the targets are outside every unit's subnets: no missing devices are listed"


def _unknown_unit(given: str, ids: list[str]) -> str:
    by_lower = {i.lower(): i for i in ids}
    close = difflib.get_close_matches(given.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
    return f"unknown unit {given!r}{hint}; units of organization.yaml: {', '.join(ids)}"


def plan_scans(
    request: ScanRequest,
    org: Organisation | None,
    catalogue: PortCatalogue,
    privileged: bool,
) -> list[PlannedScan]:
    """Every scan the request asks for, fully checked; TargetError/UsageError otherwise."""
    unit: Unit | None = None
    if request.unit is not None:
        if org is None:
            raise UsageError(f"--unit {request.unit}: no organization.yaml in this workspace")
        unit = org.unit(request.unit)
        if unit is None:
            raise UsageError(_unknown_unit(request.unit, [u.id for u in org.units]))
    jobs: list[tuple[Unit | None, TargetSet, str | None]] = []
    if request.targets:
        targets = parse_targets(request.targets, yes_large=request.yes_large)
        note = None
        if unit is None:
            unit, note = _infer_unit(targets, org)
        jobs.append((unit, targets, note))
    else:
        if org is None:
            raise TargetError(
                "no targets: give addresses, ranges or networks to scan, or create the "
                "workspace's organization.yaml (itaudit init) so each unit's subnets are used"
            )
        units: list[Unit] = [unit] if unit is not None else list(org.units)
        for each in units:
            subnets = [str(n) for n in each.subnets if n.version == 4]
            if not subnets:
                raise TargetError(
                    f"unit {each.id!r} has no IPv4 subnet in organization.yaml to scan"
                )
            jobs.append((each, parse_targets(subnets, yes_large=request.yes_large), None))
    total = sum(t.addresses for _, t, _ in jobs)
    if total > LARGE_ADDRESSES and not request.yes_large:
        raise TargetError(
            f"the units' subnets cover {total:,} addresses together, more than "
            f"{LARGE_ADDRESSES:,}; check them, then add --yes-large if you really mean it"
        )
    plans = []
    for u, targets, note in jobs:
        choice = choose_ports(request.ports, catalogue, u.id if u else None)
        wanted, why = _ipv6_wanted(request, u, targets, privileged)
        plans.append(
            PlannedScan(
                unit=u,
                targets=targets,
                ports=choice,
                risks=catalogue.lookup(u.id if u else None),
                arguments=tuple(
                    scan_arguments(choice.ports, request.timing, privileged, request.resolve)
                ),
                privileged=privileged,
                timing=request.timing,
                note=note,
                resolve=request.resolve,
                window_days=catalogue.window_days(u.id if u else None),
                ipv6_wanted=wanted,
                ipv6_note=why,
            )
        )
    return plans


def _ipv6_wanted(
    request: ScanRequest, unit: Unit | None, targets: TargetSet, privileged: bool
) -> tuple[bool, str | None]:
    """IPv6 discovery asks every node of a link: only for a scan of a whole unit."""
    if not request.ipv6:
        return False, "--no-ipv6"
    if unit is None or not all(targets.covers(n) for n in unit.subnets if n.version == 4):
        return False, "not a whole unit's subnets"
    if not privileged:
        return False, "needs root (raw sockets)"
    if sys.platform != "linux":
        return False, "IPv6 discovery runs on Linux only"
    return True, None


def current_user() -> str:
    """Who runs the scan; under sudo, the person behind it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (sudo)" if sudo and sudo != user else user


@dataclass(frozen=True)
class ScanOutcome:
    scan_id: int
    plan: PlannedScan
    record: ScanRecord
    result: Reconciliation
    nmap: NmapOutput | None  # None for a simulated scan
    diff: ScanDiff | None
    diff_asked: bool


def record_for(
    plan: PlannedScan,
    started: datetime,
    finished: datetime | None,
    *,
    status: str,
    nmap_version: str | None,
    run_by: str,
    message: str | None = None,
    simulated: bool = False,
    extra: dict | None = None,
) -> ScanRecord:
    from itaudit.scan.records import ScanRecord

    return ScanRecord(
        targets=plan.targets.texts,
        target_key=plan.targets.key,
        started_at=started,
        finished_at=finished,
        status=status,
        unit=plan.unit.id if plan.unit else None,
        options={**plan.options(simulated=simulated), **(extra or {})},
        nmap_version=nmap_version,
        run_by=run_by,
        addresses=plan.targets.addresses,
        message=message,
    )


def _record_failure(
    plan: PlannedScan,
    started: datetime,
    run_by: str,
    exc: BaseException,
    store: Store | None,
    open_store: Callable[[], Store],
) -> None:
    """Store the scan as failed, with why; a store that cannot be reached is left alone
    (its own error is the one the officer sees)."""
    from itaudit.errors import StoreError
    from itaudit.scan.records import save_scan

    if store is None and isinstance(exc, StoreError):
        return
    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
    record = record_for(
        plan,
        started,
        utcnow(),
        status="failed",
        nmap_version=None,
        run_by=run_by,
        message=reason or type(exc).__name__,
    )
    try:
        save_scan(store if store is not None else open_store(), record, [])
    except Exception as err:  # the first error is the one to report
        exc.add_note(f"the failed scan could not be recorded either: {err}")


def execute(
    plan: PlannedScan,
    *,
    nmap_path: str,
    open_store: Callable[[], Store],
    org: Organisation | None,
    want_diff: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    on_started: Callable[[list[str]], None] | None = None,
) -> ScanOutcome:
    """Run one planned scan to its stored, reconciled result.

    Whatever stops it once nmap has started (Ctrl-C, nmap failing, the store)
    stops nmap and, where the store can be reached, records the scan as failed
    with the reason; a scan is never stored half reconciled.
    """
    run_by = current_user()
    started = utcnow()
    scan = NmapScan(
        nmap_path,
        list(plan.arguments),
        plan.targets.nmap_targets(),
        plan.targets.addresses,
        method=plan.method,
    )
    scan.start()
    running: list[NmapScan] = [scan]
    store: Store | None = None
    try:
        if on_started is not None:
            on_started(scan.command)
        # While nmap runs: load the store stack, open the store, read what agents reported
        # and the unit's LAN state this scan builds on.
        from itaudit.scan.coverage import Coverage, carry, coverage_networks
        from itaudit.scan.diff import diff_scans
        from itaudit.scan.reconcile import known_hosts, reconcile
        from itaudit.scan.results import load_scan, previous_scan_id, previous_state, store_scan

        store = open_store()
        hosts = known_hosts(store)
        state = previous_state(store, plan.unit.id if plan.unit else None)
        previous = previous_scan_id(store, plan.targets.key) if want_diff else None
        output = scan.wait(on_progress)
        observations, method_notes = _complete(plan, output, nmap_path, running, on_started)
        now = utcnow()
        coverage = Coverage(
            plan.targets.networks,
            plan.method,
            ipv6=method_notes["ipv6"] == "nd",
            ports=frozenset(plan.ports.ports),
        )
        merged = carry(
            state.observations if state else (), observations, coverage, now, plan.window_days
        )
        covered = coverage_networks(
            state.coverage if state else (), plan.targets.networks, now, plan.window_days
        )
        result = reconcile(
            merged.observations,
            unit=plan.unit,
            targets=_target_set(covered),
            org=org,
            hosts=hosts,
            ports=plan.risks,
            local_addresses=output.local_addresses,
            before=state.observations if state else (),
        )
        record = record_for(
            plan,
            started,
            now,
            status="complete",
            nmap_version=output.nmap_version,
            run_by=run_by,
            message=output.warnings or None,
            extra={
                **method_notes,
                "coverage": [[n, at.isoformat()] for n, at in covered],
                "previous_state": state.scan_id if state else None,
                "carried": sum(1 for o in merged.observations if o.carried),
                "absent": len(merged.absent),
                "kept_identity": len(merged.kept_identity),
            },
        )
        scan_id = store_scan(store, record, result)
    except BaseException as exc:
        for each in running:
            each.stop()
        _record_failure(plan, started, run_by, exc, store, open_store)
        raise
    finally:
        for each in running:
            each.stop()
            each.close()
    diff = None
    if previous is not None:
        before = load_scan(store, previous)
        assert before is not None
        diff = diff_scans(
            previous,
            before.finished_at,
            before.observations,
            before.options,
            result.observations,
            record.options,
        )
    return ScanOutcome(scan_id, plan, record, result, output, diff, want_diff)


def _target_set(covered: list[tuple[str, datetime]]) -> TargetSet:
    import ipaddress

    nets = [ipaddress.ip_network(n) for n, _ in covered]
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    return TargetSet((), tuple(ipaddress.collapse_addresses(v4)))


def _complete(
    plan: PlannedScan,
    output: NmapOutput,
    nmap_path: str,
    running: list[NmapScan],
    on_started: Callable[[list[str]], None] | None,
) -> tuple[list[Observation], dict]:
    """What the IPv4 scan could not see by itself: MACs from the neighbour table
    (without raw sockets), IPv6-only neighbours (with them). Returns the
    observations and how the scan covered the LAN (stored with its options)."""
    from itaudit.scan.neighbours import (
        MacVendors,
        add_neighbour_macs,
        facing_interfaces,
        neighbour_table,
    )

    observations = list(output.observations)
    notes: dict = {"ipv4": plan.method, "ipv6": None, "ipv6_note": plan.ipv6_note}
    if not plan.privileged:
        observations, found = add_neighbour_macs(
            observations, neighbour_table(), MacVendors(nmap_path)
        )
        notes["neighbour_macs"] = found
    if plan.ipv6_wanted and plan.unit is not None:
        interfaces = facing_interfaces(plan.unit.subnets)
        if not interfaces:
            notes["ipv6_note"] = "no local interface faces the unit's subnets"
        seen_macs = {o.mac for o in observations if o.mac}
        for interface in interfaces:
            scan6 = NmapScan(
                nmap_path,
                ipv6_arguments(interface, plan.timing, plan.resolve),
                [],
                0,
                method="nd",
            )
            scan6.start()
            running.append(scan6)
            if on_started is not None:
                on_started(scan6.command)
            found6 = scan6.wait(None)
            for o in found6.observations:
                # A dual-stack device is already there by its IPv4 address.
                if o.mac and o.mac not in seen_macs:
                    observations.append(o)
                    seen_macs.add(o.mac)
        if interfaces:
            notes["ipv6"] = "nd"
            notes["ipv6_interfaces"] = interfaces
    return observations, notes
