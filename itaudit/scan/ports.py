"""The ports a LAN scan checks, and how risky each is when open.

The list is data (`profiles/data/scan-ports.yaml` in the workspace, the
bundled sample's copy when the workspace has none), tailorable per unit. Every
problem in the file is reported with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem, UsageError
from itaudit.org.model import ASSET_TYPES
from itaudit.yamlfile import MAX_YAML_BYTES, LineDict, LineList, load_yaml

PORTS_FILE = Path("data") / "scan-ports.yaml"  # under the workspace's profiles/
RISKS = ("high", "medium", "low")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_ENTRY_KEYS = {"port", "service", "risk", "expected_on", "note_vi", "note_en"}
_PORT_LIST_RE = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")
MAX_NOTE = 400


@dataclass(frozen=True)
class PortRisk:
    """One port of the list: what runs there and why it is a risk when open."""

    port: int
    service: str
    risk: str  # high, medium, low
    expected_on: tuple[str, ...]  # asset types on which the port is normal
    note_vi: str
    note_en: str

    def note(self, lang: str = "vi") -> str:
        return self.note_vi if lang == "vi" else self.note_en


@dataclass(frozen=True)
class PortCatalogue:
    """The default list and each unit's tailored list."""

    default: tuple[PortRisk, ...]
    units: dict[str, tuple[PortRisk, ...]]
    source: str
    # How many days a device seen on a unit's LAN stays in its LAN state when no
    # later scan covered it (itaudit.scan.coverage): `window_days`, per unit too.
    window_default: int = 7
    windows: dict[str, int] = field(default_factory=dict)

    def window_days(self, unit: str | None) -> int:
        return self.windows.get(unit or "", self.window_default)

    def for_unit(self, unit: str | None) -> tuple[PortRisk, ...]:
        return self.units.get(unit or "", self.default)

    def lookup(self, unit: str | None) -> dict[int, PortRisk]:
        return {p.port: p for p in self.for_unit(unit)}


def workspace_catalogue(profiles: Path, unit_ids: set[str] | None) -> PortCatalogue:
    """The workspace's list, else the bundled sample's (for a workspace made before it).

    Unit ids are checked against the register only in the workspace's own
    file: the sample's tailoring names the sample's units.
    """
    path = profiles / PORTS_FILE
    if path.is_file():
        return load_catalogue(path, unit_ids)
    from itaudit.workspace import sample_root

    return load_catalogue(sample_root() / "profiles" / PORTS_FILE)


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def bad(self, node: Any, key: Any, message: str) -> None:
        line = node.line_of(key) if isinstance(node, LineDict | LineList) else None
        self.problems.append(Problem(self.source, message, line, str(key)))


def _entry(r: _Reader, node: Any, where: Any, parent: Any) -> PortRisk | None:
    if not isinstance(node, dict):
        r.bad(parent, where, "each port must be a mapping with port, service, risk, notes")
        return None
    for key in node:
        if key not in _ENTRY_KEYS:
            r.bad(node, key, f"unknown field (allowed: {', '.join(sorted(_ENTRY_KEYS))})")
    port = node.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        r.bad(node, "port", f"must be a port number 1-65535, not {port!r}")
        return None
    service = node.get("service")
    if not isinstance(service, str) or not _SERVICE_RE.match(service):
        r.bad(node, "service", "must be a short service name (letters, digits, . _ -)")
        service = "unknown"
    risk = node.get("risk")
    if risk not in RISKS:
        r.bad(node, "risk", f"must be one of {', '.join(RISKS)}, not {risk!r}")
        risk = "medium"
    expected = node.get("expected_on", [])
    types: list[str] = []
    if not isinstance(expected, list):
        r.bad(node, "expected_on", "must be a list of asset types")
    else:
        for i, item in enumerate(expected):
            if item not in ASSET_TYPES:
                r.bad(expected, i, f"{item!r} is not an asset type ({', '.join(ASSET_TYPES)})")
            else:
                types.append(item)
    notes = {}
    for key in ("note_vi", "note_en"):
        text = node.get(key)
        if not isinstance(text, str) or not text.strip():
            r.bad(node, key, "is required (why an open port is a risk, in this language)")
            text = ""
        elif len(text) > MAX_NOTE:
            r.bad(node, key, f"is longer than {MAX_NOTE} characters")
        notes[key] = text.strip()
    return PortRisk(port, service, risk, tuple(types), notes["note_vi"], notes["note_en"])


def _entries(r: _Reader, node: Any, key: str, parent: Any) -> list[PortRisk]:
    if not isinstance(node, list):
        r.bad(parent, key, "must be a list of ports")
        return []
    out: list[PortRisk] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(node):
        entry = _entry(r, item, i, node)
        if entry is None:
            continue
        if entry.port in seen:
            r.bad(node, i, f"port {entry.port} is listed twice")
            continue
        seen[entry.port] = i
        out.append(entry)
    return out


