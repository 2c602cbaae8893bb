"""The profile's `readiness:` section: loaded, inherited, and every mistake a load
error naming file and line."""

from __future__ import annotations

from itaudit.profiles import validate_profiles
from itaudit.workspace import sample_root

RULES_WITH_ATTESTATION = """\
  - id: T-BACKUP-01
    kind: attestation
    scope: host
    applies_to: {types: [server]}
    title: {vi: Sao lưu, en: Backup}
    remediation: {vi: Sao lưu, en: Back up}
    severity: high
    params:
      valid_days: {type: integer, default: 31}
  - id: T-MGT-01
    kind: attestation
    title: {vi: Chính sách, en: Policy}
    remediation: {vi: Ban hành, en: Issue it}
    severity: high
"""

READINESS = """\
readiness:
  report_age_days: 5
  drill_months: 6
  backup_rule: T-BACKUP-01
  rules:
    antimalware: [T-SMB-01]
"""


def _base(profile_dir, readiness: str = READINESS):
    return profile_dir("base", profile_dir.base + RULES_WITH_ATTESTATION + readiness)


def _line(path, needle: str) -> int:
    """The line of `path` where `needle` first appears (1-based)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def _errors(root) -> list[str]:
    ps, problems = validate_profiles(root)
    found = [str(p) for p in problems if p.severity == "error"]
    assert (ps is None) == bool(found)
    return found


def test_base_settings_and_defaults(profile_dir) -> None:
    path = _base(profile_dir)
    ps, _problems = validate_profiles(profile_dir.root)
    assert ps is not None
    settings = ps.profile("base").readiness
    assert settings.number("report_age_days") == 5
    assert settings.number("scan_age_days") == 14  # not set: the documented default
    assert settings.backup_rule == "T-BACKUP-01"
    assert settings.rules == {
        "antimalware": ("T-SMB-01",),
        "edr": (),
        "patches": (),
        "secret": (),
    }
    assert str(settings.sources["report_age_days"]) == f"{path}:{_line(path, 'report_age_days: 5')}"


def test_profile_without_the_section_loads_with_defaults(profile_dir) -> None:
    profile_dir("base", profile_dir.base)
    ps, _problems = validate_profiles(profile_dir.root)
    assert ps is not None
    settings = ps.profile("base").readiness
    assert settings.backup_rule is None
    assert settings.number("drill_months") == 12


def test_unit_tailors_and_inherits(profile_dir) -> None:
    _base(profile_dir)
    unit = profile_dir(
        "u1",
        "profile: u1\nextends: base\nreadiness:\n  report_age_days: 10\n  rules:\n    edr: [T-LOCK-01]\n",
        "units",
    )
    ps, _problems = validate_profiles(profile_dir.root)
    assert ps is not None
    settings = ps.profile("u1").readiness
    assert settings.number("report_age_days") == 10
    assert str(settings.sources["report_age_days"]) == f"{unit}:4"
    assert settings.rules["edr"] == ("T-LOCK-01",)
    assert settings.rules["antimalware"] == ("T-SMB-01",)  # inherited
    assert settings.number("drill_months") == 6  # inherited
    assert ps.profile("base").readiness.number("report_age_days") == 5


def test_unknown_key(profile_dir) -> None:
    path = _base(profile_dir, READINESS + "  report_age: 3\n")
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'report_age: 3')}: report_age: unknown key in readiness (allowed: check_age_days, "
        "report_age_days, scan_age_days, backup_age_days, drill_months, backup_rule, rules)"
    ]


def test_wrong_type(profile_dir) -> None:
    path = _base(profile_dir, READINESS.replace("report_age_days: 5", 'report_age_days: "5"'))
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'report_age_days:')}: report_age_days: '5' is not an integer"
    ]


def test_out_of_bounds(profile_dir) -> None:
    path = _base(profile_dir, READINESS.replace("drill_months: 6", "drill_months: 0"))
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'drill_months:')}: drill_months: 0 is below the minimum 1"
    ]


def test_unknown_rule_in_a_list(profile_dir) -> None:
    path = _base(profile_dir, READINESS.replace("[T-SMB-01]", "[T-SMB-01, T-AV-09]"))
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'antimalware:')}: rules.antimalware: T-AV-09: not a machine rule of this profile"
    ]


def test_unit_wide_rule_is_not_a_machine_rule(profile_dir) -> None:
    path = _base(profile_dir, READINESS.replace("[T-SMB-01]", "[T-MGT-01]"))
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'antimalware:')}: rules.antimalware: T-MGT-01: not a machine rule of this profile"
    ]


def test_unknown_item(profile_dir) -> None:
    path = _base(profile_dir, READINESS + "    firewall: [T-SMB-01]\n")
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'firewall:')}: firewall: unknown key in readiness rules "
        "(allowed: antimalware, edr, patches, secret)"
    ]


def test_backup_rule_must_be_a_machine_attestation(profile_dir) -> None:
    path = _base(profile_dir, READINESS.replace("T-BACKUP-01", "T-SMB-01"))
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'backup_rule:')}: backup_rule: T-SMB-01: not an attestation recorded per machine "
        "(kind: attestation, scope: host)"
    ]


def test_team_wide_setting_in_a_unit_profile(profile_dir) -> None:
    _base(profile_dir)
    unit = profile_dir("u1", "profile: u1\nextends: base\nreadiness:\n  drill_months: 3\n", "units")
    assert _errors(profile_dir.root) == [
        f"{unit}:4: drill_months: is a setting of the department's incident-response team: "
        "set it in the base profile"
    ]


def test_section_must_be_a_mapping(profile_dir) -> None:
    path = _base(profile_dir, "readiness: [report_age_days]\n")
    assert _errors(profile_dir.root) == [
        f"{path}:{_line(path, 'readiness:')}: readiness: must be a mapping (docs/profiles.md, Readiness)"
    ]


def test_bundled_base_profile_names_the_level1_rules() -> None:
    root = sample_root()
    ps, problems = validate_profiles(root / "profiles", root / "inventory")
    assert ps is not None, problems
    settings = ps.profile("ho").readiness
    assert settings.backup_rule == "L1-MGT-08"
    assert "L1-PATCH-02" in settings.rules["patches"]
    assert settings.rules["secret"][-1] == "L1-SECRET-05"
