"""The Windows patches probe on small bundles: which installs count as the last install.

Each case is a bundle written by BundleWriter and replayed through BundleContext,
as the fixtures are. The Windows Update history entries have the shape the
collector writes (Title, Date in ISO 8601 UTC, ResultCode, Operation, UpdateID);
titles follow Windows Update's public naming (reconstructed, one in Vietnamese),
KB numbers are real: KB5055518 is the April 2025 cumulative update that brings
Windows 10 22H2 to 19045.5737, KB5068781 the November 2025 one (19045.6575).
"""

from __future__ import annotations

from datetime import UTC, datetime

from itaudit.agent.bundle import Bundle, BundleContext, BundleWriter
from itaudit.agent.collect import new_report
from itaudit.agent.context import Kind, Result, Status
from itaudit.agent.probes.base import ProbeRun
from itaudit.agent.probes.windows.patches import PatchesProbe

SUCCEEDED, FAILED = 2, 4
INSTALL = 1


def _wu(title: str, when: str, result: int = SUCCEEDED, op: int = INSTALL) -> dict:
    return {
        "Title": title,
        "Date": when,
        "ResultCode": result,
        "Operation": op,
        "UpdateID": "00000000-0000-0000-0000-000000000000",
    }


APRIL_CU_VI = _wu(
    "Bản cập nhật tích lũy 2025-04 cho Windows 10 Version 22H2 dành cho hệ thống "
    "dựa trên x64 (KB5055518)",
    "2025-04-09T03:12:00Z",
)
NOVEMBER_CU_FAILED = _wu(
    "2025-11 Cumulative Update for Windows 10 Version 22H2 for x64-based Systems (KB5068781)",
    "2025-11-12T02:40:00Z",
    FAILED,
)
INTEL_DRIVER = _wu("Intel Corporation - Display - 31.0.101.5186", "2025-11-20T01:05:00Z")
MSRT = _wu(
    "Windows Malicious Software Removal Tool x64 - v5.137 (KB890830)", "2025-11-12T02:55:00Z"
)
DEFENDER = _wu(
    "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
    "(Version 1.441.120.0) - Current Channel (Broad)",
    "2025-11-21T06:00:00Z",
)
APRIL_CU_UNINSTALLED = _wu(
    "2025-04 Cumulative Update for Windows 10 Version 22H2 for x64-based Systems (KB5055518)",
    "2025-05-01T08:00:00Z",
    SUCCEEDED,
    2,  # Operation 2: uninstallation
)
NO_REBOOT = [
    (Kind.REGISTRY, Result(source, Status.ABSENT, message="key not found"))
    for source in ("reg-wu-rebootrequired", "reg-cbs-rebootpending")
]


def _patches(tmp_path, history: list[dict], qfe: list[dict] | None = None):
    writer = BundleWriter(tmp_path / "bundle", "windows")
    sources = [
        (Kind.POWERSHELL, Result("wu-history", Status.OK, history)),
        (Kind.CIM, Result("cim-qfe", Status.OK, qfe or [])),
        *NO_REBOOT,
    ]
    for kind, result in sources:
        writer.add(kind, result.source, result, 1)
    writer.finish("2025-11-25T10:00:00Z", True, "PC-01", 0)
    ctx = BundleContext(Bundle.open(tmp_path / "bundle"))
    moment = datetime(2025, 11, 25, 10, tzinfo=UTC)
    report = new_report("windows", moment, None, "powershell", "r")
    run = ProbeRun(ctx, None, report, moment)  # type: ignore[arg-type]
    probe = PatchesProbe()
    run.probe = probe.name
    probe.prefetch(run)
    probe.collect(run)
    run.settle()
    return report["patches"]


def test_a_driver_after_a_failed_cumulative_update_is_not_the_last_install(tmp_path):
    pat = _patches(tmp_path, [APRIL_CU_VI, NOVEMBER_CU_FAILED, INTEL_DRIVER, MSRT, DEFENDER])
    # The driver (20 Nov), the removal tool (12 Nov) and the definitions (21 Nov)
    # installed; the November cumulative update failed: the last install that
    # counts is April's, whatever the language of its title.
    assert pat["last_install_at"] == "2025-04-09T03:12:00Z"
    ids = [p["id"] for p in pat["installed"]]
    assert ids == ["KB2267602", "KB5055518", "KB890830"]  # the failed KB is not installed


def test_the_last_successful_cumulative_update_counts(tmp_path):
    november_ok = dict(NOVEMBER_CU_FAILED, ResultCode=SUCCEEDED)
    pat = _patches(tmp_path, [APRIL_CU_VI, november_ok, INTEL_DRIVER, MSRT])
    assert pat["last_install_at"] == "2025-11-12T02:40:00Z"


def test_only_drivers_and_definitions_give_no_last_install(tmp_path):
    pat = _patches(tmp_path, [INTEL_DRIVER, DEFENDER, MSRT])
    assert pat["last_install_at"] is None
    assert [p["id"] for p in pat["installed"]] == ["KB2267602", "KB890830"]


def test_an_uninstallation_is_not_an_install(tmp_path):
    pat = _patches(tmp_path, [APRIL_CU_UNINSTALLED])
    assert pat["last_install_at"] is None
    assert pat["installed"] == []


def test_hotfix_list_adds_kb_numbers_without_moving_the_last_install(tmp_path):
    qfe = [{"HotFixID": "KB5068781", "Description": "Security Update", "InstalledOn": "11/13/2025"}]
    pat = _patches(tmp_path, [APRIL_CU_VI], qfe)
    assert [p["id"] for p in pat["installed"]] == ["KB5055518", "KB5068781"]
    assert pat["installed"][1]["installed_at"] == "2025-11-13T00:00:00Z"
    assert pat["last_install_at"] == "2025-04-09T03:12:00Z"
