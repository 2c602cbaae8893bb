"""Linux security: anti-malware and EDR agents, ClamAV signatures, firewall, SSH,
accounts, password policy, time sync, disk encryption, screen lock.

The firewall is read in `firewall.py`, the PAM policy in `pam.py`, services
(with or without systemd) in `services.py`.

Configuration files are preferred where they are world-readable (ufw's files,
sshd_config) so that an ordinary user still sees the facts; root adds the
effective runtime view (`ufw status`, `sshd -T`, `nft -j list ruleset`).
"""

from __future__ import annotations

import fnmatch
import posixpath
from datetime import UTC, datetime
from typing import Any

from itaudit.agent import catalog as cat
from itaudit.agent.context import Status
from itaudit.agent.probes.base import Probe, ProbeRun, iso, to_int
from itaudit.agent.probes.linux import pam
from itaudit.agent.probes.linux.firewall import read_firewall
from itaudit.agent.probes.linux.hardware import lsblk
from itaudit.agent.probes.linux.services import service_view
from itaudit.agent.probes.products import catalog_entry

CLAMAV_DIR = "/var/lib/clamav"
_GUI = {
    "Xorg",
    "Xwayland",
    "gnome-shell",
    "plasmashell",
    "gdm",
    "gdm3",
    "lightdm",
    "sddm",
    "xfce4-session",
    "cinnamon",
    "mate-session",
}
_TIME_DAEMONS = ("chronyd", "ntpd", "systemd-timesyncd", "openntpd", "ntpsec")
_ADMIN_GROUPS = ("sudo", "wheel", "admin")


# -- parsers ------------------------------------------------------------------


def clamav_header(header: str) -> tuple[datetime | None, str | None]:
    """Build time and version from a .cvd/.cld header.

    `ClamAV-VDB:<build time>:<version>:<sigs>:<f-level>:<md5>:<dsig>:<builder>:<stime>`;
    the last field is the build time in seconds since 1970, which needs no
    month-name parsing.
    """
    first = header.split("\n", 1)[0].strip("\x00 ").strip()
    if not first.startswith("ClamAV-VDB:"):
        return None, None
    fields = first.split(":")
    version = fields[2] if len(fields) > 2 and fields[2].isdigit() else None
    moment = None
    if len(fields) > 8 and fields[-1].strip().isdigit():
        try:
            moment = datetime.fromtimestamp(int(fields[-1].strip()), UTC)
        except (OverflowError, ValueError):
            moment = None
    if moment is None and len(fields) > 1:
        try:
            moment = datetime.strptime(fields[1].strip(), "%d %b %Y %H-%M %z").astimezone(UTC)
        except ValueError:
            moment = None
    return moment, version


def parse_sshd_t(content: str) -> dict[str, str]:
    """`sshd -T`: one lower-case keyword and its value per line."""
    out = {}
    for line in content.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            out[key.lower()] = value.strip()
    return out


def sshd_settings(run: ProbeRun) -> dict[str, str]:
    """Effective global settings from sshd_config and its Includes (first value wins)."""
    found: dict[str, str] = {}

    def read(source: str, path: str, depth: int) -> None:
        res = run.ctx.read_text(source, path)
        if not res.ok:
            if res.status is not Status.ABSENT:
                run.failed(res, "security.ssh")
            return
        for raw in res.value.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, _, value = line.replace("=", " ", 1).partition(" ")
            key, value = key.lower(), value.strip()
            if key == "match":
                return  # what follows applies only to matching connections
            if key == "include" and depth < 3:
                for pattern in value.split():
                    include(pattern, depth + 1)
            elif key not in found:
                found[key] = value

    def include(pattern: str, depth: int) -> None:
        full = pattern if pattern.startswith("/") else posixpath.join("/etc/ssh", pattern)
        folder, mask = posixpath.split(full)
        listing = run.ctx.list_dir(
            "sshd-config-d" if folder == "/etc/ssh/sshd_config.d" else _src(folder), folder
        )
        if not listing.ok:
            return
        for name in listing.value:
            if fnmatch.fnmatch(name, mask):
                read(_src(posixpath.join(folder, name)), posixpath.join(folder, name), depth)

    read("sshd-config", "/etc/ssh/sshd_config", 0)
    return found


def _src(path: str) -> str:
    """A bundle-safe source name for a file path."""
    name = path.strip("/").replace("/", "-").replace("@", "-")
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name)[:120]


def parse_passwd(content: str) -> list[tuple[str, int, int]]:
    out = []
    for line in content.splitlines():
        cols = line.split(":")
        if len(cols) >= 4 and cols[0] and not line.startswith("#"):
            uid, gid = to_int(cols[2]), to_int(cols[3])
            if uid is not None and gid is not None:
                out.append((cols[0], uid, gid))
    return out


def parse_group(content: str) -> dict[str, tuple[int | None, list[str]]]:
    out = {}
    for line in content.splitlines():
        cols = line.split(":")
        if len(cols) >= 4 and cols[0]:
            members = [m for m in cols[3].split(",") if m]
            out[cols[0]] = (to_int(cols[2]), members)
    return out


