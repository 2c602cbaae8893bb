"""A check run: every machine's latest report (and every silent register entry,
and every unit) against its unit's effective profile, stored with evidence.

`run_check` is the library entry point of `itaudit check` and the demo stage.
It streams reports from the store, so memory stays flat however large the
fleet, and writes results in batches. The time spent decoding stored JSON,
evaluating rules and storing results is measured separately (`timings`).
"""

from __future__ import annotations

import getpass
import os
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itaudit import __version__
from itaudit.check import tables as ct
from itaudit.check.attestations import (
    Attestation,
    AttestationIndex,
    attestation_facts,
    list_attestations,
    takes_unit_attestation,
)
from itaudit.check.context import FactIndex, Subject
from itaudit.check.engine import (
    ERROR,
    FAIL,
    METHOD,
    NA,
    PASS,
    WAIVED,
    CompiledProfile,
    CompiledRule,
    evaluate_host,
    evaluate_unit,
)
from itaudit.check.operators import Ctx
from itaudit.check.stale import mark_stale_runs, runner_id
from itaudit.errors import ItauditError, UsageError
from itaudit.org.model import Organisation
from itaudit.profiles.load import ProfileSet
from itaudit.profiles.model import SEVERITIES, severity_rank
from itaudit.store import Store, to_naive_utc, utcnow
from itaudit.store import tables as t

try:  # orjson decodes stored reports ~3x faster; plain json is the fallback
    import orjson

    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)

    def dumps(value: Any) -> str:
        return orjson.dumps(value, default=str).decode()

except ImportError:  # pragma: no cover - orjson is a dependency
    import json

    def loads(text: str | bytes) -> Any:
        return json.loads(text)

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


BATCH = 2000


class CheckError(ItauditError):
    """A check run could not complete (a worker process failed)."""


_TALLY_FIELDS = (
    "subjects",
    "reported",
    "never_reported",
    "scored",
    "score_sum",
    "compliant",
    "passed",
    "failed",
    "errors",
    "not_applicable",
    "waived",
    "unit_passed",
    "unit_failed",
    "unit_errors",
    "unit_not_applicable",
)


@dataclass
class _Tally:
    subjects: int = 0
    reported: int = 0
    never_reported: int = 0
    scored: int = 0
    score_sum: float = 0.0
    compliant: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    not_applicable: int = 0
    waived: int = 0
    unit_passed: int = 0
    unit_failed: int = 0
    unit_errors: int = 0
    unit_not_applicable: int = 0
    failed_by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))

    def add(self, other: _Tally) -> None:
        for name in _TALLY_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for sev, n in other.failed_by_severity.items():
            self.failed_by_severity[sev] += n

    def as_dict(self, unit: str | None, profile: str | None) -> dict[str, Any]:
        return {
            "unit": unit,
            "profile": profile,
            "machines": self.subjects,
            "reported": self.reported,
            "never_reported": self.never_reported,
            "compliant": self.compliant,
            # Exact: every view rounds once, for display (a stored rounding would round twice).
            "compliant_share": self.compliant / self.subjects if self.subjects else None,
            "mean_score": self.score_sum / self.scored if self.scored else None,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "not_applicable": self.not_applicable,
            "waived": self.waived,
            "unit_rules": {
                "passed": self.unit_passed,
                "failed": self.unit_failed,
                "errors": self.unit_errors,
                "not_applicable": self.unit_not_applicable,
            },
            "failed_by_severity": dict(self.failed_by_severity),
        }


@dataclass(frozen=True)
class CheckSummary:
    """What `itaudit check` prints: the same numbers in the table and in JSON."""

    run_id: int
    checked_at: datetime
    framework: str | None
    units: list[dict[str, Any]]
    totals: dict[str, Any]
    timings: dict[str, Any]
    expired_waivers: int
    expired_attestations: int

    def failed_at_or_above(self, severity: str) -> int:
        floor = severity_rank(severity)
        return sum(
            n for sev, n in self.totals["failed_by_severity"].items() if severity_rank(sev) >= floor
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "checked_at": self.checked_at.isoformat(timespec="seconds") + "Z",
            "framework": self.framework,
            "units": self.units,
            "totals": self.totals,
            "expired_waivers": self.expired_waivers,
            "expired_attestations": self.expired_attestations,
        }


