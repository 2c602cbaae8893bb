"""nmap on the officer's Windows PC: where nmap.exe is, whether Npcap is there and
usable, and what a scan without it cannot see.

nmap on Windows sends raw packets (ARP discovery, SYN scan, the MAC address of
every neighbour) through the Npcap driver. Without Npcap, or when Npcap was
installed "for Administrators only" and the scan is not elevated, nmap falls
back to connect() scans: hosts are still found by TCP, but no MAC address is
seen, so a state-secret machine is matched only through the neighbour table
(`arp -a`), and a device that answers no TCP port is missed.

Facts used (sources):
- nmap.exe installs in `%ProgramFiles%\\Nmap` (64-bit installer) or
  `%ProgramFiles(x86)%\\Nmap` (older 32-bit installers), and is not always on PATH.
- Npcap records its install folder as the default value of `HKLM\\SOFTWARE\\Npcap`
  (`SOFTWARE\\WOW6432Node\\Npcap` in the 32-bit view; nmap/npcap issue #354) and
  puts its DLLs in `%SystemRoot%\\System32\\Npcap` (`wpcap.dll`; nmap's
  winfix.cc, init_npcap_dll_path). Its driver service is `npcap`, its settings
  in `HKLM\\SYSTEM\\CurrentControlSet\\Services\\npcap\\Parameters` (Npcap 0.93
  release notes), among them `AdminOnly` = 1 for "Restrict Npcap driver's access
  to Administrators only" (nmap/npcap issue #813).
- nmap prints "WARNING: Could not import all necessary Npcap functions ...
  Resorting to connect() mode" or "Failed to load wpcap.dll" when it cannot use
  Npcap (winfix.cc, win_init).

Everything Windows is reached through `WindowsHost`, so the logic is tested on
Linux with a fake install tree and a fake registry.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from itaudit.i18n import t

NPCAP_KEYS = (r"SOFTWARE\Npcap", r"SOFTWARE\WOW6432Node\Npcap")
NPCAP_PARAMETERS = r"SYSTEM\CurrentControlSet\Services\npcap\Parameters"
NPCAP_DOWNLOAD = "https://npcap.com/#download"
NMAP_DOWNLOAD = "https://nmap.org/download.html"

# What nmap says on stderr when it cannot use Npcap (winfix.cc).
_NMAP_NO_NPCAP = (
    "could not import all necessary npcap functions",
    "failed to load wpcap.dll",
    "resorting to connect() mode",
)
_NMAP_NO_SERVICE = ("unable to start npcap service", "unable to start the npcap service")

RegistryReader = Callable[[str, str], object | None]


@dataclass(frozen=True)
class WindowsHost:
    """The parts of a Windows machine this module looks at."""

    environ: Mapping[str, str]
    is_file: Callable[[PureWindowsPath], bool]
    # (subkey under HKLM, value name; "" for the default value) -> value, None when absent.
    read_hklm: RegistryReader
    which: Callable[[str], str | None]
    elevated: Callable[[], bool | None]


def _live_registry(subkey: str, name: str) -> object | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, subkey) as key:
            return winreg.QueryValueEx(key, name)[0]
    except OSError:
        return None


def _live_elevated() -> bool | None:
    if sys.platform != "win32":
        return None
    import ctypes

    try:
        return bool(ctypes.windll.shell32.IsUserAnAdmin())
    except (AttributeError, OSError):
        return None


def live_host() -> WindowsHost:
    """This machine (meaningful on Windows only)."""
    return WindowsHost(
        environ=os.environ,
        is_file=lambda p: Path(p).is_file(),
        read_hklm=_live_registry,
        which=shutil.which,
        elevated=_live_elevated,
    )


def nmap_candidates(environ: Mapping[str, str]) -> list[PureWindowsPath]:
    """The standard install folders' nmap.exe, 64-bit first, without duplicates."""
    out: list[PureWindowsPath] = []
    for var, fallback in (
        ("ProgramFiles", r"C:\Program Files"),
        ("ProgramW6432", r"C:\Program Files"),
        ("ProgramFiles(x86)", r"C:\Program Files (x86)"),
    ):
        base = environ.get(var) or fallback
        path = PureWindowsPath(base) / "Nmap" / "nmap.exe"
        if path not in out:
            out.append(path)
    return out


def find_nmap_exe(host: WindowsHost) -> str | None:
    """nmap on PATH, else in a standard install folder; None when nowhere."""
    found = host.which("nmap")
    if found:
        return found
    for path in nmap_candidates(host.environ):
        if host.is_file(path):
            return str(path)
    return None


@dataclass(frozen=True)
class NpcapStatus:
    installed: bool
    where: str | None  # the install folder or the DLL that showed it
    admin_only: bool | None  # None: the setting could not be read
    elevated: bool | None

    @property
    def usable(self) -> bool | None:
        """Whether nmap can send raw packets through Npcap; None when unknown."""
        if not self.installed:
            return False
        if self.admin_only is False:
            return True
        if self.admin_only and self.elevated is not None:
            return self.elevated
        return None


def npcap_status(host: WindowsHost) -> NpcapStatus:
    """Npcap from the registry, else from its DLL in System32\\Npcap."""
    where: str | None = None
    for key in NPCAP_KEYS:
        value = host.read_hklm(key, "")
        if isinstance(value, str) and value.strip():
            where = value.strip()
            break
    if where is None:
        root = host.environ.get("SystemRoot") or host.environ.get("SYSTEMROOT") or r"C:\Windows"
        dll = PureWindowsPath(root) / "System32" / "Npcap" / "wpcap.dll"
        if host.is_file(dll):
            where = str(dll)
    if where is None:
        return NpcapStatus(False, None, None, host.elevated())
    admin = host.read_hklm(NPCAP_PARAMETERS, "AdminOnly")
    admin_only = None if admin is None else bool(admin if isinstance(admin, int) else 0)
    return NpcapStatus(True, where, admin_only, host.elevated())


def nmap_says_no_npcap(stderr: str) -> str | None:
    """From nmap's stderr: "missing" (it could not load Npcap), "service" (the npcap
    service would not start), or None (nothing said about Npcap)."""
    low = stderr.lower()
    if any(s in low for s in _NMAP_NO_SERVICE):
        return "service"
    if any(s in low for s in _NMAP_NO_NPCAP):
        return "missing"
    return None


def explain(status: NpcapStatus, lang: str = "vi") -> str | None:
    """What a scan cannot see with this Npcap, and how to fix it; None when all is well."""
    if status.usable:
        return None
    if not status.installed:
        problem = t("winnmap.no_npcap", lang, url=NPCAP_DOWNLOAD)
    elif status.usable is None:
        problem = t("winnmap.unknown_mode", lang)
    else:
        problem = t("winnmap.admin_only", lang)
    return f"{problem} {t('winnmap.cannot_see', lang)}"


def explain_nmap_output(stderr: str, lang: str = "vi") -> str | None:
    """The same plain explanation from what nmap itself printed during a scan."""
    kind = nmap_says_no_npcap(stderr)
    if kind is None:
        return None
    key = "winnmap.service" if kind == "service" else "winnmap.nmap_no_npcap"
    return f"{t(key, lang, url=NPCAP_DOWNLOAD)} {t('winnmap.cannot_see', lang)}"


def missing_nmap_hint(host: WindowsHost, lang: str = "vi") -> str:
    """Where nmap was looked for, and how to install it."""
    places = "; ".join(str(p) for p in nmap_candidates(host.environ))
    return t("winnmap.no_nmap", lang, places=places, url=NMAP_DOWNLOAD)
