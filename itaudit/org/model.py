"""The organisation as declared: units, the asset register, the response team."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date

from itaudit.identity import Identity

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ASSET_TYPES = (
    "workstation",
    "laptop",
    "server",
    "tablet",
    "printer",
    "scanner",
    "projector",
    "access-point",
    "switch",
    "router",
    "firewall",
    "camera",
    "phone",
    "nas",
    "ups",
    "website",
    "other",
)
# Types that run an agent and are evaluated by the checker.
COMPUTER_TYPES = ("workstation", "laptop", "server")
# `lan` column: whether the device is expected on its unit's LAN scan.
LAN_STATES = ("expected", "optional", "forbidden", "none")
TRUST_LABELS = ("granted", "pending", "none")


@dataclass(frozen=True)
class Contact:
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Approval:
    """The level-1 dossier approval: decision number and date."""

    decision: str
    date: date
    level: int = 1


@dataclass(frozen=True)
class DayOff:
    """A day off declared by the organisation or a unit, beyond the national calendar."""

    day: date
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class Unit:
    id: str
    name_vi: str
    name_en: str
    staff: int
    subnets: tuple[IPNetwork, ...]
    gateway: IPAddress | None
    profile: str
    approval: Approval | None
    last_assessment: date | None
    head: Contact | None
    it_contact: Contact | None
    sample: bool = False
    includes: tuple[str, ...] = ()
    extra_days_off: tuple[DayOff, ...] = ()
    line: int = 0

    def name(self, lang: str = "vi") -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.subnets)


@dataclass(frozen=True)
class Asset:
    """One row of the asset register (`assets.csv`)."""

    tag: str
    type: str
    unit: str
    hostname: str | None = None
    mac: str | None = None
    serial: str | None = None
    hardware_uuid: str | None = None
    ip: str | None = None
    assigned_to: str | None = None
    location: str | None = None
    platform: str | None = None
    secret: bool = False
    hosted_offsite: bool = False
    lan: str = "expected"
    url: str | None = None
    trust_label: str | None = None
    notes: str | None = None
    row: int = 0

    @property
    def is_computer(self) -> bool:
        return self.type in COMPUTER_TYPES

    @property
    def identity(self) -> Identity:
        return Identity.of(
            self.hostname, self.hardware_uuid, self.serial, [self.mac] if self.mac else []
        )


@dataclass(frozen=True)
class Member:
    """A member of the incident-response team."""

    id: str
    name: str
    role: str  # lead, deputy_lead, member
    unit: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    deputy: str | None = None  # id of the member who stands in for this one
    line: int = 0


@dataclass(frozen=True)
class IncidentTeam:
    name_vi: str
    name_en: str
    decision: str | None
    members: tuple[Member, ...]
    last_drill: date | None = None

    def lead(self) -> Member | None:
        return next((m for m in self.members if m.role == "lead"), None)

    def deputy_lead(self) -> Member | None:
        return next((m for m in self.members if m.role == "deputy_lead"), None)

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)


@dataclass(frozen=True)
class Organisation:
    id: str
    name_vi: str
    name_en: str
    framework: str
    units: tuple[Unit, ...]
    assets: tuple[Asset, ...]
    team: IncidentTeam | None
    sample: bool = False
    days_off: tuple[DayOff, ...] = ()
    _by_id: dict[str, Unit] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({u.id: u for u in self.units})

    def unit(self, unit_id: str) -> Unit | None:
        return self._by_id.get(unit_id)

    def assets_of(self, unit_id: str) -> list[Asset]:
        return [a for a in self.assets if a.unit == unit_id]

    def unit_for_address(self, address: str) -> Unit | None:
        return next((u for u in self.units if u.contains(address)), None)

    def asset(self, tag: str) -> Asset | None:
        return next((a for a in self.assets if a.tag == tag), None)
