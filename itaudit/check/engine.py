"""Evaluating one machine (or one unit) against a compiled profile.

A rule's status for a machine is decided in this order:

1. not-applicable: the machine's type, platform, state-secret flag or LAN
   placement is outside the rule's `applies_to`; or there is no report and the
   rule reads the report; or the rule's `when` is false. Nothing else: a probe
   the agent reports as unsupported, unreadable, absent or failed says nothing
   about whether the rule concerns the machine;
2. error ("could not be checked"): `when` or the condition is unknown (a fact
   not reported), with the agent's own reason when a probe feeding the rule
   recorded one. A rule is decided from whatever facts were collected: one
   failed source does not void a rule another source can decide;
3. pass / fail from the condition;
4. waived: a fail covered by a waiver of the effective profile that has not
   expired (an expired waiver leaves the fail and is named in the evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from itaudit.check.operators import Compiler, Ctx, Eval, condition_text, leaf_tests, subject_text
from itaudit.profiles.conditions import AgeDays, Count, Lookup, Ref
from itaudit.profiles.model import Catalog, EffectiveProfile, EffectiveRule, Rule, Waiver

PASS, FAIL, ERROR, NA, WAIVED = "p", "f", "e", "n", "w"
STATUS_NAMES = {PASS: "pass", FAIL: "fail", ERROR: "error", NA: "not-applicable", WAIVED: "waived"}
STATUS_CODES = {v: k for k, v in STATUS_NAMES.items()}

# How verdicts are decided, recorded with every check run so that history can
# mark where the method changed (a change of method moves numbers without any
# machine changing).
METHOD = 2
METHODS = {
    1: "a probe the agent reported as unsupported made its rules not-applicable",
    2: "facts that were not collected (unsupported, unreadable, absent, failed) give "
    "'could not be checked', never not-applicable",
}

# A stored entry per rule: [status, trace] plus [notes] and [waiver] when there are any.


class Traits(NamedTuple):
    """What decides applicability, computed once per machine."""

    type: str  # workstation, laptop, server
    platform: str | None
    secret: bool
    lan: str
    reported: bool


@dataclass(frozen=True)
class LeafInfo:
    subject: str  # what was looked at: `security.screen_lock.timeout_seconds`
    condition: str  # what it had to be: `≤ 900`
    kind: str  # fact, count, age, lookup
    operand_ref: bool  # the trace value is [value, operand]
    negated: bool = False  # under a `not`/`none`: the recorded outcome is shown inverted

    def as_list(self) -> list[Any]:
        return [self.subject, self.condition, self.kind, self.operand_ref, self.negated]


class CompiledRule:
    """A rule with its closures built for one set of parameter values."""

    __slots__ = ("attestation", "cond", "eff", "id", "leaves", "probes", "rule", "when")

    def __init__(
        self,
        eff: EffectiveRule,
        when: Eval | None,
        cond: Eval,
        leaves: tuple[LeafInfo, ...],
        probes: frozenset[str],
        attestation: bool,
    ):
        self.eff = eff
        self.rule: Rule = eff.rule
        self.id: str = eff.rule.id
        self.when = when
        self.cond = cond
        self.leaves = leaves
        self.probes = probes
        self.attestation = attestation


def probe_names(rule: Rule) -> frozenset[str]:
    """Names an agent `errors` entry may give for a probe feeding this rule.

    `security.screen_lock.timeout_seconds` can be reported failing as
    `security.screen_lock`, `screen_lock` or the full path; rules may name
    more in `probes:`.
    """
    names: set[str] = set(rule.probes)
    for path in rule.fact_paths:
        parts = [p.removesuffix("[]") for p in path.split(".")]
        for i in range(1, len(parts) + 1):
            names.add(".".join(parts[:i]))
        names.update(parts[1:])
    return frozenset(names)


def _leaf_info(test: Any, negated: bool, params: dict[str, Any]) -> LeafInfo:
    s = test.subject
    kind = (
        "count"
        if isinstance(s, Count)
        else "age"
        if isinstance(s, AgeDays)
        else "lookup"
        if isinstance(s, Lookup)
        else "fact"
    )
    operand_ref = isinstance(test.operand, Ref) and test.operand.kind != "param" and kind == "fact"
    condition = condition_text(test, params)
    return LeafInfo(
        subject_text(s, params),
        f"not {condition}" if negated else condition,
        kind,
        operand_ref,
        negated,
    )


def compile_rule(eff: EffectiveRule, catalogs: dict[str, Catalog]) -> CompiledRule:
    params = eff.param_values()
    compiler = Compiler(params, catalogs)
    rule = eff.rule
    assert rule.condition is not None
    tests = leaf_tests(rule.when) + leaf_tests(rule.condition)
    tests.sort(key=lambda tn: tn[0].leaf or 0)
    return CompiledRule(
        eff,
        compiler.node(rule.when) if rule.when is not None else None,
        compiler.node(rule.condition),
        tuple(_leaf_info(t, negated, params) for t, negated in tests),
        probe_names(rule),
        rule.kind == "attestation",
    )


_WHEN_FALSE = "condition for applying ('when') is false"


class CompiledProfile:
    """An effective profile ready to evaluate: closures built once, reused for every machine."""

    def __init__(
        self,
        eff: EffectiveProfile,
        catalogs: dict[str, Catalog],
        only: set[str] | None = None,
        cache: dict[tuple[str, tuple], CompiledRule] | None = None,
    ):
        self.name = eff.name
        self.effective = eff
        self.host_rules: list[CompiledRule] = []
        self.unit_rules: list[CompiledRule] = []
        for er in eff.enabled:
            if only is not None and er.id not in only:
                continue
            key = (er.id, _freeze(er.param_values()))
            compiled = cache.get(key) if cache is not None else None
            if compiled is None or compiled.eff.rule is not er.rule:
                compiled = compile_rule(er, catalogs)
                if cache is not None:
                    cache[key] = compiled
            elif compiled.eff is not er:
                compiled = CompiledRule(
                    er,
                    compiled.when,
                    compiled.cond,
                    compiled.leaves,
                    compiled.probes,
                    compiled.attestation,
                )
            (self.unit_rules if er.rule.scope == "unit" else self.host_rules).append(compiled)
        self.has_host_attestations = any(cr.attestation for cr in self.host_rules)
        self.host_order = tuple(cr.id for cr in self.host_rules)
        self.unit_order = tuple(cr.id for cr in self.unit_rules)
        self.waivers: dict[str, list[Waiver]] = {}
        for w in eff.waivers:
            self.waivers.setdefault(w.rule, []).append(w)
        self._plans: dict[Traits, list[tuple[CompiledRule, list | None]]] = {}

    def plan(self, traits: Traits) -> list[tuple[CompiledRule, list | None]]:
        """Each host rule with None (evaluate) or its stored not-applicable entry (cached per traits)."""
        found = self._plans.get(traits)
        if found is None:
            found = []
            for cr in self.host_rules:
                why = _not_applicable(cr.rule, traits)
                found.append((cr, None if why is None else [NA, [], [why]]))
            self._plans[traits] = found
        return found


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


# Why a rule does not apply, stored as a short code (rendered by itaudit.check.results).
NA_TYPE, NA_PLATFORM, NA_SECRET_ONLY, NA_NOT_SECRET, NA_LAN, NA_NO_REPORT = (
    "@type",
    "@platform",
    "@secret-only",
    "@not-secret",
    "@lan",
    "@no-report",
)


def _not_applicable(rule: Rule, t: Traits) -> str | None:
    a = rule.applies
    if t.type not in a.types:
        return NA_TYPE
    if a.platforms is not None and (t.platform or "other") not in a.platforms:
        return NA_PLATFORM
    if a.secret == "only" and not t.secret:
        return NA_SECRET_ONLY
    if a.secret == "exclude" and t.secret:
        return NA_NOT_SECRET
    if a.lan is not None and t.lan not in a.lan:
        return NA_LAN
    if not t.reported and rule.reads_report:
        return NA_NO_REPORT
    return None


def errors_by_probe(doc: Any) -> dict[str, list[dict[str, Any]]] | None:
    """The report's `errors` entries by probe name (None when there are none: the usual case)."""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not errors:
        return None
    out: dict[str, list[dict[str, Any]]] = {}
    for e in errors:
        if isinstance(e, dict) and isinstance(e.get("probe"), str):
            out.setdefault(e["probe"], []).append(e)
    return out


