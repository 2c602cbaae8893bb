"""Linux operating system: os-release, kernel, host name, locale, boot time."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from itaudit.agent.probes.base import Probe, ProbeRun, hostname_label, iso, text


def parse_os_release(content: str) -> dict[str, str]:
    """KEY=value lines, values possibly quoted (os-release(5))."""
    out: dict[str, str] = {}
    for line in content.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        out[key.strip()] = parts[0] if parts else ""
    return out


def parse_locale(content: str) -> str | None:
    """vi-VN from LANG=vi_VN.UTF-8 (/etc/default/locale or /etc/locale.conf)."""
    values = parse_os_release(content)
    lang = values.get("LANG") or values.get("LC_ALL")
    if not lang:
        return None
    base = lang.split(".", 1)[0].split("@", 1)[0]
    if base in ("C", "POSIX"):
        return base
    return base.replace("_", "-")[:32] or None


def parse_btime(content: str) -> datetime | None:
    for line in content.splitlines():
        if line.startswith("btime "):
            try:
                return datetime.fromtimestamp(int(line.split()[1]), UTC)
            except (ValueError, IndexError, OverflowError):
                return None
    return None


class OSProbe(Probe):
    name = "os"

    def collect(self, run: ProbeRun) -> None:
        ctx, os_ = run.ctx, run.section("os")
        os_["family"] = "linux"
        rel = ctx.read_text("os-release", "/etc/os-release")
        if not rel.ok:
            rel = ctx.read_text("usr-lib-os-release", "/usr/lib/os-release")
        if rel.ok:
            values = parse_os_release(rel.value)
            os_["name"] = text(values.get("PRETTY_NAME") or values.get("NAME"))
            os_["version"] = text(values.get("VERSION_ID"), 64)
            os_["distribution"] = text(values.get("ID"), 64)
        else:
            run.failed(rel, "os.release")

        uname = ctx.run("uname", ["uname", "-r", "-m"])
        if uname.ok and len(uname.value.split()) == 2:
            kernel, arch = uname.value.split()
            os_["kernel"] = kernel[:256]
            os_["architecture"] = arch[:32]
        else:
            run.failed(uname, "os.kernel")

        host = ctx.read_text("hostname", "/proc/sys/kernel/hostname")
        if host.ok and host.value.strip():
            full = host.value.strip()
            run.identity["hostname"] = hostname_label(full)
            if "." in full:
                run.identity["fqdn"] = full[:253]
        else:
            run.failed(host, "identity.hostname")

        for source, path in (
            ("default-locale", "/etc/default/locale"),
            ("locale-conf", "/etc/locale.conf"),
        ):
            loc = ctx.read_text(source, path)
            if loc.ok:
                os_["language"] = parse_locale(loc.value)
                break

        stat = ctx.read_text("proc-stat", "/proc/stat")
        if stat.ok:
            os_["last_boot_at"] = iso(parse_btime(stat.value))
        else:
            run.failed(stat, "os.last_boot")
