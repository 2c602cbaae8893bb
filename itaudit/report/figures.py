"""Every number the compliance reports show, computed once from the store.

`build_reports` makes one pass over a check run's machines and returns frozen
dataclasses: a `UnitReport` per requested unit and the `DepartmentSummary`.
The renderers (HTML, Markdown, CSV, XLSX, JSON) only format these; the ratios
come from `itaudit.ratios` (the function `itaudit ratios` calls), verdicts from
`itaudit.check.results` (never re-evaluated), LAN findings from the latest
stored scan.

Texts are kept in both languages (`Text`), so one build serves `--lang vi`
and `--lang en` with the same numbers. Untrusted strings (host names, evidence,
register columns) are clipped here; the renderers escape them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from itaudit.check.results import (
    AttestationState,
    CheckRun,
    SubjectResult,
    UnitSummary,
    iter_subjects,
    latest_run,
    previous_run,
)
from itaudit.errors import ItauditError, UsageError
from itaudit.i18n import t
from itaudit.org.model import Asset, Organisation, Unit
from itaudit.profiles.model import Text
from itaudit.ratios import Ratio, RatiosReport, Tally, UnitRatios, compute_ratios, lan_states
from itaudit.report.citations import citations_text, requirement_heading
from itaudit.report.render import clip
from itaudit.scan.reconcile import type_name
from itaudit.scan.results import load_scan
from itaudit.store import Store, utcnow

Day = date
SEVERITY_ORDER = ("critical", "high", "medium", "low")
EXPIRING_DAYS = 30  # waivers and attestations "expiring soon"
MAX_EVIDENCE = 4  # evidence lines shown per problem
NAME_LIMIT = 80  # host names, asset tags, people
TEXT_LIMIT = 300


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _name(value: Any) -> str | None:
    return clip(value, NAME_LIMIT) if value else None


@dataclass(frozen=True)
class Problem:
    """One failing (or unknown) rule on one machine, in plain words."""

    rule_id: str
    status: str  # fail, error, waived
    severity: str
    title: Text
    remediation: Text
    evidence: tuple[str, ...]
    what: Text  # what is wrong, in plain words (the rule's `problem` text when it has one)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "status": self.status,
            "severity": self.severity,
            "title": self.title.as_dict(),
            "what": self.what.as_dict(),
            "remediation": self.remediation.as_dict(),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class ActionItem:
    """A machine (or the unit itself) with something to fix, and who must fix it."""

    kind: str  # host, asset (never reported), unit
    subject: str
    asset_tag: str | None
    asset_type: str | None
    assigned_to: str | None
    location: str | None
    worst: str
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "asset_tag": self.asset_tag,
            "asset_type": self.asset_type,
            "assigned_to": self.assigned_to,
            "location": self.location,
            "worst_severity": self.worst,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class RuleRow:
    rule_id: str
    title: Text
    severity: str
    kind: str
    # Every framework's clauses as a reader cites them ("Thông tư 12/2022/TT-BTTTT,
    # Phụ lục I, mục 1.5; ..."); the ids as stored stay in `refs` for the officer.
    references: Text
    passed: int
    failed: int
    errors: int
    not_applicable: int
    waived: int
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unconfirmed: bool = False  # cites a clause not checked against the published text

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "title": self.title.as_dict(),
            "severity": self.severity,
            "kind": self.kind,
            "references": {k: list(v) for k, v in self.refs.items()},
            "citations": self.references.as_dict(),
            "unconfirmed": self.unconfirmed,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "not_applicable": self.not_applicable,
            "waived": self.waived,
        }


@dataclass(frozen=True)
class RequirementGroup:
    id: str
    title: Text
    rules: tuple[RuleRow, ...]
    # The citation and title a reader sees; empty for the group of other rules.
    heading: Text = field(default_factory=lambda: Text("", ""))

    @property
    def failed(self) -> int:
        return sum(r.failed + r.errors for r in self.rules)


@dataclass(frozen=True)
class WaiverRow:
    rule_id: str
    title: Text
    target: str
    reason: str
    approved_by: str
    decision: str
    expires: date
    state: str  # active, expiring, expired
    used: int | None


@dataclass(frozen=True)
class AttestationRow:
    rule_id: str
    title: Text
    target: str
    state: str  # valid, expiring, expired, future, missing
    reference: str | None
    date: Day | None  # `Day`: the field's name hides the type inside the class
    expires: Day | None


@dataclass(frozen=True)
class LanFindingRow:
    severity: str
    kind: str
    address: str | None
    device: str | None
    message: Text


@dataclass(frozen=True)
class LanReport:
    scan_id: int
    scanned_at: datetime | None
    simulated: bool
    devices: int
    buckets: dict[str, int]  # managed, registered, unknown, forbidden, missing
    findings: tuple[LanFindingRow, ...]
    missing: tuple[tuple[str, str, str], ...]  # (asset or host, type, expected address)


@dataclass(frozen=True)
class MachineRow:
    kind: str
    hostname: str | None
    asset_tag: str | None
    asset_type: str | None
    platform: str | None
    assigned_to: str | None
    collected_at: datetime | None
    passed: int
    failed: int
    errors: int
    not_applicable: int
    waived: int
    score: float | None  # percent
    issues: tuple[Problem, ...]  # fail, error and waived results

    @property
    def compliant(self) -> bool:
        return self.failed == 0 and self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "hostname": self.hostname,
            "asset_tag": self.asset_tag,
            "asset_type": self.asset_type,
            "platform": self.platform,
            "assigned_to": self.assigned_to,
            "collected_at": self.collected_at.isoformat() if self.collected_at else None,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "not_applicable": self.not_applicable,
            "waived": self.waived,
            "score": self.score,
            "compliant": self.compliant,
            "issues": [p.as_dict() for p in self.issues],
        }


@dataclass(frozen=True)
class Change:
    """What moved since the previous complete run with the same scope."""

    previous_run: int
    previous_checked_at: datetime
    compliant_before: int
    compliant_now: int
    failed_before: int
    failed_now: int
    # Evaluation methods of the two runs (itaudit.check.engine.METHODS); None for a
    # run stored before methods were recorded.
    method_before: int | None = None
    method_now: int | None = None

    @property
    def method_changed(self) -> bool:
        """The numbers moved (also) because verdicts are decided differently now."""
        return (self.method_before or 1) != (self.method_now or 1)

    @property
    def compliant_delta(self) -> int:
        return self.compliant_now - self.compliant_before

    @property
    def failed_delta(self) -> int:
        return self.failed_now - self.failed_before

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous_run": self.previous_run,
            "previous_checked_at": self.previous_checked_at.isoformat(),
            "compliant_before": self.compliant_before,
            "compliant_now": self.compliant_now,
            "compliant_delta": self.compliant_delta,
            "failed_before": self.failed_before,
            "failed_now": self.failed_now,
            "failed_delta": self.failed_delta,
            "method_before": self.method_before,
            "method_now": self.method_now,
            "method_changed": self.method_changed,
        }


@dataclass(frozen=True)
class Banner:
    """The unit's headline numbers, straight from the run's UnitSummary."""

    machines: int
    reported: int
    never_reported: int
    compliant: Ratio
    mean_score: float | None  # percent
    passed: int
    failed: int
    errors: int
    not_applicable: int
    waived: int
    failed_by_severity: dict[str, int]
    unit_rules_failed: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "machines": self.machines,
            "reported": self.reported,
            "never_reported": self.never_reported,
            "compliant": self.compliant.as_dict(),
            "mean_score": self.mean_score,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "not_applicable": self.not_applicable,
            "waived": self.waived,
            "failed_by_severity": dict(self.failed_by_severity),
            "unit_rules_failed": self.unit_rules_failed,
        }


@dataclass(frozen=True)
class UnitReport:
    unit_id: str
    name: Text
    profile: str
    framework: str
    framework_title: Text
    run_id: int
    checked_at: datetime
    generated_at: datetime
    head: str | None
    it_contact: str | None
    sample: bool
    banner: Banner
    actions: tuple[ActionItem, ...]
    requirements: tuple[RequirementGroup, ...]
    waivers: tuple[WaiverRow, ...]
    attestations: tuple[AttestationRow, ...]
    lan: LanReport | None
    machines: tuple[MachineRow, ...]
    ratios: UnitRatios
    change: Change | None

    @property
    def unconfirmed(self) -> bool:
        """Some citation on the page is not confirmed against the published text."""
        return any(row.unconfirmed for g in self.requirements for row in g.rules)

    @property
    def rule_rows(self) -> tuple[RuleRow, ...]:
        """Every rule row once, by rule id: the officer's annex."""
        return tuple(
            sorted((x for g in self.requirements for x in g.rules), key=lambda x: x.rule_id)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "unit",
            "unit": self.unit_id,
            "name": self.name.as_dict(),
            "profile": self.profile,
            "framework": self.framework,
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "head": self.head,
            "it_contact": self.it_contact,
            "banner": self.banner.as_dict(),
            "actions": [a.as_dict() for a in self.actions],
            "requirements": [
                {
                    "id": g.id,
                    "title": g.title.as_dict(),
                    "heading": g.heading.as_dict(),
                    "rules": [r.as_dict() for r in g.rules],
                }
                for g in self.requirements
            ],
            "waivers": [
                {
                    "rule": w.rule_id,
                    "target": w.target,
                    "reason": w.reason,
                    "approved_by": w.approved_by,
                    "decision": w.decision,
                    "expires": w.expires.isoformat(),
                    "state": w.state,
                    "used": w.used,
                }
                for w in self.waivers
            ],
            "attestations": [
                {
                    "rule": a.rule_id,
                    "target": a.target,
                    "state": a.state,
                    "reference": a.reference,
                    "date": a.date.isoformat() if a.date else None,
                    "expires": a.expires.isoformat() if a.expires else None,
                }
                for a in self.attestations
            ],
            "lan": None
            if self.lan is None
            else {
                "scan_id": self.lan.scan_id,
                "scanned_at": self.lan.scanned_at.isoformat() if self.lan.scanned_at else None,
                "simulated": self.lan.simulated,
                "devices": self.lan.devices,
                "buckets": dict(self.lan.buckets),
                "findings": [
                    {
                        "severity": f.severity,
                        "kind": f.kind,
                        "address": f.address,
                        "device": f.device,
                        "message": f.message.as_dict(),
                    }
                    for f in self.lan.findings
                ],
                "missing": [list(m) for m in self.lan.missing],
            },
            "machines": [m.as_dict() for m in self.machines],
            "ratios": self.ratios.as_dict(),
            "change": self.change.as_dict() if self.change else None,
        }


