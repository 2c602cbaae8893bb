"""Profile mistakes are load errors naming file and line (library level; the CLI
exit code is tested in tests/cli/test_profiles_cli.py)."""

from __future__ import annotations

from datetime import date

from itaudit.profiles import validate_profiles


def errors(root) -> list[str]:
    ps, problems = validate_profiles(root)
    found = [str(p) for p in problems if p.severity == "error"]
    assert (ps is None) == bool(found)
    return found


def test_valid_base_loads(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    ps, problems = validate_profiles(profile_dir.root)
    assert ps is not None
    assert [p.severity for p in problems] == ["warning", "warning"]  # no framework cites them
    assert set(ps.rules()) == {"T-LOCK-01", "T-SMB-01"}


def test_bad_yaml_names_the_line(profile_dir) -> None:
    path = profile_dir("base", profile_dir.base.replace("severity: high", "severity: [high"))
    found = errors(profile_dir.root)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:")
    assert "invalid YAML" in found[0]


def test_unknown_operator(profile_dir) -> None:
    path = profile_dir(
        "base",
        profile_dir.base.replace(
            "      le: {param: max_seconds}", "      at_most: {param: max_seconds}"
        ),
    )
    found = errors(profile_dir.root)
    assert f"{path}:12: condition: unknown operator 'at_most'" in found[0]


def test_unknown_fact_path_suggests_the_right_one(profile_dir) -> None:
    path = profile_dir(
        "base",
        profile_dir.base.replace("security.smb1.server_enabled", "security.smb1.server_enable"),
    )
    found = errors(profile_dir.root)
    assert f"{path}:18: condition: unknown fact 'security.smb1.server_enable'" in found[0]
    assert "did you mean 'security.smb1.server_enabled'" in found[0]


def test_type_mismatch(profile_dir) -> None:
    path = profile_dir("base", profile_dir.base.replace("equals: false", 'equals: "no"'))
    found = errors(profile_dir.root)
    assert (
        f"{path}:19: condition: type mismatch: security.smb1.server_enabled is boolean" in found[0]
    )


def test_unknown_parameter_in_condition(profile_dir) -> None:
    path = profile_dir(
        "base", profile_dir.base.replace("le: {param: max_seconds}", "le: {param: max_second}")
    )
    found = errors(profile_dir.root)
    assert f"{path}:12: condition: unknown parameter 'max_second'" in found[0]


def test_unknown_parameter_set_by_a_unit(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1", "profile: u1\nextends: base\nparams:\n  T-LOCK-01:\n    max_secs: 600\n", "units"
    )
    found = errors(profile_dir.root)
    assert found == [
        f"{path}:5: max_secs: T-LOCK-01 has no parameter 'max_secs' (parameters: max_seconds)"
    ]


def test_parameter_value_of_the_wrong_type(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1", 'profile: u1\nextends: base\nparams:\n  T-LOCK-01:\n    max_seconds: "600"\n', "units"
    )
    assert errors(profile_dir.root) == [f"{path}:5: max_seconds: '600' is not an integer"]


def test_parameter_out_of_bounds(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1", "profile: u1\nextends: base\nparams:\n  T-LOCK-01:\n    max_seconds: 7200\n", "units"
    )
    assert errors(profile_dir.root) == [f"{path}:5: max_seconds: 7200 is above the maximum 3600"]


def test_extends_cycle(profile_dir) -> None:
    a = profile_dir("a", "profile: a\nextends: b\n")
    b = profile_dir("b", "profile: b\nextends: a\n")
    found = errors(profile_dir.root)
    assert f"{b}:2: extends: cycle a → b → a" in found
    assert f"{a}:2: extends: cycle b → a → b" in found


def test_extends_a_missing_profile(profile_dir) -> None:
    path = profile_dir("u1", "profile: u1\nextends: level9\n", "units")
    found = errors(profile_dir.root)
    assert found == [f"{path}:2: extends: 'level9' is not a profile (profiles: u1)"]


def test_waiver_without_expiry(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1",
        """\
        profile: u1
        extends: base
        waivers:
          - rule: T-SMB-01
            asset: HO-PC-001
            reason: legacy scanner
            approved_by: Director
            decision: 12/QĐ
        """,
        "units",
    )
    found = errors(profile_dir.root)
    assert found == [
        f"{path}:4: a waiver needs an expiry date ('expires: YYYY-MM-DD'): waivers never last forever"
    ]


def test_waiver_for_a_rule_that_does_not_exist(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1",
        """\
        profile: u1
        extends: base
        waivers:
          - rule: T-NOPE-01
            host: HO-PC001
            reason: r
            approved_by: a
            decision: d
            expires: 2027-01-01
        """,
        "units",
    )
    assert errors(profile_dir.root) == [
        f"{path}:4: rule: waiver for T-NOPE-01, which is not a rule of this profile"
    ]


def test_waiver_names_host_or_asset_not_both(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    profile_dir(
        "u1",
        """\
        profile: u1
        extends: base
        waivers:
          - {rule: T-SMB-01, host: A, asset: B, reason: r, approved_by: a, decision: d, expires: 2027-01-01}
        """,
        "units",
    )
    assert "a waiver names exactly one machine" in errors(profile_dir.root)[0]


def test_disabling_without_a_reason(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir("u1", "profile: u1\nextends: base\ndisabled:\n  - rule: T-SMB-01\n", "units")
    assert errors(profile_dir.root) == [f"{path}:4: reason: is required"]


def test_disabling_a_rule_that_does_not_exist(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1", "profile: u1\nextends: base\ndisabled:\n  - {rule: T-X-01, reason: no}\n", "units"
    )
    assert errors(profile_dir.root) == [
        f"{path}:4: rule: disables T-X-01, which is not a rule of this profile"
    ]


def test_framework_naming_a_rule_that_does_not_exist(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "fw",
        """\
        framework: fw
        title: {vi: Khung, en: Framework}
        source: test
        requirements:
          - id: "1.1"
            title: {vi: Một, en: One}
            rules: [T-SMB-01, T-GONE-01]
        """,
        "frameworks",
    )
    found = errors(profile_dir.root)
    assert (
        f"{path}:5: rules: requirement 1.1 names rule T-GONE-01, which no profile defines" in found
    )


def test_rule_citing_a_clause_the_framework_lacks(profile_dir) -> None:
    base = profile_dir(
        "base",
        profile_dir.base.replace(
            "    severity: high\n", "    severity: high\n    references: {fw: ['9.9']}\n"
        ),
    )
    profile_dir(
        "fw",
        "framework: fw\ntitle: {vi: K, en: F}\nsource: t\nrequirements:\n  - {id: '1.1', title: {vi: M, en: O}, rules: []}\n",
        "frameworks",
    )
    found = errors(profile_dir.root)
    assert any(
        f.startswith(f"{base}:13:") and "cites fw '9.9', which is not a requirement" in f
        for f in found
    )


def test_clause_that_does_not_list_its_rule_names_its_own_framework_file(profile_dir) -> None:
    profile_dir(
        "base",
        profile_dir.base.replace(
            "    severity: high\n", "    severity: high\n    references: {fw: ['1.1']}\n"
        ),
    )
    fw = profile_dir(
        "fw",
        "framework: fw\ntitle: {vi: K, en: F}\nsource: t\nrequirements:\n"
        "  - {id: '1.1', title: {vi: M, en: O}, rules: []}\n",
        "frameworks",
    )
    # A second framework, loaded after fw: the message must not name it.
    profile_dir(
        "zz",
        "framework: zz\ntitle: {vi: K, en: F}\nsource: t\nrequirements:\n"
        "  - {id: '2.1', title: {vi: M, en: O}, rules: []}\n",
        "frameworks",
    )
    found = errors(profile_dir.root)
    assert [f for f in found if "does not list" in f] == [
        f"{fw}:5: rules: requirement 1.1 does not list T-SMB-01, which cites it "
        f"({profile_dir.root / 'base.yaml'}:{_rule_line(profile_dir.root / 'base.yaml', 'T-SMB-01')})"
    ]


def _rule_line(path, rule_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if f"id: {rule_id}" in line)


def test_a_folder_without_any_profile_is_an_error(profile_dir) -> None:
    profile_dir(
        "fw",
        "framework: fw\ntitle: {vi: K, en: F}\nsource: t\nrequirements:\n"
        "  - {id: '1.1', title: {vi: M, en: O}, rules: []}\n",
        "frameworks",
    )
    assert errors(profile_dir.root) == [
        f"{profile_dir.root}: no profile here (expected level1.yaml and units/<unit>.yaml: "
        "see docs/profiles.md)"
    ]


def test_redefining_an_inherited_rule_is_an_error(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    path = profile_dir(
        "u1",
        "profile: u1\nextends: base\nrules:\n"
        + profile_dir.base.split("rules:\n", 1)[1].split("  - id: T-SMB-01")[0],
        "units",
    )
    found = errors(profile_dir.root)
    assert any(f.startswith(f"{path}:4:") and "T-LOCK-01 is already defined" in f for f in found)


def test_required_parameter_must_be_set_by_the_unit(profile_dir) -> None:
    profile_dir(
        "base",
        profile_dir.base.replace(
            "      max_seconds: {type: integer, default: 900, min: 60, max: 3600}",
            "      max_seconds: {type: integer, min: 60, max: 3600}",
        ),
    )
    path = profile_dir("u1", "profile: u1\nextends: base\n", "units")
    found = errors(profile_dir.root)
    assert any(
        f.startswith(str(path)) and "T-LOCK-01 needs parameter 'max_seconds'" in f for f in found
    )


def test_chain_of_three_profiles_keeps_each_value_source(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    mid = profile_dir(
        "mid", "profile: mid\nextends: base\nparams:\n  T-LOCK-01: {max_seconds: 600}\n"
    )
    leaf = profile_dir(
        "leaf",
        """\
        profile: leaf
        extends: mid
        disabled:
          - {rule: T-SMB-01, reason: no Windows machines here}
        waivers:
          - {rule: T-LOCK-01, host: KIOSK-01, reason: public kiosk, approved_by: Head, decision: 3/QĐ, expires: 2027-03-31}
        """,
        "units",
    )
    ps, problems = validate_profiles(profile_dir.root)
    assert ps is not None, problems
    eff = ps.profile("leaf")
    assert eff.chain == ("leaf", "mid", "base")
    lock = eff.get("T-LOCK-01")
    assert lock.params["max_seconds"].value == 600
    assert str(lock.params["max_seconds"].where) == f"{mid}:4"
    assert lock.params["max_seconds"].origin == "mid"
    smb = eff.get("T-SMB-01")
    assert smb.disabled is not None and str(smb.disabled.where) == f"{leaf}:4"
    assert [r.id for r in eff.enabled] == ["T-LOCK-01"]
    (waiver,) = eff.waivers
    assert waiver.expires == date(2027, 3, 31) and waiver.host == "KIOSK-01"
    assert ps.profile("mid").get("T-SMB-01").disabled is None  # the parent is unchanged


def test_problem_sentence_is_bilingual_and_located(profile_dir) -> None:
    text = profile_dir.base.replace(
        "    severity: high\n",
        "    severity: high\n    problem: {vi: SMBv1 đang bật., en: SMBv1 is on., fr: oui}\n",
    )
    path = profile_dir("base", text)
    found = errors(profile_dir.root)
    assert len(found) == 1
    assert found[0] == f"{path}:17: fr: unknown key in problem (allowed: vi, en)"
    profile_dir("base", text.replace(", fr: oui", ""))
    ps, _ = validate_profiles(profile_dir.root)
    assert ps is not None
    problem = ps.rules()["T-SMB-01"].problem
    assert problem is not None and (problem.vi, problem.en) == ("SMBv1 đang bật.", "SMBv1 is on.")


def test_advisory_mistakes_name_file_and_line(profile_dir, tmp_path) -> None:
    profile_dir("base", profile_dir.base)
    folder = tmp_path / "inventory" / "advisories"
    folder.mkdir(parents=True)
    path = folder / "2026-12.yaml"
    path.write_text(
        "id: MS-2026-12\n"
        "title_vi: Cảnh báo\n"
        "title_en: Advisory\n"
        "published: 2026-12-08\n"
        "severity: critical\n"
        "updates:\n"
        "  - kb: 5073001\n"
        "    builds: [26200]\n"
        "  - kb: KB5073002\n"
        "    builds: 26100\n"
        "  - kb: KB5073003\n"
        "    builds: [26100]\n"
        "    severity: urgent\n",
        encoding="utf-8",
    )
    ps, problems = validate_profiles(profile_dir.root, tmp_path / "inventory")
    assert ps is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        f"{path}:7: kb: '5073001' is not a KB number such as KB5072033",
        f"{path}:10: builds: 26100 is not a list of OS builds such as [26100]",
        f"{path}:13: severity: must be one of critical, high, medium, low",
    ]
