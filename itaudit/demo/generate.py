"""Realistic HostReports for the sample department, with planted defects.

One report per computer of the asset register, built from a per-asset seeded
random generator so that the same register always gives the same machines.
Times are relative to `now`, so a demo run today looks like a fleet collected
today. Clean machines satisfy every level-1 rule; the defects listed in
`defects.yaml` are applied on top.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from itaudit import __version__
from itaudit.org.model import Asset, Organisation, Unit
from itaudit.signing import sign_report

SEED = 2026
BKAV_AV = "Bkav Endpoint"
BKAV_EDR = "Bkav EDR Agent"
DEFENDER = "Microsoft Defender Antivirus"
WORKGROUP = "SLDTBXH"
ADMIN_RENAMED = "quantri"  # the built-in Administrator, renamed as level 1 asks
IT_ADMIN = "cntt"  # the IT officer's local administrator account
NTP = "ntp.thanhhoa.gov.vn"

# (name, display version, build, revision, edition)
WIN11 = ("Windows 11 Pro", "25H2", 26200, 7171, "Professional")
WIN11_ENT = ("Windows 11 Enterprise", "24H2", 26100, 7171, "Enterprise")
WIN10 = ("Windows 10 Pro", "22H2", 19045, 6575, "Professional")
WS2022 = ("Windows Server 2022 Standard", "21H2", 20348, 4405, "ServerStandard")
WS2019 = ("Windows Server 2019 Standard", "1809", 17763, 8025, "ServerStandard")
KB_FOR_BUILD = {
    26200: "KB5072033",
    26100: "KB5072033",
    19045: "KB5072029",
    20348: "KB5072021",
    17763: "KB5072015",
}

VENDORS = [
    ("Dell Inc.", "OptiPlex 7010", "Latitude 5440", "00:14:22"),
    ("HP", "ProDesk 400 G9", "ProBook 450 G10", "3c:d9:2b"),
    ("LENOVO", "ThinkCentre M70s Gen 3", "ThinkPad E14 Gen 5", "54:ee:75"),
    ("ASUSTeK COMPUTER INC.", "ExpertCenter D5", "ExpertBook B1", "04:d9:f5"),
]
SOFTWARE_COMMON = [
    ("Microsoft Office Standard 2021", "16.0.14332.20771", "Microsoft Corporation"),
    ("Google Chrome", "142.0.7444.176", "Google LLC"),
    ("Mozilla Firefox (x64 vi)", "145.0", "Mozilla"),
    ("UniKey", "4.6 RC2", "Pham Kim Long"),
    ("Foxit PDF Reader", "2025.2.1", "Foxit Software Inc."),
    ("7-Zip 24.09 (x64)", "24.09", "Igor Pavlov"),
    ("Zalo", "25.10.2", "VNG Corporation"),
    ("VNPT-CA Plugin", "1.0.7.3", "VNPT"),
    ("vSign - Ky so Ban Co yeu Chinh phu", "2.1.4", "Ban Co yeu Chinh phu"),
    ("Microsoft Edge", "142.0.3595.94", "Microsoft Corporation"),
    (
        "Microsoft Visual C++ 2015-2022 Redistributable (x64)",
        "14.44.35211.0",
        "Microsoft Corporation",
    ),
]


@dataclass(frozen=True)
class Defect:
    id: str
    kind: str
    description: str
    asset: str | None = None
    hostname: str | None = None
    unit: str | None = None
    days: int | None = None
    expect: str = "fail"
    rules: tuple[str, ...] = ()


def load_defects(path: Path | None = None) -> list[Defect]:
    """The planted defects (the package's `defects.yaml` unless a path is given)."""
    if path is None:
        text = resources.files(__package__).joinpath("defects.yaml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    out = []
    for item in yaml.safe_load(text)["defects"]:
        item = dict(item)
        item["rules"] = tuple(item.get("rules") or ())
        out.append(Defect(**item))
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def demo_key(name: str) -> Ed25519PrivateKey:
    """A deterministic per-machine agent key, so repeated demos keep their pinned keys."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"itaudit-demo:{name}".encode()).digest()
    )


class _Machine:
    """Builds one report; each method fills one fact group."""

    def __init__(
        self, asset: Asset | None, unit: Unit, hostname: str, now: datetime, rng: random.Random
    ):
        self.asset = asset
        self.unit = unit
        self.hostname = hostname
        self.now = now
        self.rng = rng
        self.kind = asset.type if asset else "workstation"
        self.platform = (asset.platform if asset and asset.platform else "windows").lower()
        self.server = self.kind == "server"
        self.laptop = self.kind == "laptop"
        self.secret = bool(asset and asset.secret)
        self.offsite = bool(asset and asset.hosted_offsite)
        vendor = VENDORS[rng.randrange(len(VENDORS))]
        self.manufacturer, desk_model, laptop_model, self.oui = vendor
        self.model = laptop_model if self.laptop else desk_model
        if self.server:
            self.manufacturer, self.model, self.oui = "Dell Inc.", "PowerEdge R650", "00:14:22"
        self.mac = (asset.mac if asset and asset.mac else None) or self._random_mac()
        self.serial = asset.serial if asset and asset.serial else self._random_serial()
        self.windows = WS2022 if self.server else (WIN11_ENT if rng.random() < 0.2 else WIN11)
        if self.server and rng.random() < 0.4:
            self.windows = WS2019
        self.collected = now - timedelta(hours=rng.randint(1, 60), minutes=rng.randint(0, 59))
        self.address = self._address()

    def _random_mac(self) -> str:
        tail = ":".join(f"{self.rng.randrange(256):02x}" for _ in range(3))
        return f"{self.oui}:{tail}"

    def _random_serial(self) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))

    def _address(self) -> tuple[str, int, str]:
        """(address, prefix length, gateway) on the unit's LAN (or the hosting centre)."""
        if self.asset and self.asset.ip:
            ip = self.asset.ip
            if self.offsite:
                return ip, 24, ip.rsplit(".", 1)[0] + ".1"
        else:
            net = self.unit.subnets[0]
            host = self.rng.randrange(20, min(net.num_addresses - 2, 500))
            ip = str(net.network_address + host)
        net = next((n for n in self.unit.subnets if self.unit.contains(ip)), self.unit.subnets[0])
        return ip, net.prefixlen, str(self.unit.gateway or net.network_address + 1)

    # -- fact groups -------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "fqdn": None,
            "hardware_uuid": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "serial": self.serial,
            "macs": [self.mac],
            "asset_tag": self.asset.tag if self.asset else None,
        }

    def os(self) -> dict[str, Any]:
        if self.platform == "linux":
            return {
                "name": "Ubuntu 24.04.3 LTS",
                "family": "linux",
                "version": "24.04",
                "distribution": "ubuntu",
                "kernel": "6.8.0-87-generic",
                "architecture": "x86_64",
                "language": "en_US.UTF-8",
                "server": self.server,
                "installed_at": _iso(self.now - timedelta(days=400)),
                "last_boot_at": _iso(self.collected - timedelta(days=6)),
            }
        name, display, build, rev, edition = self.windows
        return {
            "name": name,
            "family": "windows",
            "edition": edition,
            "version": f"10.0.{build}",
            "display_version": display,
            "build": build,
            "patch_revision": rev,
            "kernel": f"10.0.{build}.{rev}",
            "architecture": "AMD64",
            "language": "vi-VN" if self.rng.random() < 0.6 else "en-US",
            "server": self.server,
            "installed_at": _iso(self.now - timedelta(days=self.rng.randint(200, 900))),
            "last_boot_at": _iso(self.collected - timedelta(hours=self.rng.randint(2, 90))),
        }

    def hardware(self) -> dict[str, Any]:
        form = "server" if self.server else "laptop" if self.laptop else "desktop"
        chassis = {"server": [23], "laptop": [10], "desktop": [3]}[form]
        mem = 32 if self.server else self.rng.choice([8, 8, 16])
        return {
            "form_factor": form,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "chassis_types": chassis,
            "cpu": {"model": "Intel(R) Core(TM) i5-12500", "cores": 6, "threads": 12},
            "memory_bytes": mem * 2**30,
            "disks": [
                {"name": "disk0", "size_bytes": 512 * 10**9, "media": "ssd", "removable": False}
            ],
        }

    def network(self) -> dict[str, Any]:
        if self.secret:
            # Kept off every network: the adapter exists but has never been connected.
            return {
                "interfaces": [
                    {
                        "name": "Ethernet",
                        "description": "Intel(R) Ethernet Connection",
                        "mac": self.mac,
                        "kind": "ethernet",
                        "up": False,
                        "addresses": [],
                        "gateways": [],
                        "dns_servers": [],
                        "dhcp": None,
                    },
                ],
                "default_gateways": [],
                "dns_servers": [],
                "domain": None,
                "workgroup": "MAYMAT",
                "domain_joined": False,
                "profile_history": [],
                "wifi_profiles": [],
            }
        ip, prefix, gateway = self.address
        lan_name = "SLDTBXH-LAN" if self.unit.id == "ho" else f"{self.unit.id.upper()}-LAN"
        ifaces = [
            {
                "name": "Ethernet" if self.platform == "windows" else "eno1",
                "description": "Intel(R) Ethernet Connection I219-LM",
                "mac": self.mac,
                "kind": "ethernet",
                "up": True,
                "addresses": [{"address": ip, "prefix_length": prefix}],
                "gateways": [gateway],
                "dns_servers": [gateway],
                "dhcp": not (self.server or (self.asset and self.asset.ip)),
            },
        ]
        wifi: list[dict[str, Any]] = []
        history = [
            {
                "name": lan_name,
                "description": "Mạng nội bộ đơn vị",
                "kind": "wired",
                "category": "private",
                "first_connected": _iso(self.now - timedelta(days=300)),
                "last_connected": _iso(self.collected),
            }
        ]
        if self.laptop:
            ifaces.append(
                {
                    "name": "Wi-Fi",
                    "description": "Intel(R) Wi-Fi 6E AX211",
                    "mac": self._random_mac(),
                    "kind": "wireless",
                    "up": False,
                    "addresses": [],
                    "gateways": [],
                    "dns_servers": [],
                    "dhcp": True,
                }
            )
            wifi.append({"ssid": f"{lan_name}-WIFI", "authentication": "WPA2PSK"})
        if self.platform != "windows":
            history = []
        return {
            "interfaces": ifaces,
            "default_gateways": [gateway],
            "dns_servers": [gateway],
            "domain": None,
            "workgroup": WORKGROUP if self.platform == "windows" else None,
            "domain_joined": False,
            "profile_history": history,
            "wifi_profiles": wifi,
        }

    def security(self) -> dict[str, Any]:
        sig_date = _iso(self.collected - timedelta(hours=self.rng.randint(2, 20)))
        if self.platform == "linux":
            return {
                "antivirus": [
                    {
                        "name": "ClamAV",
                        "vendor": "Cisco",
                        "source": "clamav",
                        "enabled": True,
                        "up_to_date": True,
                        "signature_date": sig_date,
                        "signature_version": "27830",
                        "running": True,
                        "managed": None,
                    }
                ],
                "edr": [
                    {
                        "name": "Wazuh agent",
                        "vendor": "Wazuh",
                        "source": "catalog",
                        "running": True,
                        "connected": True,
                        "version": "4.12.0",
                        "console": "wazuh.sldtbxh.local",
                    }
                ],
                "firewall": {
                    "product": "ufw",
                    "profiles": [
                        {
                            "name": "ufw",
                            "enabled": True,
                            "default_inbound": "block",
                            "default_outbound": "allow",
                        }
                    ],
                },
                # LUKS on laptops, as the Linux agent reads it from lsblk.
                "disk_encryption": {
                    "volumes": [
                        {"mount": "/", "protection": "on", "method": "luks2", "percent": None}
                    ]
                }
                if self.laptop
                else None,
                "screen_lock": {
                    "graphical": False,
                    "enabled": None,
                    "timeout_seconds": None,
                    "requires_password": None,
                }
                if self.server
                else {"enabled": True, "timeout_seconds": 600, "requires_password": True},
                "password_policy": {
                    "min_length": 12,
                    "max_age_days": 60,
                    "min_age_days": 1,
                    "history": 5,
                    "complexity": True,
                    "lockout_threshold": 5,
                    "lockout_duration_minutes": 15,
                },
                "accounts": {"builtin_admin": None, "guest": None, "uid0": ["root"]},
                "local_admins": [
                    {"name": IT_ADMIN, "sid": None, "kind": "user", "source": "local"}
                ],
                "remote_desktop": None,
                "smb1": None,
                "autorun": None,
                "time_sync": {
                    "enabled": True,
                    "service": "systemd-timesyncd",
                    "source": NTP,
                    "synchronized": True,
                },
                "ssh": {
                    "running": True,
                    "permit_root_login": "no",
                    "password_authentication": False,
                }
                if self.server
                else {"running": False, "permit_root_login": None, "password_authentication": None},
            }
        antivirus: list[dict[str, Any]]
        if self.server:
            # No SecurityCenter2 on Windows Server: Defender is the product, read by Get-MpComputerStatus.
            antivirus = [
                {
                    "name": DEFENDER,
                    "vendor": "Microsoft",
                    "source": "defender",
                    "enabled": True,
                    "up_to_date": True,
                    "signature_date": sig_date,
                    "signature_version": "1.441.120.0",
                    "running": True,
                    "mode": "active",
                    "managed": True,
                    "console": "Microsoft Defender",
                }
            ]
        else:
            antivirus = [
                {
                    "name": BKAV_AV,
                    "vendor": "Bkav",
                    "source": "securitycenter",
                    "enabled": True,
                    "up_to_date": True,
                    "signature_date": sig_date,
                    "signature_version": "2026.11.3",
                    "product_state": 266240,
                    "running": True,
                    "mode": "active",
                    "managed": True,
                    "console": "bkav-console.sldtbxh.local",
                },
                # Defender steps aside for a third-party antivirus: expected, not a failure.
                {
                    "name": DEFENDER,
                    "vendor": "Microsoft",
                    "source": "defender",
                    "enabled": False,
                    "up_to_date": True,
                    "signature_date": sig_date,
                    "signature_version": "1.441.120.0",
                    "running": True,
                    "mode": "passive",
                    "managed": None,
                },
            ]
        volumes = [
            {
                "mount": "C:",
                "protection": "on" if self.laptop or self.server else "off",
                "method": "XtsAes128" if self.laptop or self.server else None,
                "percent": 100,
            }
        ]
        return {
            "antivirus": antivirus,
            "edr": [
                {
                    "name": BKAV_EDR,
                    "vendor": "Bkav",
                    "source": "catalog",
                    "running": True,
                    "connected": True,
                    "version": "3.2.1",
                    "console": "bkav-edr.sldtbxh.local",
                }
            ],
            "firewall": {
                "product": "windows",
                "profiles": [
                    {
                        "name": p,
                        "enabled": True,
                        "default_inbound": "block",
                        "default_outbound": "allow",
                    }
                    for p in ("domain", "private", "public")
                ],
            },
            "disk_encryption": {"volumes": volumes},
            "screen_lock": {
                "enabled": True,
                "timeout_seconds": 900 if self.server else 600,
                "requires_password": True,
            },
            "password_policy": {
                "min_length": 12,
                "max_age_days": 60,
                "min_age_days": 1,
                "history": 5,
                "complexity": True,
                "lockout_threshold": 5,
                "lockout_duration_minutes": 15,
            },
            "accounts": {
                "builtin_admin": {"name": ADMIN_RENAMED, "enabled": False, "renamed": True},
                "guest": {"name": "Guest", "enabled": False},
                "uid0": [],
            },
            "local_admins": [
                {
                    "name": ADMIN_RENAMED,
                    "sid": f"S-1-5-21-{self.rng.randrange(10**9)}-500",
                    "kind": "user",
                    "source": "local",
                },
                {
                    "name": IT_ADMIN,
                    "sid": f"S-1-5-21-{self.rng.randrange(10**9)}-1001",
                    "kind": "user",
                    "source": "local",
                },
            ],
            "remote_desktop": {"enabled": self.server, "nla_required": True, "port": 3389},
            "smb1": {"server_enabled": False, "client_enabled": False},
            "autorun": {"disabled": True, "no_drive_type_autorun": 255},
            "time_sync": {
                "enabled": True,
                "service": "w32time",
                "source": NTP,
                "synchronized": True,
            },
            "ssh": None,
        }

    def patches(self) -> dict[str, Any]:
        last = self.collected - timedelta(
            days=self.rng.randint(2, 14), hours=self.rng.randint(0, 20)
        )
        if self.platform == "linux":
            return {
                "last_install_at": _iso(last),
                "installed": [],
                "pending": [],
                "pending_security_count": 0,
                "pending_reboot": False,
            }
        build = self.windows[2]
        installed = [
            {
                "id": KB_FOR_BUILD[build],
                "title": f"Bản cập nhật tích lũy {self.windows[0]} (11/2026)",
                "installed_at": _iso(last),
            },
            {
                "id": "KB5066131",
                "title": ".NET Framework 3.5 and 4.8.1 cumulative update",
                "installed_at": _iso(last - timedelta(days=30)),
            },
            {
                "id": "KB890830",
                "title": "Windows Malicious Software Removal Tool x64",
                "installed_at": _iso(last),
            },
        ]
        return {
            "last_install_at": _iso(last),
            "installed": installed,
            "pending": [],
            "pending_security_count": 0,
            "pending_reboot": False,
        }

    def software(self) -> list[dict[str, Any]]:
        if self.platform == "linux":
            return [
                {
                    "name": n,
                    "version": v,
                    "publisher": "Ubuntu",
                    "installed_at": None,
                    "arch": "x64",
                }
                for n, v in (
                    ("openssh-server", "1:9.6p1-3ubuntu13.14"),
                    ("clamav", "1.4.3+dfsg-0ubuntu0.24.04.1"),
                    ("wazuh-agent", "4.12.0-1"),
                    ("ufw", "0.36.2-6"),
                    ("chrony", "4.5-1ubuntu4.2"),
                )
            ]
        items = list(SOFTWARE_COMMON[: 7 + self.rng.randrange(5)])
        if not self.server:
            items.append((BKAV_AV, "5.1.0.2026", "Bkav Corporation"))
        items.append((BKAV_EDR, "3.2.1", "Bkav Corporation"))
        return [
            {"name": n, "version": v, "publisher": p, "installed_at": None, "arch": "x64"}
            for n, v, p in items
        ]

    def errors(self) -> list[dict[str, Any]]:
        """What the real agent says it cannot see (a server without a GUI is a fact, not an error)."""
        return []

    def build(self) -> dict[str, Any]:
        return {
            "schema": "itaudit/host-report/1",
            "report_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "collected_at": _iso(self.collected),
            "unit": self.unit.id,
            "platform": self.platform,
            "agent": {
                "name": "itaudit-agent",
                "version": __version__,
                "collector": "demo",
                "elevated": True,
                "duration_ms": self.rng.randint(1500, 2900),
            },
            "identity": self.identity(),
            "os": self.os(),
            "hardware": self.hardware(),
            "network": self.network(),
            "security": self.security(),
            "patches": self.patches(),
            "software": self.software(),
            "errors": self.errors(),
        }


def _apply(defect: Defect, m: _Machine, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Apply one defect to a clean report; None means the machine sends no report."""
    sec, net, pat = doc["security"], doc["network"], doc["patches"]
    now = m.now
    kind = defect.kind
    if kind == "never_reports":
        return None
    if kind == "av_disabled":
        sec["antivirus"][0].update(enabled=False, product_state=262144, mode="disabled")
    elif kind == "av_stale":
        old = _iso(now - timedelta(days=defect.days or 21))
        sec["antivirus"][0].update(up_to_date=False, product_state=266256, signature_date=old)
        sec["antivirus"][1].update(signature_date=old)
    elif kind == "edr_missing":
        sec["edr"] = []
        doc["software"] = [s for s in doc["software"] if s["name"] != BKAV_EDR]
    elif kind == "edr_stopped":
        sec["edr"][0].update(running=False, connected=False)
    elif kind == "edr_disconnected":
        sec["edr"][0].update(connected=False)
    elif kind == "patch_old":
        last = now - timedelta(days=defect.days or 75)
        pat["last_install_at"] = _iso(last)
        pat["installed"] = [dict(p, installed_at=_iso(last)) for p in pat["installed"][1:]]
        doc["os"]["patch_revision"] = m.windows[3] - 1400
    elif kind == "critical_kb_missing":
        pat["installed"] = pat["installed"][1:]
        pat["pending"] = [
            {
                "id": KB_FOR_BUILD[m.windows[2]],
                "title": "Cumulative update (failed: 0x800f0922)",
                "security": True,
            }
        ]
        pat["pending_security_count"] = 1
        doc["os"]["patch_revision"] = m.windows[3] - 520
    elif kind == "win10":
        name, display, build, rev, edition = WIN10
        doc["os"].update(
            name=name,
            display_version=display,
            build=build,
            patch_revision=rev,
            edition=edition,
            version=f"10.0.{build}",
            kernel=f"10.0.{build}.{rev}",
        )
        pat["installed"][0].update(
            id=KB_FOR_BUILD[build], title="Bản cập nhật bảo mật mở rộng (ESU) Windows 10 (11/2026)"
        )
    elif kind == "firewall_off":
        for prof in sec["firewall"]["profiles"]:
            if prof["name"] in ("private", "public"):
                prof["enabled"] = False
    elif kind == "weak_password":
        sec["password_policy"].update(
            min_length=0, max_age_days=0, lockout_threshold=0, complexity=False, history=0
        )
    elif kind == "secret_networked":
        ip = str(m.unit.subnets[0].network_address + 250)
        gw = str(m.unit.gateway)
        net["interfaces"][0].update(
            up=True,
            addresses=[{"address": ip, "prefix_length": m.unit.subnets[0].prefixlen}],
            gateways=[gw],
            dns_servers=[gw],
            dhcp=True,
        )
        net["default_gateways"] = [gw]
        net["profile_history"] = [
            {
                "name": "SLDTBXH-LAN",
                "description": None,
                "kind": "wired",
                "category": "public",
                "first_connected": _iso(now - timedelta(days=12)),
                "last_connected": _iso(m.collected),
            }
        ]
        net["wifi_profiles"] = [{"ssid": "SLDTBXH-WIFI", "authentication": "WPA2PSK"}]
    elif kind == "rdp_no_nla":
        sec["remote_desktop"].update(enabled=True, nla_required=False)
    elif kind == "smb1_on":
        sec["smb1"].update(server_enabled=True)
    elif kind == "autorun_on":
        sec["autorun"].update(disabled=False, no_drive_type_autorun=0x91)
    elif kind == "guest_enabled":
        sec["accounts"]["guest"]["enabled"] = True
    elif kind == "builtin_admin_enabled":
        sec["accounts"]["builtin_admin"].update(name="Administrator", enabled=True, renamed=False)
        sec["local_admins"][0]["name"] = "Administrator"
    elif kind == "extra_admin":
        sec["local_admins"].append(
            {
                "name": "nguyenvanhung",
                "sid": "S-1-5-21-3623811015-3361044348-30300820-1013",
                "kind": "user",
                "source": "local",
            }
        )
    elif kind == "screen_lock_long":
        sec["screen_lock"]["timeout_seconds"] = 3600
    elif kind == "laptop_unencrypted":
        sec["disk_encryption"]["volumes"][0].update(protection="off", method=None, percent=0)
    elif kind == "time_sync_off":
        sec["time_sync"].update(enabled=False, synchronized=False)
    elif kind == "second_gateway":
        net["interfaces"].append(
            {
                "name": "Cellular",
                "description": "Huawei Mobile Broadband (4G USB)",
                "mac": None,
                "kind": "other",
                "up": True,
                "addresses": [{"address": "192.168.8.100", "prefix_length": 24}],
                "gateways": ["192.168.8.1"],
                "dns_servers": ["192.168.8.1"],
                "dhcp": True,
            }
        )
        net["default_gateways"].append("192.168.8.1")
        net["profile_history"].append(
            {
                "name": "Viettel 4G",
                "description": None,
                "kind": "mobile",
                "category": "public",
                "first_connected": _iso(now - timedelta(days=20)),
                "last_connected": _iso(m.collected),
            }
        )
    elif kind == "stale_report":
        shift = timedelta(days=defect.days or 45)
        return _shift_times(doc, shift)
    elif kind == "ssh_root_login":
        sec["ssh"].update(permit_root_login="yes", password_authentication=True)
    elif kind in ("unsigned", "unregistered"):
        pass
    else:
        raise ValueError(f"unknown defect kind {kind!r} in defects.yaml")
    return doc


def _shift_times(node: Any, shift: timedelta) -> Any:
    """Move every timestamp of a report back by `shift` (a machine that stopped reporting)."""
    if isinstance(node, dict):
        return {k: _shift_times(v, shift) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift_times(v, shift) for v in node]
    if isinstance(node, str) and len(node) == 20 and node.endswith("Z") and node[10] == "T":
        moment = datetime.fromisoformat(node.replace("Z", "+00:00")) - shift
        return _iso(moment)
    return node


def generate(
    org: Organisation,
    now: datetime | None = None,
    defects: list[Defect] | None = None,
    seed: int = SEED,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, report) for every computer of the register that reports."""
    now = now or datetime.now(UTC)
    defects = load_defects() if defects is None else defects
    by_asset: dict[str, list[Defect]] = {}
    for d in defects:
        if d.asset:
            by_asset.setdefault(d.asset, []).append(d)
    known = {a.tag for a in org.assets}
    missing = sorted(set(by_asset) - known)
    if missing:
        raise ValueError(
            f"defects.yaml names assets that are not in the register: {', '.join(missing)}"
        )
    for asset in org.assets:
        if not asset.is_computer:
            continue
        unit = org.unit(asset.unit)
        assert unit is not None
        rng = random.Random(f"{seed}:{asset.tag}")
        machine = _Machine(asset, unit, asset.hostname or asset.tag, now, rng)
        doc: dict[str, Any] | None = machine.build()
        signed = True
        for defect in by_asset.get(asset.tag, ()):
            if defect.kind == "unsigned":
                signed = False
            doc = _apply(defect, machine, doc) if doc is not None else None
        if doc is None:
            continue
        yield f"{asset.tag}.json", sign_report(doc, demo_key(asset.tag)) if signed else doc
    for defect in defects:
        if defect.kind != "unregistered":
            continue
        unit = org.unit(defect.unit or org.units[0].id)
        assert unit is not None and defect.hostname
        rng = random.Random(f"{seed}:{defect.hostname}")
        machine = _Machine(None, unit, defect.hostname, now, rng)
        yield f"{defect.hostname}.json", sign_report(machine.build(), demo_key(defect.hostname))
