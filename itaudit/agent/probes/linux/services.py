"""Which services a Linux machine has and runs, from whatever init system is there.

systemd (`systemctl list-units`) is the best source, but containers, WSL and
many minimal servers have none. Then the services come from the init system
that is there (SysV scripts in /etc/init.d, OpenRC's /etc/init.d as well) and
their running state from the processes: a program that runs is running,
whoever started it. One failed source never makes the answer unknown while
another can give it; only when neither services nor processes can be read is
it unknown (and recorded in `errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import ProbeRun


@dataclass(frozen=True)
class ServiceView:
    """What a probe may ask about services: names with running state, and the process names."""

    init: str  # systemd, sysv, openrc, none (PID 1 is not an init system: a container), unknown
    source: str  # systemd, init.d, processes, none
    services: tuple[tuple[str, bool], ...]  # (unit or script name, running)
    processes: dict[str, int]  # process image name -> how many
    processes_read: bool

    def running(self, *names: str) -> str | None:
        """The first of names seen running, as a service (systemd) or a process."""
        wanted = {n.casefold() for n in names}
        for name, running in self.services:
            if running and _unit_key(name) in wanted:
                return _unit_key(name)
        for proc in self.processes:
            if proc.casefold() in wanted:
                return proc
        return None

    def known(self) -> bool:
        """Whether anything could say what runs (else facts about running things are unknown)."""
        return self.processes_read or self.source == "systemd"


def _unit_key(name: str) -> str:
    return name.removesuffix(".service").casefold()


def services_from_systemctl(units: Any) -> list[tuple[str, bool]]:
    out = []
    for unit in units if isinstance(units, list) else []:
        if isinstance(unit, dict) and isinstance(unit.get("unit"), str):
            out.append((unit["unit"], unit.get("sub") == "running"))
    return out


def init_name(comm: str | None) -> str:
    """The init system from PID 1's command name (/proc/1/comm)."""
    word = (comm or "").strip()
    if word == "systemd":
        return "systemd"
    if word in ("init", "openrc-init"):
        return "sysv"  # sysvinit, busybox init and OpenRC's init all read /etc/init.d
    return "none" if word else "unknown"


def service_view(run: ProbeRun) -> ServiceView:
    """Read once per collection (the security and hardening probes share it)."""
    return run.once("service-view", lambda: _read(run))


def _read(run: ProbeRun) -> ServiceView:
    ctx = run.ctx
    procs: dict[str, int] = {}
    pres = ctx.processes()
    if pres.ok:
        for p in pres.value if isinstance(pres.value, list) else []:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                procs[p["name"]] = procs.get(p["name"], 0) + 1
    comm = ctx.read_text("proc-1-comm", "/proc/1/comm")
    init = init_name(comm.value) if comm.ok else "unknown"
    res = ctx.services()
    if res.ok:
        return ServiceView(
            "systemd", "systemd", tuple(services_from_systemctl(res.value)), procs, pres.ok
        )
    services: list[tuple[str, bool]] = []
    source = "processes" if pres.ok else "none"
    scripts = ctx.list_dir("init-d", "/etc/init.d")
    if scripts.ok and pres.ok:
        # A script's running state is its daemon's process: names match for the
        # daemons this agent asks about (auditd, rsyslog, ssh...), a mismatch only
        # means "seen as a process" decides instead.
        names = [n for n in scripts.value if not n.startswith(".") and n != "README"]
        services = [(n, n in procs) for n in names]
        source = "init.d"
    if not pres.ok:
        # Nothing can say what runs (an init script's state is its process): an error,
        # with every reason.
        run.failed(res, "security.services", "services (systemd)")
        run.failed(pres, "security.services", "processes")
    elif res.status is not Status.UNSUPPORTED:
        # systemd is there but could not be read: say so, the other sources still decide.
        run.failed(res, "security.services", "services (systemd)")
    return ServiceView(init, source, tuple(services), procs, pres.ok)
