"""Machine identity: which identifiers can be trusted to tell machines apart.

Cheap boards ship with placeholder serials ("Default string", "To be filled by
O.E.M.") and UUIDs (all zeros, all F, or the famous 03000200-0400-0500-0006-
000700080009 of many OEM boards). Such values are common to thousands of
machines; matching on them would merge different machines, so they are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER_TEXT = {
    "",
    "0",
    "00000000",
    "0123456789",
    "1234567890",
    "123456789",
    "default string",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "system serial number",
    "system product name",
    "chassis serial number",
    "base board serial number",
    "not specified",
    "not applicable",
    "not available",
    "none",
    "null",
    "n/a",
    "na",
    "unknown",
    "oem",
    "o.e.m.",
    "invalid",
    "serial",
    "empty",
    "xxxxxxxxxx",
}
_PLACEHOLDER_UUIDS = {
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009",
    "00020003-0004-0005-0006-000700080009",
    "12345678-1234-5678-90ab-cddeefaabbcc",
}
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")


def normalise_serial(value: str | None) -> str | None:
    """The serial if it can identify a machine, else None."""
    if value is None:
        return None
    text = " ".join(value.split())
    low = text.lower()
    if low in _PLACEHOLDER_TEXT or len(set(low.replace(" ", ""))) <= 1:
        return None
    return text.upper()


def normalise_uuid(value: str | None) -> str | None:
    """The SMBIOS UUID in lower case if it can identify a machine, else None."""
    if value is None:
        return None
    low = value.strip().strip("{}").lower()
    if not _UUID_RE.match(low) or low in _PLACEHOLDER_UUIDS:
        return None
    if len(set(low.replace("-", ""))) <= 1:
        return None
    return low


def normalise_mac(value: str | None) -> str | None:
    """aa:bb:cc:dd:ee:ff, or None for a malformed, zero, broadcast or multicast MAC."""
    if value is None:
        return None
    low = value.strip().lower()
    if not _MAC_RE.match(low):
        return None
    digits = re.sub(r"[^0-9a-f]", "", low)
    if digits in ("000000000000", "ffffffffffff") or int(digits[:2], 16) & 1:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


# Names an OS gives every fresh install: shared by unrelated machines.
_PLACEHOLDER_HOSTNAMES = {
    "localhost",
    "ubuntu",
    "debian",
    "raspberrypi",
    "kali",
    "fedora",
    "centos",
    "unknown",
    "none",
}


def hostname_key(value: str) -> str:
    """The short host name in lower case, for lookups (default names included)."""
    return value.strip().split(".")[0].lower()


def normalise_hostname(value: str | None) -> str | None:
    """The short host name in lower case, or None for a default name such as `localhost`."""
    if value is None:
        return None
    text = hostname_key(value)
    if not text or text in _PLACEHOLDER_HOSTNAMES:
        return None
    return text


@dataclass(frozen=True)
class Identity:
    """The identifiers of one machine, placeholders removed."""

    hostname: str | None
    hardware_uuid: str | None
    serial: str | None
    macs: frozenset[str]

    @classmethod
    def of(
        cls,
        hostname: str | None,
        hardware_uuid: str | None = None,
        serial: str | None = None,
        macs: list[str] | tuple[str, ...] | frozenset[str] = (),
    ) -> Identity:
        clean = {m for m in (normalise_mac(x) for x in macs) if m}
        return cls(
            normalise_hostname(hostname),
            normalise_uuid(hardware_uuid),
            normalise_serial(serial),
            frozenset(clean),
        )

    @classmethod
    def from_report(cls, document: dict) -> Identity:
        ident = document.get("identity") or {}
        return cls.of(
            ident.get("hostname"),
            ident.get("hardware_uuid"),
            ident.get("serial"),
            ident.get("macs") or (),
        )


MATCH_METHODS = ("hardware_uuid", "serial", "mac", "hostname")


def match_method(a: Identity, b: Identity) -> str | None:
    """How `a` and `b` are the same machine, trying the strongest identifier first.

    Two different trustworthy UUIDs, two different trustworthy serials, or two
    sets of MAC addresses with none in common mean two machines whatever the
    names say: a weaker identifier never overrides a stronger one that
    disagrees. (Units name machines after the job, KETOAN or VANTHU, and cheap
    boards carry placeholder serials: a shared name alone must not merge them.)
    """
    if a.hardware_uuid and b.hardware_uuid:
        return "hardware_uuid" if a.hardware_uuid == b.hardware_uuid else None
    if a.serial and b.serial:
        return "serial" if a.serial == b.serial else None
    if a.macs and b.macs:
        return "mac" if a.macs & b.macs else None
    if a.hostname and a.hostname == b.hostname:
        return "hostname"
    return None
