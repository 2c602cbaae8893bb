"""Windows operating system: the registry's CurrentVersion key and Win32_OperatingSystem.

CurrentBuild + UBR is the clean patch level. Windows 11 is known by its
build number (>= 22000): its registry ProductName still says "Windows 10".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from itaudit.agent.probes.base import (
    Probe,
    ProbeRun,
    as_list,
    hostname_label,
    iso,
    ps_datetime,
    text,
    to_int,
)

CURRENT_VERSION = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
WINDOWS_11_BUILD = 22000


def product_name(name: str | None, build: int | None) -> str | None:
    if name and build is not None and build >= WINDOWS_11_BUILD and "Windows 10" in name:
        return name.replace("Windows 10", "Windows 11", 1)
    return name


def architecture(os_architecture: Any) -> str | None:
    """x64 / x86 / arm64 from Win32_OperatingSystem.OSArchitecture.

    The text is localised ("64-bit", "64 bits", "64 位元"), so only its
    digits and the Latin "ARM" are read.
    """
    s = text(os_architecture, 64)
    if not s:
        return None
    if "arm" in s.lower():
        return "arm64"
    if "64" in s:
        return "x64"
    if "32" in s:
        return "x86"
    return None


def first(value: Any) -> dict[str, Any]:
    items = [v for v in as_list(value) if isinstance(v, dict)]
    return items[0] if items else {}


class OSProbe(Probe):
    name = "os"

    def collect(self, run: ProbeRun) -> None:
        ctx, os_ = run.ctx, run.section("os")
        os_["family"] = "windows"
        reg = ctx.read_registry("reg-currentversion", CURRENT_VERSION)
        cim = ctx.cim_query("cim-os", "root/cimv2", "Win32_OperatingSystem")
        cv: dict[str, Any] = reg.value if reg.ok and isinstance(reg.value, dict) else {}
        run.failed(reg, "os.version")
        osi = first(cim.value) if cim.ok else {}
        run.failed(cim, "os.details")

        build = (
            to_int(cv.get("CurrentBuild"))
            or to_int(cv.get("CurrentBuildNumber"))
            or to_int(osi.get("BuildNumber"))
        )
        major, minor = (
            to_int(cv.get("CurrentMajorVersionNumber")),
            to_int(cv.get("CurrentMinorVersionNumber")),
        )
        os_["name"] = text(product_name(text(cv.get("ProductName")), build))
        os_["edition"] = text(cv.get("EditionID"), 128)
        os_["build"] = build
        os_["patch_revision"] = to_int(cv.get("UBR"))
        os_["display_version"] = text(cv.get("DisplayVersion") or cv.get("ReleaseId"), 64)
        if major is not None and minor is not None and build is not None:
            os_["version"] = f"{major}.{minor}.{build}"
        else:
            os_["version"] = text(osi.get("Version"), 64)
        installation = text(cv.get("InstallationType"), 32)
        product_type = to_int(osi.get("ProductType"))
        if installation or product_type is not None:
            os_["server"] = installation == "Server" or product_type in (2, 3)
        os_["architecture"] = architecture(osi.get("OSArchitecture"))
        languages = [v for v in as_list(osi.get("MUILanguages")) if isinstance(v, str)]
        manifest_lang = getattr(getattr(ctx, "bundle", None), "manifest", {}).get("ui_language")
        os_["language"] = text(languages[0] if languages else manifest_lang, 32)
        install = to_int(cv.get("InstallDate"))
        if install:
            os_["installed_at"] = iso(datetime.fromtimestamp(install, UTC))
        else:
            os_["installed_at"] = iso(ps_datetime(osi.get("InstallDate")))
        os_["last_boot_at"] = iso(ps_datetime(osi.get("LastBootUpTime")))
        name = hostname_label(osi.get("CSName"))
        if name:
            run.identity["hostname"] = name
