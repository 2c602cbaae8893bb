"""The types a rule condition works with, and every fact it may read.

A condition reads two kinds of facts:

- report facts, named by their HostReport path (`security.firewall.profiles[].enabled`),
  typed from the HostReport JSON Schema (`itaudit.schema.iter_fact_paths`);
- context facts, written with a `$` so they can never collide with a report
  field: `$asset.*` (the register entry), `$unit.*` (the unit), `$host.*`
  (what the store knows of the machine), `$lan.*` (the latest LAN scans),
  `$org.*`, `$attestation.*` (attestation rules only), `$params.*` and `$now`.

Both are declared here, so a profile naming a fact that does not exist fails
when it loads, and so does a comparison between mismatched types.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from itaudit.org.model import ASSET_TYPES, LAN_STATES
from itaudit.schema import iter_fact_paths

SCALAR_KINDS = ("string", "integer", "number", "boolean", "date", "datetime", "ip", "network")


@dataclass(frozen=True)
class FType:
    """A fact or value type: a scalar kind, a list of a type, or an object."""

    kind: str  # one of SCALAR_KINDS, "list", "object"
    item: FType | None = None
    values: frozenset[str] | None = None  # allowed values of an enumerated string

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list of {self.item}"
        if self.values:
            return "one of " + ", ".join(sorted(self.values))
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "number")

    @property
    def temporal(self) -> bool:
        return self.kind in ("date", "datetime")

    def accepts(self, other: FType) -> bool:
        """Can a value of type `other` be compared for equality with this one?"""
        if self.numeric and other.numeric:
            return True
        if self.temporal and other.temporal:
            return True
        if self.kind == "list" and other.kind == "list":
            return bool(self.item and other.item and self.item.accepts(other.item))
        if {self.kind, other.kind} == {"ip", "string"}:
            return True
        return self.kind == other.kind


STRING = FType("string")
INTEGER = FType("integer")
NUMBER = FType("number")
BOOLEAN = FType("boolean")
DATE = FType("date")
DATETIME = FType("datetime")
IP = FType("ip")
NETWORK = FType("network")
OBJECT = FType("object")


def list_of(item: FType) -> FType:
    return FType("list", item=item)


def enum(values: tuple[str, ...] | list[str]) -> FType:
    return FType("string", values=frozenset(values))


def schema_type(sub: dict[str, Any]) -> FType:
    """The FType of a JSON Schema node of the HostReport schema."""
    if "enum" in sub:
        return enum([v for v in sub["enum"] if v is not None])
    if "const" in sub:
        return enum([sub["const"]])
    if "anyOf" in sub:
        kinds = [schema_type(s) for s in sub["anyOf"] if s.get("type") != "null"]
        return kinds[0] if len(kinds) == 1 else OBJECT
    types = sub.get("type")
    types = [types] if isinstance(types, str) else [t for t in (types or []) if t != "null"]
    kind = types[0] if len(types) == 1 else "object"
    if kind == "string":
        fmt = sub.get("format")
        return {"date-time": DATETIME, "date": DATE, "ip-address": IP}.get(
            fmt if isinstance(fmt, str) else "", STRING
        )
    if kind == "integer":
        return INTEGER
    if kind == "number":
        return NUMBER
    if kind == "boolean":
        return BOOLEAN
    if kind == "array":
        return list_of(schema_type(sub.get("items", {})))
    return OBJECT


@cache
def report_fact_types() -> dict[str, FType]:
    """Every report fact path (arrays written `name[]`) with the type of one value."""
    return {path: schema_type(sub) for path, sub in iter_fact_paths()}


def report_path_type(path: str) -> FType | None:
    """The type of the value a report path yields; a path through `[]` yields a list.

    `security.firewall.profiles[].enabled` is a list of booleans (one per
    profile); `security.firewall.profiles` is a list of objects. None when the
    schema does not define the path.
    """
    if path.endswith("[]"):
        return None
    one = report_fact_types().get(path)
    if one is None:
        return None
    if "[]" not in path:
        return one
    # Values gathered across items are one flat list, even when each is a list.
    return one if one.kind == "list" else list_of(one)


# Context facts: what the checker knows besides the report. Keep in step with
# `itaudit.check.context`, which fills them, and with docs/profiles.md.
NAMESPACES: dict[str, dict[str, FType]] = {
    "asset": {
        "registered": BOOLEAN,
        "tag": STRING,
        "type": enum(ASSET_TYPES),
        "secret": BOOLEAN,
        "lan": enum(LAN_STATES),
        "hosted_offsite": BOOLEAN,
        "platform": STRING,
        "unit": STRING,
        "hostname": STRING,
        "ip": IP,
        "assigned_to": STRING,
        "location": STRING,
    },
    "unit": {
        "id": STRING,
        "subnets": list_of(NETWORK),
        "gateway": IP,
        "last_assessment": DATE,
        "approval_date": DATE,
        "staff": INTEGER,
        "profile": STRING,
    },
    "host": {
        "reported": BOOLEAN,
        "signed": BOOLEAN,
        "name": STRING,
        "last_collected_at": DATETIME,
        "match_method": enum(("hardware_uuid", "serial", "mac", "hostname")),
        "key_fingerprint": STRING,
        "unit_source": enum(("register", "agent", "subnet")),
        "name_conflict": BOOLEAN,
    },
    "lan": {
        "scanned": BOOLEAN,
        "seen": BOOLEAN,
        "sightings": INTEGER,
        "last_seen_at": DATETIME,
        "addresses": list_of(IP),
        "where": list_of(STRING),
    },
    "org": {
        "framework": STRING,
        "incident_team_last_drill": DATE,
    },
    "attestation": {
        "recorded": BOOLEAN,
        "valid": BOOLEAN,
        "date": DATE,
        "expires": DATE,
        "reference": STRING,
    },
}
NOW = "$now"

PARAM_TYPES: dict[str, FType] = {
    "integer": INTEGER,
    "number": NUMBER,
    "string": STRING,
    "boolean": BOOLEAN,
    "date": DATE,
    "list[string]": list_of(STRING),
    "list[integer]": list_of(INTEGER),
}

# Catalogue fields use the parameter types plus these.
CATALOG_TYPES: dict[str, FType] = {**PARAM_TYPES, "datetime": DATETIME, "ip": IP}


def type_of_value(value: Any) -> FType | None:
    """The FType of a literal written in a profile (None when not representable)."""
    from datetime import date, datetime

    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    if isinstance(value, list):
        kinds = {type_of_value(v) for v in value}
        if len(kinds) == 1:
            only = kinds.pop()
            return list_of(only) if only is not None else None
        if not value:
            return list_of(FType("string"))
        if kinds <= {INTEGER, NUMBER}:
            return list_of(NUMBER)
        return None
    return None


def value_fits(value: Any, ftype: FType) -> bool:
    """Does a literal fit a declared type (enumerated strings included)?"""
    got = type_of_value(value)
    if got is None:
        return False
    if ftype.kind == "list":
        return isinstance(value, list) and all(
            ftype.item is not None and value_fits(v, ftype.item) for v in value
        )
    if ftype.kind == "number":
        return got.numeric
    if ftype.kind == "ip":
        return isinstance(value, str) and _is_ip(value)
    if ftype.kind == "network":
        return isinstance(value, str) and _is_network(value)
    if ftype.kind == "datetime":
        return got.temporal
    if ftype.values is not None:
        return isinstance(value, str) and value in ftype.values
    return got.kind == ftype.kind


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_network(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
