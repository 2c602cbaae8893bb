"""Who may read a secret file (a signing key, the collector's TLS key, the enrolment
token), on POSIX and on Windows.

POSIX: the mode bits; a secret is 0600 and any group/other bit exposes it.

Windows: permission bits mean nothing there (`os.chmod` only sets read-only); a
file takes the ACL of its folder, and `%ProgramData%` lets every member of Users
read what is created below it. So:

- restricting is `icacls PATH /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F
  *USER-SID:F` (SYSTEM, Administrators, the account running itaudit, its SID from
  `whoami /user`; SIDs, never localised names), run as an argument list;
- checking reads the ACL through PowerShell's Get-Acl with every identity
  translated to its SID, so a Vietnamese, French or German Windows answers the
  same: an Allow entry that grants reading to Everyone, Authenticated Users,
  Users, Guests, Anonymous or Interactive exposes the file.

Both take the runner injected (argv, extra environment) -> (exit code, stdout),
so the parsing is tested on Linux.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

Runner = Callable[[list[str], Mapping[str, str]], tuple[int, str]]

SID_SYSTEM = "S-1-5-18"
SID_ADMINISTRATORS = "S-1-5-32-544"
# Principals that mean "other people on this machine or domain".
BROAD_SIDS = {
    "S-1-1-0": "Everyone",
    "S-1-5-7": "Anonymous",
    "S-1-5-4": "Interactive",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-32-545": "Users",
    "S-1-5-32-546": "Guests",
}
# FILE_READ_DATA, GENERIC_ALL, GENERIC_READ (winnt.h access mask bits).
_READ_BITS = 0x1 | 0x10000000 | 0x80000000

# The path goes in an environment variable: no quoting of a path inside a script.
_GET_ACL = (
    "$ErrorActionPreference='Stop';"
    "(Get-Acl -LiteralPath $env:ITAUDIT_ACL_PATH).Access | ForEach-Object {"
    " $_.IdentityReference.Translate([Security.Principal.SecurityIdentifier]).Value"
    " + '|' + $_.AccessControlType + '|' + [int64]$_.FileSystemRights }"
)


@dataclass(frozen=True)
class Exposure:
    """What a check found: `who` lists those who may read besides the owner;
    `error` says why it could not be checked (then `who` is empty)."""

    who: tuple[str, ...] = ()
    error: str | None = None

    @property
    def exposed(self) -> bool:
        return bool(self.who)


def run_command(argv: list[str], extra_env: Mapping[str, str]) -> tuple[int, str]:
    """The real runner: (exit code, stdout); 127 when the program is missing."""
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
            env={**os.environ, **extra_env},
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return 127, ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 126, str(exc)
    return proc.returncode, proc.stdout


def parse_acl(text: str) -> tuple[str, ...]:
    """Get-Acl lines `SID|Allow|rights` -> names of the broad principals that may read."""
    who: list[str] = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3 or parts[1] != "Allow":
            continue
        try:
            rights = int(parts[2])
        except ValueError:
            continue
        name = BROAD_SIDS.get(parts[0])
        if name and rights & _READ_BITS and name not in who:
            who.append(name)
    return tuple(who)


def exposure(
    path: Path,
    platform: str = sys.platform,
    runner: Runner = run_command,
) -> Exposure:
    """Whether users other than the owner (and administrators) may read `path`."""
    if platform == "win32":
        argv = ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", _GET_ACL]
        code, out = runner(argv, {"ITAUDIT_ACL_PATH": str(path)})
        if code != 0 or not out.strip():
            return Exposure(error=f"cannot read the access list of {path} (Get-Acl, exit {code})")
        return Exposure(who=parse_acl(out))
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return Exposure(error=f"cannot read {path}: {exc.strerror or exc}")
    who = []
    if mode & 0o070:
        who.append("group")
    if mode & 0o007:
        who.append("others")
    return Exposure(who=(f"{'/'.join(who)} (mode {mode:o})",) if who else ())


def restrict_argv(path: Path, user: str, folder: bool = False) -> list[str]:
    """icacls arguments that leave `path` to SYSTEM, Administrators and `user` only."""
    inherit = "(OI)(CI)" if folder else ""
    return [
        "icacls",
        str(path),
        "/inheritance:r",
        "/grant:r",
        f"*{SID_SYSTEM}:{inherit}F",
        f"*{SID_ADMINISTRATORS}:{inherit}F",
        f"{user}:{inherit}F",
    ]


def parse_whoami(text: str) -> str | None:
    """`whoami /user /fo csv /nh` -> the user's SID ("nt authority\\system","S-1-5-18")."""
    lines = text.strip().splitlines()
    sid = lines[-1].rsplit(",", 1)[-1].strip().strip('"') if lines else ""
    return sid if sid.startswith("S-1-") else None


def current_user(runner: Runner = run_command, env: Mapping[str, str] | None = None) -> str:
    """The account running itaudit, for icacls: `*SID` from whoami (the same in every
    language, and right for SYSTEM running a scheduled task, whose USERNAME is
    "PC$"), else DOMAIN\\user from the environment."""
    code, out = runner(["whoami", "/user", "/fo", "csv", "/nh"], {})
    sid = parse_whoami(out) if code == 0 else None
    if sid:
        return f"*{sid}"
    env = os.environ if env is None else env
    user = env.get("USERNAME", "")
    domain = env.get("USERDOMAIN", "")
    return f"{domain}\\{user}" if domain and user else user


def restrict_to_owner(
    path: Path,
    platform: str = sys.platform,
    runner: Runner = run_command,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Leave `path` readable by its owner only; None, or why it could not be done."""
    if platform == "win32":
        user = current_user(runner, env)
        if not user:
            return "cannot tell who runs itaudit (whoami failed, USERNAME unset)"
        code, out = runner(restrict_argv(path, user, folder=path.is_dir()), {})
        return None if code == 0 else f"icacls failed (exit {code}): {out.strip()[:200]}"
    try:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    except OSError as exc:
        return f"cannot chmod {path}: {exc.strerror or exc}"
    return None


def fix_hint(path: Path, platform: str = sys.platform) -> str:
    """The command an officer runs to restrict `path`."""
    if platform == "win32":
        return (
            f'icacls "{path}" /inheritance:r /grant:r *{SID_SYSTEM}:F '
            f'*{SID_ADMINISTRATORS}:F "%USERDOMAIN%\\%USERNAME%":F'
        )
    return f"chmod 600 {path}"