class _Row:
    """A host row of the streaming query, shaped like HostRow for FactIndex."""

    __slots__ = (
        "asset_tag",
        "conflict_state",
        "hostname",
        "id",
        "key_fingerprint",
        "last_collected_at",
        "match_method",
        "platform",
        "report_id",
        "unit",
        "unit_source",
    )

    def __init__(self, r: Any):
        (
            self.id,
            self.hostname,
            self.unit,
            self.unit_source,
            self.asset_tag,
            self.match_method,
            self.platform,
            self.last_collected_at,
            self.key_fingerprint,
            self.report_id,
        ) = r[:10]
        self.conflict_state = r[11] if len(r) > 11 else None


def _latest_reports(
    store: Store,
    unit: str | None,
    host_id: int | None,
    id_range: tuple[int, int] | None = None,
) -> Iterator[tuple]:
    h, r = t.hosts, t.reports
    query = (
        sa.select(
            h.c.id,
            h.c.hostname,
            h.c.unit,
            h.c.unit_source,
            h.c.asset_tag,
            h.c.match_method,
            h.c.platform,
            h.c.last_collected_at,
            h.c.key_fingerprint,
            r.c.id,
            r.c.document,
            h.c.conflict_state,
        )
        .join(r, r.c.id == h.c.latest_report_id)
        # A host the officer rejected as an impostor is kept as evidence, never checked.
        .where(sa.or_(h.c.conflict_state.is_(None), h.c.conflict_state != "rejected"))
        .order_by(h.c.id)
    )
    if unit is not None:
        query = query.where(h.c.unit == unit)
    if host_id is not None:
        query = query.where(h.c.id == host_id)
    if id_range is not None:
        query = query.where(h.c.id >= id_range[0], h.c.id <= id_range[1])
    with store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
        for row in result:
            yield tuple(row)


