"""Evaluating one machine (or one unit) against a compiled profile.

A rule's status for a machine is decided in this order:

1. not-applicable: the machine's type, platform, state-secret flag or LAN
   placement is outside the rule's `applies_to`; or there is no report and the
   rule reads the report; or the agent said the probe is `unsupported` there;
   or the rule's `when` is false;
2. error: `when` or the condition is unknown (a fact not reported);
3. pass / fail from the condition;
4. waived: a fail covered by a waiver of the effective profile that has not
   expired (an expired waiver leaves the fail and is named in the evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from itaudit.check.operators import Compiler, Ctx, Eval, condition_text, leaf_tests, subject_text
from itaudit.profiles.conditions import AgeDays, Count, Lookup, Ref
from itaudit.profiles.model import Catalog, EffectiveProfile, EffectiveRule, Rule, Waiver

PASS, FAIL, ERROR, NA, WAIVED = "p", "f", "e", "n", "w"
STATUS_NAMES = {PASS: "pass", FAIL: "fail", ERROR: "error", NA: "not-applicable", WAIVED: "waived"}
STATUS_CODES = {v: k for k, v in STATUS_NAMES.items()}

# Outcome of one rule for one subject: (rule id, status code, trace, notes, waiver)
Outcome = tuple[str, str, list, list | None, dict | None]


@dataclass(frozen=True)
class Traits:
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

    def as_list(self) -> list[Any]:
        return [self.subject, self.condition, self.kind, self.operand_ref]


@dataclass(frozen=True)
class CompiledRule:
    eff: EffectiveRule
    when: Eval | None
    cond: Eval
    leaves: tuple[LeafInfo, ...]
    probes: frozenset[str]
    attestation: bool

    @property
    def rule(self) -> Rule:
        return self.eff.rule

    @property
    def id(self) -> str:
        return self.eff.rule.id


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


def _leaf_info(test: Any, params: dict[str, Any]) -> LeafInfo:
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
    return LeafInfo(subject_text(s, params), condition_text(test, params), kind, operand_ref)


def compile_rule(eff: EffectiveRule, catalogs: dict[str, Catalog]) -> CompiledRule:
    params = eff.param_values()
    compiler = Compiler(params, catalogs)
    rule = eff.rule
    assert rule.condition is not None
    tests = leaf_tests(rule.when) + leaf_tests(rule.condition)
    tests.sort(key=lambda t: t.leaf)
    return CompiledRule(
        eff,
        compiler.node(rule.when) if rule.when is not None else None,
        compiler.node(rule.condition),
        tuple(_leaf_info(t, params) for t in tests),
        probe_names(rule),
        rule.kind == "attestation",
    )


_NA_TEXT = {
    "no-report": "no report from this machine",
    "secret-only": "applies to state-secret machines only",
    "secret-excluded": "does not apply to state-secret machines",
}


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
        self.waivers: dict[str, list[Waiver]] = {}
        for w in eff.waivers:
            self.waivers.setdefault(w.rule, []).append(w)
        self._plans: dict[Traits, list[tuple[CompiledRule, str | None]]] = {}

    def plan(self, traits: Traits) -> list[tuple[CompiledRule, str | None]]:
        """Each host rule with None (evaluate) or why it does not apply (cached per traits)."""
        found = self._plans.get(traits)
        if found is None:
            found = [(cr, _not_applicable(cr.rule, traits)) for cr in self.host_rules]
            self._plans[traits] = found
        return found


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _not_applicable(rule: Rule, t: Traits) -> str | None:
    a = rule.applies
    if t.type not in a.types:
        return f"applies to {', '.join(sorted(a.types))}; this machine is a {t.type}"
    if a.platforms is not None and (t.platform or "other") not in a.platforms:
        return f"applies to {', '.join(sorted(a.platforms))}; this machine runs {t.platform or 'an unknown platform'}"
    if a.secret == "only" and not t.secret:
        return _NA_TEXT["secret-only"]
    if a.secret == "exclude" and t.secret:
        return _NA_TEXT["secret-excluded"]
    if a.lan is not None and t.lan not in a.lan:
        return f"applies to machines whose register LAN placement is {', '.join(sorted(a.lan))}; this one is '{t.lan}'"
    if not t.reported and rule.reads_report:
        return _NA_TEXT["no-report"]
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


def _agent_notes(cr: CompiledRule, errors: dict[str, list[dict[str, Any]]]) -> list[str]:
    notes = []
    for probe in sorted(cr.probes & errors.keys()):
        for e in errors[probe][:3]:
            notes.append(f"agent: probe {probe} {e.get('kind')}: {str(e.get('message', ''))[:300]}")
    return notes


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


def evaluate_host(
    cp: CompiledProfile,
    ctx: Ctx,
    traits: Traits,
    hostname: str | None,
    asset_tag: str | None,
    attestation_for: Callable[[CompiledRule], dict[str, Any]] | None = None,
) -> list[Outcome]:
    """Every host rule of the profile for one machine."""
    out: list[Outcome] = []
    errors = errors_by_probe(ctx.doc) if traits.reported else None
    for cr, na in cp.plan(traits):
        if na is not None:
            out.append((cr.id, NA, [], [na], None))
            continue
        if errors is not None:
            hit = cr.probes & errors.keys()
            unsupported = [
                e for p in sorted(hit) for e in errors[p] if e.get("kind") == "unsupported"
            ]
            if unsupported:
                e = unsupported[0]
                out.append(
                    (
                        cr.id,
                        NA,
                        [],
                        [
                            f"agent: probe {e.get('probe')} unsupported here: {str(e.get('message', ''))[:300]}"
                        ],
                        None,
                    )
                )
                continue
        if cr.attestation and attestation_for is not None:
            ctx.ns["attestation"] = attestation_for(cr)
        trace: list = []
        ctx.trace = trace
        if cr.when is not None:
            w = cr.when(ctx, None)
            if w is False:
                out.append((cr.id, NA, trace, ["condition for applying ('when') is false"], None))
                continue
            if w is None:
                notes = _agent_notes(cr, errors) if errors else []
                out.append((cr.id, ERROR, trace, notes or None, None))
                continue
        r = cr.cond(ctx, None)
        if r is True:
            out.append((cr.id, PASS, trace, None, None))
        elif r is None:
            notes = _agent_notes(cr, errors) if errors else []
            out.append((cr.id, ERROR, trace, notes or None, None))
        else:
            waiver = None
            code = FAIL
            for w in cp.waivers.get(cr.id, ()):
                if w.matches(hostname, asset_tag):
                    waiver = waiver_record(w, ctx.today)
                    if not waiver["expired"]:
                        code = WAIVED
                        break
            out.append((cr.id, code, trace, None, waiver))
    return out


def evaluate_unit(
    cp: CompiledProfile, ctx: Ctx, attestation_for: Callable[[CompiledRule], dict[str, Any]]
) -> list[Outcome]:
    """Every unit-wide rule (attestations) of the profile for one unit."""
    out: list[Outcome] = []
    for cr in cp.unit_rules:
        ctx.ns["attestation"] = attestation_for(cr)
        trace: list = []
        ctx.trace = trace
        if cr.when is not None:
            w = cr.when(ctx, None)
            if w is False:
                out.append((cr.id, NA, trace, ["condition for applying ('when') is false"], None))
                continue
            if w is None:
                out.append((cr.id, ERROR, trace, None, None))
                continue
        r = cr.cond(ctx, None)
        out.append((cr.id, PASS if r is True else ERROR if r is None else FAIL, trace, None, None))
    return out