def _agent_notes(cr: CompiledRule, errors: dict[str, list[dict[str, Any]]]) -> list[str] | None:
    notes = []
    for probe in sorted(cr.probes & errors.keys()):
        for e in errors[probe][:3]:
            notes.append(f"agent: probe {probe} {e.get('kind')}: {str(e.get('message', ''))[:300]}")
    return notes or None


def waiver_record(w: Waiver, today: date) -> dict[str, Any]:
    return {
        "profile": w.profile,
        "where": str(w.where),
        "target": w.target,
        "reason": w.reason,
        "approved_by": w.approved_by,
        "decision": w.decision,
        "expires": w.expires.isoformat(),
        "expired": w.expired(today),
    }


@dataclass
class Evaluation:
    """One subject's results: one stored entry per rule, in the profile's rule order."""

    order: tuple[str, ...]  # rule ids, as CompiledProfile.host_order / unit_order
    entries: list[list]
    counts: dict[str, int]
    failed: list[str]  # rule ids that failed (waived ones excluded)
    waivers: list[dict[str, Any]]  # waiver records met (active or expired)

    @property
    def results(self) -> dict[str, list]:
        return dict(zip(self.order, self.entries, strict=True))

    def status(self, rule_id: str) -> str | None:
        entry = self.results.get(rule_id)
        return STATUS_NAMES[entry[0]] if entry else None


