"""Equipment ratios and coverage per unit, and where the sources disagree.

The one place these figures are computed: `itaudit ratios`, every report
(unit, department, indicators) and their JSON call `compute_ratios` or feed
the same `Tally`, so a number never differs between outputs.

Sources, never re-evaluated here:
- the asset register (`org.counts.unit_counts`): declared equipment and staff;
- a stored check run (`check.results.iter_subjects`): which machines reported,
  and the checker's verdicts for the anti-malware, EDR and patch rules;
- the latest complete LAN scan of each unit (`scan.records.latest_sightings`,
  `scan.results.latest_findings`): which machines the LAN showed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itaudit.check.results import CheckRun, SubjectResult, iter_subjects
from itaudit.org.counts import UnitCounts, unit_counts
from itaudit.org.model import Asset, Organisation
from itaudit.scan.records import latest_sightings
from itaudit.scan.results import latest_findings
from itaudit.store import Store

# The checker's rules behind each coverage figure (profiles/level1.yaml).
RULE_ANTIVIRUS = "L1-AV-02"  # anti-malware real-time protection is on
RULE_EDR = "L1-EDR-02"  # the EDR agent is running
RULE_PATCHED = "L1-PATCH-01"  # security updates installed within the profile's N days
PATCH_PARAM = "max_patch_age_days"
COMPUTER_TYPES = ("workstation", "laptop", "server")
_APPLICABLE = ("pass", "fail", "error", "waived")
# How the discrepancies group the register's computer types.
_ITEMS = {"workstation": "workstations", "laptop": "workstations", "server": "servers"}


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator; `percent` rounded to one decimal, None when nothing to count."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        if self.denominator == 0:
            return None
        return round(100 * self.numerator / self.denominator, 1)

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)

    def as_dict(self) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "percent": self.percent,
        }


ZERO = Ratio(0, 0)


@dataclass
class Tally:
    """Counts gathered from one pass over a run's machines (mutable while counting)."""

    antivirus: dict[str, list[int]] = field(default_factory=dict)  # unit -> [num, den]
    edr: dict[str, list[int]] = field(default_factory=dict)
    patched: dict[str, list[int]] = field(default_factory=dict)
    registered_reporting: dict[str, int] = field(default_factory=dict)
    never_reported: dict[str, list[str]] = field(default_factory=dict)
    unregistered: dict[str, list[str]] = field(default_factory=dict)
    reporting_by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    # unit -> "workstations" / "servers" -> names, for the discrepancies: who makes
    # the difference between the register and the reports, even when counts agree.
    unregistered_by_item: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    never_by_item: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(
        self, s: SubjectResult, asset: Asset | None, applies: dict[str, dict[str, Any]]
    ) -> None:
        """Count one machine (kind host or asset) of the run."""
        if s.kind == "unit":
            return
        unit = s.unit or ""
        for rule_id, target in (
            (RULE_ANTIVIRUS, self.antivirus),
            (RULE_EDR, self.edr),
            (RULE_PATCHED, self.patched),
        ):
            r = s.result(rule_id)
            cell = target.setdefault(unit, [0, 0])
            if r is not None and r.status in _APPLICABLE:
                cell[0] += r.status == "pass"
                cell[1] += 1
            elif s.kind == "asset" and _should_apply(applies.get(rule_id), s.asset_type, asset):
                # A register machine that never reported should have the product;
                # nothing proves it runs, so it counts against the coverage.
                cell[1] += 1
        name = s.hostname or s.asset_tag or ""
        kind = s.asset_type or "workstation"
        item = _ITEMS.get(kind)
        if s.kind == "asset":
            self.never_reported.setdefault(unit, []).append(s.asset_tag or name)
            if item:
                self.never_by_item.setdefault(unit, {}).setdefault(item, []).append(
                    s.asset_tag or name
                )
            return
        if s.asset_tag:
            self.registered_reporting[unit] = self.registered_reporting.get(unit, 0) + 1
        else:
            self.unregistered.setdefault(unit, []).append(name)
            if item:
                self.unregistered_by_item.setdefault(unit, {}).setdefault(item, []).append(name)
        by_type = self.reporting_by_type.setdefault(unit, {})
        by_type[kind] = by_type.get(kind, 0) + 1


