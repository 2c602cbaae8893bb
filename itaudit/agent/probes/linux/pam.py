"""The password and lockout policy PAM actually enforces.

A value counts only when a module that reads it is loaded: `pwquality.conf`
says nothing unless `pam_pwquality` is in the password stack, `faillock.conf`
nothing unless `pam_faillock` is in the auth stack. The stacks are read from
the service files that use them (`passwd` for changing a password; `login` and
`sshd` for logging on), following `@include`, `include` and `substack`, with
the distribution's shared files (`common-*`, `system-auth`) when the service
files are missing. Every deciding value carries the file and line it came from.

Defaults, when a loaded module is not given the option (the modules' manual
pages): pam_unix minlen 6; pam_pwquality minlen 8 (libpwquality 1.4),
pam_cracklib minlen 9; pam_faillock deny 3 and unlock_time 600 s; pam_tally2
has no default deny (it never locks without one).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from itaudit.agent.context import Status
from itaudit.agent.probes.base import ProbeRun, to_int

PAM_DIR = "/etc/pam.d"
PWQUALITY_CONF = "/etc/security/pwquality.conf"
FAILLOCK_CONF = "/etc/security/faillock.conf"
_PASSWORD_ROOTS = (("passwd",), ("common-password", "system-auth"))
_AUTH_ROOTS = (("login", "sshd"), ("common-auth", "system-auth", "password-auth"))
_CLASSES = ("dcredit", "ucredit", "lcredit", "ocredit")


@dataclass(frozen=True)
class Line:
    """One module line of a stack, with where it was read."""

    type: str
    module: str  # base name without .so: pam_unix, pam_pwquality
    args: tuple[str, ...]
    file: str
    number: int
    text: str

    def arg(self, name: str) -> str | None:
        for a in self.args:
            key, eq, value = a.partition("=")
            if eq and key == name:
                return value
        return None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


_CONTROL = re.compile(r"^(-?\w+)\s+(\[[^\]]*\]|\S+)\s*(.*)$")


def parse_pam(text: str, file: str) -> list[tuple[int, str, str, str, list[str]]]:
    """(line number, type, control, module or included file, args) per line."""
    out: list[tuple[int, str, str, str, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@include"):
            parts = line.split()
            if len(parts) > 1:
                out.append((number, "@include", "include", parts[1], []))
            continue
        m = _CONTROL.match(line)
        if not m:
            continue
        ptype, control, rest = m.groups()
        words = rest.split()
        if not words:
            continue
        out.append((number, ptype.lstrip("-").lower(), control, words[0], words[1:]))
    return out


def _module(path: str) -> str:
    return posixpath.basename(path).removesuffix(".so")


def _source(name: str) -> str:
    return "pam.d-" + re.sub(r"[^A-Za-z0-9._-]", "-", name)[:100]


class Stacks:
    """Reads /etc/pam.d files once and expands a service's stack of one type."""

    def __init__(self, run: ProbeRun):
        self.run = run
        self._files: dict[str, list[tuple[int, str, str, str, list[str]]] | None] = {}
        self._text: dict[str, list[str]] = {}
        self.unreadable = False  # a PAM file exists but could not be read (or was not recorded)

    def file(self, name: str) -> list[tuple[int, str, str, str, list[str]]] | None:
        if name not in self._files:
            res = self.run.ctx.read_text(_source(name), f"{PAM_DIR}/{name}")
            if res.ok:
                self._files[name] = parse_pam(res.value, f"{PAM_DIR}/{name}")
                self._text[name] = res.value.splitlines()
            else:
                if res.status is not Status.ABSENT:
                    self.run.failed(res)
                    self.unreadable = True
                self._files[name] = None
        return self._files[name]

    def stack(self, service: str, ptype: str, depth: int = 0) -> list[Line] | None:
        """The module lines of one type a service loads, includes expanded (None: no file)."""
        rows = self.file(service)
        if rows is None:
            return None
        out: list[Line] = []
        for number, t, control, target, args in rows:
            if t == "@include" or (t == ptype and control in ("include", "substack")):
                if depth < 8:
                    out.extend(self.stack(posixpath.basename(target), ptype, depth + 1) or [])
            elif t == ptype:
                text = " ".join(self._text[service][number - 1].split())[:200]
                out.append(
                    Line(t, _module(target), tuple(args), f"{PAM_DIR}/{service}", number, text)
                )
        return out

    def first(self, roots: tuple[tuple[str, ...], ...], ptype: str) -> list[list[Line]]:
        """The stacks of the first group of root files that exist (service files, then shared)."""
        for group in roots:
            stacks = [s for s in (self.stack(name, ptype) for name in group) if s is not None]
            if stacks:
                return stacks
        return []