def load_catalogue(path: Path, unit_ids: set[str] | None = None) -> PortCatalogue:
    """Read and check the port list; InputError naming every problem with its line.

    The file is read on every scan, before nmap starts: it is parsed with
    libyaml when available, and parsed again with line numbers only when it
    has a problem to report.
    """
    fast = _fast_yaml(path)
    if fast is not None:
        try:
            return _catalogue(fast, str(path), unit_ids)
        except InputError:
            pass
    return _catalogue(load_yaml(path), str(path), unit_ids)


def _fast_yaml(path: Path) -> Any:
    try:
        from yaml import CSafeLoader, YAMLError
        from yaml import load as yaml_load
    except ImportError:
        return None
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            return None
        return yaml_load(path.read_text(encoding="utf-8-sig"), Loader=CSafeLoader)
    except (OSError, UnicodeDecodeError, YAMLError):
        return None  # the line-aware loader reports it properly


def _catalogue(data: Any, source: str, unit_ids: set[str] | None) -> PortCatalogue:
    r = _Reader(source)
    if not isinstance(data, dict):
        raise InputError(Problem(source, "must be a mapping with `ports:` (and `units:`)"))
    for key in data:
        if key not in ("ports", "units", "window_days"):
            r.bad(data, key, "unknown section (allowed: ports, units, window_days)")
    window_default = _window(r, data, 7)
    windows: dict[str, int] = {}
    default = _entries(r, data.get("ports"), "ports", data)
    if not default and not r.problems:
        r.bad(data, "ports", "the default list is empty")
    units: dict[str, tuple[PortRisk, ...]] = {}
    tailoring = data.get("units") or {}
    if not isinstance(tailoring, dict):
        r.bad(data, "units", "must be a mapping of unit id to add/remove")
        tailoring = {}
    for unit_id, spec in tailoring.items():
        if unit_ids is not None and unit_id not in unit_ids:
            r.bad(tailoring, unit_id, f"{unit_id!r} is not a unit of organization.yaml")
            continue
        if not isinstance(spec, dict):
            r.bad(tailoring, unit_id, "must be a mapping with add: and/or remove:")
            continue
        for key in spec:
            if key not in ("add", "remove", "window_days"):
                r.bad(spec, key, "unknown field (allowed: add, remove, window_days)")
        if "window_days" in spec:
            windows[unit_id] = _window(r, spec, window_default)
        ports = {p.port: p for p in default}
        removed = spec.get("remove", [])
        if not isinstance(removed, list):
            r.bad(spec, "remove", "must be a list of port numbers")
            removed = []
        for i, number in enumerate(removed):
            if not isinstance(number, int) or number not in ports:
                r.bad(removed, i, f"{number!r} is not in the default list")
            ports.pop(number, None)
        if "add" in spec:
            for entry in _entries(r, spec["add"], "add", spec):
                ports[entry.port] = entry
        units[unit_id] = tuple(sorted(ports.values(), key=lambda p: p.port))
    if r.problems:
        raise InputError(r.problems)
    return PortCatalogue(
        tuple(sorted(default, key=lambda p: p.port)), units, source, window_default, windows
    )


def _window(r: _Reader, node: Any, default: int) -> int:
    value = node.get("window_days", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
        r.bad(node, "window_days", f"{value!r} is not a number of days within 1-365")
        return default
    return value


def parse_port_list(text: str) -> tuple[int, ...]:
    """`22,80,8000-8010` → the sorted port numbers; UsageError when malformed."""
    compact = text.replace(" ", "")
    if not _PORT_LIST_RE.match(compact):
        raise UsageError(
            f"--ports {text!r}: give `default`, `none`, or port numbers and ranges "
            "such as 22,80,8000-8010"
        )
    ports: set[int] = set()
    for part in compact.split(","):
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        if not (1 <= lo <= 65535 and 1 <= hi <= 65535) or hi < lo:
            raise UsageError(f"--ports {text!r}: {part} is not a port or range within 1-65535")
        ports.update(range(lo, hi + 1))
    return tuple(sorted(ports))


@dataclass(frozen=True)
class PortChoice:
    """What `--ports` resolved to for one unit."""

    spec: str  # default, none, or the list as given
    ports: tuple[int, ...]  # empty: host discovery only


def choose_ports(spec: str, catalogue: PortCatalogue, unit: str | None) -> PortChoice:
    value = spec.strip().lower()
    if value == "default":
        return PortChoice("default", tuple(p.port for p in catalogue.for_unit(unit)))
    if value == "none":
        return PortChoice("none", ())
    return PortChoice(spec.strip(), parse_port_list(value))