@dataclass(frozen=True)
class DepartmentRow:
    unit_id: str  # "" for the total
    name: Text
    machines: int
    compliant: Ratio
    failed: int
    ratios: UnitRatios
    last_check: datetime | None
    change: Change | None
    errors: int = 0  # results "could not be checked": counted against the score, never hidden

    def as_dict(self) -> dict[str, Any]:
        r = self.ratios
        return {
            "unit": self.unit_id or None,
            "name": self.name.as_dict(),
            "machines": self.machines,
            "staff": r.staff,
            "workstations": r.counts.workstations,
            "machines_per_staff": r.machines_per_staff.as_dict(),
            "antivirus": r.antivirus.as_dict(),
            "edr": r.edr.as_dict(),
            "patched": r.patched.as_dict(),
            "patch_days": r.patch_days,
            "compliant": self.compliant.as_dict(),
            "failed": self.failed,
            "errors": self.errors,
            "unknown_lan": r.unknown_lan,
            "forbidden_lan": r.forbidden_lan,
            "last_scan": r.last_scan.isoformat() if r.last_scan else None,
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "change": self.change.as_dict() if self.change else None,
        }


@dataclass(frozen=True)
class DepartmentSummary:
    name: Text
    run_id: int
    checked_at: datetime
    generated_at: datetime
    previous_run: int | None
    previous_checked_at: datetime | None
    patch_days: tuple[int, ...]
    sample: bool
    rows: tuple[DepartmentRow, ...]
    total: DepartmentRow
    discrepancies: tuple[Any, ...]
    ratios: RatiosReport
    # Security products seen on the fleet that the catalogue does not know
    # (itaudit.check.unknown_products.SeenProduct), from the latest reports.
    unknown_products: tuple[Any, ...] = ()
    # Scheduled jobs whose latest run failed (itaudit.schedule.JobRun).
    failed_jobs: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "department",
            "unknown_products": [p.as_dict() for p in self.unknown_products],
            "failed_jobs": [j.as_dict() for j in self.failed_jobs],
            "name": self.name.as_dict(),
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "previous_run": self.previous_run,
            "previous_checked_at": self.previous_checked_at.isoformat()
            if self.previous_checked_at
            else None,
            "patch_days": list(self.patch_days),
            "units": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
            "discrepancies": [d.as_dict() for d in self.discrepancies],
        }


