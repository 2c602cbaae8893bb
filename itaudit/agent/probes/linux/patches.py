"""Linux patches: pending (security) updates, pending reboot, last install.

Debian family: `apt list --upgradable`. Each line names an upgradable
package, the suites its candidate version comes from, and the versions
(`openssl/noble-updates,noble-security 3.0.13-0ubuntu3.2 amd64 [upgradable
from: 3.0.13-0ubuntu3.1]`); a package is a security update when one of those
suites is a `-security` pocket. The line's shape is read, not its words, and
the command runs with LC_ALL=C anyway. It needs no root and changes nothing.
`apt-get -s dist-upgrade` would name the same packages but also plans the
whole installation, three times the work (2.5 s of CPU against 0.8 s here);
Ubuntu's update-notifier `apt-check` gives only counts, not the package list
the report carries. Either way the answer is as fresh as the machine's last
`apt-get update`. Being the slowest read of a collection, it starts first and
runs while the other probes work.

RHEL family: `dnf -q -C updateinfo list --security` (`-C`: the cached
metadata only, so the agent never contacts a mirror), and `needs-restarting
-r` for a pending reboot.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from itaudit.agent.context import Result, Status
from itaudit.agent.probes.base import Probe, ProbeRun, iso

# name/suite[,suite...] version, then the architecture and "[upgradable from: ...]" in an
# order that changed across apt versions (not read). "Listing..." and notices do not fit.
_APT_LIST = re.compile(r"^([a-z0-9][a-z0-9+.-]*)/(\S+) (\S+)(?: .*)?$")


def parse_apt_list(content: str) -> list[dict[str, Any]]:
    """Upgradable packages from `apt list --upgradable`."""
    out = []
    for line in content.splitlines():
        m = _APT_LIST.match(line.strip())
        if not m:
            continue
        name, suites, version = m.groups()
        security = any(s.endswith("-security") for s in suites.split(","))
        out.append({"id": f"{name}={version}"[:128], "title": None, "security": security})
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


APT_LIST = ["apt", "list", "--upgradable", "-o", "APT::Cmd::Disable-Script-Warning=true"]
DNF_SECURITY = ["dnf", "-q", "-C", "updateinfo", "list", "--security"]


class PatchesProbe(Probe):
    name = "patches"

    def prefetch(self, run: ProbeRun) -> None:
        run.start("pending-updates", lambda: self._pending_updates(run))

    @staticmethod
    def _pending_updates(run: ProbeRun) -> tuple[Result, Result | None]:
        """(apt result, dnf result when there is no apt): reads only, errors are recorded later."""
        apt = run.ctx.run("apt-list-upgradable", APT_LIST, timeout=60)
        if apt.status is not Status.ABSENT:
            return apt, None
        return apt, run.ctx.run("dnf-updateinfo", DNF_SECURITY, timeout=120)

    def collect(self, run: ProbeRun) -> None:
        ctx, pat = run.ctx, run.section("patches")
        apt, dnf = run.once("pending-updates", lambda: self._pending_updates(run))
        pending: list[dict[str, Any]] | None = None
        if apt.ok:
            pending = parse_apt_list(apt.value)
        elif dnf is None:
            run.failed(apt)
        elif dnf.ok:
            pending = parse_dnf_security(dnf.value)
        elif dnf.status is Status.ABSENT:
            run.error("absent", "no apt or dnf: pending updates unknown")
        else:
            run.failed(dnf)
        if pending is not None:
            pat["pending"] = pending[:5000]
            pat["pending_security_count"] = sum(1 for p in pending if p["security"])
        else:
            pat["pending_security_count"] = None

        if dnf is None:
            pat["pending_reboot"] = self._debian_reboot(run)
        else:
            pat["pending_reboot"] = self._rhel_reboot(run)

        log = ctx.read_text("dpkg-log", "/var/log/dpkg.log")
        last = last_dpkg_install(log.value, ctx.utc_offset_minutes) if log.ok else None
        if log.ok and last is None:
            # logrotate empties dpkg.log monthly: the last install may be in the previous one.
            older = ctx.read_text("dpkg-log-1", "/var/log/dpkg.log.1")
            if older.ok:
                last = last_dpkg_install(older.value, ctx.utc_offset_minutes)
        elif not log.ok and log.status is not Status.ABSENT:
            run.failed(log, "patches.last_install")
        pat["last_install_at"] = iso(last)
        pat.setdefault("installed", [])

    @staticmethod
    def _debian_reboot(run: ProbeRun) -> bool | None:
        reboot = run.ctx.read_text("reboot-required", "/var/run/reboot-required")
        if reboot.ok:
            return True
        if reboot.status is Status.ABSENT:
            # Debian/Ubuntu create this file when an update needs a reboot; no file, no reboot pending.
            return False
        run.failed(reboot, "patches.reboot")
        return None

    @staticmethod
    def _rhel_reboot(run: ProbeRun) -> bool | None:
        # needs-restarting -r: exit 0 when no reboot is needed, 1 when one is, listing the
        # updated core packages as "  * kernel" lines. A crash also exits 1: the list decides.
        res = run.ctx.run("needs-restarting", ["needs-restarting", "-r"], timeout=60)
        if res.ok:
            return False
        if res.exit_code == 1 and _UPDATED_CORE.search(res.value or ""):
            return True
        run.failed(res, "patches.reboot")
        return None


_UPDATED_CORE = re.compile(r"^\s+\* \S", re.MULTILINE)
