"""Linux patches: pending (security) updates, pending reboot, last install.

Debian family: `apt-get -s dist-upgrade` (a simulation: it changes nothing and
needs no root). Its `Inst` lines name each upgradable package and the
release it would come from; a package is a security update when that release
is a `-security` pocket (Debian-Security:12/stable-security,
Ubuntu:24.04/noble-security). The agent runs every command with LC_ALL=C, and
`Inst` lines are not translated anyway. Ubuntu's update-notifier `apt-check`
would give only counts, not the package list the report carries, so it is
not used. The answer is as fresh as the machine's last `apt-get update`.

RHEL family: `dnf -q updateinfo list --security`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import Probe, ProbeRun, iso

_INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) ([^\[]*?)\s*(?:\[[^\]]*\])?\)")


def parse_apt_simulation(content: str) -> list[dict[str, Any]]:
    out = []
    for line in content.splitlines():
        m = _INST.match(line)
        if not m:
            continue
        name, _old, new, releases = m.groups()
        security = any(r.strip().split("/")[-1].endswith("-security") for r in releases.split(","))
        out.append({"id": f"{name}={new}"[:128], "title": None, "security": security})
    return out


def parse_dnf_security(content: str) -> list[dict[str, Any]]:
    out = []
    for line in content.splitlines():
        cols = line.split()
        # ADVISORY  TYPE  PACKAGE (e.g. RHSA-2024:1234 Important/Sec. openssl-3.0.7-27.el9.x86_64)
        if len(cols) >= 3 and "/Sec" in cols[1]:
            out.append({"id": cols[2][:128], "title": cols[0][:512], "security": True})
    return out


_DPKG_LOG = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) status installed ")


def last_dpkg_install(content: str, utc_offset_minutes: int) -> datetime | None:
    """The latest `status installed` line of dpkg.log (local time), as UTC."""
    last = None
    for line in content.splitlines():
        m = _DPKG_LOG.match(line)
        if m:
            last = m.group(1)  # the log is chronological
    if last is None:
        return None
    local = datetime.strptime(last, "%Y-%m-%d %H:%M:%S")
    return (local - timedelta(minutes=utc_offset_minutes)).replace(tzinfo=UTC)


class PatchesProbe(Probe):
    name = "patches"

    def collect(self, run: ProbeRun) -> None:
        ctx, pat = run.ctx, run.section("patches")
        pending: list[dict[str, Any]] | None = None
        apt = ctx.run(
            "apt-get-simulate",
            ["apt-get", "-s", "-o", "Debug::NoLocking=true", "dist-upgrade"],
            timeout=60,
        )
        if apt.ok:
            pending = parse_apt_simulation(apt.value)
        elif apt.status is Status.ABSENT:
            dnf = ctx.run(
                "dnf-updateinfo", ["dnf", "-q", "updateinfo", "list", "--security"], timeout=120
            )
            if dnf.ok:
                pending = parse_dnf_security(dnf.value)
            elif dnf.status is Status.ABSENT:
                run.error("absent", "no apt-get or dnf: pending updates unknown")
            else:
                run.failed(dnf)
        else:
            run.failed(apt)
        if pending is not None:
            pat["pending"] = pending[:5000]
            pat["pending_security_count"] = sum(1 for p in pending if p["security"])
        else:
            pat["pending_security_count"] = None

        reboot = ctx.read_text("reboot-required", "/var/run/reboot-required")
        if reboot.ok:
            pat["pending_reboot"] = True
        elif reboot.status is Status.ABSENT:
            # Debian/Ubuntu create this file when an update needs a reboot; no file, no reboot pending.
            pat["pending_reboot"] = False
        else:
            run.failed(reboot, "patches.reboot")

        log = ctx.read_text("dpkg-log", "/var/log/dpkg.log")
        if log.ok:
            pat["last_install_at"] = iso(last_dpkg_install(log.value, ctx.utc_offset_minutes))
        elif log.status is not Status.ABSENT:
            run.failed(log, "patches.last_install")
        pat.setdefault("installed", [])