@dataclass(frozen=True)
class ReportSet:
    run: CheckRun
    department: DepartmentSummary | None
    units: dict[str, UnitReport] = field(default_factory=dict)
    ratios: RatiosReport | None = None


class NoCheckRun(UsageError):
    """Nothing to report: the store has no complete check run (exit 2)."""


# -- building ----------------------------------------------------------------------------------
def _what(status: str, title: Text, problem: Text | None) -> Text:
    """The sentence a unit head reads: the rule's own problem text, else a generic one."""
    if status == "fail" and problem is not None:
        return problem
    key = "report.actions.unknown" if status == "error" else "report.actions.not_met"
    return Text(t(key, "vi", title=title.vi), t(key, "en", title=title.en))


def _problem(r: Any) -> Problem:
    return Problem(
        rule_id=r.rule_id,
        status=r.status,
        severity=r.severity,
        title=r.rule.title,
        remediation=r.rule.remediation,
        evidence=tuple(clip(line, TEXT_LIMIT) for line in r.evidence[:MAX_EVIDENCE]),
        what=_what(r.status, r.rule.title, r.rule.problem),
    )


class _UnitBuilder:
    """Accumulates one unit's machines during the single pass over the run."""

    def __init__(self, unit: Unit, assets: dict[str, Asset]):
        self.unit = unit
        self.assets = assets
        self.rule_counts: dict[str, list[int]] = {}
        self.actions: list[ActionItem] = []
        self.machines: list[MachineRow] = []

    def add(self, s: SubjectResult) -> None:
        issues: list[Problem] = []
        for r in s.results:
            counts = self.rule_counts.setdefault(r.rule_id, [0, 0, 0, 0, 0])
            counts[_STATUS_INDEX[r.status]] += 1
            if r.status in ("fail", "error", "waived"):
                issues.append(_problem(r))
        issues.sort(key=lambda p: (p.status == "waived", _rank(p.severity), p.rule_id))
        asset = self.assets.get(s.asset_tag or "")
        to_fix = tuple(p for p in issues if p.status != "waived")
        if s.kind == "unit":
            if to_fix:
                head = self.unit.head
                self.actions.append(
                    ActionItem(
                        kind="unit",
                        subject=self.unit.id,
                        asset_tag=None,
                        asset_type=None,
                        assigned_to=_name(
                            f"{head.name}, {head.title}"
                            if head and head.title
                            else head and head.name
                        ),
                        location=None,
                        worst=min((p.severity for p in to_fix), key=_rank),
                        problems=to_fix,
                    )
                )
            return
        name = _name(s.hostname or s.asset_tag) or "?"
        if to_fix:
            self.actions.append(
                ActionItem(
                    kind=s.kind,
                    subject=name,
                    asset_tag=_name(s.asset_tag),
                    asset_type=s.asset_type,
                    assigned_to=_name(asset.assigned_to if asset else None),
                    location=_name(asset.location if asset else None),
                    worst=min((p.severity for p in to_fix), key=_rank),
                    problems=to_fix,
                )
            )
        self.machines.append(
            MachineRow(
                kind=s.kind,
                hostname=_name(s.hostname),
                asset_tag=_name(s.asset_tag),
                asset_type=s.asset_type,
                platform=s.platform,
                assigned_to=_name(asset.assigned_to if asset else None),
                collected_at=s.collected_at,
                passed=s.passed,
                failed=s.failed,
                errors=s.errors,
                not_applicable=s.not_applicable,
                waived=s.waived,
                score=None if s.score is None else round(100 * s.score, 1),
                issues=tuple(issues),
            )
        )


