"""Golden cases per rule, found by glob: tests/check/golden/<RULE-ID>.yaml.

Each file lists cases: a frozen base report (golden/_bases/*.json, clean
machines from the demo generator), the facts a case changes, and the status
the rule must give, with words its evidence must contain. A rule of the
level-1 profile without a file, or without both a passing and a failing case,
fails the suite.

Case keys: base, expect, evidence (substrings), set / delete / append (report
paths, dots and list indices), sign (default true), asset (register entry
overrides), unregistered, no_report, host (store-row facts), lan (sightings),
unit (unit overrides), attestation, params, waivers, now.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from itaudit.check.attestations import Attestation, attestation_facts
from itaudit.check.context import FactIndex
from itaudit.check.engine import STATUS_NAMES, CompiledProfile, evaluate_host, evaluate_unit
from itaudit.check.operators import Ctx
from itaudit.check.results import render_evidence
from itaudit.org import load_organisation
from itaudit.profiles import load_profiles
from itaudit.profiles.model import EffectiveProfile, EffectiveRule, ParamValue, Waiver, Where
from itaudit.scan.records import Observation, Sighting
from itaudit.workspace import sample_root

GOLDEN = Path(__file__).resolve().parent / "golden"
DEFAULT_NOW = datetime(2026, 11, 20, 8, 0)
STATUSES = set(STATUS_NAMES.values())


@cache
def _world() -> tuple[Any, Any]:
    root = sample_root()
    return load_organisation(root / "inventory"), load_profiles(
        root / "profiles", root / "inventory"
    )


@cache
def _base(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / "_bases" / f"{name}.json").read_text(encoding="utf-8"))


def _cases() -> list[Any]:
    out = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            out.append(pytest.param(spec["rule"], case, id=f"{spec['rule']}:{case['name']}"))
    return out


def _walk(doc: Any, path: str) -> tuple[Any, Any]:
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parts[:-1]:
        node = node[p]
    return node, parts[-1]


def _apply(doc: dict[str, Any], case: dict[str, Any]) -> None:
    for path, value in (case.get("set") or {}).items():
        node, key = _walk(doc, path)
        node[key] = value
    for path in case.get("delete") or ():
        node, key = _walk(doc, path)
        del node[key]
    for path, value in (case.get("append") or {}).items():
        node, key = _walk(doc, path)
        node[key].append(value)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return (
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        .astimezone(UTC)
        .replace(tzinfo=None)
    )


class _Row:
    pass


def evaluate_case(rule_id: str, case: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    org, profiles = _world()
    now = _moment(case["now"]) if "now" in case else DEFAULT_NOW
    doc = copy.deepcopy(_base(case.get("base", "windows-workstation")))
    _apply(doc, case)
    if case.get("sign", True):
        doc["signature"] = {"algorithm": "ed25519", "public_key": "x", "value": "y"}
    tag = doc["identity"].get("asset_tag")
    asset = org.asset(tag) if tag else None
    if asset is not None and case.get("asset"):
        asset = dataclasses.replace(asset, **case["asset"])
    units = list(org.units)
    if case.get("unit"):
        unit_id = asset.unit if asset else doc["unit"]
        units = [dataclasses.replace(u, **case["unit"]) if u.id == unit_id else u for u in units]
    world = dataclasses.replace(
        org,
        units=tuple(units),
        assets=(asset,) if asset and not case.get("unregistered") else (),
        _by_id={},
    )
    lan = case.get("lan") or {}
    sightings = []
    if lan.get("seen"):
        sightings.append(
            Sighting(
                1,
                asset.unit if asset else None,
                now,
                Observation(
                    address="10.38.0.250",
                    host_id=None if case.get("no_report") else 1,
                    asset_tag=asset.tag if asset else None,
                ),
            )
        )
    scanned = {asset.unit if asset else doc.get("unit")} if lan.get("scanned") else set()
    facts = FactIndex(world, sightings, scanned)
    rule = profiles.rules()[rule_id]
    unit_id = asset.unit if asset else doc.get("unit")
    eff_profile = profiles.profile(org.unit(unit_id).profile) if unit_id else profiles.base()
    base_rule = eff_profile.get(rule_id)
    params = dict(base_rule.params) if base_rule else {}
    for name, value in (case.get("params") or {}).items():
        params[name] = ParamValue(value, Where("golden"), "golden")
    waivers = tuple(
        Waiver(
            rule_id,
            w.get("host"),
            w.get("asset"),
            "golden",
            "golden",
            "golden",
            w["expires"] if isinstance(w["expires"], date) else date.fromisoformat(w["expires"]),
            "golden",
            Where("golden"),
        )
        for w in case.get("waivers") or ()
    )
    eff = EffectiveProfile("golden", ("golden",), None, (EffectiveRule(rule, params),), waivers)
    cp = CompiledProfile(eff, profiles.catalogs)
    att = None
    if case.get("attestation"):
        a = case["attestation"]
        att = Attestation(
            1,
            rule_id,
            "unit",
            unit_id,
            None,
            None,
            a.get("ref", "QĐ 1/QĐ"),
            a["date"],
            a.get("expires"),
            None,
            None,
            None,
            None,
            now,
            "golden",
        )
    valid_days = params["valid_days"].value if "valid_days" in params else None

    def attestation_for(_cr: Any) -> dict[str, Any]:
        return attestation_facts(att, valid_days, now.date())

    if rule.scope == "unit":
        subject = facts.unit_subject(unit_id)
        ev = evaluate_unit(cp, Ctx(None, subject.ns, now), attestation_for)
        row_meta = {"asset_type": None, "platform": None}
    else:
        if case.get("no_report"):
            subject = facts.register_subject(asset)
        else:
            row = _Row()
            host = case.get("host") or {}
            row.id = 1
            row.hostname = doc["identity"]["hostname"]
            row.unit = unit_id
            row.unit_source = "register" if asset else "agent"
            row.asset_tag = asset.tag if asset and not case.get("unregistered") else None
            row.match_method = "serial" if row.asset_tag else None
            row.platform = doc["platform"]
            row.last_collected_at = _moment(host.get("last_collected_at", doc["collected_at"]))
            row.key_fingerprint = None
            row.report_id = 1
            row.conflict_state = host.get("conflict_state")
            subject = facts.host_subject(row, doc)
        ev = evaluate_host(
            cp,
            Ctx(subject.doc, subject.ns, now),
            subject.traits,
            subject.hostname,
            subject.asset_tag,
            attestation_for,
        )
        row_meta = {"asset_type": subject.asset_type, "platform": subject.platform}
    entry = ev.results[rule_id]
    leaves = (
        [leaf.as_list() for leaf in cp.host_rules[0].leaves]
        if cp.host_rules
        else [leaf.as_list() for leaf in cp.unit_rules[0].leaves]
    )
    applies = {
        "types": sorted(rule.applies.types),
        "platforms": sorted(rule.applies.platforms) if rule.applies.platforms else None,
        "lan": sorted(rule.applies.lan) if rule.applies.lan else None,
    }
    return STATUS_NAMES[entry[0]], render_evidence(entry, leaves, applies, row_meta)


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_golden_case(rule_id: str, case: dict[str, Any]) -> None:
    assert case["expect"] in STATUSES, f"unknown expected status {case['expect']!r}"
    status, evidence = evaluate_case(rule_id, case)
    text = "\n".join(evidence)
    assert status == case["expect"], f"{rule_id} {case['name']}: got {status}\n{text}"
    for needle in case.get("evidence") or ():
        assert needle in text, f"{rule_id} {case['name']}: evidence lacks {needle!r}:\n{text}"


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    _org, profiles = _world()
    covered: dict[str, set[str]] = {}
    for path in GOLDEN.glob("*.yaml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.stem == spec["rule"], f"{path.name} holds cases of {spec['rule']}"
        covered[spec["rule"]] = {c["expect"] for c in spec["cases"]}
    missing = sorted(set(profiles.rules()) - set(covered))
    assert not missing, f"rules without golden cases: {missing}"
    lacking = sorted(r for r, s in covered.items() if not {"pass", "fail"} <= s)
    assert not lacking, f"rules without both a passing and a failing case: {lacking}"
    unknown = sorted(set(covered) - set(profiles.rules()))
    assert not unknown, f"golden files for rules no profile defines: {unknown}"
