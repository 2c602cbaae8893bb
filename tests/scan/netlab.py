"""A small LAN made of network namespaces, for scanning with the real nmap.

The lab is a Linux bridge in the root namespace holding the lab network's
first address (the scanning computer), and one namespace per test host joined
to the bridge by a veth pair, with its own address, MAC and real TCP
listeners. Names carry a random tag so runs never collide, and `close()`
removes everything (listeners first, then namespaces, then the bridge), also
when a test fails half-way, and then checks that nothing of the lab is left.
SIGTERM while a lab is up is turned into KeyboardInterrupt, so an interrupted
run tears its lab down too. A lab whose process died without tearing it down
(SIGKILL) is swept away by the next `Lab.start()` (see `sweep_stale`): the
bridge carries its owner's pid and start time in its alias.

Used by tests/scan (fixtures in conftest.py) and benchmarks/bench_scan.py.
Needs root and iproute2; `unavailable()` says why a lab cannot be built here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lab networks are /24s taken from this /16, one not in use on this machine.
LAB_POOL = ipaddress.ip_network("10.213.0.0/16")
# The bridge's alias: who owns the lab (pid and process start time, against pid reuse).
_OWNER = "itaudit-netlab pid={pid} start={start}"
_OWNER_RE = re.compile(r"^itaudit-netlab pid=(\d+) start=(\d+)$")
_TAG_RE = re.compile(r"^iab([0-9a-f]{6})$")

_LISTENER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
print("ready", flush=True)
while True:
    conn, _ = s.accept()
    conn.close()
"""


class LabError(RuntimeError):
    pass


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def _process_start(pid: int) -> int | None:
    """The start time of process `pid` (clock ticks since boot), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing ")".
    return int(stat.rsplit(")", 1)[1].split()[19])


def _json(*args: str) -> list[dict[str, Any]]:
    out = _ip("-j", *args, check=False).stdout.strip()
    return json.loads(out) if out else []


def lab_leftovers(tag: str | None = None) -> list[str]:
    """Namespaces and links of labs (of the lab `tag`, or of any lab) that exist now."""
    ns_prefix = f"ia-{tag}-" if tag else "ia-"
    link_re = re.compile(rf"^ia[bvp]{tag}" if tag else r"^ia[bvp][0-9a-f]{6}")
    found = [
        f"netns {n['name']}" for n in _json("netns", "list") if n["name"].startswith(ns_prefix)
    ]
    found += [f"link {x['ifname']}" for x in _json("link", "show") if link_re.match(x["ifname"])]
    return found


def _remove_namespace(name: str) -> None:
    # Processes left inside (listeners of a killed run) would keep it alive unnamed.
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", name, check=False)


def sweep_stale() -> list[str]:
    """Remove labs whose owning process is gone (a run killed with SIGKILL); return their tags."""
    live: set[str] = set()
    stale: set[str] = set()
    for link in _json("link", "show", "type", "bridge"):
        m = _TAG_RE.match(link["ifname"])
        if not m:
            continue
        owner = _OWNER_RE.match(link.get("ifalias", ""))
        if owner and _process_start(int(owner.group(1))) == int(owner.group(2)):
            live.add(m.group(1))
        else:
            stale.add(m.group(1))
    # Namespaces whose bridge is gone belong to a dead lab too: a lab makes its
    # bridge before its namespaces and removes it after them.
    for ns in _json("netns", "list"):
        m = re.match(r"^ia-([0-9a-f]{6})-", ns["name"])
        if m and m.group(1) not in live:
            stale.add(m.group(1))
    for tag in sorted(stale):
        for ns in _json("netns", "list"):
            if ns["name"].startswith(f"ia-{tag}-"):
                _remove_namespace(ns["name"])
        for link in _json("link", "show"):
            if re.match(rf"^iav{tag}\d", link["ifname"]):
                _ip("link", "del", link["ifname"], check=False)
        _ip("link", "del", f"iab{tag}", check=False)
    return sorted(stale)


_sigterm_users = 0
_sigterm_before: Any = None


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _catch_sigterm() -> bool:
    """While a lab is up, SIGTERM (a CI timeout, `kill`) becomes KeyboardInterrupt, which
    pytest and `with Lab()` answer by tearing the lab down. False when it cannot be set."""
    global _sigterm_users, _sigterm_before
    if threading.current_thread() is not threading.main_thread():
        return False
    if _sigterm_users == 0:
        _sigterm_before = signal.signal(signal.SIGTERM, _interrupt)
    _sigterm_users += 1
    return True


def _release_sigterm() -> None:
    global _sigterm_users
    _sigterm_users -= 1
    if _sigterm_users == 0:
        signal.signal(signal.SIGTERM, _sigterm_before)


def unavailable() -> str | None:
    """Why namespaces cannot be created here, or None when they can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs the tests as root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"ia-probe-{secrets.token_hex(3)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def unavailable_for_scans() -> str | None:
    """Why the scan tests cannot run here (no namespaces, or no nmap), or None."""
    reason = unavailable()
    if reason is None and shutil.which("nmap") is None:
        reason = "nmap is not installed (apt-get install nmap)"
    return reason