class _Run:
    """Evaluation state of one run: compiled profiles, tallies, rows not yet stored.

    It never touches the store, so worker processes run the same code.
    """

    def __init__(
        self,
        org: Organisation,
        profiles: ProfileSet,
        now: datetime,
        only: set[str] | None,
        facts: FactIndex,
        attestations: AttestationIndex,
    ):
        self.org = org
        self.profiles = profiles
        self.now = now
        self.today = now.date()
        self.only = only
        self.facts = facts
        self.attestations = attestations
        self.compiled: dict[str, CompiledProfile] = {}
        self._rule_cache: dict = {}
        self.tallies: dict[str | None, _Tally] = {}
        self.profile_of_unit: dict[str | None, str] = {}
        self.severity = {rid: r.severity for rid, r in profiles.rules().items()}
        self.waiver_use: dict[tuple[str, str], int] = {}
        self.used_attestations: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rows: list[tuple] = []
        self.run_id = 0
        self.subjects = 0
        self.t_decode = self.t_eval = 0.0
        self.matched: set[str] = set()
        base = profiles.base()
        self.base_name = base.name if base else None

    def profile_for(self, unit: str | None) -> CompiledProfile:
        name = self.profile_of_unit.get(unit)
        if name is None:
            u = self.org.unit(unit) if unit else None
            name = u.profile if u else self.base_name
            if name is None:
                raise UsageError("no base profile to check machines outside any unit")
            self.profile_of_unit[unit] = name
        cp = self.compiled.get(name)
        if cp is None:
            cp = CompiledProfile(
                self.profiles.profile(name), self.profiles.catalogs, self.only, self._rule_cache
            )
            self.compiled[name] = cp
        return cp

    def tally(self, unit: str | None) -> _Tally:
        found = self.tallies.get(unit)
        if found is None:
            found = self.tallies[unit] = _Tally()
        return found

    # -- attestations ----------------------------------------------------------
    def _valid_days(self, cr: CompiledRule) -> int | None:
        pv = cr.eff.params.get("valid_days")
        return None if pv is None or pv.value is None else int(pv.value)

    def _use(
        self, cr: CompiledRule, kind: str, target: str, att: Attestation | None
    ) -> dict[str, Any]:
        valid_days = self._valid_days(cr)
        facts = attestation_facts(att, valid_days, self.today)
        key = (cr.id, kind, target)
        if key not in self.used_attestations:
            if att is None:
                self.used_attestations[key] = {
                    "rule": cr.id,
                    "target_kind": kind,
                    "target": target,
                    "state": "missing",
                }
            else:
                expiry = att.effective_expiry(valid_days)
                self.used_attestations[key] = {
                    "id": att.id,
                    "rule": cr.id,
                    "target_kind": kind,
                    "target": target,
                    "reference": att.reference,
                    "date": att.date.isoformat(),
                    "expires": expiry.isoformat() if expiry else None,
                    "state": att.state(self.today, valid_days),
                    "file_name": att.file_name,
                    "file_sha256": att.file_sha256,
                    "recorded_by": att.recorded_by,
                    "recorded_at": att.recorded_at.isoformat(timespec="seconds"),
                }
        return facts

    def unit_attestation(self, unit: str) -> Callable[[CompiledRule], dict[str, Any]]:
        def get(cr: CompiledRule) -> dict[str, Any]:
            return self._use(cr, "unit", unit, self.attestations.for_unit(cr.id, unit))

        return get

    def host_attestation(self, s: Subject) -> Callable[[CompiledRule], dict[str, Any]]:
        def get(cr: CompiledRule) -> dict[str, Any]:
            att = self.attestations.for_host(cr.id, s.hostname, s.asset_tag)
            if att is None and s.unit and takes_unit_attestation(cr.rule):
                # L1-AV-04: the unit's attestation covers its machines without one of their own.
                return self._use(cr, "unit", s.unit, self.attestations.for_unit(cr.id, s.unit))
            return self._use(cr, "host", s.asset_tag or s.hostname or "", att)

        return get

    # -- evaluation -----------------------------------------------------------------
    def evaluate(self, s: Subject) -> None:
        started = time.perf_counter()
        cp = self.profile_for(s.unit)
        ctx = Ctx(s.doc, s.ns, self.now)
        if s.kind == "unit":
            ev = evaluate_unit(cp, ctx, self.unit_attestation(s.unit or ""))
        else:
            assert s.traits is not None
            ev = evaluate_host(
                cp,
                ctx,
                s.traits,
                s.hostname,
                s.asset_tag,
                self.host_attestation(s) if cp.has_host_attestations else None,
            )
        counts = ev.counts
        tally = self.tally(s.unit)
        for waiver in ev.waivers:
            key = (waiver["profile"], waiver["where"])
            self.waiver_use[key] = self.waiver_use.get(key, 0) + (0 if waiver["expired"] else 1)
        by_severity = tally.failed_by_severity
        for rid in ev.failed:
            by_severity[self.severity[rid]] += 1
        p, f = counts[PASS], counts[FAIL]
        # DESIGN.md "Result": could-not-check counts against the score like a failure.
        decided = p + f + counts[ERROR]
        score = p / decided if decided else None
        if s.kind == "unit":
            tally.unit_passed += p
            tally.unit_failed += f
            tally.unit_errors += counts[ERROR]
            tally.unit_not_applicable += counts[NA]
        else:
            tally.subjects += 1
            if s.kind == "host":
                tally.reported += 1
            else:
                tally.never_reported += 1
            tally.passed += p
            tally.failed += f
            tally.errors += counts[ERROR]
            tally.not_applicable += counts[NA]
            tally.waived += counts[WAIVED]
            if score is not None:
                tally.scored += 1
                tally.score_sum += score
            if f == 0 and counts[ERROR] == 0:
                tally.compliant += 1
        self.rows.append(
            (
                self.run_id,
                s.kind,
                s.unit,
                cp.name,
                s.host_id,
                s.hostname,
                s.asset_tag,
                s.asset_type,
                s.platform,
                s.report_id,
                s.collected_at,
                p,
                f,
                counts[ERROR],
                counts[NA],
                counts[WAIVED],
                score,
                dumps(ev.entries),
            )
        )
        self.subjects += 1
        self.t_eval += time.perf_counter() - started

    def evaluate_report(self, record: tuple) -> None:
        """One row of the latest-reports query: decode the document, evaluate the machine."""
        row = _Row(record)
        d0 = time.perf_counter()
        try:
            doc = loads(record[10])
        except ValueError:
            doc = None
        self.t_decode += time.perf_counter() - d0
        if row.asset_tag:
            self.matched.add(row.asset_tag)
        if isinstance(doc, dict):  # ingest validated it; a corrupted row is for `itaudit hosts`
            self.evaluate(self.facts.host_subject(row, doc))

    def take(self) -> _Partial:
        """What was evaluated since the last take (a worker's answer)."""
        part = _Partial(
            self.rows,
            self.tallies,
            self.waiver_use,
            self.used_attestations,
            self.matched,
            self.profile_of_unit,
            self.subjects,
            self.t_decode,
            self.t_eval,
        )
        self.rows, self.tallies, self.waiver_use, self.used_attestations = [], {}, {}, {}
        self.matched, self.subjects, self.t_decode, self.t_eval = set(), 0, 0.0, 0.0
        return part

    def merge(self, part: _Partial) -> None:
        self.rows.extend(part.rows)
        for unit, tally in part.tallies.items():
            self.tally(unit).add(tally)
        for wkey, n in part.waiver_use.items():
            self.waiver_use[wkey] = self.waiver_use.get(wkey, 0) + n
        for akey, used in part.used_attestations.items():
            self.used_attestations.setdefault(akey, used)
        self.matched |= part.matched
        for unit in part.profiles:
            if unit not in self.profile_of_unit:
                self.profile_for(unit)
        self.subjects += part.subjects
        self.t_decode += part.t_decode
        self.t_eval += part.t_eval