def evaluate_host(
    cp: CompiledProfile,
    ctx: Ctx,
    traits: Traits,
    hostname: str | None,
    asset_tag: str | None,
    attestation_for: Callable[[CompiledRule], dict[str, Any]] | None = None,
) -> Evaluation:
    """Every host rule of the profile for one machine."""
    entries: list[list] = []
    add = entries.append
    failed: list[str] = []
    waivers: list[dict[str, Any]] = []
    n_pass = n_fail = n_error = n_na = n_waived = 0
    errors = errors_by_probe(ctx.doc) if traits.reported else None
    for cr, na in cp.plan(traits):
        rid = cr.id
        if na is not None:
            add(na)
            n_na += 1
            continue
        if cr.attestation and attestation_for is not None:
            ctx.ns["attestation"] = attestation_for(cr)
        trace: list = []
        ctx.trace = trace
        when = cr.when
        if when is not None:
            w = when(ctx, None)
            if w is False:
                add([NA, trace, [_WHEN_FALSE]])
                n_na += 1
                continue
            if w is None:
                notes = _agent_notes(cr, errors) if errors else None
                add([ERROR, trace, notes] if notes else [ERROR, trace])
                n_error += 1
                continue
        r = cr.cond(ctx, None)
        if r is True:
            add([PASS, trace])
            n_pass += 1
        elif r is None:
            notes = _agent_notes(cr, errors) if errors else None
            add([ERROR, trace, notes] if notes else [ERROR, trace])
            n_error += 1
        else:
            waiver = None
            for wv in cp.waivers.get(rid, ()):
                if wv.matches(hostname, asset_tag):
                    waiver = waiver_record(wv, ctx.today)
                    if not waiver["expired"]:
                        break
            if waiver is None:
                add([FAIL, trace])
                n_fail += 1
                failed.append(rid)
            else:
                waivers.append(waiver)
                code = FAIL if waiver["expired"] else WAIVED
                add([code, trace, None, waiver])
                if code == FAIL:
                    n_fail += 1
                    failed.append(rid)
                else:
                    n_waived += 1
    counts = {PASS: n_pass, FAIL: n_fail, ERROR: n_error, NA: n_na, WAIVED: n_waived}
    return Evaluation(cp.host_order, entries, counts, failed, waivers)


def evaluate_unit(
    cp: CompiledProfile, ctx: Ctx, attestation_for: Callable[[CompiledRule], dict[str, Any]]
) -> Evaluation:
    """Every unit-wide rule (attestations) of the profile for one unit."""
    entries: list[list] = []
    counts = dict.fromkeys((PASS, FAIL, ERROR, NA, WAIVED), 0)
    failed: list[str] = []
    for cr in cp.unit_rules:
        ctx.ns["attestation"] = attestation_for(cr)
        trace: list = []
        ctx.trace = trace
        code = None
        if cr.when is not None:
            w = cr.when(ctx, None)
            if w is False:
                entries.append([NA, trace, [_WHEN_FALSE]])
                counts[NA] += 1
                continue
            if w is None:
                code = ERROR
        if code is None:
            r = cr.cond(ctx, None)
            code = PASS if r is True else ERROR if r is None else FAIL
        entries.append([code, trace])
        counts[code] += 1
        if code == FAIL:
            failed.append(cr.id)
    return Evaluation(cp.unit_order, entries, counts, failed, [])
