"""Linux server hardening facts a level-1 server shows (the checks Lynis makes):
logging daemons, listening sockets, legacy clear-text services, the USB storage
driver, accounts with empty passwords, permissions of /etc/shadow and of home
directories, and the idle shell timeout (TMOUT).

Each fact is null when no source could say (and the reason is in `errors`),
never a guess: an unreadable /etc/shadow gives no list of empty passwords, not
an empty one.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from itaudit.agent.context import Result, Status
from itaudit.agent.probes.base import Probe, ProbeRun, to_int
from itaudit.agent.probes.linux.listening import read_listening
from itaudit.agent.probes.linux.security import _src, parse_passwd
from itaudit.agent.probes.linux.services import ServiceView, service_view

# Process names are the kernel's (at most 15 characters: systemd-journald is "systemd-journal").
SYSLOG_DAEMONS = (
    "rsyslogd",
    "rsyslog",
    "syslog-ng",
    "syslogd",
    "systemd-journald",
    "systemd-journal",
)
AUDIT_DAEMONS = ("auditd",)
# Clear-text remote-login and file-transfer daemons, and the super-servers that start them.
LEGACY_DAEMONS = (
    "telnetd", "in.telnetd", "telnet", "rshd", "in.rshd", "rsh", "rlogind", "in.rlogind",
    "rlogin", "rexecd", "in.rexecd", "tftpd", "in.tftpd", "tftpd-hpa", "atftpd", "tftp",
    "inetd", "xinetd", "openbsd-inetd", "inetutils-inetd",
)  # fmt: skip
# (protocol, port) -> what listens there by convention (IANA); 514/udp is syslog, not rsh.
LEGACY_PORTS = {
    ("tcp", 23): "telnet",
    ("tcp", 512): "rexec",
    ("tcp", 513): "rlogin",
    ("tcp", 514): "rsh",
    ("udp", 69): "tftp",
}
MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d")
SHADOW_STATUS = (
    "awk",
    "-F:",
    '{ print $1 ":" ($2 == "" ? "empty" : ($2 ~ /^[!*]/ ? "locked" : "set")) }',
    "/etc/shadow",
)
_NOLOGIN = ("nologin", "false", "sync", "halt", "shutdown")
_NOOP = ("false", "true")
_TMOUT = re.compile(
    r"^\s*(?:(?:export|readonly|declare|typeset|local)(?:\s+-[a-zA-Z]+)*\s+)?TMOUT=['\"]?(\d+)"
)
_TMOUT_READONLY = re.compile(
    r"^\s*(?:readonly(?:\s+-[a-zA-Z]+)*|(?:declare|typeset)\s+-[a-zA-Z]*r[a-zA-Z]*)\s+.*\bTMOUT\b"
)


# -- parsers ------------------------------------------------------------------


def parse_shadow_status(content: str) -> list[tuple[str, str]]:
    """(account, empty|locked|set) lines printed by SHADOW_STATUS (no hash is ever read out)."""
    out = []
    for line in content.splitlines():
        name, _, state = line.rpartition(":")
        if name and state in ("empty", "locked", "set"):
            out.append((name, state))
    return out


def parse_stat(content: str) -> list[dict[str, Any]]:
    """`stat -L -c '%a %U %G %n'` lines -> mode facts per path."""
    out = []
    for line in content.splitlines():
        cols = line.split(" ", 3)
        if len(cols) < 4 or not re.fullmatch(r"[0-7]{1,4}", cols[0]):
            continue
        mode = int(cols[0], 8)
        out.append(
            {
                "path": cols[3][:256],
                "mode": f"{mode:04o}",
                "owner": cols[1][:64],
                "group": cols[2][:64],
                "group_read": bool(mode & 0o040),
                "group_write": bool(mode & 0o020),
                "other_access": mode & 0o007,
            }
        )
    return out


def usb_storage_rule(path: str, content: str) -> str | None:
    """The first line of a modprobe.d file that keeps usb-storage from loading, as 'path:line'."""
    for number, raw in enumerate(content.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if len(words) < 2 or words[1].replace("-", "_") != "usb_storage":
            continue
        if words[0] == "blacklist":
            return f"{path}:{number} blacklist {words[1]}"
        # `install usb-storage /bin/false` (or true): loading runs that instead.
        if words[0] == "install" and len(words) > 2 and posixpath.basename(words[2]) in _NOOP:
            return f"{path}:{number} install {words[1]} {words[2]}"
    return None


def module_loaded(proc_modules: str, name: str = "usb_storage") -> bool:
    return any(line.split(" ", 1)[0] == name for line in proc_modules.splitlines())


def tmout_settings(files: list[tuple[str, str]]) -> tuple[int, bool, str | None]:
    """The TMOUT a login shell ends up with: (seconds, readonly, 'path:line') from files in
    the order the shell reads them; 0 when none sets it. A readonly TMOUT stops later
    assignments (bash refuses them)."""
    seconds, readonly, where = 0, False, None
    for path, content in files:
        for number, raw in enumerate(content.splitlines(), 1):
            line = raw.split("#", 1)[0]
            assign = _TMOUT.match(line)
            if assign and not readonly:
                seconds, where = int(assign.group(1)), f"{path}:{number}"
            if _TMOUT_READONLY.match(line) and (seconds or assign):
                readonly = True
    return seconds, readonly, where


# -- the probe ----------------------------------------------------------------


class HardeningProbe(Probe):
    name = "hardening"

    def collect(self, run: ProbeRun) -> None:
        sec = run.section("security")
        view = service_view(run)
        run.probe = "security.logging"
        sec["logging"] = self._logging(view)
        run.probe = "security.listening"
        listening = read_listening(run)
        sec["listening"] = listening
        run.probe = "security.legacy_services"
        sec["legacy_services"] = self._legacy(view, listening)
        run.probe = "security.usb_storage"
        sec["usb_storage"] = self._usb_storage(run)
        run.probe = "security.accounts.empty_password"
        if sec.get("accounts") is not None:
            sec["accounts"]["empty_password"] = self._empty_passwords(run)
        run.probe = "security.key_files"
        sec["key_files"] = self._key_files(run)
        run.probe = "security.home_directories"
        sec["home_directories"] = self._homes(run)
        run.probe = "security.shell_timeout"
        sec["shell_timeout"] = self._tmout(run)

    @staticmethod
    def _logging(view: ServiceView) -> dict[str, Any] | None:
        if not view.known():
            return None  # services.py recorded why
        syslog = view.running(*SYSLOG_DAEMONS)
        return {
            "syslog_running": syslog is not None,
            "syslog_daemon": syslog,
            "audit_running": view.running(*AUDIT_DAEMONS) is not None,
        }

    @staticmethod
    def _legacy(
        view: ServiceView, listening: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        if not view.known() and listening is None:
            return None
        found: list[dict[str, Any]] = []
        wanted = {n.casefold() for n in LEGACY_DAEMONS}
        for name, running in view.services:
            if running and name.removesuffix(".service").casefold() in wanted:
                found.append({"name": name.removesuffix(".service")[:64], "via": "service"})
        for proc in view.processes:
            if proc.casefold() in wanted and all(f["name"] != proc for f in found):
                found.append({"name": proc[:64], "via": "process"})
        for sock in listening or []:
            what = LEGACY_PORTS.get((sock["protocol"], sock["port"]))
            if what:
                found.append({"name": f"{what} ({sock['name']})"[:64], "via": "port"})
        return found[:64]

    @staticmethod
    def _usb_storage(run: ProbeRun) -> dict[str, Any] | None:
        ctx = run.ctx
        loaded: bool | None = None
        mods = ctx.read_text("proc-modules", "/proc/modules")
        if mods.ok:
            loaded = module_loaded(mods.value)
        how: str | None = None
        seen: set[str] = set()
        unreadable = False
        for folder in MODPROBE_DIRS:
            listing = ctx.list_dir(_src(folder), folder)
            if not listing.ok:
                if listing.status is not Status.ABSENT:
                    run.failed(listing)
                    unreadable = True
                continue
            for name in listing.value:
                # A file in /etc/modprobe.d replaces the one of the same name further down.
                if not name.endswith(".conf") or name in seen:
                    continue
                seen.add(name)
                path = f"{folder}/{name}"
                conf = ctx.read_text(_src(path), path)
                if not conf.ok:
                    run.failed(conf)
                    unreadable = True
                elif how is None:
                    how = usb_storage_rule(path, conf.value)
        if loaded:
            # Loaded now: USB disks work now, whatever the files say for the next boot.
            return {"blocked": False, "loaded": True, "how": how}
        if how is not None:
            return {"blocked": True, "loaded": loaded, "how": how[:256]}
        present = _module_present(run)
        if present is None or unreadable:
            return {"blocked": None, "loaded": loaded, "how": None}
        if present == "absent":
            return {
                "blocked": True,
                "loaded": loaded,
                "how": "the usb-storage module is not installed",
            }
        return {"blocked": False, "loaded": loaded, "how": None}

    @staticmethod
    def _empty_passwords(run: ProbeRun) -> list[str] | None:
        if run.ctx.elevated is False:
            run.error("denied", "/etc/shadow is readable only by root: empty passwords unknown")
            return None
        res = run.ctx.run("shadow-status", SHADOW_STATUS)
        if not res.ok:
            if "Permission denied" in res.message:
                run.error("denied", "/etc/shadow is readable only by root: empty passwords unknown")
            else:
                run.failed(res)
            return None
        states = parse_shadow_status(res.value)
        if not states:
            run.error("failed", "/etc/shadow lists no account: empty passwords unknown")
            return None
        return [name[:256] for name, state in states if state == "empty"][:64]

    @staticmethod
    def _key_files(run: ProbeRun) -> list[dict[str, Any]] | None:
        res = _stat(run, "stat-key-files", ["/etc/shadow", "/etc/gshadow"])
        return None if res is None else res[:16]

    @staticmethod
    def _homes(run: ProbeRun) -> list[dict[str, Any]] | None:
        passwd = run.ctx.read_text("etc-passwd", "/etc/passwd")
        if not passwd.ok:
            run.failed(passwd)
            return None
        homes: dict[str, str] = {}
        for line in passwd.value.splitlines():
            cols = line.split(":")
            if len(cols) < 7 or not parse_passwd(line):
                continue
            uid, home, shell = to_int(cols[2]), cols[5], cols[6].strip()
            interactive = posixpath.basename(shell) not in _NOLOGIN and shell != ""
            people = uid is not None and (uid == 0 or 1000 <= uid < 65534)
            if (
                people
                and interactive
                and home.startswith("/")
                and home not in ("/", "/nonexistent")
            ):
                homes.setdefault(home, cols[0])
        if not homes:
            return []
        found = _stat(run, "stat-home-directories", sorted(homes))
        if found is None:
            return None
        for item in found:
            item["user"] = homes.get(item["path"])
        return found[:256]

    @staticmethod
    def _tmout(run: ProbeRun) -> dict[str, Any] | None:
        ctx = run.ctx
        files: list[tuple[str, str]] = []
        failed = False

        def read(source: str, path: str) -> None:
            nonlocal failed
            res = ctx.read_text(source, path)
            if res.ok:
                files.append((path, res.value))
            elif res.status is not Status.ABSENT:
                run.failed(res)
                failed = True

        # Debian's /etc/profile reads /etc/bash.bashrc first, then /etc/profile.d/*.sh.
        read("etc-bash.bashrc", "/etc/bash.bashrc")
        read("etc-profile", "/etc/profile")
        listing = ctx.list_dir("profile-d", "/etc/profile.d")
        if listing.ok:
            for name in listing.value:
                if name.endswith(".sh"):
                    read(_src(f"/etc/profile.d/{name}"), f"/etc/profile.d/{name}")
        elif listing.status is not Status.ABSENT:
            run.failed(listing)
            failed = True
        seconds, readonly, where = tmout_settings(files)
        if failed and not seconds:
            return None  # an unread file may set it
        return {"seconds": seconds, "readonly": readonly, "where": where}


def _module_present(run: ProbeRun) -> str | None:
    """'absent', 'present' (a module file or built into the kernel), or None when unknown."""
    kernel = run.report.get("os", {}).get("kernel")
    if not kernel:
        run.error("absent", "kernel release unknown: the usb-storage module was not looked for")
        return None
    base = f"/lib/modules/{kernel}"
    builtin = run.ctx.read_text("modules-builtin", f"{base}/modules.builtin")
    if not builtin.ok:
        # No module tree for the running kernel (a container sees the host's kernel):
        # whether the driver exists cannot be told from here.
        run.failed(builtin, what=f"{base}/modules.builtin (no module tree of the running kernel?)")
        return None
    if any(line.endswith("/usb-storage.ko") for line in builtin.value.splitlines()):
        return "present"
    folder = run.ctx.list_dir("usb-storage-module", f"{base}/kernel/drivers/usb/storage")
    if folder.ok:
        return "present" if any(n.startswith("usb-storage.ko") for n in folder.value) else "absent"
    if folder.status is Status.ABSENT:
        return "absent"
    run.failed(folder)
    return None


def _stat(run: ProbeRun, source: str, paths: list[str]) -> list[dict[str, Any]] | None:
    res: Result = run.ctx.run(source, ["stat", "-L", "-c", "%a %U %G %n", "--", *paths])
    # stat exits 1 when a path does not exist; the others are still printed.
    if res.ok or (res.exit_code == 1 and res.value):
        return parse_stat(res.value)
    if res.exit_code == 1 and "No such file" in res.message:
        return []
    run.failed(res)
    return None
