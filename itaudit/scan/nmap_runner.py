"""Running the real nmap and reading what it found.

nmap writes its XML to a temporary file, parsed with python-nmap; its normal
output is read line by line while it runs, only for the progress lines that
`--stats-every` makes it print. Nothing but the arguments built here and the
networks from `itaudit.scan.targets` is ever passed to nmap.
"""

from __future__ import annotations

import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itaudit.errors import ItauditError
from itaudit.identity import normalise_mac

if TYPE_CHECKING:
    from itaudit.scan.records import Observation

STATS_EVERY = "1s"
TICK = 1.0  # seconds between progress updates when nmap says nothing
MAX_NAMES = 8
MAX_STDERR = 4000
# Above this many networks, targets go to nmap in a file (-iL), not on the command line.
_MAX_ARGV_TARGETS = 200
_WINDOWS_PATHS = (r"C:\Program Files (x86)\Nmap\nmap.exe", r"C:\Program Files\Nmap\nmap.exe")
_CAP_NET_RAW = 13
_PR_SET_PDEATHSIG = 1

ROOT_ADDS = {
    "en": "Run as root (sudo itaudit scan ..., or as an administrator on Windows) to add: MAC "
    "addresses and network-card vendors (devices are then matched by MAC, the strongest "
    "identifier), ARP discovery of devices that ignore ping, and the faster SYN scan.",
    "vi": "Chạy với quyền root (sudo itaudit scan ..., hoặc quyền quản trị trên Windows) để có "
    "thêm: địa chỉ MAC và hãng card mạng (nhận diện thiết bị theo MAC, chắc chắn nhất), dò "
    "thiết bị bằng ARP kể cả thiết bị không trả lời ping, và kiểu quét SYN nhanh hơn.",
}


class NmapMissing(ItauditError):
    """No nmap binary: the environment lacks a tool (exit 3)."""


class NmapFailed(ItauditError):
    """nmap ran but failed (exit 3)."""


def install_hint() -> str:
    """How to install nmap on this machine."""
    system = platform.system()
    if system == "Windows":
        return (
            "download the Windows installer from https://nmap.org/download.html "
            "(it installs Npcap too), then open a new terminal"
        )
    if system == "Darwin":
        return "brew install nmap (or the installer from https://nmap.org/download.html)"
    ids = ""
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith(("ID=", "ID_LIKE=")):
                ids += " " + line.split("=", 1)[1].strip('"').lower()
    except OSError:
        pass
    if any(x in ids for x in ("fedora", "rhel", "centos", "rocky", "almalinux")):
        return "sudo dnf install nmap"
    if any(x in ids for x in ("suse",)):
        return "sudo zypper install nmap"
    if "alpine" in ids:
        return "sudo apk add nmap"
    return "sudo apt-get install nmap"


def find_nmap() -> str:
    """The nmap binary on PATH (or its usual Windows folder); NmapMissing otherwise."""
    found = shutil.which("nmap")
    if found is None and sys.platform == "win32":
        # Hook (issue 18): %ProgramFiles%\Nmap and %ProgramFiles(x86)%\Nmap, from the
        # environment rather than C:\ (see itaudit/scan/windows_nmap.py).
        from itaudit.scan.windows_nmap import find_nmap_exe, live_host

        found = find_nmap_exe(live_host())
    if found is None:
        raise NmapMissing(
            f"nmap is not installed (not found on PATH); install it: {install_hint()}"
        )
    return found


def is_privileged() -> bool:
    """Whether nmap can use raw packets here: root with CAP_NET_RAW, or a Windows administrator."""
    if sys.platform == "win32":
        import ctypes

        try:
            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return False
    if os.geteuid() != 0:
        return False
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_NET_RAW & 1)
    except (OSError, ValueError, IndexError):
        pass
    return True


def port_ranges(ports: tuple[int, ...]) -> str:
    """(21, 22, 23, 80) → "21-23,80": nmap's -p syntax, short for long lists."""
    parts: list[str] = []
    run: list[int] = []
    for p in sorted(set(ports)):
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [p]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(parts)


def _dns(resolve: bool) -> str:
    # Reverse DNS off by default: in an office without a reachable DNS server nmap
    # waits on every address (a /24 took 28 s instead of 1.9 s). --resolve asks the
    # system resolver, which also reads /etc/hosts.
    return "--system-dns" if resolve else "-n"