def free_network() -> ipaddress.IPv4Network:
    """A /24 of LAB_POOL that no route or address of this machine touches."""
    used: list[ipaddress.IPv4Network] = []
    for args in (("-4", "route", "show", "table", "all"), ("-4", "addr", "show")):
        for word in _ip(*args).stdout.split():
            try:
                used.append(ipaddress.ip_network(word, strict=False))  # type: ignore[arg-type]
            except ValueError:
                continue
    candidates = list(LAB_POOL.subnets(new_prefix=24))[1:-1]
    random.shuffle(candidates)
    for net in candidates:
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise LabError(f"no free /24 left in {LAB_POOL}")


@dataclass
class LabHost:
    name: str
    namespace: str
    address: str
    mac: str
    veth: str
    listeners: dict[int, subprocess.Popen[str]] = field(default_factory=dict)


class Lab:
    """The bridge and its hosts. Use as a context manager, or call close()."""

    def __init__(self, network: ipaddress.IPv4Network | None = None):
        self.tag = secrets.token_hex(3)
        self.network = network or free_network()
        self.gateway = str(self.network.network_address + 1)
        self.bridge = f"iab{self.tag}"
        self.hosts: dict[str, LabHost] = {}
        self._count = 0
        self._bridge_made = False
        self._catching = False

    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hosts_by_address(self) -> dict[str, str]:
        """{address: MAC} of the lab's hosts."""
        return {h.address: h.mac for h in self.hosts.values()}

    def address(self, host_number: int) -> str:
        return str(self.network.network_address + host_number)

    def start(self) -> None:
        sweep_stale()
        self._catching = _catch_sigterm()
        _ip("link", "add", self.bridge, "type", "bridge")
        self._bridge_made = True
        owner = _OWNER.format(pid=os.getpid(), start=_process_start(os.getpid()))
        _ip("link", "set", "dev", self.bridge, "alias", owner)
        _ip("addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add_host(
        self, name: str, host_number: int, mac: str, ports: tuple[int, ...] = ()
    ) -> LabHost:
        """A namespace at .host_number with `mac`, listening on `ports`."""
        if name in self.hosts:
            raise LabError(f"lab host {name!r} exists")
        self._count += 1
        namespace = f"ia-{self.tag}-{name}"
        veth, peer = f"iav{self.tag}{self._count:02d}", f"iap{self.tag}{self._count:02d}"
        host = LabHost(name, namespace, self.address(host_number), mac, veth)
        _ip("netns", "add", namespace)
        self.hosts[name] = host  # from here on, close() removes it
        _ip("link", "add", veth, "type", "veth", "peer", "name", peer, "netns", namespace)
        _ip("link", "set", veth, "master", self.bridge)
        _ip("link", "set", veth, "up")
        _ip("-n", namespace, "link", "set", peer, "address", mac)
        _ip("-n", namespace, "addr", "add", f"{host.address}/{self.network.prefixlen}", "dev", peer)
        _ip("-n", namespace, "link", "set", peer, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        self.listen(name, *ports)
        return host

    def listen(self, name: str, *ports: int) -> None:
        """Start real TCP listeners inside the host's namespace (in parallel)."""
        host = self.hosts[name]
        started = []
        for port in ports:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", host.namespace, sys.executable, "-c", _LISTENER, str(port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            host.listeners[port] = proc
            started.append((port, proc))
        for port, proc in started:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                err = proc.stderr.read() if proc.stderr else ""
                raise LabError(f"listener {name}:{port} did not start: {err.strip()}")

    def stop_listener(self, name: str, port: int) -> None:
        proc = self.hosts[name].listeners.pop(port)
        _end(proc)

    def remove_host(self, name: str) -> None:
        host = self.hosts.pop(name)
        for proc in host.listeners.values():
            _end(proc)
        # Deleting the namespace deletes its veth end, and so the pair.
        _remove_namespace(host.namespace)
        _ip("link", "del", host.veth, check=False)

    def hosts_file(self, path: Path, names: dict[str, str]) -> Path:
        """An /etc/hosts for reverse DNS of lab hosts: {lab host name: DNS name}."""
        lines = ["127.0.0.1 localhost"]
        lines += [f"{self.hosts[h].address} {dns}" for h, dns in names.items()]
        path.write_text("\n".join(lines) + "\n", encoding="ascii")
        return path

    def close(self) -> None:
        problems = []
        for name in list(self.hosts):
            try:
                self.remove_host(name)
            except Exception as exc:  # keep removing the rest
                problems.append(f"{name}: {exc}")
        if self._bridge_made:
            _ip("link", "del", self.bridge, check=False)
            self._bridge_made = False
        if self._catching:
            _release_sigterm()
            self._catching = False
        problems += lab_leftovers(self.tag)
        if problems:
            raise LabError("lab teardown: " + "; ".join(problems))


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def with_hosts_file(command: list[str], hosts_file: Path) -> list[str]:
    """`command` in a private mount namespace where /etc/hosts is `hosts_file`.

    nmap resolves reverse names through /etc/hosts too, so lab hosts get
    real reverse-DNS names without touching this machine's own files.
    """
    if shutil.which("unshare") is None:
        raise LabError("`unshare` (util-linux) is not installed")
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        str(hosts_file),
        *command,
    ]
