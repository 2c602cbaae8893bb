"""Reading stored check runs: the API reports build on.

A run is self-contained: it stores the rule texts (Vietnamese and English),
severities, references and per-profile parameters as they were when it ran, so
a report rebuilt a year later shows what was checked then, and never
re-evaluates a verdict.

    run = latest_run(store)                       # the latest complete full run
    before = previous_run(store, run)             # for "change since"
    for unit in run.units: ...                    # per-unit numbers (UnitSummary)
    for s in iter_subjects(store, run, unit="ho"):  # machines, silent entries, the unit
        for r in s.results: r.rule_id, r.status, r.evidence, r.waiver
    changes = compare_runs(store, before, run)    # what got fixed, what broke
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from itaudit.check import tables as ct
from itaudit.check.engine import STATUS_NAMES
from itaudit.check.operators import NO_MATCH
from itaudit.check.runs import loads
from itaudit.errors import UsageError
from itaudit.profiles.model import Text
from itaudit.store import Store

STATUSES = ("pass", "fail", "error", "not-applicable", "waived")


@dataclass(frozen=True)
class RuleInfo:
    """A rule as it was when the run was made."""

    id: str
    title: Text
    remediation: Text
    rationale: Text | None
    severity: str
    kind: str  # automated, attestation
    scope: str  # host, unit
    applies: str
    references: dict[str, tuple[str, ...]]
    defined_in: str
    problem: Text | None = None  # what is wrong when it fails, in plain words


@dataclass(frozen=True)
class WaiverState:
    profile: str
    where: str
    rule: str
    target: str  # asset tag or host name
    reason: str
    approved_by: str
    decision: str
    expires: date
    expired: bool
    used: int | None = None  # results it waived in the run (run-level list only)


@dataclass(frozen=True)
class AttestationState:
    rule: str
    target_kind: str  # unit, host
    target: str
    state: str  # valid, expired, future, missing
    reference: str | None = None
    date: dt.date | None = None
    expires: dt.date | None = None
    file_name: str | None = None
    file_sha256: str | None = None
    recorded_by: str | None = None


@dataclass(frozen=True)
class UnitSummary:
    unit: str | None
    profile: str | None
    machines: int
    reported: int
    never_reported: int
    compliant: int
    compliant_share: float | None  # machines with no fail and no error / machines
    mean_score: float | None  # mean of per-machine passed / (passed + failed + error)
    passed: int
    failed: int
    errors: int
    not_applicable: int
    waived: int
    unit_rules: dict[str, int]
    failed_by_severity: dict[str, int]


@dataclass(frozen=True)
class CheckRun:
    id: int
    started_at: datetime
    finished_at: datetime | None
    checked_at: datetime
    status: str
    scope_unit: str | None
    scope_host: str | None
    framework: str | None
    run_by: str | None
    itaudit_version: str | None
    method: int | None
    subjects: int
    units: tuple[UnitSummary, ...]
    totals: UnitSummary | None
    rules: dict[str, RuleInfo]
    profiles: dict[
        str, Any
    ]  # per profile: chain, parameters (with sources), leaves, disabled rules
    waivers: tuple[WaiverState, ...]
    attestations: tuple[AttestationState, ...]
    timings: dict[str, float]
    applicability: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def full_scope(self) -> bool:
        return self.scope_unit is None and self.scope_host is None and self.framework is None

    def unit(self, unit_id: str) -> UnitSummary | None:
        return next((u for u in self.units if u.unit == unit_id), None)


@dataclass(frozen=True)
class RuleResult:
    run_id: int
    kind: str  # host, asset (never reported), unit
    unit: str | None
    hostname: str | None
    asset_tag: str | None
    host_id: int | None
    rule_id: str
    status: str  # pass, fail, error, not-applicable, waived
    severity: str
    evidence: tuple[str, ...]  # words a report can show
    waiver: WaiverState | None
    rule: RuleInfo

    @property
    def subject(self) -> str:
        """How a report names what was checked."""
        if self.kind == "unit":
            return self.unit or ""
        return self.hostname or self.asset_tag or ""


@dataclass(frozen=True)
class SubjectResult:
    kind: str
    unit: str | None
    profile: str | None
    hostname: str | None
    asset_tag: str | None
    host_id: int | None
    asset_type: str | None
    platform: str | None
    collected_at: datetime | None
    passed: int
    failed: int
    errors: int
    not_applicable: int
    waived: int
    score: float | None
    results: tuple[RuleResult, ...]

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity across runs: (kind, asset tag or host name or unit)."""
        if self.kind == "unit":
            return ("unit", self.unit or "")
        return ("machine", self.asset_tag or (self.hostname or "").lower())

    def result(self, rule_id: str) -> RuleResult | None:
        return next((r for r in self.results if r.rule_id == rule_id), None)