def scan_arguments(
    ports: tuple[int, ...], timing: int, privileged: bool, resolve: bool = False
) -> list[str]:
    """The scan options: the same list is recorded with the scan and used by the benchmark."""
    if not 0 <= timing <= 5:
        raise ValueError(f"timing {timing} is not 0-5")
    args = ["-sS" if privileged else "-sT", "-p", port_ranges(ports)] if ports else ["-sn"]
    args.append(f"-T{timing}")
    args.append(_dns(resolve))
    if not privileged:
        # Also right for root without CAP_NET_RAW, where nmap would try raw sockets and fail.
        args.append("--unprivileged")
    return args


_IFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


def ipv6_arguments(interface: str, timing: int, resolve: bool = False) -> list[str]:
    """IPv6 neighbour discovery on one interface: an echo to all-nodes multicast
    (ff02::1), every responder then scanned by neighbour discovery, which reads its
    MAC. Needs raw sockets. No target is given: only the link is asked."""
    if not _IFACE.match(interface):
        raise ValueError(f"not an interface name: {interface!r}")
    return [
        "-6",
        "-sn",
        "-e",
        interface,
        "--script",
        "targets-ipv6-multicast-echo",
        "--script-args",
        f"newtargets,targets-ipv6-multicast-echo.interface={interface}",
        f"-T{timing}",
        _dns(resolve),
    ]


@dataclass(frozen=True)
class Progress:
    """What nmap said about its progress, with our own clock."""

    elapsed: float
    done: int  # hosts completed, down ones included
    total: int  # addresses to scan
    up: int
    phase: str | None = None
    percent: float | None = None


_STATS = re.compile(
    r"^Stats: [\d:]+ elapsed; (\d+) hosts? completed \((\d+) up\), \d+ undergoing (.+?)\s*$"
)
_TIMING = re.compile(r"^(.+?) Timing: About ([\d.]+)% done")


class ProgressParser:
    """Turns nmap's normal-output lines into Progress values."""

    def __init__(self, total: int, started: float):
        self.total = total
        self.started = started
        self.done = 0
        self.up = 0
        self.phase: str | None = None
        self.percent: float | None = None

    def feed(self, line: str, now: float | None = None) -> Progress | None:
        m = _STATS.match(line)
        if m:
            self.done, self.up, self.phase = int(m.group(1)), int(m.group(2)), m.group(3)
            self.percent = None
        else:
            m = _TIMING.match(line)
            if not m:
                return None
            self.phase, self.percent = m.group(1), float(m.group(2))
        return self.snapshot(now)

    def snapshot(self, now: float | None = None) -> Progress:
        return Progress(
            elapsed=(now if now is not None else time.monotonic()) - self.started,
            done=self.done,
            total=self.total,
            up=self.up,
            phase=self.phase,
            percent=self.percent,
        )


@dataclass(frozen=True)
class NmapOutput:
    observations: tuple[Observation, ...]
    nmap_version: str | None
    elapsed: float
    hosts_up: int
    hosts_total: int
    local_addresses: frozenset[str]  # the scanning machine itself
    warnings: str


def _ip_key(address: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in address.split("."))
    except ValueError:
        return (999,)


def _clean(text: str | None, limit: int) -> str | None:
    """Network-supplied text (reverse DNS names, vendors, services), made safe to
    print and store: control characters (terminal escapes) dropped, length bounded."""
    if not text:
        return None
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    return kept[:limit] or None


def observations_from(
    result: dict[str, Any], method: str | None = None
) -> tuple[list[Observation], set[str]]:
    """Observations from python-nmap's parsed scan; also the scanning machine's addresses."""
    from itaudit.scan.records import Observation, Port

    out: list[Observation] = []
    local: set[str] = set()
    for address, host in (result.get("scan") or {}).items():
        status = host.get("status") or {}
        if status.get("state") != "up":
            continue
        if status.get("reason") == "localhost-response":
            local.add(address)
        raw_mac = (host.get("addresses") or {}).get("mac")
        vendor = (host.get("vendor") or {}).get(raw_mac) if raw_mac else None
        names: list[str] = []
        for item in host.get("hostnames") or ():
            name = _clean(item.get("name"), 253)
            if name and name not in names:
                names.append(name)
        ports = tuple(
            Port(int(number), "tcp", _clean(info.get("name"), 64))
            for number, info in sorted((host.get("tcp") or {}).items())
            if info.get("state") == "open"
        )
        out.append(
            Observation(
                address=address,
                mac=normalise_mac(raw_mac),
                vendor=_clean(vendor, 128),
                hostnames=tuple(names[:MAX_NAMES]),
                open_ports=ports,
                state="up",
                method=method,
                mac_source="nmap" if raw_mac else None,
            )
        )
    out.sort(key=lambda o: _ip_key(o.address))
    return out, local


