"""Linux software: installed packages from dpkg, or rpm."""

from __future__ import annotations

from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import Probe, ProbeRun, text

DPKG_FORMAT = "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n"
RPM_FORMAT = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\n"
_ARCH = {
    "amd64": "x64",
    "x86_64": "x64",
    "i386": "x86",
    "i686": "x86",
    "arm64": "arm64",
    "aarch64": "arm64",
    "all": "all",
    "noarch": "all",
}


def parse_dpkg(content: str) -> list[dict[str, Any]]:
    out = []
    for line in content.splitlines():
        cols = line.split("\t")
        if len(cols) < 4 or not cols[3].startswith("ii"):
            continue  # only fully installed packages ("ii "), not removed-with-config ("rc")
        out.append(
            {
                "name": cols[0][:256],
                "version": text(cols[1], 128),
                "publisher": None,
                "installed_at": None,
                "arch": _ARCH.get(cols[2], "unknown"),
            }
        )
    return out


def parse_rpm(content: str) -> list[dict[str, Any]]:
    out = []
    for line in content.splitlines():
        cols = line.split("\t")
        if len(cols) < 3 or not cols[0]:
            continue
        vendor = cols[3] if len(cols) > 3 and cols[3] != "(none)" else None
        out.append(
            {
                "name": cols[0][:256],
                "version": text(cols[1], 128),
                "publisher": text(vendor),
                "installed_at": None,
                "arch": _ARCH.get(cols[2], "unknown"),
            }
        )
    return out


class SoftwareProbe(Probe):
    name = "software"

    def collect(self, run: ProbeRun) -> None:
        ctx = run.ctx
        res = ctx.run("dpkg-query", ["dpkg-query", "-W", f"-f={DPKG_FORMAT}"])
        if res.ok:
            packages = parse_dpkg(res.value)
        elif res.status is Status.ABSENT:
            rpm = ctx.run("rpm", ["rpm", "-qa", "--qf", RPM_FORMAT])
            if not rpm.ok:
                if rpm.status is Status.ABSENT:
                    run.error("absent", "no package database: neither dpkg nor rpm is installed")
                else:
                    run.failed(rpm)
                return
            packages = parse_rpm(rpm.value)
        else:
            run.failed(res)
            return
        packages.sort(key=lambda p: (p["name"], p["version"] or ""))
        run.report["software"] = packages[:20000]
