"""`itaudit profiles validate` and `itaudit profiles show` through the real CLI."""

from __future__ import annotations

import json
import re

from itaudit.workspace import Workspace


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path, needle: str) -> int:
    return next(
        i
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if needle in line
    )


def test_validate_bundled_profiles(run_cli, workspace: Workspace) -> None:
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    assert (
        "13 profiles, 69 rules, 8 frameworks, 3 catalogues: 0 error(s), 0 warning(s)"
        in result.stdout
    )


def test_bad_yaml_exits_2_with_file_and_line(run_cli, workspace: Workspace) -> None:
    path = workspace.profiles / "units" / "dvvl.yaml"
    edit(path, "allowed_local_admins: [quantri, cntt]", "allowed_local_admins: [quantri, cntt")
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    assert f"{path}:" in result.stdout and "invalid YAML" in result.stdout


def test_unknown_operator_exits_2(run_cli, workspace: Workspace) -> None:
    path = workspace.profiles / "level1.yaml"
    edit(
        path,
        "              le: {param: max_patch_age_days}",
        "              within: {param: max_patch_age_days}",
    )
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    line = line_of(path, "within: {param: max_patch_age_days}")
    assert re.search(
        rf"{re.escape(str(path))}:{line}: condition[^:]*: unknown operator 'within'", result.stdout
    ), result.stdout


def test_unknown_fact_path_exits_2(run_cli, workspace: Workspace) -> None:
    path = workspace.profiles / "level1.yaml"
    edit(path, "fact: security.smb1.client_enabled", "fact: security.smb1.client")
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    line = line_of(path, "fact: security.smb1.client,")
    assert f"{path}:{line}: condition.all[1]: unknown fact 'security.smb1.client'" in result.stdout


def test_cycle_exits_2(run_cli, workspace: Workspace) -> None:
    level1 = workspace.profiles / "level1.yaml"
    edit(level1, "profile: level1\n", "profile: level1\nextends: ho\n")
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    assert (
        f"{level1}:{line_of(level1, 'extends: ho')}: extends: cycle ho → level1 → ho"
        in result.stdout
    )


def test_waiver_without_expiry_exits_2(run_cli, workspace: Workspace) -> None:
    path = workspace.profiles / "units" / "phcn-tamthan.yaml"
    edit(path, "    expires: 2027-06-30\n", "")
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    line = line_of(path, "- rule: L1-OS-01")
    assert f"{path}:{line}: a waiver needs an expiry date" in result.stdout


def test_reference_to_a_missing_rule_exits_2(run_cli, workspace: Workspace) -> None:
    path = workspace.profiles / "units" / "btxh2.yaml"
    edit(path, "  - rule: L1-AUTORUN-01", "  - rule: L1-AUTORUN-09")
    result = run_cli("profiles", "validate", "-w", str(workspace.root))
    assert result.returncode == 2
    line = line_of(path, "rule: L1-AUTORUN-09")
    assert (
        f"{path}:{line}: rule: waiver for L1-AUTORUN-09, which is not a rule of this profile"
        in result.stdout
    )


def test_validate_a_single_file_beside_the_workspace_profiles(
    run_cli, workspace: Workspace, tmp_path
) -> None:
    extra = tmp_path / "trial.yaml"
    extra.write_text(
        "profile: trial\nextends: level1\nparams:\n  L1-LOCK-01: {max_seconds: 99999}\n",
        encoding="utf-8",
    )
    result = run_cli("profiles", "validate", str(extra), "-w", str(workspace.root))
    assert result.returncode == 2
    assert f"{extra}:4: max_seconds: 99999 is above the maximum 3600" in result.stdout


def test_validating_a_folder_without_profiles_exits_2(
    run_cli, workspace: Workspace, tmp_path
) -> None:
    # `itaudit profiles validate inventory` (a slip of the finger) must not report 0 errors.
    empty = tmp_path / "not-profiles"
    empty.mkdir()
    (empty / "notes.txt").write_text("x", encoding="utf-8")
    result = run_cli("profiles", "validate", str(empty), "-w", str(workspace.root))
    assert result.returncode == 2
    assert f"{empty}: no profile here" in result.stdout
    assert "0 error(s)" not in result.stdout


def test_check_refuses_broken_profiles_with_exit_2(run_cli, workspace: Workspace) -> None:
    edit(workspace.profiles / "level1.yaml", "severity: critical", "severity: severe")
    result = run_cli("check", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "severity: must be one of critical, high, medium, low" in result.stderr


def test_show_unit_gives_sources_of_values(run_cli, workspace: Workspace) -> None:
    result = run_cli("profiles", "show", "ho", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    assert "Profile ho" in result.stdout and "ho → level1" in result.stdout
    ho = workspace.profiles / "units" / "ho.yaml"
    assert f"min_length=12 [{ho}:{line_of(ho, 'min_length: 12')}, set by ho]" in result.stdout
    assert f"max_patch_age_days=35 [{workspace.profiles / 'level1.yaml'}:" in result.stdout


def test_show_json_lists_disabled_rules_and_waivers(run_cli, workspace: Workspace) -> None:
    result = run_cli("profiles", "show", "btxh2", "-f", "json", "-w", str(workspace.root))
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert data["chain"] == ["btxh2", "level1"]
    states = {r["rule"]: r["state"] for r in data["rules"]}
    assert states["L1-MGT-07"].startswith("disabled: ")
    assert states["L1-AV-01"] == "enabled"
    (waiver,) = data["waivers"]
    assert (waiver["machine"], waiver["expires"], waiver["state"]) == (
        "BTXH2-PC-005",
        "2026-06-30",
        "expired",
    )


def test_show_unknown_unit_exits_2(run_cli, workspace: Workspace) -> None:
    result = run_cli("profiles", "show", "hq", "-w", str(workspace.root))
    assert result.returncode == 2
    assert "no unit or profile 'hq'" in result.stderr