class NmapScan:
    """One nmap process: start it, follow its progress, collect its result."""

    def __init__(
        self,
        nmap_path: str,
        arguments: list[str],
        targets: list[str],
        total: int,
        method: str | None = None,
    ):
        self.method = method
        self.nmap_path = nmap_path
        self.arguments = list(arguments)
        self.targets = list(targets)
        self.total = total
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self._scanner: Any = None
        self.started = 0.0

    @property
    def command(self) -> list[str]:
        """What nmap is run with, without the file names that change every run."""
        return ["nmap", *self.arguments, *self.targets]

    def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="itaudit-scan-")
        folder = Path(self._dir.name)
        targets: list[str] = self.targets
        if len(targets) > _MAX_ARGV_TARGETS:
            (folder / "targets.txt").write_text("\n".join(targets) + "\n", encoding="ascii")
            targets = ["-iL", str(folder / "targets.txt")]
        self._stderr = open(folder / "stderr.txt", "w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        argv = [
            self.nmap_path,
            *self.arguments,
            "--stats-every",
            STATS_EVERY,
            "-oX",
            str(folder / "scan.xml"),
            *targets,
        ]
        self.started = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                preexec_fn=_end_with_parent(),
            )
        except OSError as exc:
            self.close()
            raise NmapMissing(
                f"cannot run {self.nmap_path}: {exc.strerror}; {install_hint()}"
            ) from exc
        try:
            import nmap

            # python-nmap runs `nmap -V` here, while the scan itself is already running.
            try:
                self._scanner = nmap.PortScanner(nmap_search_path=(self.nmap_path,))
            except nmap.PortScannerError:
                self._scanner = None
        except BaseException:
            # Ctrl-C right after nmap started: never leave it scanning on its own.
            self.stop()
            self.close()
            raise

    def wait(self, on_progress: Callable[[Progress], None] | None = None) -> NmapOutput:
        """Follow nmap to its end; NmapFailed when it fails."""
        assert self._proc is not None and self._proc.stdout is not None and self._dir is not None
        parser = ProgressParser(self.total, self.started)
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self._proc.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        # nmap prints its statistics only between probes: at -T0/-T1 that can be minutes
        # apart. A reader thread lets the elapsed time move on every TICK meanwhile.
        threading.Thread(target=pump, name="nmap-stdout", daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=TICK)
            except queue.Empty:
                if on_progress is not None:
                    on_progress(parser.snapshot())
                continue
            if line is None:
                break
            progress = parser.feed(line)
            if progress is not None and on_progress is not None:
                on_progress(progress)
        code = self._proc.wait()
        elapsed = time.monotonic() - self.started
        self._stderr.seek(0)
        stderr = self._stderr.read(MAX_STDERR * 4).strip()
        xml_path = Path(self._dir.name) / "scan.xml"
        if code != 0:
            raise NmapFailed(f"nmap failed (exit {code}): {_tail(stderr) or 'no message'}")
        import nmap

        try:
            scanner = self._scanner or nmap.PortScanner(nmap_search_path=(self.nmap_path,))
            xml = xml_path.read_text(encoding="utf-8", errors="replace")
            result = scanner.analyse_nmap_xml_scan(xml)
        except Exception as exc:  # python-nmap fails in many ways on output it cannot read
            detail = str(exc)[:300] or type(exc).__name__
            raise NmapFailed(
                f"cannot read nmap's result ({self.nmap_path}): {detail}"
                + (f"; nmap said: {_tail(stderr)}" if stderr else "")
            ) from exc
        version = ".".join(str(x) for x in scanner.nmap_version()) or None
        observations, local = observations_from(result, self.method)
        stats = result["nmap"]["scanstats"]
        if on_progress is not None:
            total = int(stats.get("totalhosts") or self.total)
            up = int(stats.get("uphosts") or len(observations))
            on_progress(Progress(elapsed, total, total, up, "done", 100.0))
        return NmapOutput(
            observations=tuple(observations),
            nmap_version=version if version != "0.0" else None,
            elapsed=elapsed,
            hosts_up=int(stats.get("uphosts") or 0),
            hosts_total=int(stats.get("totalhosts") or 0),
            local_addresses=frozenset(local),
            warnings=_tail(stderr),
        )

    def stop(self) -> None:
        """End nmap (Ctrl-C): ask, then insist."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def close(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _end_with_parent() -> Callable[[], None] | None:
    """On Linux, what makes nmap get SIGTERM when itaudit dies, even of SIGKILL: an
    nmap left on its own would go on scanning with nobody to stop it."""
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # itaudit died before prctl took effect
            os._exit(1)

    return in_child


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-6:])[-MAX_STDERR:]