_STATUS_INDEX = {"pass": 0, "fail": 1, "error": 2, "not-applicable": 3, "waived": 4}


def load_framework_titles(profiles_dir: Path | None, inventory: Path | None) -> dict[str, Any]:
    """The workspace's framework mappings (requirement titles); empty when unreadable:
    a report must not fail because today's profiles have an error."""
    if profiles_dir is None:
        return {}
    try:
        from itaudit.profiles import load_profiles

        return dict(load_profiles(profiles_dir, inventory).frameworks)
    except (ItauditError, OSError):
        return {}


def _row(rid: str, info: Any, c: list[int], frameworks: dict[str, Any]) -> RuleRow:
    refs = {k: tuple(v) for k, v in info.references.items() if v}
    text, unconfirmed = citations_text(refs, frameworks)
    return RuleRow(
        rule_id=rid,
        title=info.title,
        severity=info.severity,
        kind=info.kind,
        references=text,
        passed=c[0],
        failed=c[1],
        errors=c[2],
        not_applicable=c[3],
        waived=c[4],
        refs=refs,
        unconfirmed=unconfirmed,
    )


def _requirements(
    run: CheckRun, counts: dict[str, list[int]], frameworks: dict[str, Any], fw_id: str
) -> tuple[RequirementGroup, ...]:
    framework = frameworks.get(fw_id)
    rows = {
        rid: _row(rid, info, c, frameworks)
        for rid, c in counts.items()
        if (info := run.rules.get(rid)) is not None
    }
    groups: list[RequirementGroup] = []
    placed: set[str] = set()
    if framework is not None:
        for req in framework.requirements:
            members = tuple(rows[r] for r in req.rules if r in rows)
            if members:
                heading = requirement_heading(framework, fw_id, req)
                groups.append(RequirementGroup(req.id, req.title, members, heading))
                placed.update(r.rule_id for r in members)
    else:
        by_clause: dict[str, list[RuleRow]] = {}
        for rid, row in rows.items():
            for clause in run.rules[rid].references.get(fw_id, ()):
                by_clause.setdefault(clause, []).append(row)
                placed.add(rid)
        for clause in sorted(by_clause):
            heading = Text(
                t("report.citations.unknown_framework", "vi", clause=clause),
                t("report.citations.unknown_framework", "en", clause=clause),
            )
            groups.append(
                RequirementGroup(clause, Text(clause, clause), tuple(by_clause[clause]), heading)
            )
    rest = tuple(row for rid, row in sorted(rows.items()) if rid not in placed)
    if rest:
        groups.append(RequirementGroup("", Text("", ""), rest))
    return tuple(groups)