def _conf(run: ProbeRun, source: str, path: str) -> dict[str, tuple[str, int, str]]:
    """`key = value` lines: {key: (value, line number, line text)}."""
    res = run.ctx.read_text(source, path)
    if not res.ok:
        if res.status is not Status.ABSENT:
            run.failed(res)
        return {}
    out = {}
    for number, raw in enumerate(res.value.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        key = key.strip().lower()
        out[key] = ((value.strip() if eq else "1"), number, line)
    return out


def password_rules(
    run: ProbeRun, stacks: Stacks
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """min_length and complexity from the password stack, and where each came from."""
    found = stacks.first(_PASSWORD_ROOTS, "password")
    if not found:
        return {"min_length": None, "complexity": None}, []
    lines = [ln for stack in found for ln in stack]
    sources: list[dict[str, object]] = []
    lengths: list[tuple[int, str, str]] = []  # (length, file:line, text)
    classes = 0
    class_where: tuple[str, str] | None = None
    for ln in lines:
        if ln.module in ("pam_pwquality", "pam_cracklib"):
            conf: dict[str, tuple[str, int, str]] = {}
            conf_path = PWQUALITY_CONF
            if ln.module == "pam_pwquality":
                conf = _conf(run, "pwquality-conf", PWQUALITY_CONF)
            default = 8 if ln.module == "pam_pwquality" else 9

            def setting(
                name: str, ln: Line = ln, conf: dict = conf, conf_path: str = conf_path
            ) -> tuple[int | None, str, str]:
                value = ln.arg(name)
                if value is not None:
                    return to_int(value), ln.where, ln.text
                if name in conf:
                    v, number, text = conf[name]
                    return to_int(v), f"{conf_path}:{number}", text
                return None, ln.where, ln.text

            minlen, where, text = setting("minlen")
            lengths.append((minlen if minlen is not None else default, where, text))
            minclass, cwhere, ctext = setting("minclass")
            negative = 0
            for credit in _CLASSES:
                value, w, t = setting(credit)
                if value is not None and value < 0:
                    negative += 1
                    cwhere, ctext = w, t
            required = max(minclass or 0, negative)
            if required >= classes:
                classes, class_where = required, (cwhere, ctext)
        elif ln.module == "pam_unix":
            minlen = to_int(ln.arg("minlen"))
            lengths.append((minlen if minlen is not None else 6, ln.where, ln.text))
    if not lengths:
        # A password stack with no module that checks passwords: nothing limits them.
        return {"min_length": 0, "complexity": False}, [
            {
                "setting": "min_length",
                "where": found[0][0].where if found[0] else None,
                "text": None,
            }
        ]
    length, where, text = max(lengths)
    sources.append({"setting": "min_length", "where": where, "text": text})
    if class_where is not None:
        sources.append({"setting": "complexity", "where": class_where[0], "text": class_where[1]})
    # Windows' complexity means 3 of 4 character classes; the same bar here.
    return {"min_length": length, "complexity": classes >= 3}, sources


def lockout_rules(
    run: ProbeRun, stacks: Stacks
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """lockout_threshold (0: never locks) and duration from the auth stacks that log users on."""
    found = stacks.first(_AUTH_ROOTS, "auth")
    if not found:
        return {"lockout_threshold": None, "lockout_duration_minutes": None}, []
    worst: tuple[int, int | None, str, str] | None = None  # (deny, minutes, where, text)
    for stack in found:
        deny: tuple[int, int | None, str, str] | None = None
        for ln in stack:
            if ln.module == "pam_faillock":
                conf = _conf(run, "faillock-conf", ln.arg("conf") or FAILLOCK_CONF)
                value, where, text = to_int(ln.arg("deny")), ln.where, ln.text
                if value is None and "deny" in conf:
                    v, number, text = conf["deny"]
                    value, where = to_int(v), f"{FAILLOCK_CONF}:{number}"
                unlock = to_int(ln.arg("unlock_time"))
                if unlock is None and "unlock_time" in conf:
                    unlock = to_int(conf["unlock_time"][0])
                deny = (
                    3 if value is None else value,
                    (600 if unlock is None else unlock),
                    where,
                    text,
                )
            elif ln.module == "pam_tally2" and deny is None:
                value = to_int(ln.arg("deny"))
                unlock = to_int(ln.arg("unlock_time"))
                deny = (value or 0, unlock, ln.where, ln.text)
        if deny is None:
            first = stack[0] if stack else None
            deny = (0, None, first.where if first else "", "no pam_faillock or pam_tally2 loaded")
        else:
            deny = (deny[0], deny[1] // 60 if deny[1] is not None else None, deny[2], deny[3])
        # The weakest service decides: 0 (never) is weaker than any number, then the highest.
        if worst is None or deny[0] == 0 or (worst[0] != 0 and deny[0] > worst[0]):
            worst = deny
    assert worst is not None
    return (
        {"lockout_threshold": worst[0], "lockout_duration_minutes": worst[1]},
        [{"setting": "lockout_threshold", "where": worst[2] or None, "text": worst[3]}],
    )
