"""The bundled sample: the level-1 base, 12 unit profiles, frameworks, the EOS table."""

from __future__ import annotations

from datetime import date

import pytest

from itaudit.org import load_organisation
from itaudit.profiles import load_profiles, unit_profile_problems, validate_profiles
from itaudit.workspace import sample_root

ROOT = sample_root()


@pytest.fixture(scope="module")
def bundled():
    return load_profiles(ROOT / "profiles", ROOT / "inventory")


def test_bundled_profiles_load_without_any_problem() -> None:
    ps, problems = validate_profiles(ROOT / "profiles", ROOT / "inventory")
    assert ps is not None
    assert [str(p) for p in problems] == []


def test_level1_has_at_least_25_automated_rules(bundled) -> None:
    level1 = bundled.files["level1"]
    automated = [r for r in level1.rules if r.kind == "automated"]
    attestations = [r for r in level1.rules if r.kind == "attestation"]
    assert len(automated) >= 25
    assert {r.id for r in attestations} >= {"L1-MGT-01", "L1-MGT-05", "L1-MGT-06"}


def test_every_unit_has_its_profile_extending_level1(bundled) -> None:
    org = load_organisation(ROOT / "inventory")
    assert len(org.units) == 12
    for unit in org.units:
        eff = bundled.profile(unit.profile)
        assert eff.chain == (unit.id, "level1"), unit.id
    assert unit_profile_problems(bundled, org) == []


def test_every_rule_speaks_both_languages(bundled) -> None:
    for rule in bundled.rules().values():
        assert rule.title.vi and rule.title.en and rule.title.vi != rule.title.en, rule.id
        assert rule.remediation.vi and rule.remediation.en, rule.id
        # A unit head reads the problem sentence first: every bundled rule has one.
        assert rule.problem is not None, rule.id
        assert rule.problem.vi and rule.problem.en and rule.problem.vi != rule.problem.en, rule.id


def test_every_automated_rule_cites_a_cis_safeguard_and_a_legal_clause(bundled) -> None:
    legal = {
        "circular-12-2022",
        "tcvn-11930-2017",
        "decree-331-2026",
        "tcvn-14423-2026",
        "law-29-2018",
        "directive-14-2019",
        # The department's own policy beyond level 1 is labelled as such, never as law.
        "department-policy",
    }
    for rule in bundled.rules().values():
        if rule.kind == "automated":
            assert "cis-v8" in rule.references, rule.id
        if rule.id != "L1-ENC-01":  # level 1 of both regimes has no disk-encryption clause
            assert legal & set(rule.references), rule.id


def test_framework_mappings_resolve_both_ways(bundled) -> None:
    rules = bundled.rules()
    served = set()
    for fw in bundled.frameworks.values():
        for req in fw.requirements:
            for rid in req.rules:
                assert rid in rules, f"{fw.id} {req.id} names {rid}"
                assert req.id in rules[rid].references.get(fw.id, ()), (
                    f"{rid} does not cite {fw.id} {req.id}"
                )
                served.add(rid)
    for rule in rules.values():
        for fw_id, clauses in rule.references.items():
            for clause in clauses:
                req = bundled.frameworks[fw_id].requirement(clause)
                assert req is not None and rule.id in req.rules, f"{rule.id} cites {fw_id} {clause}"
    assert set(rules) == served, f"rules serving no requirement: {sorted(set(rules) - served)}"


def test_the_five_frameworks_and_state_secrets_law_exist(bundled) -> None:
    assert set(bundled.frameworks) == {
        "circular-12-2022",
        "tcvn-11930-2017",
        "decree-331-2026",
        "tcvn-14423-2026",
        "cis-v8",
        "law-29-2018",
        "directive-14-2019",
        "department-policy",
    }


def test_windows_10_end_of_support_date_is_in_the_table(bundled) -> None:
    eos = bundled.catalogs["os-support"]
    win10 = next(e for e in eos.entries if e["name"] == "Windows 10 22H2")
    assert win10["end_of_support"] == date(2025, 10, 14)
    assert all(e["source"] for e in eos.entries)


def test_sample_advisory_is_a_catalogue_of_its_updates(bundled) -> None:
    adv = bundled.catalogs["advisories"]
    kbs = {(e["kb"], tuple(e["builds"])) for e in adv.entries}
    assert ("KB5072029", (19045,)) in kbs
    assert all(e["severity"] == "critical" for e in adv.entries)


def test_sample_waivers_one_active_one_expired(bundled) -> None:
    today = date(2026, 11, 20)
    waivers = {w.asset: w for eff in bundled.effective.values() for w in eff.waivers}
    assert not waivers["PHCN-PC-002"].expired(today)
    assert waivers["PHCN-PC-002"].rule == "L1-OS-01"
    assert waivers["BTXH2-PC-005"].expired(today)


def test_head_office_tailors_parameters_with_their_source(bundled) -> None:
    ho = bundled.profile("ho").get("L1-PWD-01")
    assert ho.params["min_length"].value == 12
    assert ho.params["min_length"].origin == "ho"
    assert ho.params["min_length"].where.source.endswith("units/ho.yaml")
    base = bundled.profile("dvvl").get("L1-PWD-01")
    assert base.params["min_length"].value == 8 and base.params["min_length"].origin == "default"


def test_subordinate_units_disable_the_drill_rule_with_a_reason(bundled) -> None:
    dvvl = bundled.profile("dvvl").get("L1-MGT-07")
    assert dvvl.disabled is not None and "Tổ ứng cứu sự cố" in dvvl.disabled.reason
    assert bundled.profile("ho").get("L1-MGT-07").disabled is None


def test_rules_cite_both_legal_regimes_alike(bundled) -> None:
    # Decree 331/2026 keeps Circular 12/2022's groups in new wording: a rule citing
    # one regime and not the other would vanish when the active framework changes.
    old, new = "circular-12-2022", "decree-331-2026"
    for rule in bundled.rules().values():
        cites = set(rule.references)
        assert (old in cites) == (new in cites), f"{rule.id} cites only one regime"
        if rule.id.startswith("L1-SECRET-"):
            # Law 29/2018 on state secrets holds under both regimes.
            assert rule.references.get("law-29-2018") == ("5.5",), rule.id
            assert not cites & {old, new}, rule.id