def parse_keyvalue_conf(content: str) -> dict[str, str]:
    """`KEY value` or `key = value` lines (login.defs, pwquality.conf, faillock.conf)."""
    out = {}
    for raw in content.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" in line:
            key, _, value = line.partition("=")
        else:
            parts = line.split(None, 1)
            key, value = parts[0], parts[1] if len(parts) > 1 else ""
        out[key.strip().lower()] = value.strip()
    return out


def parse_timedatectl(content: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in content.splitlines() if "=" in line)


def encryption_volumes(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mounted file systems, `on` when a dm-crypt (LUKS) layer is beneath them."""
    out: list[dict[str, Any]] = []

    def walk(dev: dict[str, Any], crypt: bool) -> None:
        crypt = crypt or dev.get("type") == "crypt"
        mount = dev.get("mountpoint")
        if isinstance(mount, str) and mount.startswith("/") and not mount.startswith("/boot"):
            out.append(
                {
                    "mount": mount[:256],
                    "protection": "on" if crypt else "off",
                    "method": "dm-crypt" if crypt else None,
                    "percent": None,
                }
            )
        for child in dev.get("children") or []:
            if isinstance(child, dict):
                walk(child, crypt)

    for dev in devices:
        if isinstance(dev, dict):
            walk(dev, False)
    return out[:64]


# -- the probe ----------------------------------------------------------------


class SecurityProbe(Probe):
    name = "security"

    def collect(self, run: ProbeRun) -> None:
        sec = run.section("security")
        view = service_view(run)
        procs = view.processes
        sightings = cat.match(run.catalog, "linux", view.services, procs.keys())
        self._products(run, sec, sightings)
        run.probe = "security.firewall"
        sec["firewall"] = read_firewall(run)
        run.probe = "security.ssh"
        # systemd's unit (ssh.service) or, without systemd, the process decides.
        sec["ssh"] = self._ssh(run, {"sshd": 1} if view.running("sshd", "ssh") else procs)
        run.probe = "security.accounts"
        self._accounts(run, sec)
        run.probe = "security.password_policy"
        sec["password_policy"] = self._password_policy(run)
        run.probe = "security.time_sync"
        sec["time_sync"] = self._time_sync(run, procs)
        run.probe = "security.screen_lock"
        if any(p in procs for p in _GUI):
            sec["screen_lock"] = None
            run.error("unsupported", "desktop screen-lock settings are not read on Linux yet")
        else:
            # A fact about the machine, not a failure to read one: with no graphical
            # session there is no screen to lock, so the rule does not concern it.
            sec["screen_lock"] = {
                "graphical": False,
                "enabled": None,
                "timeout_seconds": None,
                "requires_password": None,
            }
        devices = lsblk(run)
        sec["disk_encryption"] = (
            {"volumes": encryption_volumes(devices)} if devices is not None else None
        )
        sec["remote_desktop"] = None
        sec["smb1"] = None
        sec["autorun"] = None

    # -- products -------------------------------------------------------------
    def _products(self, run: ProbeRun, sec: dict[str, Any], sightings: list[cat.Sighting]) -> None:
        run.probe = "security.antivirus"
        antivirus: list[dict[str, Any]] = []
        edr: list[dict[str, Any]] = []
        clam = next((s for s in sightings if s.product.id == "clamav"), None)
        clam_entry = self._clamav(run, clam)
        if clam_entry:
            antivirus.append(clam_entry)
        for s in sightings:
            if s.product.id == "clamav":
                continue
            (edr if s.product.kind == "edr" else antivirus).append(catalog_entry(s))
        sec["antivirus"] = antivirus[:32]
        sec["edr"] = edr[:32]

    def _clamav(self, run: ProbeRun, sighting: cat.Sighting | None) -> dict[str, Any] | None:
        listing = run.ctx.list_dir("clamav-db", CLAMAV_DIR)
        if not listing.ok:
            if listing.status is not Status.ABSENT:
                run.failed(listing, "security.antivirus")
            if sighting is None:
                return None
            names: list[str] = []
        else:
            names = listing.value
        moment = version = None
        for db in ("daily.cld", "daily.cvd"):
            if db in names:
                head = run.ctx.read_text("clamav-daily-header", f"{CLAMAV_DIR}/{db}", max_bytes=512)
                if head.ok:
                    moment, version = clamav_header(head.value)
                else:
                    run.failed(head, "security.antivirus")
                break
        if sighting is None and moment is None:
            return None
        if moment is None:
            run.error("absent", f"ClamAV runs but {CLAMAV_DIR} holds no daily database")
        return {
            "name": "ClamAV",
            "vendor": "Cisco",
            "source": "clamav",
            "enabled": sighting.running if sighting else False,
            # ClamAV does not judge its own freshness; rules read signature_date.
            "up_to_date": None,
            "signature_date": iso(moment),
            "signature_version": version,
            "product_state": None,
            "running": sighting.running if sighting else False,
            "mode": None,
            "managed": None,
            "console": None,
        }

    # -- ssh ------------------------------------------------------------------
    def _ssh(self, run: ProbeRun, procs: dict[str, int]) -> dict[str, Any] | None:
        ctx = run.ctx
        running = "sshd" in procs
        settings: dict[str, str] | None = None
        if ctx.elevated:
            res = ctx.run("sshd-effective", ["sshd", "-T"])
            if res.ok:
                settings = parse_sshd_t(res.value)
            elif res.status is Status.ABSENT:
                pass
            else:
                run.failed(res)
        if settings is None:
            main = ctx.read_text("sshd-config", "/etc/ssh/sshd_config")
            if not main.ok:
                if main.status is Status.ABSENT:
                    # No OpenSSH server installed: nothing listens, nothing to configure.
                    return {
                        "running": running,
                        "permit_root_login": None,
                        "password_authentication": None,
                    }
                run.failed(main)
                return {
                    "running": running,
                    "permit_root_login": None,
                    "password_authentication": None,
                }
            settings = sshd_settings(run)
        # OpenSSH defaults (7.0+) when the keyword is absent.
        root = settings.get("permitrootlogin", "prohibit-password").lower()
        if root == "without-password":
            root = "prohibit-password"
        password = settings.get("passwordauthentication", "yes").lower()
        return {
            "running": running,
            "permit_root_login": root[:64],
            "password_authentication": password == "yes",
        }

    # -- accounts -------------------------------------------------------------
    def _accounts(self, run: ProbeRun, sec: dict[str, Any]) -> None:
        passwd = run.ctx.read_text("etc-passwd", "/etc/passwd")
        group = run.ctx.read_text("etc-group", "/etc/group")
        users = parse_passwd(passwd.value) if passwd.ok else []
        run.failed(passwd)
        run.failed(group)
        sec["accounts"] = (
            {
                "builtin_admin": None,
                "guest": None,
                "uid0": [name[:256] for name, uid, _ in users if uid == 0][:64],
            }
            if passwd.ok
            else None
        )
        if not group.ok:
            sec["local_admins"] = []
            return
        groups = parse_group(group.value)
        admins: list[str] = []
        for gname in _ADMIN_GROUPS:
            if gname not in groups:
                continue
            gid, members = groups[gname]
            for member in members + [u for u, _, pgid in users if pgid == gid]:
                if member not in admins:
                    admins.append(member)
        sec["local_admins"] = [
            {"name": a[:256], "sid": None, "kind": "user", "source": "local"} for a in admins
        ][:256]

    # -- password policy -----------------------------------------------------
    def _password_policy(self, run: ProbeRun) -> dict[str, Any] | None:
        """Length, complexity and lockout from what PAM loads; ages from login.defs.

        login.defs PASS_MIN_LEN is not read: PAM ignores it (shadow-utils uses it
        only without PAM), so it is a value that nothing loads.
        """
        ctx = run.ctx
        defs = ctx.read_text("login-defs", "/etc/login.defs")
        d = parse_keyvalue_conf(defs.value) if defs.ok else {}
        run.failed(defs)
        stacks = pam.Stacks(run)
        pw, pw_sources = pam.password_rules(run, stacks)
        lock, lock_sources = pam.lockout_rules(run, stacks)
        if not defs.ok and pw["min_length"] is None and lock["lockout_threshold"] is None:
            return None
        if pw["min_length"] is None and lock["lockout_threshold"] is None and not stacks.unreadable:
            run.error("absent", "no PAM stack found in /etc/pam.d: password rules unknown")
        max_days = to_int(d.get("pass_max_days"))
        if max_days is not None and max_days >= 99999:
            max_days = 0  # the schema's "never expires"
        sources = pw_sources + lock_sources
        if "pass_max_days" in d:
            sources.append({"setting": "max_age_days", "where": "/etc/login.defs", "text": None})
        return {
            "min_length": pw["min_length"],
            "max_age_days": max_days if max_days is None or 0 <= max_days <= 100000 else None,
            "min_age_days": _bounded(to_int(d.get("pass_min_days")), 100000),
            "history": None,
            "complexity": pw["complexity"],
            "lockout_threshold": _bounded(lock["lockout_threshold"], 100000),  # type: ignore[arg-type]
            "lockout_duration_minutes": _bounded(lock["lockout_duration_minutes"], 100000),  # type: ignore[arg-type]
            "sources": sources[:16],
        }

    # -- time ---------------------------------------------------------------------
    def _time_sync(self, run: ProbeRun, procs: dict[str, int]) -> dict[str, Any] | None:
        daemon = next((d for d in _TIME_DAEMONS if d in procs), None)
        res = run.ctx.run("timedatectl", ["timedatectl", "show"])
        if res.ok:
            values = parse_timedatectl(res.value)
            return {
                "enabled": values.get("NTP") == "yes",
                "service": daemon,
                "source": None,
                "synchronized": values.get("NTPSynchronized") == "yes",
            }
        if daemon:
            return {"enabled": True, "service": daemon, "source": None, "synchronized": None}
        if res.status is Status.FAILED and "systemd" in res.message:
            run.error("unsupported", "timedatectl: systemd is not running, and no NTP daemon runs")
        else:
            run.failed(res)
        return None


def _bounded(value: int | None, top: int) -> int | None:
    return value if value is not None and 0 <= value <= top else None
