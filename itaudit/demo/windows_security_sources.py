"""Security, patch and software sources of a demo Windows bundle (see windows_sources).

Split from windows_sources only for length; importing this module registers
these sources after the operating-system, hardware and network ones, in
collect.ps1's order.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from itaudit.demo.windows_machine import (
    BKAV_AV,
    BKAV_DIR,
    BKAV_PROCESS,
    BKAV_UI,
    DEFENDER_REGISTERED_OFF,
    NTP,
    WinMachine,
)
from itaudit.demo.windows_sources import (
    NOT_FOUND,
    Failed,
    Text,
    account_sid,
    ps_date,
    registry,
    source,
    stable_guid,
)


# -- security -------------------------------------------------------------------------
@source("cim-antivirusproduct", "cim", "root/SecurityCenter2:AntiVirusProduct")
def cim_antivirus(m: WinMachine) -> Any:
    if m.server:
        return Failed("absent", "Invalid namespace", "0x8004100E")
    stamp = m.collected.astimezone(UTC) - timedelta(hours=3)
    when = stamp.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return [
        {
            "displayName": BKAV_AV,
            "instanceGuid": "{6F0C2B7E-4A1D-4E8B-9C35-2D7A1B0E9F44}",
            "pathToSignedProductExe": rf"{BKAV_DIR}\{BKAV_UI}",
            "pathToSignedReportingExe": rf"{BKAV_DIR}\{BKAV_PROCESS}",
            "productState": m.av_state,
            "timestamp": when,
        },
        {
            "displayName": "Windows Defender",
            "instanceGuid": "{D68DDC3A-831F-4fae-9E44-DA132C1ACF46}",
            "pathToSignedProductExe": "windowsdefender://",
            "pathToSignedReportingExe": r"%ProgramFiles%\Windows Defender\MsMpeng.exe",
            "productState": DEFENDER_REGISTERED_OFF,
            "timestamp": when,
        },
    ]


@source("mp-computerstatus", "powershell", "Get-MpComputerStatus")
def mp_status(m: WinMachine) -> Any:
    if not m.defender_active:
        return Failed(
            "failed",
            "Operation failed with the following error: 0x800106ba. The service is not running.",
            "0x800106ba",
        )
    return {
        "AMRunningMode": "Normal",
        "AMServiceEnabled": True,
        "AntivirusEnabled": True,
        "RealTimeProtectionEnabled": True,
        "AntivirusSignatureLastUpdated": ps_date(m.defender_signatures),
        "AntivirusSignatureVersion": "1.441.120.0",
        "AntivirusSignatureAge": 0,
        "DefenderSignaturesOutOfDate": False,
        "AMProductVersion": "4.18.25100.9",
        "IsTamperProtected": m.tamper_protected,
        "ComputerState": 0,
        # collect.ps1 now also selects BehaviorMonitorEnabled, IoavProtectionEnabled and
        # OnAccessProtectionEnabled; the demo keeps the recorded fixtures' shape until a fixture
        # has them (tests/demo/test_demo_bundles.py): behaviour monitoring comes from Get-MpPreference.
    }


@source("mp-preference", "powershell", "Get-MpPreference")
def mp_preference(m: WinMachine) -> Any:
    if not m.defender_active:
        return Failed(
            "failed",
            "Operation failed with the following error: 0x800106ba. The service is not running.",
            "0x800106ba",
        )
    return {
        "PUAProtection": 1,
        "DisableScriptScanning": False,
        "DisableRemovableDriveScanning": False,
        "DisableBehaviorMonitoring": False,
        "DisableRealtimeMonitoring": False,
        "DisableIOAVProtection": False,
    }


@source("services", "services", "root/cimv2:Win32_Service")
def services(m: WinMachine) -> Any:
    return [
        {"Name": name, "DisplayName": display, "State": state, "StartMode": start}
        for name, (display, state, start) in (m.services | m.extra_services).items()
    ]


@source("processes", "processes", "root/cimv2:Win32_Process")
def processes(m: WinMachine) -> Any:
    return [{"Name": name, "ProcessId": 4 * i if i else 0} for i, name in enumerate(m.processes)]


@source("fw-profiles", "powershell", "Get-NetFirewallProfile -PolicyStore ActiveStore")
def fw_profiles(m: WinMachine) -> Any:
    return [
        {
            "Name": name,
            "Enabled": on,
            "DefaultInboundAction": inbound,
            "DefaultOutboundAction": outbound,
        }
        for name, (on, inbound, outbound) in m.firewall.items()
    ]


@source("bitlocker", "powershell", "Get-BitLockerVolume")
def bitlocker(m: WinMachine) -> Any:
    return [
        {
            "MountPoint": mount,
            "VolumeType": 0,
            "ProtectionStatus": status,
            "VolumeStatus": 1 if percent == 100 else 0,
            "EncryptionMethod": method,
            "EncryptionPercentage": percent,
        }
        for mount, status, method, percent in m.bitlocker
    ]


@source("local-admins", "powershell", "Get-LocalGroupMember -SID S-1-5-32-544")
def local_admins(m: WinMachine) -> Any:
    return [
        {
            "Name": f"{m.hostname}\\{m.accounts[rid][0]}",
            "SID": account_sid(m, rid),
            "ObjectClass": "User",
            "PrincipalSource": 1,
        }
        for rid in m.admins
    ]


@source("local-admins-cim", "powershell", "Win32_Group S-1-5-32-544 -> Win32_GroupUser")
def local_admins_cim(m: WinMachine) -> Any:
    return [
        {
            "Class": "Win32_UserAccount",
            "Name": m.accounts[rid][0],
            "Domain": m.hostname,
            "SID": account_sid(m, rid),
            "LocalAccount": True,
        }
        for rid in m.admins
    ]


@source("cim-useraccounts", "cim", "root/cimv2:Win32_UserAccount")
def cim_users(m: WinMachine) -> Any:
    return [
        {
            "Name": name,
            "SID": account_sid(m, rid),
            "Disabled": disabled,
            "LocalAccount": True,
            # PasswordRequired (now selected too) is left out, as in the recorded fixtures;
            # Get-LocalUser (local-users) carries it.
        }
        for rid, (name, disabled) in sorted(
            m.accounts.items(), key=lambda kv: str(kv[1][0]).lower()
        )
    ]


def _password_required(m: WinMachine, rid: int) -> bool:
    # Guest (501) and DefaultAccount (503) carry UF_PASSWD_NOTREQD on every Windows.
    return rid not in (501, 503) and rid not in m.password_not_required


def _iso(moment: Any) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@source("local-users", "powershell", "Get-LocalUser")
def local_users(m: WinMachine) -> Any:
    out = []
    for rid, (name, disabled) in sorted(m.accounts.items(), key=lambda kv: str(kv[1][0]).lower()):
        default = None if disabled else m.collected - timedelta(days=3)
        logon = m.last_logon.get(rid, default)
        password_set = m.installed if disabled else m.collected - timedelta(days=20)
        out.append(
            {
                "Name": name,
                "SID": account_sid(m, rid),
                "Enabled": not disabled,
                "PasswordRequired": _password_required(m, rid),
                "LastLogon": _iso(logon),
                "PasswordLastSet": _iso(password_set),
            }
        )
    return out


@source("netusermodals", "powershell", "NetUserModalsGet levels 0 and 3")
def netusermodals(m: WinMachine) -> Any:
    return dict(m.modals)


@source("secedit-securitypolicy", "command", "secedit /export /areas SECURITYPOLICY")
def secedit(m: WinMachine) -> Any:
    v = m.modals

    def days(seconds: int) -> int:
        return -1 if seconds == 0xFFFFFFFF else seconds // 86400

    lines = [
        "[Unicode]",
        "Unicode=yes",
        "[System Access]",
        f"MinimumPasswordAge = {days(v['MinPasswordAgeSeconds'])}",
        f"MaximumPasswordAge = {days(v['MaxPasswordAgeSeconds'])}",
        f"MinimumPasswordLength = {v['MinPasswordLength']}",
        f"PasswordComplexity = {m.complexity}",
        f"PasswordHistorySize = {v['PasswordHistoryLength']}",
        f"LockoutBadCount = {v['LockoutThreshold']}",
    ]
    if v["LockoutThreshold"]:
        lines += [
            f"ResetLockoutCount = {v['LockoutObservationWindowSeconds'] // 60}",
            f"LockoutDuration = {v['LockoutDurationSeconds'] // 60}",
        ]
    lines += [
        "RequireLogonToChangePassword = 0",
        "ForceLogoffWhenHourExpire = 0",
        f'NewAdministratorName = "{m.accounts[500][0]}"',
        f'NewGuestName = "{m.accounts[501][0]}"',
        "ClearTextPassword = 0",
        "LSAAnonymousNameLookup = 0",
        f"EnableAdminAccount = {0 if m.accounts[500][1] else 1}",
        f"EnableGuestAccount = {0 if m.accounts[501][1] else 1}",
        "[Version]",
        'signature="$CHICAGO$"',
        "Revision=1",
    ]
    return Text("\r\n".join(lines) + "\r\n")


registry(
    "reg-desktop",
    r"HKCU:\Control Panel\Desktop",
    lambda m: dict(m.desktop),
)
registry(
    "reg-desktop-policy",
    r"HKCU:\Software\Policies\Microsoft\Windows\Control Panel\Desktop",
    lambda m: None,
)
registry(
    "reg-system-policy",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
    lambda m: (
        dict(m.uac) | ({} if m.inactivity is None else {"InactivityTimeoutSecs": m.inactivity})
    ),
)
registry(
    "reg-terminal-server",
    r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server",
    lambda m: {"fDenyTSConnections": m.deny_rdp},
)
registry(
    "reg-rdp-tcp",
    r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp",
    lambda m: {"UserAuthentication": m.nla, "PortNumber": 3389, "SecurityLayer": 2},
)
registry(
    "reg-ts-policy",
    r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services",
    lambda m: None,
)
registry(
    "reg-lanmanserver",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters",
    lambda m: {} if m.smb1_server is None else {"SMB1": m.smb1_server},
)
registry(
    "reg-svc-srv",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\srv",
    lambda m: None if m.smb1_server is None else {"Start": 3},
)
registry("reg-svc-mrxsmb10", r"HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10", lambda m: None)
registry(
    "reg-explorer-policy-hklm",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer",
    lambda m: (
        {"NoDriveTypeAutoRun": m.autorun}
        | ({} if m.no_autorun is None else {"NoAutorun": m.no_autorun})
    ),
)
registry(
    "reg-explorer-policy-hkcu",
    r"HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer",
    lambda m: {},
)
registry(
    "reg-w32time-params",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters",
    lambda m: {"Type": m.time_type, "NtpServer": f"{NTP},0x9"},
)
registry(
    "reg-dnsclient-policy",
    r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient",
    lambda m: None if m.llmnr is None else {"EnableMulticast": m.llmnr},
)
registry(
    "reg-netbt-params",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters",
    lambda m: {"DhcpNodeType": 8},
)


@source(
    "reg-netbt-interfaces",
    "registry-tree",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\NetBT\Parameters\Interfaces",
)
def netbt_interfaces(m: WinMachine) -> Any:
    return {
        f"Tcpip_{{{stable_guid(m.hostname + a.name).upper()}}}": {"NetbiosOptions": m.netbios}
        for a in m.adapters
    }


registry(
    "reg-svc-usbstor",
    r"HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR",
    lambda m: {"Start": m.usbstor_start},
)
registry(
    "reg-removable-storage-policy",
    r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices",
    lambda m: None,
)


@source(
    "reg-removable-storage-classes",
    "registry-tree",
    r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices",
)
def removable_storage_classes(m: WinMachine) -> Any:
    return NOT_FOUND


@source("reg-enum-usbstor", "registry-tree", r"HKLM:\SYSTEM\CurrentControlSet\Enum\USBSTOR")
def enum_usbstor(m: WinMachine) -> Any:
    # Windows creates the key with the first USB disk: none ever plugged in, no key.
    return {name: {} for name in m.usb_devices} if m.usb_devices else NOT_FOUND


# -- patches ------------------------------------------------------------------------------
@source("wu-history", "powershell", "Microsoft.Update.Session QueryHistory")
def wu_history(m: WinMachine) -> Any:
    out = [
        {
            "Title": u.title,
            "Date": u.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ResultCode": u.result,
            "Operation": 1,
            "UpdateID": stable_guid(u.title),
        }
        for i, u in enumerate(m.updates)
    ]
    if m.defender_active:
        out.insert(
            0,
            {
                "Title": "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
                "(Version 1.441.120.0) - Current Channel (Broad)",
                "Date": m.defender_signatures.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ResultCode": 2,
                "Operation": 1,
                "UpdateID": "2a6c1f44-1c5e-4d3e-a0a4-6e4fb1e2b0a9",
            },
        )
    return out


@source("cim-qfe", "cim", "root/cimv2:Win32_QuickFixEngineering")
def cim_qfe(m: WinMachine) -> Any:
    return [
        {"HotFixID": kb, "Description": what, "InstalledOn": f"{when.month}/{when.day}/{when.year}"}
        for kb, what, when in m.qfe
    ]


registry(
    "reg-wu-rebootrequired",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    lambda m: None,
)
registry(
    "reg-cbs-rebootpending",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
    lambda m: None,
)
registry(
    "reg-wu-au-policy",
    r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU",
    lambda m: None if m.wu_policy is None else dict(m.wu_policy),
)

# -- software -------------------------------------------------------------------------------
SOFTWARE_64 = [
    (
        "Microsoft Office LTSC Standard 2024 - vi-vn",
        "16.0.17932.20328",
        "Microsoft Corporation",
        "20250314",
    ),
    ("Google Chrome", "142.0.7444.176", "Google LLC", "20261105"),
    ("7-Zip 24.09 (x64)", "24.09", "Igor Pavlov", "20250110"),
]
SOFTWARE_32 = [
    ("UniKey 4.6 RC2", "4.6.0.2", "Pham Kim Long", "20240902"),
    ("Foxit PDF Reader", "2025.2.1.33193", "Foxit Software Inc.", "20250822"),
    ("Microsoft Edge", "142.0.3595.94", "Microsoft Corporation", "20261118"),
    ("VNPT-CA Plugin", "1.0.7.3", "VNPT", "20240517"),
    ("vSign - Ky so Ban Co yeu Chinh phu", "2.1.4", "Ban Co yeu Chinh phu", "20250603"),
    ("Zalo", "25.10.2", "VNG Corporation", "20261021"),
]


def _keys(items: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        name: {
            "DisplayName": name,
            "DisplayVersion": version,
            "Publisher": publisher,
            "InstallDate": date,
        }
        for name, version, publisher, date in items
    }


@source(
    "reg-uninstall-64",
    "registry-tree",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
)
def uninstall_64(m: WinMachine) -> Any:
    items = list(SOFTWARE_64) + m.extra_software
    if not m.server:
        items.append((BKAV_AV, "5.1.0.2026", "Bkav Corporation", "20250301"))
    if m.edr_installed:
        items.append(("Bkav EDR Agent", "3.2.1", "Bkav Corporation", "20250301"))
    return _keys(items)


@source(
    "reg-uninstall-32",
    "registry-tree",
    r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
)
def uninstall_32(m: WinMachine) -> Any:
    return _keys(SOFTWARE_32[: 2 + m.software])


@source(
    "reg-uninstall-user",
    "registry-tree",
    r"HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
)
def uninstall_user(m: WinMachine) -> Any:
    return NOT_FOUND