@dataclass
class _Partial:
    rows: list[tuple]
    tallies: dict[str | None, _Tally]
    waiver_use: dict[tuple[str, str], int]
    used_attestations: dict[tuple[str, str, str], dict[str, Any]]
    matched: set[str]
    profiles: dict[str | None, str]
    subjects: int
    t_decode: float
    t_eval: float


def _write(store: Store, rows: list[tuple]) -> None:
    if not rows:
        return
    with store.write() as conn:
        if store.dialect == "sqlite":
            # The driver's executemany with positional rows: several times
            # faster than the generic path for 100,000 rows.
            conn.exec_driver_sql(_SQLITE_INSERT, [_sqlite_row(r) for r in rows])
        else:
            conn.execute(
                ct.check_results.insert(),
                [dict(zip(RESULT_COLUMNS, r, strict=True)) for r in rows],
            )


# -- worker processes ---------------------------------------------------------------
# With several workers, each reads its slices of the hosts from the store,
# checks them and writes their results itself: the parent only hands out
# slices and adds up the tallies. Workers are plain child processes
# (`python -m itaudit.check.worker`) with their own database connections, fed
# on stdin and answering on stdout; nothing else is shared.
def _init_worker(payload: bytes) -> tuple[_Run, Store, str | None]:
    from itaudit.store import open_store

    url, org, profiles, now, only, sightings, scanned, attestations, run_id, unit = pickle.loads(
        payload
    )
    run = _new_run(org, profiles, now, only, sightings, scanned, attestations)
    run.run_id = run_id
    return run, open_store(url, migrate=False), unit


def _new_run(
    org: Any,
    profiles: Any,
    now: datetime,
    only: Any,
    sightings: Any,
    scanned: set[str | None] | None,
    attestations: Any,
) -> _Run:
    """The evaluation state of a run, the same in the parent and in every worker."""
    return _Run(
        org,
        profiles,
        now,
        only,
        FactIndex(org, sightings, scanned),
        AttestationIndex(attestations, now.date()),
    )


def work(payload: bytes, ranges: list[tuple[int, int]]) -> tuple[_Partial, float]:
    """A worker's whole job: check the hosts in its id ranges, store their results."""
    run, store, unit = _init_worker(payload)
    stored = 0.0
    try:
        for id_range in ranges:
            for record in _latest_reports(store, unit, None, id_range):
                run.evaluate_report(record)
            s0 = time.perf_counter()
            _write(store, run.rows)
            stored += time.perf_counter() - s0
            run.rows = []
    finally:
        store.close()
    return run.take(), stored


