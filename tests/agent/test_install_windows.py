"""`itaudit agent install --platform windows`: the installer kit, checked as text.

No PowerShell runs here: the installer, the uninstaller and the scheduled run
are parsed with the collector's PowerShell grammar machinery
(test_collector_grammar.py: syntax, Windows PowerShell 5.1 cmdlets and types,
list unrolling). The cmdlets and types only the kit uses are allow-listed
here, each with where it comes from, so the collector's own list stays as
narrow as the collector.
"""

from __future__ import annotations

import hashlib
import re

import pytest
import test_collector_grammar as grammar
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from itaudit.agent.install_windows import WindowsKit, ps_quote, render
from itaudit.server import ensure_self_signed

KIT_CMDLETS: dict[str, str] = {
    "Copy-Item": "Microsoft.PowerShell.Management, since 1.0",
    "Get-AppLockerPolicy": "AppLocker module, Windows 7 / Server 2008 R2 (ships with Windows)",
    "Test-AppLockerPolicy": "AppLocker module, Windows 7 / Server 2008 R2 (ships with Windows)",
    "Get-Date": "Microsoft.PowerShell.Utility, since 1.0",
    "Get-Random": "Microsoft.PowerShell.Utility, since 1.0",
    "New-TimeSpan": "Microsoft.PowerShell.Utility, since 1.0",
    "Test-Path": "Microsoft.PowerShell.Management, since 1.0",
    "Sort-Object": "Microsoft.PowerShell.Utility, since 1.0",
    "Set-Content": "Microsoft.PowerShell.Management, since 1.0 (-Encoding UTF8 writes a BOM in 5.1)",
    "Invoke-WebRequest": "Microsoft.PowerShell.Utility, since 3.0 (-UseBasicParsing: no IE engine)",
    "New-ScheduledTaskAction": "ScheduledTasks module, Windows 8 / Server 2012",
    "New-ScheduledTaskTrigger": "ScheduledTasks module, Windows 8 / Server 2012 (-RandomDelay)",
    "New-ScheduledTaskPrincipal": "ScheduledTasks module, Windows 8 / Server 2012",
    "New-ScheduledTaskSettingsSet": "ScheduledTasks module, Windows 8 / Server 2012",
    "Register-ScheduledTask": "ScheduledTasks module, Windows 8 / Server 2012 (-Force replaces)",
    "Get-ScheduledTask": "ScheduledTasks module, Windows 8 / Server 2012",
    "Unregister-ScheduledTask": "ScheduledTasks module, Windows 8 / Server 2012",
}
KIT_PROGRAMS: dict[str, str] = {
    "icacls.exe": "System32 since Windows Vista / Server 2003 SP2; grants by SID (*S-1-5-18)",
}
KIT_TYPES: dict[str, str] = {
    "net.servicepointmanager": ".NET Framework 1.1 (ServerCertificateValidationCallback since 2.0)",
    "net.securityprotocoltype": ".NET Framework 1.1 (Tls12 since 4.5)",
    "net.webexception": ".NET Framework 1.1",
    "security.cryptography.cngkeyopenoptions": ".NET Framework 3.5, System.Core",
}
SCRIPTS = ("install-itaudit.ps1", "uninstall-itaudit.ps1", "run.ps1")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    cert, _key = ensure_self_signed(tmp_path_factory.mktemp("tls"), ["localhost"])
    return cert


@pytest.fixture(scope="module")
def kit(cert):
    return render(
        WindowsKit(unit="ho", mode="push", collector="https://10.38.0.5:8443", cafile=cert, hour=9)
    )


@pytest.fixture
def kit_lists(monkeypatch):
    """The collector's allow-lists widened by the kit's own entries, for this test only."""
    for name, why in KIT_CMDLETS.items():
        monkeypatch.setitem(grammar.CMDLETS, name, why)
    for name, why in KIT_PROGRAMS.items():
        monkeypatch.setitem(grammar.PROGRAMS, name, why)
    for name, why in KIT_TYPES.items():
        monkeypatch.setitem(grammar.TYPES, name, why)


@pytest.mark.parametrize("name", SCRIPTS)
def test_kit_scripts_parse_with_the_powershell_grammar(kit, name):
    assert grammar.syntax_problems(kit[name]) == []


@pytest.mark.parametrize("name", SCRIPTS)
def test_kit_scripts_use_only_windows_powershell_51(kit, kit_lists, name):
    assert grammar.ps51_problems(kit[name]) == []


@pytest.mark.parametrize("name", SCRIPTS)
def test_kit_scripts_never_unroll_a_list(kit, name):
    assert grammar.unrolling_problems(kit[name]) == []


def test_the_kit_needs_its_allow_list_entries(kit):
    """Without the kit's entries the check fails: the lists are what lets it pass."""
    problems = [p for name in SCRIPTS for p in grammar.ps51_problems(kit[name])]
    assert any("Register-ScheduledTask" in p for p in problems)
    assert any("icacls.exe is not in PROGRAMS" in p for p in problems)


