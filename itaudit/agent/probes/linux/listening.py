"""Listening sockets and the program that owns each one.

`ss -Htlnup` (iproute2) names the listening TCP and bound UDP sockets with
their owning process (as root; an ordinary user sees only the owners among
its own processes). Without ss, the kernel's tables in /proc/net/{tcp,udp}{,6}
give the sockets, and `find /proc -lname 'socket:*'` links each socket inode to
the process holding it: the same facts, read the long way.

A socket bound to a loopback address is reachable only from the machine
itself; every other address (0.0.0.0, ::, a LAN address) is reachable from
the network unless a firewall stops it: `loopback: false`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import ProbeRun, to_int

MAX_SOCKETS = 512
_SS_USER = re.compile(r'\("([^"]*)",pid=(\d+)')
# /proc/net/tcp state 0A is LISTEN; a UDP socket that waits for datagrams is 07 (CLOSE).
_PROC_TABLES = (
    ("proc-net-tcp", "/proc/net/tcp", "tcp", "0A"),
    ("proc-net-tcp6", "/proc/net/tcp6", "tcp", "0A"),
    ("proc-net-udp", "/proc/net/udp", "udp", "07"),
    ("proc-net-udp6", "/proc/net/udp6", "udp", "07"),
)
# Without a shell nothing globs /proc/*/fd: find matches the pattern itself.
FIND_SOCKETS = [
    "find",
    "/proc",
    "-mindepth",
    "3",
    "-maxdepth",
    "3",
    "-path",
    "/proc/[0-9]*/fd/*",
    "-lname",
    "socket:*",
    "-printf",
    "%p %l\\n",
]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _entry(
    protocol: str, address: str, port: int, process: str | None, pid: int | None
) -> dict[str, Any]:
    shown = f"[{address}]" if ":" in address else address
    label = f"{shown}:{port}/{protocol}" + (f" ({process})" if process else "")
    return {
        "name": label[:256],
        "protocol": protocol,
        "address": address[:64],
        "port": port,
        "process": process[:64] if process else None,
        "pid": pid,
        "loopback": _is_loopback(address),
    }


def split_endpoint(text: str) -> tuple[str, int] | None:
    """`127.0.0.1:6379`, `[::1]:6379`, `*:22`, `127.0.0.53%lo:53` -> (address, port)."""
    host, sep, port = text.rpartition(":")
    number = to_int(port)
    if not sep or number is None or not 0 <= number <= 65535:
        return None
    host = host.strip("[]").split("%", 1)[0]
    if host == "*":
        host = "::" if text.startswith("[") else "0.0.0.0"
    return host, number


def parse_ss(content: str) -> list[dict[str, Any]]:
    """`ss -Htlnup`: Netid State Recv-Q Send-Q Local Peer [users:(("name",pid=N,fd=M),...)]."""
    out: list[dict[str, Any]] = []
    for line in content.splitlines():
        cols = line.split(None, 6)
        if len(cols) < 6 or cols[0] not in ("tcp", "udp"):
            continue
        where = split_endpoint(cols[4])
        if where is None:
            continue
        owner = _SS_USER.search(cols[6]) if len(cols) > 6 else None
        out.append(
            _entry(
                cols[0],
                where[0],
                where[1],
                owner.group(1) if owner else None,
                int(owner.group(2)) if owner else None,
            )
        )
    return out


def _proc_address(hexaddr: str) -> str | None:
    try:
        raw = bytes.fromhex(hexaddr)
    except ValueError:
        return None
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    if len(raw) == 16:
        # Four 32-bit words, each in the kernel's (little-endian) byte order.
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        addr = ipaddress.IPv6Address(words)
        return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)
    return None


def parse_proc_net(content: str, protocol: str, state: str) -> list[tuple[str, int, str]]:
    """(address, port, inode) of the listening sockets in a /proc/net/{tcp,udp}{,6} table."""
    out = []
    for line in content.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10 or cols[3] != state:
            continue
        host, _, port = cols[1].partition(":")
        address = _proc_address(host)
        try:
            number = int(port, 16)
        except ValueError:
            continue
        if address is not None:
            out.append((address, number, cols[9]))
    return out


def parse_socket_links(content: str) -> dict[str, int]:
    """`/proc/PID/fd/N socket:[INODE]` lines -> {inode: pid}."""
    out: dict[str, int] = {}
    for line in content.splitlines():
        path, _, target = line.partition(" ")
        parts = path.split("/")
        if len(parts) > 2 and parts[2].isdigit() and target.startswith("socket:["):
            out.setdefault(target[8:].rstrip("]"), int(parts[2]))
    return out


def read_listening(run: ProbeRun) -> list[dict[str, Any]] | None:
    """Every listening socket, or None when no source could say (recorded in errors)."""
    return run.once("listening", lambda: _read(run))


def _read(run: ProbeRun) -> list[dict[str, Any]] | None:
    ctx = run.ctx
    res = ctx.run("ss-listening", ["ss", "-H", "-t", "-u", "-l", "-n", "-p"])
    if res.ok:
        return _unique(parse_ss(res.value))
    if res.status is not Status.ABSENT:
        run.failed(res, "security.listening", "ss")
    found: list[tuple[str, str, int, str]] = []
    read_any = False
    for source, path, protocol, state in _PROC_TABLES:
        table = ctx.read_text(source, path)
        if table.ok:
            read_any = True
            found += [
                (protocol, a, p, i) for a, p, i in parse_proc_net(table.value, protocol, state)
            ]
        elif table.status is not Status.ABSENT:  # no tcp6 table: IPv6 is off, nothing listens
            run.failed(table, "security.listening")
    if not read_any:
        run.error("absent", "neither ss nor /proc/net/tcp could be read", "security.listening")
        return None
    owners: dict[str, int] = {}
    names: dict[int, str] = {}
    if found:
        links = ctx.run("proc-socket-links", FIND_SOCKETS, timeout=30)
        # find exits 1 when some /proc entries vanish or are unreadable: what it printed stands.
        if links.value and (links.ok or links.exit_code == 1):
            owners = parse_socket_links(links.value)
        else:
            run.failed(links, "security.listening", "socket owners")
        procs = ctx.processes()
        for p in procs.value if procs.ok and isinstance(procs.value, list) else []:
            if isinstance(p, dict) and isinstance(p.get("pid"), int):
                names[p["pid"]] = str(p.get("name") or "")
    out = []
    for protocol, address, port, inode in found:
        pid = owners.get(inode)
        out.append(_entry(protocol, address, port, names.get(pid) if pid else None, pid))
    return _unique(out)


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in items:
        key = (item["protocol"], item["address"], item["port"], item["pid"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out[:MAX_SOCKETS]