def _waivers(run: CheckRun, unit: Unit, today: date) -> tuple[WaiverRow, ...]:
    out = []
    for w in run.waivers:
        if w.profile != unit.profile:
            continue
        if w.expired:
            state = "expired"
        elif (w.expires - today).days <= EXPIRING_DAYS:
            state = "expiring"
        else:
            state = "active"
        info = run.rules.get(w.rule)
        out.append(
            WaiverRow(
                rule_id=w.rule,
                title=info.title if info else Text(w.rule, w.rule),
                target=clip(w.target, NAME_LIMIT),
                reason=clip(w.reason, TEXT_LIMIT),
                approved_by=clip(w.approved_by, NAME_LIMIT),
                decision=clip(w.decision, NAME_LIMIT),
                expires=w.expires,
                state=state,
                used=w.used,
            )
        )
    out.sort(key=lambda w: (("expired", "expiring", "active").index(w.state), w.expires))
    return tuple(out)


def attestation_state(a: AttestationState, today: date) -> str:
    """valid / expiring (within EXPIRING_DAYS) / expired / future / missing, as of `today`."""
    if a.state == "valid" and a.expires is not None:
        if a.expires <= today:
            return "expired"
        if (a.expires - today).days <= EXPIRING_DAYS:
            return "expiring"
    return a.state