@dataclass(frozen=True)
class Change:
    """A rule whose status changed for a subject between two runs."""

    subject: tuple[str, str]
    unit: str | None
    rule_id: str
    before: str | None  # None: not evaluated then (new machine, new rule)
    after: str | None


# -- decoding -------------------------------------------------------------------------
def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _text(value: Any) -> Text | None:
    return Text(value["vi"], value["en"]) if isinstance(value, dict) else None


def _rule_info(rid: str, m: dict[str, Any]) -> RuleInfo:
    return RuleInfo(
        id=rid,
        title=_text(m["title"]) or Text(rid, rid),
        remediation=_text(m["remediation"]) or Text("", ""),
        problem=_text(m.get("problem")),
        rationale=_text(m.get("rationale")),
        severity=m["severity"],
        kind=m["kind"],
        scope=m["scope"],
        applies=m.get("applies", ""),
        references={k: tuple(v) for k, v in (m.get("references") or {}).items()},
        defined_in=m.get("defined_in", ""),
    )


def _summary(m: dict[str, Any]) -> UnitSummary:
    return UnitSummary(
        unit=m.get("unit"),
        profile=m.get("profile"),
        machines=m["machines"],
        reported=m["reported"],
        never_reported=m["never_reported"],
        compliant=m["compliant"],
        compliant_share=m["compliant_share"],
        mean_score=m["mean_score"],
        passed=m["passed"],
        failed=m["failed"],
        errors=m["errors"],
        not_applicable=m["not_applicable"],
        waived=m["waived"],
        unit_rules=dict(m["unit_rules"]),
        failed_by_severity=dict(m["failed_by_severity"]),
    )


def _waiver(m: dict[str, Any]) -> WaiverState:
    return WaiverState(
        profile=m["profile"],
        where=m["where"],
        rule=m.get("rule", ""),
        target=m.get("target") or m.get("asset") or m.get("host") or "",
        reason=m["reason"],
        approved_by=m["approved_by"],
        decision=m["decision"],
        expires=date.fromisoformat(m["expires"]),
        expired=bool(m["expired"]),
        used=m.get("used"),
    )


def _attestation(m: dict[str, Any]) -> AttestationState:
    return AttestationState(
        rule=m["rule"],
        target_kind=m["target_kind"],
        target=m["target"],
        state=m["state"],
        reference=m.get("reference"),
        date=_day(m.get("date")),
        expires=_day(m.get("expires")),
        file_name=m.get("file_name"),
        file_sha256=m.get("file_sha256"),
        recorded_by=m.get("recorded_by"),
    )


