"""What every probe shares: the run it works in, and small value helpers.

A probe reads one fact family (os, hardware, network, security, patches,
software) for one platform through the injected context, writes facts into
the report being built, and records in `errors` what it could not see and
why. A probe never raises for a machine that lacks something: collection goes
on (`collect.py` also catches what a probe did not expect).
"""

from __future__ import annotations

import ipaddress
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from itaudit.agent.catalog import Catalog
from itaudit.agent.context import OSContext, Result, Status

ERROR_KINDS = {
    Status.ABSENT: "absent",
    Status.DENIED: "denied",
    Status.FAILED: "failed",
    Status.TIMEOUT: "timeout",
    Status.UNSUPPORTED: "unsupported",
}
_MAX_ERROR = 1024


@dataclass
class ProbeRun:
    """The state of one collection: context, catalogue, report under construction."""

    ctx: OSContext
    catalog: Catalog
    report: dict[str, Any]
    now: datetime
    probe: str = ""
    _memo: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> dict[str, Any]:
        return self.report["identity"]

    def section(self, name: str) -> dict[str, Any]:
        return self.report[name]

    def error(self, kind: str, message: str, probe: str | None = None) -> None:
        name = probe or self.probe
        entry = {"probe": name[:64], "kind": kind, "message": message[:_MAX_ERROR]}
        if entry not in self.report["errors"]:
            self.report["errors"].append(entry)

    def failed(self, result: Result, probe: str | None = None, what: str | None = None) -> None:
        """Record a non-ok result as an error (no-op for ok)."""
        if result.ok:
            return
        message = (
            result.describe()
            if what is None
            else f"{what}: {result.message or result.status.value}"
        )
        self.error(ERROR_KINDS[result.status], message, probe)

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        """Read a source once per collection, whichever probe asks first.

        When `start(key, ...)` began that read in the background, wait for it.
        """
        if key not in self._memo:
            self._memo[key] = read()
        value = self._memo[key]
        return value.result() if isinstance(value, _Background) else value

    def start(self, key: str, read: Callable[[], Any]) -> None:
        """Begin a slow read now, in a background thread; `once(key, ...)` collects it.

        For reads that mostly wait on another program (apt, dnf): the other
        probes run meanwhile. `read` must only read through the context and
        return a value: the report is written from the collecting thread, so
        its errors come out in the same order whatever the timing.
        """
        if key not in self._memo:
            self._memo[key] = _Background(read)

    def settle(self) -> None:
        """Wait for every background read (a probe that failed may have left one running)."""
        for value in self._memo.values():
            if isinstance(value, _Background):
                value.wait()


class _Background:
    """One read running in a thread; `result()` waits and returns it (or raises its error)."""

    def __init__(self, read: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(read,), daemon=True)
        self._thread.start()

    def _run(self, read: Callable[[], Any]) -> None:
        try:
            self._value = read()
        except BaseException as exc:  # handed to the collecting thread by result()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class Probe(ABC):
    """One fact family on one platform."""

    name: str = ""

    def prefetch(self, run: ProbeRun) -> None:  # noqa: B027 - optional hook, empty by default
        """Start slow reads before any probe runs (`run.start`); most probes have none."""

    @abstractmethod
    def collect(self, run: ProbeRun) -> None: ...


# -- value helpers ----------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    """PowerShell's ConvertTo-Json writes one item as an object, not a list: undo that."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0) if text.lower().startswith("0x") else int(text)
        except ValueError:
            return None
    return None


def to_bool(value: Any) -> bool | None:
    """True/False from JSON booleans, 0/1, and the (non-localised) API words."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
    return None


def text(value: Any, limit: int = 256) -> str | None:
    """A bounded, stripped string, or None for empty / non-text."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    out = " ".join(str(value).split())
    if not out:
        return None
    return out[:limit]


def iso(moment: datetime | None) -> str | None:
    """UTC RFC 3339 with Z, seconds precision."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLAUSIBLE = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def ps_datetime(value: Any) -> datetime | None:
    """A date from Windows PowerShell 5.1 JSON.

    ConvertTo-Json writes a DateTime as "/Date(1718000000000)/" (milliseconds
    since 1970, UTC), or, for a top-level date, as an object whose `value`
    holds that string (its `DateTime` member is localised text and is never
    read). ISO strings and WMI "20240601094035.000000+000" strings are also
    accepted. Placeholder dates (1601, 1600) come back as None.
    """
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    s = value.strip().replace("\\/", "/")
    m = _MS_DATE.match(s)
    moment: datetime | None = None
    if m:
        moment = _EPOCH + timedelta(milliseconds=int(m.group(1)))
    elif re.match(r"^\d{14}\.\d{6}[+-]\d{3}$", s):
        base = datetime.strptime(s[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        moment = base - timedelta(minutes=int(s[21:]))
    else:
        try:
            parsed = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            return None
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not (_PLAUSIBLE[0] <= moment < _PLAUSIBLE[1]):
        return None
    return moment.astimezone(UTC)


def systemtime(value: Any) -> datetime | None:
    """A Windows SYSTEMTIME (16 bytes: year, month, weekday, day, h, m, s, ms; little-endian).

    The NetworkList profile dates are REG_BINARY SYSTEMTIMEs in local time;
    PowerShell writes REG_BINARY as a list of byte values.
    """
    if (
        not isinstance(value, list)
        or len(value) != 16
        or not all(isinstance(b, int) and 0 <= b <= 255 for b in value)
    ):
        return None
    words = [value[i] | (value[i + 1] << 8) for i in range(0, 16, 2)]
    year, month, _weekday, day, hour, minute, second, _ms = words
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def mac(value: Any) -> str | None:
    """aa:bb:cc:dd:ee:ff from "AA-BB-CC-DD-EE-FF", "AABBCCDDEEFF" or "aa:bb:...", else None."""
    if not isinstance(value, str):
        return None
    hexes = re.sub(r"[^0-9A-Fa-f]", "", value)
    if len(hexes) != 12 or len(re.sub(r"[0-9A-Fa-f:\-. ]", "", value)) != 0:
        return None
    out = ":".join(hexes[i : i + 2] for i in range(0, 12, 2)).lower()
    if out in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        return None
    return out


def ip(value: Any) -> str | None:
    """A canonical IP address string, zone id removed, or None."""
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip().split("%", 1)[0]))
    except ValueError:
        return None


def prefix_from_netmask(netmask: Any) -> int | None:
    if not isinstance(netmask, str):
        return None
    try:
        return ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen
    except ValueError:
        pass
    try:
        bits = int(ipaddress.IPv6Address(netmask.split("/")[0]))
    except ValueError:
        return None
    return bin(bits).count("1")


def yyyymmdd(value: Any) -> str | None:
    """A date from the uninstall keys' InstallDate ("20240611"), or None."""
    s = text(value, 16)
    if not s or not re.fullmatch(r"\d{8}", s):
        return None
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:])).isoformat()
    except ValueError:
        return None


def hostname_label(value: Any) -> str | None:
    """A host name the schema accepts (one DNS/NetBIOS label), or None."""
    s = text(value, 253)
    if not s:
        return None
    label = s.split(".", 1)[0]
    label = re.sub(r"[^A-Za-z0-9_-]", "-", label).strip("-_")[:63].strip("-_")
    return label or None