def _attestations(
    run: CheckRun, unit: Unit, tags: set[str], today: date
) -> tuple[AttestationRow, ...]:
    out = []
    for a in run.attestations:
        mine = (a.target_kind == "unit" and a.target == unit.id) or (
            a.target_kind == "host" and a.target in tags
        )
        if not mine:
            continue
        info = run.rules.get(a.rule)
        out.append(
            AttestationRow(
                rule_id=a.rule,
                title=info.title if info else Text(a.rule, a.rule),
                target=clip(a.target, NAME_LIMIT),
                state=attestation_state(a, today),
                reference=clip(a.reference, TEXT_LIMIT) if a.reference else None,
                date=a.date,
                expires=a.expires,
            )
        )
    order = ("missing", "expired", "expiring", "future", "valid")
    out.sort(key=lambda a: (order.index(a.state) if a.state in order else 9, a.rule_id))
    return tuple(out)


def _lan_report(store: Store, scan_id: int | None) -> LanReport | None:
    if scan_id is None:
        return None
    scan = load_scan(store, scan_id)
    if scan is None:
        return None
    summary = scan.summary or {}
    findings = sorted(scan.findings, key=lambda f: (_rank(f.severity), f.kind))
    return LanReport(
        scan_id=scan.id,
        scanned_at=scan.finished_at or scan.started_at,
        simulated=bool(scan.options.get("simulated")),
        devices=int(summary.get("devices") or len(scan.observations)),
        buckets={
            b: int(summary.get(b) or 0)
            for b in ("managed", "registered", "unknown", "forbidden", "missing")
        },
        findings=tuple(
            LanFindingRow(
                severity=f.severity,
                kind=f.kind,
                address=f.address,
                device=_name(f.asset_tag or f.detail.get("hostname")),
                message=Text(clip(f.message("vi"), TEXT_LIMIT), clip(f.message("en"), TEXT_LIMIT)),
            )
            for f in findings
        ),
        missing=tuple(
            (
                _name(m.asset_tag or m.hostname) or "?",
                m.type or "",
                m.address or "",
            )
            for m in scan.missing
        ),
    )


def _banner(u: UnitSummary | None) -> Banner:
    if u is None:
        return Banner(
            0, 0, 0, Ratio(0, 0), None, 0, 0, 0, 0, 0, dict.fromkeys(SEVERITY_ORDER, 0), 0
        )
    return Banner(
        machines=u.machines,
        reported=u.reported,
        never_reported=u.never_reported,
        compliant=Ratio(u.compliant, u.machines),
        mean_score=None if u.mean_score is None else round(100 * u.mean_score, 1),
        passed=u.passed,
        failed=u.failed,
        errors=u.errors,
        not_applicable=u.not_applicable,
        waived=u.waived,
        failed_by_severity={s: int(u.failed_by_severity.get(s, 0)) for s in SEVERITY_ORDER},
        unit_rules_failed=int(u.unit_rules.get("failed", 0)) + int(u.unit_rules.get("errors", 0)),
    )


