"""A demo Windows machine as its collector sources would show it.

`WinMachine` holds what the PowerShell collector (collect.ps1) would read on
one machine of the sample department: registry values, CIM instances,
services, processes, update history... in the units and codes Windows uses
(productState, GpoBoolean, RIDs, seconds, UBR). Planted defects change these
raw values (`apply`), never a HostReport fact: the real parsers
(`itaudit agent parse`) decide what they mean. `windows_sources` renders
each source file from this state.

Patch levels: the revisions below are the rows of
profiles/data/windows-releases.yaml (Microsoft's release history, as_of
2026-11-24) for the November 2026 monthly release, the demo's "current"
month. Update them here when the demo moves to a later month. The November
2026 KB numbers are the sample advisory's (inventory/advisories/2026-11-microsoft.yaml,
invented for the sample; the release table has none for that month).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itaudit.demo.generate import Defect, _Machine

UTC_OFFSET_MINUTES = 420  # Vietnam, UTC+7
NOVEMBER_2026 = datetime(
    2026, 11, 10, tzinfo=UTC
)  # the monthly release the clean fleet has installed


@dataclass(frozen=True)
class Release:
    """One Windows release of the demo fleet: what CurrentVersion and Win32_OperatingSystem say."""

    product_name: str  # registry ProductName (Windows 11 still writes "Windows 10 ...")
    caption: str  # Win32_OperatingSystem.Caption
    display_version: str | None
    build: int
    edition: str
    server: bool
    update_name: str  # how Windows Update titles name the OS


WIN11_PRO = Release(
    "Windows 10 Pro",
    "Microsoft Windows 11 Pro",
    "25H2",
    26200,
    "Professional",
    False,
    "Windows 11 Version 25H2",
)
WIN11_ENT = Release(
    "Windows 10 Enterprise",
    "Microsoft Windows 11 Enterprise",
    "24H2",
    26100,
    "Enterprise",
    False,
    "Windows 11 Version 24H2",
)
WIN10_PRO = Release(
    "Windows 10 Pro",
    "Microsoft Windows 10 Pro",
    "22H2",
    19045,
    "Professional",
    False,
    "Windows 10 Version 22H2",
)
WIN10_LTSC2019 = Release(
    "Windows 10 Enterprise LTSC 2019",
    "Microsoft Windows 10 Enterprise LTSC",
    None,
    17763,
    "EnterpriseS",
    False,
    "Windows 10 Version 1809",
)
WS2022 = Release(
    "Windows Server 2022 Standard",
    "Microsoft Windows Server 2022 Standard",
    "21H2",
    20348,
    "ServerStandard",
    True,
    "Microsoft server operating system version 21H2",
)
WS2019 = Release(
    "Windows Server 2019 Standard",
    "Microsoft Windows Server 2019 Standard",
    None,
    17763,
    "ServerStandard",
    True,
    "Windows Server 2019 (1809)",
)

# UBR after the November 2026 monthly release (windows-releases.yaml, released 2026-11-10).
CURRENT_UBR = {26200: 9974, 26100: 9974, 19045: 7846, 20348: 5870, 17763: 9487}
# The sample advisory's KB for that release, per build.
CURRENT_KB = {
    26200: "KB5072033",
    26100: "KB5072033",
    19045: "KB5072029",
    20348: "KB5072021",
    17763: "KB5072015",
}
# A machine left months behind: the July 2026 release (released 2026-07-14). Only builds
# whose next release (August 2026) has a known revision in the table: for the others the
# patch age could not be computed, and the rule would say so (could not be checked).
BEHIND = {26200: (8875, "KB5101650"), 26100: (8875, "KB5101650")}
# October 2026 (released 2026-10-13): only build 17763 has both October's and November's
# revision in the table, so only it can show "November's update failed, October's is in".
OCTOBER = {17763: 9376}

ADMIN_RENAMED = "quantri"  # the built-in Administrator, renamed as level 1 asks
IT_ADMIN = "cntt"  # the IT officer's local administrator account
STAFF = "nhanvien"  # the everyday user of the machine
NTP = "ntp.thanhhoa.gov.vn"
WORKGROUP = "SLDTBXH"

# Security products of the sample department (sample names, see demo-security-products.yaml).
BKAV_AV = "Bkav Endpoint"
BKAV_DIR = r"C:\Program Files\Bkav Endpoint"
BKAV_SERVICE, BKAV_PROCESS = "BkavEndpointSvc", "BkavEndpointSvc.exe"
BKAV_UI = "BkavEndpoint.exe"
BKAV_MANAGER = "BkavEndpointManager"  # the client of the central console
BKAV_EDR_SERVICE, BKAV_EDR_PROCESS = "BkavEDRAgent", "BkavEDRAgent.exe"
# SecurityCenter2 productState (LEVEL1.md decode): on and current, off, on but out of date.
STATE_ON, STATE_OFF, STATE_OUTDATED = 266240, 262144, 266256
DEFENDER_REGISTERED_OFF = 393472


@dataclass
class Adapter:
    """A network adapter and its IP configuration (Get-NetAdapter + Get-NetIPConfiguration)."""

    name: str
    description: str
    index: int
    mac: str | None
    up: bool
    wireless: bool = False
    addresses: list[tuple[str, int]] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dhcp: bool = True
    profile: str | None = None
    category: int | None = None  # NetworkCategory: 0 public, 1 private, 2 domain


@dataclass
class Update:
    """One Windows Update history entry (ResultCode 2 succeeded, 4 failed)."""

    title: str
    when: datetime
    result: int = 2


class WinMachine:
    """The raw state of one Windows machine, clean as level 1 asks, before defects."""

    def __init__(self, base: _Machine):
        rng = base.rng
        self.base = base
        self.hostname = base.hostname.upper()
        self.server, self.laptop = base.server, base.laptop
        self.release: Release = base.windows
        self.ubr: int = CURRENT_UBR[self.release.build]
        self.collected = base.collected
        self.language = "vi-VN" if rng.random() < 0.6 else "en-US"
        self.installed: datetime = base.now - timedelta(days=rng.randint(200, 900))
        self.boot = self.collected - timedelta(hours=rng.randint(2, 90))
        self.uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        self.memory = (32 if self.server else rng.choice([8, 8, 16])) * 2**30 - rng.randrange(
            200, 700
        ) * 2**20
        self.duration_ms = rng.randint(6000, 14000)
        self.sid = f"S-1-5-21-{rng.randrange(10**9, 4 * 10**9)}-{rng.randrange(10**9, 4 * 10**9)}-{rng.randrange(10**8, 10**9)}"
        self.workgroup = "MAYMAT" if base.secret else WORKGROUP

        # -- network ------------------------------------------------------------
        self.adapters: list[Adapter] = []
        self.history: list[dict[str, Any]] = []  # NetworkList profiles
        self.wifi: list[str] = []
        self.wlan_running = False
        ethernet = Adapter(
            "Ethernet", "Intel(R) Ethernet Connection (17) I219-LM", 12, base.mac, False
        )
        self.adapters.append(ethernet)
        lan_name = "SLDTBXH-LAN" if base.unit.id == "ho" else f"{base.unit.id.upper()}-LAN"
        self.lan_name = lan_name
        if not base.secret:
            ip, prefix, gateway = base.address
            ethernet.up = True
            ethernet.addresses = [(ip, prefix)]
            ethernet.gateways = [gateway]
            ethernet.dns = [gateway]
            ethernet.dhcp = not (self.server or (base.asset is not None and base.asset.ip))
            ethernet.profile, ethernet.category = lan_name, 1
            self.history.append(
                self.profile(lan_name, "Mạng nội bộ đơn vị", 6, 1, base.now - timedelta(days=300))
            )
        if self.laptop:
            self.adapters.append(
                Adapter(
                    "Wi-Fi", "Intel(R) Wi-Fi 6E AX211 160MHz", 18, base._random_mac(), False, True
                )
            )
            self.wifi.append(f"{lan_name}-WIFI")
            self.wlan_running = True

        # -- anti-malware and EDR -------------------------------------------------
        # Workstations: Bkav Endpoint registered in Security Center; Defender steps aside
        # (registered off, its service stopped, Get-MpComputerStatus fails with 0x800106ba).
        # Servers have no Security Center: Defender is the antivirus, onboarded to Defender
        # for Endpoint (the Sense service), which is how it reports to a console.
        self.av_state: int | None = None if self.server else STATE_ON
        self.defender_active = self.server
        self.defender_signatures = self.collected - timedelta(hours=rng.randint(2, 20))
        self.services: dict[str, tuple[str, str, str]] = {}  # name: (display, state, start)
        self.processes: list[str] = []
        for name, display in (
            ("AudioSrv", "Windows Audio"),
            ("Dhcp", "DHCP Client"),
            ("Dnscache", "DNS Client"),
            ("EventLog", "Windows Event Log"),
            ("LanmanWorkstation", "Workstation"),
            ("mpssvc", "Windows Defender Firewall"),
            ("W32Time", "Windows Time"),
            ("WinRM", "Windows Remote Management (WS-Management)"),
        ):
            self.services[name] = (display, "Running", "Auto")
        self.services["wuauserv"] = ("Windows Update", "Stopped", "Manual")
        self.services["UsoSvc"] = ("Update Orchestrator Service", "Running", "Auto")
        self.services["WaaSMedicSvc"] = ("Windows Update Medic Service", "Stopped", "Manual")
        self.services["TermService"] = (
            "Remote Desktop Services",
            "Running" if self.server else "Stopped",
            "Manual",
        )
        self.processes += ["System Idle Process", "System", "smss.exe", "csrss.exe"]
        self.processes += ["wininit.exe", "services.exe", "lsass.exe", "svchost.exe"]
        if not self.server:
            self.processes.append("explorer.exe")
        if self.server:
            self.services["WinDefend"] = ("Microsoft Defender Antivirus Service", "Running", "Auto")
            self.services["Sense"] = (
                "Windows Defender Advanced Threat Protection Service",
                "Running",
                "Auto",
            )
            self.processes += ["MsMpEng.exe", "MsSense.exe"]
        else:
            self.services["WinDefend"] = (
                "Microsoft Defender Antivirus Service",
                "Stopped",
                "Manual",
            )
            self.services[BKAV_SERVICE] = ("Bkav Endpoint Service", "Running", "Auto")
            self.services[BKAV_MANAGER] = ("Bkav Endpoint Manager", "Running", "Auto")
            self.processes += [BKAV_PROCESS, BKAV_UI]
        self.services[BKAV_EDR_SERVICE] = ("Bkav EDR Agent", "Running", "Auto")
        self.processes.append(BKAV_EDR_PROCESS)
        self.edr_installed = True

        # -- host settings ----------------------------------------------------------
        self.firewall = {p: [1, 4, 2] for p in ("Domain", "Private", "Public")}
        protected = self.laptop or self.server
        self.bitlocker = [
            ("C:", 1 if protected else 0, 6 if protected else 0, 100 if protected else 0)
        ]
        self.accounts: dict[int, list[Any]] = {  # RID: [name, disabled]
            500: [ADMIN_RENAMED, True],
            501: ["Guest", True],
            503: ["DefaultAccount", True],
            1001: [IT_ADMIN, False],
            1002: [STAFF, False],
        }
        if not self.server:
            self.accounts[504] = ["WDAGUtilityAccount", True]
        self.admins = [500, 1001]  # RIDs in the Administrators group
        self.modals = {
            "MinPasswordLength": 12,
            "MaxPasswordAgeSeconds": 60 * 86400,
            "MinPasswordAgeSeconds": 86400,
            "ForceLogoffSeconds": 0xFFFFFFFF,
            "PasswordHistoryLength": 5,
            "LockoutDurationSeconds": 900,
            "LockoutObservationWindowSeconds": 900,
            "LockoutThreshold": 5,
        }
        self.complexity = 1
        self.desktop: dict[str, Any] = {
            "ScreenSaveActive": "1",
            "ScreenSaveTimeOut": "600",
            "ScreenSaverIsSecure": "1",
            "SCRNSAVE.EXE": r"C:\Windows\system32\scrnsave.scr",
        }
        self.inactivity: int | None = 900 if self.server else 600
        self.deny_rdp: int = 0 if self.server else 1
        self.nla: int = 1
        self.smb1_server: int | None = None  # LanmanServer SMB1 value (None: not set)
        self.autorun: int = 255
        self.no_autorun: int | None = 1
        # UAC (EnableLUA, ConsentPromptBehaviorAdmin, PromptOnSecureDesktop): Windows' defaults.
        self.uac: dict[str, int] = {
            "EnableLUA": 1,
            "ConsentPromptBehaviorAdmin": 5,
            "PromptOnSecureDesktop": 1,
        }
        self.wu_policy: dict[str, int] | None = None  # no Windows Update policy: automatic updates
        self.llmnr: int | None = 0  # EnableMulticast policy
        self.netbios: int = 2  # NetbiosOptions of every adapter (2 = off)
        # USB storage: state-secret machines have the USBSTOR driver disabled; others keep it and
        # remember the USB disks plugged in (Enum\USBSTOR subkey names).
        self.usbstor_start: int = 4 if base.secret else 3
        self.usb_devices: list[str] = (
            []
            if base.secret
            else [
                "Disk&Ven_Kingston&Prod_DataTraveler_3.0&Rev_PMAP",
                "Disk&Ven_SanDisk&Prod_Ultra&Rev_1.00",
            ][: rng.randrange(3)]
        )
        # Last logon of each enabled local account (the staff member today or lately, the IT officer
        # within the month); the disabled built-in accounts never log on.
        self.last_logon: dict[int, datetime | None] = {
            1001: self.collected - timedelta(days=rng.randint(1, 30)),
            1002: self.collected - timedelta(hours=rng.randint(1, 70)),
        }
        self.password_not_required: set[int] = set()
        self.tamper_protected = True
        self.extra_software: list[tuple[str, str, str, str]] = []
        self.extra_services: dict[str, tuple[str, str, str]] = {}
        self.time_type: str = "NTP"
        self.updates: list[Update] = []
        self.qfe: list[tuple[str, str, datetime]] = []
        last = self.collected - timedelta(days=rng.randint(2, 8), hours=rng.randint(0, 20))
        self.cumulative(
            self.ubr,
            CURRENT_KB[self.release.build],
            NOVEMBER_2026,
            max(last, NOVEMBER_2026 + timedelta(days=1, hours=rng.randint(1, 20))),
        )
        self.software = rng.randrange(5)

    # -- helpers -------------------------------------------------------------------
    def profile(
        self, name: str, description: str | None, name_type: int, category: int, first: datetime
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": description or name,
            "name_type": name_type,
            "category": category,
            "first": first,
            "last": self.collected,
        }

    def cumulative(
        self, ubr: int, kb: str, month: datetime, when: datetime, ok: bool = True
    ) -> None:
        """The machine at revision `ubr`, with `kb` (that month's update) in its history."""
        self.ubr = ubr if ok else self.ubr
        title = f"{month:%Y-%m} Cumulative Update for {self.release.update_name} for x64-based Systems ({kb})"
        if self.language == "vi-VN":
            title = f"Bản cập nhật tích lũy {month:%Y-%m} cho {self.release.update_name} cho hệ thống dựa trên x64 ({kb})"
        self.updates.insert(0, Update(title, when, 2 if ok else 4))
        if ok:
            self.qfe.insert(0, (kb, "Security Update", when))

    # -- planted defects ----------------------------------------------------------------
    def apply(self, defect: Defect) -> None:
        """Change the raw sources the way the defect shows on a real machine."""
        kind = defect.kind
        handler = getattr(self, f"_defect_{kind}", None)
        if handler is None:
            raise ValueError(
                f"defects.yaml: defect kind {kind!r} cannot be planted on a Windows machine"
            )
        handler(defect)

    def _defect_av_disabled(self, d: Defect) -> None:
        self.av_state = STATE_OFF  # switched off in the product; its service still runs

    def _defect_av_stale(self, d: Defect) -> None:
        self.av_state = STATE_OUTDATED

    def _defect_edr_missing(self, d: Defect) -> None:
        self.services.pop(BKAV_EDR_SERVICE)
        self.processes.remove(BKAV_EDR_PROCESS)
        self.edr_installed = False

    def _defect_edr_stopped(self, d: Defect) -> None:
        display, _state, start = self.services[BKAV_EDR_SERVICE]
        self.services[BKAV_EDR_SERVICE] = (display, "Stopped", start)
        self.processes.remove(BKAV_EDR_PROCESS)

    def _behind(self, days: int) -> None:
        build = self.release.build
        if build not in BEHIND:
            raise ValueError(
                f"no behind-patch revision for build {build} in windows_machine.BEHIND"
            )
        ubr, kb = BEHIND[build]
        self.updates, self.qfe = [], []
        self.cumulative(
            ubr, kb, datetime(2026, 7, 14, tzinfo=UTC), self.base.now - timedelta(days=days)
        )

    def _defect_patch_old(self, d: Defect) -> None:
        self._behind(d.days or 75)

    def _defect_critical_kb_missing(self, d: Defect) -> None:
        # An LTSC 2019 machine at October's revision whose November update failed (0x800f0922);
        # a .NET update went in the same day. October's KB is not in the release table: its
        # history entry is left out rather than invented.
        self.release = WIN10_LTSC2019
        self.ubr = OCTOBER[17763]
        self.updates, self.qfe = [], []
        failed = self.collected - timedelta(days=9)
        self.cumulative(0, CURRENT_KB[17763], NOVEMBER_2026, failed, ok=False)
        net = "KB5066131"
        self.updates.insert(
            0,
            Update(
                "2026-11 Cumulative Update for .NET Framework 3.5, 4.7.2 and 4.8 for Windows 10 "
                f"Version 1809 for x64 ({net})",
                failed + timedelta(minutes=20),
            ),
        )
        self.qfe.insert(0, (net, "Update", failed))

    def _defect_win10(self, d: Defect) -> None:
        # Windows 10 22H2 keeps getting monthly updates under ESU; it is still past end of support.
        self.release = WIN10_PRO
        self.updates, self.qfe = [], []
        when = max(self.collected - timedelta(days=5), NOVEMBER_2026 + timedelta(days=1))
        self.cumulative(CURRENT_UBR[19045], CURRENT_KB[19045], NOVEMBER_2026, when)

    def _defect_firewall_off(self, d: Defect) -> None:
        self.firewall["Private"][0] = 0
        self.firewall["Public"][0] = 0

    def _defect_weak_password(self, d: Defect) -> None:
        self.modals.update(
            MinPasswordLength=0,
            MaxPasswordAgeSeconds=0xFFFFFFFF,
            MinPasswordAgeSeconds=0,
            PasswordHistoryLength=0,
            LockoutThreshold=0,
        )
        self.complexity = 0

    def _defect_secret_networked(self, d: Defect) -> None:
        unit = self.base.unit
        ip = str(unit.subnets[0].network_address + 250)
        gw = str(unit.gateway)
        eth = self.adapters[0]
        eth.up, eth.addresses, eth.gateways, eth.dns, eth.dhcp = (
            True,
            [(ip, unit.subnets[0].prefixlen)],
            [gw],
            [gw],
            True,
        )
        eth.profile, eth.category = "SLDTBXH-LAN", 0
        self.history = [self.profile("SLDTBXH-LAN", None, 6, 0, self.base.now - timedelta(days=12))]
        self.adapters.append(
            Adapter(
                "Wi-Fi", "TP-Link Wireless USB Adapter", 21, self.base._random_mac(), False, True
            )
        )
        self.wifi = ["SLDTBXH-WIFI"]
        self.wlan_running = True

    def _defect_rdp_no_nla(self, d: Defect) -> None:
        self.deny_rdp, self.nla = 0, 0
        display, _state, start = self.services["TermService"]
        self.services["TermService"] = (display, "Running", start)

    def _defect_smb1_on(self, d: Defect) -> None:
        self.smb1_server = 1

    def _defect_autorun_on(self, d: Defect) -> None:
        self.autorun = 0x91  # the value Windows writes by default
        self.no_autorun = None  # and no NoAutorun policy

    def _defect_guest_enabled(self, d: Defect) -> None:
        self.accounts[501][1] = False

    def _defect_builtin_admin_enabled(self, d: Defect) -> None:
        self.accounts[500] = ["Administrator", False]

    def _defect_extra_admin(self, d: Defect) -> None:
        self.accounts[1013] = ["nguyenvanhung", False]
        self.admins.append(1013)

    def _defect_screen_lock_long(self, d: Defect) -> None:
        self.inactivity = None
        self.desktop["ScreenSaveTimeOut"] = "3600"

    def _defect_laptop_unencrypted(self, d: Defect) -> None:
        self.bitlocker = [("C:", 0, 0, 0)]

    def _defect_time_sync_off(self, d: Defect) -> None:
        display, _state, _start = self.services["W32Time"]
        self.services["W32Time"] = (display, "Stopped", "Disabled")

    def _defect_second_gateway(self, d: Defect) -> None:
        # A 4G USB modem in router mode shows as an RNDIS Ethernet adapter with its own route.
        self.adapters.append(
            Adapter(
                "Ethernet 2",
                "Remote NDIS based Internet Sharing Device",
                23,
                "0c:5b:8f:27:9a:64",
                True,
                addresses=[("192.168.8.100", 24)],
                gateways=["192.168.8.1"],
                dns=["192.168.8.1"],
                profile="Network 2",
                category=0,
            )
        )
        self.history.append(
            self.profile("Network 2", None, 6, 0, self.base.now - timedelta(days=20))
        )

    def _defect_stale_report(self, d: Defect) -> None:
        # The last report is old, and the machine was already a month behind when it was sent.
        shift = timedelta(days=d.days or 45)
        self.collected -= shift
        self.boot -= shift
        self.defender_signatures -= shift
        for p in self.history:
            p["last"] = self.collected
        self._behind(int(shift.days) + 10)

    def _defect_kms_activator(self, d: Defect) -> None:
        self.extra_software.append(("KMSpico", "10.2.0", "Team Daz", "20250915"))
        self.extra_services["KMSELDI"] = ("Service KMSELDI", "Running", "Auto")

    def _defect_ultraviewer(self, d: Defect) -> None:
        self.extra_software.append(
            ("UltraViewer version 6.6.112", "6.6.112", "DucFabulous", "20260402")
        )

    def _defect_uac_off(self, d: Defect) -> None:
        self.uac["EnableLUA"] = 0

    def _defect_usb_enabled(self, d: Defect) -> None:
        self.usbstor_start = 3
        self.usb_devices = ["Disk&Ven_Kingston&Prod_DataTraveler_3.0&Rev_PMAP"]

    def _defect_wu_disabled(self, d: Defect) -> None:
        display, _state, _start = self.services["wuauserv"]
        self.services["wuauserv"] = (display, "Stopped", "Disabled")
        self.wu_policy = {"NoAutoUpdate": 1}

    def _defect_unsigned(self, d: Defect) -> None:
        pass  # decided when the bundle is signed

    def _defect_never_reports(self, d: Defect) -> None:
        pass  # handled by the generator: no bundle at all

    def _defect_unregistered(self, d: Defect) -> None:
        pass