def _should_apply(applies: dict[str, Any] | None, kind: str | None, asset: Asset | None) -> bool:
    if applies is None:
        return False
    types = applies.get("types") or COMPUTER_TYPES
    if kind not in types:
        return False
    secret = applies.get("secret", "include")
    is_secret = bool(asset and asset.secret)
    return not ((secret == "exclude" and is_secret) or (secret == "only" and not is_secret))


def tally_run(store: Store, org: Organisation, run: CheckRun, unit: str | None = None) -> Tally:
    """One pass over the run's machines (of `unit`, or all)."""
    tally = Tally()
    assets = {a.tag: a for a in org.assets}
    for s in iter_subjects(store, run, unit=unit, kinds=("host", "asset")):
        tally.add(s, assets.get(s.asset_tag or ""), run.applicability)
    return tally


@dataclass(frozen=True)
class Discrepancy:
    """Two sources disagree on how many devices of a kind a unit has."""

    unit: str
    item: str  # workstations, servers, or a register type (projector, printer...)
    register: int
    agents: int | None  # machines that send reports (computers only)
    scan: int | None  # devices the latest scan saw (counted types only)
    kind: str  # register-vs-agents, register-vs-scan
    names: tuple[str, ...] = ()  # every name below
    unregistered: tuple[str, ...] = ()  # machines that report but are not in the register
    never_reported: tuple[str, ...] = ()  # register entries that never sent a report

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "item": self.item,
            "kind": self.kind,
            "register": self.register,
            "agents": self.agents,
            "scan": self.scan,
            "names": list(self.names),
            "unregistered": list(self.unregistered),
            "never_reported": list(self.never_reported),
        }


@dataclass(frozen=True)
class LanState:
    """What the latest complete scan of a unit saw (as of the report's date)."""

    scan_id: int
    scanned_at: datetime | None
    seen_tags: frozenset[str]
    unknown: int
    forbidden: int


@dataclass(frozen=True)
class UnitRatios:
    unit: str
    counts: UnitCounts
    staff: int
    machines_per_staff: Ratio  # workstations (desktops + laptops) / staff
    antivirus: Ratio
    edr: Ratio
    patched: Ratio
    patch_days: int | None
    lan: Ratio | None  # None: the unit was never scanned
    reporting: Ratio  # register computers with a report / register computers
    reporting_workstations: int  # workstations and laptops that report (registered or not)
    reporting_servers: int
    unregistered: tuple[str, ...]
    never_reported: tuple[str, ...]
    unknown_lan: int | None
    forbidden_lan: int | None
    last_scan: datetime | None
    discrepancies: tuple[Discrepancy, ...]

    def as_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "unit": self.unit,
            "staff": self.staff,
            "workstations": c.workstations,
            "desktops": c.desktops,
            "laptops": c.laptops,
            "servers": c.servers_onsite + c.servers_offsite,
            "servers_onsite": c.servers_onsite,
            "servers_offsite": c.servers_offsite,
            "secret": c.secret,
            "machines_per_staff": self.machines_per_staff.as_dict(),
            "antivirus": self.antivirus.as_dict(),
            "edr": self.edr.as_dict(),
            "patched": self.patched.as_dict(),
            "patch_days": self.patch_days,
            "lan": self.lan.as_dict() if self.lan else None,
            "reporting": self.reporting.as_dict(),
            "reporting_workstations": self.reporting_workstations,
            "reporting_servers": self.reporting_servers,
            "unknown_lan": self.unknown_lan,
            "forbidden_lan": self.forbidden_lan,
            "last_scan": self.last_scan.isoformat() if self.last_scan else None,
            "discrepancies": [d.as_dict() for d in self.discrepancies],
        }