def _change(run: CheckRun, before: CheckRun | None, unit: str | None) -> Change | None:
    if before is None:
        return None
    now = run.totals if unit is None else run.unit(unit)
    then = before.totals if unit is None else before.unit(unit)
    if now is None or then is None:
        return None
    return Change(
        previous_run=before.id,
        previous_checked_at=before.checked_at,
        compliant_before=then.compliant,
        compliant_now=now.compliant,
        failed_before=then.failed,
        failed_now=now.failed,
        method_before=before.method,
        method_now=run.method,
    )


def find_run(store: Store, as_of: datetime | None = None, unit: str | None = None) -> CheckRun:
    """The latest complete full check run (as of `as_of`), or NoCheckRun. With
    `unit`, a later run of that unit alone (`itaudit check --unit U`) qualifies too."""
    run = latest_run(store, unit=unit, before=as_of)
    if run is None:
        raise NoCheckRun(
            "the store holds no complete check run"
            + (f" of unit {unit}" if unit else "")
            + (f" before {as_of:%Y-%m-%d}" if as_of else "")
            + ": run `itaudit check` first"
        )
    return run


def _previous(store: Store, run: CheckRun) -> CheckRun | None:
    """The run to compare with: the previous run of the same scope, or for a run of
    one unit, the latest full run before it when that is more recent."""
    before = previous_run(store, run)
    if run.scope_unit is None:
        return before
    # By store order, not check time: a replay (`check --now`) may be dated later.
    full = latest_run(store)
    if full is not None and full.id < run.id and (before is None or full.id > before.id):
        return full
    return before


def build_reports(
    store: Store,
    org: Organisation,
    *,
    units: Sequence[str] | None = (),
    department: bool = True,
    run: CheckRun | None = None,
    frameworks: dict[str, Any] | None = None,
    now: datetime | None = None,
    catalog: Any = None,
) -> ReportSet:
    """Unit reports for `units` (None: every unit) and the department summary, in one
    pass over the latest complete check run (or `run`).

    `catalog` (itaudit.agent.catalog.Catalog, default the shipped one) decides which
    security products seen on the fleet the department summary lists as unknown;
    give the workspace's (itaudit.check.unknown_products.workspace_catalog)."""
    wanted = [u.id for u in org.units] if units is None else list(units)
    for unit_id in wanted:
        if org.unit(unit_id) is None:
            known = ", ".join(u.id for u in org.units)
            raise UsageError(f"unknown unit {unit_id!r}; units: {known}")
    alone = wanted[0] if len(wanted) == 1 and not department else None
    run = run or find_run(store, unit=alone)
    generated = now or utcnow()
    assets = {a.tag: a for a in org.assets}
    builders = {u: _UnitBuilder(org.unit(u), assets) for u in wanted}  # type: ignore[arg-type]
    tally = Tally()
    # One unit alone: read only its machines. Otherwise one pass over all.
    scope = alone
    for s in iter_subjects(store, run, unit=scope):
        if s.kind != "unit":
            tally.add(s, assets.get(s.asset_tag or ""), run.applicability)
        builder = builders.get(s.unit or "")
        if builder is not None:
            builder.add(s)
    ratios = compute_ratios(store, org, run, unit=scope, tally=tally)
    lans = lan_states(store, org, scope)
    before = _previous(store, run)
    fw_id = org.framework
    framework = (frameworks or {}).get(fw_id)
    today = run.checked_at.date()
    reports: dict[str, UnitReport] = {}
    for unit_id, b in builders.items():
        unit = b.unit
        ur = ratios.unit(unit_id)
        assert ur is not None
        b.actions.sort(
            key=lambda a: (_rank(a.worst), -len(a.problems), a.kind == "unit", a.subject)
        )
        b.machines.sort(key=lambda m: (m.compliant, (m.hostname or m.asset_tag or "").lower()))
        tags = {a.tag for a in org.assets_of(unit_id)}
        reports[unit_id] = UnitReport(
            unit_id=unit_id,
            name=Text(unit.name_vi, unit.name_en),
            profile=unit.profile,
            framework=fw_id,
            framework_title=framework.title if framework else Text(fw_id, fw_id),
            run_id=run.id,
            checked_at=run.checked_at,
            generated_at=generated,
            head=_name(unit.head.name) if unit.head else None,
            it_contact=_name(unit.it_contact.name) if unit.it_contact else None,
            sample=unit.sample or org.sample,
            banner=_banner(run.unit(unit_id)),
            actions=tuple(b.actions),
            requirements=_requirements(run, b.rule_counts, frameworks or {}, fw_id),
            waivers=_waivers(run, unit, today),
            attestations=_attestations(run, unit, tags, today),
            lan=_lan_report(store, lans[unit_id].scan_id if unit_id in lans else None),
            machines=tuple(b.machines),
            ratios=ur,
            change=_change(run, before, unit_id),
        )
    summary = _department(org, run, before, ratios, generated) if department else None
    if summary is not None:
        from itaudit.agent.catalog import load_catalog
        from itaudit.check.unknown_products import unknown_products
        from itaudit.schedule import failed_jobs

        seen = unknown_products(store, catalog if catalog is not None else load_catalog())
        summary = replace(
            summary, unknown_products=tuple(seen), failed_jobs=tuple(failed_jobs(store))
        )
    return ReportSet(run=run, department=summary, units=reports, ratios=ratios)


