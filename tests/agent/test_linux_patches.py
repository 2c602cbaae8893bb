"""The Linux patches probe on small recorded bundles: apt, dnf, reboot, rotated dpkg.log.

Each case is a bundle written by BundleWriter (the writer `agent collect
--save-bundle` uses) and replayed through BundleContext, as the fixtures are.
The dnf and needs-restarting texts have the shape of real output quoted in
public projects (Rocky Linux `updateinfo list` lines; dnf-plugins-core's
behave tests for needs-restarting, exit 1 and the "  * kernel" list).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from itaudit.agent.bundle import Bundle, BundleContext, BundleWriter
from itaudit.agent.collect import new_report
from itaudit.agent.context import Kind, Result, Status
from itaudit.agent.probes.base import ProbeRun
from itaudit.agent.probes.linux.patches import PatchesProbe

DNF_LIST = (
    "RLBA-2024:9438  bugfix         alternatives-1.24-1.el9_5.1.x86_64\n"
    "RLSA-2025:23343 Moderate/Sec.  binutils-2.35.2-67.el9_7.1.x86_64\n"
    "RLSA-2026:11111 Important/Sec. openssl-libs-3.5.4-1.el9_8.x86_64\n"
)
REBOOT_NEEDED = (
    "Core libraries or services have been updated since boot-up:\n"
    "  * glibc\n  * kernel\n\n"
    "Reboot is required to fully utilize these updates.\n"
    "More information: https://access.redhat.com/solutions/27943\n"
)
TRACEBACK = 'Traceback (most recent call last):\n  File "/usr/bin/needs-restarting"\nOSError\n'


def _patches(tmp_path, *sources: tuple[Kind, Result]):
    writer = BundleWriter(tmp_path / "bundle", "linux")
    for kind, result in sources:
        writer.add(kind, result.source, result, 1)
    writer.finish("2026-11-30T10:00:00Z", False, "host", 0)
    ctx = BundleContext(Bundle.open(tmp_path / "bundle"))
    report = new_report("linux", datetime(2026, 11, 30, tzinfo=UTC), None, "python", "r")
    run = ProbeRun(ctx, None, report, datetime(2026, 11, 30, tzinfo=UTC))  # type: ignore[arg-type]
    probe = PatchesProbe()
    run.probe = probe.name
    probe.prefetch(run)
    probe.collect(run)
    run.settle()
    # Automatic updates have their own tests (test_linux_hardening.py); these bundles lack them.
    return report["patches"], [
        (e["probe"], e["kind"], e["message"])
        for e in report["errors"]
        if e["probe"] != "patches.automatic_updates"
    ]


def _cmd(source, status, value=None, exit_code=None, message=""):
    return Kind.COMMAND, Result(source, status, value, message, exit_code)


def _file(source, status, value=None, message=""):
    return Kind.FILE, Result(source, status, value, message)


NO_APT = _cmd("apt-list-upgradable", Status.ABSENT, message="apt is not installed")


def test_rhel_security_advisories_and_a_reboot_listed_by_needs_restarting(tmp_path):
    pat, errors = _patches(
        tmp_path,
        NO_APT,
        _cmd("dnf-updateinfo", Status.OK, DNF_LIST, 0),
        _cmd("needs-restarting", Status.FAILED, REBOOT_NEEDED, 1, "exit status 1"),
        _file("dpkg-log", Status.ABSENT, message="/var/log/dpkg.log does not exist"),
    )
    assert [(p["id"], p["title"]) for p in pat["pending"]] == [
        ("binutils-2.35.2-67.el9_7.1.x86_64", "RLSA-2025:23343"),
        ("openssl-libs-3.5.4-1.el9_8.x86_64", "RLSA-2026:11111"),
    ]
    assert (pat["pending_security_count"], pat["pending_reboot"]) == (2, True)
    # Which installs were security updates is not read there yet: said, never guessed.
    assert errors == [
        (
            "patches.last_install",
            "unsupported",
            "the last security update's install date is not read on RHEL-family machines yet",
        )
    ]


def test_rhel_reboot_not_needed(tmp_path):
    pat, _errors = _patches(
        tmp_path,
        NO_APT,
        _cmd("dnf-updateinfo", Status.OK, "", 0),
        _cmd("needs-restarting", Status.OK, "Reboot should not be necessary.\n", 0),
    )
    assert (pat["pending_security_count"], pat["pending_reboot"]) == (0, False)


def test_a_crashing_needs_restarting_is_not_taken_for_a_pending_reboot(tmp_path):
    pat, errors = _patches(
        tmp_path,
        NO_APT,
        _cmd("dnf-updateinfo", Status.OK, "", 0),
        _cmd("needs-restarting", Status.FAILED, TRACEBACK, 1, "OSError"),
    )
    assert pat["pending_reboot"] is None
    assert ("patches.reboot", "failed", "needs-restarting: OSError") in errors


def test_without_apt_the_reboot_file_of_debian_is_not_evidence(tmp_path):
    # A RHEL machine never has /var/run/reboot-required: its absence must not read as "no reboot".
    pat, errors = _patches(
        tmp_path,
        NO_APT,
        _cmd("dnf-updateinfo", Status.OK, "", 0),
        _cmd("needs-restarting", Status.ABSENT, message="needs-restarting is not installed"),
        _file("reboot-required", Status.ABSENT, message="/var/run/reboot-required does not exist"),
    )
    assert pat["pending_reboot"] is None
    assert ("patches.reboot", "absent", "needs-restarting: needs-restarting is not installed") in (
        errors
    )


def test_neither_apt_nor_dnf(tmp_path):
    pat, errors = _patches(
        tmp_path,
        NO_APT,
        _cmd("dnf-updateinfo", Status.ABSENT, message="dnf is not installed"),
        _cmd("needs-restarting", Status.ABSENT, message="needs-restarting is not installed"),
    )
    assert pat["pending_security_count"] is None and "pending" not in pat
    assert ("patches", "absent", "no apt or dnf: pending updates unknown") in errors


# `apt-cache policy libssl3 lynis` on the Debian 12 development machine (2026-12-04), with
# libssl3 installed at the version the security pocket offers.
POLICY = (
    "libssl3:\n"
    "  Installed: 3.0.22-1~deb12u2\n"
    "  Candidate: 3.0.22-1~deb12u2\n"
    "  Version table:\n"
    " *** 3.0.22-1~deb12u2 500\n"
    "        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
    "        100 /var/lib/dpkg/status\n"
    "     3.0.20-1~deb12u2 500\n"
    "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
    "lynis:\n"
    "  Installed: 3.0.8-1.1\n"
    "  Candidate: 3.0.8-1.1\n"
    "  Version table:\n"
    " *** 3.0.8-1.1 500\n"
    "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
    "        100 /var/lib/dpkg/status\n"
)
DPKG_LOG_1 = (
    "2026-10-28 09:14:02 status half-configured libssl3:amd64 3.0.22-1~deb12u2\n"
    "2026-10-28 09:14:03 status installed libssl3:amd64 3.0.22-1~deb12u2\n"
)
LYNIS_TODAY = "2026-11-29 17:00:05 status installed lynis:all 3.0.8-1.1\n"
APT_NONE = _cmd("apt-list-upgradable", Status.OK, "Listing...\n", 0)
NO_REBOOT = _file(
    "reboot-required", Status.ABSENT, message="/var/run/reboot-required does not exist"
)


def test_last_install_counts_only_security_updates_not_installing_a_tool(tmp_path):
    # Installing Lynis yesterday is not patching: the security install a month ago is the date.
    pat, errors = _patches(
        tmp_path,
        APT_NONE,
        NO_REBOOT,
        _file("dpkg-log", Status.OK, LYNIS_TODAY),
        _file("dpkg-log-1", Status.OK, DPKG_LOG_1),
        _cmd("apt-cache-policy", Status.OK, POLICY, 0),
    )
    assert (pat["last_install_at"], pat["pending_reboot"], pat["pending"]) == (
        "2026-10-28T09:14:03Z",
        False,
        [],
    )
    assert errors == []


def test_no_security_install_at_all_is_unknown_with_the_reason(tmp_path):
    pat, errors = _patches(
        tmp_path,
        APT_NONE,
        NO_REBOOT,
        _file("dpkg-log", Status.OK, LYNIS_TODAY),
        _file("dpkg-log-1", Status.ABSENT, message="/var/log/dpkg.log.1 does not exist"),
        _cmd("apt-cache-policy", Status.OK, POLICY, 0),
    )
    assert pat["last_install_at"] is None
    assert errors == [
        (
            "patches.last_install",
            "absent",
            "no install in dpkg.log is a version a -security pocket offers",
        )
    ]


def test_apt_policy_names_the_versions_of_security_pockets():
    from itaudit.agent.probes.linux.patches import parse_apt_policy

    assert parse_apt_policy(POLICY) == {"libssl3": {"3.0.22-1~deb12u2"}, "lynis": set()}


def test_background_reads_hand_their_value_and_their_error_to_the_collecting_thread():
    run = ProbeRun(None, None, {"errors": []}, datetime.now(UTC))  # type: ignore[arg-type]

    def slow():
        time.sleep(0.05)
        return "value"

    def broken():
        raise ValueError("unexpected output")

    run.start("slow", slow)
    run.start("broken", broken)
    assert run.once("slow", lambda: "read again") == "value"
    with pytest.raises(ValueError, match="unexpected output"):
        run.once("broken", lambda: None)
    run.settle()
