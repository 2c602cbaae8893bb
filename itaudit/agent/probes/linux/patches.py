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
from itaudit.agent.probes.linux.autoupdates import read_automatic_updates

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


_DPKG_LOG = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) status installed ([a-z0-9][a-z0-9+.-]*)(?::\S+)? (\S+)"
)
MAX_POLICY_PACKAGES = 400  # the most recent installs asked about (one apt-cache call)


def dpkg_installs(content: str) -> list[tuple[str, str, str]]:
    """(local time, package, version) of every `status installed` line, oldest first."""
    out = []
    for line in content.splitlines():
        m = _DPKG_LOG.match(line)
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def _utc(local: str, utc_offset_minutes: int) -> datetime:
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M:%S")
    return (moment - timedelta(minutes=utc_offset_minutes)).replace(tzinfo=UTC)


def last_dpkg_install(content: str, utc_offset_minutes: int) -> datetime | None:
    """The latest `status installed` line of dpkg.log (local time), as UTC."""
    installs = dpkg_installs(content)
    return _utc(installs[-1][0], utc_offset_minutes) if installs else None


def parse_apt_policy(content: str) -> dict[str, set[str]]:
    """{package: versions offered by a `-security` pocket} from `apt-cache policy PKG...`."""
    out: dict[str, set[str]] = {}
    package = version = None
    for line in content.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            package, version = line[:-1].split(":", 1)[0], None
            out.setdefault(package, set())
            continue
        words = line.split()
        if package is None or not words:
            continue
        if words[0] == "***":
            words = words[1:]
        # A version line is "VERSION PRIORITY"; a source line is "PRIORITY URL SUITE/COMPONENT ...".
        if len(words) == 2 and words[1].lstrip("-").isdigit() and not words[0].isdigit():
            version = words[0]
        elif (
            version
            and len(words) >= 3
            and words[0].lstrip("-").isdigit()
            and words[2].split("/", 1)[0].endswith("-security")
        ):
            out[package].add(version)
    return out


def last_security_install(
    installs: list[tuple[str, str, str]], security: dict[str, set[str]], utc_offset_minutes: int
) -> tuple[datetime, str] | None:
    """The latest install whose package version is offered by a security pocket."""
    for local, name, version in reversed(installs):
        if version in security.get(name, ()):
            return _utc(local, utc_offset_minutes), f"{name}={version}"
    return None


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
        pat = run.section("patches")
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

        pat["last_install_at"] = iso(self._last_security_install(run) if dnf is None else None)
        if apt.status is not Status.ABSENT or (dnf is not None and dnf.status is not Status.ABSENT):
            pat["automatic_updates"] = read_automatic_updates(run, rhel=dnf is not None)
        else:
            pat["automatic_updates"] = None
        if dnf is not None:
            run.error(
                "unsupported",
                "the last security update's install date is not read on RHEL-family machines yet",
                "patches.last_install",
            )
        pat.setdefault("installed", [])

    @staticmethod
    def _last_security_install(run: ProbeRun) -> datetime | None:
        """The last install of a package version that a `-security` pocket offers.

        dpkg.log says what was installed, not from where: installing any tool
        (Lynis itself) would otherwise count as patching. `apt-cache policy`
        names the suites offering each version. A security version that a later
        one has since replaced in the pocket is no longer listed there, so an
        older install may be found: the date errs towards "too long ago".
        """
        ctx = run.ctx
        installs: list[tuple[str, str, str]] = []
        for source, path in (
            ("dpkg-log-1", "/var/log/dpkg.log.1"),
            ("dpkg-log", "/var/log/dpkg.log"),
        ):
            log = ctx.read_text(source, path)
            if log.ok:
                installs.extend(dpkg_installs(log.value))
            elif log.status is not Status.ABSENT:
                run.failed(log, "patches.last_install")
        if not installs:
            run.error(
                "absent",
                "dpkg.log lists no installs: the last security update is unknown",
                "patches.last_install",
            )
            return None
        recent: list[str] = []
        for _, name, _ in reversed(installs):
            if name not in recent:
                recent.append(name)
            if len(recent) >= MAX_POLICY_PACKAGES:
                break
        policy = ctx.run("apt-cache-policy", ["apt-cache", "policy", *sorted(recent)], timeout=60)
        if not policy.ok:
            run.failed(policy, "patches.last_install")
            return None
        found = last_security_install(
            installs, parse_apt_policy(policy.value), ctx.utc_offset_minutes
        )
        if found is None:
            run.error(
                "absent",
                "no install in dpkg.log is a version a -security pocket offers",
                "patches.last_install",
            )
            return None
        return found[0]

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