def _run(m: Any) -> CheckRun:
    summary = loads(m["summary"]) if m["summary"] else {}
    snapshot = loads(m["rules"]) if m["rules"] else {"rules": {}, "profiles": {}}
    return CheckRun(
        id=m["id"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        checked_at=m["checked_at"],
        status=m["status"],
        scope_unit=m["scope_unit"],
        scope_host=m["scope_host"],
        framework=m["framework"],
        run_by=m["run_by"],
        itaudit_version=m["itaudit_version"],
        method=m["method"],
        subjects=m["subjects"] or 0,
        units=tuple(_summary(u) for u in summary.get("units", ())),
        totals=_summary(summary["totals"]) if "totals" in summary else None,
        rules={rid: _rule_info(rid, r) for rid, r in snapshot.get("rules", {}).items()},
        profiles=snapshot.get("profiles", {}),
        waivers=tuple(_waiver(w) for w in (loads(m["waivers"]) if m["waivers"] else ())),
        attestations=tuple(
            _attestation(a) for a in (loads(m["attestations"]) if m["attestations"] else ())
        ),
        timings=summary.get("timings", {}),
        applicability={
            rid: r.get("applies_to") or {} for rid, r in snapshot.get("rules", {}).items()
        },
    )


# -- evidence in words ----------------------------------------------------------------------
_VERDICT = {True: "met", False: "not met", None: "unknown"}


def _value_text(value: Any) -> str:
    if value is None:
        return "not reported"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def render_leaf(leaf: list[Any], value: Any, outcome: bool | None) -> str:
    """One recorded test in words: `security.screen_lock.timeout_seconds = 3600; required ≤ 900: not met`."""
    subject, condition, kind, operand_ref = leaf[:4]
    if len(leaf) > 4 and leaf[4] and outcome is not None:
        outcome = not outcome  # the condition reads "not ...": met when the test was false
    verdict = _VERDICT.get(outcome, "unknown")
    if kind == "count":
        if value is None:
            return f"{subject}: not reported; required {condition}: unknown"
        lo, hi, names = value
        n = str(lo) if lo == hi else f"{lo} to {hi} (some items not reported)"
        listed = [str(x) for x in names if x is not None]
        shown = f" ({', '.join(listed)}{', …' if lo > len(listed) else ''})" if listed else ""
        return f"{subject} = {n}{shown}; required {condition}: {verdict}"
    if kind == "age":
        days, source = value if isinstance(value, list) else (None, None)
        if days is None:
            return f"{subject}: not reported; required {condition}: unknown"
        return f"{subject} = {days:g} ({source}); required {condition}: {verdict}"
    if kind == "lookup":
        shown = "not in the catalogue" if value == NO_MATCH else _value_text(value)
        return f"{subject} = {shown}; required {condition}: {verdict}"
    if operand_ref and isinstance(value, list) and len(value) == 2:
        return f"{subject} = {_value_text(value[0])}; required {condition} (= {_value_text(value[1])}): {verdict}"
    return f"{subject} = {_value_text(value)}; required {condition}: {verdict}"


def _na_text(code: str, applies: dict[str, Any] | None, subject: Any) -> str:
    a = applies or {}
    kind = subject["asset_type"] if subject is not None else None
    platform = subject["platform"] if subject is not None else None
    if code == "@type":
        return f"applies to {', '.join(a.get('types') or ())}; this machine is a {kind or 'machine of unknown type'}"
    if code == "@platform":
        return f"applies to {', '.join(a.get('platforms') or ())}; this machine runs {platform or 'an unknown platform'}"
    if code == "@secret-only":
        return "applies to state-secret machines only"
    if code == "@not-secret":
        return "does not apply to state-secret machines"
    if code == "@lan":
        return (
            f"applies to machines the register places on the LAN as {', '.join(a.get('lan') or ())}"
        )
    if code == "@no-report":
        return "no report from this machine"
    return code


def render_evidence(
    entry: list[Any],
    leaves: list[list[Any]],
    applies: dict[str, Any] | None = None,
    subject: Any = None,
) -> tuple[str, ...]:
    """A stored result entry ([status, trace, notes, waiver]) as lines of evidence."""
    trace = entry[1] if len(entry) > 1 else []
    notes = entry[2] if len(entry) > 2 and entry[2] else []
    lines: list[str] = []
    for leaf_id, value, outcome in trace:
        if 0 <= leaf_id < len(leaves):
            lines.append(render_leaf(leaves[leaf_id], value, outcome))
    lines.extend(_na_text(n, applies, subject) if str(n).startswith("@") else str(n) for n in notes)
    waiver = entry[3] if len(entry) > 3 else None
    if waiver:
        if waiver.get("expired"):
            lines.append(
                f"waiver {waiver['decision']} ({waiver['where']}) expired on {waiver['expires']}: the failure counts"
            )
        else:
            lines.append(
                f"waived until {waiver['expires']} by {waiver['decision']}, approved by {waiver['approved_by']}: {waiver['reason']}"
            )
    return tuple(lines)


# -- queries ------------------------------------------------------------------------------------
def list_runs(store: Store, limit: int = 50) -> list[CheckRun]:
    r = ct.check_runs
    with store.read() as conn:
        rows = conn.execute(sa.select(r).order_by(r.c.id.desc()).limit(limit)).all()
    return [_run(row._mapping) for row in rows]


def load_run(store: Store, run_id: int) -> CheckRun:
    r = ct.check_runs
    with store.read() as conn:
        row = conn.execute(sa.select(r).where(r.c.id == run_id)).first()
    if row is None:
        raise UsageError(f"no check run {run_id} in the store")
    return _run(row._mapping)


def latest_run(
    store: Store, *, unit: str | None = None, full: bool = True, before: datetime | None = None
) -> CheckRun | None:
    """The latest complete run; `full` (default) skips runs limited to a host or a framework.

    With `unit`, a run of that unit alone also qualifies. With `before` (naive
    UTC), only runs whose check time is at or before it: the state as of a date.
    """
    r = ct.check_runs
    query = sa.select(r).where(r.c.status == "complete").order_by(r.c.id.desc())
    if before is not None:
        query = query.where(r.c.checked_at <= before)
    if full:
        query = query.where(r.c.scope_host.is_(None), r.c.framework.is_(None))
        query = query.where(
            r.c.scope_unit.is_(None)
            if unit is None
            else sa.or_(r.c.scope_unit.is_(None), r.c.scope_unit == unit)
        )
    with store.read() as conn:
        row = conn.execute(query.limit(1)).first()
    return _run(row._mapping) if row else None


def previous_run(store: Store, run: CheckRun) -> CheckRun | None:
    """The complete run before `run` with the same scope, for "change since"."""
    r = ct.check_runs

    def same(col: Any, value: Any) -> Any:
        return col.is_(None) if value is None else col == value

    query = (
        sa.select(r)
        .where(
            r.c.status == "complete",
            r.c.id < run.id,
            same(r.c.scope_unit, run.scope_unit),
            same(r.c.scope_host, run.scope_host),
            same(r.c.framework, run.framework),
        )
        .order_by(r.c.id.desc())
        .limit(1)
    )
    with store.read() as conn:
        row = conn.execute(query).first()
    return _run(row._mapping) if row else None


def iter_subjects(
    store: Store,
    run: CheckRun,
    *,
    unit: str | None = None,
    host: str | None = None,
    kinds: tuple[str, ...] = ("host", "asset", "unit"),
) -> Iterator[SubjectResult]:
    """Every subject of a run with its rule results, ordered by unit then name.

    `host` matches a host name (any case) or an asset tag exactly.
    """
    c = ct.check_results
    query = (
        sa.select(c)
        .where(c.c.run_id == run.id, c.c.kind.in_(kinds))
        .order_by(c.c.unit, c.c.kind, c.c.hostname, c.c.id)
    )
    if unit is not None:
        query = query.where(c.c.unit == unit)
    if host is not None:
        query = query.where(
            sa.or_(sa.func.lower(c.c.hostname) == host.lower(), c.c.asset_tag == host)
        )
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=500).execute(query)
        for row in result:
            yield _subject(run, row._mapping)