def _host_ranges(store: Store, unit: str | None, size: int) -> list[tuple[int, int]]:
    h = t.hosts
    query = sa.select(h.c.id).where(h.c.latest_report_id.is_not(None)).order_by(h.c.id)
    if unit is not None:
        query = query.where(h.c.unit == unit)
    with store.read() as conn:
        ids = list(conn.execute(query).scalars())
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _parallel(
    store: Store, unit: str | None, payload: bytes, workers: int
) -> Iterator[tuple[_Partial, float]]:
    import subprocess
    import sys

    ranges = _host_ranges(store, unit, CHUNK)
    shares = [ranges[i::workers] for i in range(workers)]
    procs = []
    for share in shares:
        if not share:
            continue
        proc = subprocess.Popen(
            [sys.executable, "-m", "itaudit.check.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        procs.append((proc, pickle.dumps((payload, share))))
    try:
        for proc, data in procs:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.close()
        for proc, _data in procs:
            assert proc.stdout is not None and proc.stderr is not None
            out = proc.stdout.read()
            err = proc.stderr.read()
            if proc.wait() != 0:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                raise CheckError(f"a check worker failed: {tail[0][:500]}")
            yield pickle.loads(out)
    finally:
        for proc, _data in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


PARALLEL_MIN_HOSTS = 10000  # below this, starting workers costs more than it saves
CHUNK = 2000


def default_workers(hosts: int) -> int:
    """Worker processes for a fleet: one process below PARALLEL_MIN_HOSTS machines."""
    cpus = os.cpu_count() or 1
    if hosts < PARALLEL_MIN_HOSTS or cpus < 2:
        return 1
    return min(cpus, 8)


RESULT_COLUMNS = (
    "run_id",
    "kind",
    "unit",
    "profile",
    "host_id",
    "hostname",
    "asset_tag",
    "asset_type",
    "platform",
    "report_id",
    "collected_at",
    "passed",
    "failed",
    "errors",
    "not_applicable",
    "waived",
    "score",
    "results",
)
_SQLITE_INSERT = (
    f"INSERT INTO check_results ({', '.join(RESULT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RESULT_COLUMNS)})"
)
_COLLECTED = RESULT_COLUMNS.index("collected_at")


def _sqlite_row(row: tuple) -> tuple:
    """Datetimes as SQLAlchemy's SQLite DateTime stores them (text it parses back)."""
    moment = row[_COLLECTED]
    if moment is None:
        return row
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return (*row[:_COLLECTED], text, *row[_COLLECTED + 1 :])


def _snapshot(run: _Run) -> dict[str, Any]:
    """Rule texts and per-profile parameters as checked: results are read against this."""
    rules: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    for name, cp in run.compiled.items():
        eff = cp.effective
        entry: dict[str, Any] = {
            "chain": list(eff.chain),
            "title": eff.title.as_dict() if eff.title else None,
            "rules": {},
        }
        entry["host_order"] = list(cp.host_order)
        entry["unit_order"] = list(cp.unit_order)
        for cr in [*cp.host_rules, *cp.unit_rules]:
            rule = cr.rule
            entry["rules"][rule.id] = {
                "params": cr.eff.param_values(),
                "param_sources": {k: f"{v.where} ({v.origin})" for k, v in cr.eff.params.items()},
                "leaves": [leaf.as_list() for leaf in cr.leaves],
            }
            if rule.id not in rules:
                rules[rule.id] = {
                    "title": rule.title.as_dict(),
                    "remediation": rule.remediation.as_dict(),
                    "problem": rule.problem.as_dict() if rule.problem else None,
                    "rationale": rule.rationale.as_dict() if rule.rationale else None,
                    "severity": rule.severity,
                    "kind": rule.kind,
                    "scope": rule.scope,
                    "applies": rule.applies.describe() if rule.scope == "host" else "unit",
                    "applies_to": {
                        "types": sorted(rule.applies.types),
                        "platforms": sorted(rule.applies.platforms)
                        if rule.applies.platforms
                        else None,
                        "secret": rule.applies.secret,
                        "lan": sorted(rule.applies.lan) if rule.applies.lan else None,
                    },
                    "references": {k: list(v) for k, v in rule.references.items()},
                    "defined_in": str(rule.where),
                }
        entry["disabled"] = {
            er.id: {"reason": er.disabled.reason, "where": str(er.disabled.where)}
            for er in eff.rules
            if er.disabled is not None and (run.only is None or er.id in run.only)
        }
        profiles[name] = entry
    return {"rules": rules, "profiles": profiles}


def _waivers(run: _Run) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for cp in run.compiled.values():
        for w in cp.effective.waivers:
            key = (w.profile, str(w.where))
            if key in seen:
                continue
            seen[key] = {
                "profile": w.profile,
                "where": str(w.where),
                "rule": w.rule,
                "host": w.host,
                "asset": w.asset,
                "reason": w.reason,
                "approved_by": w.approved_by,
                "decision": w.decision,
                "expires": w.expires.isoformat(),
                "expired": w.expired(run.today),
                "used": run.waiver_use.get(key, 0),
            }
    return sorted(
        seen.values(), key=lambda w: (w["profile"], w["rule"], w["asset"] or w["host"] or "")
    )


def _resolve_host(store: Store, org: Organisation, ref: str) -> tuple[Any, Any]:
    """(host row or None, register asset or None) for --host; UsageError when neither."""
    row = store.host(ref)
    asset = org.asset(ref) or next(
        (a for a in org.assets if a.hostname and a.hostname.lower() == ref.strip().lower()), None
    )
    if row is None and asset is None:
        raise UsageError(f"no machine {ref!r} in the store or the register (see `itaudit hosts`)")
    return row, asset


def run_check(
    store: Store,
    org: Organisation,
    profiles: ProfileSet,
    *,
    now: datetime | None = None,
    unit: str | None = None,
    host: str | None = None,
    framework: str | None = None,
    run_by: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> CheckSummary:
    """Evaluate and store a check run; the library entry point of `itaudit check`.

    `now` is the check time time-relative rules compare against (default: now).
    `workers`: processes evaluating machines in parallel (default: one per CPU
    for fleets of PARALLEL_MIN_HOSTS machines or more, else one); the results
    are the same whatever the number.
    """
    from itaudit.scan import tables as st  # noqa: F401  (the sightings query needs its tables)
    from itaudit.scan.records import latest_scan_ids, latest_sightings

    now = to_naive_utc(now) if now is not None else utcnow()
    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    only: set[str] | None = None
    if framework is not None:
        fw = profiles.frameworks.get(framework)
        if fw is None:
            raise UsageError(
                f"unknown framework {framework!r}; frameworks: {', '.join(sorted(profiles.frameworks))}"
            )
        only = fw.rule_ids()
    for u in org.units:
        profiles.profile(u.profile)  # a unit naming a missing profile stops the run before any work
    host_row = host_asset = None
    if host is not None:
        host_row, host_asset = _resolve_host(store, org, host)
        host_unit = host_row.unit if host_row is not None else host_asset.unit
        if unit is not None and host_unit != unit:
            # Otherwise the run would check nothing and still say "no failure".
            raise UsageError(f"{host!r} belongs to unit {host_unit or '(none)'}, not {unit}")

    mark_stale_runs(store)
    started = utcnow()
    t0 = time.perf_counter()
    with store.read() as conn:
        scanned = set(latest_scan_ids(conn))
        fleet = conn.execute(sa.select(sa.func.count()).select_from(t.hosts)).scalar_one()
    sightings = latest_sightings(store)
    attestations = list_attestations(store)
    run = _new_run(org, profiles, now, only, sightings, scanned, attestations)
    with store.write() as conn:
        key = conn.execute(
            ct.check_runs.insert().values(
                started_at=started,
                checked_at=now,
                status="running",
                scope_unit=unit,
                scope_host=host[:128] if host else None,
                framework=framework,
                run_by=(run_by or _user())[:128],
                itaudit_version=__version__,
                method=METHOD,
                runner=runner_id(),
            )
        ).inserted_primary_key
        assert key is not None
        run.run_id = key[0]

    try:
        t_store = 0.0
        written = 0

        def flush(force: bool = False) -> None:
            nonlocal t_store, written
            if run.rows and (force or len(run.rows) >= BATCH):
                s0 = time.perf_counter()
                _write(store, run.rows)
                t_store += time.perf_counter() - s0
                written += len(run.rows)
                run.rows = []
                if progress and written // 5000 != (written - BATCH) // 5000:
                    progress(written)

        t_read = time.perf_counter()
        n_workers = 1
        if host is None or host_row is not None:
            records = _latest_reports(store, unit, host_row.id if host_row else None)
            n_workers = (
                workers if workers is not None else (default_workers(fleet) if host is None else 1)
            )
            if n_workers > 1:
                url = store.engine.url.render_as_string(hide_password=False)
                payload = pickle.dumps(
                    (
                        url,
                        org,
                        profiles,
                        now,
                        only,
                        sightings,
                        scanned,
                        attestations,
                        run.run_id,
                        unit,
                    )
                )
                for part, stored_s in _parallel(store, unit, payload, n_workers):
                    run.merge(part)
                    t_store += stored_s
                    written += part.subjects
                    if progress:
                        progress(written)
            else:
                for record in records:
                    run.evaluate_report(record)
                    flush()
        t_read = time.perf_counter() - t_read
        matched = run.matched
        if host is None:
            # A register entry counts as reporting when any stored host matched it.
            with store.read() as conn:
                matched |= set(
                    conn.execute(
                        sa.select(t.hosts.c.asset_tag).where(t.hosts.c.asset_tag.is_not(None))
                    ).scalars()
                )
            for asset in org.assets:
                if (
                    asset.is_computer
                    and asset.tag not in matched
                    and (unit is None or asset.unit == unit)
                ):
                    run.evaluate(run.facts.register_subject(asset))
            for u in org.units:
                if unit is None or u.id == unit:
                    run.evaluate(run.facts.unit_subject(u.id))
        elif host_row is None and host_asset is not None:
            run.evaluate(run.facts.register_subject(host_asset))
        flush(force=True)

        totals = _Tally()
        units = []
        for u in org.units:
            if u.id in run.tallies:
                units.append(run.tallies[u.id].as_dict(u.id, run.profile_of_unit.get(u.id)))
        if None in run.tallies:
            units.append(run.tallies[None].as_dict(None, run.profile_of_unit.get(None)))
        for tally in run.tallies.values():
            totals.add(tally)
        totals_dict = totals.as_dict(None, None)
        waivers = _waivers(run)
        used = sorted(run.used_attestations.values(), key=lambda a: (a["rule"], a["target"]))
        timings = {
            "total": time.perf_counter() - t0,
            # With workers, decode, evaluate and store are seconds summed over the workers.
            "read": max(t_read - t_store - run.t_decode - run.t_eval, 0.0)
            if n_workers == 1
            else None,
            "decode": run.t_decode,
            "evaluate": run.t_eval,
            "store": t_store,
            "workers": n_workers,
        }
        summary = {"units": units, "totals": totals_dict, "timings": timings}
        with store.write() as conn:
            conn.execute(
                ct.check_runs.update()
                .where(ct.check_runs.c.id == run.run_id)
                .values(
                    status="complete",
                    finished_at=utcnow(),
                    subjects=run.subjects,
                    summary=dumps(summary),
                    rules=dumps(_snapshot(run)),
                    waivers=dumps(waivers),
                    attestations=dumps(used),
                )
            )
    except BaseException:
        # An interrupted or failed run leaves no half-stored results behind.
        _abandon(store, run.run_id)
        raise

    return CheckSummary(
        run.run_id,
        now,
        framework,
        units,
        totals_dict,
        timings,
        sum(1 for w in waivers if w["expired"]),
        sum(1 for a in used if a["state"] == "expired"),
    )


def _abandon(store: Store, run_id: int) -> None:
    """Mark a run that did not finish as failed and drop its partial results (best effort)."""
    try:
        with store.write() as conn:
            conn.execute(ct.check_results.delete().where(ct.check_results.c.run_id == run_id))
            conn.execute(
                ct.check_runs.update()
                .where(ct.check_runs.c.id == run_id)
                .values(status="failed", finished_at=utcnow())
            )
    except Exception:  # the original error is the one to report
        pass


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
