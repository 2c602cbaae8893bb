"""The one way probes reach the operating system.

Every read goes through an `OSContext` and is named by a *source* (for example
`os-release` or `reg-currentversion`): the name is the file the read is
recorded under in a bundle, so a live read and its recording are the same
thing. Results keep apart what was read (`ok`), what does not exist on this
machine (`absent`), what this user may not read (`denied`), what broke
(`failed`), what took too long (`timeout`) and what this kind of machine does
not offer (`unsupported`). Probes turn non-ok results into report `errors`.

Implementations:
- `LinuxContext`: the live machine (subprocess with LC_ALL=C, files, psutil).
- `BundleContext` (in `bundle.py`): replays a recorded bundle; used for
  Windows (the PowerShell collector writes the bundle) and for every test.
- `RecordingContext`: wraps a live context and writes each result into a
  bundle (capturing a new fixture, `agent collect --save-bundle`).
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itaudit.agent.bundle import BundleWriter

MAX_OUTPUT = 16 * 1024 * 1024
MAX_MESSAGE = 400
DEFAULT_TIMEOUT = 20.0


class Status(enum.StrEnum):
    OK = "ok"
    ABSENT = "absent"
    DENIED = "denied"
    FAILED = "failed"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"


class Kind(enum.StrEnum):
    """What a source is: decides how it is read live and stored in a bundle."""

    COMMAND = "command"  # text output of a program
    FILE = "file"  # text of a file
    LISTDIR = "listdir"  # names in a folder
    REGISTRY = "registry"  # values of one registry key
    REGISTRY_TREE = "registry-tree"  # values of each subkey of a key
    CIM = "cim"  # instances of a CIM class
    POWERSHELL = "powershell"  # JSON output of a PowerShell expression
    SERVICES = "services"
    PROCESSES = "processes"
    INTERFACES = "interfaces"

    @property
    def structured(self) -> bool:
        """Stored as JSON (True) or as raw text (False)."""
        return self not in (Kind.COMMAND, Kind.FILE)


@dataclass(frozen=True)
class Result:
    """One read: its status, its value when ok, and why not otherwise."""

    source: str
    status: Status
    value: Any = None
    message: str = ""
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def describe(self) -> str:
        """A short reason for `errors`, naming the source."""
        text = self.message or self.status.value
        return f"{self.source}: {text}"


def short(text: str | bytes | None, limit: int = MAX_MESSAGE) -> str:
    """A one-line, bounded message from tool output (first non-empty lines)."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class OSContext(ABC):
    """What a probe may ask of the machine. Every method takes the source name first."""

    platform: str = "other"
    # Local time minus UTC, in minutes: some sources record local times.
    utc_offset_minutes: int = 0

    @property
    @abstractmethod
    def elevated(self) -> bool | None:
        """True when running as root / administrator (more is visible)."""

    @abstractmethod
    def run(self, source: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Result:
        """Run a program; value is its standard output (text)."""

    @abstractmethod
    def read_text(self, source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Result:
        """Read a text file; value is its text."""

    @abstractmethod
    def list_dir(self, source: str, path: str) -> Result:
        """Names in a folder, sorted."""

    def read_registry(self, source: str, key: str) -> Result:
        """Values of one registry key as {name: value}."""
        return self._unsupported(source, "the registry")

    def read_registry_tree(self, source: str, key: str) -> Result:
        """{subkey name: {value name: value}} for each subkey of key."""
        return self._unsupported(source, "the registry")

    def cim_query(self, source: str, namespace: str, class_name: str) -> Result:
        """Instances of a CIM class as a list of {property: value}."""
        return self._unsupported(source, "CIM")

    def powershell(self, source: str, command: str) -> Result:
        """The JSON output of a PowerShell expression, decoded."""
        return self._unsupported(source, "PowerShell")

    @abstractmethod
    def services(self) -> Result:
        """The raw service list of this platform (source `services`)."""

    @abstractmethod
    def processes(self) -> Result:
        """The raw process list of this platform (source `processes`)."""

    def interfaces(self) -> Result:
        """Network interfaces with addresses and link state (source `interfaces`)."""
        return self._unsupported("interfaces", "interface listing")

    def close(self) -> None:  # noqa: B027 - most contexts hold nothing
        """Release what the context holds (the Windows one keeps a temporary bundle)."""

    def _unsupported(self, source: str, what: str) -> Result:
        return Result(
            source, Status.UNSUPPORTED, message=f"{what} is not available on this platform"
        )


class LinuxContext(OSContext):
    """The live Linux machine. Commands run with LC_ALL=C so their output is not localised."""

    platform = "linux"

    def __init__(self, root: str = "/"):
        # root lets a test point file reads at a fake tree; commands are unaffected.
        self.root = root
        self._env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C",
            "LANG": "C",
            "HOME": os.environ.get("HOME", "/"),
        }
        self.utc_offset_minutes = time.localtime().tm_gmtoff // 60

    @property
    def elevated(self) -> bool | None:
        import sys

        if sys.platform == "win32":
            return None  # a Linux-only context; the branch keeps mypy --platform win32 clean
        return os.geteuid() == 0

    def _path(self, path: str) -> str:
        return path if self.root == "/" else os.path.join(self.root, path.lstrip("/"))

    def run(self, source: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Result:
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                env=self._env,
                check=False,
            )
        except FileNotFoundError:
            return Result(source, Status.ABSENT, message=f"{argv[0]} is not installed")
        except PermissionError as exc:
            return Result(source, Status.DENIED, message=f"{argv[0]}: {exc.strerror}")
        except subprocess.TimeoutExpired:
            return Result(
                source, Status.TIMEOUT, message=f"{argv[0]} ran longer than {timeout:g} s"
            )
        except OSError as exc:
            return Result(source, Status.FAILED, message=f"{argv[0]}: {exc.strerror or exc}")
        out = proc.stdout[:MAX_OUTPUT].decode("utf-8", "replace")
        if proc.returncode != 0:
            return Result(
                source,
                Status.FAILED,
                out,
                message=short(proc.stderr or proc.stdout) or f"exit status {proc.returncode}",
                exit_code=proc.returncode,
            )
        return Result(source, Status.OK, out, exit_code=0)

    def read_text(self, source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Result:
        try:
            with open(self._path(path), "rb") as fh:
                data = _read_bounded(fh, max_bytes)
        except FileNotFoundError:
            return Result(source, Status.ABSENT, message=f"{path} does not exist")
        except PermissionError:
            return Result(source, Status.DENIED, message=f"{path} is readable only by root")
        except OSError as exc:
            return Result(source, Status.FAILED, message=f"{path}: {exc.strerror or exc}")
        return Result(source, Status.OK, data.decode("utf-8", "replace"))

    def list_dir(self, source: str, path: str) -> Result:
        try:
            names = sorted(os.listdir(self._path(path)))
        except FileNotFoundError:
            return Result(source, Status.ABSENT, message=f"{path} does not exist")
        except PermissionError:
            return Result(source, Status.DENIED, message=f"{path} is readable only by root")
        except OSError as exc:
            return Result(source, Status.FAILED, message=f"{path}: {exc.strerror or exc}")
        return Result(source, Status.OK, names)

    def services(self) -> Result:
        res = self.run(
            "services",
            ["systemctl", "list-units", "--type=service", "--all", "--output=json", "--no-pager"],
        )
        if not res.ok:
            if "not been booted with systemd" in res.message or "Failed to connect to bus" in (
                res.message
            ):
                return Result("services", Status.UNSUPPORTED, message="systemd is not running")
            return res
        try:
            return Result("services", Status.OK, json.loads(res.value))
        except ValueError:
            return Result("services", Status.FAILED, message="systemctl did not print JSON")

    def processes(self) -> Result:
        import psutil

        procs = []
        for proc in psutil.process_iter(["pid", "name", "exe", "username"]):
            info = proc.info
            procs.append(
                {
                    "pid": info.get("pid"),
                    "name": info.get("name"),
                    # exe of other users' processes is unreadable without root: None then.
                    "exe": info.get("exe") or None,
                    "user": info.get("username"),
                }
            )
        return Result("processes", Status.OK, procs)

    def interfaces(self) -> Result:
        import socket

        import psutil

        addrs = psutil.net_if_addrs()
        stats = psutil.net_if_stats()
        out: dict[str, Any] = {}
        for name in sorted(set(addrs) | set(stats)):
            st = stats.get(name)
            entries = []
            for a in addrs.get(name, []):
                family = (
                    "inet"
                    if a.family == socket.AF_INET
                    else "inet6"
                    if a.family == socket.AF_INET6
                    else "link"
                    if a.family == psutil.AF_LINK
                    else str(int(a.family))
                )
                entries.append({"family": family, "address": a.address, "netmask": a.netmask})
            sysdir = self._path(f"/sys/class/net/{name}")
            out[name] = {
                "addresses": entries,
                "up": bool(st.isup) if st else None,
                "mtu": st.mtu if st else None,
                "speed": st.speed if st else None,
                "type": _read_int(os.path.join(sysdir, "type")),
                "wireless": os.path.isdir(os.path.join(sysdir, "wireless")),
                "virtual": "/virtual/" in os.path.realpath(sysdir),
                "operstate": _read_word(os.path.join(sysdir, "operstate")),
            }
        return Result("interfaces", Status.OK, out)


def _read_bounded(fh: Any, max_bytes: int) -> bytes:
    # procfs refuses very large single reads (ENOMEM): read in chunks.
    chunks, total = [], 0
    while total < max_bytes:
        chunk = fh.read(min(65536, max_bytes - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_word(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read(64).strip() or None
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    word = _read_word(path)
    try:
        return int(word) if word is not None else None
    except ValueError:
        return None


class RecordingContext(OSContext):
    """Wraps a context and records every result into a bundle: how fixtures are captured."""

    def __init__(self, inner: OSContext, writer: BundleWriter):
        self.inner = inner
        self.writer = writer
        self.platform = inner.platform
        self.utc_offset_minutes = inner.utc_offset_minutes

    @property
    def elevated(self) -> bool | None:
        return self.inner.elevated

    def _keep(self, kind: Kind, target: str, started: float, result: Result) -> Result:
        self.writer.add(kind, target, result, int((time.monotonic() - started) * 1000))
        return result

    def run(self, source: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Result:
        t0 = time.monotonic()
        return self._keep(
            Kind.COMMAND, " ".join(argv), t0, self.inner.run(source, argv, timeout=timeout)
        )

    def read_text(self, source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Result:
        t0 = time.monotonic()
        return self._keep(
            Kind.FILE, path, t0, self.inner.read_text(source, path, max_bytes=max_bytes)
        )

    def list_dir(self, source: str, path: str) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.LISTDIR, path, t0, self.inner.list_dir(source, path))

    def read_registry(self, source: str, key: str) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.REGISTRY, key, t0, self.inner.read_registry(source, key))

    def read_registry_tree(self, source: str, key: str) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.REGISTRY_TREE, key, t0, self.inner.read_registry_tree(source, key))

    def cim_query(self, source: str, namespace: str, class_name: str) -> Result:
        t0 = time.monotonic()
        return self._keep(
            Kind.CIM,
            f"{namespace}:{class_name}",
            t0,
            self.inner.cim_query(source, namespace, class_name),
        )

    def powershell(self, source: str, command: str) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.POWERSHELL, command, t0, self.inner.powershell(source, command))

    def services(self) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.SERVICES, "services", t0, self.inner.services())

    def processes(self) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.PROCESSES, "processes", t0, self.inner.processes())

    def interfaces(self) -> Result:
        t0 = time.monotonic()
        return self._keep(Kind.INTERFACES, "interfaces", t0, self.inner.interfaces())

    def close(self) -> None:
        self.inner.close()


def live_context() -> OSContext:
    """The context for the machine this runs on."""
    import sys

    if sys.platform.startswith("linux"):
        return LinuxContext()
    if sys.platform == "win32":
        from itaudit.agent.windows_live import WindowsContext

        return WindowsContext()
    from itaudit.agent.errors import AgentError

    raise AgentError(f"the agent has no probes for this platform ({sys.platform})")


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def exists(path: str | Path) -> bool:
    return os.path.exists(path)