def _department(
    org: Organisation,
    run: CheckRun,
    before: CheckRun | None,
    ratios: RatiosReport,
    generated: datetime,
) -> DepartmentSummary:
    rows = []
    for ur in ratios.units:
        unit = org.unit(ur.unit)
        summary = run.unit(ur.unit)
        rows.append(
            DepartmentRow(
                unit_id=ur.unit,
                name=Text(unit.name_vi, unit.name_en) if unit else Text(ur.unit, ur.unit),
                machines=summary.machines if summary else 0,
                compliant=Ratio(summary.compliant, summary.machines) if summary else Ratio(0, 0),
                failed=summary.failed if summary else 0,
                errors=summary.errors if summary else 0,
                ratios=ur,
                last_check=run.checked_at if summary else None,
                change=_change(run, before, ur.unit),
            )
        )
    assert ratios.total is not None
    machines = sum(r.machines for r in rows)
    total = DepartmentRow(
        unit_id="",
        name=Text(t("report.department.total", "vi"), t("report.department.total", "en")),
        machines=machines,
        compliant=Ratio(sum(r.compliant.numerator for r in rows), machines),
        failed=sum(r.failed for r in rows),
        errors=sum(r.errors for r in rows),
        ratios=ratios.total,
        last_check=run.checked_at,
        change=_change(run, before, None),
    )
    return DepartmentSummary(
        name=Text(org.name_vi, org.name_en),
        run_id=run.id,
        checked_at=run.checked_at,
        generated_at=generated,
        previous_run=before.id if before else None,
        previous_checked_at=before.checked_at if before else None,
        patch_days=tuple(sorted({r.ratios.patch_days for r in rows if r.ratios.patch_days})),
        sample=org.sample,
        rows=tuple(rows),
        total=total,
        discrepancies=ratios.total.discrepancies,
        ratios=ratios,
    )


def severity_bars(by_severity: dict[str, int]) -> list[dict[str, Any]]:
    """Items for the failed-rules-by-severity bar chart."""
    return [{"key": s, "value": int(by_severity.get(s, 0)), "css": s} for s in SEVERITY_ORDER]


def type_label(kind: str | None, lang: str) -> str:
    """A register type in the reader's words (máy trạm, máy chiếu...)."""
    return type_name(kind, lang)