def test_every_kit_allow_list_entry_is_used(kit):
    cmds, programs, types = set(), set(), set()
    for name in SCRIPTS:
        c, p, ty, _com = grammar.used_names(kit[name])
        cmds, programs, types = cmds | c, programs | p, types | ty
    assert sorted({k.lower() for k in KIT_CMDLETS} - cmds) == []
    assert sorted(set(KIT_PROGRAMS) - programs) == []
    assert sorted(set(KIT_TYPES) - types) == []


def test_task_runs_the_runner_as_system_daily_and_at_start_up(kit):
    text = kit["install-itaudit.ps1"]
    assert "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File" in text
    assert "New-ScheduledTaskPrincipal -UserId 'S-1-5-18'" in text  # SYSTEM, by SID
    assert "New-ScheduledTaskTrigger -Daily -At $at -RandomDelay" in text
    assert "New-ScheduledTaskTrigger -AtStartup" in text
    assert "$DailyHour = 9" in text
    # Idempotent: the same task name replaced, folders created only when missing.
    assert "Register-ScheduledTask -TaskName $TaskName" in text and "-Force" in text
    assert "Join-Path $env:ProgramFiles 'itaudit'" in text  # not user-writable
    assert "Unregister-ScheduledTask -TaskName $TaskName" in kit["uninstall-itaudit.ps1"]


def test_installer_detects_constrained_language_and_applocker(kit):
    text = kit["install-itaudit.ps1"]
    assert "$ExecutionContext.SessionState.LanguageMode" in text
    assert "Get-AppLockerPolicy -Effective -Xml" in text
    assert "Test-AppLockerPolicy -Path $file" in text


def test_runner_pins_the_collector_certificate(kit, cert):
    text = kit["run.ps1"]
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(Encoding.DER)
    assert f"$CertSha256 = '{hashlib.sha256(der).hexdigest()}'" in text
    assert "$CollectorUrl = 'https://10.38.0.5:8443/api/v1/bundles'" in text
    assert "$QueueLimit = 30" in text


def test_share_mode_needs_no_collector(tmp_path):
    files = render(WindowsKit(unit="ho", mode="share", share="\\\\fs01\\itaudit$"))
    assert "$ShareFolder = '\\\\fs01\\itaudit$'" in files["run.ps1"]
    assert "$Mode = 'share'" in files["run.ps1"]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("ho", "'ho'"),
        ("it's", "'it''s'"),
        ("a\u2019b", "'a\u2019\u2019b'"),  # PowerShell ends a '...' string at a curly quote too
        ("$(calc)", "'$(calc)'"),  # single quotes expand nothing
    ],
)
def test_settings_are_quoted_as_powershell_literals(value, literal):
    assert ps_quote(value) == literal


def test_a_hostile_share_name_stays_one_literal():
    files = render(
        WindowsKit(unit="ho", mode="share", share="\\\\x\\y'; Remove-Item C:\\ -Recurse; '")
    )
    line = next(x for x in files["run.ps1"].splitlines() if x.startswith("$ShareFolder"))
    assert re.fullmatch(r"\$ShareFolder = '(?:[^']|'')*'", line)
    assert grammar.syntax_problems(files["run.ps1"]) == []


def test_install_command_writes_the_kit(tmp_path, run_cli, cert, workspace):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret-of-unit-ho-0123456789\n")
    out = tmp_path / "usb"
    result = run_cli(
        "agent",
        "install",
        "--platform",
        "windows",
        "--unit",
        "ho",
        "--collector",
        "https://10.38.0.5:8443",
        "--cafile",
        str(cert),
        "--token-file",
        str(secret),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "collect.ps1",
        "enrolment-secret.txt",
        "install-itaudit.ps1",
        "run.ps1",
        "uninstall-itaudit.ps1",
    ]
    raw = (out / "install-itaudit.ps1").read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n\n" not in raw.replace(b"\r\n", b"")
    )
    assert (out / "enrolment-secret.txt").stat().st_mode & 0o077 == 0
    again = run_cli(
        "agent",
        "install",
        "--platform",
        "windows",
        "--unit",
        "ho",
        "--collector",
        "https://10.38.0.5:8443",
        "--cafile",
        str(cert),
        "--out",
        str(out),
    )
    assert again.returncode == 0  # written again over the same files


def test_push_mode_without_a_certificate_is_a_usage_error(tmp_path, run_cli, workspace):
    result = run_cli(
        "agent",
        "install",
        "--platform",
        "windows",
        "--unit",
        "ho",
        "--collector",
        "https://10.38.0.5:8443",
        "--out",
        str(tmp_path / "usb"),
    )
    assert result.returncode == 2 and "--cafile" in result.output
