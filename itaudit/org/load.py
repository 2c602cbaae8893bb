"""Loading and validating the organisation register in `inventory/`.

Every problem is collected (not only the first) with its file and line, or CSV
row, so the officer can fix the whole file in one pass.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem
from itaudit.identity import normalise_mac, normalise_serial, normalise_uuid
from itaudit.org.model import (
    ASSET_TYPES,
    LAN_STATES,
    TRUST_LABELS,
    Approval,
    Asset,
    Contact,
    DayOff,
    IncidentTeam,
    Member,
    Organisation,
    Unit,
)
from itaudit.yamlfile import LineDict, LineList, load_yaml

ORG_FILE = "organization.yaml"
ASSETS_FILE = "assets.csv"
TEAM_FILE = "incident-team.yaml"
FRAMEWORKS = ("circular-12-2022", "decree-331-2026")
ROLES = ("lead", "deputy_lead", "member")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 .-]{7,18}[0-9]$")
_TRUE = {"yes", "y", "true", "1", "x", "có", "co"}
_FALSE = {"no", "n", "false", "0", "", "không", "khong"}
MAX_CSV_BYTES = 16 * 1024 * 1024


class _Reader:
    """Field access on a LineDict that records problems instead of raising."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems

    def problem(self, node: Any, key: Any, message: str, severity: str = "error") -> None:
        line = node.line_of(key) if isinstance(node, LineDict | LineList) else None
        self.problems.append(Problem(self.source, message, line, str(key), severity))

    def mapping(self, node: Any, key: str, required: bool = True) -> LineDict | None:
        value = node.get(key) if isinstance(node, dict) else None
        if value is None:
            if required:
                self.problem(node, key, "is required")
            return None
        if not isinstance(value, LineDict):
            self.problem(node, key, "must be a mapping")
            return None
        return value

    def text(
        self, node: LineDict, key: str, required: bool = True, max_len: int = 256
    ) -> str | None:
        value = node.get(key)
        if value is None or value == "":
            if required:
                self.problem(node, key, "is required")
            return None
        if not isinstance(value, str | int):
            self.problem(node, key, "must be text")
            return None
        text = str(value).strip()
        if len(text) > max_len:
            self.problem(node, key, f"is longer than {max_len} characters")
            return None
        return text

    def integer(self, node: LineDict, key: str, minimum: int = 0) -> int | None:
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                node, key, "must be a whole number" if value is not None else "is required"
            )
            return None
        if value < minimum:
            self.problem(node, key, f"must be at least {minimum}")
            return None
        return value

    def day(self, node: LineDict, key: str, required: bool = False) -> date | None:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(node, key, "is required")
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(node, key, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def days_off(self, node: LineDict, key: str) -> tuple[DayOff, ...]:
        """A list of {date, name_vi, name_en}: extra days off beyond the national calendar."""
        items = node.get(key)
        if items is None:
            return ()
        if not isinstance(items, LineList):
            self.problem(node, key, "must be a list of {date, name_vi, name_en}")
            return ()
        out = []
        for item in items:
            if not isinstance(item, LineDict):
                self.problem(
                    items, items.index(item), "must be a mapping with date, name_vi, name_en"
                )
                continue
            day, name_vi = self.day(item, "date", required=True), self.text(item, "name_vi")
            name_en = self.text(item, "name_en", required=False) or name_vi
            if day and name_vi:
                out.append(DayOff(day, name_vi, name_en))  # type: ignore[arg-type]
        return tuple(out)

    def contact(self, node: LineDict, key: str) -> Contact | None:
        sub = self.mapping(node, key, required=False)
        if sub is None:
            return None
        name = self.text(sub, "name")
        phone = self.text(sub, "phone", required=False, max_len=32)
        if phone and not _PHONE_RE.match(phone):
            self.problem(sub, "phone", f"{phone!r} is not a telephone number")
        if name is None:
            return None
        return Contact(name, self.text(sub, "title", False), phone, self.text(sub, "email", False))


def _unknown_fields(r: _Reader, node: Any, known: set[str]) -> None:
    """A misspelt field would otherwise be ignored without a word."""
    if not isinstance(node, LineDict):
        return
    for key in node:
        if key not in known:
            r.problem(node, key, f"unknown field (known: {', '.join(sorted(known))})")


_ORG_FILE_KEYS = {"organization", "units"}
_ORG_KEYS = {"id", "name_vi", "name_en", "framework", "sample", "days_off", "notes"}
_TEAM_FILE_KEYS = {"team", "members"}
_TEAM_KEYS = {"name_vi", "name_en", "decision", "last_drill", "notes"}
_MEMBER_KEYS = {"id", "name", "role", "unit", "title", "phone", "email", "deputy", "notes"}


def _load_units(
    path: Path, problems: list[Problem]
) -> tuple[LineDict | None, list[Unit], set[str]]:
    """(the `organization` mapping, the valid units, ids of unit entries that have errors)."""
    r = _Reader(str(path), problems)
    doc = load_yaml(path, bad_dates_as_text=True)
    if not isinstance(doc, LineDict):
        problems.append(Problem(str(path), "must be a mapping with `organization` and `units`", 1))
        return None, [], set()
    _unknown_fields(r, doc, _ORG_FILE_KEYS)
    org = r.mapping(doc, "organization")
    _unknown_fields(r, org, _ORG_KEYS)
    units_node = doc.get("units")
    if not isinstance(units_node, LineList) or not units_node:
        r.problem(doc, "units", "must be a non-empty list of units")
        return org, [], set()
    units: list[Unit] = []
    broken: set[str] = set()
    seen: dict[str, int] = {}
    for i, node in enumerate(units_node):
        if not isinstance(node, LineDict):
            problems.append(
                Problem(
                    str(path), "each unit must be a mapping", units_node.line_of(i), f"units[{i}]"
                )
            )
            continue
        unit = _load_unit(r, node, i)
        if unit is None:
            # Its own errors are reported; rows that name it are not errors too.
            if isinstance(node.get("id"), str):
                broken.add(node["id"].strip())
            continue
        if unit.id in seen:
            r.problem(node, "id", f"unit id {unit.id!r} is already used at line {seen[unit.id]}")
            continue
        seen[unit.id] = node.line_of("id")
        units.append(unit)
    return org, units, broken - set(seen)


def _load_unit(r: _Reader, node: LineDict, index: int) -> Unit | None:
    uid = r.text(node, "id", max_len=63)
    if uid is not None and not _ID_RE.match(uid):
        r.problem(node, "id", f"{uid!r} must be lower-case letters, digits and hyphens")
        uid = None
    name_vi, name_en = r.text(node, "name_vi"), r.text(node, "name_en")
    staff = r.integer(node, "staff", minimum=0)
    subnets: list[Any] = []
    raw_subnets = node.get("subnets")
    if not isinstance(raw_subnets, LineList) or not raw_subnets:
        r.problem(node, "subnets", "must be a non-empty list of networks (CIDR)")
    else:
        for j, raw in enumerate(raw_subnets):
            try:
                subnets.append(ipaddress.ip_network(str(raw), strict=True))
            except ValueError as exc:
                r.problems.append(
                    Problem(
                        r.source,
                        f"{raw!r} is not a network: {exc}",
                        raw_subnets.line_of(j),
                        f"subnets[{j}]",
                    )
                )
    gateway = None
    gw_text = r.text(node, "gateway", required=False, max_len=45)
    if gw_text is not None:
        try:
            gateway = ipaddress.ip_address(gw_text)
        except ValueError:
            r.problem(node, "gateway", f"{gw_text!r} is not an IP address")
        else:
            if subnets and not any(gateway in net for net in subnets):
                r.problem(node, "gateway", f"{gateway} is outside the unit's subnets")
    approval = None
    appr = r.mapping(node, "level1_approval", required=False)
    if appr is not None:
        decision, day = r.text(appr, "decision"), r.day(appr, "date", required=True)
        level = appr.get("level", 1)
        if level not in (1, 2, 3, 4, 5):
            r.problem(appr, "level", "must be a level from 1 to 5")
        if decision and day:
            approval = Approval(decision, day, level if isinstance(level, int) else 1)
    else:
        r.problem(
            node,
            "level1_approval",
            "is missing: every system needs an approved level dossier",
            "warning",
        )
    includes = node.get("includes") or []
    if not isinstance(includes, list) or not all(isinstance(x, str) for x in includes):
        r.problem(node, "includes", "must be a list of names")
        includes = []
    sample = node.get("sample", False)
    if not isinstance(sample, bool):
        r.problem(node, "sample", "must be true or false")
    known = {
        "id",
        "name_vi",
        "name_en",
        "staff",
        "subnets",
        "gateway",
        "profile",
        "level1_approval",
        "last_assessment",
        "head",
        "it_contact",
        "sample",
        "includes",
        "extra_days_off",
        "notes",
    }
    for key in node:
        if key not in known:
            r.problem(node, key, f"unknown field (known: {', '.join(sorted(known))})")
    head, it = r.contact(node, "head"), r.contact(node, "it_contact")
    last = r.day(node, "last_assessment")
    if None in (uid, name_vi, name_en, staff) or not subnets:
        return None
    return Unit(
        id=uid,  # type: ignore[arg-type]
        name_vi=name_vi,  # type: ignore[arg-type]
        name_en=name_en,  # type: ignore[arg-type]
        staff=staff,  # type: ignore[arg-type]
        subnets=tuple(subnets),
        gateway=gateway,
        profile=r.text(node, "profile", required=False) or uid,  # type: ignore[arg-type]
        approval=approval,
        last_assessment=last,
        head=head,
        it_contact=it,
        sample=sample is True,
        includes=tuple(includes),
        extra_days_off=r.days_off(node, "extra_days_off"),
        line=node.line,
    )


ASSET_COLUMNS = (
    "asset_tag",
    "type",
    "unit",
    "hostname",
    "mac",
    "serial",
    "hardware_uuid",
    "ip",
    "assigned_to",
    "location",
    "platform",
    "secret",
    "hosted_offsite",
    "lan",
    "url",
    "trust_label",
    "notes",
)
_REQUIRED_COLUMNS = ("asset_tag", "type", "unit")


def _read_csv_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise InputError(
                Problem(str(path), f"file is {size} bytes; the limit is {MAX_CSV_BYTES}")
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read: {exc.strerror or exc}")) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode Text" is UTF-16 with tabs: readable, so read it.
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(Problem(str(path), f"invalid UTF-16 text ({exc.reason})")) from exc
    try:
        return raw.decode("utf-8-sig")  # Excel writes a BOM; accept both
    except UnicodeDecodeError as exc:
        # exc.object is what was decoded: the bytes after the BOM, if any.
        line = exc.object.count(b"\n", 0, exc.start) + 1
        offset = exc.start + len(raw) - len(exc.object)
        raise InputError(
            Problem(
                str(path),
                f"not UTF-8 (byte {offset}); in Excel use 'CSV UTF-8' when saving",
                line,
            )
        ) from exc


def _boolean(value: str, src: str, row: int, column: str, problems: list[Problem]) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low not in _FALSE:
        problems.append(Problem(src, f"{value!r} is not yes/no", row, column))
    return False


def load_assets(
    path: Path,
    units: dict[str, Unit],
    problems: list[Problem],
    broken_units: set[str] | frozenset[str] = frozenset(),
) -> list[Asset]:
    """Read `assets.csv`; problems name the CSV line (the header is line 1).

    A row of a unit in `broken_units` (declared, but with errors of its own) is
    checked, but its unit is not reported again on every row.
    """
    src = str(path)
    text = _read_csv_text(path)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in _REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(Problem(src, f"missing column(s): {', '.join(missing)}", 1))
        return []
    for col in header:
        if col not in ASSET_COLUMNS:
            problems.append(Problem(src, f"unknown column {col!r} (ignored)", 1, col, "warning"))
    assets: list[Asset] = []
    seen_tags: dict[str, int] = {}
    seen_hosts: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_serials: dict[str, int] = {}
    seen_uuids: dict[str, int] = {}
    for raw in reader:
        # The line the record starts on: a cell typed with Alt+Enter in Excel
        # spans several lines, and reader.line_num is the last of them.
        row = reader.line_num - sum(
            v.count("\n") for v in (*raw.values(), *(raw.get(None) or ())) if isinstance(v, str)
        )
        if None in raw:
            problems.append(Problem(src, "more cells than columns", row))
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue
        asset = _asset_from_row(cells, row, src, units, problems, broken_units)
        if asset is None:
            continue
        for value, seen, what in (
            (asset.tag.lower(), seen_tags, "asset_tag"),
            (asset.hostname.lower() if asset.hostname else None, seen_hosts, "hostname"),
            (asset.mac, seen_macs, "mac"),
            (normalise_serial(asset.serial), seen_serials, "serial"),
            (normalise_uuid(asset.hardware_uuid), seen_uuids, "hardware_uuid"),
        ):
            if value is None:
                continue
            if value in seen:
                problems.append(
                    Problem(src, f"{value!r} is already used on line {seen[value]}", row, what)
                )
            else:
                seen[value] = row
        assets.append(asset)
    return assets


def _asset_from_row(
    cells: dict[str, str],
    row: int,
    src: str,
    units: dict[str, Unit],
    problems: list[Problem],
    broken_units: set[str] | frozenset[str] = frozenset(),
) -> Asset | None:
    def bad(column: str, message: str, severity: str = "error") -> None:
        problems.append(Problem(src, message, row, column, severity))

    tag, kind, unit_id = (
        cells.get("asset_tag", ""),
        cells.get("type", "").lower(),
        cells.get("unit", ""),
    )
    ok = True
    if not _TAG_RE.match(tag):
        bad("asset_tag", f"{tag!r} is not a valid asset tag" if tag else "is required")
        ok = False
    if kind not in ASSET_TYPES:
        bad("type", f"{kind!r} is not one of {', '.join(ASSET_TYPES)}")
        ok = False
    unit = units.get(unit_id)
    if unit is None:
        if unit_id not in broken_units:
            bad(
                "unit",
                f"{unit_id!r} is not a unit of organization.yaml" if unit_id else "is required",
            )
        ok = False
    hostname = cells.get("hostname") or None
    if hostname and not _HOST_RE.match(hostname):
        bad("hostname", f"{hostname!r} is not a valid host name")
        hostname = None
    mac = None
    if cells.get("mac"):
        mac = normalise_mac(cells["mac"])
        if mac is None:
            bad("mac", f"{cells['mac']!r} is not a usable MAC address")
    serial = cells.get("serial") or None
    if serial and normalise_serial(serial) is None:
        bad(
            "serial",
            f"{serial!r} is a placeholder serial: it will not be used to match machines",
            "warning",
        )
    uuid = cells.get("hardware_uuid") or None
    if uuid and normalise_uuid(uuid) is None:
        bad("hardware_uuid", f"{uuid!r} is not a usable SMBIOS UUID", "warning")
    ip = cells.get("ip") or None
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            bad("ip", f"{ip!r} is not an IP address")
            ip = None
    secret = _boolean(cells.get("secret", ""), src, row, "secret", problems)
    offsite = _boolean(cells.get("hosted_offsite", ""), src, row, "hosted_offsite", problems)
    lan = (cells.get("lan") or "").lower()
    default_lan = (
        "forbidden"
        if secret
        else "none"
        if offsite or kind == "website"
        else "optional"
        if kind in ("laptop", "tablet", "phone")
        else "expected"
    )
    if not lan:
        lan = default_lan
    elif lan not in LAN_STATES:
        bad("lan", f"{lan!r} is not one of {', '.join(LAN_STATES)}")
        lan = default_lan
    if secret and lan in ("expected", "optional"):
        bad("lan", "a state-secret machine must never be on a network (lan must be 'forbidden')")
    if secret and kind not in ("workstation", "laptop"):
        bad("secret", f"only workstations and laptops can be state-secret machines, not {kind!r}")
    if ip and unit and lan in ("expected", "optional") and not unit.contains(ip):
        bad("ip", f"{ip} is outside the subnets of unit {unit.id!r}", "warning")
    url = cells.get("url") or None
    trust = (cells.get("trust_label") or "").lower() or None
    if kind == "website":
        if not url or not re.match(r"^https?://[^\s<>\"']+$", url):
            bad("url", "a website needs its address (http:// or https://)")
        if trust is None:
            bad(
                "trust_label", f"a website needs its trust-label status ({', '.join(TRUST_LABELS)})"
            )
        elif trust not in TRUST_LABELS:
            bad("trust_label", f"{trust!r} is not one of {', '.join(TRUST_LABELS)}")
            trust = None
    elif kind in ("workstation", "laptop", "server") and not hostname and not offsite:
        bad(
            "hostname",
            "a computer needs a host name to be matched with its agent reports",
            "warning",
        )
    if not ok:
        return None
    return Asset(
        tag=tag,
        type=kind,
        unit=unit_id,
        hostname=hostname,
        mac=mac,
        serial=serial,
        hardware_uuid=uuid,
        ip=ip,
        assigned_to=cells.get("assigned_to") or None,
        location=cells.get("location") or None,
        platform=(cells.get("platform") or None),
        secret=secret,
        hosted_offsite=offsite,
        lan=lan,
        url=url,
        trust_label=trust,
        notes=cells.get("notes") or None,
        row=row,
    )


def _load_team(
    path: Path,
    units: dict[str, Unit],
    problems: list[Problem],
    broken_units: set[str] | frozenset[str] = frozenset(),
) -> IncidentTeam | None:
    r = _Reader(str(path), problems)
    doc = load_yaml(path, bad_dates_as_text=True)
    if not isinstance(doc, LineDict):
        problems.append(Problem(str(path), "must be a mapping with `team` and `members`", 1))
        return None
    _unknown_fields(r, doc, _TEAM_FILE_KEYS)
    team = r.mapping(doc, "team")
    _unknown_fields(r, team, _TEAM_KEYS)
    members_node = doc.get("members")
    if not isinstance(members_node, LineList) or not members_node:
        r.problem(doc, "members", "must be a non-empty list")
        return None
    members: list[Member] = []
    for i, node in enumerate(members_node):
        if not isinstance(node, LineDict):
            problems.append(
                Problem(str(path), "each member must be a mapping", members_node.line_of(i))
            )
            continue
        _unknown_fields(r, node, _MEMBER_KEYS)
        mid, name = r.text(node, "id", max_len=64), r.text(node, "name")
        role = r.text(node, "role") or "member"
        if role not in ROLES:
            r.problem(node, "role", f"{role!r} is not one of {', '.join(ROLES)}")
        unit = r.text(node, "unit")
        if unit and unit not in units and unit not in broken_units:
            r.problem(node, "unit", f"{unit!r} is not a unit of organization.yaml")
        phone = r.text(node, "phone", required=False, max_len=32)
        if phone and not _PHONE_RE.match(phone):
            r.problem(node, "phone", f"{phone!r} is not a telephone number")
        if mid and name and unit:
            members.append(
                Member(
                    id=mid,
                    name=name,
                    role=role,
                    unit=unit,
                    title=r.text(node, "title", False),
                    phone=phone,
                    email=r.text(node, "email", False),
                    deputy=r.text(node, "deputy", False, 64),
                    line=node.line,
                )
            )
    ids = Counter(m.id for m in members)
    for m in members:
        if ids[m.id] > 1:
            problems.append(
                Problem(str(path), f"member id {m.id!r} is used {ids[m.id]} times", m.line, "id")
            )
        if m.deputy is not None and (m.deputy not in ids or m.deputy == m.id):
            problems.append(
                Problem(
                    str(path),
                    f"deputy {m.deputy!r} is not another member of the team",
                    m.line,
                    "deputy",
                )
            )
    leads = [m for m in members if m.role == "lead"]
    if len(leads) != 1:
        r.problem(doc, "members", f"the team needs exactly one lead (found {len(leads)})")
    if not any(m.role == "deputy_lead" for m in members):
        r.problem(doc, "members", "the team has no deputy lead", "warning")
    if team is None:
        return None
    return IncidentTeam(
        name_vi=r.text(team, "name_vi") or "",
        name_en=r.text(team, "name_en") or "",
        decision=r.text(team, "decision", required=False),
        members=tuple(members),
        last_drill=r.day(team, "last_drill"),
    )


def _is_file(path: Path) -> bool:
    """True for a file, and for a path that cannot even be looked at: reading it
    then names the real reason (permission denied) instead of "not found"."""
    try:
        return path.is_file()
    except OSError:
        return True


def validate_organisation(inventory: Path) -> tuple[Organisation | None, list[Problem]]:
    """Load the register; return it (None if unusable) and every problem found,
    file by file (organization.yaml, assets.csv, incident-team.yaml), in line order."""
    org, problems = _validate(inventory)
    order = {name: i for i, name in enumerate((ORG_FILE, ASSETS_FILE, TEAM_FILE))}
    problems.sort(key=lambda p: (order.get(Path(p.source).name, 3), p.line or 0))
    return org, problems


def _validate(inventory: Path) -> tuple[Organisation | None, list[Problem]]:
    problems: list[Problem] = []
    org_path = inventory / ORG_FILE
    if not _is_file(org_path):
        return None, [
            Problem(str(org_path), "not found (run `itaudit init` to create a workspace)")
        ]
    try:
        org_node, units, broken = _load_units(org_path, problems)
    except InputError as exc:
        return None, exc.problems
    by_id = {u.id: u for u in units}
    r = _Reader(str(org_path), problems)
    framework = "circular-12-2022"
    org_fields: dict[str, str] = {}
    if org_node is not None:
        for key in ("id", "name_vi", "name_en"):
            org_fields[key] = r.text(org_node, key) or ""
        framework = r.text(org_node, "framework", required=False) or framework
        if framework not in FRAMEWORKS:
            r.problem(org_node, "framework", f"{framework!r} is not one of {', '.join(FRAMEWORKS)}")
    nets = [(n, u) for u in units for n in u.subnets]
    for i, (a, ua) in enumerate(nets):
        for b, ub in nets[i + 1 :]:
            if ua.id != ub.id and a.version == b.version and a.overlaps(b):
                problems.append(
                    Problem(
                        str(org_path),
                        f"subnet {b} of {ub.id!r} overlaps {a} of {ua.id!r}",
                        ub.line,
                        "subnets",
                    )
                )
    assets: list[Asset] = []
    assets_path = inventory / ASSETS_FILE
    if _is_file(assets_path):
        try:
            assets = load_assets(assets_path, by_id, problems, broken)
        except InputError as exc:
            problems.extend(exc.problems)
    else:
        problems.append(
            Problem(str(assets_path), "not found: the asset register is empty", severity="warning")
        )
    team = None
    team_path = inventory / TEAM_FILE
    if _is_file(team_path):
        try:
            team = _load_team(team_path, by_id, problems, broken)
        except InputError as exc:
            problems.extend(exc.problems)
    else:
        problems.append(
            Problem(str(team_path), "not found: no incident-response team", severity="warning")
        )
    if not units:
        return None, problems
    sample = org_node is not None and org_node.get("sample") is True
    days_off = r.days_off(org_node, "days_off") if org_node is not None else ()
    org = Organisation(
        id=org_fields.get("id", ""),
        name_vi=org_fields.get("name_vi", ""),
        name_en=org_fields.get("name_en", ""),
        framework=framework,
        units=tuple(units),
        assets=tuple(assets),
        team=team,
        sample=sample,
        days_off=days_off,
    )
    return org, problems


def load_organisation(inventory: Path) -> Organisation:
    """The register, or InputError listing every error (warnings do not stop it)."""
    org, problems = validate_organisation(inventory)
    errors = [p for p in problems if p.severity == "error"]
    if org is None or errors:
        raise InputError(errors or problems)
    return org
