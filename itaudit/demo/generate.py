"""The sample department's fleet, with planted defects, as the real collectors give it.

One machine per computer of the asset register, built from a per-asset seeded
random generator so that the same register always gives the same machines.
Times are relative to `now`, so a demo run today looks like a fleet collected
today. Clean machines satisfy every level-1 rule; the defects listed in
`defects.yaml` are applied on top.

Windows machines (all but a few) are written as collector bundles, the
folders collect.ps1 writes, with defects planted in their raw sources
(windows_machine.py, windows_sources.py), and turned into HostReports by the
code `itaudit agent parse` runs (bundles.py). The few Linux machines are
still generated as finished HostReports here: the Linux agent runs live and
leaves no bundle, and the demo has no recorded Linux outputs to replay.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
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
from itaudit.demo.windows_machine import IT_ADMIN, NTP, WIN11_ENT, WIN11_PRO, WS2019, WS2022
from itaudit.org.model import Asset, Organisation, Unit
from itaudit.signing import sign_report

SEED = 2026

VENDORS = [
    ("Dell Inc.", "OptiPlex 7010", "Latitude 5440", "00:14:22"),
    ("HP", "ProDesk 400 G9", "ProBook 450 G10", "3c:d9:2b"),
    ("LENOVO", "ThinkCentre M70s Gen 3", "ThinkPad E14 Gen 5", "54:ee:75"),
    ("ASUSTeK COMPUTER INC.", "ExpertCenter D5", "ExpertBook B1", "04:d9:f5"),
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
        self.windows = WS2022 if self.server else (WIN11_ENT if rng.random() < 0.2 else WIN11_PRO)
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
        ip, prefix, gateway = self.address
        ifaces = [
            {
                "name": "eno1",
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
            lan = "SLDTBXH-LAN" if self.unit.id == "ho" else f"{self.unit.id.upper()}-LAN"
            wifi.append({"ssid": f"{lan}-WIFI", "authentication": "WPA2PSK"})
        return {
            "interfaces": ifaces,
            "default_gateways": [gateway],
            "dns_servers": [gateway],
            "domain": None,
            "workgroup": None,
            "domain_joined": False,
            "profile_history": [],
            "wifi_profiles": wifi,
        }

    def security(self) -> dict[str, Any]:
        sig_date = _iso(self.collected - timedelta(hours=self.rng.randint(2, 20)))
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
                "volumes": [{"mount": "/", "protection": "on", "method": "luks2", "percent": None}]
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
            "accounts": {
                "builtin_admin": None,
                "guest": None,
                "uid0": ["root"],
                "empty_password": [],
            },
            "local_admins": [{"name": IT_ADMIN, "sid": None, "kind": "user", "source": "local"}],
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
            # The hardening facts of a clean Debian/Ubuntu machine, as the Linux agent reads them.
            "logging": {"syslog_running": True, "syslog_daemon": "rsyslog", "audit_running": True},
            "listening": [
                {
                    "name": "0.0.0.0:22/tcp (sshd)" if self.server else "127.0.0.1:631/tcp (cupsd)",
                    "protocol": "tcp",
                    "address": "0.0.0.0" if self.server else "127.0.0.1",
                    "port": 22 if self.server else 631,
                    "process": "sshd" if self.server else "cupsd",
                    "pid": 812,
                    "loopback": not self.server,
                }
            ],
            "legacy_services": [],
            "usb_storage": {
                "blocked": True,
                "loaded": False,
                "how": "/etc/modprobe.d/usb-storage.conf:1 install usb-storage /bin/false",
            },
            "key_files": [
                {
                    "path": p,
                    "mode": "0640",
                    "owner": "root",
                    "group": "shadow",
                    "group_read": True,
                    "group_write": False,
                    "other_access": 0,
                }
                for p in ("/etc/shadow", "/etc/gshadow")
            ],
            "home_directories": [
                {
                    "path": "/root",
                    "user": "root",
                    "mode": "0700",
                    "owner": "root",
                    "group": "root",
                    "group_read": False,
                    "group_write": False,
                    "other_access": 0,
                },
                {
                    "path": f"/home/{IT_ADMIN}",
                    "user": IT_ADMIN,
                    "mode": "0750",
                    "owner": IT_ADMIN,
                    "group": IT_ADMIN,
                    "group_read": True,
                    "group_write": False,
                    "other_access": 0,
                },
            ],
            "shell_timeout": {
                "seconds": 900,
                "readonly": True,
                "where": "/etc/profile.d/tmout.sh:1",
            },
        }

    def patches(self) -> dict[str, Any]:
        last = self.collected - timedelta(
            days=self.rng.randint(2, 14), hours=self.rng.randint(0, 20)
        )
        return {
            "last_install_at": _iso(last),
            "installed": [],
            "pending": [],
            "pending_security_count": 0,
            "pending_reboot": False,
            "automatic_updates": {
                "tool": "unattended-upgrades",
                "enabled": True,
                "security": True,
                "source": "apt-config dump",
            },
        }

    def software(self) -> list[dict[str, Any]]:
        return [
            {"name": n, "version": v, "publisher": "Ubuntu", "installed_at": None, "arch": "x64"}
            for n, v in (
                ("openssh-server", "1:9.6p1-3ubuntu13.14"),
                ("clamav", "1.4.3+dfsg-0ubuntu0.24.04.1"),
                ("wazuh-agent", "4.12.0-1"),
                ("ufw", "0.36.2-6"),
                ("chrony", "4.5-1ubuntu4.2"),
            )
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
    """Apply one defect to a clean Linux report; None means the machine sends no report.

    Windows machines take their defects in their raw sources (WinMachine.apply).
    """
    kind = defect.kind
    if kind == "never_reports":
        return None
    if kind == "stale_report":
        return _shift_times(doc, timedelta(days=defect.days or 45))
    if kind == "ssh_root_login":
        doc["security"]["ssh"].update(permit_root_login="yes", password_authentication=True)
    elif kind not in ("unsigned", "unregistered"):
        raise ValueError(f"defects.yaml: defect kind {kind!r} cannot be planted on a Linux machine")
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
    bundles: Path | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, report) for every computer of the register that reports.

    Windows machines are written as bundle folders under `bundles` (one per
    machine, named by asset tag or host name; a temporary folder when None)
    and parsed from there.
    """
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
    machines: list[tuple[str, _Machine, list[Defect]]] = []
    for asset in org.assets:
        if not asset.is_computer:
            continue
        unit = org.unit(asset.unit)
        assert unit is not None
        rng = random.Random(f"{seed}:{asset.tag}")
        machine = _Machine(asset, unit, asset.hostname or asset.tag, now, rng)
        machines.append((asset.tag, machine, by_asset.get(asset.tag, [])))
    for defect in defects:
        if defect.kind != "unregistered":
            continue
        unit = org.unit(defect.unit or org.units[0].id)
        assert unit is not None and defect.hostname
        rng = random.Random(f"{seed}:{defect.hostname}")
        machines.append(
            (defect.hostname, _Machine(None, unit, defect.hostname, now, rng), [defect])
        )
    with tempfile.TemporaryDirectory(prefix="itaudit-demo-bundles-") as scratch:
        root = bundles if bundles is not None else Path(scratch)
        for name, machine, planted in machines:
            if any(d.kind == "never_reports" for d in planted):
                continue
            signed = not any(d.kind == "unsigned" for d in planted)
            if machine.platform == "windows":
                doc = _windows_report(name, machine, planted, root / name, signed)
            else:
                found: dict[str, Any] | None = machine.build()
                for defect in planted:
                    found = _apply(defect, machine, found) if found is not None else None
                if found is None:
                    continue
                doc = sign_report(found, demo_key(name)) if signed else found
            yield f"{name}.json", doc


def _windows_report(
    name: str, machine: _Machine, planted: list[Defect], folder: Path, signed: bool
) -> dict[str, Any]:
    """Bundle -> `agent parse` -> HostReport for one Windows machine."""
    from itaudit.demo.bundles import parse, sign_bundle, write_bundle
    from itaudit.demo.windows_machine import WinMachine

    win = WinMachine(machine)
    for defect in planted:
        win.apply(defect)
    write_bundle(win, folder)
    signature = folder / "signature.json"
    if signed:
        sign_bundle(folder, name)
    else:
        # A refreshed demo folder must not keep the signature of an earlier run.
        signature.unlink(missing_ok=True)
    return parse(folder, machine.unit.id)
