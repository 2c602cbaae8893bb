"""The source files of a demo Windows bundle, one small function per source.

Each function returns what collect.ps1 would record for its source: a JSON
value (written as ConvertTo-Json -Compress writes it), a text (`Text`), or a
failure (`Failed`: status, message, error code as the collector records
them). Names, kinds, targets and property selections are collect.ps1's; the
value shapes are those of the fixture bundles (tests/agent/fixtures/win*/bundle).

Adding a source the collector gained is one decorated function:

    @source("secedit-securitypolicy", "command", "secedit /export /areas SECURITYPOLICY")
    def secedit(m: WinMachine) -> Text:
        return Text(...)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itaudit.demo.windows_machine import (
    UTC_OFFSET_MINUTES,
    WinMachine,
)


@dataclass(frozen=True)
class Text:
    """A text source (command output)."""

    value: str


@dataclass(frozen=True)
class Failed:
    """A source the collector could not read: status absent | denied | failed."""

    status: str
    message: str
    code: str | None = None


NOT_FOUND = Failed("absent", "Cannot find path because it does not exist.", "0x80131501")
Render = Callable[[WinMachine], Any]
SOURCES: list[tuple[str, str, str, Render]] = []


def source(name: str, kind: str, target: str) -> Callable[[Render], Render]:
    """Register the function that renders source `name` (in collect.ps1's order)."""

    def register(fn: Render) -> Render:
        SOURCES.append((name, kind, target, fn))
        return fn

    return register


def registry(name: str, key: str, values: Callable[[WinMachine], dict[str, Any] | None]) -> None:
    """A registry key: its values, or absent when `values` gives None."""

    def render(m: WinMachine) -> Any:
        found = values(m)
        return NOT_FOUND if found is None else found

    SOURCES.append((name, "registry", key, render))


def ps_date(moment: datetime) -> str:
    """A DateTime as Windows PowerShell 5.1's ConvertTo-Json writes it (ms since 1970)."""
    return f"/Date({int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)})/"


def systemtime(moment: datetime) -> list[int]:
    """A local-time SYSTEMTIME as REG_BINARY bytes (NetworkList profile dates)."""
    local = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(minutes=UTC_OFFSET_MINUTES)
    words = [local.year, local.month, (local.weekday() + 1) % 7, local.day]
    words += [local.hour, local.minute, local.second, 0]
    return [b for w in words for b in (w & 0xFF, w >> 8)]


def account_sid(m: WinMachine, rid: int) -> str:
    return f"{m.sid}-{rid}"


def stable_guid(seed: str) -> str:
    """A stable GUID for an identifier Windows generates (profile keys, update ids)."""
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16], version=4))


def _dashed(mac: str) -> str:
    return mac.upper().replace(":", "-")


# -- os ---------------------------------------------------------------------------------
registry(
    "reg-currentversion",
    r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion",
    lambda m: {
        "ProductName": m.release.product_name,
        "EditionID": m.release.edition,
        "CurrentBuild": str(m.release.build),
        "CurrentBuildNumber": str(m.release.build),
        "UBR": m.ubr,
        **({"DisplayVersion": m.release.display_version} if m.release.display_version else {}),
        "ReleaseId": "2009" if m.release.display_version else "1809",
        "InstallationType": "Server" if m.release.server else "Client",
        "InstallDate": int(m.installed.timestamp()),
        "CurrentMajorVersionNumber": 10,
        "CurrentMinorVersionNumber": 0,
    },
)


@source("cim-os", "cim", "root/cimv2:Win32_OperatingSystem")
def cim_os(m: WinMachine) -> Any:
    return [
        {
            "Caption": m.release.caption,
            "Version": f"10.0.{m.release.build}",
            "BuildNumber": str(m.release.build),
            "OSArchitecture": "64-bit",
            "MUILanguages": [m.language],
            "OSLanguage": 1066 if m.language == "vi-VN" else 1033,
            "ProductType": 3 if m.release.server else 1,
            "InstallDate": ps_date(m.installed),
            "LastBootUpTime": ps_date(m.boot),
            "CSName": m.hostname,
        }
    ]


# -- hardware ---------------------------------------------------------------------------
@source("cim-computersystem", "cim", "root/cimv2:Win32_ComputerSystem")
def cim_computersystem(m: WinMachine) -> Any:
    return [
        {
            "Name": m.hostname,
            "DNSHostName": m.hostname,
            "Domain": m.workgroup,
            "PartOfDomain": False,
            "Workgroup": m.workgroup,
            "Manufacturer": m.base.manufacturer,
            "Model": m.base.model,
            "TotalPhysicalMemory": m.memory,
            "PCSystemType": 4 if m.server else 2 if m.laptop else 1,
            "HypervisorPresent": False,
            "DomainRole": 2 if m.server else 0,
        }
    ]


@source("cim-bios", "cim", "root/cimv2:Win32_BIOS")
def cim_bios(m: WinMachine) -> Any:
    return [
        {
            "SerialNumber": m.base.serial,
            "Manufacturer": m.base.manufacturer,
            "SMBIOSBIOSVersion": "1.21.0",
        }
    ]


@source("cim-computersystemproduct", "cim", "root/cimv2:Win32_ComputerSystemProduct")
def cim_product(m: WinMachine) -> Any:
    return [
        {
            "UUID": m.uuid,
            "IdentifyingNumber": m.base.serial,
            "Vendor": m.base.manufacturer,
            "Name": m.base.model,
        }
    ]


