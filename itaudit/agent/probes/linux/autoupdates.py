"""Automatic security updates: unattended-upgrades (Debian, Ubuntu) or dnf-automatic (RHEL family).

apt: the package must be installed, `APT::Periodic::Unattended-Upgrade` must be
non-zero and the allowed origins must include a -security pocket. `apt-config
dump` prints the configuration apt itself merges from /etc/apt/apt.conf and
every file of /etc/apt/apt.conf.d, so a value in a file apt does not read (a
`.disabled` or `.bak` file) does not count. What starts the run (the
apt-daily-upgrade timer, or cron's apt-compat without systemd) is not checked.

dnf: dnf-automatic must be installed, one of its timers enabled, and
`/etc/dnf/automatic.conf` must apply the updates (`apply_updates = yes`, or the
`dnf-automatic-install.timer` that applies them whatever the file says).
`upgrade_type` default and security both install security updates.
"""

from __future__ import annotations

import configparser
import re
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import ProbeRun, to_bool, to_int

_APT_LINE = re.compile(r'^(\S+?)(?:::)?\s+"(.*)";$')


def parse_apt_config(content: str) -> dict[str, list[str]]:
    """`apt-config dump` lines (`Key "value";`, list items as `Key:: "value";`) -> key -> values."""
    out: dict[str, list[str]] = {}
    for line in content.splitlines():
        m = _APT_LINE.match(line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def apt_unattended(config: dict[str, list[str]], installed: bool) -> dict[str, Any]:
    periodic = to_int((config.get("APT::Periodic::Unattended-Upgrade") or ["0"])[-1]) or 0
    enabled_all = (config.get("APT::Periodic::Enable") or ["1"])[-1] != "0"
    origins = config.get("Unattended-Upgrade::Origins-Pattern", []) + config.get(
        "Unattended-Upgrade::Allowed-Origins", []
    )
    return {
        "tool": "unattended-upgrades",
        "enabled": installed and periodic > 0 and enabled_all,
        "security": any("security" in o.lower() for o in origins) if installed else False,
        "source": "apt-config dump",
    }


def dnf_automatic(conf: str | None, timers: str) -> dict[str, Any]:
    """From automatic.conf and `systemctl list-unit-files 'dnf-automatic*.timer'`."""
    enabled_timers = {
        cols[0]
        for cols in (line.split() for line in timers.splitlines())
        if len(cols) >= 2 and cols[1] == "enabled"
    }
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(conf or "")
    except configparser.Error:
        parser = configparser.ConfigParser(interpolation=None)
    apply = to_bool(parser.get("commands", "apply_updates", fallback="no")) is True
    kind = parser.get("commands", "upgrade_type", fallback="default").strip().lower()
    runs = "dnf-automatic.timer" in enabled_timers and apply
    return {
        "tool": "dnf-automatic",
        "enabled": runs or "dnf-automatic-install.timer" in enabled_timers,
        "security": kind in ("default", "security"),
        "source": "automatic.conf, systemctl list-unit-files",
    }


def read_automatic_updates(run: ProbeRun, rhel: bool) -> dict[str, Any] | None:
    ctx = run.ctx
    probe = "patches.automatic_updates"
    if not rhel:
        pkg = ctx.run(
            "dpkg-unattended-upgrades",
            ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", "unattended-upgrades"],
        )
        # dpkg-query exits 1 for a package it has never heard of: not installed.
        if not pkg.ok and pkg.exit_code != 1:
            run.failed(pkg, probe)
            return None
        installed = pkg.ok and (pkg.value or "").startswith("ii")
        dump = ctx.run("apt-config-dump", ["apt-config", "dump"])
        if not dump.ok:
            run.failed(dump, probe)
            return None
        return apt_unattended(parse_apt_config(dump.value), installed)
    pkg = ctx.run("rpm-dnf-automatic", ["rpm", "-q", "dnf-automatic"])
    if not pkg.ok:
        if pkg.exit_code == 1:  # "package dnf-automatic is not installed"
            return {"tool": "dnf-automatic", "enabled": False, "security": False, "source": "rpm"}
        run.failed(pkg, probe)
        return None
    conf = ctx.read_text("dnf-automatic-conf", "/etc/dnf/automatic.conf")
    if not conf.ok and conf.status is not Status.ABSENT:
        run.failed(conf, probe)
        return None
    timers = ctx.run(
        "dnf-automatic-timers",
        ["systemctl", "list-unit-files", "--no-legend", "--no-pager", "dnf-automatic*.timer"],
    )
    if not timers.ok:
        run.failed(timers, probe)
        return None
    return dnf_automatic(conf.value if conf.ok else None, timers.value)