@dataclass(frozen=True)
class RatiosReport:
    run_id: int | None
    checked_at: datetime | None
    as_of: datetime | None
    units: tuple[UnitRatios, ...]
    total: UnitRatios | None

    def unit(self, unit_id: str) -> UnitRatios | None:
        return next((u for u in self.units if u.unit == unit_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "units": [u.as_dict() for u in self.units],
            "total": self.total.as_dict() if self.total else None,
        }


def lan_states(
    store: Store, org: Organisation, unit: str | None = None, before: datetime | None = None
) -> dict[str, LanState]:
    """The latest complete scan of each unit: asset tags seen, unknown and forbidden devices."""
    by_unit: dict[str, dict[str, Any]] = {}
    for s in latest_sightings(store, unit, before):
        if s.unit is None:
            continue
        state = by_unit.setdefault(
            s.unit,
            {"scan_id": s.scan_id, "at": s.scanned_at, "tags": set(), "unknown": 0, "forbidden": 0},
        )
        o = s.observation
        if o.asset_tag:
            state["tags"].add(o.asset_tag)
        if o.bucket in ("unknown", "forbidden"):
            state[o.bucket] += 1
    return {
        u: LanState(v["scan_id"], v["at"], frozenset(v["tags"]), v["unknown"], v["forbidden"])
        for u, v in by_unit.items()
    }


def register_count_findings(
    store: Store, unit: str | None = None, before: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The scans' `register-count` findings (more devices of a type than registered), per unit."""
    out: dict[str, list[dict[str, Any]]] = {}
    for _scan_id, scan_unit, f in latest_findings(store, unit, before):
        if f.kind == "register-count" and scan_unit:
            out.setdefault(scan_unit, []).append(f.detail)
    return out


def _ratio(cell: list[int] | None) -> Ratio:
    return Ratio(cell[0], cell[1]) if cell else ZERO


def _patch_days(run: CheckRun, profile: str | None) -> int | None:
    rules = (run.profiles.get(profile or "") or {}).get("rules", {})
    value = (rules.get(RULE_PATCHED) or {}).get("params", {}).get(PATCH_PARAM)
    return int(value) if isinstance(value, int | float) else None


def unit_ratios(
    counts: UnitCounts,
    org: Organisation,
    run: CheckRun | None,
    tally: Tally,
    lan: LanState | None,
    register_counts: Iterable[dict[str, Any]] = (),
) -> UnitRatios:
    """The ratios of one unit from the register, the run's tally and its latest scan."""
    unit = counts.unit.id
    assets = [a for a in org.assets_of(unit) if a.is_computer]
    computers = len(assets)
    reporting = tally.registered_reporting.get(unit, 0)
    by_type = tally.reporting_by_type.get(unit, {})
    reporting_ws = by_type.get("workstation", 0) + by_type.get("laptop", 0)
    reporting_srv = by_type.get("server", 0)
    unregistered = tuple(sorted(tally.unregistered.get(unit, [])))
    never = tuple(sorted(tally.never_reported.get(unit, [])))
    lan_ratio = None
    if lan is not None:
        expected = [a for a in assets if a.lan == "expected" and not a.secret]
        lan_ratio = Ratio(sum(a.tag in lan.seen_tags for a in expected), len(expected))
    discrepancies: list[Discrepancy] = []
    servers = counts.servers_onsite + counts.servers_offsite
    if run is not None:
        for item, registered, agents in (
            ("workstations", counts.workstations, reporting_ws),
            ("servers", servers, reporting_srv),
        ):
            extra = tuple(sorted(tally.unregistered_by_item.get(unit, {}).get(item, [])))
            absent = tuple(sorted(tally.never_by_item.get(unit, {}).get(item, [])))
            # Equal counts can still hide two different machines: one unregistered
            # reporter and one register entry that never reports.
            if agents != registered or extra or absent:
                discrepancies.append(
                    Discrepancy(
                        unit,
                        item,
                        registered,
                        agents,
                        None,
                        "register-vs-agents",
                        (*extra, *absent),
                        extra,
                        absent,
                    )
                )
    for detail in register_counts:
        discrepancies.append(
            Discrepancy(
                unit,
                str(detail.get("type")),
                int(detail.get("registered") or 0),
                None,
                int(detail.get("seen") or 0),
                "register-vs-scan",
            )
        )
    return UnitRatios(
        unit=unit,
        counts=counts,
        staff=counts.unit.staff,
        machines_per_staff=Ratio(counts.workstations, counts.unit.staff),
        antivirus=_ratio(tally.antivirus.get(unit)),
        edr=_ratio(tally.edr.get(unit)),
        patched=_ratio(tally.patched.get(unit)),
        patch_days=_patch_days(run, counts.unit.profile) if run else None,
        lan=lan_ratio,
        # Without a check run nothing is known about who reports: no figure, not 0 %.
        reporting=Ratio(reporting, computers) if run is not None else ZERO,
        reporting_workstations=reporting_ws,
        reporting_servers=reporting_srv,
        unregistered=unregistered,
        never_reported=never,
        unknown_lan=lan.unknown if lan else None,
        forbidden_lan=lan.forbidden if lan else None,
        last_scan=lan.scanned_at if lan else None,
        discrepancies=tuple(discrepancies),
    )


def total_ratios(org: Organisation, units: Iterable[UnitRatios]) -> UnitRatios:
    """The department: sums of every unit's numerators and denominators."""
    units = list(units)
    counts = UnitCounts(
        unit=_department_unit(org, sum(u.staff for u in units)),
        desktops=sum(u.counts.desktops for u in units),
        laptops=sum(u.counts.laptops for u in units),
        servers_onsite=sum(u.counts.servers_onsite for u in units),
        servers_offsite=sum(u.counts.servers_offsite for u in units),
        other_devices=sum(u.counts.other_devices for u in units),
        websites=sum(u.counts.websites for u in units),
        secret=sum(u.counts.secret for u in units),
    )

    def add(values: Iterable[Ratio | None]) -> Ratio | None:
        present = [v for v in values if v is not None]
        if not present:
            return None
        total = ZERO
        for v in present:
            total = total + v
        return total

    scans = [u.last_scan for u in units if u.last_scan]
    lan_counts = [u for u in units if u.unknown_lan is not None]
    return UnitRatios(
        unit="",
        counts=counts,
        staff=counts.unit.staff,
        machines_per_staff=Ratio(counts.workstations, counts.unit.staff),
        antivirus=add(u.antivirus for u in units) or ZERO,
        edr=add(u.edr for u in units) or ZERO,
        patched=add(u.patched for u in units) or ZERO,
        patch_days=None,
        lan=add(u.lan for u in units),
        reporting=add(u.reporting for u in units) or ZERO,
        reporting_workstations=sum(u.reporting_workstations for u in units),
        reporting_servers=sum(u.reporting_servers for u in units),
        unregistered=tuple(n for u in units for n in u.unregistered),
        never_reported=tuple(n for u in units for n in u.never_reported),
        unknown_lan=sum(u.unknown_lan or 0 for u in lan_counts) if lan_counts else None,
        forbidden_lan=sum(u.forbidden_lan or 0 for u in lan_counts) if lan_counts else None,
        last_scan=max(scans) if scans else None,
        discrepancies=tuple(d for u in units for d in u.discrepancies),
    )


def _department_unit(org: Organisation, staff: int) -> Any:
    from dataclasses import replace

    first = org.units[0]
    return replace(
        first,
        id="",
        name_vi=org.name_vi,
        name_en=org.name_en,
        staff=staff,
        includes=(),
        extra_days_off=(),
    )


def compute_ratios(
    store: Store,
    org: Organisation,
    run: CheckRun | None,
    *,
    unit: str | None = None,
    as_of: datetime | None = None,
    tally: Tally | None = None,
) -> RatiosReport:
    """Every unit's ratios (or `unit`'s) and the department's total.

    `run` is the check run whose verdicts count (None: register and scans only);
    `as_of` limits the scans to those finished by then; `tally` reuses a pass
    over the run already made by the caller (the reports make one pass for all).
    """
    if tally is None:
        tally = tally_run(store, org, run, unit) if run is not None else Tally()
    lans = lan_states(store, org, unit, as_of)
    extra = register_count_findings(store, unit, as_of)
    units = tuple(
        unit_ratios(c, org, run, tally, lans.get(c.unit.id), extra.get(c.unit.id, ()))
        for c in unit_counts(org)
        if unit is None or c.unit.id == unit
    )
    return RatiosReport(
        run_id=run.id if run else None,
        checked_at=run.checked_at if run else None,
        as_of=as_of,
        units=units,
        total=total_ratios(org, units) if unit is None and units else None,
    )