@source("cim-systemenclosure", "cim", "root/cimv2:Win32_SystemEnclosure")
def cim_enclosure(m: WinMachine) -> Any:
    tag = m.base.asset.tag if m.base.asset else "No Asset Information"
    return [
        {
            "ChassisTypes": [23 if m.server else 10 if m.laptop else 3],
            "SerialNumber": m.base.serial,
            "SMBIOSAssetTag": tag,
        }
    ]


@source("cim-processor", "cim", "root/cimv2:Win32_Processor")
def cim_processor(m: WinMachine) -> Any:
    if m.server:
        return [
            {
                "Name": "Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz",
                "NumberOfCores": 12,
                "NumberOfLogicalProcessors": 24,
            }
        ]
    return [
        {
            "Name": "12th Gen Intel(R) Core(TM) i5-12500",
            "NumberOfCores": 6,
            "NumberOfLogicalProcessors": 12,
        }
    ]


@source("cim-physicaldisk", "cim", "root/Microsoft/Windows/Storage:MSFT_PhysicalDisk")
def cim_disks(m: WinMachine) -> Any:
    return [
        {
            "FriendlyName": "SAMSUNG MZVL2512HCJQ-00B00",
            "Size": 512110190592,
            "MediaType": 4,
            "BusType": 17,
            "DeviceId": "0",
        }
    ]


# -- network ----------------------------------------------------------------------------
@source("net-adapters", "powershell", "Get-NetAdapter")
def net_adapters(m: WinMachine) -> Any:
    out = []
    for a in m.adapters:
        mac = _dashed(a.mac) if a.mac else ""
        out.append(
            {
                "Name": a.name,
                "InterfaceDescription": a.description,
                "ifIndex": a.index,
                "MacAddress": mac,
                "PermanentAddress": mac.replace("-", ""),
                "MediaConnectState": 1 if a.up else 2,
                "InterfaceOperationalStatus": 1 if a.up else 2,
                "NdisPhysicalMedium": 9 if a.wireless else 14,
                "InterfaceType": 71 if a.wireless else 6,
                "Virtual": False,
                "HardwareInterface": True,
                "ConnectorPresent": True,
                "ReceiveLinkSpeed": 1000000000 if a.up else 0,
            }
        )
    return out


@source("net-ipconfiguration", "powershell", "Get-NetIPConfiguration -All -Detailed")
def net_ipconfiguration(m: WinMachine) -> Any:
    out = []
    for a in m.adapters:
        origin = 3 if a.dhcp else 1  # PrefixOrigin: 1 manual, 3 DHCP
        link_local = f"fe80::{a.index:x}:{(a.mac or '00').replace(':', '')[-4:]}:1"
        out.append(
            {
                "InterfaceAlias": a.name,
                "InterfaceIndex": a.index,
                "InterfaceDescription": a.description,
                "NetProfileName": a.profile if a.up else None,
                "NetworkCategory": a.category if a.up else None,
                "IPv4Address": [
                    {"IPAddress": ip, "PrefixLength": p, "PrefixOrigin": origin}
                    for ip, p in a.addresses
                ],
                "IPv6Address": [{"IPAddress": link_local, "PrefixLength": 64, "PrefixOrigin": 2}]
                if a.up
                else [],
                "IPv4DefaultGateway": list(a.gateways),
                "IPv6DefaultGateway": [],
                "DNSServer": list(a.dns),
                "Dhcp": 1 if a.dhcp else 0,
            }
        )
    out.append(
        {
            "InterfaceAlias": "Loopback Pseudo-Interface 1",
            "InterfaceIndex": 1,
            "InterfaceDescription": "Software Loopback Interface 1",
            "NetProfileName": None,
            "NetworkCategory": None,
            "IPv4Address": [{"IPAddress": "127.0.0.1", "PrefixLength": 8, "PrefixOrigin": 1}],
            "IPv6Address": [{"IPAddress": "::1", "PrefixLength": 128, "PrefixOrigin": 2}],
            "IPv4DefaultGateway": [],
            "IPv6DefaultGateway": [],
            "DNSServer": [],
            "Dhcp": 0,
        }
    )
    return out


@source(
    "reg-networklist-profiles",
    "registry-tree",
    r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\NetworkList\Profiles",
)
def networklist(m: WinMachine) -> Any:
    out = {}
    for i, p in enumerate(m.history):
        guid = "{" + stable_guid(f"{m.hostname}:{i}:{p['name']}").upper() + "}"
        out[guid] = {
            "ProfileName": p["name"],
            "Description": p["description"],
            "Managed": 0,
            "Category": p["category"],
            "DateCreated": systemtime(p["first"]),
            "DateLastConnected": systemtime(p["last"]),
            "NameType": p["name_type"],
        }
    return out


@source("netsh-wlan-profiles", "command", "netsh wlan show profiles")
def netsh_wlan(m: WinMachine) -> Any:
    if not m.wlan_running:
        return Failed("failed", "The Wireless AutoConfig Service (wlansvc) is not running.")
    wifi = next(a.name for a in m.adapters if a.wireless)
    lines = ["", f"Profiles on interface {wifi}:", "", "Group policy profiles (read only)"]
    lines += [
        "---------------------------------",
        "    <None>",
        "",
        "User profiles",
        "-------------",
    ]
    lines += [f"    All User Profile     : {ssid}" for ssid in m.wifi] or ["    <None>"]
    return Text("\r\n".join(lines) + "\r\n\r\n")