def _subject(run: CheckRun, m: Any) -> SubjectResult:
    stored: list[list[Any]] = loads(m["results"])
    profile = run.profiles.get(m["profile"] or "", {})
    rules_of_profile = profile.get("rules", {})
    order = profile.get("unit_order" if m["kind"] == "unit" else "host_order", [])
    results = []
    for rid, entry in zip(order, stored, strict=False):
        info = run.rules.get(rid)
        if info is None:
            continue
        leaves = rules_of_profile.get(rid, {}).get("leaves", [])
        waiver = entry[3] if len(entry) > 3 and entry[3] else None
        results.append(
            RuleResult(
                run_id=run.id,
                kind=m["kind"],
                unit=m["unit"],
                hostname=m["hostname"],
                asset_tag=m["asset_tag"],
                host_id=m["host_id"],
                rule_id=rid,
                status=STATUS_NAMES[entry[0]],
                severity=info.severity,
                evidence=render_evidence(entry, leaves, run.applicability.get(rid), m),
                waiver=_waiver({**waiver, "rule": rid}) if waiver else None,
                rule=info,
            )
        )
    return SubjectResult(
        kind=m["kind"],
        unit=m["unit"],
        profile=m["profile"],
        hostname=m["hostname"],
        asset_tag=m["asset_tag"],
        host_id=m["host_id"],
        asset_type=m["asset_type"],
        platform=m["platform"],
        collected_at=m["collected_at"],
        passed=m["passed"],
        failed=m["failed"],
        errors=m["errors"],
        not_applicable=m["not_applicable"],
        waived=m["waived"],
        score=m["score"],
        results=tuple(results),
    )


def iter_results(
    store: Store,
    run: CheckRun,
    *,
    unit: str | None = None,
    host: str | None = None,
    status: str | None = None,
    rule: str | None = None,
) -> Iterator[RuleResult]:
    """Every (subject, rule) result of a run, optionally filtered."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}; statuses: {', '.join(STATUSES)}")
    for subject in iter_subjects(store, run, unit=unit, host=host):
        for r in subject.results:
            if (status is None or r.status == status) and (rule is None or r.rule_id == rule):
                yield r


def compare_runs(store: Store, before: CheckRun, after: CheckRun) -> list[Change]:
    """Every (subject, rule) whose status differs between two runs."""
    old: dict[tuple[tuple[str, str], str], tuple[str, str | None]] = {}
    for s in iter_subjects(store, before):
        for r in s.results:
            old[(s.key, r.rule_id)] = (r.status, s.unit)
    changes: list[Change] = []
    seen: set[tuple[tuple[str, str], str]] = set()
    for s in iter_subjects(store, after):
        for r in s.results:
            key = (s.key, r.rule_id)
            seen.add(key)
            prev = old.get(key)
            if prev is None or prev[0] != r.status:
                changes.append(
                    Change(s.key, s.unit, r.rule_id, prev[0] if prev else None, r.status)
                )
    for key, (status, unit) in old.items():
        if key not in seen:
            changes.append(Change(key[0], unit, key[1], status, None))
    changes.sort(key=lambda c: (c.unit or "~", c.subject, c.rule_id))
    return changes
