"""Windows password policy: NetUserModalsGet figures, complexity from the secedit export.

Bundles are the recorded fixtures (tests/agent/fixtures), changed file by file
the way another machine would have recorded them; the parser reads them
through the same BundleContext a USB bundle goes through.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from itaudit.agent.collect import parse_bundle
from itaudit.agent.probes.windows import secedit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASES = Path(__file__).resolve().parents[1] / "check" / "golden" / "_bases"
PROBE = "security.password_policy"

# A fresh Windows install's export, as posted in 0x6d69636b/windows_hardening#18 (start of it).
FRESH_WINDOWS = (
    "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordAge = 0\r\n"
    "MaximumPasswordAge = 42\r\nMinimumPasswordLength = 0\r\nPasswordComplexity = 0\r\n"
    "PasswordHistorySize = 0\r\nLockoutBadCount = 0\r\nRequireLogonToChangePassword = 0\r\n"
    'ForceLogoffWhenHourExpire = 0\r\nNewAdministratorName = "Administrator"\r\n'
    'NewGuestName = "Guest"\r\nClearTextPassword = 0\r\nLSAAnonymousNameLookup = 0\r\n'
    "EnableAdminAccount = 0\r\nEnableGuestAccount = 0\r\n[Event Audit]\r\nAuditSystemEvents = 0\r\n"
    '[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n'
)


def test_the_export_is_read_by_section_and_key_names():
    sections = secedit.parse_inf("\ufeff" + FRESH_WINDOWS)
    assert set(sections) == {"unicode", "system access", "event audit", "version"}
    assert sections["version"]["signature"] == "$CHICAGO$"
    assert sections["system access"]["newadministratorname"] == "Administrator"
    access = secedit.system_access(FRESH_WINDOWS)
    assert access is not None and secedit.complexity(access) is False
    assert secedit.policy(access) == {
        "min_length": 0,
        "max_age_days": 42,
        "min_age_days": 0,
        "history": 0,
        "complexity": False,
        "lockout_threshold": 0,
        "lockout_duration_minutes": None,
    }


def test_never_values_of_the_export():
    access = secedit.system_access(
        "[System Access]\nMaximumPasswordAge = -1\nLockoutBadCount = 3\nLockoutDuration = -1\n"
        "PasswordComplexity = 1\n"
    )
    assert access is not None
    facts = secedit.policy(access)
    assert (facts["max_age_days"], facts["lockout_duration_minutes"], facts["complexity"]) == (
        0,
        100000,
        True,
    )


@pytest.mark.parametrize(
    "text",
    ["", "[Unicode]\nUnicode=yes\n", "PasswordComplexity = 1\n", "not an INF at all"],
)
def test_an_export_without_system_access_is_not_a_policy(text):
    assert secedit.system_access(text) is None


def test_an_unknown_complexity_value_stays_unknown():
    assert secedit.complexity({"passwordcomplexity": 2}) is None
    assert secedit.complexity({}) is None


# -- through bundles ---------------------------------------------------------------


def _copy(case: str, tmp_path: Path) -> Path:
    bundle = tmp_path / case
    shutil.copytree(FIXTURES / case / "bundle", bundle)
    return bundle


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))


def _save(bundle: Path, manifest: dict) -> None:
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _replace(bundle: Path, source: str, content: bytes) -> None:
    manifest = _manifest(bundle)
    entry = manifest["sources"][source]
    (bundle / entry["file"]).write_bytes(content)
    entry["sha256"] = hashlib.sha256(content).hexdigest()
    _save(bundle, manifest)


def _password(report: dict) -> tuple[dict, list[tuple[str, str]]]:
    errors = [(e["kind"], e["message"]) for e in report["errors"] if e["probe"] == PROBE]
    return report["security"]["password_policy"], errors


def test_administrator_run_reads_complexity_and_records_no_error(parsed):
    for case in ("win11-defender-only", "winserver2019-no-securitycenter"):
        policy, errors = _password(parsed(case))
        assert policy["complexity"] is True and errors == [], case


def test_ordinary_user_run_keeps_the_figures_and_says_complexity_was_denied(parsed):
    policy, errors = _password(parsed("win10-bkav-defender-passive"))
    assert (policy["min_length"], policy["lockout_threshold"], policy["complexity"]) == (0, 0, None)
    assert [kind for kind, _ in errors] == ["denied"]
    assert "administrator rights" in errors[0][1]
    # The old blanket note is gone: nothing about this probe says "unsupported".
    for case in ("win10-bkav-defender-passive", "win11-defender-only"):
        assert "unsupported" not in {k for k, _ in _password(parsed(case))[1]}


def test_complexity_off_is_read_as_false(catalog, tmp_path):
    bundle = _copy("win11-defender-only", tmp_path)
    text = (bundle / "secedit-securitypolicy.txt").read_text(encoding="utf-8")
    _replace(
        bundle,
        secedit.SOURCE,
        text.replace("PasswordComplexity = 1", "PasswordComplexity = 0").encode("utf-8"),
    )
    policy, errors = _password(parse_bundle(bundle, catalog, collector="fixture"))
    assert (policy["complexity"], errors) == (False, [])


def test_a_truncated_export_is_unparsed_not_fine(catalog, tmp_path):
    bundle = _copy("win11-defender-only", tmp_path)
    _replace(bundle, secedit.SOURCE, b"[Unicode]\r\nUnicode=yes\r\n")
    policy, errors = _password(parse_bundle(bundle, catalog, collector="fixture"))
    assert policy["complexity"] is None and policy["min_length"] == 8
    assert [kind for kind, _ in errors] == ["unparsed"]


def test_a_bundle_from_an_older_collector_says_complexity_was_not_collected(catalog, tmp_path):
    bundle = _copy("win11-defender-only", tmp_path)
    manifest = _manifest(bundle)
    del manifest["sources"][secedit.SOURCE]
    _save(bundle, manifest)
    policy, errors = _password(parse_bundle(bundle, catalog, collector="fixture"))
    assert policy["complexity"] is None
    assert [kind for kind, _ in errors] == ["failed"]
    assert "not in the bundle" in errors[0][1]


def test_the_export_stands_in_when_netusermodalsget_failed(catalog, tmp_path):
    bundle = _copy("winserver2019-no-securitycenter", tmp_path)
    manifest = _manifest(bundle)
    manifest["sources"]["netusermodals"] = {
        "kind": "powershell",
        "target": "NetUserModalsGet levels 0 and 3",
        "status": "failed",
        "message": "Add-Type failed",
    }
    _save(bundle, manifest)
    policy, errors = _password(parse_bundle(bundle, catalog, collector="fixture"))
    assert policy == {
        "min_length": 7,
        "max_age_days": 42,
        "min_age_days": 1,
        "history": 24,
        "complexity": True,
        "lockout_threshold": 0,
        "lockout_duration_minutes": None,
    }
    assert [kind for kind, _ in errors] == ["failed"]


@pytest.mark.parametrize(
    ("base", "case"),
    [
        ("win-pwd-nonadmin", "win10-bkav-defender-passive"),
        ("win-pwd-admin", "win11-defender-only"),
        ("win-pwd-server", "winserver2019-no-securitycenter"),
    ],
)
def test_golden_bases_carry_what_the_bundles_parse_to(parsed, base, case):
    """tests/check/golden win-pwd-* cases judge exactly these bundles' password facts."""
    doc = json.loads((BASES / f"{base}.json").read_text(encoding="utf-8"))
    report = parsed(case)
    assert doc["security"]["password_policy"] == report["security"]["password_policy"]
    assert doc["errors"] == [e for e in report["errors"] if e["probe"] == PROBE]
